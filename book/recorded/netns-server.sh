# Terminal 1 of step 4's two terminals: the server in a namespace of its own, made by scripts/netns.sh.
# why: the namespace's pid changes every run
# The server runs until a SIGINT, sent here once it has started (the book
# shows the lines up to the pid; '...' there stands for the server's own).
set -euo pipefail
cargo build --quiet -p step-04-echo
out=$(mktemp)
trap 'rm -f "$out"' EXIT
command=(scripts/netns.sh ./target/debug/step-04-echo server 127.0.0.1 -v)
echo "\$ ${command[*]}"
"${command[@]}" >"$out" 2>&1 &
for _ in $(seq 100); do grep -q 'until Ctrl+C' "$out" && break; sleep 0.1; done
pid=$(sed -n 's/^netns: its pid is \([0-9]*\);.*/\1/p' "$out")
kill -INT "$pid"
wait
cat "$out"
