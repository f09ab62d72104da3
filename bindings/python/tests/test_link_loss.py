"""The link goes away under a waiting call: PDP deactivation, a module restart, the device vanishing.
Each wakes the waiter with its own exception and queues an event."""

import errno
import threading
import time
from typing import List

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
        with pytest.raises(ConnectionError) as ei:  # a link loss is a ConnectionError
            s.recv(10)
        assert type(ei.value) is qssl.QsslPDPDeactivated
        assert (ei.value.errno, ei.value.code) == (errno.ENETDOWN, qssl.errors.EPDP)
        _wait_event(m, qssl.EventType.PDP_DEACT)
        s.close()


def _at_until_reset(m: qssl.Modem, limit: int = 100) -> List[object]:
    """Plain commands until the module restarts (qssl-sim --reset-after counts them) and the RESET event is
    queued. Returns each command's outcome: its lines, or the QsslReset of the one in flight at the restart."""
    outcomes: List[object] = []
    for _ in range(limit):
        try:
            outcomes.append(m.at("AT"))
        except qssl.QsslReset as e:
            outcomes.append(e)
        if any(ev.type == qssl.EventType.RESET for ev in m.events(0)):
            return outcomes
    raise AssertionError(f"no restart after {limit} commands")


def test_module_reset_and_at(sim_factory):
    # qssl-sim answers its 10th command, then restarts (RDY). A command in flight at that moment fails with
    # QsslReset - whether one is depends on timing, so at most one does -, nothing else fails, and the restarted
    # module takes commands again.
    bg = sim_factory("--reset-after", "10")
    with qssl.Modem(bg.first_line) as m:
        outcomes = _at_until_reset(m)
        resets = [o for o in outcomes if isinstance(o, qssl.QsslReset)]
        assert len(resets) <= 1 and all(o == [] for o in outcomes if o not in resets), outcomes
        assert all(r.code == qssl.errors.ERESET and r.errno == errno.ECONNRESET for r in resets)
        assert 1 < len(outcomes) < 12
        assert m.at("AT") == []
        assert m.at("ATI")[1] == "Quectel_M66"


def test_module_reset_wakes_blocked_recv(sim_factory, tls_port):
    """A recv() waiting without data on an SSL socket is woken by a module restart with QsslReset, at once,
    not by its own timeout. The restart comes from AT commands of another thread (the module counts them)."""
    bg = sim_factory("--reset-after", "30")
    with _online(bg.first_line) as m:
        s = m.open_ssl("127.0.0.1", tls_port)
        s.settimeout(60)
        started = threading.Event()
        outcome = []

        def reader():
            started.set()
            try:
                s.recv(10)
                outcome.append(("returned", time.monotonic()))
            except qssl.QsslError as e:
                outcome.append((e, time.monotonic()))

        th = threading.Thread(target=reader)
        th.start()
        assert started.wait(5)
        time.sleep(0.5)  # the reader is inside recv(), waiting for data that never comes
        assert th.is_alive() and not outcome
        blocked_since = time.monotonic()
        _at_until_reset(m)
        reset_seen = time.monotonic()
        th.join(20)
        assert not th.is_alive(), "recv() was not woken by the restart"
        (what, when), = outcome
        assert isinstance(what, qssl.QsslReset), what
        assert isinstance(what, ConnectionResetError) and what.errno == errno.ECONNRESET
        assert blocked_since < when < reset_seen + 10  # woken by the restart, not by its 60 s timeout
        with pytest.raises(qssl.QsslReset):
            s.recv(10)  # the socket stays failed
        s.close()


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
        # qssl.h: recv returns QSSL_ENODEV when the device went away; so does every command afterwards.
        assert len(outcome) == 1 and type(outcome[0]) is qssl.QsslNoDevice, outcome
        assert outcome[0].code == qssl.errors.ENODEV and outcome[0].errno == errno.ENODEV
        assert isinstance(outcome[0], ConnectionError)
        _wait_event(m, qssl.EventType.DEVICE_GONE)
        with pytest.raises(ConnectionError) as ei:
            m.at("AT")
        assert type(ei.value) is qssl.QsslNoDevice and ei.value.errno == errno.ENODEV
        with pytest.raises(qssl.QsslNoDevice):
            s.recv(10)
    finally:
        m.close()
