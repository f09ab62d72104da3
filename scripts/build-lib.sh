#!/usr/bin/env bash
# Builds the shipped libqssl: QSSLCore + QSSL as Embedded Swift, linked into a shared library that needs only
# libc and libm (plus the libraries of --libs), and a static libqssl.a beside it. Fails if any library code
# leaves the Embedded subset.
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

# The toolchain has Embedded standard libraries for Linux on x86_64 only; for ARM the bare-metal ones link into
# Linux libraries (same C calling convention), with the Linux headers of Debian's cross sysroot. libudev.h is not
# in the cross sysroots; Debian's multiarch libudev-dev:arm64/:armhf put it in /usr/include (the same for every
# architecture): a copy of it alone, searched after the sysroot, so that no other host header is taken.
udev_header=(-Xcc -idirafter -Xcc "$obj/include-udev")
if [ "$target" != host ]; then
    mkdir -p "$obj/include-udev"
    cp -f /usr/include/libudev.h "$obj/include-udev/" ||
        { echo "build-lib.sh: /usr/include/libudev.h missing (libudev-dev:<arch>, scripts/deps.sh)" >&2; exit 1; }
fi
case $target in
    host)
        triple=$(uname -m)-unknown-linux-gnu; cross=
        target_flags=(); extra_link=(); opt=-Osize ;;
    aarch64)
        triple=aarch64-none-none-elf; cross=aarch64-linux-gnu-
        target_flags=(-Xcc --sysroot=/usr/aarch64-linux-gnu -Xcc -I/usr/aarch64-linux-gnu/include
                      -Xcc -D__linux__ -Xcc -D__unix__ "${udev_header[@]}")
        # -Osize code for this target crashes: a short trace line ("RDY") reaches the log callback as a corrupt
        # String (C tests test_threads, test_secrets under qemu-aarch64; not the machine outliner). -O does not.
        extra_link=(-L/usr/lib/aarch64-linux-gnu); opt=-O ;;
    armhf)
        triple=armv7-none-none-eabi; cross=arm-linux-gnueabihf-
        target_flags=(-Xcc -mfloat-abi=hard -Xcc --sysroot=/usr/arm-linux-gnueabihf
                      -Xcc -I/usr/arm-linux-gnueabihf/include -Xcc -D__linux__ -Xcc -D__unix__ "${udev_header[@]}")
        # The ARM EHABI unwind tables name __aeabi_unwind_cpp_pr0: from libgcc_eh.a, not libgcc_s.so.1 (which a
        # router may not have).
        extra_link=(-static-libgcc -L/usr/lib/arm-linux-gnueabihf); opt=-Osize ;;
    *) echo "build-lib.sh: unknown target $target (host, aarch64, armhf)" >&2; exit 2 ;;
esac
for tool in gcc ld ar objcopy strip readelf; do
    command -v "$cross$tool" >/dev/null ||
        { echo "build-lib.sh: $cross$tool not found (scripts/deps.sh installs the cross tools)" >&2; exit 1; }
done

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

tables=$toolchain/lib/swift/embedded/$triple/libswiftUnicodeDataTables.a
[ -f "$tables" ] || { echo "build-lib.sh: $tables not found" >&2; exit 1; }
if [ "$target" = armhf ]; then
    # The bare-metal tables are tagged soft-float; they pass no floating-point arguments, so the tag (which makes
    # GNU ld refuse to mix them with hard-float objects, also in a program linking libqssl.a) can go.
    "${cross}objcopy" --remove-section=.ARM.attributes "$tables" "$obj/libswiftUnicodeDataTables.a"
    tables=$obj/libswiftUnicodeDataTables.a
fi

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
