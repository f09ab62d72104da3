# Sourced by scripts/build-lib.sh and scripts/embedded-cli.sh: what an Embedded Swift build for one target needs.
#   qssl_target TARGET OBJDIR   (TARGET: host, aarch64, armhf; OBJDIR: the build's object folder)
# sets: triple (swiftc -target), cross (prefix of the gcc/binutils to use), target_flags (swiftc flags),
# extra_link (gcc link flags), opt (optimisation), run_prefix (how to run a target binary here: qemu-user).
#
# The toolchain has Embedded standard libraries for Linux on x86_64 only; for ARM the bare-metal ones link into
# Linux programs and libraries (same C calling convention), with the Linux headers of Debian's cross sysroot.
# libudev.h is not in the cross sysroots; Debian's multiarch libudev-dev:arm64/:armhf put it in /usr/include (the
# same for every architecture): a copy of it alone, searched after the sysroot, so that no other host header is
# taken.
# The tool prefix and how to run the target's binaries here, alone (no files touched):
#   qssl_target_runner TARGET   sets cross and run_prefix
qssl_target_runner() {
    case $1 in
        host) cross=; run_prefix=() ;;
        aarch64) cross=aarch64-linux-gnu-; run_prefix=(qemu-aarch64) ;;
        armhf) cross=arm-linux-gnueabihf-; run_prefix=(qemu-arm) ;;
        *) echo "$0: unknown target $1 (host, aarch64, armhf)" >&2; return 2 ;;
    esac
}

qssl_target() {
    qssl_target_runner "$1" || return
    local udev_header=(-Xcc -idirafter -Xcc "$2/include-udev")
    if [ "$1" != host ]; then
        mkdir -p "$2/include-udev"
        cp -f /usr/include/libudev.h "$2/include-udev/" ||
            { echo "$0: /usr/include/libudev.h missing (libudev-dev:<arch>, scripts/deps.sh)" >&2; return 1; }
    fi
    case $1 in
        host)
            triple=$(uname -m)-unknown-linux-gnu
            target_flags=(); extra_link=(); opt=-Osize ;;
        aarch64)
            triple=aarch64-none-none-elf
            target_flags=(-Xcc --sysroot=/usr/aarch64-linux-gnu -Xcc -I/usr/aarch64-linux-gnu/include
                          -Xcc -D__linux__ -Xcc -D__unix__ "${udev_header[@]}")
            # -Osize code for this target crashes: a short trace line ("RDY") reaches the log callback as a
            # corrupt String (C tests test_threads, test_secrets under qemu-aarch64; not the machine outliner).
            # -O does not.
            extra_link=(-L/usr/lib/aarch64-linux-gnu); opt=-O ;;
        armhf)
            triple=armv7-none-none-eabi
            target_flags=(-Xcc -mfloat-abi=hard -Xcc --sysroot=/usr/arm-linux-gnueabihf
                          -Xcc -I/usr/arm-linux-gnueabihf/include -Xcc -D__linux__ -Xcc -D__unix__
                          "${udev_header[@]}")
            # The ARM EHABI unwind tables name __aeabi_unwind_cpp_pr0: from libgcc_eh.a, not libgcc_s.so.1 (which
            # a router may not have).
            extra_link=(-static-libgcc -L/usr/lib/arm-linux-gnueabihf); opt=-Osize ;;
    esac
    local tool
    for tool in gcc ld ar objcopy strip readelf; do
        command -v "$cross$tool" >/dev/null ||
            { echo "$0: $cross$tool not found (scripts/deps.sh installs the cross tools)" >&2; return 1; }
    done
}

# The Embedded Unicode tables for the target (String comparison and case code needs them), in a form the
# target's linker takes: the armhf copy loses its soft-float tag (the tables pass no floating-point arguments; GNU
# ld refuses to mix the tag with hard-float objects, also in a program linking libqssl.a). Sets `tables`.
qssl_unicode_tables() {   # TOOLCHAIN OBJDIR
    tables=$1/lib/swift/embedded/$triple/libswiftUnicodeDataTables.a
    [ -f "$tables" ] || { echo "$0: $tables not found" >&2; return 1; }
    if [ "$triple" = armv7-none-none-eabi ]; then
        "${cross}objcopy" --remove-section=.ARM.attributes "$tables" "$2/libswiftUnicodeDataTables.a"
        tables=$2/libswiftUnicodeDataTables.a
    fi
}
