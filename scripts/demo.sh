#!/usr/bin/env bash
# The main job, no hardware needed: builds libqssl.so and the virtual module, makes test certificates, starts a
# TLS echo server that demands a client certificate and a virtual M66 on a pty, then runs the application note's
# example 3.1 twice through it: once as the C example, once as the Python example. Prints the AT trace at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

step "system packages (only what is missing)"
scripts/deps.sh

step "building libqssl.so and qssl-sim (the first build takes a few minutes)"
swift build --product qssl
swift build --product qssl-sim
build=$(swift build --show-bin-path)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qssl-demo.XXXXXX")
# shellcheck source=background.sh
. scripts/background.sh
cleanup() {
    stop_bg
    rm -rf "$tmp"
}
trap cleanup EXIT

step "test certificates (openssl): a CA, a server and a client certificate"
scripts/make-test-certs.sh "$tmp/certs" >/dev/null
ls "$tmp/certs"

step "TLS echo server on 127.0.0.1 (requires a client certificate)"
start_bg "$build/qssl-sim" echo-server --cert "$tmp/certs/server.pem" --key "$tmp/certs/server.key" \
    --ca "$tmp/certs/ca.pem" --require-client-cert
port=$bg_line
echo "listening on port $port"

step "virtual M66 on a pty (AT trace in its log)"
start_bg "$build/qssl-sim" --log "$tmp/at.log"
pty=$bg_line
echo "module at $pty"

args=("$pty" 127.0.0.1 "$port" "$tmp/certs/ca.pem" "$tmp/certs/client.pem" "$tmp/certs/client.key")

step "C: Tests/c/example.c compiled with gcc against include/qssl.h and libqssl.so"
gcc -std=c11 -Wall -Wextra -O1 -I include Tests/c/example.c -L "$build" -lqssl -Wl,-rpath,"$build" \
    -o "$tmp/example"
"$tmp/example" "${args[@]}"

step "Python: bindings/python/examples/note_example_3_1.py over ctypes"
PYTHONPATH="$root/bindings/python" QSSL_LIBRARY="$build/libqssl.so" \
    python3 bindings/python/examples/note_example_3_1.py "${args[@]}"

step "the SSL part of the C run, as the virtual module logged it (long lines cut)"
awk '/QSSLCFG|QSSLOPEN|QSSLSEND|QSSLRECV|QSSLURC|QSSLCLOSE|hello/ { print } /QSSLCLOSE/ { exit }' "$tmp/at.log" |
    cut -c1-110
echo
echo "demo: OK (both runs sent their message through TLS with client authentication and got it back)"
