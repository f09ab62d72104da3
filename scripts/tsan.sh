#!/usr/bin/env bash
# ThreadSanitizer runs: the Swift tests that use threads (channel, modem, socket state, transport) built with
# --sanitize=thread, and the threaded C stress program Tests/c/test_threads.c built with the toolchain's clang
# -fsanitize=thread against that TSan build of libqssl.so (one TSan runtime in the process: the toolchain's).
# A data race, a lock-order inversion or a use of freed memory fails the run (halt_on_error).
# Uses its own build folder, .build-tsan (the first build takes several minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch=.build-tsan
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/tsan.supp:${TSAN_OPTIONS:-}"

echo "== TSan: swift build --sanitize=thread"
swift build --build-tests --sanitize=thread --scratch-path "$scratch"
swift build --product qssl-sim          # the module itself runs uninstrumented, from the normal build
swift build --product qssl --sanitize=thread --scratch-path "$scratch"

echo "== TSan: Swift tests with threads"
swift test --skip-build --sanitize=thread --scratch-path "$scratch" \
    --filter "Channel|Transport|ModemUnitTests|ModemTransparentTests|ModemFlowTests|Socket state"

echo "== TSan: Tests/c/test_threads.c"
bin=$scratch/debug
clang_bin=$(dirname "$(command -v swift)")/clang
# The toolchain's TSan runtime intercepts libdispatch too, so the program links the toolchain's copy.
rtdir=$(cd "$(dirname "$(command -v swift)")/../lib/swift/linux" && pwd)
[ -x "$clang_bin" ] || { echo "tsan.sh: the toolchain's clang is missing at $clang_bin" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qssl-tsan.XXXXXX")
. "$root/scripts/background.sh"
cleanup() { stop_bg; rm -rf "$tmp"; }
trap cleanup EXIT
die() { echo "tsan.sh: $*" >&2; exit 1; }
"$clang_bin" -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=thread -Wall -Wextra -Werror -I"$root/include" \
    -o "$tmp/test_threads" "$root/Tests/c/test_threads.c" "$bin/libqssl.so" -Wl,-rpath,"$(cd "$bin" && pwd)" \
    -L"$rtdir" -ldispatch -lBlocksRuntime -Wl,-rpath,"$rtdir" -lpthread
"$root/scripts/make-test-certs.sh" "$tmp/certs" >/dev/null
sim=.build/debug/qssl-sim
start_bg "$sim" echo-server --cert "$tmp/certs/server.pem" --key "$tmp/certs/server.key"; tls_port=$bg_line
start_bg "$sim" echo-server --plain; tcp_port=$bg_line
start_bg "$sim"; dev=$bg_line
timeout 600 "$tmp/test_threads" "$dev" "$tls_port" "$tcp_port" 100
echo "tsan.sh: clean"
