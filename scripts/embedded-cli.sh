#!/usr/bin/env bash
# Builds the qssl command as Embedded Swift against the shipped library of scripts/build-lib.sh (run that first,
# for the same target; its output folder is the default LIBDIR): the small binary that ships next to
# libqssl.so.0 on a router. Fails if the command leaves the Embedded subset. Prints the stripped size and what the
# binary needs, and runs `qssl --version` (under qemu-user for ARM). The binary is LIBDIR/qssl
# (LIBDIR/qssl.stripped is what `scripts/install.sh --cli LIBDIR` installs as PREFIX/bin/qssl).
# Usage: scripts/embedded-cli.sh [--target host|aarch64|armhf] [LIBDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=host
out=
while [ $# -gt 0 ]; do
    case $1 in
        --target) target=$2; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        -*) echo "embedded-cli.sh: unknown option $1" >&2; exit 2 ;;
        *) out=$1; shift ;;
    esac
done
out=${out:-$root/.build-lib/$target}
[ -e "$out/libqssl.so.0" ] && [ -f "$out/obj/cqssl/module.modulemap" ] ||
    { echo "embedded-cli: run scripts/build-lib.sh --target $target first (no shipped library in $out)" >&2; exit 1; }
swiftc=$(command -v swiftc)
toolchain=$(dirname "$(dirname "$(readlink -f "$swiftc")")")
# shellcheck source=targets.sh
. "$root/scripts/targets.sh"
qssl_target "$target" "$out/obj"
qssl_unicode_tables "$toolchain" "$out/obj"

echo "embedded-cli ($target): compiling Sources/qssl-cli"
"$swiftc" -target "$triple" -enable-experimental-feature Embedded -wmo "$opt" -swift-version 5 \
    -Xcc -fPIC -Xfrontend -function-sections "${target_flags[@]}" -I "$root/Sources/CCLI" -I "$out/obj/cqssl" \
    -module-name qssl_cli -c "$root"/Sources/qssl-cli/*.swift -o "$out/obj/qssl-cli.o"
echo "embedded-cli ($target): linking qssl against libqssl.so.0"
# The installed command finds the library as any program does (ld.so's paths); the build's copy also next to it.
"${cross}gcc" -o "$out/qssl" "$out/obj/qssl-cli.o" "$tables" -L "$out" -l:libqssl.so.0 -Wl,-rpath,'$ORIGIN' \
    -Wl,--gc-sections "${extra_link[@]}" -lm -lpthread
"${cross}strip" -o "$out/qssl.stripped" "$out/qssl"
echo "embedded-cli ($target): OK: $(stat -c %s "$out/qssl.stripped") bytes stripped; needs:" \
    "$("${cross}readelf" -d "$out/qssl" | awk '/NEEDED/{print $5}' | tr -d '[]' | tr '\n' ' ')"
version=$("${run_prefix[@]}" "$out/qssl" --version)
echo "embedded-cli ($target): $version"
