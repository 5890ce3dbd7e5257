#!/usr/bin/env bash
# Takes docs/screenshot.png: runs the studio's window (tools/studio-pictures, built) under Xvfb with SmolLM2
# (tools/fetch-models.sh) on a book chapter of about 12 000 tokens, half again its 8 192-token
# window, with one planted fact, asks about it once both answers have streamed, grabs the window
# and quits. Without SmolLM2 it uses the bundled demo model on a shorter excerpt.
#
# With --tour it takes the pictures of docs/tour.md instead, on the bundled demo model in under a
# minute: the first start, a question and a follow-up on a book excerpt with two planted facts,
# the answer's sources highlighted in the document, the Evaluate tab after a pass-key test and a
# perplexity run, and the Tune tab after a probe (tools/studio-pictures/ScreenshotTour).
#
# usage: tools/screenshot.sh BUILD_DIR [OUTPUT.png]
#        tools/screenshot.sh BUILD_DIR --tour [FOLDER]
#   BUILD_DIR  a configured and built tree (holds tools/studio-pictures/studio-pictures); nothing
#              is built
#   OUTPUT     default: docs/screenshot.png in the source tree
#   FOLDER     default: docs/tour in the source tree
# env: SE_SHARED_DIR (default: ../shared beside the source tree) for the books.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:?usage: tools/screenshot.sh BUILD_DIR [OUTPUT.png | --tour [FOLDER]]}"
output="${2:-$root/docs/screenshot.png}"
app="$build/tools/studio-pictures/studio-pictures"
shared="${SE_SHARED_DIR:-$root/../shared}"
book="$shared/corpus/books/pg1342_pride_and_prejudice.txt"

[[ -x "$app" ]] || { echo "no executable at $app: build the studio-pictures target first" >&2; exit 1; }
command -v xvfb-run > /dev/null || { echo "xvfb-run is not installed (apt-get install xvfb)" >&2; exit 1; }
[[ -f "$book" ]] || { echo "the shared books are missing ($book)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Fresh settings, data and cache, so the last session's window size, files, saved conversations
# and document KV do not leak into the pictures.
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" XDG_CACHE_HOME="$work/cache"
screen=(-a -s "-screen 0 1366x768x24")

if [[ "$output" == --tour ]]; then
    folder="${3:-$root/docs/tour}"
    # About 6 000 characters of Notre-Dame de Paris (mostly held out of the demo model's
    # training), some 1 700 tokens, three times the demo model's 512-token window, with two facts
    # planted at about 30% and 60%: the question asks for the first, the follow-up for the second.
    document="$work/notre-dame-excerpt.txt"
    novel="$shared/corpus/books/pg2610_notre_dame_de_paris.txt"
    excerpt() { sed -n "$1,$2p" "$novel" | sed 's/^ *//'; }
    {
        excerpt 3000 3030
        printf '\nRemember this: the door code is 4821.\n\n'
        excerpt 3031 3058
        printf "\nAnna's favourite city is Oslo.\n\n"
        excerpt 3059 3100
    } > "$document"
    mkdir -p "$folder"
    timeout 600 xvfb-run "${screen[@]}" \
        "$app" --model "$root/resources/models/selfextend-demo-8m-f16.gguf" --tour "$folder" \
        --ask "What is Anna's favourite city?" --ask "What is the door code?" --highlight 4821 \
        "$document"
    echo "wrote $folder (the long-book picture is docs/screenshot.png, taken without --tour)"
    exit 0
fi
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
timeout 1200 xvfb-run "${screen[@]}" \
    "$app" --model "$model" "${window[@]}" --ask "$question" \
    --screenshot "$output" "$document"
echo "wrote $output"
