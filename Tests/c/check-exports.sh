#!/usr/bin/env bash
# Compares the functions declared in include/qssl.h with the dynamic symbols libqssl.so defines: every
# declared function must be exported, nothing else may be (the version script's job), and each must carry the
# symbol version of its node in scripts/qssl.map (qssl_socket_fd@@QSSL_0.2). scripts/check-symbol-map.sh
# first checks that the map names each function of the header in exactly one node.
# usage: Tests/c/check-exports.sh LIBQSSL_SO     ($NM: the nm to use, e.g. aarch64-linux-gnu-nm)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${1:?usage: check-exports.sh path/to/libqssl.so}
nm=${NM:-nm}
[ -f "$lib" ] || { echo "check-exports: $lib not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$root/scripts/check-symbol-map.sh" --pairs | awk '{print $1 "@@" $2}' > "$tmp/want"
# Defined global dynamic symbols (upper-case nm type; lower case = local, not exported), without the
# version nodes themselves (type A).
"$nm" -D --defined-only "$lib" | awk '$2 ~ /^[A-Z]$/ && $2 != "A" {print $NF}' | sort -u > "$tmp/got"

if ! diff=$(diff "$tmp/want" "$tmp/got"); then
    echo "check-exports: $(basename "$lib") differs from include/qssl.h + scripts/qssl.map" \
        "(< declared, not exported with this version; > exported but not so declared):"
    echo "$diff" | grep '^[<>]' | sed 's/^/  /'
    exit 1
fi
echo "check-exports: OK: $(wc -l < "$tmp/want") functions of qssl.h exported, nothing else, each in its version node" \
    "($(sed 's/.*@@//' "$tmp/got" | sort -u | tr '\n' ' ' | sed 's/ $//'))"
