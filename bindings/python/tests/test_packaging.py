"""The package as users get it: pip-installed (offline) outside the source tree, and the loader's search order
QSSL_LIBRARY > next to the package > the source tree's .build folders > the system path (ld.so / LD_LIBRARY_PATH).

Every import happens in a fresh interpreter with a small environment, from a folder outside the repository, and
reports which libqssl.so the dynamic loader actually mapped (/proc/self/maps), not only what the package claims.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, Optional

import pytest

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "bindings" / "python"

PROBE = """
import json, qssl
path = qssl.library_path()
mapped = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libqssl' in l})
print(json.dumps({"path": path, "mapped": mapped, "version": qssl.version(), "package": qssl.__file__}))
"""


def _copy_source(dest: Path) -> Path:
    """The package's source folder without build leftovers (an old egg-info or cache must not leak in)."""
    shutil.copytree(SOURCE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache",
                                                                "build", "dist", "*.so"))
    return dest


def _pip_install(src: Path, target: Path, *extra: str) -> None:
    # --no-index: nothing may come from the network, so this shows the install works offline.
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
           "--no-deps", *extra, "--target", str(target), str(src)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}"


def _probe(site: Path, cwd: Path, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1"}
    base.update(env or {})
    return subprocess.run([sys.executable, "-c", PROBE], env=base, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def _loaded(r: subprocess.CompletedProcess) -> dict:
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _real(p: str) -> str:
    return os.path.realpath(p)


@pytest.fixture(scope="module")
def library_file(library) -> Path:
    """The libqssl.so under test (the session's, see conftest)."""
    return Path(library).resolve()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bindings/python pip-installed into a --target folder, without build isolation."""
    root = tmp_path_factory.mktemp("pip")
    site = root / "site"
    _pip_install(_copy_source(root / "src"), site, "--no-build-isolation")
    return site


@pytest.fixture
def outside(tmp_path) -> Path:
    d = tmp_path / "elsewhere"
    d.mkdir()
    return d


def test_install_holds_the_package_and_no_library(installed):
    pkg = installed / "qssl"
    assert sorted(p.name for p in pkg.glob("*.py")) == ["__init__.py", "_args.py", "_callbacks.py", "_lib.py", "errors.py", "hotplug.py", "modem.py",
                                                       "sockets.py", "types.py"]
    assert (pkg / "py.typed").is_file()
    assert not (pkg / "libqssl.so").exists()
    meta = next(installed.glob("qssl-*.dist-info")) / "METADATA"
    text = meta.read_text()
    assert "Name: qssl" in text and "Requires-Python: >=3.9" in text


def test_qssl_library_after_install(installed, outside, library_file):
    got = _loaded(_probe(installed, outside, {"QSSL_LIBRARY": str(library_file)}))
    assert got["package"].startswith(str(installed))
    assert got["path"] == str(library_file)
    assert [_real(p) for p in got["mapped"]] == [str(library_file)]
    assert got["version"].count(".") == 1


@pytest.mark.parametrize("name", ["libqssl.so", "libqssl.so.0"])
def test_system_path_after_install(installed, outside, library_file, tmp_path, name):
    # The loader's last steps are dlopen("libqssl.so.0") and dlopen("libqssl.so"): what a library installed with
    # scripts/install.sh gives (ldconfig), reached here through LD_LIBRARY_PATH. libqssl.so.0 alone is what a
    # runtime-only system has (no development link).
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy2(library_file, libdir / name)
    got = _loaded(_probe(installed, outside, {"LD_LIBRARY_PATH": str(libdir)}))
    assert [_real(p) for p in got["mapped"]] == [str(libdir / name)]


def test_nothing_found_after_install(installed, outside):
    r = _probe(installed, outside)
    try:
        system = ctypes.CDLL("libqssl.so")._name  # a machine with libqssl.so installed system-wide
    except OSError:
        system = None
    if system is None:
        assert r.returncode != 0
        assert "QSSL_LIBRARY" in r.stderr and "LD_LIBRARY_PATH" in r.stderr
        # An installed copy does not go looking for a source tree's .build folder.
        assert ".build" not in r.stderr
    else:
        assert ".build" not in " ".join(_loaded(r)["mapped"])


def test_next_to_the_package(installed, outside, library_file, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(installed, site)
    shutil.copy2(library_file, site / "qssl" / "libqssl.so")
    got = _loaded(_probe(site, outside))
    assert [_real(p) for p in got["mapped"]] == [str(site / "qssl" / "libqssl.so")]
    # It comes before the system path...
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy2(library_file, libdir / "libqssl.so")
    got = _loaded(_probe(site, outside, {"LD_LIBRARY_PATH": str(libdir)}))
    assert [_real(p) for p in got["mapped"]] == [str(site / "qssl" / "libqssl.so")]
    # ...and after QSSL_LIBRARY.
    got = _loaded(_probe(site, outside, {"QSSL_LIBRARY": str(libdir / "libqssl.so")}))
    assert [_real(p) for p in got["mapped"]] == [str(libdir / "libqssl.so")]


def test_wheel_carries_a_library_placed_in_the_package(tmp_path, outside, library_file):
    # The documented way to ship the library inside the package: copy it into qssl/ before building. Built
    # with pip's default build isolation, still offline.
    src = _copy_source(tmp_path / "src")
    shutil.copy2(library_file, src / "qssl" / "libqssl.so")
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                        "--no-index", "--no-deps", "-w", str(wheels), str(src)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    (wheel,) = wheels.glob("qssl-*.whl")
    assert not wheel.name.endswith("-none-any.whl")  # a binary inside: tagged for this platform
    with zipfile.ZipFile(wheel) as zf:
        assert "qssl/libqssl.so" in zf.namelist()
        assert zf.read("qssl/libqssl.so") == library_file.read_bytes()
    site = tmp_path / "site"
    _pip_install(wheel, site)
    got = _loaded(_probe(site, outside))
    assert [_real(p) for p in got["mapped"]] == [str(site / "qssl" / "libqssl.so")]


def test_build_folder_of_the_source_tree(tmp_path, outside, library_file):
    # Imported from its place in a source tree (as the tests and an editable install do), without QSSL_LIBRARY:
    # ROOT/.build/debug comes before ROOT/.build/release.
    root = tmp_path / "tree"
    _copy_source(root / "bindings" / "python")
    (root / "Package.swift").write_text("// swift-tools-version:6.0\n")
    for config in ("release", "debug"):
        (root / ".build" / config).mkdir(parents=True)
        shutil.copy2(library_file, root / ".build" / config / "libqssl.so")
    got = _loaded(_probe(root / "bindings" / "python", outside))
    assert [_real(p) for p in got["mapped"]] == [str(root / ".build" / "debug" / "libqssl.so")]
    os.remove(root / ".build" / "debug" / "libqssl.so")
    got = _loaded(_probe(root / "bindings" / "python", outside))
    assert [_real(p) for p in got["mapped"]] == [str(root / ".build" / "release" / "libqssl.so")]
    # The same folder layout without Package.swift is not a source tree.
    os.remove(root / "Package.swift")
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy2(library_file, libdir / "libqssl.so")
    got = _loaded(_probe(root / "bindings" / "python", outside, {"LD_LIBRARY_PATH": str(libdir)}))
    assert [_real(p) for p in got["mapped"]] == [str(libdir / "libqssl.so")]


def test_editable_install_finds_the_build_folder(tmp_path, outside, library_file):
    root = tmp_path / "tree"
    src = _copy_source(root / "bindings" / "python")
    (root / "Package.swift").write_text("// swift-tools-version:6.0\n")
    (root / ".build" / "debug").mkdir(parents=True)
    shutil.copy2(library_file, root / ".build" / "debug" / "libqssl.so")
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-index", "--no-deps", "--target", str(site), "-e", str(src)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    # --target does not process .pth files; site.addsitedir does, as site-packages would.
    code = f"import site; site.addsitedir({str(site)!r})" + PROBE
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONNOUSERSITE": "1"}
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=outside, capture_output=True, text=True,
                       timeout=60)
    got = _loaded(r)
    assert got["package"] == str(src / "qssl" / "__init__.py")
    assert [_real(p) for p in got["mapped"]] == [str(root / ".build" / "debug" / "libqssl.so")]


def test_version_matches_project_and_library():
    import qssl
    text = (SOURCE / "pyproject.toml").read_text()
    assert f'\nversion = "{qssl.__version__}"\n' in text
    # The library under test implements this package's API: same MAJOR.MINOR.
    assert qssl.version() == ".".join(qssl.__version__.split(".")[:2])


def _fake_library(tmp_path: Path, version: str, name: str = "libqssl.so.0") -> Path:
    """A C library whose qssl_version() says `version` (and has no other function of the API)."""
    src = tmp_path / "fake.c"
    src.write_text(f'const char *qssl_version(void) {{ return "{version}"; }}\n')
    lib = tmp_path / f"fake-{version}" / name
    lib.parent.mkdir()
    r = subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return lib


@pytest.mark.parametrize("version", ["0.1", "1.3", "0.2"])
def test_library_of_another_version_is_refused(installed, outside, tmp_path, version):
    fake = _fake_library(tmp_path, version)
    # Named by QSSL_LIBRARY: that library or nothing, with both versions in the message.
    r = _probe(installed, outside, {"QSSL_LIBRARY": str(fake)})
    assert r.returncode != 0
    assert f"is libqssl {version}, but this qssl package (0.3.0) needs libqssl 0.3 or a later 0.x" in r.stderr
    # Found on the system path: skipped, and named among the places tried when nothing else fits.
    r = _probe(installed, outside, {"LD_LIBRARY_PATH": str(fake.parent)})
    assert r.returncode != 0
    assert f"is libqssl {version}" in r.stderr and "not found" in r.stderr


def test_newer_minor_version_is_accepted(installed, outside, tmp_path):
    fake = _fake_library(tmp_path, "0.9")
    # The version check passes; the first function this package declares that the fake lacks then fails.
    r = _probe(installed, outside, {"QSSL_LIBRARY": str(fake)})
    assert "needs libqssl" not in r.stderr
    assert "undefined symbol: qssl_" in r.stderr
