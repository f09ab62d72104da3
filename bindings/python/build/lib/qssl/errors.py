"""qssl status codes as Python exceptions.

Every negative ``QSSL_E*`` code of include/qssl.h has its own subclass of :class:`QsslError`, which is
an :class:`OSError`: ``errno`` and ``code`` hold the (negative) qssl code, ``strerror`` its static
text, ``detail`` the handle's ``qssl_errmsg()`` (the failed command, the module's +CME ERROR number,
errno of the port) when there is one.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

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
}


def strerror(code: int) -> str:
    """Static text for a status code (the same as the C ``qssl_strerror``)."""
    return _TEXT.get(code, "unknown error")


class QsslError(OSError):
    """A qssl call failed. ``code`` is the negative ``QSSL_E*`` value; ``detail`` is ``qssl_errmsg()``."""

    code: int = 0

    def __init__(self, code: Optional[int] = None, detail: Optional[str] = None) -> None:
        if code is None:
            code = type(self).code
        text = strerror(code)
        super().__init__(code, text)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        if self.detail and self.detail not in ("no error", self.strerror):
            return f"[qssl {self.code}] {self.detail}"
        return f"[qssl {self.code}] {self.strerror}"

    def __reduce__(self):  # keep pickling working with the custom __init__
        return (type(self), (self.code, self.detail))


class QsslInvalidArgument(QsslError, ValueError):
    """QSSL_EINVAL: a bad argument; nothing was sent to the module."""
    code = EINVAL


class QsslTimeout(QsslError, TimeoutError):
    """QSSL_ETIMEDOUT: no answer (or no data) within the timeout."""
    code = ETIMEDOUT


class QsslIOError(QsslError):
    """QSSL_EIO: reading or writing the port failed."""
    code = EIO


class QsslBusy(QsslError):
    """QSSL_EBUSY: the port is open elsewhere, or a resource is in use."""
    code = EBUSY


class QsslClosed(QsslError):
    """QSSL_ECLOSED: the modem handle or the socket is closed."""
    code = ECLOSED


class QsslModemError(QsslError):
    """QSSL_EMODEM: the module answered ERROR or +CME ERROR (see ``detail``)."""
    code = EMODEM


class QsslNotAttached(QsslError):
    """QSSL_ENOTATTACHED: the PS domain is not attached (AT+CGATT?)."""
    code = ENOTATTACHED


class QsslNoMemory(QsslError, MemoryError):
    """QSSL_ENOMEM: out of memory or buffer space."""
    code = ENOMEM


class QsslNoDevice(QsslError):
    """QSSL_ENODEV: the device went away (hang-up)."""
    code = ENODEV


class QsslNotSupported(QsslError):
    """QSSL_ENOTSUP: not supported by the module or this build."""
    code = ENOTSUP


class QsslChecksumError(QsslError):
    """QSSL_ECHECKSUM: the module reported another upload size or checksum than sent."""
    code = ECHECKSUM


class QsslNotRegistered(QsslError):
    """QSSL_ENOTREG: not registered to the packet domain (AT+CGREG?)."""
    code = ENOTREG


class QsslNoAPN(QsslError):
    """QSSL_ENOAPN: the APN of the context is not set."""
    code = ENOAPN


class QsslContextBusy(QsslError):
    """QSSL_ECTXBUSY: the PDP context is used by PPP or AT+CGACT."""
    code = ECTXBUSY


class QsslNoSocket(QsslError):
    """QSSL_ENOSOCK: no free socket index (0-5)."""
    code = ENOSOCK


class QsslConnectFailed(QsslError, ConnectionError):
    """QSSL_ECONNECT: the connection or the TLS handshake failed."""
    code = ECONNECT


class QsslOccupied(QsslError):
    """QSSL_EOCCUPIED: the socket index is occupied."""
    code = EOCCUPIED


class QsslPDPDeactivated(QsslError):
    """QSSL_EPDP: the PDP context was deactivated (+PDP DEACT)."""
    code = EPDP


class QsslReset(QsslError):
    """QSSL_ERESET: the module restarted; its sockets are gone."""
    code = ERESET


class QsslWouldBlock(QsslError, BlockingIOError):
    """QSSL_EAGAIN: nothing available right now (a non-blocking call)."""
    code = EAGAIN


class QsslProtocolError(QsslError):
    """QSSL_EPROTO: the module's answer could not be understood."""
    code = EPROTO


_BY_CODE: Dict[int, Type[QsslError]] = {
    cls.code: cls
    for cls in (QsslInvalidArgument, QsslTimeout, QsslIOError, QsslBusy, QsslClosed, QsslModemError,
                QsslNotAttached, QsslNoMemory, QsslNoDevice, QsslNotSupported, QsslChecksumError,
                QsslNotRegistered, QsslNoAPN, QsslContextBusy, QsslNoSocket, QsslConnectFailed,
                QsslOccupied, QsslPDPDeactivated, QsslReset, QsslWouldBlock, QsslProtocolError)
}


def error_for(code: int, detail: Optional[str] = None) -> QsslError:
    """The exception for a negative status code (plain QsslError for a code this version does not know)."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return QsslError(code, detail)
    return cls(code, detail)
