#!/usr/bin/env bash
# Builds the libFuzzer targets of Tests/fuzz and runs each on a copy of its seed corpus.
#
#   scripts/fuzz.sh [--seconds N | --runs N] [--jobs N] [--corpus DIR] [--keep-going] [target...]
#                                                  targets: parser decoders dialogue (default: all)
#
# --jobs N runs N fuzzing processes on one shared corpus; the counts are their sum.
# --corpus DIR fuzzes in DIR/<target> and keeps it (created from the seeds when missing; the seeds are read too),
# so a long campaign can go on where the last run stopped; without it each run starts from the seeds in a
# throw-away copy.
# --keep-going fuzzes in libFuzzer's fork mode past crashes (each crash input is still kept and the exit is still
# 1), and skips the regression replay: for long runs while a known crash is open.
#
# Sources/QSSLCore is compiled once as module QSSLCoreFuzz with -sanitize=fuzzer,address (coverage and comparison
# tracing); each harness (Tests/fuzz/FuzzSupport.swift + Tests/fuzz/<Target>Fuzz.swift, `@testable import
# QSSLCoreFuzz`) with -sanitize=address only, so libFuzzer is steered by the library's branches rather than the
# harness's own checks (and runs about 1.5 times as many inputs per second); all into .build-fuzz/ (git-ignored;
# SwiftPM's .build is not touched). Before fuzzing, every input in Tests/fuzz/regressions/<target>/ is replayed
# once. Prints libFuzzer's final stats per target and exits 1 on any crash, leak, timeout or out-of-memory; the
# input that caused it is kept in .build-fuzz/artifacts/. Exits 2 if the toolchain has no libFuzzer runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
runs=""
keep_going=0
jobs=1
corpus_root=""
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --keep-going) keep_going=1; shift ;;
        --jobs) jobs="$2"; shift 2 ;;
        --corpus) corpus_root="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        parser|decoders|dialogue) targets+=("$1"); shift ;;
        *) echo "fuzz.sh: unknown argument '$1' (targets: parser decoders dialogue)" >&2; exit 2 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(parser decoders dialogue)

out=.build-fuzz
mkdir -p "$out/artifacts" "$out/logs"
swiftc_bin="${SWIFTC:-swiftc}"

# The toolchain must ship the libFuzzer runtime; say so plainly instead of failing in the middle of a build.
probe="$out/probe"
mkdir -p "$probe"
cat > "$probe/probe.swift" <<'SWIFT'
@_cdecl("LLVMFuzzerTestOneInput") public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt { 0 }
SWIFT
linker=()
if "$swiftc_bin" -parse-as-library -sanitize=fuzzer,address -use-ld=lld "$probe/probe.swift" -o "$probe/probe" \
        >"$probe/log" 2>&1; then
    linker=(-use-ld=lld)   # lld ships with the toolchain; gold prints hundreds of harmless ASan symbol warnings
elif ! "$swiftc_bin" -parse-as-library -sanitize=fuzzer,address "$probe/probe.swift" -o "$probe/probe" \
        >"$probe/log" 2>&1; then
    echo "fuzz.sh: ERROR: '$swiftc_bin -sanitize=fuzzer,address' does not work: this toolchain lacks the libFuzzer" >&2
    echo "fuzz.sh: runtime (use a swift.org Linux toolchain). Compiler output:" >&2
    cat "$probe/log" >&2
    exit 2
fi

# libFuzzer handles the fatal signal itself (and writes the artifact) when Swift's backtracer stays out of the
# way; a small ASan quarantine keeps RSS far from -rss_limit_mb so that limit only catches real growth. No
# allocation stacks and no fake stacks: a fifth more inputs per second; a report still names the bad access, and
# replaying its input with ASAN_OPTIONS=malloc_context_size=30 shows where the memory came from.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16:detect_leaks=1:malloc_context_size=0:detect_stack_use_after_return=0}"

core_sources=()
while IFS= read -r f; do core_sources+=("$f"); done < <(find Sources/QSSLCore -name '*.swift' | LC_ALL=C sort)

obj="$out/obj"
rm -rf "$obj"
mkdir -p "$obj"
printf '\n==> fuzz: build Sources/QSSLCore (instrumented)\n'
# -assert-config Debug keeps QSSLCore's assert()s on in the optimised build (and in the harnesses below).
"$swiftc_bin" -parse-as-library -sanitize=fuzzer,address -O -assert-config Debug -enable-testing -wmo \
    -module-name QSSLCoreFuzz -emit-module -emit-module-path "$obj/QSSLCoreFuzz.swiftmodule" \
    -c "${core_sources[@]}" -o "$obj/core.o"

failed=()
summary=()
for t in "${targets[@]}"; do
    case "$t" in
        parser) harness=Tests/fuzz/ParserFuzz.swift; max_len=8192 ;;
        decoders) harness=Tests/fuzz/DecodersFuzz.swift; max_len=4096 ;;
        dialogue) harness=Tests/fuzz/DialogueFuzz.swift; max_len=8192 ;;
    esac
    bin="$out/fuzz-$t"
    printf '\n==> fuzz %s: build\n' "$t"
    "$swiftc_bin" -parse-as-library -sanitize=address -O -assert-config Debug -wmo -I "$obj" \
        -module-name "${t}_harness" -c Tests/fuzz/FuzzSupport.swift "$harness" -o "$obj/$t.o"
    "$swiftc_bin" -sanitize=fuzzer,address "${linker[@]}" "$obj/core.o" "$obj/$t.o" -o "$bin"

    artifacts="$out/artifacts/$t"
    mkdir -p "$artifacts"
    log="$out/logs/$t.log"

    # Known crashers first: deterministic, whatever the fuzzer happens to find in its time.
    if [ "$keep_going" = 0 ] && [ -d "Tests/fuzz/regressions/$t" ] && [ -n "$(ls -A "Tests/fuzz/regressions/$t")" ]; then
        printf '==> fuzz %s: replay Tests/fuzz/regressions/%s\n' "$t" "$t"
        bad=0
        for f in "Tests/fuzz/regressions/$t"/*; do
            if ! "$bin" -rss_limit_mb=512 -timeout=5 -malloc_limit_mb=64 "$f" >"$log" 2>&1; then
                echo "fuzz $t: REGRESSION still fails: $f"
                grep -m3 -E 'Fatal error|ERROR: libFuzzer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|invariant' "$log" || true
                bad=1
            fi
        done
        if [ "$bad" = 1 ]; then
            failed+=("$t (regressions)")
            summary+=("$t: not fuzzed, a regression input still fails")
            continue
        fi
    fi

    # Fuzz a copy (throw-away, or the kept campaign corpus) so the committed seeds stay as they are.
    if [ -n "$corpus_root" ]; then
        work="$corpus_root/$t"
        [ -d "$work" ] || { mkdir -p "$work" && cp -R "Tests/fuzz/corpus/$t/." "$work/"; }
        corpora=("$work" "Tests/fuzz/corpus/$t")
    else
        work="$(mktemp -d "${TMPDIR:-/tmp}/qssl-fuzz-$t.XXXXXX")"
        cp -R "Tests/fuzz/corpus/$t/." "$work/"
        corpora=("$work")
    fi
    # --jobs: N independent processes on the shared corpus (each picks up what the others add, -reload), each
    # with 1/N of the runs; faster here than libFuzzer's fork mode, whose short-lived children spend much of their
    # time loading their share of the corpus. --keep-going needs fork mode (it alone goes on past a crash).
    procs=$jobs
    [ "$keep_going" = 1 ] && procs=1
    limit=(-max_total_time="$seconds")
    [ -n "$runs" ] && limit=(-runs="$(( (runs + procs - 1) / procs ))")
    [ "$keep_going" = 1 ] && limit+=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    if [ -n "$runs" ]; then what="$runs runs"; else what="$seconds s"; fi
    [ "$jobs" -gt 1 ] && what="$what, $jobs processes"
    printf '==> fuzz %s: %s\n' "$t" "$what"
    logs=()
    pids=()
    for k in $(seq 1 "$procs"); do
        l="$log"
        [ "$procs" -gt 1 ] && l="$log.$k"
        logs+=("$l")
        "$bin" "${corpora[@]}" -max_len="$max_len" -rss_limit_mb=512 -malloc_limit_mb=64 -timeout=5 "${limit[@]}" \
            -dict="Tests/fuzz/$t.dict" -print_final_stats=1 -artifact_prefix="$artifacts/" >"$l" 2>&1 &
        pids+=($!)
    done
    rc=0
    for pid in "${pids[@]}"; do wait "$pid" || rc=$?; done
    [ -n "$corpus_root" ] || rm -rf "$work"
    # Fork mode prints no final stats; its progress lines carry the counts, crashes included.
    execs=0 rate=0 rss=0
    for l in "${logs[@]}"; do
        fork_line=$(grep -E '^#[0-9]+: cov:' "$l" | tail -1 || true)
        e=$(sed -n 's/^stat::number_of_executed_units: *//p' "$l" | tail -1)
        r=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$l" | tail -1)
        m=$(sed -n 's/^stat::peak_rss_mb: *//p' "$l" | tail -1)
        if [ -z "$e" ] && [ -n "$fork_line" ]; then
            e=$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<<"$fork_line")
            r=$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' <<<"$fork_line")
            crashes=$(sed -n 's|.*oom/timeout/crash: \([0-9]*\)/\([0-9]*\)/\([0-9]*\).*|\1 \2 \3|p' <<<"$fork_line")
            [ "$crashes" = "0 0 0" ] || [ -z "$crashes" ] || rc=1
        fi
        execs=$((execs + ${e:-0})) rate=$((rate + ${r:-0}))
        [ "${m:-0}" -gt "$rss" ] && rss=$m
    done
    [ "$rss" != 0 ] || rss='?'
    line="$t: $execs execs, $rate exec/s, peak RSS $rss MB"
    [ "$procs" -gt 1 ] && line="$line (sum of $procs processes; logs $log.1..$procs)"
    echo "$line"
    summary+=("$line")
    if [ "$rc" -ne 0 ]; then
        echo "fuzz $t: FAILED (libFuzzer exit $rc); log: ${logs[*]}"
        grep -h -E 'Fatal error|ERROR: libFuzzer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|invariant|SUMMARY' \
            "${logs[@]}" | head -5 || true
        grep -h -E '^(artifact_prefix|Test unit written to)' "${logs[@]}" | tail -2 || true
        failed+=("$t")
    fi
done

printf '\n==> fuzz summary\n'
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (inputs kept in $out/artifacts/)"
    exit 1
fi
