"""qssl: drive the SSL/TCP stack of Quectel M10/M66/M85/M95 modules over a serial port.

ctypes bindings of libqssl.so (include/qssl.h). Start with :class:`Modem`::

    with qssl.Modem("/dev/ttyUSB0") as m:
        m.activate_pdp("CMNET")
        m.configure_context(0, version=qssl.SSLVersion.TLS1_1)
        with m.open_ssl("example.org", 443) as s:
            s.settimeout(10)
            s.sendall(b"...")
            data = s.recv(1500)

Errors are :class:`QsslError` (an OSError) subclasses, one per QSSL_E* code. The library is found
through QSSL_LIBRARY, next to this package, in the source tree's .build/debug or .build/release,
or on the system path (see :func:`library_path`).
"""

from .errors import (QsslBusy, QsslChecksumError, QsslClosed, QsslConnectFailed, QsslContextBusy, QsslError,
                     QsslInvalidArgument, QsslIOError, QsslModemError, QsslNoAPN, QsslNoDevice, QsslNoMemory,
                     QsslNoSocket, QsslNotAttached, QsslNotRegistered, QsslNotSupported, QsslOccupied,
                     QsslPDPDeactivated, QsslProtocolError, QsslReset, QsslTimeout, QsslWouldBlock, error_for,
                     strerror)
from .modem import (CipherSuite, ContextConfig, Event, EventType, IPState, Modem, SecLevel, SocketInfo,
                    SocketKind, SocketStatus, SSLSocket, SSLVersion, State, TCPSocket)

__all__ = [
    "Modem", "SSLSocket", "TCPSocket", "Event", "EventType", "SocketKind", "ContextConfig", "State",
    "SocketInfo", "IPState", "SocketStatus", "SSLVersion", "SecLevel", "CipherSuite", "QsslError",
    "QsslInvalidArgument", "QsslTimeout", "QsslIOError", "QsslBusy", "QsslClosed", "QsslModemError",
    "QsslNotAttached", "QsslNoMemory", "QsslNoDevice", "QsslNotSupported", "QsslChecksumError",
    "QsslNotRegistered", "QsslNoAPN", "QsslContextBusy", "QsslNoSocket", "QsslConnectFailed", "QsslOccupied",
    "QsslPDPDeactivated", "QsslReset", "QsslWouldBlock", "QsslProtocolError", "error_for", "strerror",
    "library_path", "version",
]


def library_path() -> str:
    """The file libqssl.so was loaded from (loads it if needed)."""
    from . import _lib
    return _lib.lib()._name


def version() -> str:
    """libqssl's version ("MAJOR.MINOR")."""
    from . import _lib
    return _lib.lib().qssl_version()
