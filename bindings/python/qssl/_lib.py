"""Loading libqssl.so and declaring its functions (the ctypes mirror of include/qssl.h).

Every function of the header has one entry in ``SIGNATURES`` with its C prototype as a comment.
Functions returning a status code get ``_check_status`` as errcheck, which turns negative codes into
:class:`qssl.QsslError` subclasses carrying ``qssl_errmsg()`` of the handle.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from ctypes import (POINTER, Structure, c_char, c_char_p, c_int, c_int32, c_size_t, c_uint16,
                    c_uint32, c_void_p)
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .errors import QsslError, error_for

LIBRARY_NAME = "libqssl.so"
SONAME = "libqssl.so.0"  # the shipped library (scripts/build-lib.sh); libqssl.so is the development name

# This package's version; its MAJOR.MINOR is the C API it is written for (QSSL_VERSION_MAJOR/MINOR of
# include/qssl.h). A library of the same major version and at least this minor one has every function used here.
VERSION = "0.3.0"
API_VERSION = tuple(int(x) for x in VERSION.split(".")[:2])

# Sizes from include/qssl.h.
MAX_SOCKETS = 6
MAX_CONTEXTS = 6
MAX_CIPHERSUITES = 6
NAME_MAX = 96
EVENT_TEXT_MAX = 128


# ---------------------------------------------------------------------------------------------
# Structs (field for field as in qssl.h; every one starts with uint32_t size)

# typedef void (*qssl_log_fn)(qssl_modem *m, int direction, const char *text, void *user);
LOG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p, c_void_p)


class ModemOptions(Structure):
    """struct qssl_modem_options"""
    _fields_ = [
        ("size", c_uint32),
        ("baud", c_int32),
        ("rtscts", c_int32),
        ("open_timeout_ms", c_int32),
        ("command_timeout_ms", c_int32),
        ("log", LOG_FN),
        ("log_user", c_void_p),
        # since 0.3
        ("reapply_after_reset", c_int32),
        ("supervisor_apn", c_char_p),
        ("supervisor_user", c_char_p),
        ("supervisor_password", c_char_p),
        ("supervisor_interval_ms", c_int32),
        ("supervisor_attempts", c_int32),
    ]


class CtxConfig(Structure):
    """struct qssl_ctx_config"""
    _fields_ = [
        ("size", c_uint32),
        ("version", c_int32),
        ("seclevel", c_int32),
        ("n_ciphersuites", c_uint32),
        ("ciphersuites", c_uint16 * MAX_CIPHERSUITES),
        ("cacert", c_char * NAME_MAX),
        ("clientcert", c_char * NAME_MAX),
        ("clientkey", c_char * NAME_MAX),
    ]


class Event(Structure):
    """struct qssl_event"""
    _fields_ = [
        ("size", c_uint32),
        ("type", c_int32),
        ("socket", c_int32),
        ("kind", c_int32),
        ("value", c_int32),
        ("text", c_char * EVENT_TEXT_MAX),
    ]


class SocketInfo(Structure):
    """struct qssl_socket_info"""
    _fields_ = [
        ("size", c_uint32),
        ("id", c_int32),
        ("ssl", c_int32),
        ("status", c_int32),
        ("port", c_int32),
        ("type", c_char * 8),
        ("address", c_char * 64),
    ]


class StateInfo(Structure):
    """struct qssl_state_info"""
    _fields_ = [
        ("size", c_uint32),
        ("ip_state", c_int32),
        ("ip_state_text", c_char * 32),
        ("n_sockets", c_int32),
        ("sockets", SocketInfo * MAX_SOCKETS),
    ]


# typedef void (*qssl_progress_fn)(qssl_modem *m, size_t sent, size_t total, void *user);
PROGRESS_FN = ctypes.CFUNCTYPE(None, c_void_p, c_size_t, c_size_t, c_void_p)
# --- HOT-PLUG (include/qssl.h, since 0.3) ---------------------------------------------------
DEVICE_PATH_MAX = 256
DEVICE_TEXT_MAX = 64


class Device(Structure):
    """struct qssl_device"""
    _fields_ = [
        ("size", c_uint32),
        ("kind", c_int32),
        ("vid", c_int32),
        ("pid", c_int32),
        ("interface", c_int32),
        ("probe", c_int32),
        ("path", c_char * DEVICE_PATH_MAX),
        ("by_id", c_char * DEVICE_PATH_MAX),
        ("syspath", c_char * DEVICE_PATH_MAX),
        ("usb_path", c_char * 32),
        ("driver", c_char * 32),
        ("manufacturer", c_char * DEVICE_TEXT_MAX),
        ("product", c_char * DEVICE_TEXT_MAX),
        ("serial", c_char * DEVICE_TEXT_MAX),
        ("model", c_char * DEVICE_TEXT_MAX),
        ("revision", c_char * DEVICE_TEXT_MAX),
        ("imei", c_char * 16),
    ]


class DevicesOptions(Structure):
    """struct qssl_devices_options"""
    _fields_ = [
        ("size", c_uint32),
        ("flags", c_uint32),
        ("baud", c_int32),
        ("probe_timeout_ms", c_int32),
        ("source", c_int32),
    ]


class DeviceEvent(Structure):
    """struct qssl_device_event"""
    _fields_ = [
        ("size", c_uint32),
        ("action", c_int32),
        ("device", Device),
    ]
# --- end HOT-PLUG ---------------------------------------------------------------------------


# typedef void (*qssl_event_fn)(qssl_modem *m, const qssl_event *event, void *user);
EVENT_FN = ctypes.CFUNCTYPE(None, c_void_p, POINTER(Event), c_void_p)


# ---------------------------------------------------------------------------------------------
# errcheck functions

def _errmsg_of(args: Sequence[Any]) -> Optional[str]:
    """qssl_errmsg() of the handle passed as first argument, if there is one."""
    if not args:
        return None
    handle = args[0]
    handle = getattr(handle, "_as_parameter_", handle)
    if not isinstance(handle, (int, c_void_p)) or handle is None:
        return None
    return errmsg_copy(handle) if _LIB is not None else None


def errmsg_copy(handle: Any) -> Optional[str]:
    """qssl_errmsg() as a copy taken under the handle's lock (qssl_errmsg_copy): the pointer qssl_errmsg() returns
    may be freed by later failures on other threads before this thread, back from waiting for the GIL, reads it."""
    cap = 256
    while True:
        buf = ctypes.create_string_buffer(cap)
        try:
            n = _LIB.qssl_errmsg_copy(handle, buf, cap)
        except QsslError:
            # A closed or unknown handle: qssl_errmsg() answers with static text then, safe to read.
            raw = _LIB.qssl_errmsg(handle)
            return raw.decode("utf-8", "replace") if raw else None
        if n < cap:
            return buf.value.decode("utf-8", "replace")
        cap = n + 1


def _check_status(result: int, func: Any, args: Tuple[Any, ...]) -> int:
    """errcheck for functions that return a count/id >= 0 or a negative QSSL_E* code."""
    if result < 0:
        detail = _errmsg_of(args) if func.__name__ not in _NO_HANDLE else None
        raise error_for(result, detail)
    return result


def _check_text(result: Optional[bytes], func: Any, args: Tuple[Any, ...]) -> str:
    """errcheck for functions returning static / handle-owned text."""
    return (result or b"").decode("utf-8", "replace")


# Functions whose first argument is not a handle.
# qssl_errmsg_copy failing must not ask qssl_errmsg_copy again.
_NO_HANDLE = {"qssl_modem_open", "qssl_modem_options_init", "qssl_modem_options_init_size", "qssl_ctx_config_init",
              "qssl_errmsg_copy", "qssl_open_errmsg",
              # HOT-PLUG: no modem handle
              "qssl_devices_options_init", "qssl_devices", "qssl_probe", "qssl_usb_id_add", "qssl_monitor_open",
              "qssl_monitor_source", "qssl_monitor_fd", "qssl_monitor_next", "qssl_monitor_close"}


# ---------------------------------------------------------------------------------------------
# The signature table: (name, restype, argtypes, errcheck)

SIGNATURES: List[Tuple[str, Any, List[Any], Optional[Callable[..., Any]]]] = [
    # const char *qssl_strerror(int code);
    ("qssl_strerror", c_char_p, [c_int], _check_text),
    # const char *qssl_version(void);
    ("qssl_version", c_char_p, [], _check_text),
    # const char *qssl_errmsg(qssl_modem *m);
    ("qssl_errmsg", c_char_p, [c_void_p], None),
    # int qssl_errmsg_copy(qssl_modem *m, char *buf, size_t cap);
    ("qssl_errmsg_copy", c_int, [c_void_p, c_char_p, c_size_t], _check_status),
    # int qssl_modem_options_init(qssl_modem_options *opts);
    ("qssl_modem_options_init", c_int, [POINTER(ModemOptions)], _check_status),
    # int qssl_modem_options_init_size(qssl_modem_options *opts, size_t size);  (since 0.3)
    ("qssl_modem_options_init_size", c_int, [POINTER(ModemOptions), c_size_t], _check_status),
    # int qssl_modem_open(const char *device, const qssl_modem_options *options, qssl_modem **out);
    ("qssl_modem_open", c_int, [c_char_p, POINTER(ModemOptions), POINTER(c_void_p)], _check_status),
    # int qssl_open_errmsg(char *buf, size_t cap);  (since 0.3)
    ("qssl_open_errmsg", c_int, [c_char_p, c_size_t], _check_status),
    # int qssl_modem_close(qssl_modem *m);
    ("qssl_modem_close", c_int, [c_void_p], _check_status),
    # int qssl_at(qssl_modem *m, const char *cmd, char *buf, size_t cap, int timeout_ms);
    ("qssl_at", c_int, [c_void_p, c_char_p, c_char_p, c_size_t, c_int], _check_status),
    # int qssl_cert_write(qssl_modem *m, const char *name, const void *data, size_t len);
    ("qssl_cert_write", c_int, [c_void_p, c_char_p, c_void_p, c_size_t], _check_status),
    # int qssl_cert_write_progress(qssl_modem *m, const char *name, const void *data, size_t len,
    #                              qssl_progress_fn fn, void *user);  (since 0.3)
    ("qssl_cert_write_progress", c_int, [c_void_p, c_char_p, c_void_p, c_size_t, PROGRESS_FN, c_void_p],
     _check_status),
    # int qssl_cert_check(qssl_modem *m, const char *name);
    ("qssl_cert_check", c_int, [c_void_p, c_char_p], _check_status),
    # int qssl_cert_delete(qssl_modem *m, const char *name);
    ("qssl_cert_delete", c_int, [c_void_p, c_char_p], _check_status),
    # int qssl_pdp_activate(qssl_modem *m, const char *apn, const char *user, const char *password);
    ("qssl_pdp_activate", c_int, [c_void_p, c_char_p, c_char_p, c_char_p], _check_status),
    # int qssl_pdp_local_ip(qssl_modem *m, char *buf, size_t cap);
    ("qssl_pdp_local_ip", c_int, [c_void_p, c_char_p, c_size_t], _check_status),
    # int qssl_pdp_deactivate(qssl_modem *m);
    ("qssl_pdp_deactivate", c_int, [c_void_p], _check_status),
    # int qssl_ctx_config_init(qssl_ctx_config *config);
    ("qssl_ctx_config_init", c_int, [POINTER(CtxConfig)], _check_status),
    # int qssl_ctx_configure(qssl_modem *m, int ctx, const qssl_ctx_config *config);
    ("qssl_ctx_configure", c_int, [c_void_p, c_int, POINTER(CtxConfig)], _check_status),
    # int qssl_ctx_query(qssl_modem *m, int ctx, qssl_ctx_config *out);
    ("qssl_ctx_query", c_int, [c_void_p, c_int, POINTER(CtxConfig)], _check_status),
    # int qssl_ssl_setting_set(qssl_modem *m, int setting, int value);  (since 0.3)
    ("qssl_ssl_setting_set", c_int, [c_void_p, c_int, c_int], _check_status),
    # int qssl_ssl_setting_get(qssl_modem *m, int setting, int *value);  (since 0.3)
    ("qssl_ssl_setting_get", c_int, [c_void_p, c_int, POINTER(c_int)], _check_status),
    # int qssl_open(qssl_modem *m, int ctx, const char *host, int port, int timeout_s);
    ("qssl_open", c_int, [c_void_p, c_int, c_char_p, c_int, c_int], _check_status),
    # int qssl_send(qssl_modem *m, int id, const void *buf, size_t len);
    ("qssl_send", c_int, [c_void_p, c_int, c_void_p, c_size_t], _check_status),
    # int qssl_send_timeout(qssl_modem *m, int id, const void *buf, size_t len, int timeout_ms);
    ("qssl_send_timeout", c_int, [c_void_p, c_int, c_void_p, c_size_t, c_int], _check_status),
    # int qssl_recv(qssl_modem *m, int id, void *buf, size_t cap, int timeout_ms);
    ("qssl_recv", c_int, [c_void_p, c_int, c_void_p, c_size_t, c_int], _check_status),
    # int qssl_close(qssl_modem *m, int id);
    ("qssl_close", c_int, [c_void_p, c_int], _check_status),
    # int qssl_open_transparent(qssl_modem *m, int ctx, const char *host, int port, int timeout_s);
    ("qssl_open_transparent", c_int, [c_void_p, c_int, c_char_p, c_int, c_int], _check_status),
    # int qssl_transparent_suspend(qssl_modem *m, int id);
    ("qssl_transparent_suspend", c_int, [c_void_p, c_int], _check_status),
    # int qssl_transparent_resume(qssl_modem *m, int id, int timeout_ms);
    ("qssl_transparent_resume", c_int, [c_void_p, c_int, c_int], _check_status),
    # int qssl_state(qssl_modem *m, qssl_state_info *out);
    ("qssl_state", c_int, [c_void_p, POINTER(StateInfo)], _check_status),
    # int qssl_tcp_open(qssl_modem *m, const char *host, int port, int timeout_s);
    ("qssl_tcp_open", c_int, [c_void_p, c_char_p, c_int, c_int], _check_status),
    # int qssl_tcp_send(qssl_modem *m, int id, const void *buf, size_t len);
    ("qssl_tcp_send", c_int, [c_void_p, c_int, c_void_p, c_size_t], _check_status),
    # int qssl_tcp_send_timeout(qssl_modem *m, int id, const void *buf, size_t len, int timeout_ms);
    ("qssl_tcp_send_timeout", c_int, [c_void_p, c_int, c_void_p, c_size_t, c_int], _check_status),
    # int qssl_tcp_recv(qssl_modem *m, int id, void *buf, size_t cap, int timeout_ms);
    ("qssl_tcp_recv", c_int, [c_void_p, c_int, c_void_p, c_size_t, c_int], _check_status),
    # int qssl_tcp_close(qssl_modem *m, int id);
    ("qssl_tcp_close", c_int, [c_void_p, c_int], _check_status),
    # int qssl_event_fd(qssl_modem *m);
    ("qssl_event_fd", c_int, [c_void_p], _check_status),
    # int qssl_socket_fd(qssl_modem *m, int id);
    ("qssl_socket_fd", c_int, [c_void_p, c_int], _check_status),
    # int qssl_next_event(qssl_modem *m, qssl_event *event, int timeout_ms);
    ("qssl_next_event", c_int, [c_void_p, POINTER(Event), c_int], _check_status),
    # int qssl_set_event_callback(qssl_modem *m, qssl_event_fn fn, void *user);
    ("qssl_set_event_callback", c_int, [c_void_p, EVENT_FN, c_void_p], _check_status),
    # int qssl_set_log_callback(qssl_modem *m, qssl_log_fn fn, void *user);
    ("qssl_set_log_callback", c_int, [c_void_p, LOG_FN, c_void_p], _check_status),
    # --- HOT-PLUG ---
    # int qssl_devices_options_init(qssl_devices_options *opts);
    ("qssl_devices_options_init", c_int, [POINTER(DevicesOptions)], _check_status),
    # int qssl_devices(const qssl_devices_options *opts, qssl_device ***out);
    ("qssl_devices", c_int, [POINTER(DevicesOptions), POINTER(POINTER(POINTER(Device)))], _check_status),
    # void qssl_devices_free(qssl_device **list);
    ("qssl_devices_free", None, [POINTER(POINTER(Device))], None),
    # int qssl_probe(const char *path, const qssl_devices_options *opts, qssl_device *out);
    ("qssl_probe", c_int, [c_char_p, POINTER(DevicesOptions), POINTER(Device)], _check_status),
    # int qssl_usb_id_add(int vid, int pid, int kind, int at_interface);
    ("qssl_usb_id_add", c_int, [c_int, c_int, c_int, c_int], _check_status),
    # int qssl_monitor_open(qssl_monitor **out, const qssl_devices_options *opts);
    ("qssl_monitor_open", c_int, [POINTER(c_void_p), POINTER(DevicesOptions)], _check_status),
    # int qssl_monitor_source(qssl_monitor *mon);
    ("qssl_monitor_source", c_int, [c_void_p], _check_status),
    # int qssl_monitor_fd(qssl_monitor *mon);
    ("qssl_monitor_fd", c_int, [c_void_p], _check_status),
    # int qssl_monitor_next(qssl_monitor *mon, qssl_device_event *event, int timeout_ms);
    ("qssl_monitor_next", c_int, [c_void_p, POINTER(DeviceEvent), c_int], _check_status),
    # int qssl_monitor_close(qssl_monitor *mon);
    ("qssl_monitor_close", c_int, [c_void_p], _check_status),
    # --- end HOT-PLUG ---
]


# ---------------------------------------------------------------------------------------------
# Loader

def _repo_build_dirs() -> List[Path]:
    """SwiftPM build folders of the source tree, when the package is imported from its place in it
    (ROOT/bindings/python/qssl next to ROOT/Package.swift, also through an editable install). An installed copy
    has none: searching upwards from site-packages would pick up whatever Swift package happens to enclose it."""
    here = Path(__file__).resolve().parent
    parents = here.parents
    if len(parents) < 3 or parents[0].name != "python" or parents[1].name != "bindings":
        return []
    root = parents[2]
    if not (root / "Package.swift").is_file():
        return []
    return [root / ".build" / "debug", root / ".build" / "release"]


def _repo_shipped_build() -> List[Path]:
    """The shipped (Embedded Swift) build of the source tree, scripts/build-lib.sh's default output."""
    dirs = _repo_build_dirs()
    return [dirs[0].parent.parent / ".build-lib" / "host" / SONAME] if dirs else []


def candidate_paths() -> List[str]:
    """Where the loader looks, in order: QSSL_LIBRARY, next to the package (a libqssl.so copied into the
    installed qssl folder or bundled in the wheel), the source tree's build folders, then the system path
    (ld.so's cache and LD_LIBRARY_PATH, as for dlopen("libqssl.so"))."""
    out: List[str] = []
    env = os.environ.get("QSSL_LIBRARY")
    if env:
        out.append(env)
    out.append(str(Path(__file__).resolve().parent / LIBRARY_NAME))  # what the wheel build bundles
    out.extend(str(d / LIBRARY_NAME) for d in _repo_build_dirs())
    out.extend(str(p) for p in _repo_shipped_build())
    found = ctypes.util.find_library("qssl")
    if found:
        out.append(found)
    out.extend([SONAME, LIBRARY_NAME])  # the dynamic loader's own search (LD_LIBRARY_PATH, ld.so.cache)
    return list(dict.fromkeys(out))


def _check_version(loaded: ctypes.CDLL, path: str) -> None:
    """Refuses a library whose API is older than this package's, or of another major version: its functions
    would be missing or mean something else."""
    want = f"{API_VERSION[0]}.{API_VERSION[1]}"
    try:
        fn = loaded.qssl_version
    except AttributeError:
        raise OSError(f"{path} is not libqssl (no qssl_version)") from None
    fn.restype, fn.argtypes = c_char_p, []
    text = (fn() or b"").decode("ascii", "replace")
    try:
        got = tuple(int(x) for x in text.split("."))
    except ValueError:
        got = ()
    if len(got) != 2:
        raise OSError(f"{path}: qssl_version() gave {text!r}, not MAJOR.MINOR")
    if got[0] != API_VERSION[0] or got[1] < API_VERSION[1]:
        raise OSError(f"{path} is libqssl {text}, but this qssl package ({VERSION}) needs libqssl {want} or a "
                      f"later {API_VERSION[0]}.x: install a matching library or point QSSL_LIBRARY at one")


_LIB: Optional[ctypes.CDLL] = None
_LOCK = threading.Lock()


def _declare(lib: ctypes.CDLL) -> None:
    for name, restype, argtypes, errcheck in SIGNATURES:
        func = getattr(lib, name)
        func.restype = restype
        func.argtypes = argtypes
        if errcheck is not None:
            func.errcheck = errcheck


def lib() -> ctypes.CDLL:
    """The loaded library with every signature declared. Raises OSError listing the places tried."""
    global _LIB
    if _LIB is not None:
        return _LIB
    with _LOCK:
        if _LIB is not None:
            return _LIB
        tried: List[str] = []
        env = os.environ.get("QSSL_LIBRARY")
        for path in candidate_paths():
            is_file_path = os.sep in path
            if is_file_path and not os.path.exists(path):
                if path == env:
                    raise OSError(f"QSSL_LIBRARY={env} does not exist")
                tried.append(f"{path} (missing)")
                continue
            try:
                # CDLL, not PyDLL: the GIL is released during calls, so blocking calls and
                # callbacks from the library's threads work.
                loaded = ctypes.CDLL(path)
            except OSError as e:
                if path == env:
                    raise
                tried.append(f"{path} ({e})")
                continue
            try:
                _check_version(loaded, path)
            except OSError as e:
                if path == env:
                    raise
                tried.append(str(e))
                continue
            _declare(loaded)
            _LIB = loaded
            return loaded
        raise OSError("libqssl.so.0 / libqssl.so not found: set QSSL_LIBRARY to its path, copy it into " +
                      str(Path(__file__).resolve().parent) + ", or install it where dlopen finds it " +
                      "(scripts/install.sh, then ldconfig or LD_LIBRARY_PATH); tried: " + "; ".join(tried))
