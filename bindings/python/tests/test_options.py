"""API 0.3 from Python: why opening a port failed, upload progress, and the modem options that turn on the PDP
supervisor and re-applying the configuration after a module restart."""

from __future__ import annotations

import errno
import os
import time

import pytest

import qssl


def test_missing_device_is_file_not_found(tmp_path):
    path = str(tmp_path / "ttyNOPE0")
    with pytest.raises(FileNotFoundError) as ei:
        qssl.Modem(path)
    e = ei.value
    assert isinstance(e, qssl.QsslNoSuchDevice) and e.errno == errno.ENOENT and e.code == qssl.errors.ENOENT
    assert e.filename == path and path in str(e)


def test_regular_file_is_not_a_terminal(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("not a modem\n")
    with pytest.raises(qssl.QsslNotATerminal) as ei:
        qssl.Modem(path)
    assert ei.value.errno == errno.ENOTTY and str(path) in str(ei.value)


def test_permission_denied(tmp_path):
    """A port the user may not open. Root may open anything, so as root the check runs in a child that dropped
    to nobody first."""
    path = tmp_path / "ttyLOCKED"
    path.write_text("")
    os.chmod(path, 0)
    if os.geteuid() != 0:
        with pytest.raises(PermissionError) as ei:
            qssl.Modem(path)
        assert isinstance(ei.value, qssl.QsslPermissionDenied) and str(path) in str(ei.value)
        return
    os.chmod(tmp_path, 0o755)
    pid = os.fork()
    if pid == 0:  # child: report by exit status, never return into pytest
        status = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            qssl.Modem(path)
        except PermissionError as e:
            ok = isinstance(e, qssl.QsslPermissionDenied) and e.errno == errno.EACCES and str(path) in str(e)
            status = 0 if ok else 3
        except BaseException:
            status = 4
        os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def test_busy_names_the_path(sim):
    with qssl.Modem(sim):
        with pytest.raises(qssl.QsslBusy) as ei:
            qssl.Modem(sim)
        assert ei.value.filename == sim and sim in str(ei.value)


def test_upload_progress(modem):
    data = bytes(range(256)) * 20  # 5120 bytes
    calls = []
    modem.write_cert("RAM:big.pem", data, progress=lambda sent, total: calls.append((sent, total)))
    assert calls[0] == (0, len(data)) and calls[-1] == (len(data), len(data))
    assert len(calls) >= 3, calls  # counts in between, as the bytes went out
    sents = [s for s, _ in calls]
    assert sents == sorted(sents) and all(t == len(data) for _, t in calls)
    assert modem.check_cert("RAM:big.pem")


def test_failed_upload_never_reports_completion(modem):
    calls = []
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.write_cert("RAM:x.pem", b"", progress=lambda s, t: calls.append((s, t)))
    assert calls == []


def test_supervisor_brings_pdp_up_and_back(sim_factory):
    """The supervisor activates the context at open and again after +PDP DEACT, without any call from here."""
    bg = sim_factory("--pdp-deact-after", "2")
    with qssl.Modem(bg.first_line, supervisor_apn="CMNET", supervisor_interval=0.3) as m:
        want = [qssl.EventType.PDP_ACTIVATED, qssl.EventType.PDP_DEACT, qssl.EventType.PDP_ACTIVATED]
        seen = []
        deadline = time.monotonic() + 30
        while want and time.monotonic() < deadline:
            ev = m.next_event(1.0)
            if ev is None:
                continue
            seen.append(ev.type)
            if ev.type == want[0]:
                want.pop(0)
        assert not want, seen
        assert m.local_ip


def test_bad_supervisor_settings(sim):
    with pytest.raises(qssl.QsslInvalidArgument):
        qssl.Modem(sim, supervisor_apn="CMNET", supervisor_attempts=0)
    with qssl.Modem(sim) as m:  # the failed open left the port free
        assert m.at("AT") == []


def test_reapply_after_reset(sim_factory, tls_port):
    """After RDY the RAM certificate, the PDP context and SSL context 1 are back, and a connection works without
    configuring anything again."""
    bg = sim_factory("--reset-after", "16")
    with qssl.Modem(bg.first_line, reapply_after_reset=True) as m:
        m.write_cert("RAM:ca.pem", b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n")
        m.activate_pdp("CMNET")
        m.configure_context(1, version=qssl.SSLVersion.TLS1_2)
        reapplied = None
        for _ in range(60):
            try:
                m.at("AT")
            except (qssl.QsslReset, qssl.QsslBusy):
                pass
            for ev in m.events(0):
                if ev.type == qssl.EventType.CONFIG_REAPPLIED:
                    reapplied = ev
            if reapplied is not None:
                break
        if reapplied is None:
            ev = m.next_event(20)
            while ev is not None and ev.type != qssl.EventType.CONFIG_REAPPLIED:
                ev = m.next_event(20)
            reapplied = ev
        assert reapplied is not None and reapplied.value == 1
        assert m.check_cert("RAM:ca.pem")
        assert m.context(1).version == qssl.SSLVersion.TLS1_2
        with m.open_ssl("127.0.0.1", tls_port, ctx=1) as s:
            s.settimeout(10)
            s.sendall(b"after reset")
            got = b""
            while len(got) < 11:
                got += s.recv(100)
            assert got == b"after reset"


def test_global_ssl_settings(modem):
    modem.set_ssl_setting(qssl.SSLSetting.IGNORE_RTC_TIME, 1)
    assert modem.ssl_setting(qssl.SSLSetting.IGNORE_RTC_TIME) == 1
    modem.set_ssl_setting(qssl.SSLSetting.SMTP_STYLE, 2)
    assert modem.ssl_setting(qssl.SSLSetting.SMTP_STYLE) == 2
    modem.set_ssl_setting(qssl.SSLSetting.HTTPS_CTX, 3)
    assert modem.ssl_setting(qssl.SSLSetting.HTTPS_CTX) == 3
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.set_ssl_setting(qssl.SSLSetting.SMTP_STYLE, 3)
    with pytest.raises(qssl.QsslInvalidArgument):
        modem.set_ssl_setting(2, 1)  # seclevel belongs to a context: configure_context
