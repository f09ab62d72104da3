"""Hot-plug from Python: runs hotplug_cases.py under umockdev-wrapper with Debian's python3 (see that file).

A missing umockdev-wrapper, python3-gi or pytest for /usr/bin/python3 fails here, loudly (scripts/deps.sh installs
them). The cases' own output, per case, is shown on failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"


def test_hotplug_under_umockdev(sim_binary, library):
    wrapper = shutil.which("umockdev-wrapper")
    assert wrapper, "umockdev-wrapper not found: apt-get install umockdev (scripts/deps.sh)"
    assert Path(SYSTEM_PYTHON).is_file(), f"{SYSTEM_PYTHON} missing"
    cli = Path(os.environ.get("QSSL_CLI") or Path(sim_binary).parent / "qssl-cli")
    assert cli.is_file(), f"qssl-cli not found at {cli}: swift build --product qssl-cli (or set QSSL_CLI)"
    env = dict(os.environ, QSSL_SIM=str(sim_binary), QSSL_LIBRARY=library, QSSL_CLI=str(cli))
    # umockdev's testbeds are much faster on tmpfs; socket paths must stay short.
    if Path("/dev/shm").is_dir():
        env["TMPDIR"] = "/dev/shm"
    r = subprocess.run([wrapper, SYSTEM_PYTHON, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                        str(HERE / "hotplug_cases.py")], env=env, capture_output=True, text=True, timeout=600)
    print(r.stdout[-4000:])
    assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-4000:]
    assert " passed" in r.stdout and "failed" not in r.stdout and "skipped" not in r.stdout
