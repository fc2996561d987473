#!/usr/bin/env bash
# Runs every unit, integration and hostile test executable of a build under valgrind memcheck;
# any error or definite leak fails the run. Tests see DT_UNDER_VALGRIND=1 and may scale their load down
# (valgrind is ~30x slower); they still assert the same outcomes. The *_beta programs are the
# same tests in the other Graph dialect (only URLs and bodies differ); they run under ASan and
# UBSan in both builds and are skipped here to keep CI within its time budget.
# Usage: scripts/valgrind.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
src=$(pwd)
fail=0; ran=0
for t in tests/unit/test_*.c tests/integration/test_*.c tests/hostile/test_*.c; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .c)
  case "$name" in *_beta) continue ;; esac
  exe="$build/$name"
  [ -x "$exe" ] || { echo "valgrind: $exe missing" >&2; fail=1; continue; }
  log=$(mktemp)
  if DT_UNDER_VALGRIND=1 DT_SOURCE_DIR="$src" DT_BINARY="$src/$build/dialtone" DT_BUILD_DIR="$src/$build" \
     timeout 900 valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
       --show-leak-kinds=definite --track-fds=no --suppressions=scripts/valgrind.supp "$exe" >"$log" 2>&1; then
    echo "valgrind ok   $name"
  else
    # The test's own failure lines first (valgrind's leak records can push them out of the tail).
    echo "valgrind FAIL $name"; grep -v '^==' "$log" | grep -E '^  .*:[0-9]+: |FAIL|passed' | head -20; tail -60 "$log"; fail=1
  fi
  ran=$((ran+1)); rm -f "$log"
done
echo "valgrind: $ran test programs checked"
exit $fail
