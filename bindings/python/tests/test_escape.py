"""Leaving transparent mode on a line with physics: qssl-sim --baud 115200 delivers host bytes at the line rate and
enforces the 1 s "+++" guard against the time they arrive. A 200 KB sendall() followed at once by suspend() and
close() must leave data mode without a "+++" or an AT command reaching the peer; and every line by which a module
ends a transparent connection (CLOSED, NO CARRIER, the note's URC) ends the stream cleanly."""

import threading
from typing import Iterator

import pytest

import qssl

LOAD = 200 * 1024


def _pattern(n: int) -> bytes:
    return bytes((i * 131 + (i >> 9)) & 0xFF for i in range(n))


@pytest.fixture
def line_modem(sim_factory) -> Iterator[qssl.Modem]:
    bg = sim_factory("--baud", "115200")
    with qssl.Modem(bg.first_line) as m:
        m.activate_pdp("CMNET")
        m.configure_context(0)
        yield m


def test_suspend_and_close_right_after_a_large_write(line_modem, tls_port):
    data = _pattern(LOAD)
    with line_modem.open_ssl("127.0.0.1", tls_port, transparent=True) as s:
        s.settimeout(60)
        received = bytearray()

        def reader():
            while len(received) < LOAD:
                chunk = s.recv(65536)
                if not chunk:
                    return
                received.extend(chunk)

        th = threading.Thread(target=reader)
        th.start()
        s.sendall(data)
        s.suspend()                     # about a second of data is still crossing the line
        assert line_modem.at("AT") == []
        s.resume()
        th.join(120)
        assert not th.is_alive()
        assert bytes(received) == data  # nothing but the data came back: no "+++", no AT command
        with pytest.raises(qssl.QsslWouldBlock):
            s.settimeout(0)
            s.recv(16)
        s.settimeout(60)
        s.sendall(data)
        s.close()                       # the same escape, then AT+QSSLCLOSE
    assert line_modem.at("AT") == []
    st = line_modem.state()
    assert all(not (i.id == s.id and i.status == qssl.SocketStatus.CONNECTED) for i in st.sockets)


@pytest.mark.parametrize("close_line", ["closed", "no-carrier", "urc"])
def test_each_close_line_ends_the_stream(sim_factory, bye_port, close_line):
    bg = sim_factory("--close-line", close_line)
    with qssl.Modem(bg.first_line) as m:
        m.activate_pdp("CMNET")
        m.configure_context(0)
        list(m.events())
        with m.open_ssl("127.0.0.1", bye_port, transparent=True) as s:
            s.settimeout(10)
            got = b""
            while len(got) < 3:
                chunk = s.recv(16)
                assert chunk, got
                got += chunk
            assert got == b"bye"
            assert s.recv(16) == b""    # end of stream, not the module's line as data
            with pytest.raises(qssl.QsslClosed):
                s.send(b"x")
            assert m.at("AT") == []     # command mode again, without an escape
        events = [e for e in m.events(timeout=0)]
        assert any(e.type == qssl.EventType.CLOSED and e.socket == s.id for e in events), events
