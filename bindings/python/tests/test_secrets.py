"""Key bytes never appear in the AT trace, error messages (str(e), e.detail, Modem.errmsg), events or the
process's stdout / stderr: a real private key is uploaded with write_cert while the trace is on, and uploads
around it fail on purpose (too large for NVRAM, refused names, a closed Modem, a module that does not answer
and one that restarts instead of answering). The trace shows "<N bytes redacted>" instead, and qssl-sim's
byte log shows the key went to the module exactly for the uploads that succeeded."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Set

import pytest

import qssl

_LOG_LINE = re.compile(r'^\S+ (host->module|module->host) (\d+) "(.*)"$')
_ESC = re.compile(rb'\\(x[0-9a-f]{2}|r|n|"|\\)')


def _sent(log: Path) -> bytes:
    """Every byte the host wrote in a qssl-sim --log file."""
    def one(m: "re.Match[bytes]") -> bytes:
        e = m.group(1)
        return {b"r": b"\r", b"n": b"\n", b'"': b'"', b"\\": b"\\"}.get(e) or bytes([int(e[1:], 16)])

    out = []
    for line in log.read_text(encoding="latin-1").splitlines():
        m = _LOG_LINE.match(line)
        assert m, line
        if m.group(1) == "host->module":
            out.append(_ESC.sub(one, m.group(3).encode("latin-1")))
    return b"".join(out)


def _needles(pem: bytes) -> Set[bytes]:
    """Every 16-byte window of the PEM body: with its line breaks, per base64 line, joined, and as hex."""
    text = pem.decode("ascii")
    body = text.split("-----\n", 1)[1].split("-----END", 1)[0]
    lines = [x for x in body.split("\n") if x]
    joined = "".join(lines)
    assert len(joined) > 1000
    out: Set[bytes] = set()
    for s in [body, joined, *lines]:
        out.update(s[i:i + 16].encode() for i in range(len(s) - 15))
    hexed = joined.encode().hex()
    for h in (hexed, hexed.upper()):
        out.update(h[i:i + 32].encode() for i in range(0, len(h) - 31, 2))
    return out


def _leaks(hay: bytes, needles: Set[bytes]) -> List[bytes]:
    return [n for n in needles if n in hay]


def test_key_bytes_never_leave_except_to_the_module(sim_factory, tmp_path, certs, tls_port, capfd, caplog):
    key = (certs / "client.key").read_bytes()
    assert b"PRIVATE KEY" in key and 1000 < len(key) <= 2025
    needles = _needles(key)
    assert _leaks(key, needles)  # the search finds what it looks for
    seen: List[str] = []  # everything the library let us see
    trace: List[str] = []

    def on_log(direction: str, text: str) -> None:
        trace.append(text)
        seen.append(text)

    def fails(exc_type, call) -> None:
        with pytest.raises(exc_type) as ei:
            call()
        seen.extend([str(ei.value), repr(ei.value), str(ei.value.detail), str(ei.value.args)])

    def drain(m: qssl.Modem) -> None:
        seen.append(m.errmsg)
        seen.extend(repr(e) for e in m.events(0))

    # A healthy module: uploads to RAM and NVRAM, then refused ones.
    log_a = tmp_path / "a.log"
    bg = sim_factory("--log", str(log_a))
    with qssl.Modem(bg.first_line, log=on_log) as m:
        m.write_cert("RAM:client.key", key)
        m.write_cert("NVRAM:CK0", key)
        assert m.check_cert("RAM:client.key") and m.check_cert("NVRAM:CK0")
        m.at("AT+GSN")
        fails(qssl.QsslInvalidArgument, lambda: m.write_cert("NVRAM:CK0", key + key))  # over 2025 bytes
        fails(qssl.QsslInvalidArgument, lambda: m.write_cert("NVRAM:CA0", key + key))
        fails(qssl.QsslInvalidArgument, lambda: m.write_cert('RAM:client".key', key))
        fails(qssl.QsslInvalidArgument, lambda: m.write_cert("RAM:client.key\r\nAT", key))
        fails(qssl.QsslInvalidArgument, lambda: m.write_cert("NVRAM:CK1", key))
        fails(qssl.QsslInvalidArgument, lambda: m.write_cert("RAM:client.key\x00x", key))
        fails(qssl.QsslInvalidArgument, lambda: m.write_cert("RAM:" + "k" * 300, key))
        m.at("ATI")
        fails(qssl.QsslModemError, lambda: m.delete_cert("RAM:no-such.key"))
        # Transparent data mode: the upload is refused, nothing waits.
        m.activate_pdp("CMNET")
        m.configure_context(0)
        with m.open_ssl("127.0.0.1", tls_port, transparent=True):
            fails(qssl.QsslBusy, lambda: m.write_cert("RAM:client.key", key))
        m.deactivate_pdp()
        drain(m)
    fails(qssl.QsslClosed, lambda: m.write_cert("RAM:client.key", key))
    seen.append(m.errmsg)
    bg.stop()
    sent_a = _sent(log_a)
    assert sent_a.count(b"AT+QSECWRITE=") == 2 and _leaks(sent_a, needles)
    between = sent_a.split(b"AT+GSN\r", 1)[1].split(b"ATI\r", 1)[0]
    assert between == b""
    assert trace.count(f"<{len(key)} bytes redacted>") == 2

    # The module does not answer the AT+QSECDEL before the upload (4th command after AT, ATE0, AT+CMEE=1).
    log_b = tmp_path / "b.log"
    bg = sim_factory("--log", str(log_b), "--unanswered", "4")
    with qssl.Modem(bg.first_line, log=on_log, command_timeout=1.0) as m:
        fails(qssl.QsslTimeout, lambda: m.write_cert("RAM:client.key", key))
        assert "QSECDEL" in m.errmsg
        drain(m)
    bg.stop()
    assert not _leaks(_sent(log_b), needles)

    # The module restarts instead of answering AT+QSECWRITE (the 5th command); then the upload is retried.
    log_c = tmp_path / "c.log"
    bg = sim_factory("--log", str(log_c), "--reset-instead-of-answer", "5")
    n_trace = len(trace)
    with qssl.Modem(bg.first_line, log=on_log, command_timeout=2.0) as m:
        fails(qssl.QsslReset, lambda: m.write_cert("RAM:client.key", key))
        assert "QSECWRITE" in m.errmsg
        drain(m)
        for _ in range(20):  # the module is back (RDY): wait until commands are taken again
            try:
                m.at("AT+GSN", timeout=1)
                break
            except qssl.QsslError as e:
                seen.append(str(e))
        m.write_cert("RAM:client.key", key)
        m.at("ATI")
        drain(m)
    bg.stop()
    sent_c = _sent(log_c)
    assert not _leaks(sent_c.split(b"AT+GSN\r", 1)[0], needles)  # not before the restart
    assert _leaks(sent_c, needles)  # the retry went
    assert trace[n_trace:].count(f"<{len(key)} bytes redacted>") == 1

    out, err = capfd.readouterr()
    everything = "\n".join(seen + [out, err, caplog.text]).encode("utf-8", "replace")
    assert len(trace) > 20
    found = _leaks(everything, needles)
    assert not found, found[:3]
    assert b"PRIVATE KEY" not in everything
