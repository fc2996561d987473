#!/usr/bin/env bash
# The engine benchmark (docs/performance.md).
#
#   scripts/bench.sh [--calls N] [--seconds S] [--json FILE] [--park N] [--rate R]
#                    [--flow FILE --scripts FILE] [--log-level L] [--build DIR] [--no-build]
#
# Builds the release build (build/ unless --build DIR; --no-build uses it as it is), then
# runs tests/bench/dt_bench: the Graph emulator at time scale 0 plus scripted callers in
# one process, `dialtone run` against it in another (each pinned to its own core), and
# measures the engine from the outside. Defaults: 1,000 concurrent calls, 10 s phases,
# 5,000 parked calls, flows/main.lua driven by tests/bench/demo_scripts.json. Prints a
# table; the figures go to FILE (default BUILD/bench-results.json) as JSON. Exit 0 when
# every phase ran, 1 when something failed, 2 on a usage error. Needs a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
build=build
do_build=1
json=
args=()
flow=
scripts=
while [ $# -gt 0 ]; do
  case "$1" in
    --calls|--seconds|--park|--rate|--log-level)
      [ $# -ge 2 ] || { echo "bench.sh: $1 needs a value" >&2; exit 2; }
      args+=("$1" "$2"); shift 2 ;;
    --json) [ $# -ge 2 ] || { echo "bench.sh: --json needs a value" >&2; exit 2; }; json=$2; shift 2 ;;
    --flow) [ $# -ge 2 ] || { echo "bench.sh: --flow needs a value" >&2; exit 2; }; flow=$2; shift 2 ;;
    --scripts) [ $# -ge 2 ] || { echo "bench.sh: --scripts needs a value" >&2; exit 2; }; scripts=$2; shift 2 ;;
    --build) [ $# -ge 2 ] || { echo "bench.sh: --build needs a value" >&2; exit 2; }; build=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --no-reload|--no-pin|--keep) args+=("$1"); shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$flow" ]; then
  flow=$src/flows/main.lua
  [ -n "$scripts" ] || scripts=$src/tests/bench/demo_scripts.json
fi
json=${json:-$build/bench-results.json}

if [ "$do_build" = 1 ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target dialtone >/dev/null
  if grep -q "dt_bench" "$build/CMakeFiles/TargetDirectories.txt" 2>/dev/null; then
    cmake --build "$build" --target dt_bench >/dev/null
  fi
fi
[ -x "$build/dialtone" ] || { echo "bench.sh: $build/dialtone is missing (build first, or drop --no-build)" >&2; exit 1; }

# The load tool: the build's own target when the top-level CMakeLists.txt includes
# tests/bench, else compiled here against the build's library with the same flags.
bench=$build/dt_bench
if [ ! -x "$bench" ] || [ "$src/tests/bench/dt_bench.c" -nt "$bench" ] || [ "$build/libdialtone_core.a" -nt "$bench" ]; then
  if grep -q "dt_bench" "$build/CMakeFiles/TargetDirectories.txt" 2>/dev/null; then
    cmake --build "$build" --target dt_bench >/dev/null
  else
    san=()
    grep -q '^DT_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null &&
      san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    cc -O2 -g -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
      "${san[@]}" -I"$src/include" $(pkg-config --cflags libuv libcjson) "$src/tests/bench/dt_bench.c" \
      -o "$bench.tmp" "$build/libdialtone_core.a" "$build/libdt_llhttp.a" \
      $(pkg-config --libs lua5.4 libuv libcurl libcjson) -lmbedtls -lmbedx509 -lmbedcrypto -lm -lpthread
    mv "$bench.tmp" "$bench"
  fi
fi

cmd=("$bench" --binary "$build/dialtone" --flow "$flow" --json "$json")
[ -n "$scripts" ] && cmd+=(--scripts "$scripts")
cmd+=(${args[@]+"${args[@]}"})
"${cmd[@]}"
echo "figures written to $json"
