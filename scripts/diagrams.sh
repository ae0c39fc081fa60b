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
cargo build --quiet -p step-01-socket -p step-02-bind-connect -p step-03-epoll \
    -p step-04-echo -p step-05-bpf-filter -p step-06-handshake -p workbook-diagram
drawn=0
draw() { # draw PICTURE CAPTURE TITLE LANE-ARGS...
    local name=$1 capture=$2 title=$3
    shift 3
    ./target/debug/workbook-diagram "$work/$capture.pcap" -o "$out/$name.svg" --title "$title" "$@" >/dev/null
    drawn=$((drawn + 1))
}

# Step 1: the kernel's own connect() to a port nobody listens on, and its RST.
./target/debug/step-01-socket --pcap "$work/step-01.pcap" >/dev/null
draw step-01 step-01 "Step 1: the kernel's SYN to a closed port, and its RST" \
    --lane "connect()=127.0.0.1" --kernel --lane "port 50000=127.0.0.1:50000"

# Step 2: the three scenarios, as an unfiltered raw socket reads them.
./target/debug/step-02-bind-connect --pcap "$work/step-02.pcap" >/dev/null
draw step-02 step-02 "Step 2: hand-built segments and the kernel's RSTs, in scenarios A, B and C" \
    --lane "client (A, C)=127.0.0.2:50001" --lane "client (B)=127.0.0.1:50001" \
    --kernel --lane server=127.0.0.1:50000 \
    --section "1=A: client 127.0.0.2, server 127.0.0.1" \
    --section "3=B: client and server both on 127.0.0.1, told apart by port only" \
    --section "7=C: A's segment again; a socket bound to port 9 reads it too"

# Step 3: two timer ticks, a segment on each, each answered by a RST.
./target/debug/step-03-epoll --pcap "$work/step-03.pcap" --ticks 2 >/dev/null
draw step-03 step-03 "Step 3: a segment on each of two timer ticks, and the kernel's RSTs" \
    --lane "client (sender)=127.0.0.2:50001" --kernel \
    --lane "server (socket)=127.0.0.1:50000"

# Step 4: the echo, two requests, each answered; every segment draws a RST.
./target/debug/step-04-echo --pcap "$work/step-04.pcap" --count 2 --interval 0 >/dev/null
draw step-04 step-04 "Step 4: the echo, two requests" \
    --lane client=127.0.0.2:50001 --kernel --lane server=127.0.0.1:50000

# Step 5: step 4's echo as the witnesses read it; the filtered sockets read
# only the data segments.
./target/debug/step-05-bpf-filter --pcap "$work/step-05.pcap" --count 2 --interval 0 >/dev/null
draw step-05 step-05 "Step 5: the echo, two requests, as lo carries it; the filters keep each RST from the sockets" \
    --lane client=127.0.0.2:50001 --kernel --lane server=127.0.0.1:50000 \
    --section "1=lo still carries the RSTs; each socket's filter drops them before its queue"

# Step 6: the demo's two connections, one picture each: the handshake, data
# both ways, the close. The nft rule drops the kernel's RSTs before lo, so
# none appear (one that did would be drawn in red).
./target/debug/step-06-handshake --pcap "$work/step-06.pcap" >/dev/null
draw step-06-a step-06 "Step 6 (a): our client and the kernel's TcpListener" --only-lanes \
    --lane "our client=127.0.0.2:50001" --lane "kernel server=127.0.0.1:50000" \
    --section "1=no RST crosses lo: the nft rule drops the kernel's"
draw step-06-b step-06 "Step 6 (b): the kernel's TcpStream and our server" --only-lanes \
    --lane "kernel client=127.0.0.2:50003" --lane "our server=127.0.0.1:50002" \
    --section "1=no RST crosses lo: the nft rule drops the kernel's"

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
echo "diagrams: $drawn pictures drawn into $out"
