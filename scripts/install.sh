#!/usr/bin/env bash
# Installs the shipped C library built by scripts/build-lib.sh (building and installing are separate steps, so
# installing as root leaves no root-owned build folders): libqssl.so.M.m.p with its libqssl.so.M and libqssl.so
# links and libqssl.a into LIBDIR, qssl.h into INCLUDEDIR, qssl.pc into LIBDIR/pkgconfig.
#
# usage: scripts/build-lib.sh && scripts/install.sh [options]
#   --prefix DIR      default /usr/local
#   --libdir DIR      default PREFIX/lib
#   --includedir DIR  default PREFIX/include
#   --build-dir DIR   where the built library is (default .build-lib/host, scripts/build-lib.sh's output)
#   --destdir DIR     staging root prepended to every path (packaging); also read from $DESTDIR
#   --uninstall       removes what an install with the same options put there
#   --udev-rules      also install udev/99-qssl.rules into /etc/udev/rules.d (README "Hot-plug": ModemManager
#                     keeps off qssl's ports; /dev/qssl/ links); --udev-rules-dir DIR: into DIR instead
#   --cli DIR         also install the qssl command from DIR (scripts/embedded-cli.sh builds it) into PREFIX/bin
# Afterwards: cc prog.c $(pkg-config --cflags --libs qssl)   (PKG_CONFIG_PATH=LIBDIR/pkgconfig if needed).
# Run as root into a directory ld.so scans (/usr/local/lib, /usr/lib...), it also runs ldconfig, so that programs
# and dlopen("libqssl.so.0") - the Python package - find the library; otherwise it prints what to set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
libdir=
includedir=
builddir=$root/.build-lib/host
destdir=${DESTDIR:-}
action=install
udev_rules=no
udev_dir=
cli_dir=
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=$2; shift 2 ;;
        --libdir) libdir=$2; shift 2 ;;
        --includedir) includedir=$2; shift 2 ;;
        --build-dir) builddir=$2; shift 2 ;;
        --destdir) destdir=$2; shift 2 ;;
        --uninstall) action=uninstall; shift ;;
        --udev-rules) udev_rules=yes; shift ;;
        --udev-rules-dir) udev_rules=yes; udev_dir=$2; shift 2 ;;
        --cli) cli_dir=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
libdir=${libdir:-$prefix/lib}
includedir=${includedir:-$prefix/include}

major=$(awk '/#define QSSL_VERSION_MAJOR/{print $3}' "$root/include/qssl.h")
minor=$(awk '/#define QSSL_VERSION_MINOR/{print $3}' "$root/include/qssl.h")
soname=libqssl.so.$major
files=("$libdir/libqssl.so" "$libdir/$soname" "$libdir/libqssl.a" "$includedir/qssl.h" "$libdir/pkgconfig/qssl.pc")

if [ $action = uninstall ]; then
    # Every libqssl.so.MAJOR.* the links could have pointed at, so an uninstall after an upgrade leaves nothing.
    for f in "${files[@]}" "$destdir$libdir"/libqssl.so."$major".*; do
        f=${f#"$destdir"}
        if [ -e "$destdir$f" ] || [ -L "$destdir$f" ]; then rm -f "$destdir$f"; echo "removed: $destdir$f"; fi
    done
    rules=$destdir${udev_dir:-/etc/udev/rules.d}/99-qssl.rules
    if [ "$udev_rules" = yes ] && [ -e "$rules" ]; then rm -f "$rules"; echo "removed: $rules"; fi
    if [ -e "$destdir$prefix/bin/qssl" ]; then rm -f "$destdir$prefix/bin/qssl"; echo "removed: $destdir$prefix/bin/qssl"; fi
    [ -n "$destdir" ] || [ "$(id -u)" -ne 0 ] || ! command -v ldconfig >/dev/null || ldconfig
    exit 0
fi

real=$(cd "$builddir" 2>/dev/null && ls libqssl.so."$major"."$minor".* 2>/dev/null | sort -V | tail -1 || true)
[ -n "$real" ] && [ -f "$builddir/libqssl.a" ] || {
    echo "install.sh: no libqssl.so.$major.$minor.* and libqssl.a in $builddir: run scripts/build-lib.sh first" >&2
    exit 1
}

install -d "$destdir$libdir" "$destdir$includedir" "$destdir$libdir/pkgconfig"
install -m 0755 "$builddir/$real" "$destdir$libdir/$real"
ln -sfn "$real" "$destdir$libdir/$soname"
ln -sfn "$soname" "$destdir$libdir/libqssl.so"
install -m 0644 "$builddir/libqssl.a" "$destdir$libdir/libqssl.a"
install -m 0644 "$root/include/qssl.h" "$destdir$includedir/qssl.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$libdir|" -e "s|@INCLUDEDIR@|$includedir|" \
    -e "s|@VERSION@|${real#libqssl.so.}|" "$root/scripts/qssl.pc.in" > "$destdir$libdir/pkgconfig/qssl.pc"
chmod 0644 "$destdir$libdir/pkgconfig/qssl.pc"
if [ "$udev_rules" = yes ]; then
    # The rule: ModemManager keeps off qssl's ports; /dev/qssl/ links. A running udevd is asked to reload.
    dir=${udev_dir:-/etc/udev/rules.d}
    install -d "$destdir$dir"
    install -m 0644 "$root/udev/99-qssl.rules" "$destdir$dir/99-qssl.rules"
    echo "installed: $destdir$dir/99-qssl.rules"
    if [ -z "$destdir" ] && [ -z "$udev_dir" ] && [ -S /run/udev/control ] && command -v udevadm >/dev/null; then
        udevadm control --reload && udevadm trigger --subsystem-match=tty --action=change
        echo "udev: rules reloaded, tty devices re-triggered"
    else
        echo "udev: the rules apply once udevd (re)loads them"
    fi
fi
if [ -n "$cli_dir" ]; then
    [ -x "$cli_dir/qssl.stripped" ] || { echo "install.sh: no $cli_dir/qssl.stripped: run scripts/embedded-cli.sh" >&2; exit 1; }
    install -d "$destdir$prefix/bin"
    install -m 0755 "$cli_dir/qssl.stripped" "$destdir$prefix/bin/qssl"
    echo "installed: $destdir$prefix/bin/qssl"
fi
echo "installed: $destdir$libdir/$real (+ $soname, libqssl.so, libqssl.a) $destdir$includedir/qssl.h" \
    "$destdir$libdir/pkgconfig/qssl.pc"

# Programs and dlopen("libqssl.so.0") search only LD_LIBRARY_PATH, ld.so's cache and the default directories,
# and the cache learns of a new library only when ldconfig runs.
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
    cached=$("$ldconfig_bin" -p | sed -n "s|^[[:space:]]*$soname .*=> \(.*\)\$|\1|p" | sed -n 1p)
    if [ -n "$cached" ] && [ "$(cd "$(dirname "$cached")" && pwd -P)" = "$real_libdir" ]; then
        echo "ldconfig: $soname is in ld.so's cache: programs and dlopen(\"$soname\") find $libdir/$soname"
    else
        echo "warning: ldconfig ran but its cache has no $soname from $libdir (another one shadows it?)" >&2
    fi
elif [ $scanned = yes ]; then
    echo "note: run 'sudo ldconfig' so that programs and dlopen(\"$soname\") find $libdir/$soname"
else
    echo "note: ld.so does not search $libdir: to run programs linked with qssl.pc and for the Python package set" \
        "LD_LIBRARY_PATH=$libdir (or QSSL_LIBRARY=$libdir/$soname), or list $libdir in /etc/ld.so.conf.d/ and run ldconfig"
fi
