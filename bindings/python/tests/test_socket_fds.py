"""Each socket has its own pollable fd: select, selectors and asyncio watch the sockets of one modem apart;
settimeout() bounds send() too."""

import asyncio
import selectors
import time

import pytest

import qssl


def _readable(fd: int, timeout: float) -> bool:
    sel = selectors.DefaultSelector()
    try:
        sel.register(fd, selectors.EVENT_READ)
        return bool(sel.select(timeout))
    finally:
        sel.close()


def test_selectors_tell_two_sockets_of_one_modem_apart(online, tls_port, tcp_port):
    with online.open_ssl("127.0.0.1", tls_port) as a, online.open_tcp("127.0.0.1", tcp_port) as b:
        a.settimeout(10)
        b.settimeout(10)
        assert a.fileno() != b.fileno()
        assert a.fileno() != online.fileno() and b.fileno() != online.fileno()
        sel = selectors.DefaultSelector()
        # Both registered at once: with one modem-wide fd the second register() raised KeyError.
        sel.register(a, selectors.EVENT_READ, "ssl")
        sel.register(b, selectors.EVENT_READ, "tcp")
        try:
            assert sel.select(0) == []
            for sock, name in ((b, "tcp"), (a, "ssl")):
                payload = b"to " + name.encode()
                sock.sendall(payload)
                ready = sel.select(10)
                assert [key.data for key, _ in ready] == [name]
                got = b""
                while len(got) < len(payload):
                    got += sock.recv(100)
                assert got == payload
                assert sel.select(0) == []      # read empty again: no longer readable
        finally:
            sel.close()
    assert a.fileno() == -1 and b.fileno() == -1


def test_end_of_stream_makes_the_fd_readable(online, bye_port):
    with online.open_ssl("127.0.0.1", bye_port) as s:
        s.settimeout(10)
        got = b""
        while len(got) < 3:
            assert _readable(s.fileno(), 10)
            got += s.recv(10)
        assert got == b"bye"
        assert _readable(s.fileno(), 10)        # the peer closed: recv() returns b"" at once
        assert s.recv(10) == b""


def test_asyncio_add_reader_per_socket(online, tls_port, tcp_port):
    async def main():
        loop = asyncio.get_running_loop()
        with online.open_ssl("127.0.0.1", tls_port) as a, online.open_tcp("127.0.0.1", tcp_port) as b:
            a.setblocking(False)
            b.setblocking(False)
            received = {"ssl": b"", "tcp": b""}
            done = asyncio.Event()

            def reader(name, sock, want):
                def on_readable():
                    try:
                        received[name] += sock.recv(4096)
                    except BlockingIOError:
                        return
                    if received["ssl"] == b"ssl data" and received["tcp"] == b"tcp data":
                        done.set()
                return on_readable

            loop.add_reader(a.fileno(), reader("ssl", a, b"ssl data"))
            loop.add_reader(b.fileno(), reader("tcp", b, b"tcp data"))
            try:
                await loop.run_in_executor(None, a.sendall, b"ssl data")
                await loop.run_in_executor(None, b.sendall, b"tcp data")
                await asyncio.wait_for(done.wait(), 20)
            finally:
                loop.remove_reader(a.fileno())
                loop.remove_reader(b.fileno())
            return received

    assert asyncio.run(main()) == {"ssl": b"ssl data", "tcp": b"tcp data"}


def test_settimeout_bounds_send(sim_factory, tls_port):
    """Every SEND is answered SEND FAIL (module buffer full): send() gives up at the socket's timeout."""
    bg = sim_factory("--send-fail", "1")
    with qssl.Modem(bg.first_line) as m:
        m.activate_pdp("CMNET")
        m.configure_context(0)
        with m.open_ssl("127.0.0.1", tls_port) as s:
            s.settimeout(0.5)
            t0 = time.monotonic()
            with pytest.raises(qssl.QsslTimeout) as ei:
                s.send(b"x" * 100)
            took = time.monotonic() - t0
            assert isinstance(ei.value, TimeoutError)
            assert 0.4 <= took < 5, took
            with pytest.raises(TimeoutError):
                s.sendall(b"y" * 3000)
