"""qssl status codes as Python exceptions, with the POSIX errno that matches each.

Every negative ``QSSL_E*`` code of include/qssl.h has its own subclass of :class:`QsslError`, which is an
:class:`OSError` like the standard library's errors:

- ``errno``: the POSIX errno that matches the failure (table below), as for any OSError;
- ``code``: the qssl code itself (negative ``QSSL_E*`` value, e.g. ``qssl.errors.ETIMEDOUT`` == -2);
- ``strerror``: qssl's static text for the code (the same as ``qssl_strerror()``);
- ``detail``: the handle's ``qssl_errmsg()`` (the failed command, the module's +CME ERROR number, errno of the
  port) when there is one.

``args`` is ``(errno, strerror)``. ``str(e)`` reads ``[Errno 110, qssl -2] <detail or text>``. Exceptions pickle
with all four attributes.

=============================  =====================  ============================================================
qssl code                      errno                  class (and its standard bases besides QsslError / OSError)
=============================  =====================  ============================================================
QSSL_EINVAL        (-1)        EINVAL                 QsslInvalidArgument (ValueError)
QSSL_ETIMEDOUT     (-2)        ETIMEDOUT              QsslTimeout (TimeoutError)
QSSL_EIO           (-3)        EIO                    QsslIOError
QSSL_EBUSY         (-4)        EBUSY                  QsslBusy
QSSL_ECLOSED       (-5)        EBADF                  QsslClosed
QSSL_EMODEM        (-6)        EREMOTEIO              QsslModemError
QSSL_ENOTATTACHED  (-7)        ENETUNREACH            QsslNotAttached
QSSL_ENOMEM        (-8)        ENOMEM                 QsslNoMemory (MemoryError)
QSSL_ENODEV        (-9)        ENODEV                 QsslNoDevice (ConnectionError)
QSSL_ENOTSUP       (-10)       ENOTSUP (EOPNOTSUPP)   QsslNotSupported
QSSL_ECHECKSUM     (-11)       EBADMSG                QsslChecksumError
QSSL_ENOTREG       (-12)       ENETUNREACH            QsslNotRegistered
QSSL_ENOAPN        (-13)       EDESTADDRREQ           QsslNoAPN
QSSL_ECTXBUSY      (-14)       EBUSY                  QsslContextBusy
QSSL_ENOSOCK       (-15)       EMFILE                 QsslNoSocket
QSSL_ECONNECT      (-16)       ECONNREFUSED           QsslConnectFailed (ConnectionRefusedError)
QSSL_EOCCUPIED     (-17)       EADDRINUSE             QsslOccupied
QSSL_EPDP          (-18)       ENETDOWN               QsslPDPDeactivated (ConnectionError)
QSSL_ERESET        (-19)       ECONNRESET             QsslReset (ConnectionResetError)
QSSL_EAGAIN        (-20)       EAGAIN                 QsslWouldBlock (BlockingIOError)
QSSL_EPROTO        (-21)       EPROTO                 QsslProtocolError
QSSL_EACCES        (-22)       EACCES                 QsslPermissionDenied (PermissionError)
QSSL_ENOENT        (-23)       ENOENT                 QsslNoSuchDevice (FileNotFoundError)
QSSL_ENOTTY        (-24)       ENOTTY                 QsslNotATerminal
=============================  =====================  ============================================================

Choices worth knowing:

- A closed handle or socket (and a socket id that is not open) is EBADF, as for a closed ``socket.socket``,
  not ENOTCONN: the object is unusable, not merely unconnected.
- The three ways the link goes away are :class:`ConnectionError`: ``except ConnectionError`` catches the PDP
  context dropping (QsslPDPDeactivated, ENETDOWN), the module restarting (QsslReset, a ConnectionResetError,
  ECONNRESET: its sockets are gone) and the device vanishing (QsslNoDevice, ENODEV). QsslConnectFailed is one
  too.
- QsslConnectFailed is a :class:`ConnectionRefusedError` with ECONNREFUSED, the pair ``OSError(ECONNREFUSED, ...)``
  itself gives: the module reports a refused connection and a failed TLS handshake alike, so both are raised so.
- QsslModemError is EREMOTEIO (Linux's "remote I/O error"): the module, at the far end of the serial line,
  answered ERROR or +CME ERROR. ``detail`` carries its error number.
- Not attached / not registered to the packet domain are ENETUNREACH; a missing APN is EDESTADDRREQ (no
  destination network set); no free socket index (0-5) is EMFILE, as when a process runs out of descriptors;
  an occupied socket index is EADDRINUSE; an upload whose size or checksum the module reports differently is
  EBADMSG.
- Opening the port: permission denied is a :class:`PermissionError` (EACCES), a path that does not exist a
  :class:`FileNotFoundError` (ENOENT), a regular file a QsslNotATerminal (ENOTTY); ``filename`` is the path, as for
  ``open()``, and ``detail`` has the library's reason.
- A code this version does not know (a newer library) gives a plain :class:`QsslError` with ``errno`` None.
"""

from __future__ import annotations

import errno as _errno
from typing import Any, Dict, Optional, Tuple, Type

# enum qssl_status
OK = 0
EINVAL = -1
ETIMEDOUT = -2
EIO = -3
EBUSY = -4
ECLOSED = -5
EMODEM = -6
ENOTATTACHED = -7
ENOMEM = -8
ENODEV = -9
ENOTSUP = -10
ECHECKSUM = -11
ENOTREG = -12
ENOAPN = -13
ECTXBUSY = -14
ENOSOCK = -15
ECONNECT = -16
EOCCUPIED = -17
EPDP = -18
ERESET = -19
EAGAIN = -20
EPROTO = -21
EACCES = -22
ENOENT = -23
ENOTTY = -24

# Same texts as qssl_strerror(); kept here so errors can be described without the library.
_TEXT: Dict[int, str] = {
    OK: "success",
    EINVAL: "invalid argument",
    ETIMEDOUT: "timed out",
    EIO: "I/O error on the port",
    EBUSY: "port or resource busy",
    ECLOSED: "closed",
    EMODEM: "module returned an error",
    ENOTATTACHED: "packet domain not attached",
    ENOMEM: "out of memory",
    ENODEV: "device gone",
    ENOTSUP: "not supported",
    ECHECKSUM: "upload size or checksum mismatch",
    ENOTREG: "not registered to the packet domain",
    ENOAPN: "APN not set",
    ECTXBUSY: "PDP context in use",
    ENOSOCK: "no free socket index",
    ECONNECT: "connection or TLS handshake failed",
    EOCCUPIED: "socket index occupied",
    EPDP: "PDP context deactivated",
    ERESET: "module restarted",
    EAGAIN: "try again",
    EPROTO: "unexpected module answer",
    EACCES: "permission denied",
    ENOENT: "no such device",
    ENOTTY: "not a terminal",
}


def strerror(code: int) -> str:
    """Static text for a status code (the same as the C ``qssl_strerror``)."""
    return _TEXT.get(code, "unknown error")


# qssl code -> POSIX errno (the table of the module docstring).
ERRNO: Dict[int, int] = {
    EINVAL: _errno.EINVAL,
    ETIMEDOUT: _errno.ETIMEDOUT,
    EIO: _errno.EIO,
    EBUSY: _errno.EBUSY,
    ECLOSED: _errno.EBADF,
    EMODEM: getattr(_errno, "EREMOTEIO", _errno.EIO),
    ENOTATTACHED: _errno.ENETUNREACH,
    ENOMEM: _errno.ENOMEM,
    ENODEV: _errno.ENODEV,
    ENOTSUP: _errno.ENOTSUP,
    ECHECKSUM: _errno.EBADMSG,
    ENOTREG: _errno.ENETUNREACH,
    ENOAPN: _errno.EDESTADDRREQ,
    ECTXBUSY: _errno.EBUSY,
    ENOSOCK: _errno.EMFILE,
    ECONNECT: _errno.ECONNREFUSED,
    EOCCUPIED: _errno.EADDRINUSE,
    EPDP: _errno.ENETDOWN,
    ERESET: _errno.ECONNRESET,
    EAGAIN: _errno.EAGAIN,
    EPROTO: _errno.EPROTO,
    EACCES: _errno.EACCES,
    ENOENT: _errno.ENOENT,
    ENOTTY: _errno.ENOTTY,
}


def posix_errno(code: int) -> Optional[int]:
    """The POSIX errno matching a qssl status code: 0 for QSSL_OK, None for a code this version does not know."""
    if code == OK:
        return 0
    return ERRNO.get(code)


class QsslError(OSError):
    """A qssl call failed. ``errno`` is the matching POSIX errno, ``code`` the negative ``QSSL_E*`` value,
    ``strerror`` qssl's text for it and ``detail`` ``qssl_errmsg()`` (see the module docstring's table)."""

    code: int = 0

    def __init__(self, code: Optional[int] = None, detail: Optional[str] = None) -> None:
        if code is None:
            code = type(self).code
        text = strerror(code)
        super().__init__(posix_errno(code), text)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        msg = self.detail if self.detail and self.detail not in ("no error", self.strerror) else self.strerror
        if self.errno is None:
            return f"[qssl {self.code}] {msg}"
        return f"[Errno {self.errno}, qssl {self.code}] {msg}"

    def __reduce__(self) -> Tuple[Any, ...]:  # keep pickling working with the custom __init__
        return (type(self), (self.code, self.detail))


class QsslInvalidArgument(QsslError, ValueError):
    """QSSL_EINVAL (EINVAL): a bad argument; nothing was sent to the module."""
    code = EINVAL


class QsslTimeout(QsslError, TimeoutError):
    """QSSL_ETIMEDOUT (ETIMEDOUT): no answer (or no data) within the timeout."""
    code = ETIMEDOUT


class QsslIOError(QsslError):
    """QSSL_EIO (EIO): reading or writing the port failed."""
    code = EIO


class QsslBusy(QsslError):
    """QSSL_EBUSY (EBUSY): the port is open elsewhere, or a resource is in use."""
    code = EBUSY


class QsslClosed(QsslError):
    """QSSL_ECLOSED (EBADF): the modem handle or the socket is closed, or the socket id is not open."""
    code = ECLOSED


class QsslModemError(QsslError):
    """QSSL_EMODEM (EREMOTEIO): the module answered ERROR or +CME ERROR (see ``detail``)."""
    code = EMODEM


class QsslNotAttached(QsslError):
    """QSSL_ENOTATTACHED (ENETUNREACH): the PS domain is not attached (AT+CGATT?)."""
    code = ENOTATTACHED


class QsslNoMemory(QsslError, MemoryError):
    """QSSL_ENOMEM (ENOMEM): out of memory or buffer space."""
    code = ENOMEM


class QsslNoDevice(QsslError, ConnectionError):
    """QSSL_ENODEV (ENODEV): the device went away (hang-up); every later call on the handle fails so."""
    code = ENODEV


class QsslNotSupported(QsslError):
    """QSSL_ENOTSUP (ENOTSUP): not supported by the module or this build."""
    code = ENOTSUP


class QsslChecksumError(QsslError):
    """QSSL_ECHECKSUM (EBADMSG): the module reported another upload size or checksum than sent."""
    code = ECHECKSUM


class QsslNotRegistered(QsslError):
    """QSSL_ENOTREG (ENETUNREACH): not registered to the packet domain (AT+CGREG?)."""
    code = ENOTREG


class QsslNoAPN(QsslError):
    """QSSL_ENOAPN (EDESTADDRREQ): the APN of the context is not set."""
    code = ENOAPN


class QsslContextBusy(QsslError):
    """QSSL_ECTXBUSY (EBUSY): the PDP context is used by PPP or AT+CGACT."""
    code = ECTXBUSY


class QsslNoSocket(QsslError):
    """QSSL_ENOSOCK (EMFILE): no free socket index (0-5)."""
    code = ENOSOCK


class QsslConnectFailed(QsslError, ConnectionRefusedError):
    """QSSL_ECONNECT (ECONNREFUSED): the connection or the TLS handshake failed (the module does not tell
    them apart)."""
    code = ECONNECT


class QsslOccupied(QsslError):
    """QSSL_EOCCUPIED (EADDRINUSE): the socket index is occupied."""
    code = EOCCUPIED


class QsslPDPDeactivated(QsslError, ConnectionError):
    """QSSL_EPDP (ENETDOWN): the PDP context was deactivated (+PDP DEACT); its sockets are gone."""
    code = EPDP


class QsslReset(QsslError, ConnectionResetError):
    """QSSL_ERESET (ECONNRESET): the module restarted; its sockets are gone."""
    code = ERESET


class QsslWouldBlock(QsslError, BlockingIOError):
    """QSSL_EAGAIN (EAGAIN): nothing available right now (a non-blocking call)."""
    code = EAGAIN


class QsslProtocolError(QsslError):
    """QSSL_EPROTO (EPROTO): the module's answer could not be understood."""
    code = EPROTO


class QsslPermissionDenied(QsslError, PermissionError):
    """QSSL_EACCES (EACCES): the port may not be opened (add the user to its group, e.g. dialout)."""
    code = EACCES


class QsslNoSuchDevice(QsslError, FileNotFoundError):
    """QSSL_ENOENT (ENOENT): the device path does not exist."""
    code = ENOENT


class QsslNotATerminal(QsslError):
    """QSSL_ENOTTY (ENOTTY): the path is a regular file or a directory, not a serial port."""
    code = ENOTTY


_BY_CODE: Dict[int, Type[QsslError]] = {
    cls.code: cls
    for cls in (QsslInvalidArgument, QsslTimeout, QsslIOError, QsslBusy, QsslClosed, QsslModemError,
                QsslNotAttached, QsslNoMemory, QsslNoDevice, QsslNotSupported, QsslChecksumError,
                QsslNotRegistered, QsslNoAPN, QsslContextBusy, QsslNoSocket, QsslConnectFailed,
                QsslOccupied, QsslPDPDeactivated, QsslReset, QsslWouldBlock, QsslProtocolError,
                QsslPermissionDenied, QsslNoSuchDevice, QsslNotATerminal)
}


def error_for(code: int, detail: Optional[str] = None) -> QsslError:
    """The exception for a negative status code (plain QsslError for a code this version does not know)."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return QsslError(code, detail)
    return cls(code, detail)
