#!/usr/bin/env python3
"""The application note's example 3.1 in Python: server and client authentication over SSL context 0.

    python3 note_example_3_1.py DEVICE HOST PORT CA_PEM CLIENT_PEM CLIENT_KEY

Uploads the CA, the client certificate and its key to the module's RAM, activates packet data,
configures context 0 (TLS 1.1, every cipher suite, seclevel 2), opens an SSL socket, sends a line,
prints the answer, then deletes the files and deactivates packet data.
"""
import sys

import qssl


def main(argv: list) -> int:
    if len(argv) != 7:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    device, host, port, ca, cert, key = argv[1], argv[2], int(argv[3]), argv[4], argv[5], argv[6]
    files = {"RAM:ca_cert.pem": ca, "RAM:client_cert.pem": cert, "RAM:client_key.pem": key}
    message = b"hello from Python"
    with qssl.Modem(device) as m:
        for name, path in files.items():
            with open(path, "rb") as f:
                m.write_cert(name, f.read())
            print(f"uploaded {path} as {name} (intact: {m.check_cert(name)})")
        m.activate_pdp("CMNET")
        print("local IP", m.local_ip)
        m.configure_context(0, version=qssl.SSLVersion.TLS1_1, ciphersuites=[qssl.CipherSuite.ALL],
                            seclevel=qssl.SecLevel.SERVER_CLIENT, cacert="RAM:ca_cert.pem",
                            clientcert="RAM:client_cert.pem", clientkey="RAM:client_key.pem")
        with m.open_ssl(host, port, ctx=0) as s:
            s.settimeout(10)
            s.sendall(message)
            answer = b""
            while len(answer) < len(message):
                chunk = s.recv(1500)
                if not chunk:
                    break
                answer += chunk
            print("received", answer)
        for name in files:
            m.delete_cert(name)
        m.deactivate_pdp()
    return 0 if answer == message else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
