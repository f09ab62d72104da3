#!/usr/bin/env bash
# Kept for habit: the Embedded Swift build is now the shipped library, built by scripts/build-lib.sh.
# usage: scripts/embedded-check.sh [build-lib.sh options]
exec "$(dirname "$0")/build-lib.sh" "$@"
