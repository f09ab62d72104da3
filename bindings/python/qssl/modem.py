"""The Python face of libqssl: :class:`Modem`, one open module.

Its sockets are in :mod:`qssl.sockets`, the values it returns in :mod:`qssl.types`; both are also importable from
here, as before the package was split.
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any, Callable, Iterator, List, Optional, Sequence, Union

from . import _callbacks, _lib
from ._args import c_int as _c_int
from ._args import cstr as _cstr
from ._args import timeout_ms as _timeout_ms
from .errors import EAGAIN, EINVAL, ETIMEDOUT, QsslError, QsslModemError, error_for
from .sockets import Buffer, SSLSocket, TCPSocket, WritableBuffer
from .types import (CipherSuite, ContextConfig, Event, EventType, IPState, SecLevel, SocketInfo, SocketKind,
                    SocketStatus, SSLVersion, State, _enum_or_int)

__all__ = ["Modem", "SSLSocket", "TCPSocket", "Event", "EventType", "SocketKind", "ContextConfig", "State",
           "SocketInfo", "IPState", "SocketStatus", "SSLVersion", "SecLevel", "CipherSuite", "Buffer",
           "WritableBuffer"]


class Modem:
    """An open Quectel module on a serial port (``qssl_modem_open``).

    ``Modem(device, baud=115200, rtscts=False, open_timeout=5.0, command_timeout=5.0, log=None)``
    opens the port exclusively, starts the library's I/O thread and syncs with the module.
    ``log``, if given, is called as ``log(direction, text)`` for every line of the AT trace
    (``direction`` is ``"tx"`` or ``"rx"``; certificate and key bytes show as ``<N bytes redacted>``)
    for every command after the start-up sync, from the library's callback thread.

    ``reapply_after_reset=True`` restores the configuration made through this handle after the module restarts
    (RAM certificates, PDP context, SSL contexts; then an ``EventType.CONFIG_REAPPLIED`` event).
    ``supervisor_apn="..."`` runs the note's PDP supervisor (section 1.4.1): whenever the context is down it is
    activated again every ``supervisor_interval`` seconds, and after ``supervisor_attempts`` failed rounds the
    module is rebooted (``AT+CFUN=1,1``).

    ``device`` may name a modem by identity, ``"imei:<15 digits>"`` or ``"usb:<port>"``; such a handle follows its
    modem: unplugged, calls raise :class:`qssl.QsslNoDevice` at once; plugged in again on any tty name, it
    re-attaches by itself (``EventType.REATTACHED``).

    Opening the port fails with :class:`qssl.QsslPermissionDenied` (a ``PermissionError``),
    :class:`qssl.QsslNoSuchDevice` (a ``FileNotFoundError``), :class:`qssl.QsslNotATerminal` or
    :class:`qssl.QsslBusy`; ``filename`` is the device path.

    Use it as a context manager, or call :meth:`close`. Every method raises a :class:`qssl.QsslError`
    subclass on failure. All methods may be called from any thread. A str argument that becomes a C string
    (device, command, certificate names, APN, user, password, host) must not contain a NUL character:
    :class:`qssl.QsslInvalidArgument` ("embedded null character in host"), and nothing is sent.
    """

    def __init__(self, device: Union[str, "os.PathLike[str]"], baud: int = 115200, *, rtscts: bool = False,
                 open_timeout: float = 5.0, command_timeout: float = 5.0,
                 log: Optional[Callable[[str, str], None]] = None, reapply_after_reset: bool = False,
                 supervisor_apn: Optional[str] = None, supervisor_user: str = "", supervisor_password: str = "",
                 supervisor_interval: float = 600.0, supervisor_attempts: int = 3) -> None:
        lib = _lib.lib()
        self._lib = lib
        self._handle = ctypes.c_void_p(None)
        self._closed = False
        device = os.fspath(device)  # str or path-like; anything else is a TypeError
        c_device = _cstr(device, "device")  # checked before anything is set up
        self._lock = threading.Lock()
        # Every ctypes callback object handed to the library. The library calls into them, and one already
        # running may finish after it was replaced or removed (qssl.h), so all stay alive until close() - which
        # joins the library's threads - however often callbacks are swapped.
        self._callbacks: List[Any] = []
        # Identifies this modem's callbacks on the library's threads without a reference back to the Modem.
        self._token = object()
        _callbacks.prune_parked()
        opts = _lib.ModemOptions()
        lib.qssl_modem_options_init_size(ctypes.byref(opts), ctypes.sizeof(opts))
        opts.baud = _c_int(baud, "baud")
        opts.rtscts = 1 if rtscts else 0
        opts.open_timeout_ms = _timeout_ms(open_timeout) or 1
        opts.command_timeout_ms = _timeout_ms(command_timeout) or 1
        if log is not None:
            cb = self._make_log_cb(log)
            self._callbacks.append(cb)
            opts.log = cb
        opts.reapply_after_reset = 1 if reapply_after_reset else 0
        if supervisor_apn is not None:
            opts.supervisor_apn = _cstr(supervisor_apn, "supervisor_apn")
            opts.supervisor_user = _cstr(supervisor_user, "supervisor_user")
            opts.supervisor_password = _cstr(supervisor_password, "supervisor_password")
            opts.supervisor_interval_ms = _timeout_ms(supervisor_interval) or 1
            opts.supervisor_attempts = _c_int(supervisor_attempts, "supervisor_attempts")
        out = ctypes.c_void_p(None)
        try:
            lib.qssl_modem_open(c_device, ctypes.byref(opts), ctypes.byref(out))
        except QsslError as e:
            # The reason with the path, as open() gives it (qssl_open_errmsg is per thread: this one's).
            buf = ctypes.create_string_buffer(512)
            lib.qssl_open_errmsg(buf, len(buf))
            e.detail = buf.value.decode("utf-8", "replace")
            e.filename = device
            raise
        self._handle = out
        self.device = device

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def _as_parameter_(self) -> ctypes.c_void_p:
        # After close() the dead handle value is still passed: the library answers QSSL_ECLOSED.
        return self._handle

    def _make_log_cb(self, log: Callable[[str, str], None]) -> Any:
        return _callbacks.log_callback(self._token, log)

    def _make_event_cb(self, callback: Callable[[Event], None]) -> Any:
        return _callbacks.event_callback(self._token, callback, Event._from_c)

    def _register(self, setter: Any, cb: Any, null: Any) -> None:
        """Hands `cb` (a ctypes callback, or None to remove the current one) to `setter`. No lock is held
        across the C call: the library's callback thread may be running a callback that calls into this
        modem."""
        if cb is not None:
            # Kept from before the library can call it; list.append is atomic under the GIL.
            self._callbacks.append(cb)
        setter(self, cb if cb is not None else null, None)

    def __enter__(self) -> Modem:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<qssl.Modem {self.device!r}{' closed' if self._closed else ''}>"

    def __del__(self) -> None:
        # A forgotten Modem must not outlive its callbacks: close() joins the library's threads before the
        # ctypes callback objects go away.
        try:
            if not self._closed and self._handle.value:
                self.close()
        except Exception:
            pass

    def close(self) -> None:
        """Closes the port and frees the handle (``qssl_modem_close``). Idempotent.

        May be called from one of this modem's callbacks."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._lib.qssl_modem_close(self)
        finally:
            # The library has joined its threads, so no callback runs any more - except the one calling this,
            # if any: it returns into its ctypes object after close() returns.
            held, self._callbacks = self._callbacks, []
            _callbacks.park_if_inside(self._token, held)
            del held

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def errmsg(self) -> str:
        """The last failure on this handle (``qssl_errmsg``)."""
        return _lib.errmsg_copy(self) or ""

    # -- raw AT -----------------------------------------------------------------------------

    def at(self, cmd: str, timeout: Optional[float] = None) -> List[str]:
        """Sends a full command (``"AT+CSQ"``) and returns its intermediate response lines.

        ``timeout`` is in seconds (> 0), None for the modem's command timeout. Raises
        :class:`qssl.QsslModemError` on ERROR / +CME ERROR, :class:`qssl.QsslTimeout` when no final answer
        arrives in time, ValueError for a timeout <= 0.
        """
        if timeout is not None and not timeout > 0:
            # 0 would silently mean "the default" in C; a caller writing 0 wants something else.
            raise ValueError("timeout must be > 0 or None")
        ms = 0 if timeout is None else _timeout_ms(timeout)
        cap = 64 * 1024
        buf = ctypes.create_string_buffer(cap)
        # A longer answer comes back truncated (the command ran; running it again is not safe).
        self._lib.qssl_at(self, _cstr(cmd, "cmd"), buf, cap, ms)
        return [line for line in buf.value.decode("utf-8", "replace").split("\n") if line]

    # -- certificates -----------------------------------------------------------------------

    def write_cert(self, name: str, data: Union[bytes, bytearray, memoryview, str], *,
                   progress: Optional[Callable[[int, int], None]] = None) -> None:
        """Uploads a certificate or key as ``name`` (``"RAM:ca.pem"``, ``"NVRAM:CA0"``...).

        Replaces an existing file; raises :class:`qssl.QsslChecksumError` if the module's size or
        checksum differs from the data. The bytes never appear in the log. ``progress(sent, total)``, if given,
        is called with 0 first, then as the bytes go out (from the library's I/O thread: keep it short and do not
        call this modem from it), and with ``total`` once the module confirmed size and checksum.
        """
        if isinstance(data, str):
            data = data.encode("utf-8")
        raw = bytes(data)
        c_name = _cstr(name, "name")
        if progress is None:
            self._lib.qssl_cert_write(self, c_name, raw, len(raw))
            return

        def trampoline(_m: Any, sent: int, total: int, _user: Any) -> None:
            progress(sent, total)
        cb = _lib.PROGRESS_FN(trampoline)  # alive until the call returns: the library calls it only during it
        self._lib.qssl_cert_write_progress(self, c_name, raw, len(raw), cb, None)

    def check_cert(self, name: str) -> bool:
        """True if ``name`` is stored and intact; False if damaged or not stored."""
        try:
            return self._lib.qssl_cert_check(self, _cstr(name, "name")) == 1
        except QsslModemError:
            return False

    def delete_cert(self, name: str) -> None:
        """Deletes a certificate or key. Raises :class:`qssl.QsslModemError` if there is none."""
        self._lib.qssl_cert_delete(self, _cstr(name, "name"))

    # -- packet data ------------------------------------------------------------------------

    def activate_pdp(self, apn: str, user: str = "", password: str = "") -> None:
        """Sets the APN, registers to the TCP/IP stack, activates the PDP context, enables AT+QIMUX=1.

        On failure the specific cause is raised (QsslNotAttached, QsslNotRegistered, QsslNoAPN,
        QsslContextBusy, QsslModemError).
        """
        self._lib.qssl_pdp_activate(self, _cstr(apn, "apn"), _cstr(user, "user"), _cstr(password, "password"))

    @property
    def local_ip(self) -> str:
        """The local IP address (AT+QILOCIP)."""
        buf = ctypes.create_string_buffer(64)
        n = self._lib.qssl_pdp_local_ip(self, buf, 64)
        if n >= 64:
            buf = ctypes.create_string_buffer(n + 1)
            self._lib.qssl_pdp_local_ip(self, buf, n + 1)
        return buf.value.decode("ascii", "replace")

    def deactivate_pdp(self) -> None:
        """Deactivates the PDP context (AT+QIDEACT); every socket is gone afterwards."""
        self._lib.qssl_pdp_deactivate(self)

    # -- SSL contexts -----------------------------------------------------------------------

    def configure_context(self, ctx: int = 0, *, version: int = SSLVersion.ALL,
                          ciphersuites: Union[int, Sequence[int]] = (CipherSuite.ALL,),
                          seclevel: int = SecLevel.NONE, cacert: Optional[str] = None,
                          clientcert: Optional[str] = None, clientkey: Optional[str] = None) -> None:
        """Writes SSL context ``ctx`` (0-5): version, cipher suites (1-6 codes, or CipherSuite.ALL
        alone), seclevel, and the certificate names given (None leaves that name unset).
        """
        cfg = _lib.CtxConfig()
        self._lib.qssl_ctx_config_init(ctypes.byref(cfg))
        cfg.version = int(version)
        cfg.seclevel = int(seclevel)
        suites = [ciphersuites] if isinstance(ciphersuites, int) else list(ciphersuites)
        if not 1 <= len(suites) <= _lib.MAX_CIPHERSUITES:
            raise error_for(EINVAL, "1-6 cipher suites")
        cfg.n_ciphersuites = len(suites)
        for i, s in enumerate(suites):
            if not 0 <= int(s) <= 0xFFFF:
                raise error_for(EINVAL, f"cipher suite {s:#x} out of range")
            cfg.ciphersuites[i] = int(s)
        for attr, value in (("cacert", cacert), ("clientcert", clientcert), ("clientkey", clientkey)):
            raw = _cstr(value, attr) or b""
            if len(raw) >= _lib.NAME_MAX:
                raise error_for(EINVAL, f"{attr} longer than {_lib.NAME_MAX - 1} bytes")
            setattr(cfg, attr, raw)
        self._lib.qssl_ctx_configure(self, _c_int(ctx, "ctx"), ctypes.byref(cfg))

    def context(self, ctx: int = 0) -> ContextConfig:
        """Reads SSL context ``ctx`` (0-5) back from the module."""
        cfg = _lib.CtxConfig()
        self._lib.qssl_ctx_config_init(ctypes.byref(cfg))
        self._lib.qssl_ctx_query(self, _c_int(ctx, "ctx"), ctypes.byref(cfg))

        def name(raw: bytes) -> Optional[str]:
            return raw.decode("utf-8", "replace") or None

        return ContextConfig(
            version=_enum_or_int(SSLVersion, cfg.version),
            seclevel=_enum_or_int(SecLevel, cfg.seclevel),
            ciphersuites=[cfg.ciphersuites[i] for i in range(min(cfg.n_ciphersuites, _lib.MAX_CIPHERSUITES))],
            cacert=name(cfg.cacert), clientcert=name(cfg.clientcert), clientkey=name(cfg.clientkey))

    # -- sockets ----------------------------------------------------------------------------

    def set_ssl_setting(self, setting: int, value: int) -> None:
        """Sets a global AT+QSSLCFG setting (:class:`qssl.types.SSLSetting`), e.g. ``IGNORE_RTC_TIME`` to 1."""
        self._lib.qssl_ssl_setting_set(self, _c_int(setting, "setting"), _c_int(value, "value"))

    def ssl_setting(self, setting: int) -> int:
        """Reads a global AT+QSSLCFG setting back (-1 for a context index that is not set)."""
        v = ctypes.c_int(0)
        self._lib.qssl_ssl_setting_get(self, _c_int(setting, "setting"), ctypes.byref(v))
        return v.value

    def open_ssl(self, host: str, port: int, ctx: int = 0, timeout: int = 90, *,
                 transparent: bool = False) -> SSLSocket:
        """Opens an SSL connection on context ``ctx``; waits up to ``timeout`` seconds (10-300; 0 means the
        module default, 90) for the handshake. Raises QsslConnectFailed, QsslNoSocket, QsslTimeout, ...;
        QsslInvalidArgument for a timeout out of range.

        ``transparent=True`` opens it in transparent mode (qssl_open_transparent): the serial port becomes a
        byte pipe for this socket, so until :meth:`SSLSocket.suspend` or :meth:`SSLSocket.close` every other
        call that talks to the module (``at``, ``state``, opening sockets, sending on other sockets) raises
        QsslBusy; only one socket can be in that mode. The connection's end is recognised by the module's
        exit line followed by 200 ms of quiet: a peer that sends exactly that line and pauses ends the stream.
        """
        fn = self._lib.qssl_open_transparent if transparent else self._lib.qssl_open
        sid = fn(self, _c_int(ctx, "ctx"), _cstr(host, "host"), _c_int(port, "port"), _c_int(timeout, "timeout"))
        return SSLSocket(self, sid, transparent=bool(transparent))

    def open_tcp(self, host: str, port: int, timeout: int = 90) -> TCPSocket:
        """Opens a plain TCP connection beside the SSL ones (AT+QIOPEN), waiting up to ``timeout`` seconds
        (1-300; 0 means 90) for it. QsslInvalidArgument for a timeout out of range."""
        sid = self._lib.qssl_tcp_open(self, _cstr(host, "host"), _c_int(port, "port"), _c_int(timeout, "timeout"))
        return TCPSocket(self, sid)

    def state(self) -> State:
        """AT+QSSLSTATE decoded."""
        info = _lib.StateInfo()
        info.size = ctypes.sizeof(info)
        self._lib.qssl_state(self, ctypes.byref(info))
        socks = []
        for i in range(max(0, min(info.n_sockets, _lib.MAX_SOCKETS))):
            s = info.sockets[i]
            socks.append(SocketInfo(id=s.id, ssl=bool(s.ssl), type=s.type.decode("ascii", "replace"),
                                    address=s.address.decode("ascii", "replace"), port=s.port,
                                    status=_enum_or_int(SocketStatus, s.status)))
        return State(_enum_or_int(IPState, info.ip_state), info.ip_state_text.decode("ascii", "replace"), socks)

    # -- events -----------------------------------------------------------------------------

    def fileno(self) -> int:
        """The handle's event fd (``qssl_event_fd``): readable while events are queued.
        Owned by the modem: poll it, do not read or close it."""
        return self._lib.qssl_event_fd(self)

    def next_event(self, timeout: Optional[float] = 0) -> Optional[Event]:
        """The oldest queued event, waiting up to ``timeout`` seconds (None: no limit); None if none."""
        ev = _lib.Event()
        ev.size = ctypes.sizeof(ev)
        try:
            self._lib.qssl_next_event(self, ctypes.byref(ev), _timeout_ms(timeout))
        except QsslError as e:
            if e.code in (EAGAIN, ETIMEDOUT):
                return None
            raise
        return Event._from_c(ev)

    def events(self, timeout: Optional[float] = 0) -> Iterator[Event]:
        """Yields queued events until none arrives within ``timeout`` seconds (0: only those queued now)."""
        while True:
            ev = self.next_event(timeout)
            if ev is None:
                return
            yield ev

    def set_event_callback(self, callback: Optional[Callable[[Event], None]]) -> None:
        """Also delivers every event to ``callback(event)`` (None removes it); :meth:`events` still
        sees them (the queue is bounded, so a program using only the callback may ignore it).

        The callback runs on the library's callback thread, never the caller's; it may call any method
        of this modem (for instance a non-blocking ``recv``, or :meth:`close`). Exceptions it raises are
        printed and dropped. A call already running when the callback is replaced or removed may still
        finish after this returns; the modem keeps every callback it was given until it is closed.
        """
        cb = None if callback is None else self._make_event_cb(callback)
        self._register(self._lib.qssl_set_event_callback, cb, _lib.EVENT_FN())

    def set_log_callback(self, log: Optional[Callable[[str, str], None]]) -> None:
        """Sets (or with None removes) the AT trace callback; see the class docstring. As with
        :meth:`set_event_callback`, a replaced callback is kept until the modem is closed."""
        cb = None if log is None else self._make_log_cb(log)
        self._register(self._lib.qssl_set_log_callback, cb, _lib.LOG_FN())
