#!/usr/bin/env bash
# Prints the peak RSS of the application note's example 3.1 (Tests/c/example.c: certificates, PDP, an SSL context
# with client authentication, open, send, receive, close) run against qssl-sim and a TLS echo server, once per
# library: the shipped build and the development (SwiftPM) build. A figure, not a test: run it on a quiet machine.
# usage: scripts/bench-rss.sh [RUNS]   (default 5 runs each; prints min / median / max in KB)
# Needs: .build-lib/host (scripts/build-lib.sh), .build/debug/libqssl.so and qssl-sim (swift build), GNU time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
sim=$root/.build/debug/qssl-sim
die() { echo "bench-rss: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) not found: apt-get install time"
[ -x "$sim" ] || die "$sim not found (swift build --product qssl-sim)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qssl-rss.XXXXXX")
# shellcheck source=background.sh
. "$root/scripts/background.sh"
trap 'stop_bg; rm -rf "$tmp"' EXIT

"$root/scripts/make-test-certs.sh" "$tmp/certs" >/dev/null
c=$tmp/certs
start_bg "$sim" echo-server --cert "$c/server.pem" --key "$c/server.key" --ca "$c/ca.pem" --require-client-cert
port=$bg_line

# A pure C program of the same shape (libc only, opens the pty, a poll loop) as the floor to compare against.
cat > "$tmp/floor.c" <<'C'
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDWR | O_NOCTTY);
    if (fd < 0) return 1;
    (void)!write(fd, "AT\r", 3);
    struct pollfd p = {fd, POLLIN, 0};
    char buf[256];
    if (poll(&p, 1, 5000) == 1) (void)!read(fd, buf, sizeof buf);
    close(fd);
    return 0;
}
C
gcc -O2 -o "$tmp/floor" "$tmp/floor.c"

for lib in "$root/.build-lib/host/libqssl.so.0" "$root/.build/debug/libqssl.so"; do
    [ -f "$lib" ] || die "$lib not found"
    name=$(basename "$lib")
    gcc -std=c11 -O2 -I"$root/include" -o "$tmp/example-$name" "$root/Tests/c/example.c" "$lib" \
        -Wl,-rpath,"$(dirname "$lib")" -lpthread
done

measure() {  # label, then the command; an argument PTY stands for a fresh virtual module's pty
    local label=$1; shift
    local figures=() cmd a
    for _ in $(seq "$runs"); do
        start_bg "$sim"
        cmd=()
        for a in "$@"; do if [ "$a" = PTY ]; then cmd+=("$bg_line"); else cmd+=("$a"); fi; done
        /usr/bin/time -f %M -o "$tmp/rss" "${cmd[@]}" >/dev/null 2>&1 || die "$label failed"
        figures+=("$(cat "$tmp/rss")")
    done
    sorted=$(printf '%s\n' "${figures[@]}" | sort -n)
    printf '%-44s peak RSS KB: min %s  median %s  max %s  (%s runs)\n' "$label" "$(echo "$sorted" | head -1)" \
        "$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")" "$(echo "$sorted" | tail -1)" "$runs"
}
echo "command: scripts/bench-rss.sh $runs"
measure "pure C open/AT/close (floor)" "$tmp/floor" PTY
for lib in libqssl.so.0 libqssl.so; do
    case $lib in libqssl.so.0) label="example 3.1, shipped build (Embedded)" ;; *) label="example 3.1, development build (SwiftPM)" ;; esac
    measure "$label" "$tmp/example-$lib" PTY 127.0.0.1 "$port" "$c/ca.pem" "$c/client.pem" "$c/client.key"
done
