#!/usr/bin/env bash
# Records the echo demo (and step 1's SYN) as pcap, and shows them with tshark.
set -euo pipefail

usage() {
    cat <<EOF
usage: scripts/capture.sh [--pcap FILE] [--syn-pcap FILE] [--count N]

1. Builds and runs the echo demo with --pcap FILE (default /tmp/echo.pcap):
   N requests (default 3), each answered, in a private network namespace.
2. Runs step 1 with --pcap SYN_FILE (default /tmp/syn.pcap): the kernel's own
   SYN to a closed port, and its RST|ACK answer.
3. Where tshark is installed, prints both files with TCP checksum validation
   on (-o tcp.check_checksum:TRUE), one line per packet, and explains the
   checksum column. Fails (exit 1) if any of our own segments (PSH|ACK with
   12 bytes of payload) is not shown as good, or if one is missing.
   Without tshark it says how to install it and prints the demo's own account
   of the packets instead.

Needs cargo; tshark is optional (Debian package tshark).
EOF
}

pcap=/tmp/echo.pcap
syn_pcap=/tmp/syn.pcap
count=3
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --pcap | --syn-pcap | --count)
            [ $# -ge 2 ] || { echo "error: $1 needs a value" >&2; exit 2; }
            case "$1" in
                --pcap) pcap=$2 ;;
                --syn-pcap) syn_pcap=$2 ;;
                --count) count=$2 ;;
            esac
            shift
            ;;
        *) echo "error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case "$count" in
    '' | *[!0-9]* | 0) echo "error: --count: '$count' is not a whole number of at least 1" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not installed (https://rustup.rs, or the Debian package cargo)" >&2
    exit 1
fi

echo "== the echo demo, recorded: cargo run -p step-04-echo -- --pcap $pcap --count $count -v"
demo_output=$(cargo run --quiet -p step-04-echo -- --pcap "$pcap" --count "$count" -v)
echo "$demo_output" | grep -E '^(namespace|pcap):' || true
echo
echo "== step 1, recorded: cargo run -p step-01-socket -- --pcap $syn_pcap"
step1_output=$(cargo run --quiet -p step-01-socket -- --pcap "$syn_pcap")
echo "$step1_output" | grep -E '^(namespace|pcap):|checksum 0x' || true
echo

if ! command -v tshark >/dev/null 2>&1; then
    echo "tshark is not installed, so nothing reads the files back here; install it:"
    echo "  apt-get install --no-install-recommends tshark"
    echo "Meanwhile, the demo's own account of the packets it read and wrote:"
    echo "$demo_output" | grep -E 'wrote|read|ignored kernel-rst' || true
    exit 0
fi

# One line per packet. The checksum status is tshark's verdict once validation
# is on (it is off by default): 1 good, 0 bad, 2 unverified.
fields=(-e frame.number -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport
    -e tcp.flags.str -e tcp.seq_raw -e tcp.ack_raw -e tcp.len
    -e tcp.checksum -e tcp.checksum.status)
table() {
    # tshark warns on stderr when run as root; that warning says nothing here.
    tshark -r "$1" -o tcp.check_checksum:TRUE -T fields "${fields[@]}" \
        2> >(grep -v 'Running as user "root"' >&2)
}
show() {
    echo "== tshark -r $1 -o tcp.check_checksum:TRUE -T fields ..."
    { printf 'no.\tsrc\tsport\tdst\tdport\tflags\tseq\tack\tlen\tchecksum\tstatus\n'; echo "$2"; } |
        awk -F'\t' '{ printf "%-3s %-9s %-5s %-9s %-5s %-12s %-10s %-10s %-3s %-8s %s\n",
                      $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
}
echo_table=$(table "$pcap")
show "$pcap" "$echo_table"
echo
# A failing tshark must stop the script: set -e does not see a command
# substitution used as an argument, so take the table first.
syn_table=$(table "$syn_pcap")
show "$syn_pcap" "$syn_table"
echo

cat <<'EOF'
The status column is tshark's verdict on the TCP checksum:
  1  good: the checksum verifies. Every segment this workbook builds (flags
     ·······AP···, len 12) must show 1: we compute the checksum ourselves, and
     nothing else would fill it in.
  0  bad: it does not verify. On lo that is not damage: the kernel's own TCP
     leaves the checksum to the network card ("checksum offload") and stores
     only the pseudo-header's sum; lo has no card and delivers the packet as
     it is. Step 1's SYN (flags ··········S·) shows this: the step prints the
     same checksum as "partial, pseudo-header only". Wireshark paints such
     packets as [TCP CHECKSUM INCORRECT].
  2  unverified: tshark could not check it (a packet cut short, say).
The kernel's RSTs are built without offload and carry a full checksum: 1.
EOF

# Our segments: PSH|ACK with the 12-byte payload. Each must be good, and all
# 2 x COUNT of them must be there (a request and a reply per request).
ours=$(echo "$echo_table" | awk -F'\t' '$6 ~ /AP/ && $9 == 12')
good=$(echo "$ours" | awk -F'\t' '$11 == 1' | grep -c . || true)
total=$(echo "$ours" | grep -c . || true)
expected=$((2 * count))
echo
if [ "$total" -ne "$expected" ] || [ "$good" -ne "$total" ]; then
    echo "FAILED: $good of our $total segments (expected $expected) show a good checksum" >&2
    exit 1
fi
echo "ok: all $total of our segments in $pcap show checksum status 1 (good)"
