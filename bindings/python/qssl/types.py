"""The value types of qssl: the enums of include/qssl.h and the dataclasses the modem returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional, Type, TypeVar, Union

if TYPE_CHECKING:
    from . import _lib

_E = TypeVar("_E", bound=enum.IntEnum)


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
    REATTACHED = 9  # since 0.3: a handle opened by imei:/usb: found its modem again


class SSLSetting(enum.IntEnum):
    """enum qssl_ssl_setting: the AT+QSSLCFG settings that belong to no context (since 0.3)"""
    IGNORE_RTC_TIME = 6
    HTTPS = 7
    HTTPS_CTX = 8
    SMTP_STYLE = 9
    SMTPS_CTX = 10


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
