#!/usr/bin/env bash
# Runs the test suites again and again on a busy CPU, to find tests that depend on timing: each round runs
# `swift test`, the C programs (plain and ASan/UBSan), pytest and `qssl-faults --short`, while SPINNERS processes
# keep every core busy. Prints one line per suite and round and a summary; exits 1 if anything failed. The logs of
# failed suites stay in the printed folder.
#
#   scripts/soak.sh [--runs N] [--spinners K] [--keep-going]    (defaults: 10 runs, 2 spinners, stop at a failure)
#
# Needs what scripts/test.sh builds (swift build --build-tests and the products qssl, qssl-sim, qssl-cli,
# qssl-faults; scripts/build-lib.sh for the C install step). Other CPU load (a fuzzer, a build) can stand in for
# the spinners: --spinners 0.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=10
spinners=2
keep_going=0
while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=$2; shift 2 ;;
        --spinners) spinners=$2; shift 2 ;;
        --keep-going) keep_going=1; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
bin=$(swift build --show-bin-path)
for p in qssl-sim qssl-cli qssl-faults libqssl.so; do
    [ -e "$bin/$p" ] || { echo "soak.sh: $bin/$p missing: run scripts/test.sh (or swift build) first" >&2; exit 2; }
done
logs=$(mktemp -d "${TMPDIR:-/tmp}/qssl-soak.XXXXXX")
spin_pids=()
for _ in $(seq "$spinners"); do
    sh -c 'while :; do :; done' &
    spin_pids+=($!)
done
trap 'kill "${spin_pids[@]}" 2>/dev/null' EXIT

suites=("swift test|swift test --skip-build"
        "C (plain, ASan)|Tests/c/run.sh"
        "pytest|python3 -m pytest -q -p no:cacheprovider bindings/python/tests"
        "qssl-faults --short|$bin/qssl-faults --short")
failures=0
echo "soak: $runs runs, $spinners spinning processes, $(nproc) cores; logs in $logs"
for r in $(seq "$runs"); do
    for s in "${suites[@]}"; do
        name=${s%%|*}
        log=$logs/run$r-$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_').log
        start=$(date +%s)
        if bash -c "${s#*|}" >"$log" 2>&1; then
            result=pass
            rm -f "$log"
        else
            result="FAIL ($log)"
            failures=$((failures + 1))
        fi
        printf 'run %2d  %-20s %-4s %4d s  load %s\n' "$r" "$name" "${result%% *}" $(($(date +%s) - start)) \
            "$(cut -d' ' -f1 /proc/loadavg)"
        [ "$result" = pass ] || echo "        $result"
        if [ "$result" != pass ] && [ $keep_going = 0 ]; then
            echo "soak: stopped at the first failure (--keep-going runs on)"
            exit 1
        fi
    done
done
echo "soak: $runs runs, $failures failed suites"
[ $failures = 0 ]
