#!/usr/bin/env bash
# Regenerates every prompt WAV from its text transcript beside it (DIR/NAME.txt -> DIR/NAME.wav):
# espeak-ng speaks it, sox converts it to 16 kHz, 16-bit, mono PCM (what Graph's playPrompt takes).
# Usage: scripts/make_prompts.sh [DIR]   (default flows/prompts). Needs: apt-get install espeak-ng sox
set -euo pipefail
dir=${1:-"$(dirname "$0")/../flows/prompts"}
tmp=$(mktemp --suffix .wav)
trap 'rm -f "$tmp"' EXIT
for txt in "$dir"/*.txt; do
  espeak-ng -v en-us -s 165 -w "$tmp" "$(cat "$txt")"
  sox "$tmp" -r 16000 -c 1 -b 16 -e signed-integer "${txt%.txt}.wav"
done
