"""SSL transparent mode from Python: the byte pipe, suspend / resume around a command, a peer that closes,
and the refusals on sockets that are not transparent."""

import os
from typing import Iterator

import pytest

import qssl


@pytest.fixture
def tmodem(sim_factory) -> Iterator[qssl.Modem]:
    """An online modem whose module wants only 0.3 s of quiet around "+++" (the library waits its own
    second before it either way)."""
    bg = sim_factory("--escape-guard", "0.3")
    with qssl.Modem(bg.first_line) as m:
        m.activate_pdp("CMNET")
        m.configure_context(0)
        yield m


def _read_exact(s: qssl.SSLSocket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(n - len(out))
        assert chunk, f"end of stream after {len(out)}/{n} bytes"
        out += chunk
    return bytes(out)


def test_echo_suspend_command_resume(tmodem, tls_port):
    # The module's own lines inside the data must stay data.
    data = os.urandom(32 * 1024) + b"\r\n+++\r\nOK\r\n+QSSLURC: \"closed\",0\r\n" + os.urandom(32 * 1024)
    with tmodem.open_ssl("127.0.0.1", tls_port, transparent=True) as s:
        assert s.transparent
        s.settimeout(10)
        with pytest.raises(qssl.QsslBusy):
            tmodem.at("AT")
        s.sendall(data)
        assert _read_exact(s, len(data)) == data

        s.suspend()
        with pytest.raises(qssl.QsslBusy):
            s.suspend()
        with pytest.raises(qssl.QsslBusy):
            s.send(b"x")
        assert tmodem.at("AT") == []
        assert any(i.id == s.id and i.status == qssl.SocketStatus.CONNECTED for i in tmodem.state().sockets)

        s.resume(timeout=5)
        with pytest.raises(qssl.QsslBusy):
            tmodem.at("AT")
        more = os.urandom(3000)
        s.sendall(more)
        assert _read_exact(s, len(more)) == more
    # close() left data mode: commands work again.
    assert tmodem.at("AT") == []


def test_peer_close_ends_the_stream(tmodem, bye_port):
    with tmodem.open_ssl("127.0.0.1", bye_port, transparent=True) as s:
        s.settimeout(10)
        assert _read_exact(s, 3) == b"bye"
        assert s.recv(10) == b""
        with pytest.raises(qssl.QsslClosed):
            s.send(b"x")
        with pytest.raises(qssl.QsslClosed):
            s.suspend()
        # The module left data mode by itself: no escape needed for commands.
        assert tmodem.at("AT") == []


def test_suspend_and_resume_need_a_transparent_socket(tmodem, tls_port):
    with tmodem.open_ssl("127.0.0.1", tls_port) as s:
        assert not s.transparent
        with pytest.raises(qssl.QsslInvalidArgument, match="transparent=True"):
            s.suspend()
        with pytest.raises(qssl.QsslInvalidArgument, match="transparent=True"):
            s.resume()
    with tmodem.open_ssl("127.0.0.1", tls_port, transparent=True) as t:
        # Not suspended: the library refuses ATO.
        with pytest.raises(qssl.QsslInvalidArgument):
            t.resume()
        with pytest.raises(qssl.QsslInvalidArgument):
            t.resume(timeout=0)
        with pytest.raises(qssl.QsslInvalidArgument):
            t.resume(timeout=301)
    with pytest.raises(qssl.QsslClosed):
        t.suspend()
    with pytest.raises(qssl.QsslInvalidArgument):
        tmodem.open_ssl("127.0.0.1", tls_port, timeout=5, transparent=True)
