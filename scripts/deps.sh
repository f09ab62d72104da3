#!/usr/bin/env bash
# Installs what building and testing qssl needs beyond Swift, when it is missing: Debian packages (needs root)
# and pytest. Does nothing when everything is present, so demo.sh and test.sh call it every time.
set -euo pipefail

if ! command -v swift >/dev/null; then
    echo "deps: swift not found: install the Swift 6.3 toolchain (swift.org) and put it on PATH" >&2
    exit 1
fi

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v gcc >/dev/null || need_apt+=(gcc)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v python3 >/dev/null || need_apt+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
dpkg -s libc6-dev >/dev/null 2>&1 || need_apt+=(libc6-dev)
dpkg -s ca-certificates >/dev/null 2>&1 || need_apt+=(ca-certificates)
# --- the qssl command's tests: curl through `qssl proxy` ---
command -v curl >/dev/null || need_apt+=(curl)
# --- end qssl command ---
# --- hot-plug: libudev to build against; umockdev (+ its Python API for Debian's python3, with pytest) for the tests
for pkg in libudev-dev umockdev libumockdev-dev gir1.2-umockdev-1.0 python3-gi python3-pytest; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# --- end hot-plug
# >>> ARM builds of the shipped library (scripts/build-lib.sh --target aarch64|armhf) and their C tests under qemu-user
for pkg in gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross qemu-user; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
# the target's libudev for the ARM builds: Debian's multiarch packages (the architectures are added once)
for arch in arm64 armhf; do
    if ! dpkg --print-foreign-architectures | grep -qx "$arch" && [ "$(id -u)" -eq 0 ]; then
        dpkg --add-architecture "$arch"
    fi
    dpkg -s "libudev-dev:$arch" >/dev/null 2>&1 || need_apt+=("libudev-dev:$arch")
done
# <<< ARM
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: missing Debian packages: ${need_apt[*]}; run as root or: sudo apt-get install ${need_apt[*]}" >&2
        exit 1
    fi
    echo "deps: installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${need_apt[@]}"
fi
if ! python3 -c 'import pytest' 2>/dev/null; then
    echo "deps: installing pytest"
    # Debian 12 marks its Python as externally managed; an older pip does not know the flag.
    python3 -m pip install -q --disable-pip-version-check --break-system-packages pytest 2>/dev/null ||
        python3 -m pip install -q --disable-pip-version-check pytest
fi
