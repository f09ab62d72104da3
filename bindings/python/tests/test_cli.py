"""The `qssl` command as a user runs it: a subprocess against qssl-sim and real TLS / TCP servers.

The binary is QSSL_CLI, or qssl-cli in the build folder (a missing one fails every test, never skips)."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import List, Optional

import pytest

import qssl
from conftest import REPO, Background, _build_dir


@pytest.fixture(scope="session")
def cli() -> str:
    path = Path(os.environ.get("QSSL_CLI") or _build_dir() / "qssl-cli")
    if not path.is_file():
        pytest.fail(f"qssl-cli not found at {path}: build it (swift build --product qssl-cli) or set QSSL_CLI",
                    pytrace=False)
    return str(path)


def run(cli: str, *args: str, input: Optional[bytes] = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([cli, *args], input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def one_error_line(p: subprocess.CompletedProcess) -> str:
    """An error exit prints exactly one line on stderr (diagnosis lines of `pdp up` aside)."""
    lines = p.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_help_lists_commands_and_exit_codes(cli):
    p = run(cli, "--help")
    assert p.returncode == 0
    text = p.stdout.decode()
    for word in ("info", "at COMMAND", "cert put", "pdp up", "ctx set", "connect", "proxy", "demo", "--json"):
        assert word in text
    for code in range(7):
        assert f"\n  {code}  " in text
    for cmd in (["info"], ["at"], ["cert", "put"], ["cert", "--help"], ["pdp", "up"], ["ctx", "set"], ["connect"],
                ["proxy"], ["demo"]):
        h = run(cli, *cmd, "--help")
        assert h.returncode == 0 and h.stdout.startswith(b"usage: qssl"), (cmd, h)


def test_version_names_command_and_library(cli):
    for flag in ("--version", "-V"):
        p = run(cli, flag)
        assert p.returncode == 0 and p.stderr == b""
        words = p.stdout.decode().split()
        # "qssl MAJOR.MINOR (libqssl VERSION)": the header the command was built with, the library it runs on
        assert words[0] == "qssl" and words[2] == "(libqssl", words
        assert words[1] == f"{qssl.__version__.rsplit('.', 1)[0]}", words
        assert words[3].rstrip(")") == qssl.version(), words


@pytest.mark.parametrize("args", [
    [],                                        # no command
    ["frobnicate"],                            # unknown command
    ["--bogus", "info"],                       # unknown global option
    ["-b", "fast", "info"],                    # bad number
    ["-d"],                                    # missing option argument
    ["-d", "/dev/null", "at"],                 # missing operand
    ["-d", "/dev/null", "cert", "put", "RAM:x.pem"],
    ["-d", "/dev/null", "cert", "frob"],
    ["-d", "/dev/null", "connect", "no-port"],
    ["-d", "/dev/null", "connect", "h:99999"],
    ["-d", "/dev/null", "connect", "--ctx", "9", "h:1"],
    ["-d", "/dev/null", "ctx", "set", "1", "--version", "tls9"],
    ["-d", "/dev/null", "proxy", "--to", "h:1"],
])
def test_usage_errors_exit_2(cli, args):
    p = run(cli, *args)
    assert p.returncode == 2, (args, p)
    assert p.stdout == b"" or not args
    assert p.stderr.decode().strip()


def test_unsupported_baud_is_a_usage_error(cli, sim):
    p = run(cli, "-d", sim, "-b", "12345", "info")
    assert p.returncode == 2 and "12345" not in p.stdout.decode() and one_error_line(p)


def test_device_errors_exit_3(cli, sim, tmp_path):
    p = run(cli, "-d", str(tmp_path / "ttyNONE"), "info")
    assert p.returncode == 3 and str(tmp_path / "ttyNONE") in one_error_line(p)
    assert "no such device" in p.stderr.decode()
    plain = tmp_path / "file"
    plain.write_text("x")
    p = run(cli, "-d", str(plain), "info")
    assert p.returncode == 3 and "not a terminal" in one_error_line(p)
    with qssl.Modem(sim):
        p = run(cli, "-d", sim, "info")
        assert p.returncode == 3 and "busy" in one_error_line(p) and sim in p.stderr.decode()


def test_info_text_and_json(cli, sim):
    p = run(cli, "-d", sim, "info")
    assert p.returncode == 0, p
    text = p.stdout.decode()
    assert "Quectel_M66" in text and "READY" in text and "-69 dBm" in text
    p = run(cli, "-d", sim, "--json", "info")
    assert p.returncode == 0, p
    doc = json.loads(p.stdout)
    assert doc["model"] == "Quectel_M66" and doc["revision"].startswith("M66")
    assert len(doc["imei"]) == 15 and doc["imei"].isdigit()
    assert doc["sim"] == "READY" and doc["signal_dbm"] == -69 and doc["sockets"] == []


def test_at_raw_lines_and_module_error(cli, sim):
    p = run(cli, "-d", sim, "at", "AT+CSQ")
    assert p.returncode == 0 and p.stdout == b"+CSQ: 22,0\nOK\n", p
    p = run(cli, "-d", sim, "--json", "at", "ATI")
    assert json.loads(p.stdout)["lines"] == ["Quectel_Ltd", "Quectel_M66", "Revision: M66FAR01A12"]
    p = run(cli, "-d", sim, "at", "AT+NOSUCHTHING")
    assert p.returncode == 4 and "AT+NOSUCHTHING" in one_error_line(p)
    p = run(cli, "-d", sim, "at", "AT\x01")
    assert p.returncode == 2


def test_timeout_exit_5(cli, sim_factory):
    """A module that stops answering: the start-up sync of this run gets answers, the next command does not."""
    bg = sim_factory("--unanswered", "4")
    p = run(cli, "-d", bg.first_line, "at", "--timeout", "1000", "AT+CSQ")
    assert p.returncode == 5, p
    assert "timed out" in one_error_line(p)


def test_cert_put_check_rm(cli, sim, certs):
    ca = certs / "ca.pem"
    p = run(cli, "-d", sim, "cert", "put", "RAM:ca.pem", str(ca))
    assert p.returncode == 0, p
    size = ca.stat().st_size
    assert p.stdout.decode() == f"RAM:ca.pem: {size} bytes uploaded, size and checksum verified\n"
    progress = p.stderr.decode().splitlines()
    assert progress[0] == f"RAM:ca.pem: 0/{size} bytes" and progress[-1] == f"RAM:ca.pem: {size}/{size} bytes"
    p = run(cli, "-d", sim, "cert", "check", "RAM:ca.pem")
    assert p.returncode == 0 and b"intact" in p.stdout
    p = run(cli, "-d", sim, "--json", "cert", "check", "RAM:ca.pem")
    assert json.loads(p.stdout) == {"name": "RAM:ca.pem", "stored": True, "intact": True}
    p = run(cli, "-d", sim, "cert", "rm", "RAM:ca.pem")
    assert p.returncode == 0 and p.stdout == b"RAM:ca.pem: deleted\n"
    p = run(cli, "-d", sim, "cert", "check", "RAM:ca.pem")
    assert p.returncode == 4 and "not stored" in one_error_line(p)
    p = run(cli, "-d", sim, "cert", "put", "RAM:ca.pem", str(certs / "missing.pem"))
    assert p.returncode == 1 and "missing.pem" in one_error_line(p)
    p = run(cli, "-d", sim, "cert", "put", "NVRAM:XX9", str(ca))
    assert p.returncode == 2


def test_verbose_trace_redacts_key_bytes(cli, sim, certs):
    key = (certs / "client.key").read_text()
    p = run(cli, "-v", "-d", sim, "cert", "put", "RAM:client_key.pem", str(certs / "client.key"))
    assert p.returncode == 0, p
    trace = p.stderr.decode()
    assert '> AT+QSECWRITE="RAM:client_key.pem"' in trace and "bytes redacted" in trace
    body = key.splitlines()[1]
    assert body not in trace and "PRIVATE KEY" not in trace


def test_pdp_up_status_down(cli, sim):
    p = run(cli, "-d", sim, "pdp", "up", "--apn", "CMNET")
    assert p.returncode == 0 and p.stdout.startswith(b"PDP: active"), p
    doc = json.loads(run(cli, "-d", sim, "--json", "pdp", "status").stdout)
    assert doc["active"] is True and doc["local_ip"].count(".") == 3
    p = run(cli, "-d", sim, "pdp", "down")
    assert p.returncode == 0
    doc = json.loads(run(cli, "-d", sim, "--json", "pdp", "status").stdout)
    assert doc["active"] is False and doc["local_ip"] is None
    assert run(cli, "-d", sim, "pdp", "up").returncode == 2  # --apn missing


def test_pdp_up_twice_and_a_bad_apn(cli, sim):
    assert run(cli, "-d", sim, "pdp", "up", "--apn", "CMNET").returncode == 0
    p = run(cli, "-d", sim, "pdp", "up", "--apn", "CMNET")  # already up: reported, not refused
    assert p.returncode == 0 and p.stdout.startswith(b"PDP: active"), p
    assert run(cli, "-d", sim, "pdp", "down").returncode == 0
    p = run(cli, "-d", sim, "pdp", "up", "--apn", 'bad"apn')
    assert p.returncode == 2 and "APN" in one_error_line(p)


def test_ctx_set_and_show(cli, sim):
    p = run(cli, "-d", sim, "--json", "ctx", "set", "2", "--version", "tls1.2", "--ciphers",
            "RSA_AES_256_CBC_SHA,0x002F", "--seclevel", "server", "--cacert", "RAM:ca.pem", "--ignore-rtc-time", "1",
            "--smtp-style", "2")
    assert p.returncode == 0, p
    doc = json.loads(p.stdout)
    c = doc["contexts"][0]
    assert c == {"ctx": 2, "version": "tls1.2", "ciphers": ["RSA_AES_256_CBC_SHA", "RSA_AES_128_CBC_SHA"],
                 "seclevel": "server", "cacert": "RAM:ca.pem", "clientcert": None, "clientkey": None}
    assert doc["settings"]["ignore-rtc-time"] == 1 and doc["settings"]["smtp-style"] == 2
    p = run(cli, "-d", sim, "ctx", "show", "2")
    assert p.returncode == 0 and b"ctx 2: version tls1.2, seclevel server" in p.stdout
    doc = json.loads(run(cli, "-d", sim, "--json", "ctx", "show").stdout)
    assert [c["ctx"] for c in doc["contexts"]] == [0, 1, 2, 3, 4, 5]
    p = run(cli, "-d", sim, "ctx", "set", "3", "--seclevel", "2")  # names missing
    assert p.returncode == 2 and "clientcert" in one_error_line(p)


def _online(cli: str, sim: str) -> None:
    assert run(cli, "-d", sim, "pdp", "up", "--apn", "CMNET").returncode == 0


def test_connect_one_megabyte_byte_exact(cli, sim, tls_port):
    data = os.urandom(1 << 20)
    p = run(cli, "-d", sim, "connect", "--apn", "CMNET", f"127.0.0.1:{tls_port}", input=data, timeout=600)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout) == len(data) and p.stdout == data


def test_connect_tcp_binary(cli, sim, tcp_port):
    _online(cli, sim)
    data = bytes(range(256)) * 64 + b"\r\nOK\r\n+QSSLURC: \"closed\",0\r\n"
    p = run(cli, "-d", sim, "connect", "--tcp", f"127.0.0.1:{tcp_port}", input=data)
    assert p.returncode == 0 and p.stdout == data, p.stderr


def test_connect_transparent_binary(cli, sim, tls_port):
    _online(cli, sim)
    data = os.urandom(200_000)
    p = run(cli, "-d", sim, "connect", "--transparent", f"127.0.0.1:{tls_port}", input=data, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data
    assert run(cli, "-d", sim, "at", "AT").returncode == 0  # back in command mode


def test_proxy_transparent_one_connection(cli, sim, tls_port):
    proxy = Proxy(cli, "-d", sim, "proxy", "--listen", "0", "--to", f"127.0.0.1:{tls_port}", "--apn", "CMNET",
                  "--transparent")
    try:
        first = proxy.connect()
        data = os.urandom(100_000)
        results: dict = {}
        _echo(first, data, results, 0)
        assert results[0] == data
        second = proxy.connect()
        second.settimeout(30)
        assert second.recv(10) == b""
        assert "all 1 connections in use" in proxy.wait_log("refused")
        first.close()
        _until_echo_works(proxy)
    finally:
        assert proxy.stop() == 0


def test_connect_ends_when_the_peer_closes(cli, sim, bye_port):
    """stdin stays open: the end comes from the peer."""
    _online(cli, sim)
    proc = subprocess.Popen([cli, "-d", sim, "connect", f"127.0.0.1:{bye_port}"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and out == b"bye", err


def test_connect_interrupted_closes_the_socket(cli, sim, tls_port):
    _online(cli, sim)
    proc = subprocess.Popen([cli, "-d", sim, "connect", f"127.0.0.1:{tls_port}"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"ping")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready and os.read(proc.stdout.fileno(), 10) == b"ping"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 1 and "interrupted" in err.decode(), err
    with qssl.Modem(sim) as m:
        assert all(s.status in (qssl.SocketStatus.INITIAL, qssl.SocketStatus.CLOSED) for s in m.state().sockets)


def test_connect_refused_exit_6(cli, sim):
    _online(cli, sim)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens after the close
    p = run(cli, "-d", sim, "connect", "--timeout", "10", f"127.0.0.1:{port}", input=b"")
    assert p.returncode == 6, p
    assert f"127.0.0.1:{port}" in one_error_line(p)


class Proxy:
    def __init__(self, cli: str, *args: str) -> None:
        self.bg = Background([cli, *args])
        self.port = int(self.bg.first_line.rsplit(":", 1)[1])
        self.log: List[str] = []
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        for line in self.bg.proc.stderr:
            self.log.append(line.rstrip("\n"))

    def wait_log(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.log):
                if text in line:
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no log line with {text!r}: {self.log}")

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=60)

    def stop(self) -> int:
        self.bg.proc.send_signal(signal.SIGTERM)
        code = self.bg.proc.wait(30)
        self._reader.join(10)
        self.bg.stop()
        return code


def _echo(sock: socket.socket, data: bytes, results: dict, key: int) -> None:
    got = bytearray()

    def reader() -> None:
        while len(got) < len(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got.extend(chunk)
    t = threading.Thread(target=reader)
    t.start()
    sock.sendall(data)
    t.join(300)
    results[key] = bytes(got)


def test_proxy_two_concurrent_clients_and_refusal(cli, sim, tls_port):
    proxy = Proxy(cli, "-d", sim, "proxy", "--listen", "127.0.0.1:0", "--to", f"127.0.0.1:{tls_port}",
                  "--apn", "CMNET")
    try:
        datas = [os.urandom(200_000), os.urandom(150_000)]
        socks = [proxy.connect() for _ in datas]
        results: dict = {}
        threads = [threading.Thread(target=_echo, args=(s, d, results, i)) for i, (s, d) in
                   enumerate(zip(socks, datas))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        assert results[0] == datas[0] and results[1] == datas[1]
        # Six connections take every module socket; the seventh is closed at once, with a reason in the log.
        for _ in range(4):
            s = proxy.connect()
            s.sendall(b"ping")
            assert s.recv(10) == b"ping"
            socks.append(s)
        seventh = proxy.connect()
        seventh.settimeout(30)
        assert seventh.recv(10) == b""
        assert "all 6 connections in use" in proxy.wait_log("refused")
        for s in socks:
            s.close()
        # Freed sockets are used again.
        with proxy.connect() as s:
            s.sendall(b"again")
            got = b""
            while len(got) < 5:
                got += s.recv(10)
            assert got == b"again"
    finally:
        code = proxy.stop()
    assert code == 0
    assert any("signal received" in line for line in proxy.log)
    # The module is back in command mode with no socket left open.
    with qssl.Modem(sim) as m:
        assert all(s.status in (qssl.SocketStatus.INITIAL, qssl.SocketStatus.CLOSED) for s in m.state().sockets)


def _echo_once(proxy: Proxy, data: bytes) -> bytes:
    with proxy.connect() as s:
        s.settimeout(30)
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def _until_echo_works(proxy: Proxy, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _echo_once(proxy, b"back again") == b"back again":
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the proxy never carried data again: {proxy.log}")


@pytest.mark.parametrize("fault,log", [(("--pdp-deact-after", "3"), "PDP"), (("--reset-after", "40"), "restart")])
def test_proxy_survives_pdp_loss_and_module_reset(cli, sim_factory, tls_port, fault, log):
    """A connection open when the context drops (or the module restarts) is closed; the proxy stays up, the
    supervisor / the re-applied configuration bring the module back, and new connections work."""
    bg = sim_factory(*fault)
    proxy = Proxy(cli, "-d", bg.first_line, "proxy", "--listen", "0", "--to", f"127.0.0.1:{tls_port}",
                  "--apn", "CMNET")
    try:
        victim = proxy.connect()
        victim.settimeout(60)
        victim.sendall(b"hello")
        assert victim.recv(10) == b"hello"
        # Keep the line busy until the fault ends the connection.
        ended = False
        deadline = time.monotonic() + 60
        while not ended and time.monotonic() < deadline:
            try:
                victim.sendall(b"x" * 100)
                ended = victim.recv(1000) == b""
            except OSError:
                ended = True
        assert ended, proxy.log
        victim.close()
        proxy.wait_log(log)
        _until_echo_works(proxy)
        assert proxy.bg.proc.poll() is None
    finally:
        assert proxy.stop() == 0


def test_proxy_carries_curl_to_an_https_server(cli, sim, certs, tmp_path):
    """curl speaks plain HTTP to the proxy; the module's TLS carries it to `openssl s_server -WWW`."""
    curl = shutil.which("curl")
    assert curl, "curl is needed (scripts/deps.sh installs it)"
    page = tmp_path / "page.html"
    body = b"<html>served over the module's TLS</html>\n" + os.urandom(3000).hex().encode()
    page.write_bytes(body)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        https_port = s.getsockname()[1]
    server = subprocess.Popen(["openssl", "s_server", "-WWW", "-accept", f"127.0.0.1:{https_port}", "-cert",
                               str(certs / "server.pem"), "-key", str(certs / "server.key"), "-quiet"],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        proxy = Proxy(cli, "-d", sim, "proxy", "--listen", "0", "--to", f"127.0.0.1:{https_port}", "--apn",
                      "CMNET")
        try:
            p = subprocess.run([curl, "-sS", "--max-time", "60", f"http://127.0.0.1:{proxy.port}/page.html"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            assert p.returncode == 0, p.stderr
            assert p.stdout == body
        finally:
            assert proxy.stop() == 0
    finally:
        server.kill()
        server.wait(10)


def test_demo_passes(cli):
    p = run(cli, "demo", timeout=300)
    assert p.returncode == 0, p
    lines = p.stdout.decode().splitlines()
    assert lines[-1].startswith("demo: OK") and "byte-exact" in lines[-1]
    for step in ("upload ca.pem", "activate PDP", "seclevel 2", "open 127.0.0.1", "delete RAM:client_key.pem"):
        assert any(step in line for line in lines), step


@pytest.mark.parametrize("service", ["refused", "searching"])
def test_pdp_up_failure_prints_the_notes_diagnosis(cli, sim_factory, service):
    dev = sim_factory("--packet-service", service).first_line
    p = run(cli, "-d", dev, "pdp", "up", "--apn", "CMNET")
    assert p.returncode == 4, p
    err = p.stderr.decode()
    assert "qssl pdp up:" in err and ("not attached" in err or "not registered" in err), err
    # Nothing was left half-done: the context is still down.
    doc = json.loads(run(cli, "-d", dev, "--json", "pdp", "status").stdout)
    assert doc["active"] is False
