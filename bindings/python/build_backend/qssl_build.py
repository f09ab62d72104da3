"""The PEP 517 build backend of the qssl package (in-tree: pyproject.toml names it with backend-path).

Why not setuptools: building a wheel with the setuptools found on Debian 12 also needs the separate `wheel`
package, which is often missing, and fetching both needs the network. The package is a handful of Python files,
so a wheel is a zip file this module can write itself: `pip install bindings/python` then works offline, with or
without build isolation.

A libqssl.so placed in qssl/ before the build (copy it from .build/release or the Embedded build) goes into the
wheel next to the package, where the loader looks right after QSSL_LIBRARY; the wheel is then tagged for this
platform instead of py3-none-any. Nothing else is bundled.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pyproject.toml requires tomli for these versions
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "qssl"
LIBRARY = "libqssl.so"
# Files of the package directory that go into a wheel; anything else there (caches, editor files) stays out.
PACKAGE_SUFFIXES = (".py", ".typed")


def _project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _dist_name() -> Tuple[str, str]:
    p = _project()
    return p["name"].replace("-", "_"), p["version"]


def _metadata() -> str:
    p = _project()
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}", f"Version: {p['version']}",
             f"Summary: {p['description']}", f"Requires-Python: {p['requires-python']}"]
    if "license" in p:
        lines.append(f"License: {p['license']['text']}")
    lines += [f"Classifier: {c}" for c in p.get("classifiers", [])]
    for extra, reqs in p.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in reqs]
    readme = p.get("readme")
    body = ""
    if readme:
        lines.append("Description-Content-Type: text/markdown")
        body = "\n" + (ROOT / readme).read_text(encoding="utf-8")
    return "\n".join(lines) + "\n" + body


def _package_files() -> List[Path]:
    pkg = ROOT / PACKAGE
    files = [f for f in sorted(pkg.iterdir()) if f.is_file() and f.suffix in PACKAGE_SUFFIXES]
    if (pkg / LIBRARY).is_file():
        files.append(pkg / LIBRARY)
    return files


def _tag(has_library: bool) -> str:
    if not has_library:
        return "py3-none-any"
    return "py3-none-" + sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, contents: Dict[str, bytes], has_library: bool) -> str:
    name, version = _dist_name()
    tag = _tag(has_library)
    dist_info = f"{name}-{version}.dist-info"
    files = dict(contents)
    files[f"{dist_info}/METADATA"] = _metadata().encode()
    files[f"{dist_info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: qssl_build\n"
                                   f"Root-Is-Purelib: {'false' if has_library else 'true'}\nTag: {tag}\n").encode()
    files[f"{dist_info}/top_level.txt"] = f"{PACKAGE}\n".encode()
    record = [_record_line(n, d) for n, d in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{name}-{version}-{tag}.whl"
    # A fixed timestamp: the same sources give the same wheel bytes.
    stamp = (1980, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in files.items():
            info = zipfile.ZipInfo(n, stamp)
            info.external_attr = (0o755 if n.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, d)
    return filename


# -- PEP 517 / PEP 660 hooks ----------------------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[dict] = None) -> List[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: Optional[dict] = None,
                metadata_directory: Optional[str] = None) -> str:
    files = _package_files()
    contents = {f"{PACKAGE}/{f.name}": f.read_bytes() for f in files}
    return _write_wheel(wheel_directory, contents, any(f.name == LIBRARY for f in files))


def build_editable(wheel_directory: str, config_settings: Optional[dict] = None,
                   metadata_directory: Optional[str] = None) -> str:
    # A .pth line puts the source folder on sys.path: edits apply at once, and the loader's search of the
    # source tree's .build folders keeps working because the package is imported from its place in the tree.
    name, _ = _dist_name()
    return _write_wheel(wheel_directory, {f"__editable__.{name}.pth": f"{ROOT}\n".encode()}, False)


def build_sdist(sdist_directory: str, config_settings: Optional[dict] = None) -> str:
    name, version = _dist_name()
    base = f"{name}-{version}"
    filename = f"{base}.tar.gz"
    members = [ROOT / "pyproject.toml", ROOT / "README.md", Path(__file__).resolve()]
    members += [f for f in _package_files() if f.name != LIBRARY]
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tf:
        def add(arcname: str, data: bytes) -> None:
            info = tarfile.TarInfo(f"{base}/{arcname}")
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
        for f in members:
            add(f.relative_to(ROOT).as_posix(), f.read_bytes())
        add("PKG-INFO", _metadata().encode())
    return filename
