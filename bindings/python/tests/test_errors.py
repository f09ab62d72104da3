"""The exceptions: POSIX errno in ``.errno``, the qssl code in ``.code``, standard bases that say what failed
(ConnectionError for link losses, TimeoutError for timeouts...), pickling. Some checks use the real library and
the virtual module, to see the mapping on errors that really happen."""

import builtins
import errno
import pickle
import re
from pathlib import Path

import pytest

import qssl
from qssl import errors

# The documented table (errors.py / README.md), written out independently of errors.ERRNO.
TABLE = {
    -1: ("EINVAL", qssl.QsslInvalidArgument),
    -2: ("ETIMEDOUT", qssl.QsslTimeout),
    -3: ("EIO", qssl.QsslIOError),
    -4: ("EBUSY", qssl.QsslBusy),
    -5: ("EBADF", qssl.QsslClosed),
    -6: ("EREMOTEIO", qssl.QsslModemError),
    -7: ("ENETUNREACH", qssl.QsslNotAttached),
    -8: ("ENOMEM", qssl.QsslNoMemory),
    -9: ("ENODEV", qssl.QsslNoDevice),
    -10: ("ENOTSUP", qssl.QsslNotSupported),
    -11: ("EBADMSG", qssl.QsslChecksumError),
    -12: ("ENETUNREACH", qssl.QsslNotRegistered),
    -13: ("EDESTADDRREQ", qssl.QsslNoAPN),
    -14: ("EBUSY", qssl.QsslContextBusy),
    -15: ("EMFILE", qssl.QsslNoSocket),
    -16: ("ECONNREFUSED", qssl.QsslConnectFailed),
    -17: ("EADDRINUSE", qssl.QsslOccupied),
    -18: ("ENETDOWN", qssl.QsslPDPDeactivated),
    -19: ("ECONNRESET", qssl.QsslReset),
    -20: ("EAGAIN", qssl.QsslWouldBlock),
    -21: ("EPROTO", qssl.QsslProtocolError),
    -22: ("EACCES", qssl.QsslPermissionDenied),
    -23: ("ENOENT", qssl.QsslNoSuchDevice),
    -24: ("ENOTTY", qssl.QsslNotATerminal),
}

# Standard exception classes each one is (besides QsslError and OSError), and some it must not be.
IS = {
    qssl.QsslInvalidArgument: (ValueError,),
    qssl.QsslTimeout: (TimeoutError,),
    qssl.QsslNoMemory: (MemoryError,),
    qssl.QsslNoDevice: (ConnectionError,),
    qssl.QsslConnectFailed: (ConnectionRefusedError, ConnectionError),
    qssl.QsslPDPDeactivated: (ConnectionError,),
    qssl.QsslReset: (ConnectionResetError, ConnectionError),
    qssl.QsslWouldBlock: (BlockingIOError,),
    qssl.QsslPermissionDenied: (PermissionError,),
    qssl.QsslNoSuchDevice: (FileNotFoundError,),
}
LINK_LOSSES = (qssl.QsslPDPDeactivated, qssl.QsslReset, qssl.QsslNoDevice)


def _header_codes():
    text = (Path(__file__).resolve().parents[3] / "include" / "qssl.h").read_text()
    return {name: int(v) for name, v in re.findall(r"\bQSSL_(E[A-Z]+)\s*=\s*(-\d+)", text)}


def test_every_header_code_is_in_the_table():
    codes = _header_codes()
    assert sorted(codes.values()) == sorted(TABLE) == sorted(errors.ERRNO)
    for name, code in codes.items():
        assert getattr(errors, name) == code, name


@pytest.mark.parametrize("code", sorted(TABLE))
def test_each_code_maps_to_its_errno_and_class(code):
    name, cls = TABLE[code]
    want = getattr(errno, name)
    assert errno.errorcode[want] in (name, "EOPNOTSUPP")  # Linux: ENOTSUP == EOPNOTSUPP
    assert errors.ERRNO[code] == want == errors.posix_errno(code)
    e = qssl.error_for(code, "the detail")
    assert type(e) is cls and cls.code == code
    assert (e.errno, e.code, e.strerror, e.detail) == (want, code, errors.strerror(code), "the detail")
    assert e.args == (want, errors.strerror(code))
    assert str(e) == f"[Errno {want}, qssl {code}] the detail"
    # The class agrees with the one OSError itself picks for that errno (ETIMEDOUT -> TimeoutError, ...).
    assert isinstance(e, type(OSError(want, "x")))
    # The default constructor gives the class's own code.
    bare = cls()
    assert (bare.code, bare.errno, bare.detail) == (code, want, None)
    assert str(bare) == f"[Errno {want}, qssl {code}] {errors.strerror(code)}"


@pytest.mark.parametrize("cls", sorted(IS, key=lambda c: c.__name__))
def test_standard_bases(cls):
    for base in IS[cls]:
        assert issubclass(cls, base), (cls, base)


def test_only_the_link_losses_and_connect_failures_are_connection_errors():
    conn = {cls for _, cls in TABLE.values() if issubclass(cls, ConnectionError)}
    assert conn == {*LINK_LOSSES, qssl.QsslConnectFailed}
    assert {cls for _, cls in TABLE.values() if issubclass(cls, TimeoutError)} == {qssl.QsslTimeout}


@pytest.mark.parametrize("cls", LINK_LOSSES)
def test_except_connection_error_catches_link_losses(cls):
    try:
        raise qssl.error_for(cls.code, "lost")
    except ConnectionError as e:
        assert type(e) is cls
    else:  # pragma: no cover
        raise AssertionError("not caught")


def test_except_timeout_error_catches_timeouts():
    try:
        raise qssl.error_for(errors.ETIMEDOUT)
    except TimeoutError as e:
        assert e.errno == errno.ETIMEDOUT and e.code == -2


@pytest.mark.parametrize("code", sorted(TABLE) + [-99])
def test_pickling_keeps_every_attribute(code):
    e = qssl.error_for(code, f"detail {code}")
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(e, proto))
        assert type(back) is type(e)
        assert (back.errno, back.code, back.strerror, back.detail, back.args, str(back)) == \
            (e.errno, e.code, e.strerror, e.detail, e.args, str(e))


def test_unknown_code():
    e = qssl.error_for(-99, "from a newer library")
    assert type(e) is qssl.QsslError and e.errno is None and e.code == -99
    assert str(e) == "[qssl -99] from a newer library"
    assert errors.posix_errno(-99) is None and errors.posix_errno(0) == 0


def test_text_without_a_useful_detail():
    e = qssl.error_for(errors.EBUSY, "no error")
    assert str(e) == f"[Errno {errno.EBUSY}, qssl -4] port or resource busy"


# -- the mapping on errors that really happen ---------------------------------------------------------------------

def test_real_errors_carry_errno_and_code(online, tls_port, mtls_port):
    with online.open_ssl("127.0.0.1", tls_port) as s:
        s.settimeout(0.2)
        try:
            s.recv(10)
        except TimeoutError as e:
            assert type(e) is qssl.QsslTimeout
            assert (e.errno, e.code) == (errno.ETIMEDOUT, errors.ETIMEDOUT)
        else:
            raise AssertionError("recv without data did not time out")
        s.setblocking(False)
        with pytest.raises(BlockingIOError) as ei:
            s.recv(10)
        assert (ei.value.errno, ei.value.code) == (errno.EAGAIN, errors.EAGAIN)
    with pytest.raises(OSError) as ei:
        s.recv(1)  # closed socket object: EBADF, as a closed socket.socket
    assert type(ei.value) is qssl.QsslClosed and (ei.value.errno, ei.value.code) == (errno.EBADF, errors.ECLOSED)
    with pytest.raises(ValueError) as ei:
        online.open_ssl("127.0.0.1", 0)
    assert (ei.value.errno, ei.value.code) == (errno.EINVAL, errors.EINVAL)
    with pytest.raises(OSError) as ei:
        online.at("AT+NOSUCHCOMMAND")
    assert type(ei.value) is qssl.QsslModemError and ei.value.errno == errno.EREMOTEIO
    assert "NOSUCHCOMMAND" in str(ei.value) and f"[Errno {errno.EREMOTEIO}, qssl -6]" in str(ei.value)
    # The server demands a client certificate that context 1 does not send: the handshake fails.
    online.configure_context(1)
    with pytest.raises(ConnectionRefusedError) as ei:
        online.open_ssl("127.0.0.1", mtls_port, ctx=1, timeout=20)
    assert type(ei.value) is qssl.QsslConnectFailed
    assert (ei.value.errno, ei.value.code) == (errno.ECONNREFUSED, errors.ECONNECT)


def test_documented_tables_match_the_code():
    """The errno tables of README.md and of errors.py's docstring say what the code does."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    rows = re.findall(r"^\| `QSSL_E[A-Z]+` \((-\d+)\) \| `(E[A-Z]+)`[^|]*\| `(\w+)` \| ([^|]*)\|$", readme, re.M)
    doc = re.findall(r"^QSSL_E[A-Z]+\s+\((-\d+)\)\s+(E[A-Z]+)\s.*?(Qssl\w+)(?: \(([^)]*)\))?$", errors.__doc__, re.M)
    for found in (rows, doc):
        assert sorted(int(code) for code, *_ in found) == sorted(TABLE)
        for code, name, cls_name, bases in found:
            cls = getattr(qssl, cls_name)
            assert (name, cls) == TABLE[int(code)]
            documented = [getattr(builtins, b) for b in re.findall(r"\w+Error", bases)]
            assert documented == list(IS.get(cls, ()))[:1], (cls_name, bases)
