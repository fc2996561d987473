#!/usr/bin/env bash
# Runs the demo: installs dependencies if missing, builds dialtone, runs `dialtone demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
exec ./build/dialtone demo "$@"
