# The tutorial's two terminals through scripts/netns.sh, typed by this script instead of a person.
# why: the namespace's pid and the packets' arrival times change every run
# needs: tshark
# Each terminal is the script's shell reading its commands from a pipe; this
# script prints what a person would have seen: the prompt ($ outside, # in
# the namespace), the command, then its output. terminal 1's ^C is a SIGINT
# sent to the server.
set -euo pipefail
cargo build --quiet -p step-04-echo
work=$(mktemp -d)
trap 'exec 3>&-; rm -rf "$work"' EXIT
mkfifo "$work/terminal1"
SHELL=/bin/sh scripts/netns.sh <"$work/terminal1" >"$work/out1" 2>&1 &
exec 3>"$work/terminal1"
wait_for() { # wait_for FILE TEXT: until the file holds the text (at most 10 s)
    for _ in $(seq 100); do grep -q "$2" "$1" && return; sleep 0.1; done
    echo "error: no '$2' in $1:" >&2; cat "$1" >&2; exit 1
}
wait_for "$work/out1" 'it ends when'
pid=$(sed -n 's/^netns: its pid is \([0-9]*\);.*/\1/p' "$work/out1")
server='./target/debug/step-04-echo server 127.0.0.1'
echo "$server" >&3
wait_for "$work/out1" 'until Ctrl+C'
client='./target/debug/step-04-echo client 127.0.0.1 --count 2 --pcap /tmp/two.pcap'
printf '%s\nexit\n' "$client" \
    | SHELL=/bin/sh scripts/netns.sh --enter "$pid" >"$work/out2" 2>&1
sleep 0.2
pkill -INT -P "$pid" -f 'step-04-echo server'
wait_for "$work/out1" 'own-copy'
exec 3>&-
wait

echo 'terminal 1'
echo '$ scripts/netns.sh'
grep -E '^(netns: |    scripts/)' "$work/out1"
echo "# $server"
# The server's lines; its first after the SIGINT gets the ^C the terminal echoes.
grep -vE '^(netns: |    scripts/)' "$work/out1" | sed 's/^signal: SIGINT/^Csignal: SIGINT/'
echo
echo 'terminal 2'
echo "\$ scripts/netns.sh --enter $pid"
echo "# $client"
cat "$work/out2"
echo '# exit'
echo '$ tshark -r /tmp/two.pcap -o tcp.check_checksum:TRUE'
tshark -r /tmp/two.pcap -o tcp.check_checksum:TRUE 2> >(grep -v 'Running as user "root"' >&2)
