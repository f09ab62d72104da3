#!/usr/bin/env bash
# Compares the functions declared in include/qssl.h with the dynamic symbols libqssl.so defines:
# every declared function must be exported, and nothing else may be (the version script's job).
# usage: Tests/c/check-exports.sh LIBQSSL_SO
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${1:?usage: check-exports.sh path/to/libqssl.so}
[ -f "$lib" ] || { echo "check-exports: $lib not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Preprocess (drops comments) and take every identifier qssl_* followed by "(": the function
# declarations. Function-pointer typedefs read "(*qssl_x_fn)(" and do not match.
gcc -E -P -x c "$root/include/qssl.h" | grep -oE '\bqssl_[A-Za-z0-9_]+[[:space:]]*\(' \
    | sed -E 's/[[:space:]]*\($//' | sort -u > "$tmp/declared"
# Defined global dynamic symbols (upper-case nm type; lower case = local, not exported), without the
# version node itself (type A) and without version suffixes (@@QSSL_0).
nm -D --defined-only "$lib" | awk '$2 ~ /^[A-Z]$/ && $2 != "A" {print $NF}' | sed -E 's/@.*$//' | sort -u > "$tmp/exported"

status=0
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
if [ -n "$missing" ]; then
    echo "check-exports: declared in qssl.h but not exported by $(basename "$lib"):"; echo "$missing" | sed 's/^/  /'
    status=1
fi
if [ -n "$extra" ]; then
    echo "check-exports: exported but not declared in qssl.h:"; echo "$extra" | sed 's/^/  /'
    status=1
fi
if [ $status -eq 0 ]; then
    echo "check-exports: OK: $(wc -l < "$tmp/declared") functions declared, the same $(wc -l < "$tmp/exported") exported"
fi
exit $status
