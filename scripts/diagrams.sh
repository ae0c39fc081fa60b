#!/usr/bin/env bash
# Draws each step's exchange, from a real run, as the SVG the book shows.
set -euo pipefail

usage() {
    cat <<'EOF2'
usage: scripts/diagrams.sh [--check]

Runs each step that can record its packets (--pcap), in its private network
namespace, and draws the capture as a sequence diagram with workbook-diagram:
one lane per side, the kernel's lane in the middle, one arrow per segment
(flags, seq, ack, length; the kernel's RSTs in red). Writes book/src/img/*.svg.

--check   draws into a temporary directory and fails if any picture differs
          from the one in book/src/img (scripts/check-book.sh runs this, so
          the book's pictures are what the programs do today).
EOF2
}

check=no
for arg in "$@"; do
    case "$arg" in
        -h | --help) usage; exit 0 ;;
        --check) check=yes ;;
        *) echo "error: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=book/src/img
[ "$check" = yes ] && out=$work/img
mkdir -p "$out"
cargo build --quiet -p step-01-socket -p step-04-echo -p workbook-diagram
draw() { # draw NAME TITLE LANE-ARGS...
    local name=$1 title=$2
    shift 2
    ./target/debug/workbook-diagram "$work/$name.pcap" -o "$out/$name.svg" --title "$title" "$@" >/dev/null
}

# Step 1: the kernel's own connect() to a port nobody listens on, and its RST.
./target/debug/step-01-socket --pcap "$work/step-01.pcap" >/dev/null
draw step-01 "Step 1: the kernel's SYN to a closed port, and its RST" \
    --lane "connect()=127.0.0.1" --kernel --lane "port 50000=127.0.0.1:50000"

# Step 4: the echo, two requests, each answered; every segment draws a RST.
./target/debug/step-04-echo --pcap "$work/step-04.pcap" --count 2 --interval 0 >/dev/null
draw step-04 "Step 4: the echo, two requests" \
    --lane client=127.0.0.2:50001 --kernel --lane server=127.0.0.1:50000

if [ "$check" = yes ]; then
    status=0
    for svg in "$out"/*.svg; do
        name=$(basename "$svg")
        if ! cmp -s "$svg" "book/src/img/$name"; then
            echo "error: book/src/img/$name is not what a run draws today; scripts/diagrams.sh redraws it" >&2
            diff <(grep -o '>[^<]*<' "book/src/img/$name" 2>/dev/null) <(grep -o '>[^<]*<' "$svg") >&2 || true
            status=1
        fi
    done
    [ "$status" -eq 0 ] && echo "diagrams: every picture is what a run draws today"
    exit "$status"
fi
echo "diagrams: $(ls "$out"/*.svg | wc -l) pictures drawn into $out"
