#!/usr/bin/env bash
# run_sdk_test.sh — ctest sdk/test_sdk_proof (issue 15): Node.js from Debian (scripts/deps.sh
# installs nodejs + npm only when missing), the npm packages pinned by package-lock.json
# installed with `npm ci` into the build directory (once per lockfile), then sdk_proof.mjs
# against `dialtone emulator --tls`, trusting the emulator's CA with NODE_EXTRA_CA_CERTS.
# Without the npm registry: exit 77 (skipped), or fail when CI=true.
set -euo pipefail
SRC=${DT_SOURCE_DIR:?} BIN=${DT_BINARY:?} BUILD=${DT_BUILD_DIR:?}
unavailable() {
  if [ "${CI:-}" = true ]; then echo "FAIL (CI): $1" >&2; exit 1; fi
  echo "SKIP: $1" >&2
  exit 77
}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  DT_WITH_NODE=1 bash "$SRC/scripts/deps.sh" || unavailable "cannot install nodejs and npm from Debian"
fi
MOD=$BUILD/sdk-node
if ! cmp -s "$SRC/tests/sdk/package-lock.json" "$MOD/package-lock.json" || [ ! -d "$MOD/node_modules" ]; then
  rm -rf "$MOD"
  mkdir -p "$MOD"
  cp "$SRC/tests/sdk/package.json" "$SRC/tests/sdk/package-lock.json" "$MOD/"
  (cd "$MOD" && npm ci --no-audit --no-fund --loglevel=error) ||
    { rm -rf "$MOD"; unavailable "npm ci failed (no access to the npm registry?)"; }
fi
cp "$SRC/tests/sdk/sdk_proof.mjs" "$MOD/"
TMP=$(mktemp -d /tmp/dt_sdk_XXXXXX)
EMU_PID=""
cleanup() { [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
"$BIN" emulator --tls --tls-dir "$TMP/ca" --listen 127.0.0.1:0 --time-scale 0 --quiet >"$TMP/out" 2>"$TMP/err" &
EMU_PID=$!
# wait for the URL line (and the CA line) the command prints once it listens
for _ in $(seq 1 600); do
  [ "$(wc -l <"$TMP/out")" -ge 2 ] && break
  kill -0 "$EMU_PID" 2>/dev/null || { cat "$TMP/err" >&2; exit 1; }
  sleep 0.1
done
URL=$(head -n1 "$TMP/out")
grep -q "NODE_EXTRA_CA_CERTS=$TMP/ca/ca.pem" "$TMP/out" || { echo "FAIL: no trust line: $(cat "$TMP/out")" >&2; exit 1; }
PORT=${URL##*:}
cd "$MOD"
NODE_EXTRA_CA_CERTS="$TMP/ca/ca.pem" node sdk_proof.mjs "https://localhost:$PORT"
