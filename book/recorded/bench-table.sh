# The workbook's bench, as it prints its table.
# why: a benchmark: its numbers are this machine's on one day; the bench tests check its rows and counts
# scripts/bench-chart.sh runs this with BENCH_SVG set, so that the same run
# also draws the appendix's chart. Only stdout: what goes to stderr (a note
# about a debug build, the chart's file) is shown on failure.
err=$(mktemp)
trap 'rm -f "$err"' EXIT
cargo run --quiet --release -p workbook-bench -- ${BENCH_SVG:+--svg "$BENCH_SVG"} 2>"$err" || { cat "$err"; exit 1; }
