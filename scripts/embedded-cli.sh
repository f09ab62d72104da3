#!/usr/bin/env bash
# Builds the qssl command as Embedded Swift against the shipped library of scripts/build-lib.sh (run that first;
# its output folder is the default LIBDIR): the small binary that ships next to libqssl.so.0 on a router. Fails if
# the command leaves the Embedded subset. Prints the stripped size and what the binary needs; the binary is
# LIBDIR/qssl (LIBDIR/qssl.stripped is what `scripts/install.sh --cli LIBDIR` installs as PREFIX/bin/qssl).
# Usage: scripts/embedded-cli.sh [LIBDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.build-lib/host}
[ -e "$out/libqssl.so.0" ] && [ -f "$out/obj/cqssl/module.modulemap" ] ||
    { echo "embedded-cli: run scripts/build-lib.sh first (no shipped library in $out)" >&2; exit 1; }
swiftc=$(command -v swiftc)
toolchain=$(dirname "$(dirname "$(readlink -f "$swiftc")")")
target=$(uname -m)-unknown-linux-gnu

echo "embedded-cli: compiling Sources/qssl-cli"
"$swiftc" -target "$target" -enable-experimental-feature Embedded -wmo -Osize -swift-version 5 \
    -Xcc -fPIC -Xfrontend -function-sections -I "$root/Sources/CCLI" -I "$out/obj/cqssl" -module-name qssl_cli \
    -c "$root"/Sources/qssl-cli/*.swift -o "$out/obj/qssl-cli.o"
tables=$(find "$toolchain/lib/swift/embedded" -name 'libswiftUnicodeDataTables.a' -path "*$(uname -m)*" -print -quit)
echo "embedded-cli: linking qssl against libqssl.so.0"
# The installed command finds the library as any program does (ld.so's paths); the build's copy also next to it.
gcc -o "$out/qssl" "$out/obj/qssl-cli.o" ${tables:+"$tables"} -L "$out" -l:libqssl.so.0 -Wl,-rpath,'$ORIGIN' \
    -Wl,--gc-sections -lm -lpthread
strip -o "$out/qssl.stripped" "$out/qssl"
echo "embedded-cli: OK: $(stat -c %s "$out/qssl.stripped") bytes stripped; needs: $(readelf -d "$out/qssl" | awk '/NEEDED/{print $5}' | tr -d '[]' | tr '\n' ' ')"
"$out/qssl" --help >/dev/null
