#!/usr/bin/env bash
# The main job, no hardware needed: builds the qssl command and the virtual module, then runs `qssl demo`, which
# makes test certificates with openssl, starts a TLS echo server that demands a client certificate and a virtual
# M66 on a pty, and runs the application note's example 3.1 through it step by step. Arguments go to qssl as
# global options (scripts/demo.sh -v shows the AT conversation).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "system packages (only what is missing)"
scripts/deps.sh

step "building the qssl command and qssl-sim (the first build takes a few minutes)"
swift build --product qssl-cli
swift build --product qssl-sim
build=$(swift build --show-bin-path)

step "qssl demo"
exec "$build/qssl-cli" "$@" demo
