"""qssl: drive the SSL/TCP stack of Quectel M10/M66/M85/M95 modules over a serial port.

ctypes bindings of libqssl.so (include/qssl.h). Start with :class:`Modem`::

    with qssl.Modem("/dev/ttyUSB0") as m:
        m.activate_pdp("CMNET")
        m.configure_context(0, version=qssl.SSLVersion.TLS1_1)
        with m.open_ssl("example.org", 443) as s:
            s.settimeout(10)
            s.sendall(b"...")
            data = s.recv(1500)

Errors are :class:`QsslError` (an OSError) subclasses, one per QSSL_E* code: ``errno`` is the matching POSIX
errno, ``code`` the QSSL_E* code (see :mod:`qssl.errors` for the table). libqssl.so is looked for,
in order: at the path in QSSL_LIBRARY; next to this package (qssl/libqssl.so); in
.build/debug, .build/release and .build-lib/host (the shipped build) of the source tree when the package is
imported from bindings/python there (also through an editable install); then by dlopen("libqssl.so.0") and
dlopen("libqssl.so"), i.e. LD_LIBRARY_PATH and ld.so's cache (scripts/install.sh runs ldconfig when it
installs into /usr/local/lib as root). A library older than this package's API (``__version__``'s
MAJOR.MINOR) or of another major version is refused with an OSError naming both. See :func:`library_path`.

The modules, by concern (everything public is importable from ``qssl`` itself):

- :mod:`qssl.errors`: the exceptions, the ``QSSL_E*`` codes and their errno mapping;
- :mod:`qssl.types`: the enums and dataclasses (SSLVersion, SecLevel, CipherSuite, Event, State, ContextConfig...);
- :mod:`qssl.modem`: :class:`Modem`;
- :mod:`qssl.sockets`: :class:`SSLSocket` and :class:`TCPSocket`;
- :mod:`qssl.hotplug`: :func:`devices`, :class:`Monitor` (finding modems with libudev);
- ``qssl._lib`` (the library loader and the ctypes signature table of include/qssl.h), ``qssl._args``
  (argument checks) and ``qssl._callbacks`` (keeping callback objects alive): internals.
"""

from ._lib import VERSION as __version__
from .errors import (QsslBusy, QsslChecksumError, QsslClosed, QsslConnectFailed, QsslContextBusy, QsslError,
                     QsslInvalidArgument, QsslIOError, QsslModemError, QsslNoAPN, QsslNoDevice, QsslNoMemory,
                     QsslNoSocket, QsslNotAttached, QsslNotRegistered, QsslNotSupported, QsslOccupied,
                     QsslPDPDeactivated, QsslProtocolError, QsslReset, QsslTimeout, QsslWouldBlock, error_for,
                     strerror)
from .modem import Modem
from .sockets import SSLSocket, TCPSocket
# HOT-PLUG
from .hotplug import Device, DeviceEvent, Monitor, add_usb_id, devices, probe
from .types import (CipherSuite, ContextConfig, Event, EventType, IPState, SecLevel, SocketInfo, SocketKind,
                    SocketStatus, SSLVersion, State)

__all__ = [
    "Modem", "SSLSocket", "TCPSocket", "Event", "EventType", "SocketKind", "ContextConfig", "State",
    "SocketInfo", "IPState", "SocketStatus", "SSLVersion", "SecLevel", "CipherSuite", "QsslError",
    "QsslInvalidArgument", "QsslTimeout", "QsslIOError", "QsslBusy", "QsslClosed", "QsslModemError",
    "QsslNotAttached", "QsslNoMemory", "QsslNoDevice", "QsslNotSupported", "QsslChecksumError",
    "QsslNotRegistered", "QsslNoAPN", "QsslContextBusy", "QsslNoSocket", "QsslConnectFailed", "QsslOccupied",
    "QsslPDPDeactivated", "QsslReset", "QsslWouldBlock", "QsslProtocolError", "error_for", "strerror",
    "library_path", "version",
    # HOT-PLUG
    "devices", "probe", "add_usb_id", "Monitor", "Device", "DeviceEvent",
]

# --- API 0.3: open failures, global SSL settings ---
from .errors import QsslNoSuchDevice, QsslNotATerminal, QsslPermissionDenied  # noqa: E402
from .types import SSLSetting  # noqa: E402

__all__ += ["QsslPermissionDenied", "QsslNoSuchDevice", "QsslNotATerminal", "SSLSetting"]
# --- end API 0.3 ---


def library_path() -> str:
    """The file libqssl.so was loaded from (loads it if needed)."""
    from . import _lib
    return _lib.lib()._name


def version() -> str:
    """libqssl's version ("MAJOR.MINOR")."""
    from . import _lib
    return _lib.lib().qssl_version()
