#!/usr/bin/env bash
# Runs the Embedded build of the qssl command (scripts/embedded-cli.sh) against a virtual module: `--version`,
# `--json info`, `at ATI`, and exit code 3 for a device that does not exist. For an ARM build the command runs
# under qemu-user and opens the pty of a qssl-sim running on this machine.
# usage: scripts/check-cli.sh [--target host|aarch64|armhf] [DIR]   (DIR default .build-lib/TARGET; needs
#        qssl-sim: $QSSL_SIM or .build/debug/qssl-sim)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=host
if [ "${1:-}" = --target ]; then target=$2; shift 2; fi
dir=${1:-$root/.build-lib/$target}
sim=${QSSL_SIM:-$root/.build/debug/qssl-sim}
# shellcheck source=targets.sh
. "$root/scripts/targets.sh"
qssl_target_runner "$target"
die() { echo "check-cli ($target): FAIL: $*" >&2; exit 1; }
[ -x "$dir/qssl" ] || die "no $dir/qssl (scripts/embedded-cli.sh --target $target)"
[ -x "$sim" ] || die "qssl-sim not found at $sim (swift build --product qssl-sim)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qssl-check-cli.XXXXXX")
# shellcheck source=background.sh
. "$root/scripts/background.sh"
trap 'stop_bg; rm -rf "$tmp"' EXIT
qssl=("${run_prefix[@]}" "$dir/qssl")

"${qssl[@]}" --version | grep -q '^qssl [0-9]' || die "--version"
start_bg "$sim"
dev=$bg_line
timeout 60 "${qssl[@]}" -d "$dev" --json info > "$tmp/info.json" || die "info exited $?"
python3 - "$tmp/info.json" <<'PY' || die "info --json: $(cat "$tmp/info.json")"
import json, sys
info = json.load(open(sys.argv[1]))
assert info["model"] == "Quectel_M66", info
assert len(info["imei"]) == 15 and info["imei"].isdigit(), info
PY
timeout 60 "${qssl[@]}" -d "$dev" at ATI > "$tmp/ati.txt" || die "at ATI exited $?"
grep -q '^Quectel_M66$' "$tmp/ati.txt" && grep -q '^OK$' "$tmp/ati.txt" || die "at ATI printed: $(cat "$tmp/ati.txt")"
set +e
timeout 60 "${qssl[@]}" -d "$tmp/no-such-tty" info 2>"$tmp/err.txt"
rc=$?
set -e
[ $rc = 3 ] || die "a missing device exited $rc, not 3: $(cat "$tmp/err.txt")"
grep -q "no-such-tty" "$tmp/err.txt" || die "the error does not name the device: $(cat "$tmp/err.txt")"
echo "check-cli ($target): OK: --version, --json info, at ATI, exit 3 for a missing device"
