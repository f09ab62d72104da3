"""Fixtures: the virtual module (qssl-sim on a pty), TLS / TCP echo servers, test certificates.

Binaries are taken from QSSL_SIM / QSSL_LIBRARY or the repository's .build/debug folder; a missing one
fails the tests loudly (never a skip).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, List

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "bindings" / "python"))

import qssl  # noqa: E402
from qssl import _lib  # noqa: E402


def _build_dir() -> Path:
    return Path(os.environ.get("QSSL_BUILD_DIR", REPO / ".build" / "debug"))


@pytest.fixture(scope="session")
def sim_binary() -> Path:
    path = Path(os.environ.get("QSSL_SIM") or _build_dir() / "qssl-sim")
    if not path.is_file():
        pytest.fail(f"qssl-sim not found at {path}: build it (swift build --product qssl-sim) or set QSSL_SIM",
                    pytrace=False)
    return path


@pytest.fixture(scope="session", autouse=True)
def library() -> str:
    """Loads libqssl.so once; a missing library fails every test."""
    if "QSSL_LIBRARY" not in os.environ and "QSSL_BUILD_DIR" in os.environ:
        os.environ["QSSL_LIBRARY"] = str(_build_dir() / "libqssl.so")
    try:
        return _lib.lib()._name
    except OSError as e:
        pytest.fail(f"cannot load libqssl.so: {e}", pytrace=False)


class Background:
    """A child process whose first output line is its address (pty path or port)."""

    def __init__(self, argv: List[str], timeout: float = 60.0) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline().strip()
                break
            if self.proc.poll() is not None:
                break
        if not line:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"{' '.join(argv)} printed no first line: {err}")
        self.first_line = line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    script = REPO / "scripts" / "make-test-certs.sh"
    if not script.is_file():
        pytest.fail(f"{script} missing", pytrace=False)
    subprocess.run(["sh", str(script), str(d)], check=True, stdout=subprocess.DEVNULL, timeout=120)
    return d


def _server(sim_binary: Path, *args: str) -> Iterator[int]:
    bg = Background([str(sim_binary), "echo-server", *args])
    try:
        yield int(bg.first_line)
    finally:
        bg.stop()


@pytest.fixture(scope="session")
def tls_port(sim_binary, certs) -> Iterator[int]:
    """TLS echo server on 127.0.0.1 (no client certificate needed)."""
    yield from _server(sim_binary, "--cert", str(certs / "server.pem"), "--key", str(certs / "server.key"))


@pytest.fixture(scope="session")
def mtls_port(sim_binary, certs) -> Iterator[int]:
    """TLS echo server demanding a client certificate signed by the test CA."""
    yield from _server(sim_binary, "--cert", str(certs / "server.pem"), "--key", str(certs / "server.key"),
                       "--ca", str(certs / "ca.pem"), "--require-client-cert")


@pytest.fixture(scope="session")
def tcp_port(sim_binary) -> Iterator[int]:
    """Plain TCP echo server."""
    yield from _server(sim_binary, "--plain")


@pytest.fixture(scope="session")
def bye_port(sim_binary, certs) -> Iterator[int]:
    """TLS server that sends b"bye" to each client and closes."""
    yield from _server(sim_binary, "--cert", str(certs / "server.pem"), "--key", str(certs / "server.key"),
                       "--send", "bye")


@pytest.fixture
def sim(sim_binary) -> Iterator[str]:
    """A fresh virtual module; yields its pty path."""
    bg = Background([str(sim_binary)])
    try:
        yield bg.first_line
    finally:
        bg.stop()


@pytest.fixture
def sim_factory(sim_binary):
    """Starts virtual modules with extra options (``sim_factory("--pdp-deact-after", "1")``); returns
    a Background object (``.first_line`` is the pty path, ``.stop()`` kills it)."""
    started = []

    def start(*args: str) -> Background:
        bg = Background([str(sim_binary), *args])
        started.append(bg)
        return bg

    yield start
    for bg in started:
        bg.stop()


@pytest.fixture
def modem(sim) -> Iterator[qssl.Modem]:
    with qssl.Modem(sim) as m:
        yield m


@pytest.fixture
def online(modem) -> qssl.Modem:
    """A modem with an active PDP context and SSL context 0 without authentication."""
    modem.activate_pdp("CMNET")
    modem.configure_context(0)
    return modem
