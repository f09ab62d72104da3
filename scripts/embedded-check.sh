#!/usr/bin/env bash
# Builds everything that goes into libqssl.so (QSSLCore + QSSL) as Embedded Swift and links it into a
# shared library that needs only libc/libm (and libudev for hot-plug). Fails if any library code leaves the Embedded subset.
# Usage: scripts/embedded-check.sh [OUTDIR]   (prints the size of the stripped library)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.build-embedded}
mkdir -p "$out/cqssl"
swiftc=$(command -v swiftc)
toolchain=$(dirname "$(dirname "$swiftc")")
target=$(uname -m)-unknown-linux-gnu

# The header-only C target gets its module map from SwiftPM; give the Embedded build the same one.
cat > "$out/cqssl/module.modulemap" <<MAP
module CQSSL {
    header "$root/include/qssl.h"
    export *
}
MAP

common=(-target "$target" -enable-experimental-feature Embedded -wmo -Osize -parse-as-library
        -Xcc -fPIC -I "$root/Sources/CPosix" -I "$root/Sources/CUdev" -I "$out/cqssl" -I "$out")

core_sources=$(find "$root/Sources/QSSLCore" -name '*.swift' | sort)
lib_sources=$(find "$root/Sources/QSSL" -name '*.swift' | sort)

echo "embedded: compiling QSSLCore ($(echo "$core_sources" | wc -l) files)"
# shellcheck disable=SC2086
"$swiftc" "${common[@]}" -module-name QSSLCore -emit-module -emit-module-path "$out/QSSLCore.swiftmodule" \
    -c $core_sources -o "$out/QSSLCore.o"
echo "embedded: compiling QSSL ($(echo "$lib_sources" | wc -l) files)"
# shellcheck disable=SC2086
"$swiftc" "${common[@]}" -module-name QSSL -c $lib_sources -o "$out/QSSL.o"

tables=$(find "$toolchain/lib/swift/embedded" -name 'libswiftUnicodeDataTables.a' -path "*$(uname -m)*" -print -quit)
cat > "$out/qssl.map" <<'MAP'
{ global: qssl_*; local: *; };
MAP
echo "embedded: linking libqssl-embedded.so"
gcc -shared -o "$out/libqssl-embedded.so" "$out/QSSLCore.o" "$out/QSSL.o" ${tables:+"$tables"} \
    -Wl,-z,defs -Wl,--version-script="$out/qssl.map" -ludev -lm -lpthread
strip -o "$out/libqssl-embedded.stripped.so" "$out/libqssl-embedded.so"
echo "embedded: OK: $(stat -c %s "$out/libqssl-embedded.stripped.so") bytes stripped; needs: $(readelf -d "$out/libqssl-embedded.so" | awk '/NEEDED/{print $5}' | tr -d '[]' | tr '\n' ' ')"
echo "embedded: exported: $(nm -D --defined-only "$out/libqssl-embedded.so" | awk '{print $3}' | grep -c '^qssl_') qssl_* symbols"
