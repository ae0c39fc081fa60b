# tshark's detail view of the echo's first request, from the file scripts/capture.sh writes.
# why: the arrival times tshark prints change every run
# needs: tshark
cargo run --quiet -p step-04-echo -- --pcap /tmp/echo.pcap --count 3 -v > /dev/null
echo '$ tshark -r /tmp/echo.pcap -o tcp.check_checksum:TRUE -V -Y frame.number==1'
tshark -r /tmp/echo.pcap -o tcp.check_checksum:TRUE -V -Y frame.number==1 \
    2> >(grep -v 'Running as user "root"' >&2)
