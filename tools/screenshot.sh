#!/usr/bin/env bash
# Takes docs/screenshot.png: runs an already built selfextend-studio under Xvfb on a document
# longer than the model's 512-token window (an excerpt of a book with a pass key hidden in the
# middle), asks about it once both answers have streamed, grabs the window and quits.
#
# usage: tools/screenshot.sh BUILD_DIR [OUTPUT.png]
#   BUILD_DIR  a configured and built tree (holds app/studio/selfextend-studio); nothing is built
#   OUTPUT     default: docs/screenshot.png in the source tree
# env: SE_SHARED_DIR (default: ../shared beside the source tree) for the book excerpt.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:?usage: tools/screenshot.sh BUILD_DIR [OUTPUT.png]}"
output="${2:-$root/docs/screenshot.png}"
app="$build/app/studio/selfextend-studio"
model="$root/resources/models/selfextend-demo-8m-f16.gguf"
shared="${SE_SHARED_DIR:-$root/../shared}"
book="$shared/corpus/books/pg11_alice_in_wonderland.txt"

[[ -x "$app" ]] || { echo "no executable at $app: build the selfextend-studio target first" >&2; exit 1; }
command -v xvfb-run > /dev/null || { echo "xvfb-run is not installed (apt-get install xvfb)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
document="$work/alice-with-a-pass-key.txt"
needle="The pass key is 38117. Remember it. 38117 is the pass key."
if [[ -f "$book" ]]; then
    # About 4 kB of prose (roughly 1 100 tokens, twice the window), the key in the middle.
    sed -n '130,160p' "$book" > "$document"
    echo "$needle" >> "$document"
    sed -n '161,190p' "$book" >> "$document"
else
    # No corpus: the classic pass-key filler of SELFEXTEND.md.
    filler="The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
    { for _ in $(seq 40); do echo "$filler"; done
      echo "$needle"
      for _ in $(seq 40); do echo "$filler"; done; } > "$document"
fi

mkdir -p "$(dirname "$output")"
# Fresh settings, so the last session's window size and files do not leak into the picture.
export XDG_CONFIG_HOME="$work/config"
timeout 300 xvfb-run -a -s "-screen 0 1920x1200x24" \
    "$app" --model "$model" --window 256 --ask "What is the pass key?" \
    --screenshot "$output" "$document"
echo "wrote $output"
