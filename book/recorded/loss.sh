# 200 messages through an output rule that drops one TCP segment in five, by hand.
# why: the rule drops at random, so which segments are lost changes every run
# needs: nft
cargo build --quiet -p step-04-echo
# ANCHOR: run
unshare --user --map-root-user --net sh -c '
  ip link set lo up
  nft add table inet loss
  nft add chain inet loss output "{ type filter hook output priority 0; }"
  nft add rule inet loss output meta l4proto tcp numgen random mod 5 == 0 drop
  ./target/debug/step-04-echo server 127.0.0.1 --peer 127.0.0.2 > /tmp/server.txt & sleep 0.2
  ./target/debug/step-04-echo client 127.0.0.1 --addr 127.0.0.2 --count 200 --interval 0 --timeout 10ms --tries 20
  kill -INT $!; wait; tail -4 /tmp/server.txt'
# ANCHOR_END: run
