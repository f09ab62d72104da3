#!/usr/bin/env bash
# Runs every qssl test: Swift (parser, channel, modem, virtual module), the Embedded build of the library,
# the C programs (plain and sanitized), the Python suite, a fuzz smoke and ThreadSanitizer. Exits non-zero if
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

step "Embedded Swift build of libqssl"
scripts/embedded-check.sh
step "Embedded Swift build of the qssl command (against that library)"
scripts/embedded-cli.sh

step "C tests (gcc -Wall -Wextra -Werror, then ASan/UBSan)"
Tests/c/run.sh
step "C tests against the Embedded Swift build of the library (ASan/UBSan/LSan)"
QSSL_LIBRARY="$(pwd)/.build-embedded/libqssl-embedded.so" QSSL_C_MODES=asan QSSL_C_CYCLES=200 Tests/c/run.sh

step "Python tests (pytest)"
python3 -m pytest -q bindings/python/tests

step "fault matrix, short (qssl-faults --short: resets, PDP loss, peer close, SEND FAIL, 9600 baud, noise, unanswered, unplug, fd limit)"
swift build --product qssl-faults
"$(swift build --show-bin-path)/qssl-faults" --short

step "fuzz smoke (libFuzzer, 20 s per target: parser, decoders, dialogue)"
scripts/fuzz.sh --seconds 20

step "ThreadSanitizer (threaded Swift tests, Tests/c/test_threads.c; own build folder .build-tsan)"
scripts/tsan.sh
