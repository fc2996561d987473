#!/usr/bin/env bash
# Regenerates every prompt WAV from its text transcript beside it (DIR/NAME.txt -> DIR/NAME.wav,
# and DIR/LANG/NAME.txt in language folders): `dialtone prompts build DIR --force`, espeak-ng
# linked into dialtone, 16 kHz, 16-bit, mono PCM (what Graph's playPrompt takes).
# Usage: scripts/make_prompts.sh [DIR]   (default flows/prompts). Needs a built dialtone
# (DIALTONE=path/to/dialtone, default build/dialtone).
set -euo pipefail
root="$(dirname "$0")/.."
exec "${DIALTONE:-$root/build/dialtone}" prompts build "${1:-$root/flows/prompts}" --force
