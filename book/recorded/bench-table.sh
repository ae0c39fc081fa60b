# Step 5's bench, as it prints its table.
# why: a benchmark: its numbers are this machine's on one day; the bench tests check its rows and counts
cargo run --quiet --release -p step-05-bpf-filter -- bench
