#!/usr/bin/env bash
# Runs the README's test command as an ordinary user, on a fresh clone, the way
# a learner meets the workbook, and checks that the only tests it skips are
# those whose subject is root itself (their reason starts with "needs root").
set -euo pipefail

usage() {
    cat <<EOF
usage: sudo scripts/test-as-learner.sh [--user NAME]

As root: makes sure the ordinary user NAME (default: learner) exists, can run
this machine's Rust toolchain (copied once to /opt/workbook-rust, readable by
all), clones the committed HEAD of this checkout into the user's home, and runs
'cargo test --workspace --locked' there as that user. Fails if a test fails, or
if any test prints 'skipped:' for a reason other than "needs root: ...". Prints
how many tests ran and which were skipped.
EOF
}

user=learner
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --user)
            [ $# -ge 2 ] || { echo "error: --user needs a name" >&2; exit 2; }
            user=$2
            shift
            ;;
        *) echo "error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if [ "$(id -u)" -ne 0 ]; then
    echo "error: run this as root (it creates the user and switches to it)" >&2
    exit 2
fi
cd "$(dirname "$0")/.."
repo=$(pwd)

id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)

# The toolchain: root's lives under /root, which the user cannot enter.
sysroot=$(rustc --print sysroot)
toolchain=/opt/workbook-rust
version=$(rustc --version)
if [ "$(cat "$toolchain/.version" 2>/dev/null)" != "$version" ]; then
    rm -rf "$toolchain"
    cp -a "$sysroot" "$toolchain"
    echo "$version" >"$toolchain/.version"
    chmod -R a+rX "$toolchain"
fi

# A fresh clone of what is committed, owned by the user; the crates root has
# already downloaded are copied along, so nothing needs fetching again.
work="$home/workbook-check"
rm -rf "$work"
git clone --quiet --no-hardlinks "$repo" "$work"
mkdir -p "$home/.cargo"
if [ -d "${CARGO_HOME:-$HOME/.cargo}/registry" ] && [ ! -d "$home/.cargo/registry" ]; then
    cp -a "${CARGO_HOME:-$HOME/.cargo}/registry" "$home/.cargo/registry"
fi
chown -R "$user:" "$work" "$home/.cargo"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "test-as-learner: cargo test --workspace --locked as $user (uid $(id -u "$user")) in $work"
status=0
# CI=true would turn the root-only tests' skips into failures: it is for root,
# and env -i leaves it out.
# A clean environment: root's CARGO_HOME, RUSTUP_HOME or target dir must not
# leak into the user's run.
su "$user" -s /bin/bash -c "cd '$work' && env -i HOME='$home' USER='$user' LANG=C.UTF-8 \
    PATH='$toolchain/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    CARGO_TERM_COLOR=never cargo test --workspace --locked" >"$log" 2>&1 || status=$?
rm -rf "$work"

passed=$(grep -E '^test result: ' "$log" | awk '{n += $4} END {print n + 0}')
failed=$(grep -E '^test result: ' "$log" | awk '{n += $6} END {print n + 0}')
skipped=$(grep -E '^skipped: ' "$log" || true)
wrong=$(printf '%s\n' "$skipped" | grep -v -E '^skipped: [^:]+: needs root' | grep -v '^$' || true)
echo "test-as-learner: $passed passed, $failed failed, $(printf '%s' "$skipped" | grep -c '^skipped:' || true) skipped"
printf '%s\n' "$skipped" | sed -n 's/^skipped: \([^:]*\):.*/  skipped: \1/p'
if [ "$status" -ne 0 ]; then
    cat "$log" >&2
    echo "error: cargo test failed as $user (exit $status)" >&2
    exit 1
fi
if [ -n "$wrong" ]; then
    printf '%s\n' "$wrong" >&2
    echo "error: tests skipped for $user for a reason other than needing root" >&2
    exit 1
fi
