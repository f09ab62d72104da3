"""Hot-plug cases under umockdev: real libudev over faked sysfs and uevents, real ptys, a real qssl-sim.

Not collected by itself (no test_ prefix): ``test_hotplug.py`` runs this file with pytest under
``umockdev-wrapper`` and Debian's python3 (umockdev's Python API comes from python3-gi), because only a process
started under the wrapper can send uevents.
"""

from __future__ import annotations

import gc
import json
import os
import select
import subprocess
import threading
import time
from pathlib import Path

import gi
import pytest

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

import qssl  # noqa: E402  (conftest.py put the package on sys.path)

UDEV = Path(__file__).resolve().parents[3] / "Tests" / "udev"
IMEI = "866123456789013"
BRIDGE = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-3"
BY_ID = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KZP3L-if00-port0"


def new_testbed():
    """A new testbed, after the earlier ones are gone: a testbed's destructor unsets $UMOCKDEV_DIR, so one that a
    reference cycle kept alive until a later garbage collection would take the mock environment away from the
    test that runs then (seen: `qssl watch` then listened to the real system and saw no event)."""
    gc.collect()
    return UMockdev.Testbed.new()


@pytest.fixture
def testbed():
    tb = new_testbed()
    assert UMockdev.in_mock_environment(), "not under umockdev-wrapper"
    for name in ("ec25.umockdev", "board-uart.umockdev"):
        assert tb.add_from_file(str(UDEV / name))
    yield tb
    del tb


class Sim:
    """qssl-sim answering with IMEI, without umockdev's preload library (it is the module, not under test)."""

    def __init__(self, binary: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        # stderr not inherited: a sim outliving a failed case must not hold the runner's output pipe open.
        self.proc = subprocess.Popen([str(binary), "--imei", IMEI], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        assert ready, "qssl-sim printed no pty path"
        self.pty = self.proc.stdout.readline().strip()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        self.proc.stdout.close()


def plug(tb, sim: Sim, tty: str) -> None:
    """Links the testbed's /dev/<tty> to the sim's pty, then adds the FTDI bridge as <tty> (uevents, parents first)."""
    link = Path(tb.get_root_dir()) / "dev" / tty
    link.unlink(missing_ok=True)
    link.symlink_to(sim.pty)
    assert tb.add_from_string((UDEV / "ftdi-bridge.umockdev").read_text().replace("ttyUSB4", tty))


def unplug(tb, tty: str) -> None:
    """Remove uevents children first, as the kernel sends them; then the sysfs entries go."""
    dev = BRIDGE + "/1-3.2"
    for p in (f"{dev}/1-3.2:1.0/{tty}/tty/{tty}", f"{dev}/1-3.2:1.0/{tty}", f"{dev}/1-3.2:1.0", dev, BRIDGE):
        tb.uevent(p, "remove")
    tb.remove_device(BRIDGE)
    # umockdev 0.17 leaves the bus/class links and node records of removed devices behind, and a later add of
    # the same device fails on them.
    root = Path(tb.get_root_dir())
    for pattern in ("sys/bus/*/devices/*", "sys/class/*/*", "sys/dev/char/*"):
        for link in root.glob(pattern):
            if link.is_symlink() and not link.exists():
                link.unlink()
    for node in ("dev/.node/bus_usb_001_003", "dev/.node/bus_usb_001_005", "dev/bus/usb/001/003",
                 "dev/bus/usb/001/005", "dev/.node/" + tty, "dev/" + tty):
        (root / node).unlink(missing_ok=True)


def test_only_the_ec25_at_port_is_a_candidate(testbed):
    devs = qssl.devices()
    assert [d.path for d in devs] == ["/dev/ttyUSB2"]
    d = devs[0]
    assert (d.kind, d.vid, d.pid, d.interface, d.usb_path, d.driver) == ("quectel-usb", 0x2C7C, 0x0125, 2, "1-1", "option")
    assert (d.manufacturer, d.product, d.serial, d.probe, d.busy) == ("Quectel", "EG25-G", "e1d2c3b4", None, False)
    every = {d.path: d for d in qssl.devices(all=True)}
    assert sorted(every) == ["/dev/ttyS0", "/dev/ttyUSB0", "/dev/ttyUSB1", "/dev/ttyUSB2", "/dev/ttyUSB3"]
    assert {p for p, d in every.items() if d.kind == "other"} == {"/dev/ttyS0", "/dev/ttyUSB0", "/dev/ttyUSB1",
                                                                  "/dev/ttyUSB3"}
    assert (every["/dev/ttyS0"].vid, every["/dev/ttyS0"].interface, every["/dev/ttyS0"].usb_path) == (0, -1, "")


def test_callers_extend_the_table(testbed):
    qssl.add_usb_id(0x2C7C, 0x0125, "quectel-usb", 3)
    try:
        assert [d.path for d in qssl.devices()] == ["/dev/ttyUSB3"]
    finally:
        qssl.add_usb_id(0x2C7C, 0x0125, "quectel-usb", 2)
    assert [d.path for d in qssl.devices()] == ["/dev/ttyUSB2"]
    with pytest.raises(qssl.QsslInvalidArgument):
        qssl.add_usb_id(0x10000, 1, "usb-uart-bridge")


@pytest.fixture
def sims(sim_binary):
    """Starts Sims; every one is killed at the end of the case, whatever happened."""
    started = []

    def start() -> Sim:
        started.append(Sim(sim_binary))
        return started[-1]

    yield start
    for s in started:
        s.kill()


def test_monitor_add_probe_remove(testbed, sims):
    sim = sims()
    with qssl.Monitor(timeout=5) as mon:
        assert mon.source in ("udev", "kernel")
        assert mon.next_event(0) is None
        plug(testbed, sim, "ttyUSB4")
        ready, _, _ = select.select([mon], [], [], 10)
        assert ready, "the monitor's fd did not poll readable after the plug"
        ev = mon.next_event(5)
        assert ev is not None and ev.action == "add"
        d = ev.device
        assert (d.path, d.kind, d.vid, d.pid, d.usb_path, d.by_id) == (
            "/dev/ttyUSB4", "usb-uart-bridge", 0x0403, 0x6001, "1-3.2", BY_ID)
        probed = {d.path: d for d in qssl.devices(probe=True, probe_timeout=1.0)}
        assert probed["/dev/ttyUSB4"].probe == "quectel"
        assert (probed["/dev/ttyUSB4"].model, probed["/dev/ttyUSB4"].imei) == ("M66", IMEI)
        assert probed["/dev/ttyUSB2"].probe == "no-quectel"   # a pty nobody answers on
        with qssl.Modem("usb:1-3.2") as m:
            assert any(IMEI in line for line in m.at("AT+GSN"))
            assert qssl.probe("/dev/ttyUSB4").busy
        unplug(testbed, "ttyUSB4")
        mon.timeout = 1.0
        events = list(mon)          # until a second passes without one
        assert [(e.action, e.device.path, e.device.by_id, e.device.vid) for e in events] == [
            ("remove", "/dev/ttyUSB4", BY_ID, 0x0403)]


def wait_event(m, kind, seconds=20.0):
    """The first event of ``kind`` on the modem's queue within ``seconds`` (others skipped), or None."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        ev = m.next_event(0.5)
        if ev is not None and ev.type == kind:
            return ev
    return None


def test_unplug_mid_transfer_then_replug_elsewhere(testbed, sims, tcp_port):
    sim = sims()
    plug(testbed, sim, "ttyUSB4")
    with qssl.Modem("imei:" + IMEI, reapply_after_reset=True) as m:
        m.activate_pdp("CMNET")
        s = m.open_tcp("127.0.0.1", tcp_port, timeout=30)
        s.settimeout(10)
        s.sendall(b"ping")
        assert s.recv(16) == b"ping"
        outcome = {}

        def reader():
            s.settimeout(None)
            t0 = time.monotonic()
            try:
                while s.recv(64):
                    pass
                outcome["result"] = "end of stream"
            except Exception as e:  # noqa: BLE001 - the type is the assertion
                outcome["result"] = e
            outcome["seconds"] = time.monotonic() - t0

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(b"data in flight")
        sim.kill()                 # the pty master goes: the port hangs up
        unplug(testbed, "ttyUSB4")
        t.join(30)
        assert not t.is_alive(), "recv still blocked after the unplug"
        assert isinstance(outcome["result"], qssl.QsslNoDevice), outcome
        assert isinstance(outcome["result"], ConnectionError)
        print(f"unplug: blocked recv raised {type(outcome['result']).__name__} after {outcome['seconds']:.3f} s")
        assert wait_event(m, qssl.EventType.DEVICE_GONE) is not None
        # Detached: a call fails at once, it does not wait for the modem.
        t0 = time.monotonic()
        with pytest.raises(qssl.QsslNoDevice):
            m.at("AT+GSN", timeout=30)
        assert time.monotonic() - t0 < 1.0

        # Re-plugged on another tty name: the same handle finds its IMEI there by itself.
        sim2 = sims()
        with qssl.Monitor(timeout=5) as mon:
            plug(testbed, sim2, "ttyUSB5")
            ev = mon.next_event(5)
            assert ev is not None and (ev.action, ev.device.path) == ("add", "/dev/ttyUSB5")
        assert wait_event(m, qssl.EventType.REATTACHED) is not None, "the handle did not re-attach"
        assert any(IMEI in line for line in m.at("AT+GSN"))
        ev = wait_event(m, qssl.EventType.CONFIG_REAPPLIED)
        assert ev is not None and ev.value == 1, ev
        with pytest.raises(qssl.QsslNoDevice):
            s.recv(16)             # the old socket stays lost
        s.close()
        payload = bytes((i * 7 + 3) & 0xFF for i in range(3000))
        with m.open_tcp("127.0.0.1", tcp_port, timeout=30) as s2:
            s2.settimeout(10)
            s2.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s2.recv(len(payload) - len(got))
                assert chunk, "stream ended early"
                got += chunk
            assert got == payload


def test_plain_path_handle_stays_detached(testbed, sims):
    sim = sims()
    plug(testbed, sim, "ttyUSB4")
    with qssl.Modem("/dev/ttyUSB4") as m:
        sim.kill()
        unplug(testbed, "ttyUSB4")
        assert wait_event(m, qssl.EventType.DEVICE_GONE) is not None
        sim2 = sims()
        plug(testbed, sim2, "ttyUSB5")
        assert qssl.probe("/dev/ttyUSB5").imei == IMEI       # the modem is back, on another name
        assert m.next_event(1.0) is None                     # and nobody follows it
        with pytest.raises(qssl.QsslNoDevice):
            m.at("AT+GSN")
    unplug(testbed, "ttyUSB5")


# --- the qssl command's hot-plug side: devices, watch, the default device -------------------------------------

CLI = os.environ.get("QSSL_CLI", "")


def cli_env(tb) -> dict:
    """The command's environment: this testbed's directory named explicitly, whatever happened to the process's."""
    return dict(os.environ, UMOCKDEV_DIR=tb.get_root_dir())


def qssl_cli(tb, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    assert CLI and Path(CLI).is_file(), f"QSSL_CLI={CLI!r}: build it (swift build --product qssl-cli)"
    return subprocess.run([CLI, *args], capture_output=True, timeout=timeout, env=cli_env(tb))


def test_cli_devices(testbed):
    p = qssl_cli(testbed, "--json", "devices")
    assert p.returncode == 0, p
    devs = json.loads(p.stdout)["devices"]
    assert [(d["path"], d["kind"], d["vid"], d["pid"], d["interface"], d["usb_path"]) for d in devs] == [
        ("/dev/ttyUSB2", "quectel-usb", "2c7c", "0125", 2, "1-1")]
    p = qssl_cli(testbed, "devices")
    assert p.returncode == 0 and p.stdout.decode().startswith("/dev/ttyUSB2  quectel-usb  2c7c:0125 if2  usb 1-1"), p
    every = json.loads(qssl_cli(testbed, "--json", "devices", "--all").stdout)["devices"]
    assert {d["path"]: d["kind"] for d in every}["/dev/ttyS0"] == "other"
    assert qssl_cli(testbed, "devices", "--bogus").returncode == 2


def test_cli_watch_reports_add_and_remove(testbed, sims):
    sim = sims()
    w = subprocess.Popen([CLI, "--json", "watch", "--count", "2", "--timeout", "30000"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=cli_env(testbed))
    try:
        assert b"watching serial ports" in w.stderr.readline()   # the monitor is open: events from now on
        plug(testbed, sim, "ttyUSB4")
        unplug(testbed, "ttyUSB4")
        out, _ = w.communicate(timeout=60)
    finally:
        if w.poll() is None:
            w.kill()
    assert w.returncode == 0
    events = [json.loads(line) for line in out.decode().splitlines()]
    assert [(e["action"], e["device"]["path"], e["device"]["kind"], e["device"]["by_id"]) for e in events] == [
        ("add", "/dev/ttyUSB4", "usb-uart-bridge", BY_ID), ("remove", "/dev/ttyUSB4", "usb-uart-bridge", BY_ID)]


def test_cli_default_device_is_the_only_candidate(sims):
    tb = new_testbed()
    assert tb.add_from_file(str(UDEV / "board-uart.umockdev"))
    p = qssl_cli(tb, "info")
    assert p.returncode == 3 and b"no modem found" in p.stderr, p
    sim = sims()
    plug(tb, sim, "ttyUSB4")
    p = qssl_cli(tb, "--json", "info")
    assert p.returncode == 0, p
    doc = json.loads(p.stdout)
    assert (doc["device"], doc["imei"], doc["model"]) == ("/dev/ttyUSB4", IMEI, "Quectel_M66")
    tb.add_from_file(str(UDEV / "ec25.umockdev"))
    p = qssl_cli(tb, "info")
    assert p.returncode == 2 and b"several candidate ports (/dev/ttyUSB2, /dev/ttyUSB4)" in p.stderr, p
    unplug(tb, "ttyUSB4")
    del tb
