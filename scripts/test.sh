#!/usr/bin/env bash
# Runs every test: installs dependencies if missing, builds dialtone twice (release and
# ASan+UBSan), runs the whole ctest suite on both, the unit, integration and hostile tests under valgrind,
# and each fuzz target for a short bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
DT_WITH_CLANG=1 bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)

echo "== layers (scripts/layers.sh: no include up a layer, across siblings or round a cycle)"
bash scripts/layers.sh

echo "== build (release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
echo "== tests (release)"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDT_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== unit, integration and hostile tests under valgrind"
bash scripts/valgrind.sh build

echo "== fuzz targets (clang + libFuzzer, ${DT_FUZZ_SECONDS:-15} s each)"
bash scripts/fuzz.sh "${DT_FUZZ_SECONDS:-15}"
echo "== all tests passed"
