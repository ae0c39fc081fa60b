# tshark on step 1's capture: the kernel's SYN, with its partial checksum, and its RST.
# why: the kernel's port, ISN and timestamps change every run
# needs: tshark
cargo run --quiet -p step-01-socket -- --pcap /tmp/syn.pcap > /dev/null
for args in '' '-V -Y frame.number==1'; do
    echo "\$ tshark -r /tmp/syn.pcap -o tcp.check_checksum:TRUE${args:+ $args}"
    # shellcheck disable=SC2086
    tshark -r /tmp/syn.pcap -o tcp.check_checksum:TRUE $args 2> >(grep -v 'Running as user "root"' >&2)
    [ -n "$args" ] || echo
done
