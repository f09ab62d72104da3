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
#   --udev-rules  also install udev/99-qssl.rules (README "Hot-plug"); --udev-rules-dir DIR: there, not in
#                 /etc/udev/rules.d
# Afterwards: cc prog.c $(pkg-config --cflags --libs qssl)   (PKG_CONFIG_PATH=LIBDIR/pkgconfig if needed).
# libqssl.so needs the Swift runtime libraries (libswiftCore.so...) where its RUNPATH or ld.so finds them.
# Run as root into a directory ld.so scans (/usr/local/lib, /usr/lib...), it also runs ldconfig, so that
# dlopen("libqssl.so") - the Python package's last resort - finds the library; otherwise it prints what to set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
libdir=
includedir=
builddir=
destdir=${DESTDIR:-}
udev_rules=no
udev_dir=
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=$2; shift 2 ;;
        --libdir) libdir=$2; shift 2 ;;
        --includedir) includedir=$2; shift 2 ;;
        --build-dir) builddir=$2; shift 2 ;;
        --destdir) destdir=$2; shift 2 ;;
        --udev-rules) udev_rules=yes; shift ;;
        --udev-rules-dir) udev_rules=yes; udev_dir=$2; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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

# A program linked with pkg-config's flags finds the library through its RUNPATH, but dlopen("libqssl.so") (the
# Python package, plugins) searches only LD_LIBRARY_PATH and ld.so's cache, and the cache learns of a new
# library only when ldconfig runs.
ldconfig_bin=$(command -v ldconfig || echo /sbin/ldconfig)
real_libdir=$(cd "$libdir" 2>/dev/null && pwd -P || echo "$libdir")
scanned=no
if [ -z "$destdir" ] && [ -x "$ldconfig_bin" ]; then
    # -v -N lists the directories ld.so's cache is built from without rebuilding it (any user may run it).
    while IFS= read -r d; do
        if [ -d "$d" ] && [ "$(cd "$d" && pwd -P)" = "$real_libdir" ]; then scanned=yes; fi
    done < <("$ldconfig_bin" -v -N 2>/dev/null | sed -n 's|^\(/[^:]*\):.*|\1|p')
fi
if [ -n "$destdir" ]; then
    echo "note: staged under $destdir: run ldconfig on the target after installing there"
elif [ $scanned = yes ] && [ "$(id -u)" -eq 0 ]; then
    "$ldconfig_bin"
    cached=$("$ldconfig_bin" -p | sed -n 's|^[[:space:]]*libqssl\.so .*=> \(.*\)$|\1|p' | sed -n 1p)
    if [ -n "$cached" ] && [ "$(cd "$(dirname "$cached")" && pwd -P)" = "$real_libdir" ]; then
        echo "ldconfig: libqssl.so is in ld.so's cache: dlopen(\"libqssl.so\") finds $libdir/libqssl.so"
    else
        echo "warning: ldconfig ran but its cache has no libqssl.so from $libdir (another one shadows it?)" >&2
    fi
elif [ $scanned = yes ]; then
    echo "note: run 'sudo ldconfig' so that dlopen(\"libqssl.so\") finds $libdir/libqssl.so"
else
    echo "note: ld.so does not search $libdir: for dlopen(\"libqssl.so\") (the Python package) set" \
        "LD_LIBRARY_PATH=$libdir (or QSSL_LIBRARY=$libdir/libqssl.so), or list $libdir in /etc/ld.so.conf.d/ and run ldconfig"
fi

# --- udev rules (hot-plug) -------------------------------------------------------------------------------------
# `--udev-rules` (or --udev-rules-dir DIR) also installs udev/99-qssl.rules (ModemManager keeps off qssl's ports; /dev/qssl/ links)
# into DIR (default /etc/udev/rules.d, under --destdir if given) and asks a running udevd to reload.
install_udev_rules() {
    local dir=${1:-/etc/udev/rules.d}
    install -d "$destdir$dir"
    install -m 0644 "$root/udev/99-qssl.rules" "$destdir$dir/99-qssl.rules"
    echo "installed: $destdir$dir/99-qssl.rules"
    if [ -z "$destdir" ] && [ -S /run/udev/control ] && command -v udevadm >/dev/null; then
        udevadm control --reload && udevadm trigger --subsystem-match=tty --action=change
        echo "udev: rules reloaded, tty devices re-triggered"
    else
        echo "udev: no running udevd here; the rules apply from its next start"
    fi
}

if [ "$udev_rules" = yes ]; then install_udev_rules "$udev_dir"; fi
