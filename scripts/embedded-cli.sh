#!/usr/bin/env bash
# Builds the qssl command as Embedded Swift against the Embedded library of scripts/embedded-check.sh (run that
# first; its folder is the default OUTDIR): the small binary that ships next to libqssl on a router. Fails if the
# command leaves the Embedded subset. Prints the stripped size and what the binary needs.
# Usage: scripts/embedded-cli.sh [OUTDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.build-embedded}
[ -f "$out/libqssl-embedded.so" ] && [ -f "$out/cqssl/module.modulemap" ] ||
    { echo "embedded-cli: run scripts/embedded-check.sh first (no library in $out)" >&2; exit 1; }
swiftc=$(command -v swiftc)
toolchain=$(dirname "$(dirname "$swiftc")")
target=$(uname -m)-unknown-linux-gnu

echo "embedded-cli: compiling Sources/qssl-cli"
"$swiftc" -target "$target" -enable-experimental-feature Embedded -wmo -Osize -swift-version 5 \
    -Xcc -fPIC -Xfrontend -function-sections -I "$root/Sources/CCLI" -I "$out/cqssl" -module-name qssl_cli \
    -c "$root"/Sources/qssl-cli/*.swift -o "$out/qssl-cli.o"
tables=$(find "$toolchain/lib/swift/embedded" -name 'libswiftUnicodeDataTables.a' -path "*$(uname -m)*" -print -quit)
echo "embedded-cli: linking qssl against libqssl-embedded.so"
gcc -o "$out/qssl" "$out/qssl-cli.o" ${tables:+"$tables"} -L "$out" -l:libqssl-embedded.so -Wl,-rpath,'$ORIGIN' \
    -Wl,--gc-sections -lm -lpthread
strip -o "$out/qssl.stripped" "$out/qssl"
echo "embedded-cli: OK: $(stat -c %s "$out/qssl.stripped") bytes stripped; needs: $(readelf -d "$out/qssl" | awk '/NEEDED/{print $5}' | tr -d '[]' | tr '\n' ' ')"
"$out/qssl" --help >/dev/null
