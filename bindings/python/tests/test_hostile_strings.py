"""Hostile strings through the public API never reach the module (qssl-sim --log proves it), and the
characters a quoted AT string can carry do, byte for byte.

A value goes inside a quoted AT string: '"' would end it, CR ends the command line, and LF, Ctrl+Z, ESC, BS
and the other control characters (0x00-0x1F, 0x7F) are line editing or data-mode characters for the module.
So every str parameter refuses them with QsslInvalidArgument before anything is written; printable ASCII
but '"' (and ':' inside a RAM file name) passes, up to 255 bytes. (Embedded NULs: test_hostile.py.)
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

import qssl

_LOG_LINE = re.compile(r'^\S+ (host->module|module->host) (\d+) "(.*)"$')
_ESC = re.compile(rb'\\(x[0-9a-f]{2}|r|n|"|\\)')


def _unescape(text: str) -> bytes:
    def one(m: "re.Match[bytes]") -> bytes:
        e = m.group(1)
        return {b"r": b"\r", b"n": b"\n", b'"': b'"', b"\\": b"\\"}.get(e) or bytes([int(e[1:], 16)])

    return _ESC.sub(one, text.encode("latin-1"))


def _writes(log: Path) -> List[bytes]:
    """Every host->module write of a qssl-sim --log file, as the bytes that crossed the line."""
    out = []
    for line in log.read_text(encoding="latin-1").splitlines():
        m = _LOG_LINE.match(line)
        assert m, f"unexpected log line {line!r}"
        if m.group(1) == "host->module":
            data = _unescape(m.group(3))
            assert len(data) == int(m.group(2)), line
            out.append(data)
    return out


def _between(writes: List[bytes], first: bytes, last: bytes) -> List[bytes]:
    a = writes.index(first)
    b = writes.index(last, a + 1)
    return writes[a + 1:b]


# Fragments no quoted AT string may hold; each hostile value also holds "zq", which no valid call here sends.
BAD = ['"', "\r", "\n", "\r\n", "\x1a", "\x1b", "\x01", "\x03", "\x08", "\t", "\x1f", "\x7f",
       '","x', "\r\nAT+CFUN=0\r", "\x1b[2J", "\x1a\r\n"]
CONTROL = [f for f in BAD if any(ord(c) < 0x20 or c == "\x7f" for c in f)]

# (what, call with the value in its string parameter)
CALLS: List[Tuple[str, Callable[[qssl.Modem, str], object]]] = [
    ("write_cert", lambda m, v: m.write_cert(f"RAM:zq{v}.pem", b"abc")),
    ("check_cert", lambda m, v: m.check_cert(f"RAM:zq{v}.pem")),
    ("delete_cert", lambda m, v: m.delete_cert(f"RAM:zq{v}.pem")),
    ("apn", lambda m, v: m.activate_pdp(f"CMzq{v}NET")),
    ("user", lambda m, v: m.activate_pdp("CMNET", f"zq{v}u", "p")),
    ("password", lambda m, v: m.activate_pdp("CMNET", "u", f"zq{v}p")),
    ("cacert", lambda m, v: m.configure_context(0, seclevel=qssl.SecLevel.SERVER, cacert=f"RAM:zq{v}")),
    ("clientcert", lambda m, v: m.configure_context(0, clientcert=f"RAM:zq{v}")),
    ("clientkey", lambda m, v: m.configure_context(0, clientkey=f"RAM:zq{v}")),
    ("open_ssl", lambda m, v: m.open_ssl(f"zq{v}.example", 443)),
    ("open_ssl transparent", lambda m, v: m.open_ssl(f"zq{v}.example", 443, transparent=True)),
    ("open_tcp", lambda m, v: m.open_tcp(f"zq{v}.example", 7)),
]

PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != '"')  # 94 characters
RAM_FILE = PRINTABLE.replace(":", "")  # 93


def _hostile_calls(m: qssl.Modem) -> int:
    """Every hostile value for every str parameter; returns how many calls were made."""
    n = 0
    for what, call in CALLS:
        for frag in BAD:
            with pytest.raises(qssl.QsslInvalidArgument) as ei:
                call(m, frag)
            assert isinstance(ei.value, ValueError) and ei.value.code == qssl.errors.EINVAL, what
            assert not any(ord(c) < 0x20 for c in str(ei.value)), (what, str(ei.value))  # safe to print
            n += 1
        # Too long for a command (the library's limit is 255 bytes per value).
        with pytest.raises(qssl.QsslInvalidArgument):
            call(m, "z" * 256)
        n += 1
    for frag in CONTROL:  # at() takes quotes (a whole command), not control characters
        with pytest.raises(qssl.QsslInvalidArgument):
            m.at(f"AT+ZQ{frag}")
        n += 1
    # Empty where a value is needed, and names the note does not define.
    for call in (lambda: m.at(""), lambda: m.activate_pdp(""), lambda: m.open_ssl("", 443),
                 lambda: m.open_ssl("", 443, transparent=True), lambda: m.open_tcp("", 7),
                 lambda: m.write_cert("", b"abc"), lambda: m.check_cert(""), lambda: m.delete_cert("")):
        with pytest.raises(qssl.QsslInvalidArgument):
            call()
        n += 1
    for name in ("RAM:", "NVRAM:", "NVRAM:CA2", "NVRAM:ca0", "ram:zq", " RAM:zq", "RAM:zq:x", "zq", "DISK:zq"):
        for call in (lambda: m.write_cert(name, b"abc"), lambda: m.check_cert(name),
                     lambda: m.delete_cert(name), lambda: m.configure_context(0, cacert=name)):
            with pytest.raises(qssl.QsslInvalidArgument):
                call()
            n += 1
    # Numbers out of range.
    for bad in (-1, 6, 2**31 - 1, -(2**31), 2**32):
        for call in (lambda: m.configure_context(bad), lambda: m.context(bad),
                     lambda: m.open_ssl("127.0.0.1", 443, ctx=bad)):
            with pytest.raises(qssl.QsslInvalidArgument):
                call()
            n += 1
    for bad in (0, -1, 65536, 2**31 - 1, 2**32 + 443):
        for call in (lambda: m.open_ssl("127.0.0.1", bad), lambda: m.open_tcp("127.0.0.1", bad),
                     lambda: m.open_ssl("127.0.0.1", bad, transparent=True)):
            with pytest.raises(qssl.QsslInvalidArgument):
                call()
            n += 1
    for size in (0, 32769):
        with pytest.raises(qssl.QsslInvalidArgument):
            m.write_cert("RAM:zq.pem", b"z" * size)
        n += 1
    with pytest.raises(qssl.QsslInvalidArgument):
        m.write_cert("NVRAM:CA0", b"z" * 2026)
    # A lone surrogate cannot become UTF-8: refused (ValueError) before the library is called.
    for call in (lambda: m.write_cert("RAM:zq\udcff", b"abc"), lambda: m.activate_pdp("zq\ud800"),
                 lambda: m.open_ssl("zq\udfff", 443), lambda: m.at("AT+ZQ\udcff")):
        with pytest.raises(ValueError):
            call()
        n += 1
    return n


def test_hostile_strings_never_reach_the_module(sim_factory, tmp_path):
    log = tmp_path / "sim.log"
    bg = sim_factory("--log", str(log))
    pty = bg.first_line
    for frag in BAD:  # a device path with them is only a file that does not exist: nothing is opened
        with pytest.raises(qssl.QsslError):
            qssl.Modem(pty + frag)
    with pytest.raises(qssl.QsslInvalidArgument):
        qssl.Modem("")
    old = qssl.Modem(pty)
    old.close()
    trace: List[Tuple[str, str]] = []
    done = {"log": None, "event": None}
    finished = threading.Condition()

    def from_callback(where: str) -> None:
        try:
            done[where] = _hostile_calls(m)
        except BaseException as e:  # noqa: BLE001 - reported by the test below
            done[where] = e
        with finished:
            finished.notify_all()

    def on_log(direction: str, text: str) -> None:
        trace.append((direction, text))
        if direction == "tx" and text == "AT+GSN" and done["log"] is None:
            from_callback("log")

    def on_event(ev: qssl.Event) -> None:
        if ev.type == qssl.EventType.PDP_ACTIVATED and done["event"] is None:
            from_callback("event")

    with qssl.Modem(pty, log=on_log) as m:
        m.set_event_callback(on_event)
        m.activate_pdp("CMNET")
        m.configure_context(0)
        m.at("AT+GSN")  # marker before
        # Both callbacks run on the library's one callback thread, one after the other; this thread waits for both.
        with finished:
            assert finished.wait_for(lambda: done["log"] is not None, 30)
        with finished:
            assert finished.wait_for(lambda: done["event"] is not None, 30)
        calls = _hostile_calls(m)
        with pytest.raises(qssl.QsslClosed):
            old.at("AT+CFUN=0")
        with pytest.raises(qssl.QsslClosed):
            old.write_cert("RAM:zq.pem", b"abc")
        assert done["log"] == calls and done["event"] == calls, done
        m.at("ATI")  # marker after
        m.set_event_callback(None)
        m.deactivate_pdp()
    bg.stop()
    writes = _writes(log)
    assert _between(writes, b"AT+GSN\r", b"ATI\r") == []
    assert not any(b"zq" in w or b"ZQ" in w or b"CFUN" in w for w in writes)
    assert writes.count(b"ATE0\r") == 2  # the closed handle's and this one's start-up: no device path opened
    gsn = trace.index(("tx", "AT+GSN"))
    ati = trace.index(("tx", "ATI"))
    assert [t for t in trace[gsn + 1:ati] if t[0] == "tx"] == []


def test_printable_ascii_reaches_the_module_byte_for_byte(sim_factory, tmp_path, tls_port, tcp_port):
    log = tmp_path / "sim.log"
    bg = sim_factory("--log", str(log))
    name = "RAM:" + RAM_FILE
    field = "RAM:" + RAM_FILE[:91]  # fills qssl_ctx_config's 96-byte field
    long_name = "RAM:" + "y" * 251  # 255 bytes
    with qssl.Modem(bg.first_line) as m:
        with pytest.raises(qssl.QsslModemError):
            m.at(f'AT+QPRINT="{PRINTABLE}"')  # '"' too: at() takes whole commands
        m.write_cert(name, b"abc")
        assert m.check_cert(name)
        m.write_cert(field, b"abc")
        m.configure_context(1, seclevel=qssl.SecLevel.SERVER_CLIENT, cacert=field, clientcert=field,
                            clientkey=field)
        back = m.context(1)
        assert back.cacert == field and back.clientcert == field and back.clientkey == field
        m.delete_cert(name)
        assert not m.check_cert(name)
        assert not m.check_cert(long_name)
        m.activate_pdp(PRINTABLE, PRINTABLE, PRINTABLE)
        m.configure_context(0)
        for call in (lambda: m.open_ssl(PRINTABLE, tls_port, timeout=10),
                     lambda: m.open_ssl(PRINTABLE, tls_port, timeout=10, transparent=True),
                     lambda: m.open_tcp(PRINTABLE, tcp_port, timeout=10)):
            with pytest.raises(qssl.QsslError) as ei:
                call()  # the module (the sim: loopback only) fails it; the library sent it
            assert not isinstance(ei.value, qssl.QsslInvalidArgument)
        m.deactivate_pdp()
    bg.stop()
    sent = b"".join(_writes(log))
    p = PRINTABLE.encode()
    assert b'AT+QPRINT="' + p + b'"\r' in sent
    assert b'AT+QSECWRITE="' + name.encode() + b'",3,' in sent
    assert b'AT+QSECDEL="' + name.encode() + b'"\r' in sent
    assert b'"' + field.encode() + b'"' in sent
    assert b'AT+QSECREAD="' + long_name.encode() + b'"\r' in sent
    assert b'AT+QICSGP=1,"' + p + b'","' + p + b'","' + p + b'"\r' in sent
    assert sent.count(b'"' + p + b'",%d' % tls_port) == 2  # open_ssl, plain and transparent
    assert sent.count(b'"' + p + b'",%d' % tcp_port) == 1
