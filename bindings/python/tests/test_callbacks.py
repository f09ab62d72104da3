"""Callbacks arrive on the library's thread and may call back into the library."""

import threading
import time

import qssl


def test_event_callback_runs_on_library_thread_and_calls_back_in(online, tls_port):
    main = threading.get_ident()
    threads = set()
    received = bytearray()
    done = threading.Event()
    sock_holder = {}

    def on_event(ev: qssl.Event) -> None:
        threads.add(threading.get_ident())
        s = sock_holder.get("s")
        if ev.type == qssl.EventType.DATA and s is not None and ev.socket == s.id:
            # Calling back in from the callback: a non-blocking read and an AT command.
            try:
                while True:
                    received.extend(s.recv(4096))
            except BlockingIOError:
                pass
            online.at("AT")
            if len(received) >= 11:
                done.set()

    online.set_event_callback(on_event)
    s = online.open_ssl("127.0.0.1", tls_port)
    s.setblocking(False)
    sock_holder["s"] = s
    s.sendall(b"from thread")
    assert done.wait(15), "the callback never read the echo"
    online.set_event_callback(None)
    s.close()
    assert bytes(received) == b"from thread"
    assert threads and main not in threads


def test_log_callback_redacts_keys(sim, certs):
    lines = []
    threads = set()
    lock = threading.Lock()

    def log(direction: str, text: str) -> None:
        with lock:
            lines.append((direction, text))
            threads.add(threading.get_ident())

    key = (certs / "client.key").read_bytes()
    secret = key.splitlines()[1][:32].decode()
    with qssl.Modem(sim, log=log) as m:
        m.write_cert("RAM:client_key.pem", key)
        m.at("ATI")
    with lock:
        text = "\n".join(t for _, t in lines)
        assert any(d == "tx" and "AT+QSECWRITE" in t for d, t in lines)
        assert any(d == "rx" for d, _ in lines)
        assert "redacted" in text
        assert secret not in text
        assert "BEGIN" not in text
        assert threading.get_ident() not in threads


def test_log_callback_set_later_and_removed(modem):
    seen = []
    modem.set_log_callback(lambda d, t: seen.append(t))
    modem.at("AT+GSN")
    deadline = time.monotonic() + 5
    while not any("AT+GSN" in t for t in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("AT+GSN" in t for t in seen)
    modem.set_log_callback(None)
    n = len(seen)
    modem.at("AT")
    time.sleep(0.3)
    assert len(seen) == n
