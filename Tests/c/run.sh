#!/usr/bin/env bash
# Builds the C programs of Tests/c against include/qssl.h and libqssl.so, twice (gcc -Wall -Wextra -Werror,
# then the same plus -fsanitize=address,undefined), and runs each build against qssl-sim and TLS / TCP echo
# servers (qssl-sim echo-server) with certificates from scripts/make-test-certs.sh. Also checks that
# libqssl.so exports exactly the functions of the header with their symbol versions, and that scripts/install.sh
# installs the shipped build (shared and static) so that pkg-config users link and run it, uninstalls it, stages
# under DESTDIR, and refreshes ld.so's cache (or says how to reach it). Also runs test_hotplug under
# umockdev-wrapper (`umockdev-wrapper test_hotplug SIM Tests/udev PORT bench 100` prints the event latency).
# Exits non-zero on any failure.
#
# Needs: gcc (with libasan/libubsan: Debian's gcc has them), openssl, a built libqssl.so and qssl-sim.
# Environment:
#   QSSL_BUILD_DIR  SwiftPM build folder holding libqssl.so and qssl-sim (default: .build/debug)
#   QSSL_LIBRARY    library to test (default: $QSSL_BUILD_DIR/libqssl.so; the shipped build
#                   .build-lib/host/libqssl.so.0 from scripts/build-lib.sh works too)
#   QSSL_SHIPPED_DIR  build-lib output the install step installs (default: QSSL_LIBRARY's folder when it is
#                   one, else .build-lib/host)
#   QSSL_SIM        qssl-sim to use (default: $QSSL_BUILD_DIR/qssl-sim)
#   QSSL_C_TARGET   host (default), aarch64 or armhf: QSSL_LIBRARY is a cross build of scripts/build-lib.sh;
#                   the programs are built with the target's gcc and run under qemu-user (no install step)
#   CC              compiler (default: gcc, or the target's cross gcc)
#   QSSL_C_CYCLES   open/close cycles of test_cycles (default: 1000)
#   QSSL_C_MODES    "plain asan" by default; "plain" skips the sanitizer build (for quick local runs only)
#   QSSL_C_ONLY     "program ...": run only these programs (for quick local runs only)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${QSSL_BUILD_DIR:-$root/.build/debug}
lib=${QSSL_LIBRARY:-$build/libqssl.so}
sim=${QSSL_SIM:-$build/qssl-sim}
# A cross-built library (scripts/build-lib.sh --target T): the programs are built with T's gcc and run under
# qemu-user, talking to qssl-sim and the echo servers of the host through the pty and loopback.
target=${QSSL_C_TARGET:-host}
case $target in
    host) cross=; run_prefix=() ;;
    # The programs run on the target's multiarch runtime (libc6 and libudev1 of Debian's libudev-dev:arm64 /
    # :armhf, in /lib/<triple>), not on the cross sysroot: libudev from the one and libc from the other would be
    # two C libraries in one process (it crashes in pthread_create).
    aarch64) cross=aarch64-linux-gnu-; run_prefix=(qemu-aarch64) ;;
    armhf) cross=arm-linux-gnueabihf-; run_prefix=(qemu-arm) ;;
    *) echo "Tests/c/run.sh: unknown QSSL_C_TARGET $target (host, aarch64, armhf)" >&2; exit 2 ;;
esac
cc=${CC:-${cross}gcc}
[ -z "$cross" ] || command -v "${run_prefix[0]}" >/dev/null || { echo "Tests/c/run.sh: ${run_prefix[0]} not found" >&2; exit 1; }
cycles=${QSSL_C_CYCLES:-1000}
modes=${QSSL_C_MODES:-plain asan}

die() { echo "Tests/c/run.sh: $*" >&2; exit 1; }
[ -f "$lib" ] || die "libqssl.so not found at $lib (build it: swift build --product qssl; or set QSSL_LIBRARY)"
[ -x "$sim" ] || die "qssl-sim not found at $sim (build it: swift build --product qssl-sim; or set QSSL_SIM)"
command -v "$cc" >/dev/null || die "$cc not found"
command -v openssl >/dev/null || die "openssl not found"
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
libdir=$(dirname "$lib")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qssl-ctest.XXXXXX")
# shellcheck source=../../scripts/background.sh
. "$root/scripts/background.sh"
cleanup() {
    stop_bg
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "== exports"
NM=${cross}nm "$root/Tests/c/check-exports.sh" "$lib"

echo "== certificates and servers"
"$root/scripts/make-test-certs.sh" "$tmp/certs" >/dev/null
c=$tmp/certs
start_bg "$sim" echo-server --cert "$c/server.pem" --key "$c/server.key"; tls_port=$bg_line
start_bg "$sim" echo-server --cert "$c/server.pem" --key "$c/server.key" --ca "$c/ca.pem" --require-client-cert
mtls_port=$bg_line
start_bg "$sim" echo-server --plain; tcp_port=$bg_line
start_bg "$sim" echo-server --cert "$c/server.pem" --key "$c/server.key" --send "bye"; bye_port=$bg_line
echo "TLS echo :$tls_port, TLS echo with client certificates :$mtls_port, TCP echo :$tcp_port, TLS send-and-close :$bye_port"

programs=(example test_options test_hostile test_strings test_nonascii test_secrets test_flows test_transparent test_cycles test_escape test_threads)
# Each run: "program [mode]" and the module's flags. A short "+++" guard on the module's side keeps each escape
# of test_transparent near the library's own second; test_escape runs on a line with physics (115200 baud
# both ways, the real 1 s guard enforced against the time bytes cross the line).
runs=("example|" "test_options|--pdp-deact-after 2" "test_threads|" "test_hostile|" "test_strings|" "test_nonascii|" "test_secrets|" "test_flows|" "test_transparent|--escape-guard 0.3" "test_cycles|"
      "test_escape load|--baud 115200" "test_escape peer-close|--baud 115200 --close-line closed"
      "test_escape peer-close|--baud 115200 --close-line no-carrier" "test_escape peer-close|--close-line urc")
# QSSL_C_ONLY="prog ...": only these programs' runs (for working on one test).
if [ -n "${QSSL_C_ONLY:-}" ]; then
    kept=()
    for run in "${runs[@]}"; do
        read -r p _ <<<"${run%%|*}"
        [[ " $QSSL_C_ONLY " == *" $p "* ]] && kept+=("$run")
    done
    runs=("${kept[@]}")
fi
failed=()
for mode in $modes; do
    flags=(-std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -I"$root/include")
    env_run=()
    if [ "$mode" = asan ]; then
        flags+=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
        # The executable itself links libasan (first in its NEEDED list), so the uninstrumented Swift library
        # needs no LD_PRELOAD; ASan's malloc serves the Swift runtime too. LeakSanitizer stays on: the Swift
        # runtime's long-lived allocations are reachable from globals and are not reported, so no suppressions.
        env_run=(env "ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1"
                 "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
    fi
    mkdir -p "$tmp/$mode"
    echo "== build ($mode): $cc ${flags[*]}"
    for p in "${programs[@]}"; do
        # The library by path (any file name: QSSL_LIBRARY may be the Embedded build's libqssl-embedded.so).
        "$cc" "${flags[@]}" -o "$tmp/$mode/$p" "$root/Tests/c/$p.c" "$lib" -Wl,-rpath,"$libdir" -lpthread
    done
    for run in "${runs[@]}"; do
        read -r p variant <<<"${run%%|*}"
        read -r -a sim_args <<<"${run#*|}"
        # Every module keeps a byte log; a failing run prints its tail (what crossed the line, with times).
        simlog=$tmp/$mode/sim-${p}${variant:+-$variant}-$(echo "${sim_args[*]}" | tr -c 'a-z0-9\n' '_').log
        start_bg "$sim" "${sim_args[@]}" --log "$simlog"
        dev=$bg_line
        case $p in
            example) args=("$dev" 127.0.0.1 "$mtls_port" "$c/ca.pem" "$c/client.pem" "$c/client.key") ;;
            test_hostile) args=("$dev" "$tls_port" "$tcp_port" "$bye_port") ;;
            test_options) mkdir -p "$tmp/$mode/options"; args=("$dev" "$tmp/$mode/options") ;;
            # starts its own modules with --log (the one started above stays unused)
            test_strings) args=("$sim" "$tls_port" "$tcp_port" "$tmp/$mode/strings") ;;
            test_nonascii) args=("$sim" "$tmp/$mode/nonascii") ;;
            test_secrets) args=("$sim" "$tls_port" "$c" "$tmp/$mode/secrets") ;;
            test_flows) args=("$dev" "$tls_port" "$mtls_port" "$tcp_port" "$bye_port" "$c") ;;
            test_transparent) args=("$dev" "$tls_port" "$bye_port") ;;
            test_cycles) args=("$dev" "$cycles") ;;
            test_threads) args=("$dev" "$tls_port" "$tcp_port") ;;
            test_escape) args=("$dev" "$tls_port" "$bye_port" "$variant") ;;
        esac
        echo "-- $mode/$p $variant (qssl-sim ${sim_args[*]})"
        if "${env_run[@]}" timeout 600 "${run_prefix[@]}" "$tmp/$mode/$p" "${args[@]}"; then
            echo "PASS $mode/$p $variant"
        else
            echo "FAIL $mode/$p $variant"
            echo "   last lines of the module's byte log ($simlog):"
            tail -n 25 "$simlog" | cut -c1-300 | sed 's/^/   /'
            failed+=("$mode/$p $variant")
        fi
    done
done

if [ "$target" != host ]; then
    # install.sh and pkg-config are the same for every target; the host runs check them.
    [ ${#failed[@]} -eq 0 ] || { echo "C tests ($target) FAILED: ${failed[*]}"; exit 1; }
    echo "C tests ($target, qemu-user): all passed (${#programs[@]} programs x modes: $modes)"
    exit 0
fi

# --- hot-plug: test_hotplug.c under umockdev-wrapper (real libudev over faked sysfs/uevents, qssl-sim behind a
# faked FTDI bridge); needs umockdev and libumockdev-dev (scripts/deps.sh)
command -v umockdev-wrapper >/dev/null || die "umockdev-wrapper not found (apt-get install umockdev; scripts/deps.sh)"
pkg-config --exists umockdev-1.0 || die "umockdev-1.0.pc not found (apt-get install libumockdev-dev; scripts/deps.sh)"
read -r -a umock_flags <<<"$(pkg-config --cflags --libs umockdev-1.0)"
# tmpfs keeps umockdev's testbed fast; its socket paths must stay short
hotplug_tmp=/dev/shm
[ -d "$hotplug_tmp" ] || hotplug_tmp=${TMPDIR:-/tmp}
for mode in $modes; do
    hflags=(-std=gnu11 -O1 -g -Wall -Wextra -Werror -I"$root/include" -I"$root/Tests/c")
    henv=(env "TMPDIR=$hotplug_tmp")
    if [ "$mode" = asan ]; then
        hflags+=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
        # umockdev-wrapper puts its preload library first; ASan must not insist on coming first. GLib's type system
        # keeps allocations for the process's lifetime that LSan cannot attribute: leak checking stays with the
        # other programs.
        henv+=("ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0:halt_on_error=1"
               "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
    fi
    "$cc" "${hflags[@]}" -o "$tmp/$mode/test_hotplug" "$root/Tests/c/test_hotplug.c" "$lib" -Wl,-rpath,"$libdir" \
        "${umock_flags[@]}" -lpthread -lm
    echo "-- $mode/test_hotplug (umockdev-wrapper)"
    if "${henv[@]}" timeout 600 umockdev-wrapper "$tmp/$mode/test_hotplug" "$sim" "$root/Tests/udev" "$tcp_port"; then
        echo "PASS $mode/test_hotplug"
    else
        echo "FAIL $mode/test_hotplug"
        failed+=("$mode/test_hotplug")
    fi
done
# --- end hot-plug

echo "== install step (scripts/install.sh of the shipped build into a temporary prefix, example built with pkg-config)"
# The shipped build (scripts/build-lib.sh): the library under test when it is one, else the default output.
major=$(awk '/#define QSSL_VERSION_MAJOR/{print $3}' "$root/include/qssl.h")
shipped=${QSSL_SHIPPED_DIR:-}
if [ -z "$shipped" ]; then
    if compgen -G "$libdir/libqssl.so.$major.*.*" >/dev/null; then shipped=$libdir; else shipped=$root/.build-lib/host; fi
fi
compgen -G "$shipped/libqssl.so.$major.*.*" >/dev/null ||
    die "no shipped build in $shipped for the install step (run scripts/build-lib.sh, or set QSSL_SHIPPED_DIR)"
prefix=$tmp/prefix
"$root/scripts/install.sh" --prefix "$prefix" --build-dir "$shipped" --udev-rules-dir "$prefix/rules.d" | tee "$tmp/install.out"
[ -f "$prefix/rules.d/99-qssl.rules" ] || die "install.sh --udev-rules-dir installed no 99-qssl.rules"
# A prefix ld.so does not scan: no ldconfig, but the hint for programs and Python users.
grep -q "LD_LIBRARY_PATH=$prefix/lib" "$tmp/install.out" || die "install.sh printed no LD_LIBRARY_PATH hint for $prefix/lib"
[ "$(readlink "$prefix/lib/libqssl.so")" = "libqssl.so.$major" ] || die "libqssl.so does not link to libqssl.so.$major"
pc=(env PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config)
[ "$("${pc[@]}" --modversion qssl)" = "$(readlink "$prefix/lib/libqssl.so.$major" | sed "s/^libqssl\.so\.//")" ] ||
    die "qssl.pc's version is not the installed library's"
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror -o "$tmp/example-installed" "$root/Tests/c/example.c" $("${pc[@]}" --cflags --libs qssl)
# No RUNPATH forced on programs: they find the library as any other, here through LD_LIBRARY_PATH.
! readelf -d "$tmp/example-installed" | grep -E 'RPATH|RUNPATH' >/dev/null || die "qssl.pc put a RUNPATH into the program"
readelf -d "$tmp/example-installed" | grep -F "[libqssl.so.$major]" >/dev/null || die "example-installed does not need libqssl.so.$major"
# The static library: the same program with no libqssl at run time.
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror -o "$tmp/example-static" "$root/Tests/c/example.c" \
    $("${pc[@]}" --cflags qssl) "$prefix/lib/libqssl.a" $("${pc[@]}" --static --libs-only-l qssl | sed 's/-lqssl//')
! readelf -d "$tmp/example-static" | grep -F libqssl >/dev/null || die "example-static still needs a libqssl"
for p in example-installed example-static; do
    start_bg "$sim"
    if LD_LIBRARY_PATH=$prefix/lib timeout 120 "$tmp/$p" "$bg_line" 127.0.0.1 "$mtls_port" "$c/ca.pem" "$c/client.pem" "$c/client.key" \
        && { [ $p = example-static ] || LD_LIBRARY_PATH=$prefix/lib ldd "$tmp/$p" | grep -F "$prefix/lib/libqssl.so.$major" >/dev/null; }; then
        echo "PASS installed/$p"
    else
        echo "FAIL installed/$p"
        failed+=("installed/$p")
    fi
done
# Uninstall with the same options leaves the prefix empty; DESTDIR stages under a root with the final paths inside.
"$root/scripts/install.sh" --prefix "$prefix" --udev-rules-dir "$prefix/rules.d" --uninstall >/dev/null
left=$(find "$prefix" ! -type d)
if [ -z "$left" ]; then echo "PASS install/uninstall"; else echo "FAIL install/uninstall: left $left"; failed+=("install/uninstall"); fi
DESTDIR=$tmp/stage "$root/scripts/install.sh" --prefix /opt/qssl --build-dir "$shipped" >/dev/null
if [ -f "$tmp/stage/opt/qssl/lib/libqssl.a" ] && [ -f "$tmp/stage/opt/qssl/include/qssl.h" ] \
    && grep -qx "libdir=/opt/qssl/lib" "$tmp/stage/opt/qssl/lib/pkgconfig/qssl.pc"; then
    echo "PASS install/destdir"
else
    echo "FAIL install/destdir"; failed+=("install/destdir")
fi

echo "== install step into a directory ld.so scans (a stub ldconfig stands in for the system's)"
# The real ldconfig would change this machine's loader cache; the stub reports prefix2/lib as scanned, records
# its calls and then lists the library as cached, so install.sh's decision is checked, not the system's state.
prefix2=$tmp/prefix2
mkdir -p "$tmp/fakebin"
cat > "$tmp/fakebin/ldconfig" <<'STUB'
#!/bin/sh
echo "args:$*" >> "$FAKE_LD_LOG"
case "$*" in
    *-N*) echo "$FAKE_LD_DIR: (from /etc/ld.so.conf.d/fake.conf:1)" ;;
    -p) printf '\tlibqssl.so.0 (libc6,x86-64) => %s/libqssl.so.0\n' "$FAKE_LD_DIR" ;;
esac
STUB
chmod +x "$tmp/fakebin/ldconfig"
mkdir -p "$prefix2/lib"
PATH=$tmp/fakebin:$PATH FAKE_LD_LOG=$tmp/ldconfig.log FAKE_LD_DIR=$prefix2/lib \
    "$root/scripts/install.sh" --prefix "$prefix2" --build-dir "$shipped" | tee "$tmp/install2.out"
if [ "$(id -u)" -eq 0 ]; then
    # As root: the cache is rebuilt (a call without arguments) and the result reported.
    if grep -qx "args:" "$tmp/ldconfig.log" && grep -q "is in ld.so's cache" "$tmp/install2.out"; then
        echo "PASS install/ldconfig"
    else
        echo "FAIL install/ldconfig"; failed+=("install/ldconfig")
    fi
else
    # Not root: ldconfig is only asked for its directories, and the user is told to run it.
    if ! grep -qx "args:" "$tmp/ldconfig.log" && grep -q "sudo ldconfig" "$tmp/install2.out"; then
        echo "PASS install/ldconfig-hint"
    else
        echo "FAIL install/ldconfig-hint"; failed+=("install/ldconfig-hint")
    fi
fi

if [ ${#failed[@]} -gt 0 ]; then
    echo "C tests FAILED: ${failed[*]}"
    exit 1
fi
echo "C tests: all passed (${#programs[@]} programs x modes: $modes, the installed example (shared and static), uninstall, DESTDIR, the ldconfig step)"
