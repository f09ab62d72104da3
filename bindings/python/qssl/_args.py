"""Python arguments to C arguments: strings, ints and timeouts, checked before anything is sent."""

from __future__ import annotations

from typing import Optional

from .errors import EINVAL, error_for


def cstr(value: Optional[str], what: str) -> Optional[bytes]:
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


def c_int(value: int, what: str) -> int:
    """An int argument for C. ctypes would wrap a larger one silently (port 2**32 + 443 became 443), so values
    outside C's int are refused as the library refuses out-of-range values: QsslInvalidArgument."""
    v = int(value)
    if not -2**31 <= v < 2**31:
        raise error_for(EINVAL, f"{what} {v} out of range")
    return v


def timeout_ms(timeout: Optional[float]) -> int:
    """Python timeout (seconds, None = no limit) to the C convention (ms; <0 = no limit)."""
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError("timeout must be >= 0 or None")
    if timeout == 0:
        return 0
    return max(1, min(int(timeout * 1000), 2**31 - 1))
