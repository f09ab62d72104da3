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
        assert e.code == code == e.errno
        assert lib.qssl_strerror(code) == errors.strerror(code) == e.strerror
    assert issubclass(qssl.QsslTimeout, TimeoutError)
    assert type(qssl.error_for(-99)) is qssl.QsslError


def test_options_init_defaults():
    o = _lib.ModemOptions()
    _lib.lib().qssl_modem_options_init(o)
    assert o.size == ctypes.sizeof(o)
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
