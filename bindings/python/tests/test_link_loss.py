"""The link goes away under a waiting call: PDP deactivation, a module restart, the device vanishing.
Each wakes the waiter with its own exception and queues an event."""

import threading

import pytest

import qssl


def _online(path: str) -> qssl.Modem:
    m = qssl.Modem(path)
    m.activate_pdp("CMNET")
    m.configure_context(0)
    return m


def _wait_event(m: qssl.Modem, kind: qssl.EventType, timeout: float = 15) -> qssl.Event:
    for ev in m.events(timeout=timeout):
        if ev.type == kind:
            return ev
    raise AssertionError(f"no {kind.name} event")


def test_pdp_deactivation_wakes_recv(sim_factory, tls_port):
    bg = sim_factory("--pdp-deact-after", "2")
    with _online(bg.first_line) as m:
        s = m.open_ssl("127.0.0.1", tls_port)
        s.settimeout(30)
        with pytest.raises(qssl.QsslPDPDeactivated):
            s.recv(10)
        _wait_event(m, qssl.EventType.PDP_DEACT)
        s.close()


def test_module_reset_fails_the_socket(sim_factory, tls_port):
    bg = sim_factory("--reset-after", "30")
    with _online(bg.first_line) as m:
        s = m.open_ssl("127.0.0.1", tls_port)
        s.setblocking(False)
        with pytest.raises(qssl.QsslReset):
            # Plain commands until the module restarts (after its 30th command); then the socket is gone.
            for _ in range(100):
                m.at("AT")
                try:
                    s.recv(10)
                except BlockingIOError:
                    pass
        _wait_event(m, qssl.EventType.RESET)


def test_device_gone_wakes_blocked_recv(sim_factory, tls_port):
    bg = sim_factory()
    m = _online(bg.first_line)
    try:
        s = m.open_ssl("127.0.0.1", tls_port)
        s.settimeout(None)  # no limit: only the device loss can end it
        outcome = []

        def reader():
            try:
                s.recv(10)
                outcome.append("returned")
            except qssl.QsslError as e:
                outcome.append(e)

        th = threading.Thread(target=reader)
        th.start()
        bg.stop()  # the pty master goes away: the port hangs up
        th.join(30)
        assert not th.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], (qssl.QsslNoDevice, qssl.QsslIOError)), outcome
        _wait_event(m, qssl.EventType.DEVICE_GONE)
        with pytest.raises((qssl.QsslNoDevice, qssl.QsslIOError, qssl.QsslClosed)):
            m.at("AT")
    finally:
        m.close()
