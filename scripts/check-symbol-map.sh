#!/usr/bin/env bash
# Checks scripts/qssl.map against include/qssl.h: every function the header declares is named in exactly one
# version node, the map names nothing else, and the newest node is the header's QSSL_VERSION_MAJOR.MINOR.
# usage: scripts/check-symbol-map.sh [--pairs]   (--pairs: print "function node" lines after the check)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
map=$root/scripts/qssl.map
header=$root/include/qssl.h
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Function declarations: identifiers qssl_* followed by "(" once comments are gone ("(*qssl_x_fn)(" does not match).
gcc -E -P -x c "$header" | grep -oE '\bqssl_[A-Za-z0-9_]+[[:space:]]*\(' | sed -E 's/[[:space:]]*\($//' \
    | sort -u > "$tmp/declared"
# "name node" for every name listed in a node (comments stripped first).
sed -e 's|/\*.*\*/||g' -e '/\/\*/,/\*\//d' "$map" | awk '
    /^[[:space:]]*QSSL_[0-9.]+[[:space:]]*\{/ { node = $1; sub(/\{.*/, "", node); nodes = nodes " " node; next }
    /^[[:space:]]*qssl_[A-Za-z0-9_]+;/ { name = $1; sub(/;.*/, "", name); print name, node }
    END { print nodes > "/dev/stderr" }' > "$tmp/pairs" 2> "$tmp/nodes"

status=0
dups=$(awk '{print $1}' "$tmp/pairs" | sort | uniq -d)
[ -z "$dups" ] || { echo "check-symbol-map: in more than one node: $dups"; status=1; }
awk '{print $1}' "$tmp/pairs" | sort -u > "$tmp/mapped"
missing=$(comm -23 "$tmp/declared" "$tmp/mapped")
extra=$(comm -13 "$tmp/declared" "$tmp/mapped")
[ -z "$missing" ] || { echo "check-symbol-map: declared in qssl.h but in no node of qssl.map (add to the newest):" $missing; status=1; }
[ -z "$extra" ] || { echo "check-symbol-map: in qssl.map but not declared in qssl.h:" $extra; status=1; }
newest=$(tr ' ' '\n' < "$tmp/nodes" | grep . | tail -1)
major=$(awk '/#define QSSL_VERSION_MAJOR/{print $3}' "$header")
minor=$(awk '/#define QSSL_VERSION_MINOR/{print $3}' "$header")
[ "$newest" = "QSSL_$major.$minor" ] ||
    { echo "check-symbol-map: newest node $newest but the header says $major.$minor"; status=1; }
[ $status -eq 0 ] || exit $status
if [ "${1:-}" = --pairs ]; then sort "$tmp/pairs"; else
    echo "check-symbol-map: OK: $(wc -l < "$tmp/declared") functions, each in one node ($(tr -s ' ' < "$tmp/nodes" | sed 's/^ //'))"
fi
