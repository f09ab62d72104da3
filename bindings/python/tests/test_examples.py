"""The application note's examples 3.1, 3.2 and 3.3, written against the package's documented API, and the
example script that scripts/demo.sh runs."""

import os
import subprocess
import sys
from pathlib import Path

import qssl

REPO = Path(__file__).resolve().parents[3]


def _upload(m: qssl.Modem, certs, names):
    for name, file in zip(names, ("ca.pem", "client.pem", "client.key")):
        m.write_cert(name, (certs / file).read_bytes())
        assert m.check_cert(name) is True


def _ssl_roundtrip(m: qssl.Modem, port: int, ctx: int, payload: bytes) -> None:
    with m.open_ssl("127.0.0.1", port, ctx=ctx, timeout=30) as s:
        assert 0 <= s.id <= 5
        st = m.state()
        mine = [x for x in st.sockets if x.id == s.id]
        assert mine and mine[0].ssl and mine[0].status == qssl.SocketStatus.CONNECTED and mine[0].port == port
        s.settimeout(10)
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(1500)
            assert chunk, "end of stream before the echo came back"
            got += chunk
        assert got == payload


def test_example_3_1_certificates_in_ram(modem, certs, mtls_port):
    names = ("RAM:ca_cert.pem", "RAM:client_cert.pem", "RAM:client_key.pem")
    _upload(modem, certs, names)
    modem.activate_pdp("CMNET")
    assert modem.local_ip.count(".") == 3
    modem.configure_context(0, version=qssl.SSLVersion.TLS1_1, ciphersuites=qssl.CipherSuite.ALL,
                            seclevel=qssl.SecLevel.SERVER_CLIENT, cacert=names[0], clientcert=names[1],
                            clientkey=names[2])
    cfg = modem.context(0)
    assert cfg.version == qssl.SSLVersion.TLS1_1
    assert cfg.seclevel == qssl.SecLevel.SERVER_CLIENT
    assert cfg.ciphersuites == [0xFFFF]
    assert (cfg.cacert, cfg.clientcert, cfg.clientkey) == names
    _ssl_roundtrip(modem, mtls_port, 0, b"hello module")
    for n in names:
        modem.delete_cert(n)
        assert modem.check_cert(n) is False
    modem.deactivate_pdp()


def test_example_3_2_certificates_in_nvram(modem, certs, mtls_port):
    names = ("NVRAM:CA0", "NVRAM:CC0", "NVRAM:CK0")
    _upload(modem, certs, names)
    modem.activate_pdp("CMNET", "", "")
    modem.configure_context(0, version=qssl.SSLVersion.TLS1_1, seclevel=qssl.SecLevel.SERVER_CLIENT,
                            cacert=names[0], clientcert=names[1], clientkey=names[2])
    _ssl_roundtrip(modem, mtls_port, 0, b"1234567")
    modem.deactivate_pdp()


def test_example_3_3_tcp_beside_ssl(modem, tls_port, tcp_port):
    modem.activate_pdp("CMNET")
    with modem.open_tcp("127.0.0.1", tcp_port, timeout=30) as t:
        t.settimeout(10)
        t.sendall(b"0123456789")
        got = b""
        while len(got) < 10:
            got += t.recv(1024)
        assert got == b"0123456789"
        modem.configure_context(0, version=qssl.SSLVersion.TLS1_1, seclevel=qssl.SecLevel.NONE)
        with modem.open_ssl("127.0.0.1", tls_port, ctx=0, timeout=30) as s:
            assert s.id != t.id
            s.settimeout(10)
            s.sendall(b"1234567")
            assert s.recv(100) == b"1234567"
    modem.deactivate_pdp()


def test_example_without_server_certificate_fails_to_connect(modem, certs, mtls_port):
    # seclevel 0 sends no client certificate; the server demands one: the handshake fails.
    modem.activate_pdp("CMNET")
    modem.configure_context(1)
    try:
        modem.open_ssl("127.0.0.1", mtls_port, ctx=1, timeout=20)
    except qssl.QsslConnectFailed as e:
        assert isinstance(e, ConnectionError)
    else:
        raise AssertionError("handshake without a client certificate succeeded")


def _run_example(sim: str, port: int, certs, cert: str = "client.pem", key: str = "client.key", *, args=None):
    script = REPO / "bindings" / "python" / "examples" / "note_example_3_1.py"
    env = dict(os.environ, PYTHONPATH=str(REPO / "bindings" / "python"), QSSL_LIBRARY=qssl.library_path())
    argv = [sim, "127.0.0.1", str(port), str(certs / "ca.pem"), str(certs / cert), str(certs / key)]
    return subprocess.run([sys.executable, str(script), *(argv if args is None else args)], env=env,
                          capture_output=True, text=True, timeout=180)


def test_note_example_3_1_script(sim, certs, mtls_port):
    """The script scripts/demo.sh runs, as a user runs it: a subprocess against the virtual module and a TLS
    echo server that demands a client certificate."""
    r = _run_example(sim, mtls_port, certs)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("RAM:ca_cert.pem", "RAM:client_cert.pem", "RAM:client_key.pem"):
        assert f"as {name} (intact: True)" in r.stdout
    assert "local IP 10.1.83.188" in r.stdout
    assert "received b'hello from Python'" in r.stdout
    # It cleaned up: the module is free again and its RAM files are gone.
    with qssl.Modem(sim) as m:
        assert m.check_cert("RAM:ca_cert.pem") is False


def test_note_example_3_1_script_fails_loudly(sim, certs, mtls_port):
    # A client certificate from another CA: the server refuses the handshake and the script says so.
    r = _run_example(sim, mtls_port, certs, "wrong-client.pem", "wrong-client.key")
    assert r.returncode != 0
    assert "QsslConnectFailed" in r.stderr
    assert "received" not in r.stdout
    r = _run_example(sim, mtls_port, certs, args=[sim])
    assert r.returncode == 2 and "note_example_3_1.py DEVICE HOST PORT" in r.stderr
