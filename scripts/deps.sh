#!/usr/bin/env bash
# Installs what dialtone needs from Debian 12's packages, only if something is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config liblua5.4-dev libuv1-dev libcjson-dev
      libcurl4-openssl-dev libmbedtls-dev node-llhttp curl valgrind tzdata libespeak-ng-dev espeak-ng-data
      chromium)  # chromium: the dashboard test (tests/integration/test_dashboard_browser.c)
[ "${DT_WITH_CLANG:-0}" = 1 ] && pkgs+=(clang libclang-rt-14-dev)
# tests/sdk (Microsoft's SDKs against the emulator) runs on Node: only when asked, or node is missing
{ [ "${DT_WITH_NODE:-0}" = 1 ] || ! command -v node >/dev/null; } && pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "dialtone: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
