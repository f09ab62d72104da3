#!/usr/bin/env bash
# Regenerates the fuzz seed corpus in Tests/fuzz/corpus from the golden transcripts of Tests/QSSLCoreTests (they are
# built with Swift builders, so the bytes come from running them) and the answer lines in Tests/fuzz/seeds/main.swift.
# Builds into .build-fuzz/seeds (git-ignored); needs only swiftc and the Testing module of the toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build-fuzz/seeds
mkdir -p "$out" Tests/fuzz/corpus/parser Tests/fuzz/corpus/decoders
swiftc -parse-as-library -emit-library -emit-module -module-name QSSLCore -emit-module-path "$out/QSSLCore.swiftmodule" \
    -static -o "$out/libQSSLCore.a" $(find Sources/QSSLCore -name '*.swift' | sort)
# The transcripts file imports Testing for its @Suite; compiling it as a script module needs only the module.
swiftc -I "$out" -L "$out" -lQSSLCore -module-name DumpSeeds \
    Tests/QSSLCoreTests/ParserTestSupport.swift Tests/QSSLCoreTests/ParserTranscriptTests.swift \
    Tests/fuzz/seeds/main.swift -o "$out/dump-seeds"
"$out/dump-seeds" Tests/fuzz/corpus
