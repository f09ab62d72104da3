"""Hostile arguments and misuse raise the documented exceptions and never crash the process."""

import ctypes
import re
import time
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

import qssl
from qssl import _lib


def test_open_errors(sim):
    with pytest.raises(TypeError):
        qssl.Modem(None)  # type: ignore[arg-type]
    with pytest.raises(qssl.QsslError):
        qssl.Modem("/nonexistent/ttyQ0")
    with pytest.raises(qssl.QsslInvalidArgument) as ei:
        qssl.Modem(sim, baud=12345)
    assert isinstance(ei.value, ValueError) and isinstance(ei.value, OSError)
    with qssl.Modem(sim) as m:
        with pytest.raises(qssl.QsslBusy):
            qssl.Modem(sim)
        assert m.at("AT") == []


def test_bad_arguments(modem):
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.write_cert("DISK:x.pem", b"abc")
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.write_cert("RAM:x.pem", b"")
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.write_cert("RAM:x.pem", b"a" * 32769)
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.write_cert('RAM:a","b', b"abc")
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.configure_context(6)
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.configure_context(-1)
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.configure_context(0, ciphersuites=[])
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.configure_context(0, ciphersuites=[0x1234])
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.configure_context(0, seclevel=qssl.SecLevel.SERVER)  # no CA certificate named
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.configure_context(0, cacert="RAM:" + "x" * 200)
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.activate_pdp('CM"NET')
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.open_ssl("127.0.0.1", 0)
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.open_ssl("127.0.0.1", 70000)
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.open_ssl("127.0.0.1", 443, ctx=9)
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.open_ssl("", 443)
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.at("AT\r\nAT+CFUN=0")
    with pytest.raises(qssl.QsslModemError) as ei:
        modem.at("AT+NOSUCHCOMMAND")
    assert "NOSUCHCOMMAND" in str(ei.value)
    assert "NOSUCHCOMMAND" in modem.errmsg
    with pytest.raises(qssl.QsslModemError):
        modem.delete_cert("RAM:never-written.pem")
    assert modem.check_cert("RAM:never-written.pem") is False
    assert modem.at("AT") == []  # the handle is still fine


def test_raw_calls_with_hostile_values(modem):
    """The C functions themselves, through the signature table: codes, not crashes."""
    lib = _lib.lib()
    buf = ctypes.create_string_buffer(16)
    for bad_id in (-1, 6, 2**31 - 1, -(2**31)):
        with pytest.raises(qssl.QsslInvalidArgument):
            lib.qssl_recv(modem, bad_id, buf, 16, 0)
        with pytest.raises(qssl.QsslInvalidArgument):
            lib.qssl_send(modem, bad_id, b"x", 1)
        with pytest.raises(qssl.QsslInvalidArgument):
            lib.qssl_tcp_close(modem, bad_id)
    with pytest.raises(qssl.QsslClosed):
        lib.qssl_recv(modem, 2, buf, 16, -1)  # not open: no wait
    with pytest.raises(qssl.QsslInvalidArgument):
        lib.qssl_send(modem, 0, None, 5)
    with pytest.raises(qssl.QsslInvalidArgument):
        lib.qssl_send(modem, 0, b"x", 2**64 - 1)  # a negative length cast to size_t
    with pytest.raises(qssl.QsslInvalidArgument):
        lib.qssl_recv(modem, 0, buf, 0, 0)
    with pytest.raises(qssl.QsslInvalidArgument):
        lib.qssl_cert_write(modem, b"RAM:a", b"abc", 2**63)
    with pytest.raises(qssl.QsslInvalidArgument):
        lib.qssl_state(modem, None)
    with pytest.raises(qssl.QsslInvalidArgument):
        lib.qssl_at(None, b"AT", buf, 16, 0)
    with pytest.raises(qssl.QsslInvalidArgument):
        lib.qssl_at(0xDEADBEEF0, b"AT", buf, 16, 0)  # never a handle
    assert lib.qssl_strerror(-12345) == "unknown error"


def test_use_after_close(sim, tls_port):
    m = qssl.Modem(sim)
    m.activate_pdp("CMNET")
    m.configure_context(0)
    s = m.open_ssl("127.0.0.1", tls_port)
    m.close()
    m.close()  # idempotent in Python
    assert m.closed
    with pytest.raises(qssl.QsslClosed):
        m.at("AT")
    with pytest.raises(qssl.QsslClosed):
        s.send(b"x")
    with pytest.raises(qssl.QsslClosed):
        m.state()
    # A second close through the C API says "closed", it does not crash.
    with pytest.raises(qssl.QsslClosed):
        _lib.lib().qssl_modem_close(m)
    s.close()  # the modem is gone; closing the socket object is still harmless
    assert "closed" in m.errmsg


def test_socket_after_close(online, tls_port):
    s = online.open_ssl("127.0.0.1", tls_port)
    s.close()
    s.close()
    with pytest.raises(qssl.QsslClosed):
        s.recv(1)
    with pytest.raises(qssl.QsslClosed):
        s.sendall(b"x")
    with online.open_ssl("127.0.0.1", tls_port) as s2:
        with pytest.raises(ValueError):
            s2.recv(-1)
        with pytest.raises(TypeError):
            s2.recv_into(b"readonly")


def test_forgotten_modem_is_closed_by_gc(sim):
    import gc
    m = qssl.Modem(sim, log=lambda d, t: None)
    m.at("AT")
    del m
    gc.collect()
    # The port was released: it can be opened again (it is exclusive while open).
    with qssl.Modem(sim) as again:
        assert again.at("AT") == []


def test_at_timeout_argument(modem):
    for bad in (0, -1, -0.5, float("nan")):
        with pytest.raises(ValueError):
            modem.at("AT", timeout=bad)
    assert modem.at("AT", timeout=5) == []
    assert modem.at("AT", timeout=1e9) == []  # clamped to what C takes, not an overflow


def test_at_timeout_on_a_command_without_answer(modem):
    # AT+QSECWRITE answers CONNECT and then waits for the file's bytes: no final answer comes. at() must give
    # up after its own timeout, not the modem's 5 s default.
    t0 = time.monotonic()
    with pytest.raises(qssl.QsslTimeout) as ei:
        modem.at('AT+QSECWRITE="RAM:never.pem",10,100', timeout=0.5)
    elapsed = time.monotonic() - t0
    assert 0.4 <= elapsed < 3, elapsed
    assert isinstance(ei.value, TimeoutError) and ei.value.code == qssl.errors.ETIMEDOUT
    assert "QSECWRITE" in str(ei.value)


def test_open_timeout_arguments(online, tls_port, tcp_port):
    # open_ssl: 10-300 s or 0 (module default); open_tcp: 0-300 s. Checked by the library, nothing is sent.
    for bad in (-1, 5, 9, 301, 2**31 - 1, -(2**31)):
        with pytest.raises(qssl.QsslInvalidArgument):
            online.open_ssl("127.0.0.1", tls_port, timeout=bad)
    for bad in (-1, 301, 2**31 - 1, -(2**31)):
        with pytest.raises(qssl.QsslInvalidArgument):
            online.open_tcp("127.0.0.1", tcp_port, timeout=bad)
    # Beyond C's int: refused, not wrapped around by ctypes into a valid value (2**32 + 10 would be 10 s).
    for wrapped in (2**32 + 10, 2**40, -(2**32) + 10):
        with pytest.raises(qssl.QsslInvalidArgument):
            online.open_ssl("127.0.0.1", tls_port, timeout=wrapped)
        with pytest.raises(qssl.QsslInvalidArgument):
            online.open_tcp("127.0.0.1", tcp_port, timeout=wrapped)
    with pytest.raises(qssl.QsslInvalidArgument):
        online.open_ssl("127.0.0.1", 2**32 + tls_port)
    with pytest.raises(qssl.QsslInvalidArgument):
        online.open_ssl("127.0.0.1", tls_port, ctx=2**32)
    assert not [x for x in online.state().sockets if x.status == qssl.SocketStatus.CONNECTED]
    for ok in (10, 0):
        with online.open_ssl("127.0.0.1", tls_port, timeout=ok) as s:
            s.settimeout(10)
            s.sendall(b"t")
            assert s.recv(1) == b"t"
    for ok in (1, 0):
        with online.open_tcp("127.0.0.1", tcp_port, timeout=ok) as t:
            t.settimeout(10)
            t.sendall(b"u")
            assert t.recv(1) == b"u"


# -- strings with an embedded NUL -------------------------------------------------------------------------------
# C ends a string at its first NUL, so "RAM:ca\x00x" would reach the module as RAM:ca. Every str parameter that
# becomes a C string refuses one, before anything is written to the port; the sim's byte log (--log) shows it.

_LOG_LINE = re.compile(r'^\S+ (host->module|module->host) (\d+) "(.*)"$')


def _host_writes(log: Path) -> List[Tuple[int, str]]:
    """(byte count, escaped text) of every host->module write in a qssl-sim --log file."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        m = _LOG_LINE.match(line)
        assert m, f"unexpected log line {line!r}"
        if m.group(1) == "host->module":
            out.append((int(m.group(2)), m.group(3)))
    return out


class _PathLike:
    def __init__(self, path: str) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return self.path


# (parameter name as the message says it, the call). Each string holds "nulprobe" after the NUL.
_NUL_CALLS: List[Tuple[str, Callable[[qssl.Modem], object]]] = [
    ("cmd", lambda m: m.at("AT+CFUN=0\x00nulprobe")),
    ("cmd", lambda m: m.at("\x00nulprobe")),
    ("name", lambda m: m.write_cert("RAM:ca\x00nulprobe", b"abc")),
    ("name", lambda m: m.write_cert("RAM:ca\x00nulprobe", "abc")),
    ("name", lambda m: m.check_cert("RAM:ca\x00nulprobe")),
    ("name", lambda m: m.delete_cert("RAM:ca\x00nulprobe")),
    ("cacert", lambda m: m.configure_context(0, seclevel=qssl.SecLevel.SERVER, cacert="RAM:ca\x00nulprobe")),
    ("clientcert", lambda m: m.configure_context(0, clientcert="RAM:c\x00nulprobe")),
    ("clientkey", lambda m: m.configure_context(0, clientkey="RAM:k\x00nulprobe")),
    ("apn", lambda m: m.activate_pdp("CMNET\x00nulprobe")),
    ("user", lambda m: m.activate_pdp("CMNET", "u\x00nulprobe", "p")),
    ("password", lambda m: m.activate_pdp("CMNET", "u", "p\x00nulprobe")),
    ("host", lambda m: m.open_ssl("127.0.0.1\x00nulprobe", 443)),
    ("host", lambda m: m.open_ssl("127.0.0.1\x00nulprobe", 443, transparent=True)),
    ("host", lambda m: m.open_tcp("127.0.0.1\x00nulprobe", 7)),
]


def test_embedded_nul_is_refused_before_anything_is_written(sim_factory, tmp_path, tls_port):
    log = tmp_path / "sim.log"
    bg = sim_factory("--log", str(log))
    pty = bg.first_line
    # The device path: cut at the NUL it would be the sim's own pty, opened and synced.
    for device in (pty + "\x00nulprobe", Path(pty + "\x00nulprobe"), _PathLike(pty + "\x00nulprobe")):
        with pytest.raises(qssl.QsslInvalidArgument, match="embedded null character in device") as ei:
            qssl.Modem(device)  # type: ignore[arg-type]
        assert isinstance(ei.value, ValueError) and ei.value.code == qssl.errors.EINVAL
    with qssl.Modem(pty) as m:
        m.activate_pdp("CMNET")
        m.configure_context(0)
        m.at("AT+GSN")  # marker before
        for what, call in _NUL_CALLS:
            with pytest.raises(qssl.QsslInvalidArgument) as ei:
                call(m)
            assert isinstance(ei.value, ValueError)
            assert str(ei.value).endswith(f"embedded null character in {what}"), (what, str(ei.value))
        m.at("ATI")  # marker after
        # The handle is fine and the same strings without the NUL part work.
        m.write_cert("RAM:ca", b"abc")
        assert m.check_cert("RAM:ca")
        with m.open_ssl("127.0.0.1", tls_port) as s:
            s.settimeout(10)
            s.sendall(b"ok")
            assert s.recv(2) == b"ok"
    bg.stop()  # the log is complete once the sim is gone
    writes = _host_writes(log)
    texts = [t for _, t in writes]
    # One start-up sync only: no Modem(...) above reached the port.
    assert texts[0] == "AT\\r" and texts.count("ATE0\\r") == 1, texts[:5]
    before = next(i for i, t in enumerate(texts) if t == "AT+GSN\\r")
    after = next(i for i, t in enumerate(texts) if t == "ATI\\r")
    assert before < after
    assert writes[before + 1:after] == []  # not one byte between the markers
    assert not any("nulprobe" in t for t in texts)
    # The only AT+QSECDEL is the one write_cert("RAM:ca", ...) sends after the markers.
    assert [i for i, t in enumerate(texts) if "QSECDEL" in t and i < after] == []


def test_nul_inside_certificate_data_is_data(sim_factory, tmp_path):
    """write_cert's data is passed with its length, not as a C string: a NUL in it is uploaded like any byte."""
    log = tmp_path / "sim.log"
    bg = sim_factory("--log", str(log))
    with qssl.Modem(bg.first_line) as m:
        m.write_cert("RAM:nul-data.pem", "a\x00b")
        assert m.check_cert("RAM:nul-data.pem")
    bg.stop()
    texts = [t for _, t in _host_writes(log)]
    assert any(t.startswith('AT+QSECWRITE=\\"RAM:nul-data.pem\\",3,') for t in texts), texts
