#!/usr/bin/env bash
# test_layers: scripts/layers.sh passes on the real tree and fails, naming the file, on a copy
# of it with one violation planted at a time: an include up a layer, an include across the
# sibling layers (calls <-> emulator), a cycle through public headers, a cycle hidden behind a
# shared internal header, and a public header with no module. Run by ctest (label layers).
set -uo pipefail
src=${DT_SOURCE_DIR:-"$(cd "$(dirname "$0")/../.." && pwd)"}
script="$src/scripts/layers.sh"
fail=0; passed=0
ok()   { echo "ok   $1"; passed=$((passed+1)); }
bad()  { echo "FAIL $1"; fail=$((fail+1)); }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

fresh() {  # a copy of the layered folders only
  rm -rf "$work/t"; mkdir -p "$work/t"
  (cd "$src" && tar cf - core lua src include) | (cd "$work/t" && tar xf -)
}
expect_fail() {  # name, pattern the report must contain
  local out
  if out=$("$script" "$work/t" 2>&1); then bad "$1 (passed, should fail)"; echo "$out" | tail -3
  elif ! grep -q -- "$2" <<<"$out"; then bad "$1 (no '$2' in the report)"; echo "$out" | tail -5
  else ok "$1"; fi
}

if out=$("$script" "$src" 2>&1); then ok "the tree passes"; else bad "the tree passes"; echo "$out" | tail -20; fi

fresh; printf '#include "dialtone/engine.h"\n' >> "$work/t/core/util/log.c"
expect_fail "an include up a layer fails" "core/util/log.c includes include/dialtone/engine.h: up from layer 0"

fresh; printf '#include "dialtone/emulator.h"\n' >> "$work/t/core/calls/cdr.c"
expect_fail "an include across sibling layers fails" "across sibling layers (core/calls -> core/emulator)"

fresh; printf '#include "dialtone/jwt.h"\n' >> "$work/t/core/net/http_server.c"
printf '#include "dialtone/http_server.h"\n' >> "$work/t/core/net/jwt.c"
expect_fail "a cycle between public headers fails" "include cycle among core/net/http_server, core/net/jwt"

fresh
cat > "$work/t/core/net/both_internal.h" <<'H'
int dt__ping(int);
int dt__pong(int);
H
printf '#include "both_internal.h"\nint dt__ping(int n) { return n ? dt__pong(n - 1) : 0; }\n' > "$work/t/core/net/ping.c"
printf '#include "both_internal.h"\nint dt__pong(int n) { return n ? dt__ping(n - 1) : 1; }\n' > "$work/t/core/net/pong.c"
expect_fail "a cycle behind a shared internal header fails" "include cycle among core/net/ping, core/net/pong"

fresh; printf 'int dt_orphan(void);\n' > "$work/t/include/dialtone/orphan.h"
expect_fail "a public header with no module fails" "include/dialtone/orphan.h: public header with no .c"

echo "$passed passed, $fail failed"
[ "$fail" = 0 ]
