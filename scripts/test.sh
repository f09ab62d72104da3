#!/usr/bin/env bash
# Runs every qssl test: Swift (parser, channel, modem, virtual module), the shipped (Embedded Swift) library and
# its checks, the C programs (plain and sanitized; under qemu-user for the ARM builds), the Python suite (against
# the development and the shipped library), a fuzz smoke and ThreadSanitizer. Exits non-zero if
# anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "system packages and pytest"
scripts/deps.sh

step "swift build (library, tools, tests)"
swift build --build-tests
swift build --product qssl-sim
swift build --product qssl
swift build --product qssl-cli   # the qssl command (bindings/python/tests/test_cli.py runs it)

step "swift test"
swift test --skip-build

# >>> shipped library (scripts/build-lib.sh: Embedded Swift, libc + libudev only) and its ARM builds
step "shipped library (Embedded Swift): build; SONAME, exports and their versions, dependencies, size"
scripts/build-lib.sh
scripts/check-lib.sh
step "Embedded Swift build of the qssl command (against the shipped library), run against qssl-sim"
scripts/embedded-cli.sh
scripts/check-cli.sh

step "C tests (gcc -Wall -Wextra -Werror, then ASan/UBSan); install step of the shipped library"
Tests/c/run.sh
step "C tests against the shipped library (ASan/UBSan/LSan)"
QSSL_LIBRARY="$(pwd)/.build-lib/host/libqssl.so.0" QSSL_C_MODES=asan QSSL_C_CYCLES=200 Tests/c/run.sh

for arch in armhf aarch64; do
    step "shipped library and qssl command for $arch: cross build, checks, C tests and the command under qemu-user"
    scripts/build-lib.sh --target $arch
    scripts/check-lib.sh --target $arch
    scripts/embedded-cli.sh --target $arch
    scripts/check-cli.sh --target $arch
    QSSL_C_TARGET=$arch QSSL_LIBRARY="$(pwd)/.build-lib/$arch/libqssl.so.0" QSSL_C_MODES=plain QSSL_C_CYCLES=100 \
        Tests/c/run.sh
done

step "Python tests (pytest) against the development build"
python3 -m pytest -q bindings/python/tests
step "Python tests (pytest) against the shipped library"
QSSL_LIBRARY="$(pwd)/.build-lib/host/libqssl.so.0" python3 -m pytest -q bindings/python/tests
# <<< shipped library

step "fault matrix, short (qssl-faults --short: resets, PDP loss, peer close, SEND FAIL, 9600 baud, noise, unanswered, unplug, fd limit)"
swift build --product qssl-faults
"$(swift build --show-bin-path)/qssl-faults" --short

step "fuzz smoke (libFuzzer, 20 s per target: parser, decoders, dialogue)"
scripts/fuzz.sh --seconds 20

step "ThreadSanitizer (threaded Swift tests, Tests/c/test_threads.c; own build folder .build-tsan)"
scripts/tsan.sh
