#!/usr/bin/env bash
# Builds the shipped libqssl: QSSLCore + QSSL as Embedded Swift, linked into a shared library that needs only
# libc (plus the libraries of --libs; libm would be allowed, nothing uses it today), and a static libqssl.a
# beside it. Fails if any library code leaves the Embedded subset.
#
# usage: scripts/build-lib.sh [--target host|aarch64|armhf] [--out DIR] [--libs "-lfoo -lbar"]
# Hot-plug detection links libudev (the target's: Debian's libudev-dev:arm64 / :armhf for the ARM builds).
#   --target  host (default), or a cross build with Debian's cross gcc and sysroot (see scripts/deps.sh)
#   --out     default .build-lib/TARGET
#   --libs    the libraries to link besides libc/libm (also $QSSL_LIBS); default "-ludev"
#   --relink  link the objects of the previous build again (link flag work), no compiling
# Produces in OUT: libqssl.so.MAJOR.MINOR.PATCH (stripped, SONAME libqssl.so.MAJOR), the libqssl.so.MAJOR and
# libqssl.so links, libqssl.a (one object whose only global symbols are the qssl_* functions),
# obj/libqssl.so.unstripped (for nm / size work), and prints size, SONAME and dependencies.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=host
out=
libs=${QSSL_LIBS:--ludev}
relink=no
while [ $# -gt 0 ]; do
    case $1 in
        --target) target=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --libs) libs=$2; shift 2 ;;
        --relink) relink=yes; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "build-lib.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
out=${out:-$root/.build-lib/$target}
mkdir -p "$out/obj/cqssl"
out=$(cd "$out" && pwd)
obj=$out/obj
swiftc=$(command -v swiftc)
bindir=$(dirname "$(readlink -f "$swiftc")")
toolchain=$(dirname "$bindir")

# shellcheck source=targets.sh
. "$root/scripts/targets.sh"
qssl_target "$target" "$obj"

major=$(awk '/#define QSSL_VERSION_MAJOR/{print $3}' "$root/include/qssl.h")
minor=$(awk '/#define QSSL_VERSION_MINOR/{print $3}' "$root/include/qssl.h")
patch=${QSSL_VERSION_PATCH:-0}
soname=libqssl.so.$major
real=libqssl.so.$major.$minor.$patch

"$root/scripts/check-symbol-map.sh"

# The header-only C target gets its module map from SwiftPM; give this build the same one.
cat > "$obj/cqssl/module.modulemap" <<MAP
module CQSSL {
    header "$root/include/qssl.h"
    export *
}
MAP

# -function-sections + --gc-sections: specialisations and runtime pieces nothing calls are dropped at link time.
common=(-target "$triple" -enable-experimental-feature Embedded -wmo "$opt" -parse-as-library
        -Xfrontend -function-sections -Xcc -fPIC -Xcc -ffunction-sections -Xcc -fdata-sections
        "${target_flags[@]}" -I "$root/Sources/CPosix" -I "$root/Sources/CUdev" -I "$obj/cqssl" -I "$obj")

mapfile -t core_sources < <(find "$root/Sources/QSSLCore" -name '*.swift' | sort)
mapfile -t lib_sources < <(find "$root/Sources/QSSL" -name '*.swift' | sort)
if [ $relink = no ]; then
    echo "build-lib ($target): compiling QSSLCore (${#core_sources[@]} files)"
    "$swiftc" "${common[@]}" -module-name QSSLCore -emit-module -emit-module-path "$obj/QSSLCore.swiftmodule" \
        -c "${core_sources[@]}" -o "$obj/QSSLCore.o"
    echo "build-lib ($target): compiling QSSL (${#lib_sources[@]} files)"
    "$swiftc" "${common[@]}" -module-name QSSL -c "${lib_sources[@]}" -o "$obj/QSSL.o"
fi

qssl_unicode_tables "$toolchain" "$obj"

echo "build-lib ($target): linking $real"
# The toolchain's lld folds identical functions (many specialisations compile to the same code).
ld_flags=()
[ -x "$bindir/ld.lld" ] && ld_flags=(-B"$bindir" -fuse-ld=lld -Wl,--icf=all)
# shellcheck disable=SC2086
"${cross}gcc" -shared -o "$obj/libqssl.so.unstripped" "$obj/QSSLCore.o" "$obj/QSSL.o" "$tables" "${ld_flags[@]}" \
    -Wl,-soname,"$soname" -Wl,-z,defs -Wl,--gc-sections -Wl,--as-needed -Wl,-O1 \
    -Wl,--version-script="$root/scripts/qssl.map" "${extra_link[@]}" $libs -lm -lpthread
"${cross}strip" --strip-all -o "$out/$real" "$obj/libqssl.so.unstripped"
ln -sf "$real" "$out/$soname"
ln -sf "$soname" "$out/libqssl.so"

# The static library: one relocatable object with every Swift and runtime symbol made local, so that programs
# (and other Embedded Swift code) linking it see the qssl_* functions only.
"${cross}ld" -r -o "$obj/qssl-static.o" "$obj/QSSLCore.o" "$obj/QSSL.o" "$tables"
"$root/scripts/check-symbol-map.sh" --pairs | awk '{print $1}' > "$obj/exports.txt"
"${cross}objcopy" --keep-global-symbols="$obj/exports.txt" "$obj/qssl-static.o"
rm -f "$out/libqssl.a"
"${cross}ar" rcs "$out/libqssl.a" "$obj/qssl-static.o"

needed=$("${cross}readelf" -d "$out/$real" | awk '/NEEDED/{print $5}' | tr -d '[]' | tr '\n' ' ')
echo "build-lib ($target): OK: $out/$real $(stat -c %s "$out/$real") bytes stripped;" \
    "SONAME $soname; needs: $needed; libqssl.a $(stat -c %s "$out/libqssl.a") bytes"
