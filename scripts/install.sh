#!/usr/bin/env bash
# Installs the C library: libqssl.so into LIBDIR, qssl.h into INCLUDEDIR, qssl.pc into LIBDIR/pkgconfig.
#
# usage: scripts/install.sh [--prefix DIR] [--libdir DIR] [--includedir DIR] [--build-dir DIR] [--destdir DIR]
#   --prefix      default /usr/local
#   --libdir      default PREFIX/lib
#   --includedir  default PREFIX/include
#   --build-dir   take libqssl.so from this SwiftPM build folder instead of building it
#                 (default: `swift build -c release --product qssl`, then .build/release)
#   --destdir     staging root prepended to every path (packaging); also read from $DESTDIR
# Afterwards: cc prog.c $(pkg-config --cflags --libs qssl)   (PKG_CONFIG_PATH=LIBDIR/pkgconfig if needed).
# libqssl.so needs the Swift runtime libraries (libswiftCore.so...) where its RUNPATH or ld.so finds them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
libdir=
includedir=
builddir=
destdir=${DESTDIR:-}
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=$2; shift 2 ;;
        --libdir) libdir=$2; shift 2 ;;
        --includedir) includedir=$2; shift 2 ;;
        --build-dir) builddir=$2; shift 2 ;;
        --destdir) destdir=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
libdir=${libdir:-$prefix/lib}
includedir=${includedir:-$prefix/include}

if [ -z "$builddir" ]; then
    (cd "$root" && swift build -c release --product qssl)
    builddir=$root/.build/release
fi
lib=$builddir/libqssl.so
[ -f "$lib" ] || { echo "install.sh: $lib not found" >&2; exit 1; }

major=$(awk '/#define QSSL_VERSION_MAJOR/{print $3}' "$root/include/qssl.h")
minor=$(awk '/#define QSSL_VERSION_MINOR/{print $3}' "$root/include/qssl.h")

install -d "$destdir$libdir" "$destdir$includedir" "$destdir$libdir/pkgconfig"
install -m 0755 "$lib" "$destdir$libdir/libqssl.so"
install -m 0644 "$root/include/qssl.h" "$destdir$includedir/qssl.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$libdir|" -e "s|@INCLUDEDIR@|$includedir|" \
    -e "s|@VERSION@|$major.$minor|" "$root/scripts/qssl.pc.in" > "$destdir$libdir/pkgconfig/qssl.pc"
chmod 0644 "$destdir$libdir/pkgconfig/qssl.pc"
echo "installed: $destdir$libdir/libqssl.so $destdir$includedir/qssl.h $destdir$libdir/pkgconfig/qssl.pc"
