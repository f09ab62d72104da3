"""The ctypes mirror matches include/qssl.h: function names, struct layouts, error codes."""

import ctypes
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import qssl
from qssl import _lib, errors

REPO = Path(__file__).resolve().parents[3]
HEADER = REPO / "include" / "qssl.h"


def _declared_functions():
    out = subprocess.run(["gcc", "-E", "-P", "-x", "c", str(HEADER)], check=True, capture_output=True,
                         text=True).stdout
    return set(re.findall(r"\b(qssl_[A-Za-z0-9_]+)\s*\(", out))


def test_signature_table_covers_the_header():
    assert {name for name, *_ in _lib.SIGNATURES} == _declared_functions()


def test_struct_layouts_match_c(tmp_path):
    structs = {
        "qssl_modem_options": _lib.ModemOptions, "qssl_ctx_config": _lib.CtxConfig, "qssl_event": _lib.Event,
        "qssl_socket_info": _lib.SocketInfo, "qssl_state_info": _lib.StateInfo,
        # HOT-PLUG
        "qssl_device": _lib.Device, "qssl_devices_options": _lib.DevicesOptions, "qssl_device_event": _lib.DeviceEvent,
    }
    lines = ["#include <qssl.h>", "#include <stdio.h>", "#include <stddef.h>", "int main(void) {"]
    for cname, py in structs.items():
        lines.append(f'printf("{cname} sizeof %zu\\n", sizeof({cname}));')
        for fname, _ in py._fields_:
            lines.append(f'printf("{cname} {fname} %zu\\n", offsetof({cname}, {fname}));')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run(["gcc", "-Wall", "-Werror", "-I", str(REPO / "include"), str(src), "-o", str(exe)], check=True)
    want = {}
    for line in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines():
        cname, what, value = line.split()
        want[(cname, what)] = int(value)
    for cname, py in structs.items():
        assert want[(cname, "sizeof")] == ctypes.sizeof(py), cname
        for fname, _ in py._fields_:
            assert want[(cname, fname)] == getattr(py, fname).offset, (cname, fname)


def test_every_code_has_its_exception_and_text():
    lib = _lib.lib()
    for code in range(-21, 0):
        e = qssl.error_for(code, None)
        assert type(e) is not qssl.QsslError and isinstance(e, qssl.QsslError) and isinstance(e, OSError)
        assert e.code == code and e.errno == errors.ERRNO[code] > 0
        assert lib.qssl_strerror(code) == errors.strerror(code) == e.strerror
    assert issubclass(qssl.QsslTimeout, TimeoutError)
    assert type(qssl.error_for(-99)) is qssl.QsslError


def test_options_init_defaults():
    o = _lib.ModemOptions()
    _lib.lib().qssl_modem_options_init_size(o, ctypes.sizeof(o))
    assert o.size == ctypes.sizeof(o)
    assert (o.reapply_after_reset, o.supervisor_apn, o.supervisor_attempts) == (0, None, 3)
    # The plain function is what binaries built against 0.2 call: it fills their shorter struct alone.
    old = _lib.ModemOptions()
    ctypes.memset(ctypes.byref(old), 0xAB, ctypes.sizeof(old))
    _lib.lib().qssl_modem_options_init(old)
    assert old.size == _lib.ModemOptions.reapply_after_reset.offset and old.baud == 115200
    assert old.reapply_after_reset == -0x54545455  # 0xABABABAB: not written
    assert (o.baud, o.rtscts) == (115200, 0)
    assert o.open_timeout_ms > 0 and o.command_timeout_ms > 0
    c = _lib.CtxConfig()
    _lib.lib().qssl_ctx_config_init(c)
    assert (c.version, c.seclevel, c.n_ciphersuites, c.ciphersuites[0]) == (4, 0, 1, 0xFFFF)
    assert c.cacert == b""


def test_loader_honours_qssl_library():
    code = "import qssl; qssl.library_path()"
    env = {"QSSL_LIBRARY": "/nonexistent/libqssl.so", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO / "bindings" / "python",
                       capture_output=True, text=True)
    assert r.returncode != 0 and "QSSL_LIBRARY" in r.stderr
    want = os.environ.get("QSSL_LIBRARY")
    assert qssl.library_path() == want if want else qssl.library_path().endswith("libqssl.so")
    assert re.fullmatch(r"\d+\.\d+", qssl.version())


@pytest.mark.parametrize("code,cls", [(-1, ValueError), (-2, TimeoutError), (-16, ConnectionError),
                                       (-20, BlockingIOError), (-8, MemoryError)])
def test_builtin_bases(code, cls):
    assert isinstance(qssl.error_for(code), cls)


# C types of include/qssl.h and the ctypes type the binding must declare for each. A type missing here fails
# the test below: add it with the ctypes type it maps to.
def _c_to_ctypes():
    from ctypes import POINTER, c_char_p, c_int, c_size_t, c_void_p
    return {
        "int": c_int,
        "size_t": c_size_t,
        "const char *": c_char_p,
        "char *": c_char_p,
        "void *": c_void_p,
        "const void *": c_void_p,
        "qssl_modem *": c_void_p,
        "qssl_modem **": POINTER(c_void_p),
        "qssl_modem_options *": POINTER(_lib.ModemOptions),
        "const qssl_modem_options *": POINTER(_lib.ModemOptions),
        "qssl_ctx_config *": POINTER(_lib.CtxConfig),
        "const qssl_ctx_config *": POINTER(_lib.CtxConfig),
        "qssl_event *": POINTER(_lib.Event),
        "const qssl_event *": POINTER(_lib.Event),
        "qssl_state_info *": POINTER(_lib.StateInfo),
        "qssl_log_fn": _lib.LOG_FN,
        "qssl_event_fn": _lib.EVENT_FN,
        "qssl_progress_fn": _lib.PROGRESS_FN,
        "int *": POINTER(c_int),
        # HOT-PLUG
        "void": None,
        "qssl_devices_options *": POINTER(_lib.DevicesOptions),
        "const qssl_devices_options *": POINTER(_lib.DevicesOptions),
        "qssl_device *": POINTER(_lib.Device),
        "qssl_device **": POINTER(POINTER(_lib.Device)),
        "qssl_device ***": POINTER(POINTER(POINTER(_lib.Device))),
        "qssl_device_event *": POINTER(_lib.DeviceEvent),
        "qssl_monitor *": c_void_p,
        "qssl_monitor **": POINTER(c_void_p),
    }


def _norm_type(decl: str) -> str:
    """'const char *text' -> 'const char *'; 'qssl_modem **out' -> 'qssl_modem **'; 'int' -> 'int'."""
    decl = " ".join(decl.replace("*", " * ").split())
    words = decl.split(" ")
    if len(words) > 1 and re.fullmatch(r"[A-Za-z_]\w*", words[-1]) and words[-1] not in ("int", "char", "void"):
        words = words[:-1]  # the parameter's name
    out = " ".join(words)
    return re.sub(r"\s*(\*(?:\s*\*)*)$", lambda mm: " " + mm.group(1).replace(" ", ""), out)


def _prototypes():
    """{name: (return type, [parameter types])} for every function and function-pointer typedef of the header."""
    text = subprocess.run(["gcc", "-E", "-P", "-x", "c", str(HEADER)], check=True, capture_output=True,
                          text=True).stdout
    text = re.sub(r"\{[^{}]*\}", " ", " ".join(text.split()))  # struct and enum bodies
    funcs, fn_types = {}, {}
    for stmt in (s.strip() for s in text.split(";")):
        m = re.fullmatch(r"typedef (.+?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)", stmt)
        target = fn_types
        if not m:
            m = re.fullmatch(r"(.+?)\s*\b(qssl_\w+)\s*\((.*)\)", stmt)
            target = funcs
        if not m:
            continue
        ret, name, args = m.groups()
        params = [] if args.strip() == "void" else [_norm_type(a) for a in args.split(",")]
        target[name] = (_norm_type(ret), params)
    return funcs, fn_types


def test_signature_types_match_the_header():
    table = _c_to_ctypes()
    funcs, fn_types = _prototypes()
    assert len(funcs) == len(_lib.SIGNATURES) == 51
    declared = {name: (restype, argtypes) for name, restype, argtypes, _ in _lib.SIGNATURES}
    for name, (ret, params) in funcs.items():
        for t in [ret, *params]:
            assert t in table, f"{name}: C type {t!r} has no ctypes mapping in this test"
        restype, argtypes = declared[name]
        assert restype is table[ret], f"{name}: returns {ret}, binding declares {restype}"
        assert len(argtypes) == len(params), f"{name}: {len(params)} parameters, binding declares {len(argtypes)}"
        for i, (c, py) in enumerate(zip(params, argtypes)):
            assert py is table[c], f"{name} parameter {i}: C {c}, binding {py}"
    # The callback types: what the library passes to a Python callback.
    assert set(fn_types) == {"qssl_log_fn", "qssl_event_fn", "qssl_progress_fn"}
    for name, fn in (("qssl_log_fn", _lib.LOG_FN), ("qssl_event_fn", _lib.EVENT_FN),
                     ("qssl_progress_fn", _lib.PROGRESS_FN)):
        ret, params = fn_types[name]
        assert ret == "void" and fn._restype_ is None
        assert list(fn._argtypes_) == [table[p] for p in params], name


def test_signature_parser_sees_a_wrong_type():
    # The comparison above is only as good as the parser: a size_t declared as int must not pass.
    funcs, _ = _prototypes()
    assert funcs["qssl_send"] == ("int", ["qssl_modem *", "int", "const void *", "size_t"])
    assert funcs["qssl_modem_open"] == ("int", ["const char *", "const qssl_modem_options *", "qssl_modem **"])
    assert funcs["qssl_version"] == ("const char *", [])
    assert _c_to_ctypes()["size_t"] is not _c_to_ctypes()["int"]


def test_version_matches_header_macros():
    text = HEADER.read_text()
    major = re.search(r"#define QSSL_VERSION_MAJOR (\d+)", text).group(1)
    minor = re.search(r"#define QSSL_VERSION_MINOR (\d+)", text).group(1)
    assert qssl.version() == f"{major}.{minor}"


def test_header_example_compiles(tmp_path):
    """The session at the top of qssl.h is the note's example 3.1 and is real C against the header."""
    text = HEADER.read_text()
    block = text[text.index("A minimal session"):text.index(" * ERRORS")]
    code = "\n".join(line[len(" *     "):] for line in block.splitlines() if line.startswith(" *     "))
    assert "QSSL_SECLEVEL_SERVER_CLIENT" in code and "cfg.version = QSSL_TLS1_1" in code
    for name in ("RAM:ca_cert.pem", "RAM:client_cert.pem", "RAM:client_key.pem"):
        assert code.count(f'"{name}"') == 3, name  # uploaded, configured, deleted
    src = tmp_path / "header_example.c"
    src.write_text("#include <qssl.h>\n#include <string.h>\n"
                   "int demo(const void *ca_pem, size_t ca_len, const void *cert_pem, size_t cert_len,\n"
                   "         const void *key_pem, size_t key_len) {\n" + code + "\n(void)n;\nreturn 0;\n}\n")
    r = subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", str(REPO / "include"), "-c",
                        str(src), "-o", str(tmp_path / "header_example.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("readme", ["README.md", "bindings/python/README.md"])
def test_readme_python_snippets_compile(readme):
    text = (REPO / readme).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for b in blocks:
        compile(b, readme, "exec")
