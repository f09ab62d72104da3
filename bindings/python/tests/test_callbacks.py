"""Callbacks arrive on the library's thread and may call back into the library."""

import gc
import threading
import time
import weakref

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


def _logged(lines: list, text: str, timeout: float = 30) -> bool:
    """Waits until a log callback has appended a line containing ``text``."""
    deadline = time.monotonic() + timeout
    while not any(text in t for t in lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    return any(text in t for t in lines)


def test_log_callback_set_later_and_removed(modem):
    seen = []
    modem.set_log_callback(lambda d, t: seen.append(t))
    modem.at("AT+GSN")
    assert _logged(seen, "AT+GSN"), seen
    modem.set_log_callback(None)
    # A callback already running may still finish (the header's promise); a command sent after the removal must
    # never reach it.
    modem.at("AT+CSQ")
    # Log lines reach callbacks in order: once a new callback has seen a later command, AT+CSQ's lines are past.
    later = []
    modem.set_log_callback(lambda d, t: later.append(t))
    modem.at("AT+CGMR")
    assert _logged(later, "AT+CGMR"), later
    assert not any("CSQ" in t for t in seen), seen


def _churn(install, fire, seconds: float = 10.0, min_swaps: int = 300) -> tuple:
    """Replaces a callback over and over while ``fire()`` keeps the library calling it; each callback sleeps
    so that most replacements land while one is running. Returns (swaps, calls, calls_after_replacement)."""
    lock = threading.Lock()
    counts = {"calls": 0, "late": 0}
    stop = threading.Event()

    def make(state):
        def cb(*_args):
            time.sleep(0.002)
            with lock:
                counts["calls"] += 1
                if state["replaced"]:
                    counts["late"] += 1
        return cb

    def firing():
        while not stop.is_set():
            fire()

    th = threading.Thread(target=firing)
    th.start()
    swaps = 0
    deadline = time.monotonic() + seconds
    try:
        previous = None
        while time.monotonic() < deadline and (swaps < min_swaps or counts["late"] == 0):
            state = {"replaced": False}
            install(make(state) if swaps % 7 else None)  # now and then a removal instead of a replacement
            if previous is not None:
                previous["replaced"] = True
            previous = state
            swaps += 1
            gc.collect(0)  # free whatever the binding let go of, while the library may still be running it
    finally:
        stop.set()
        th.join(30)
    return swaps, counts["calls"], counts["late"]


def test_replacing_the_log_callback_while_it_runs(modem):
    swaps, calls, late = _churn(lambda cb: modem.set_log_callback(cb), lambda: modem.at("AT"))
    assert calls > 0
    # The race the binding must survive did happen: callbacks ran after the call that replaced them returned.
    assert late > 0, (swaps, calls)
    assert modem.at("AT") == []


def test_replacing_the_event_callback_while_it_runs(online, tcp_port):
    with online.open_tcp("127.0.0.1", tcp_port) as s:
        s.settimeout(10)

        def fire():
            s.sendall(b"x")  # the echo queues a DATA event
            s.recv(16)

        swaps, calls, late = _churn(lambda cb: online.set_event_callback(cb), fire)
    assert calls > 0
    assert late > 0, (swaps, calls)


def test_retired_callbacks_live_until_close(sim):
    """qssl.h: after a callback is replaced or removed, one already running may still finish, so the binding
    keeps every callback it handed to the library until close() has joined the library's threads."""
    def on_event(ev):
        pass

    def on_log(d, t):
        pass

    m = qssl.Modem(sim, log=on_log)
    m.set_event_callback(on_event)
    refs = [weakref.ref(on_event), weakref.ref(on_log)]
    m.set_event_callback(lambda ev: None)  # replaced
    m.set_event_callback(None)             # and removed
    m.set_log_callback(None)
    del on_event, on_log
    gc.collect()
    assert all(r() is not None for r in refs), "a retired callback was released while the modem is open"
    m.close()
    gc.collect()
    assert all(r() is None for r in refs), "callbacks outlived close()"


def test_close_from_own_callback_keeps_the_running_callback(sim):
    """A callback that closes its own modem is still running when close() returns (the library's thread
    exits after it): the binding must not free it then, and frees it once that thread is gone."""
    closed = threading.Event()
    holder = {}

    def on_log(d, t):
        m = holder.pop("m", None)
        if m is not None:
            m.close()
            gc.collect()
            me = threading.get_native_id()
            holder["parked"] = sum(1 for tid, _ in qssl._callbacks.PARKED if tid == me)
            closed.set()

    m = qssl.Modem(sim)
    holder["m"] = m
    m.set_log_callback(on_log)
    ref = weakref.ref(on_log)
    del on_log
    try:
        m.at("AT")
    except qssl.QsslClosed:
        pass
    assert closed.wait(10)
    assert m.closed
    assert holder["parked"] == 1, "close() from the callback released the callback that was running it"
    del m
    gc.collect()
    # Once the library's log thread has left the callback and exited, nothing holds the callback any more.
    deadline = time.monotonic() + 10
    while ref() is not None and time.monotonic() < deadline:
        qssl._callbacks.prune_parked()
        gc.collect()
        time.sleep(0.05)
    assert ref() is None
    with qssl.Modem(sim) as again:  # the port was released
        assert again.at("AT") == []
