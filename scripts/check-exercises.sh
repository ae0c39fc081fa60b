#!/usr/bin/env bash
# Proves every exercise both ways: the starter fails its check, the solution passes.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/check-exercises.sh [STEP...]

For every step crate with tests/exercises.rs (or only the STEPs named, e.g.
01-socket), and every test `exercise_<name>` in it:
  - with the starter code as shipped, the check must FAIL, on its assertion
    (a snapshot or assert), not on a compile error;
  - with the reference solutions (--features solutions), every check must PASS.

A learner checks one answer with the command each exercise page gives:
  cargo test -p step-01-socket --test exercises exercise_<name> -- --ignored
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
[ ${#steps[@]} -gt 0 ] || { echo "error: no step has tests/exercises.rs" >&2; exit 1; }

# A failing starter must not write .snap.new files, and must fail like CI does.
export INSTA_UPDATE=no CI=true CARGO_TERM_COLOR=never
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failures=0
checked=0

for step in "${steps[@]}"; do
    dir=steps/$step
    [ -f "$dir/tests/exercises.rs" ] || { echo "error: $dir/tests/exercises.rs missing" >&2; exit 1; }
    package="step-$step"
    names=$(grep -oE 'fn exercise_[a-z0-9_]+' "$dir/tests/exercises.rs" | sed 's/^fn //')
    [ -n "$names" ] || { echo "error: no exercise_ test in $dir/tests/exercises.rs" >&2; exit 1; }

    cargo test -q --locked -p "$package" --test exercises --no-run
    for name in $names; do
        checked=$((checked + 1))
        if cargo test -q --locked -p "$package" --test exercises "$name" \
            -- --ignored --exact >"$log" 2>&1; then
            echo "FAIL $package $name: the starter passes its check as shipped"
            failures=$((failures + 1))
        elif grep -qE "^test $name \.\.\. FAILED|panicked" "$log"; then
            echo "ok   $package $name: the starter fails its check"
        else
            echo "FAIL $package $name: the starter did not run its check:"
            sed 's/^/    /' "$log" | tail -20
            failures=$((failures + 1))
        fi
    done

    if cargo test -q --locked -p "$package" --features solutions --test exercises \
        >"$log" 2>&1; then
        echo "ok   $package: every solution passes its check"
    else
        echo "FAIL $package: a solution fails its check:"
        sed 's/^/    /' "$log" | tail -30
        failures=$((failures + 1))
    fi
done

echo "exercises: $checked checked, $failures problem(s)"
[ "$failures" -eq 0 ]
