"""Socket objects of a modem: :class:`SSLSocket` and :class:`TCPSocket`, like :class:`socket.socket`."""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any, Optional, TypeVar, Union

from ._args import timeout_ms as _timeout_ms
from .errors import ECLOSED, EINVAL, QsslClosed, error_for

if TYPE_CHECKING:
    import array

    from .modem import Modem

Buffer = Union[bytes, bytearray, memoryview]
#: What recv_into() fills: any writable object with the buffer protocol.
WritableBuffer = Union[bytearray, memoryview, "array.array[int]", "ctypes.Array[ctypes.c_char]"]
_S = TypeVar("_S", bound="_Socket")


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
        """Timeout in seconds for recv/recv_into and send/sendall. recv: None blocks, 0 is non-blocking
        (BlockingIOError). send: a positive timeout bounds each call (QsslTimeout, a TimeoutError, if the module
        took nothing in time); None and 0 use the library's own send deadline (30 s, longer for large sends),
        since every chunk must wait for the module's SEND OK."""
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
        """This socket's own pollable fd (``qssl_socket_fd``): readable while recv() would not block (bytes
        waiting, end of stream, or a failure to report), so ``select``, ``selectors`` and asyncio's
        ``loop.add_reader`` can watch each socket of a modem on its own. -1 once the socket is closed, as
        :meth:`socket.socket.fileno`. Owned by the library: never read or close it."""
        if self._closed or self._modem.closed:
            return -1
        return self._modem._lib.qssl_socket_fd(self._modem, self._id)

    def _check_open(self) -> None:
        if self._closed:
            raise QsslClosed(ECLOSED, "socket is closed")

    def send(self, data: Buffer) -> int:
        """Sends bytes; returns how many the module accepted (all of them unless it failed midway)."""
        self._check_open()
        raw = data if isinstance(data, bytes) else bytes(data)
        if not raw:
            return 0
        ms = 0 if not self._timeout else _timeout_ms(self._timeout)
        return getattr(self._modem._lib, self._send_fn)(self._modem, self._id, raw, len(raw), ms)

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
    _send_fn = "qssl_send_timeout"
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
    _send_fn = "qssl_tcp_send_timeout"
    _recv_fn = "qssl_tcp_recv"
    _close_fn = "qssl_tcp_close"
