"""Finding Quectel modems as they come and go (the HOT-PLUG section of include/qssl.h, libudev underneath).

``devices(probe=False)`` lists the candidate ports present now: the AT interface of each Quectel USB modem and
every USB-UART bridge an M10/M66/M85/M95 may sit behind. ``probe=True`` asks each one (``ATI``, ``AT+GSN``, at
most ``probe_timeout`` seconds per port) and fills ``model``, ``revision`` and ``imei``; a port another program
holds is reported ``busy`` and left alone. ``Monitor()`` reports ports being added and removed::

    with qssl.Monitor() as mon:
        for event in mon:                      # blocks; Monitor(timeout=...) ends the loop after a quiet spell
            print(event.action, event.device.path, event.device.kind)

A modem is opened by identity with ``qssl.Modem("imei:866...")`` or ``qssl.Modem("usb:1-1.3")``.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Iterator, List, Optional

from . import _lib
from .errors import QsslTimeout, QsslWouldBlock

KINDS = {0: "other", 1: "quectel-usb", 2: "usb-uart-bridge"}
PROBES = {0: None, 1: "quectel", 2: "no-quectel", 3: "busy", 4: "failed"}
SOURCES = {1: "udev", 2: "kernel"}
_ALL, _PROBE = 1, 2


@dataclass(frozen=True)
class Device:
    """One serial port (``struct qssl_device``). Strings are "" where unknown; ``interface`` is -1 off USB."""
    path: str
    by_id: str
    syspath: str
    kind: str            # "quectel-usb", "usb-uart-bridge" or "other"
    vid: int
    pid: int
    interface: int
    usb_path: str        # "1-1.3": a stable name for the USB port
    driver: str
    manufacturer: str
    product: str
    serial: str
    probe: Optional[str]  # None (not probed), "quectel", "no-quectel", "busy", "failed"
    model: str
    revision: str
    imei: str

    @property
    def busy(self) -> bool:
        """Another program held the port when it was probed."""
        return self.probe == "busy"

    @classmethod
    def _from_c(cls, d: _lib.Device) -> "Device":
        def s(name: str) -> str:
            return getattr(d, name).decode("utf-8", "replace")
        return cls(path=s("path"), by_id=s("by_id"), syspath=s("syspath"), kind=KINDS.get(d.kind, "other"),
                   vid=d.vid, pid=d.pid, interface=d.interface, usb_path=s("usb_path"), driver=s("driver"),
                   manufacturer=s("manufacturer"), product=s("product"), serial=s("serial"),
                   probe=PROBES.get(d.probe), model=s("model"), revision=s("revision"), imei=s("imei"))


@dataclass(frozen=True)
class DeviceEvent:
    """A port added or removed. A removed port's details are those read when it was added."""
    action: str          # "add" or "remove"
    device: Device


def _options(all: bool, probe: bool, baud: int, probe_timeout: float, source: Optional[str]) -> _lib.DevicesOptions:
    o = _lib.DevicesOptions()
    _lib.lib().qssl_devices_options_init(ctypes.byref(o))
    o.flags = (_ALL if all else 0) | (_PROBE if probe else 0)
    o.baud = baud
    o.probe_timeout_ms = max(1, int(probe_timeout * 1000))
    if source is not None:
        o.source = {"udev": 1, "kernel": 2}[source]
    return o


def devices(probe: bool = False, *, all: bool = False, baud: int = 115200, probe_timeout: float = 2.0) -> List[Device]:
    """The candidate ports present now (every tty with ``all=True``), sorted by path; probed with ``probe=True``."""
    lib = _lib.lib()
    arr = ctypes.POINTER(ctypes.POINTER(_lib.Device))()
    n = lib.qssl_devices(ctypes.byref(_options(all, probe, baud, probe_timeout, None)), ctypes.byref(arr))
    try:
        return [Device._from_c(arr[i].contents) for i in range(n)]
    finally:
        lib.qssl_devices_free(arr)


def probe(path: str, *, baud: int = 115200, timeout: float = 2.0) -> Device:
    """Probes one port (``qssl_probe``): ``probe`` of the result says what answered."""
    d = _lib.Device()
    d.size = ctypes.sizeof(d)
    _lib.lib().qssl_probe(path.encode(), ctypes.byref(_options(False, False, baud, timeout, None)), ctypes.byref(d))
    return Device._from_c(d)


def add_usb_id(vid: int, pid: int, kind: str, at_interface: int = -1) -> None:
    """Teaches the library a USB id: ``kind`` "quectel-usb" (with the AT port's bInterfaceNumber),
    "usb-uart-bridge", or "other" to forget it. Process-wide."""
    k = {v: key for key, v in KINDS.items()}[kind]
    _lib.lib().qssl_usb_id_add(vid, pid, k, at_interface)


class Monitor:
    """Ports being added and removed (``qssl_monitor_*``). A context manager and an iterable of
    :class:`DeviceEvent`. ``timeout`` (seconds, None = forever) ends iteration after that long without an event;
    :meth:`next_event` takes one with its own timeout. ``fileno()`` is for selectors. ``source`` is None (udev when
    udevd runs, else the kernel's uevents), "udev" or "kernel"; the attribute ``source`` tells which is used."""

    def __init__(self, *, all: bool = False, timeout: Optional[float] = None, source: Optional[str] = None) -> None:
        self._lib = _lib.lib()
        self._handle = ctypes.c_void_p(None)
        self._lib.qssl_monitor_open(ctypes.byref(self._handle),
                                    ctypes.byref(_options(all, False, 115200, 2.0, source)))
        self.timeout = timeout
        self.source = SOURCES[self._lib.qssl_monitor_source(self._handle)]

    def fileno(self) -> int:
        """Polls readable when a uevent came (it may be one that is filtered out)."""
        return self._lib.qssl_monitor_fd(self._handle)

    def next_event(self, timeout: Optional[float] = None) -> Optional[DeviceEvent]:
        """The next event, or None after ``timeout`` seconds (0: do not wait; None: wait without limit)."""
        ev = _lib.DeviceEvent()
        ev.size = ctypes.sizeof(ev)
        ms = -1 if timeout is None else int(timeout * 1000)
        try:
            self._lib.qssl_monitor_next(self._handle, ctypes.byref(ev), ms)
        except (QsslTimeout, QsslWouldBlock):
            return None
        return DeviceEvent("add" if ev.action == 1 else "remove", Device._from_c(ev.device))

    def __iter__(self) -> Iterator[DeviceEvent]:
        while True:
            ev = self.next_event(self.timeout)
            if ev is None:
                return
            yield ev

    def close(self) -> None:
        """Closes the monitor; a next_event() waiting in another thread raises QsslClosed. Idempotent."""
        if self._handle.value is not None:
            h, self._handle = self._handle, ctypes.c_void_p(None)
            self._lib.qssl_monitor_close(h)

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
