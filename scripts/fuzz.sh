#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang into build-fuzz/ and runs
# each for SECONDS_PER_TARGET seconds (default 20), starting from a copy of its seed corpus
# in a temporary directory (the repository's corpus is never written). Exits non-zero if
# any target crashes, leaks, hangs or runs out of memory, and prints the input that did it.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#   FUZZ_TARGETS="fuzz_jwt fuzz_notify" scripts/fuzz.sh 300   # some targets, longer
#   FUZZ_KEEP=1 scripts/fuzz.sh                                # keep the work dirs
#
# See tests/fuzz/README.md for longer runs and for adding a crash to the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
case "$secs" in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac

DT_WITH_CLANG=1 bash scripts/deps.sh
command -v clang >/dev/null || { echo "fuzz: clang is not installed" >&2; exit 1; }

targets=${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//' | tr '\n' ' ')}
jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (clang, libFuzzer + ASan + UBSan) into build-fuzz/"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDT_FUZZ=ON -DDT_SANITIZE=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build build-fuzz -j"$jobs" --target $targets

# Per target: longest input, and how long one input may take before it counts as a hang.
max_len() {
  case "$1" in
    fuzz_http_request) echo 8192 ;;  # several pipelined requests; server limits are 2 KiB / 4 KiB
    fuzz_notify) echo 16384 ;;
    fuzz_jwt) echo 8192 ;;           # tokens, JWKS with a few keys, OpenID documents
    fuzz_config) echo 4096 ;;
    *) echo 4096 ;;
  esac
}
unit_timeout() {
  case "$1" in
    fuzz_http_request) echo 30 ;;    # the target itself reports a hang after 20 s
    *) echo 10 ;;
  esac
}

# A smaller quarantine and returning freed pages keep the RSS of fuzz_config (Lua states
# of up to 16 MiB, in every size class) far below the RSS limit in long runs.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:quarantine_size_mb=64:allocator_release_to_os_interval_ms=500}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for t in $targets; do
  bin=build-fuzz/$t
  [ -x "$bin" ] || { echo "fuzz: $bin was not built" >&2; exit 1; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/dt-$t-XXXXXX")
  mkdir -p "$work/corpus" "$work/artifacts"
  if [ -d "tests/fuzz/corpus/$t" ]; then cp -R "tests/fuzz/corpus/$t/." "$work/corpus/"; fi
  dict=tests/fuzz/${t#fuzz_}.dict
  [ "$t" = fuzz_http_request ] && dict=tests/fuzz/http.dict
  args=(-max_total_time="$secs" -max_len="$(max_len "$t")" -timeout="$(unit_timeout "$t")"
        -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$work/artifacts/")
  [ -f "$dict" ] && args+=(-dict="$dict")
  echo "== $t: ${secs}s, corpus $(ls "$work/corpus" | wc -l) seeds (log: $work/log)"
  set +e
  "$bin" "${args[@]}" "$work/corpus" >"$work/log" 2>&1
  rc=$?
  set -e
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)|DONE' "$work/log" | tr '\n' ' ' | sed 's/^/   /'
  echo
  crashes=$(ls "$work"/artifacts/ 2>/dev/null | grep -E '^(crash|leak|timeout|oom)-' || true)
  if [ $rc -ne 0 ] || [ -n "$crashes" ]; then
    failed+=("$t")
    echo "!! $t failed (exit $rc). Last lines of its log:" >&2
    grep -vE '^(#[0-9]+|.*Uses: [0-9]+$)' "$work/log" | tail -40 >&2
    for a in $crashes; do
      echo "!! crashing input: $work/artifacts/$a" >&2
      echo "!!   reproduce: $bin $work/artifacts/$a" >&2
    done
    [ -z "$crashes" ] && echo "!! no input was saved; see $work/log" >&2
  elif [ "${FUZZ_KEEP:-0}" != 1 ]; then
    rm -rf "$work"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "== fuzzing FAILED: ${failed[*]} (work dirs kept, see above)" >&2
  exit 1
fi
echo "== fuzzing passed: $targets"
