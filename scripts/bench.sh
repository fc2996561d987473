#!/usr/bin/env bash
# The engine benchmark (docs/performance.md).
#
#   scripts/bench.sh [--calls N] [--seconds S] [--json FILE] [--park N] [--rate R]
#                    [--flow FILE --scripts FILE] [--log-level L] [--build DIR] [--no-build]
#                    [--light-seconds S] [--light-only | --no-light]
#
# Builds the release build (build/ unless --build DIR; --no-build uses it as it is), then
# runs tests/bench/dt_bench: the Graph emulator at time scale 0 plus scripted callers in
# one process, `dialtone run` against it in another (each pinned to its own core), and
# measures the engine from the outside. Defaults: 1,000 concurrent calls, 10 s phases,
# 5,000 parked calls, flows/main.lua driven by tests/bench/demo_scripts.json. Prints a
# table; the figures go to FILE (default BUILD/bench-results.json) as JSON. Then (issue 17)
# the light fixed-script fake Graph (tests/bench/light_menu.json, light_demo.json) drives
# a fresh engine and then dt_floor_bot, the minimal libuv bot, for the menu mix and the
# default mix: CPU per notification of each, their ratio, and the engine's latency at half
# of its maximum under the light tool (--light-only: just these; --no-light: not these;
# only with flows/main.lua, whose requests the light scripts were captured from). Exit 0
# when every phase ran, 1 when something failed, 2 on a usage error. Needs a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
build=build
do_build=1
json=
args=()
flow=
scripts=
light=1
while [ $# -gt 0 ]; do
  case "$1" in
    --calls|--seconds|--park|--rate|--log-level|--light-seconds)
      [ $# -ge 2 ] || { echo "bench.sh: $1 needs a value" >&2; exit 2; }
      args+=("$1" "$2"); shift 2 ;;
    --json) [ $# -ge 2 ] || { echo "bench.sh: --json needs a value" >&2; exit 2; }; json=$2; shift 2 ;;
    --flow) [ $# -ge 2 ] || { echo "bench.sh: --flow needs a value" >&2; exit 2; }; flow=$2; shift 2 ;;
    --scripts) [ $# -ge 2 ] || { echo "bench.sh: --scripts needs a value" >&2; exit 2; }; scripts=$2; shift 2 ;;
    --build) [ $# -ge 2 ] || { echo "bench.sh: --build needs a value" >&2; exit 2; }; build=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --no-reload|--no-pin|--keep|--light-only) args+=("$1"); shift ;;
    --no-light) light=0; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$flow" ]; then
  flow=$src/flows/main.lua
  [ -n "$scripts" ] || scripts=$src/tests/bench/demo_scripts.json
else
  light=0 # the light scripts replay flows/main.lua's requests only
fi
json=${json:-$build/bench-results.json}

if [ "$do_build" = 1 ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target dialtone >/dev/null
  if grep -q "dt_bench" "$build/CMakeFiles/TargetDirectories.txt" 2>/dev/null; then
    cmake --build "$build" --target dt_bench dt_floor_bot >/dev/null
  fi
fi
[ -x "$build/dialtone" ] || { echo "bench.sh: $build/dialtone is missing (build first, or drop --no-build)" >&2; exit 1; }

# The load tool: the build's own target when the top-level CMakeLists.txt includes
# tests/bench, else compiled here against the build's library with the same flags.
bench=$build/dt_bench
floor=$build/dt_floor_bot
stale=0
for f in dt_bench.c fake_graph.c fake_graph.h lean_http.c lean_http.h floor_bot.c; do
  [ "$src/tests/bench/$f" -nt "$bench" ] && stale=1
done
if [ ! -x "$bench" ] || [ ! -x "$floor" ] || [ "$stale" = 1 ] || [ "$build/libdialtone_core.a" -nt "$bench" ]; then
  if grep -q "dt_bench" "$build/CMakeFiles/TargetDirectories.txt" 2>/dev/null; then
    cmake --build "$build" --target dt_bench dt_floor_bot >/dev/null
  else
    san=()
    grep -q '^DT_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null &&
      san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    flags=(-O2 -g -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter
           "${san[@]}" -I"$src/include" -I/usr/share/include/llhttp $(pkg-config --cflags libuv libcjson))
    cc "${flags[@]}" "$src/tests/bench/dt_bench.c" "$src/tests/bench/fake_graph.c" "$src/tests/bench/lean_http.c" \
      -o "$bench.tmp" "$build/libdialtone_core.a" "$build/libdt_llhttp.a" \
      $(pkg-config --libs lua5.4 libuv libcurl libcjson) -lmbedtls -lmbedx509 -lmbedcrypto -lm -lpthread
    cc "${flags[@]}" "$src/tests/bench/floor_bot.c" "$src/tests/bench/lean_http.c" -o "$floor.tmp" \
      "$build/libdt_llhttp.a" $(pkg-config --libs libuv)
    mv "$bench.tmp" "$bench"
    mv "$floor.tmp" "$floor"
  fi
fi

cmd=("$bench" --binary "$build/dialtone" --flow "$flow" --json "$json")
[ -n "$scripts" ] && cmd+=(--scripts "$scripts")
[ "$light" = 1 ] && cmd+=(--floor "$floor" --light-menu "$src/tests/bench/light_menu.json"
                          --light-demo "$src/tests/bench/light_demo.json")
cmd+=(${args[@]+"${args[@]}"})
"${cmd[@]}"
echo "figures written to $json"
