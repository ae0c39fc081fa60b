#!/usr/bin/env bash
# How am I doing: runs every exercise's check on your own code, one line each.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/progress.sh [STEP...]

Runs the check of every exercise (or of the STEPs named, e.g. 04-echo) on the
files you edited, and prints one line per exercise:

  done      your code passes the check;
  not yet   it does not (or does not build): the line names the page and the
            section to read, and the command that shows the whole failure.

A check compares what your code produces with a snapshot the workbook ships
(steps/<step>/tests/snapshots/exercises__*.snap). Accepting your own output
into that snapshot (cargo insta accept, or INSTA_UPDATE=always) makes the
check pass without solving anything: this script says so for every snapshot
that differs from the one shipped, and counts that exercise as not done.
It never writes .snap.new files (INSTA_UPDATE=no); it lists any that a check
you ran by hand left behind.
EOF
}

steps=()
for arg in "$@"; do
    case "$arg" in
        -h | --help) usage; exit 0 ;;
        -*) echo "error: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
        *) steps+=("$arg") ;;
    esac
done

cd "$(dirname "$0")/.."
if [ ${#steps[@]} -eq 0 ]; then
    for dir in steps/*/; do
        [ -f "$dir/tests/exercises.rs" ] && steps+=("$(basename "$dir")")
    done
fi

export INSTA_UPDATE=no CARGO_TERM_COLOR=never
log=$(mktemp)
trap 'rm -f "$log"' EXIT
total=0
done_count=0

# The page and the section heading that teach exercise $1.
section() {
    local name=$1 page heading
    page=$(grep -l "exercise_$name -- --ignored" book/src/*-exercises.md 2>/dev/null | head -1)
    [ -n "$page" ] || { echo "(no page names it)"; return; }
    heading=$(grep -E "^## .*\`$name\`" "$page" | head -1 | sed 's/^## //; s/`//g')
    echo "book/src/$(basename "$page") ${heading:+\"$heading\"}"
}

for step in "${steps[@]}"; do
    dir=steps/$step
    [ -f "$dir/tests/exercises.rs" ] || { echo "error: $dir has no exercises" >&2; exit 2; }
    package="step-$step"
    names=$(grep -oE 'fn exercise_[a-z0-9_]+' "$dir/tests/exercises.rs" | sed 's/^fn exercise_//')
    # Build once, quietly: a compile error in your code shows here, in full.
    if ! cargo test -q -p "$package" --test exercises --no-run >"$log" 2>&1; then
        echo "$package: does not build; the first errors:"
        grep -E '^(error|warning: unused)' -A6 "$log" | head -30 | sed 's/^/    /'
        for name in $names; do
            total=$((total + 1))
            printf 'not yet  %-16s %-26s does not build (see above)\n' "$package" "$name"
        done
        continue
    fi
    for name in $names; do
        total=$((total + 1))
        command="cargo test -p $package --test exercises exercise_$name -- --ignored"
        # A snapshot of this exercise that differs from the shipped one: the
        # check would compare against the learner's own output.
        changed=$(git status --porcelain -- "$dir/tests/snapshots/exercises__${name}"*.snap \
            "$dir/tests/snapshots/exercises__exercise_${name}"*.snap 2>/dev/null \
            | awk '$1 != "??" {print $2}' || true)
        if [ -n "$changed" ]; then
            printf 'not yet  %-16s %-26s its snapshot was changed: accepting a snapshot is not solving it\n' \
                "$package" "$name"
            echo "         restore it: git checkout -- $changed"
            continue
        fi
        if cargo test -q -p "$package" --test exercises "exercise_$name" \
            -- --ignored --exact >"$log" 2>&1; then
            done_count=$((done_count + 1))
            printf 'done     %-16s %s\n' "$package" "$name"
        else
            printf 'not yet  %-16s %-26s read %s\n' "$package" "$name" "$(section "$name")"
            echo "         then: $command"
        fi
    done
done

left=$(find steps -name 'exercises__*.snap.new' 2>/dev/null | sort)
if [ -n "$left" ]; then
    echo
    echo "Left by a failing check you ran by hand (your output, for comparing; safe to delete):"
    echo "$left" | sed 's/^/  /'
fi
echo
echo "progress: $done_count of $total exercises done"
