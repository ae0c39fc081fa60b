# scripts/capture.sh: the echo and step 1's SYN recorded as pcap, read back by tshark.
# why: step 1's port, its ISN and the checksums that cover them change every run
# needs: tshark
# mask: [0-9a-f]{2} [0-9a-f]{2}(?= +(header )?checksum)
scripts/capture.sh 2> >(grep -v 'Running as user "root"' >&2)
