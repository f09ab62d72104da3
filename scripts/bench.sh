#!/usr/bin/env bash
# The benchmarks of BENCHMARKS.md. Each prints its figures and the command that made them.
#
#   scripts/bench.sh                 every part below (the uart and sweep parts take several minutes)
#   scripts/bench.sh --quick         the same with less data (a smoke run; figures are noisier)
#   scripts/bench.sh PART [--quick]  one part: build parser datamode callgrind latency uart sweep scale memory
#
# Release builds in .build/release (swift build -c release). Needs valgrind for callgrind, gcc and openssl for
# memory; memory also builds the Embedded library with scripts/embedded-check.sh when it is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rel=$root/.build/release
bench=$rel/qssl-bench
die() { echo "bench: $*" >&2; exit 1; }

quick=
parts=()
for a in "$@"; do
    case "$a" in
        --quick) quick=1 ;;
        build|parser|datamode|callgrind|latency|uart|sweep|scale|memory) parts+=("$a") ;;
        *) die "unknown argument $a" ;;
    esac
done
[ ${#parts[@]} -gt 0 ] || parts=(build parser datamode callgrind latency scale memory uart sweep)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qssl-bench.XXXXXX")
# shellcheck source=background.sh
. "$root/scripts/background.sh"
cleanup() {
    stop_bg
    rm -rf "$tmp"
}
trap cleanup EXIT

build() {
    echo "== build"
    nice swift build -c release --product qssl-bench
    nice swift build -c release --product qssl-sim
    nice swift build -c release --product qssl
}

# Instructions the parser (ATParser.feed and what it calls) executes per byte, counted by callgrind: a figure
# that does not depend on the machine's load.
callgrind() {
    command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
    # Valgrind 3.19 cannot read the DWARF 5 that swiftc writes: count on a copy without debug info (the symbol
    # table still names the functions).
    objcopy --strip-debug "$bench" "$tmp/qssl-bench"
    local which
    for which in payload lines; do
        echo "== callgrind: parser, $which transcript, 10 MB"
        local out=$tmp/cg.$which
        valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*ATParserV9feedBytes*' \
            "$tmp/qssl-bench" parser --mb 10 --rounds 1 --only "$which" >"$tmp/cg.$which.txt" 2>"$tmp/cg.$which.err" ||
            { cat "$tmp/cg.$which.err" >&2; die "valgrind failed"; }
        cat "$tmp/cg.$which.txt"
        local ir
        ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
        if [ "$which" = payload ]; then
            local fed
            fed=$(awk -F'[: (]+' '/^payload bytes fed/ {print $4; exit}' "$tmp/cg.$which.txt")
            awk -v ir="$ir" -v n="$fed" 'BEGIN { printf "instructions in ATParser.feedBytes (and what it calls): %d for %d payload bytes = %.2f per payload byte (goal <= 5)\n", ir, n, ir / n }'
        else
            local bytes lines
            bytes=$(awk -F'[: ,]+' '/^line transcript bytes fed/ {print $5; exit}' "$tmp/cg.$which.txt")
            lines=$(awk -F'[: ,]+' '/^line transcript bytes fed/ {print $8; exit}' "$tmp/cg.$which.txt")
            awk -v ir="$ir" -v n="$bytes" -v l="$lines" 'BEGIN { printf "instructions in ATParser.feedBytes (and what it calls): %d for %d bytes (%d lines) = %.2f per byte, %.0f per line\n", ir, n, l, ir / n, ir / l }'
        fi
        echo "command: valgrind --tool=callgrind --toggle-collect='*ATParserV9feedBytes*' .build/release/qssl-bench parser --mb 10 --rounds 1 --only $which"
    done
}

# Peak RSS (the kernel's ru_maxrss of the exited process) of Tests/c/example.c, the note's example 3.1, against
# the development library and the Embedded one, through qssl-sim to a TLS server demanding a client certificate.
memory() {
    command -v gcc >/dev/null || die "gcc not found"
    local emb=$root/.build-embedded/libqssl-embedded.so
    [ -f "$emb" ] || nice "$root/scripts/embedded-check.sh" >/dev/null
    "$root/scripts/make-test-certs.sh" "$tmp/certs" >/dev/null
    local c=$tmp/certs sim=$rel/qssl-sim
    start_bg "$sim" echo-server --cert "$c/server.pem" --key "$c/server.key" --ca "$c/ca.pem" --require-client-cert
    local port=$bg_line
    # The launcher is a small C program: a parent's pages count in the child's ru_maxrss up to its exec (a Python
    # parent would add its own 9 MB).
    cat >"$tmp/maxrss.c" <<'EOF'
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
int main(int argc, char **argv) {
    (void)argc;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(argv[1], argv + 1);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "maxrss: %s failed (status %d)\n", argv[1], status);
        return 1;
    }
    printf("%ld\n", ru.ru_maxrss);
    return 0;
}
EOF
    gcc -O2 -o "$tmp/maxrss" "$tmp/maxrss.c"
    # What any dynamically linked C program costs here, for scale.
    printf 'int main(void) { return 0; }\n' >"$tmp/empty.c"
    gcc -O2 -o "$tmp/empty" "$tmp/empty.c"
    echo "== memory: an empty C program (libc only), for scale"
    echo "peak RSS (KiB): $("$tmp/maxrss" "$tmp/empty")"
    local name lib
    for name in development embedded; do
        if [ "$name" = development ]; then lib=$rel/libqssl.so; else lib=$emb; fi
        [ -f "$lib" ] || die "$lib missing"
        gcc -O2 -o "$tmp/example-$name" "$root/Tests/c/example.c" -I"$root/include" "$lib" \
            -Wl,-rpath,"$(dirname "$lib")" -lpthread
        echo "== memory: Tests/c/example.c against the $name library ($(basename "$lib"))"
        local runs=() i
        for i in 1 2 3; do
            start_bg "$sim"    # a fresh module each run, as after power-up
            runs+=("$("$tmp/maxrss" "$tmp/example-$name" "$bg_line" 127.0.0.1 "$port" "$c/ca.pem" "$c/client.pem" \
                "$c/client.key")")
        done
        printf 'peak RSS of 3 runs (KiB): %s; max %s KiB\n' "${runs[*]}" "$(printf '%s\n' "${runs[@]}" | sort -n | tail -1)"
        echo "command: scripts/bench.sh memory"
    done
}

for p in "${parts[@]}"; do
    case "$p" in
        build) build ;;
        callgrind) callgrind ;;
        memory) memory ;;
        parser) "$bench" parser ${quick:+--mb 2} ;;
        datamode) "$bench" datamode ${quick:+--mb 2} ;;
        latency) "$bench" latency ${quick:+--count 300 --rounds 3} ;;
        scale) "$bench" scale ${quick:+--bytes 15000} ;;
        uart) "$bench" uart ${quick:+--quick} ;;
        sweep) "$bench" sweep ${quick:+--seconds 1} ;;
    esac
done
