"""Keeping the ctypes callback objects handed to the library alive as long as the library may call them.

A ctypes callback object must outlive every call the library makes into it. A :class:`qssl.Modem` keeps all of
its callbacks until close(), which joins the library's threads. The one exception is a modem closed from one of
its own callbacks: that callback is still on the library thread's stack when close() returns (the thread exits
by itself afterwards, qssl.h), so its objects are parked here with the thread's native id and dropped once the
thread is gone.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, List, Optional, Tuple

from . import _lib

# (native thread id, callback objects) of modems closed from one of their own callbacks.
PARKED: List[Tuple[int, List[Any]]] = []
PARKED_LOCK = threading.Lock()
# Which modem's callback the current thread is running (its token), so close() can tell it is called from one.
_IN_CALLBACK = threading.local()


def prune_parked() -> None:
    """Drops parked callbacks whose library thread has exited (Linux: its /proc/self/task entry is gone)."""
    with PARKED_LOCK:
        PARKED[:] = [(tid, cbs) for tid, cbs in PARKED if os.path.exists(f"/proc/self/task/{tid}")]


def park_if_inside(token: object, held: List[Any]) -> None:
    """Called by close() with every callback object of the modem identified by `token`: parks them if the calling
    thread is running one of that modem's callbacks (which returns into its ctypes object after close()), then
    prunes the parked list."""
    if held and getattr(_IN_CALLBACK, "token", None) is token:
        with PARKED_LOCK:
            PARKED.append((threading.get_native_id(), held))
    prune_parked()


def running_callback_of(token: object, body: Callable[[], None]) -> None:
    """Runs a user callback with the thread marked as inside `token`'s callback."""
    outer = getattr(_IN_CALLBACK, "token", None)
    _IN_CALLBACK.token = token
    try:
        body()
    finally:
        _IN_CALLBACK.token = outer


def log_callback(token: object, log: Callable[[str, str], None]) -> Any:
    """A qssl_log_fn calling ``log(direction, text)`` ("tx" / "rx") for the modem identified by `token`."""

    def trampoline(_m: Any, direction: int, text: Optional[bytes], _user: Any) -> None:
        running_callback_of(token, lambda: log("tx" if direction == 0 else "rx",
                                               (text or b"").decode("utf-8", "replace")))
    return _lib.LOG_FN(trampoline)


def event_callback(token: object, callback: Callable[[Any], None], convert: Callable[[Any], Any]) -> Any:
    """A qssl_event_fn calling ``callback(convert(event struct))`` for the modem identified by `token`."""

    def trampoline(_m: Any, ev_ptr: Any, _user: Any) -> None:
        ev = convert(ev_ptr.contents)
        running_callback_of(token, lambda: callback(ev))
    return _lib.EVENT_FN(trampoline)
