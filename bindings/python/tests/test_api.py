"""The public surface: what ``import qssl`` offers, and where each name lives since the package was split by
concern (errors, types, modem, sockets). Nothing importable before the split may go away."""

import importlib

import qssl

# qssl.__all__ as it was before the split; it must not lose (or silently gain) a name.
PUBLIC = [
    "Modem", "SSLSocket", "TCPSocket", "Event", "EventType", "SocketKind", "ContextConfig", "State",
    "SocketInfo", "IPState", "SocketStatus", "SSLVersion", "SecLevel", "CipherSuite", "QsslError",
    "QsslInvalidArgument", "QsslTimeout", "QsslIOError", "QsslBusy", "QsslClosed", "QsslModemError",
    "QsslNotAttached", "QsslNoMemory", "QsslNoDevice", "QsslNotSupported", "QsslChecksumError",
    "QsslNotRegistered", "QsslNoAPN", "QsslContextBusy", "QsslNoSocket", "QsslConnectFailed", "QsslOccupied",
    "QsslPDPDeactivated", "QsslReset", "QsslWouldBlock", "QsslProtocolError", "error_for", "strerror",
    "library_path", "version",
    # HOT-PLUG (0.3)
    "devices", "probe", "add_usb_id", "Monitor", "Device", "DeviceEvent",
    # API 0.3
    "QsslPermissionDenied", "QsslNoSuchDevice", "QsslNotATerminal", "SSLSetting",
]

# What qssl.modem held before the split (users may have imported these from there).
OLD_MODEM_NAMES = [
    "Modem", "SSLSocket", "TCPSocket", "Event", "EventType", "SocketKind", "ContextConfig", "State", "SocketInfo",
    "IPState", "SocketStatus", "SSLVersion", "SecLevel", "CipherSuite", "Buffer", "WritableBuffer",
]

HOME = {
    "qssl.errors": ["QsslError", "QsslInvalidArgument", "QsslTimeout", "QsslIOError", "QsslBusy", "QsslClosed",
                    "QsslModemError", "QsslNotAttached", "QsslNoMemory", "QsslNoDevice", "QsslNotSupported",
                    "QsslChecksumError", "QsslNotRegistered", "QsslNoAPN", "QsslContextBusy", "QsslNoSocket",
                    "QsslConnectFailed", "QsslOccupied", "QsslPDPDeactivated", "QsslReset", "QsslWouldBlock",
                    "QsslProtocolError", "error_for", "strerror", "QsslPermissionDenied", "QsslNoSuchDevice",
                    "QsslNotATerminal"],
    "qssl.types": ["Event", "EventType", "SocketKind", "ContextConfig", "State", "SocketInfo", "IPState",
                   "SocketStatus", "SSLVersion", "SecLevel", "CipherSuite", "SSLSetting"],
    "qssl.modem": ["Modem"],
    "qssl.sockets": ["SSLSocket", "TCPSocket"],
    "qssl.hotplug": ["devices", "probe", "add_usb_id", "Monitor", "Device", "DeviceEvent"],
}


def test_all_is_unchanged_and_importable():
    assert qssl.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(qssl, name) is not None, name
    ns: dict = {}
    exec("from qssl import *", ns)
    assert set(PUBLIC) <= set(ns)


def test_each_name_lives_in_its_module():
    placed = [n for names in HOME.values() for n in names]
    assert sorted(placed + ["library_path", "version"]) == sorted(PUBLIC)
    for module, names in HOME.items():
        mod = importlib.import_module(module)
        for name in names:
            obj = getattr(mod, name)
            assert obj is getattr(qssl, name), (module, name)
            assert obj.__module__ == module, (module, name, obj.__module__)


def test_old_import_paths_still_work():
    import qssl.modem as modem
    for name in OLD_MODEM_NAMES:
        assert hasattr(modem, name), name
        if hasattr(qssl, name):
            assert getattr(modem, name) is getattr(qssl, name), name
    import qssl.sockets as sockets
    assert modem.Buffer is sockets.Buffer and modem.WritableBuffer is sockets.WritableBuffer
    from qssl import _lib
    assert callable(_lib.lib) and {name for name, *_ in _lib.SIGNATURES} >= {"qssl_open", "qssl_socket_fd"}
