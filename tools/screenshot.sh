#!/usr/bin/env bash
# Takes docs/screenshot.png: runs an already built selfextend-studio under Xvfb with SmolLM2
# (tools/fetch-models.sh) on a book chapter of about 12 000 tokens, half again its 8 192-token
# window, with one planted fact, asks about it once both answers have streamed, grabs the window
# and quits. Without SmolLM2 it uses the bundled demo model on a shorter excerpt.
#
# usage: tools/screenshot.sh BUILD_DIR [OUTPUT.png]
#   BUILD_DIR  a configured and built tree (holds app/studio/selfextend-studio); nothing is built
#   OUTPUT     default: docs/screenshot.png in the source tree
# env: SE_SHARED_DIR (default: ../shared beside the source tree) for the book.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:?usage: tools/screenshot.sh BUILD_DIR [OUTPUT.png]}"
output="${2:-$root/docs/screenshot.png}"
app="$build/app/studio/selfextend-studio"
shared="${SE_SHARED_DIR:-$root/../shared}"
book="$shared/corpus/books/pg1342_pride_and_prejudice.txt"

[[ -x "$app" ]] || { echo "no executable at $app: build the selfextend-studio target first" >&2; exit 1; }
command -v xvfb-run > /dev/null || { echo "xvfb-run is not installed (apt-get install xvfb)" >&2; exit 1; }
[[ -f "$book" ]] || { echo "the shared books are missing ($book)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
document="$work/pride-and-prejudice-chapters.txt"
fact="The secret password of the Netherfield library is marigold-73."
question="What is the secret password of the Netherfield library?"
model="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ -f "$model" ]]; then
    # About 46 kB of prose (some 12 000 tokens), the fact a fifth of the way in.
    head -c 30000 "$book" | tail -c 9200 > "$document"
    printf '\n%s\n' "$fact" >> "$document"
    head -c 66800 "$book" | tail -c 36800 >> "$document"
    window=()
else
    echo "SmolLM2 is not in models/ (tools/fetch-models.sh): using the demo model" >&2
    model="$root/resources/models/selfextend-demo-8m-f16.gguf"
    head -c 24000 "$book" | tail -c 2000 > "$document"
    printf '\n%s\n' "$fact" >> "$document"
    head -c 26000 "$book" | tail -c 2000 >> "$document"
    window=(--window 256)
fi

mkdir -p "$(dirname "$output")"
# Fresh settings, so the last session's window size and files do not leak into the picture.
export XDG_CONFIG_HOME="$work/config"
timeout 1200 xvfb-run -a -s "-screen 0 1366x768x24" \
    "$app" --model "$model" "${window[@]}" --ask "$question" \
    --screenshot "$output" "$document"
echo "wrote $output"
