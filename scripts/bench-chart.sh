#!/usr/bin/env bash
# Runs the workbook's bench once, for the book: its table becomes the recorded
# run book/recorded/bench-table.txt, and its chart book/src/img/bench.svg,
# which the appendix "What a raw echo costs" shows. Review both diffs (and the
# numbers the appendix's prose cites) before committing them.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_SVG=book/src/img/bench.svg python3 scripts/recorded-runs.py --update bench-table
