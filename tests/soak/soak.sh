#!/usr/bin/env bash
# The soak, for as long as you like: the real `dialtone run` against a separate
# `dialtone emulator`, holding CALLS concurrent calls through flows/main.lua for SECONDS
# with faults switched on (duplicated/reordered/delayed notifications, 503/429 bursts,
# failing recording downloads, random caller hang-ups). Fails on a lost call (a call
# without its CDR), a crash, sustained RSS growth after the warm-up (the samples are
# printed every 2 s), a recording not on disk, or a non-zero exit on SIGTERM.
#
# Usage: tests/soak/soak.sh [SECONDS=600] [CALLS=2000] [BUILD_DIR=build] [TIME_SCALE=0.5]
# (builds BUILD_DIR first if needed; a release build measures memory best: an ASan build
# works too, with a small quarantine). CI runs the short version as the ctest case
# integration/test_soak (60 s, 500 calls).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
calls=${2:-2000}
build=${3:-build}
scale=${4:-0.5}
if [ ! -x "$build/test_soak" ] || [ ! -x "$build/dialtone" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target dialtone test_soak
fi
# 2,000 calls hold ~4 sockets each between the two processes
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
src=$(pwd)
case "$build" in /*) ;; *) build="$src/$build" ;; esac
DT_SOAK_SECONDS=$seconds DT_SOAK_CALLS=$calls DT_SOAK_TIME_SCALE=$scale \
DT_SOURCE_DIR="$src" DT_BINARY="$build/dialtone" DT_BUILD_DIR="$build" \
  "$build/test_soak"
