"""The Python face of libqssl: :class:`Modem` and its sockets."""

from __future__ import annotations

import ctypes
import enum
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from . import _lib
from .errors import EAGAIN, ECLOSED, EINVAL, ETIMEDOUT, QsslClosed, QsslError, QsslModemError, error_for

if TYPE_CHECKING:
    import array

Buffer = Union[bytes, bytearray, memoryview]
#: What recv_into() fills: any writable object with the buffer protocol.
WritableBuffer = Union[bytearray, memoryview, "array.array[int]", "ctypes.Array[ctypes.c_char]"]
_E = TypeVar("_E", bound=enum.IntEnum)
_S = TypeVar("_S", bound="_Socket")


class SSLVersion(enum.IntEnum):
    """enum qssl_ssl_version"""
    SSL3_0 = 0
    TLS1_0 = 1
    TLS1_1 = 2
    TLS1_2 = 3
    ALL = 4


class SecLevel(enum.IntEnum):
    """enum qssl_seclevel"""
    NONE = 0
    SERVER = 1
    SERVER_CLIENT = 2


class CipherSuite(enum.IntEnum):
    """enum qssl_ciphersuite (the note's table)"""
    RSA_AES_256_CBC_SHA = 0x0035
    RSA_AES_128_CBC_SHA = 0x002F
    RSA_RC4_128_SHA = 0x0005
    RSA_RC4_128_MD5 = 0x0004
    RSA_3DES_EDE_CBC_SHA = 0x000A
    RSA_AES_256_CBC_SHA256 = 0x003D
    ALL = 0xFFFF


class EventType(enum.IntEnum):
    """enum qssl_event_type"""
    NONE = 0
    DATA = 1
    CLOSED = 2
    PDP_DEACT = 3
    RESET = 4
    DEVICE_GONE = 5
    PDP_ACTIVATED = 6
    SUPERVISOR_REBOOT = 7
    CONFIG_REAPPLIED = 8


class SocketKind(enum.IntEnum):
    """enum qssl_socket_kind"""
    SSL = 0
    TCP = 1


class IPState(enum.IntEnum):
    """enum qssl_ip_state"""
    UNKNOWN = -1
    INITIAL = 0
    START = 1
    CONFIG = 2
    IND = 3
    GPRSACT = 4
    STATUS = 5
    PROCESSING = 6
    PDP_DEACT = 7


class SocketStatus(enum.IntEnum):
    """enum qssl_socket_status"""
    UNKNOWN = -1
    INITIAL = 0
    CONNECTING = 1
    CONNECTED = 2
    REMOTE_CLOSING = 3
    CLOSING = 4
    CLOSED = 5


def _enum_or_int(cls: Type[_E], value: int) -> Union[_E, int]:
    try:
        return cls(value)
    except ValueError:
        return value


@dataclass(frozen=True)
class Event:
    """One event of a modem (struct qssl_event)."""
    type: EventType
    #: socket id 0-5 for DATA / CLOSED, else -1
    socket: int
    #: SocketKind for DATA / CLOSED, else -1
    kind: int
    #: CONFIG_REAPPLIED: 1 all steps OK, 0 a step failed; else 0
    value: int
    #: a short description
    text: str

    @classmethod
    def _from_c(cls, ev: _lib.Event) -> "Event":
        return cls(_enum_or_int(EventType, ev.type), ev.socket, _enum_or_int(SocketKind, ev.kind), ev.value,
                   ev.text.decode("utf-8", "replace"))


@dataclass(frozen=True)
class ContextConfig:
    """One SSL context's settings as the module reports them (AT+QSSLCFG="ctxindex")."""
    version: SSLVersion
    seclevel: SecLevel
    ciphersuites: List[int]
    cacert: Optional[str]
    clientcert: Optional[str]
    clientkey: Optional[str]


@dataclass(frozen=True)
class SocketInfo:
    """One socket line of AT+QSSLSTATE."""
    id: int
    ssl: bool
    type: str
    address: str
    port: int
    status: SocketStatus


@dataclass(frozen=True)
class State:
    """AT+QSSLSTATE: the TCP/IP stack state and the sockets."""
    ip_state: IPState
    ip_state_text: str
    sockets: List[SocketInfo] = field(default_factory=list)


def _cstr(value: Optional[str], what: str) -> Optional[bytes]:
    """A str argument as a C string (UTF-8). C ends a string at its first NUL, so a str containing one would
    reach the library cut short (``"RAM:ca\\x00x"`` naming ``RAM:ca``): refused with QsslInvalidArgument, as the
    standard library refuses it (``ValueError: embedded null character``), before anything is sent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if "\x00" in value:
        raise error_for(EINVAL, f"embedded null character in {what}")
    return value.encode("utf-8")


# Callback objects of modems closed from one of their own callbacks, with the native id of the library thread
# that ran it. That callback is still on the thread's stack when close() returns (the thread exits by itself
# afterwards, qssl.h), so its ctypes object must outlive the Modem; it is dropped once the thread is gone.
_PARKED: List[Tuple[int, List[Any]]] = []
_PARKED_LOCK = threading.Lock()
# Which modem's callback the current thread is running (its token), so close() can tell it is called from one.
_IN_CALLBACK = threading.local()


def _prune_parked() -> None:
    """Drops parked callbacks whose library thread has exited (Linux: its /proc/self/task entry is gone)."""
    with _PARKED_LOCK:
        _PARKED[:] = [(tid, cbs) for tid, cbs in _PARKED if os.path.exists(f"/proc/self/task/{tid}")]


def _running_callback_of(token: object, body: Callable[[], None]) -> None:
    """Runs a user callback with the thread marked as inside `token`'s callback."""
    outer = getattr(_IN_CALLBACK, "token", None)
    _IN_CALLBACK.token = token
    try:
        body()
    finally:
        _IN_CALLBACK.token = outer


def _c_int(value: int, what: str) -> int:
    """An int argument for C. ctypes would wrap a larger one silently (port 2**32 + 443 became 443), so values
    outside C's int are refused as the library refuses out-of-range values: QsslInvalidArgument."""
    v = int(value)
    if not -2**31 <= v < 2**31:
        raise error_for(EINVAL, f"{what} {v} out of range")
    return v


def _timeout_ms(timeout: Optional[float]) -> int:
    """Python timeout (seconds, None = no limit) to the C convention (ms; <0 = no limit)."""
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError("timeout must be >= 0 or None")
    if timeout == 0:
        return 0
    return max(1, min(int(timeout * 1000), 2**31 - 1))


class Modem:
    """An open Quectel module on a serial port (``qssl_modem_open``).

    ``Modem(device, baud=115200, rtscts=False, open_timeout=5.0, command_timeout=5.0, log=None)``
    opens the port exclusively, starts the library's I/O thread and syncs with the module.
    ``log``, if given, is called as ``log(direction, text)`` for every line of the AT trace
    (``direction`` is ``"tx"`` or ``"rx"``; certificate and key bytes show as ``<N bytes redacted>``)
    for every command after the start-up sync, from the library's log thread.

    Use it as a context manager, or call :meth:`close`. Every method raises a :class:`qssl.QsslError`
    subclass on failure. All methods may be called from any thread. A str argument that becomes a C string
    (device, command, certificate names, APN, user, password, host) must not contain a NUL character:
    :class:`qssl.QsslInvalidArgument` ("embedded null character in host"), and nothing is sent.
    """

    def __init__(self, device: Union[str, "os.PathLike[str]"], baud: int = 115200, *, rtscts: bool = False,
                 open_timeout: float = 5.0, command_timeout: float = 5.0,
                 log: Optional[Callable[[str, str], None]] = None) -> None:
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
        _prune_parked()
        opts = _lib.ModemOptions()
        lib.qssl_modem_options_init(ctypes.byref(opts))
        opts.baud = _c_int(baud, "baud")
        opts.rtscts = 1 if rtscts else 0
        opts.open_timeout_ms = _timeout_ms(open_timeout) or 1
        opts.command_timeout_ms = _timeout_ms(command_timeout) or 1
        if log is not None:
            cb = self._make_log_cb(log)
            self._callbacks.append(cb)
            opts.log = cb
        out = ctypes.c_void_p(None)
        lib.qssl_modem_open(c_device, ctypes.byref(opts), ctypes.byref(out))
        self._handle = out
        self.device = device

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def _as_parameter_(self) -> ctypes.c_void_p:
        # After close() the dead handle value is still passed: the library answers QSSL_ECLOSED.
        return self._handle

    def _make_log_cb(self, log: Callable[[str, str], None]) -> Any:
        token = self._token

        def trampoline(_m: Any, direction: int, text: Optional[bytes], _user: Any) -> None:
            _running_callback_of(token, lambda: log("tx" if direction == 0 else "rx",
                                                    (text or b"").decode("utf-8", "replace")))
        return _lib.LOG_FN(trampoline)

    def _make_event_cb(self, callback: Callable[["Event"], None]) -> Any:
        token = self._token

        def trampoline(_m: Any, ev_ptr: Any, _user: Any) -> None:
            ev = Event._from_c(ev_ptr.contents)
            _running_callback_of(token, lambda: callback(ev))
        return _lib.EVENT_FN(trampoline)

    def _register(self, setter: Any, cb: Any, null: Any) -> None:
        """Hands `cb` (a ctypes callback, or None to remove the current one) to `setter`. No lock is held
        across the C call: removing the log callback joins the log thread, which may be running a callback that
        calls into this modem."""
        if cb is not None:
            # Kept from before the library can call it; list.append is atomic under the GIL.
            self._callbacks.append(cb)
        setter(self, cb if cb is not None else null, None)

    def __enter__(self) -> "Modem":
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
            if held and getattr(_IN_CALLBACK, "token", None) is self._token:
                with _PARKED_LOCK:
                    _PARKED.append((threading.get_native_id(), held))
            del held
            _prune_parked()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def errmsg(self) -> str:
        """The last failure on this handle (``qssl_errmsg``)."""
        raw = self._lib.qssl_errmsg(self)
        return (raw or b"").decode("utf-8", "replace")

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

    def write_cert(self, name: str, data: Union[bytes, bytearray, memoryview, str]) -> None:
        """Uploads a certificate or key as ``name`` (``"RAM:ca.pem"``, ``"NVRAM:CA0"``...).

        Replaces an existing file; raises :class:`qssl.QsslChecksumError` if the module's size or
        checksum differs from the data. The bytes never appear in the log.
        """
        if isinstance(data, str):
            data = data.encode("utf-8")
        raw = bytes(data)
        self._lib.qssl_cert_write(self, _cstr(name, "name"), raw, len(raw))

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

    def open_ssl(self, host: str, port: int, ctx: int = 0, timeout: int = 90, *,
                 transparent: bool = False) -> "SSLSocket":
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

    def open_tcp(self, host: str, port: int, timeout: int = 90) -> "TCPSocket":
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

        The callback runs on the library's event thread, never the caller's; it may call any method
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


class _Socket:
    """Common part of SSLSocket and TCPSocket: a socket.socket-like object on one module socket id."""

    _send_fn = ""
    _recv_fn = ""
    _close_fn = ""

    def __init__(self, modem: Modem, sid: int) -> None:
        self._modem = modem
        self._id = sid
        self._timeout: Optional[float] = None
        self._closed = False

    @property
    def id(self) -> int:
        """The module's socket index (0-5)."""
        return self._id

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called on this object (a socket the peer closed is not closed
        until then: its remaining bytes stay readable)."""
        return self._closed

    def __repr__(self) -> str:
        return f"<qssl.{type(self).__name__} id={self._id}{' closed' if self._closed else ''}>"

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def settimeout(self, timeout: Optional[float]) -> None:
        """Timeout for recv/recv_into in seconds: None blocks, 0 is non-blocking (BlockingIOError)."""
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be >= 0 or None")
        self._timeout = timeout

    def gettimeout(self) -> Optional[float]:
        """The recv timeout in seconds: None if recv blocks without limit, 0.0 if it never waits."""
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        """``setblocking(True)`` is ``settimeout(None)``, ``setblocking(False)`` is ``settimeout(0.0)``."""
        self._timeout = None if flag else 0.0

    def fileno(self) -> int:
        """The modem's event fd (the module multiplexes every socket over one serial port, so a
        socket has no fd of its own). It is readable while the modem has queued events; a DATA
        event for this socket's id means recv() will not block."""
        return self._modem.fileno()

    def _check_open(self) -> None:
        if self._closed:
            raise QsslClosed(ECLOSED, "socket is closed")

    def send(self, data: Buffer) -> int:
        """Sends bytes; returns how many the module accepted (all of them unless it failed midway)."""
        self._check_open()
        raw = data if isinstance(data, bytes) else bytes(data)
        if not raw:
            return 0
        return getattr(self._modem._lib, self._send_fn)(self._modem, self._id, raw, len(raw))

    def sendall(self, data: Buffer) -> None:
        """Sends every byte or raises."""
        raw = data if isinstance(data, bytes) else bytes(data)
        sent = 0
        while sent < len(raw):
            sent += self.send(raw[sent:] if sent else raw)

    def recv_into(self, buffer: WritableBuffer, nbytes: int = 0) -> int:
        """Reads into a writable buffer; returns the count, 0 at end of stream.
        Raises QsslTimeout (a TimeoutError) or, with timeout 0, QsslWouldBlock (a BlockingIOError)."""
        self._check_open()
        view = memoryview(buffer).cast("B")
        if nbytes < 0:
            raise ValueError("negative buffersize in recv_into")
        if nbytes == 0 or nbytes > len(view):
            nbytes = len(view)
        if nbytes == 0:
            return 0
        if view.readonly:
            raise TypeError("recv_into needs a writable buffer")
        cbuf = (ctypes.c_char * nbytes).from_buffer(view)
        try:
            return getattr(self._modem._lib, self._recv_fn)(self._modem, self._id, cbuf, nbytes,
                                                           _timeout_ms(self._timeout))
        finally:
            del cbuf

    def recv(self, bufsize: int) -> bytes:
        """Reads up to ``bufsize`` bytes; b"" at end of stream. Timeouts as in recv_into."""
        self._check_open()
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:
            return b""
        buf = ctypes.create_string_buffer(bufsize)
        n = getattr(self._modem._lib, self._recv_fn)(self._modem, self._id, buf, bufsize,
                                                    _timeout_ms(self._timeout))
        return buf.raw[:n]

    def close(self) -> None:
        """Closes the connection on the module. Idempotent; a socket the peer closed is just released."""
        if self._closed:
            return
        self._closed = True
        if self._modem.closed:
            return
        try:
            getattr(self._modem._lib, self._close_fn)(self._modem, self._id)
        except QsslClosed:
            pass


class SSLSocket(_Socket):
    """An SSL connection of the module (AT+QSSLOPEN / QSSLSEND / QSSLRECV / QSSLCLOSE), or with
    ``Modem.open_ssl(..., transparent=True)`` one in transparent mode (see :meth:`suspend`)."""
    _send_fn = "qssl_send"
    _recv_fn = "qssl_recv"
    _close_fn = "qssl_close"

    def __init__(self, modem: Modem, sid: int, *, transparent: bool = False) -> None:
        super().__init__(modem, sid)
        self._transparent = transparent

    @property
    def transparent(self) -> bool:
        """True for a socket opened with ``transparent=True``."""
        return self._transparent

    def _check_transparent(self, what: str) -> None:
        self._check_open()
        if not self._transparent:
            raise error_for(EINVAL, f"{what}() needs a socket opened with open_ssl(..., transparent=True)")

    def suspend(self) -> None:
        """Leaves data mode without closing the connection ("+++"; takes over a second because of the
        guard time): the modem takes other commands again, and :meth:`send` raises QsslBusy until
        :meth:`resume`. What the peer sends meanwhile waits in the module. Raises QsslInvalidArgument on a
        socket that is not transparent, QsslBusy if already suspended, QsslClosed if the connection ended.
        """
        self._check_transparent("suspend")
        self._modem._lib.qssl_transparent_suspend(self._modem, self._id)

    def resume(self, timeout: Optional[float] = None) -> None:
        """Returns to data mode (ATO) after :meth:`suspend`, waiting up to ``timeout`` seconds (above 0,
        at most 300; None = the library's 5 s) for the module. Raises QsslInvalidArgument if the socket is not
        transparent or not suspended, QsslBusy if another socket is in data mode, QsslClosed if the
        connection ended meanwhile."""
        self._check_transparent("resume")
        if timeout is None:
            ms = 0
        elif not 0 < timeout <= 300:
            raise error_for(EINVAL, f"timeout {timeout} not in (0, 300] seconds")
        else:
            ms = max(1, int(timeout * 1000))
        self._modem._lib.qssl_transparent_resume(self._modem, self._id, ms)


class TCPSocket(_Socket):
    """A plain TCP connection of the module (AT+QIOPEN / QISEND / QIRD / QICLOSE)."""
    _send_fn = "qssl_tcp_send"
    _recv_fn = "qssl_tcp_recv"
    _close_fn = "qssl_tcp_close"
