"""Socket behaviour: byte-exact bulk transfer, timeouts, a closed peer, events and the event fd."""

import errno
import os
import select
import threading

import pytest

import qssl


def test_one_megabyte_byte_exact(online, tls_port):
    data = os.urandom(1 << 20)
    with online.open_ssl("127.0.0.1", tls_port) as s:
        s.settimeout(30)
        received = bytearray()
        errors = []

        def reader():
            try:
                buf = bytearray(4096)
                while len(received) < len(data):
                    n = s.recv_into(buf)
                    if n == 0:
                        break
                    received.extend(buf[:n])
            except Exception as e:  # reported by the main thread
                errors.append(e)

        th = threading.Thread(target=reader)
        th.start()
        s.sendall(data)
        th.join(120)
        assert not th.is_alive()
        assert not errors
        assert bytes(received) == data


def test_recv_timeouts(online, tls_port):
    with online.open_ssl("127.0.0.1", tls_port) as s:
        s.settimeout(0.2)
        with pytest.raises(qssl.QsslTimeout) as ei:
            s.recv(10)
        assert isinstance(ei.value, TimeoutError)
        assert ei.value.code == -2 and ei.value.errno == errno.ETIMEDOUT
        s.setblocking(False)
        with pytest.raises(BlockingIOError):
            s.recv(10)
        s.settimeout(5)
        assert s.send(b"abc") == 3
        assert s.recv(10) == b"abc"


def test_closed_peer(online, bye_port):
    with online.open_ssl("127.0.0.1", bye_port) as s:
        s.settimeout(10)
        got = b""
        while len(got) < 3:
            chunk = s.recv(10)
            assert chunk
            got += chunk
        assert got == b"bye"
        assert s.recv(10) == b""
        assert s.recv(10) == b""
    assert s.closed
    with pytest.raises(qssl.QsslClosed):
        s.recv(10)


def test_recv_into_and_partial_reads(online, tls_port):
    with online.open_ssl("127.0.0.1", tls_port) as s:
        s.settimeout(10)
        s.sendall(b"0123456789")
        buf = bytearray(20)
        got = 0
        while got < 4:
            got += s.recv_into(memoryview(buf)[got:], 4 - got)
        assert bytes(buf[:4]) == b"0123"
        rest = b""
        while len(rest) < 6:
            rest += s.recv(100)
        assert rest == b"456789"


def test_events_and_event_fd(online, tls_port):
    list(online.events())  # drop what start-up queued
    fd = online.fileno()
    assert fd >= 0
    with online.open_ssl("127.0.0.1", tls_port) as s:
        assert s.fileno() != fd  # each socket has its own fd; the modem's fd carries events
        s.sendall(b"ping")
        r, _, _ = select.select([fd], [], [], 10)
        assert r == [fd]
        seen = [e for e in online.events(timeout=2)]
        data_events = [e for e in seen if e.type == qssl.EventType.DATA and e.socket == s.id]
        assert data_events, seen
        assert data_events[0].kind == qssl.SocketKind.SSL
        s.settimeout(5)
        assert s.recv(10) == b"ping"


def test_many_sockets_at_once(online, tls_port):
    socks = [online.open_ssl("127.0.0.1", tls_port) for _ in range(3)]
    try:
        assert len({s.id for s in socks}) == 3
        for i, s in enumerate(socks):
            s.settimeout(10)
            s.sendall(b"sock%d" % i)
        for i, s in enumerate(socks):
            want = b"sock%d" % i
            got = b""
            while len(got) < len(want):
                got += s.recv(100)
            assert got == want
    finally:
        for s in socks:
            s.close()


def test_threads_share_one_modem(online, tls_port):
    """Three threads, one socket each, 64 KiB each way, at the same time on one handle."""
    errors = []

    def worker(i: int) -> None:
        try:
            data = bytes([i]) * 1000 + os.urandom(64 * 1024 - 1000)
            with online.open_ssl("127.0.0.1", tls_port) as s:
                s.settimeout(30)
                got = bytearray()

                def reader():
                    while len(got) < len(data):
                        chunk = s.recv(8192)
                        if not chunk:
                            break
                        got.extend(chunk)

                r = threading.Thread(target=reader)
                r.start()
                s.sendall(data)
                r.join(60)
                assert bytes(got) == data
        except Exception as e:  # reported below
            errors.append((i, e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
