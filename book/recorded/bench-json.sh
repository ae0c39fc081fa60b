# The workbook's bench with --json: one object per configuration, on stdout.
# why: a benchmark: its numbers are this machine's on one day; the bench tests check its rows and counts
# Only stdout: the lines that say where it runs go to stderr, shown on failure.
err=$(mktemp)
trap 'rm -f "$err"' EXIT
cargo run --quiet --release -p workbook-bench -- --json 2>"$err" || { cat "$err"; exit 1; }
