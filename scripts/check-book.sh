#!/usr/bin/env bash
# Builds the book and checks what mdBook lets pass silently.
set -euo pipefail

MDBOOK_VERSION=0.5.4

usage() {
    cat <<EOF
usage: scripts/check-book.sh [--no-install] [--no-tests] [--dest-dir DIR]

Builds book/ with mdBook $MDBOOK_VERSION and fails when
  - mdbook prints an ERROR or WARN line (a missing include file only logs an
    ERROR, and mdbook still exits 0);
  - an {{#include}} names a file that does not exist, an ANCHOR the file does
    not have (mdBook renders that as an empty block), or a line range (the book
    includes code by anchor only);
  - a link between pages points to a missing page or #fragment;
  - a link to a test page names a test that has no section of its own there
    (every test has one, written by scripts/test-pages.py, which must be
    up to date);
  - an ANCHOR or ANCHOR_END marker line shows on a page;
  - an insta snapshot is included with its YAML header (include a .snap as
    {{#include FILE.snap:5:}}, after its 4-line header);
  - program output is pasted into a page instead of included from a snapshot
    a test makes by running the program (a block, not Rust, with a line
    that starts with '\$ ' or with a prefix the programs print, such as
    'server: ', may hold only '\$ command' lines, '...' and includes of a
    snapshot or of a recorded run, book/recorded/NAME.txt). A line that a
    snapshot holds (16 characters or more) counts as output too;
  - a listing that includes a file has no caption line right above it
    naming that file (*steps/03-epoll/src/lib.rs, `EventSet::wait`:*);
  - a recorded run (book/recorded/NAME.sh and NAME.txt: output that chance or
    the clock shapes, so it cannot be a snapshot) lacks one of its two files
    or is shown on no page.

Then it opens every page in headless Chromium (scripts/render-check.py):
each must load without a console error, draw every picture it shows, and
hold at most about 1,200 words of prose. Then it runs scripts/diagrams.sh --check, which draws each step's exchange
from a fresh run and fails if a picture in book/src/img differs, and
scripts/recorded-runs.py, which reruns every recorded run and
checks that the fresh output still has the recorded lines in their order,
numbers aside, and every test file whose snapshots the book includes, with
INSTA_UPDATE=no (and CI=true as root), so output that drifted from the
program fails (a .snap named
<file>__<name>.snap under steps/<crate>/tests/snapshots belongs to
'cargo test -p step-<crate> --test <file>'). --no-tests skips that, for a
quick look at the book alone (--run-snapshots, the old opt-in, is accepted
and changes nothing).

Installs mdbook with 'cargo install --locked' when it is missing, unless
--no-install is given. The HTML goes to book/build, or to DIR.
EOF
}

install=yes
run_snapshots=yes
dest=book/build
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --no-install) install=no ;;
        --no-tests) run_snapshots=no ;;
        --run-snapshots) run_snapshots=yes ;;
        --dest-dir)
            [ $# -ge 2 ] || { echo "error: --dest-dir needs a directory" >&2; exit 2; }
            dest=$2
            shift
            ;;
        *) echo "error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

cd "$(dirname "$0")/.."

if ! command -v python3 >/dev/null 2>&1; then
    echo "error: python3 is needed for the link checks (Debian package: python3)" >&2
    exit 1
fi

have_version() { mdbook --version 2>/dev/null | grep -q "v$MDBOOK_VERSION\$"; }
if ! have_version; then
    if [ "$install" = no ]; then
        echo "error: mdbook $MDBOOK_VERSION is not installed; run:" >&2
        echo "  cargo install mdbook --locked --version $MDBOOK_VERSION" >&2
        exit 1
    fi
    echo "installing mdbook $MDBOOK_VERSION (about 2.5 minutes on 2 cores)"
    cargo install mdbook --locked --version "$MDBOOK_VERSION" --quiet
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    have_version || { echo "error: mdbook $MDBOOK_VERSION did not install" >&2; exit 1; }
fi

# The test pages are written from the test sources: they must be current.
python3 scripts/test-pages.py --check

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dest=$(realpath -m "$dest")
mdbook build book --dest-dir "$dest" >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ] || grep -E '(ERROR|WARN)' "$log" >/dev/null; then
    cat "$log" >&2
    echo "error: mdbook build failed or warned (exit $status)" >&2
    exit 1
fi

BOOK_DEST="$dest" python3 - <<'PY'
import html, os, pathlib, re, sys

root = pathlib.Path("book")
src = root / "src"
build = pathlib.Path(os.environ["BOOK_DEST"])
errors = []

# 1. Every include names an existing file and, by name, an existing anchor.
include = re.compile(r"\{\{#(rustdoc_include|include)\s+([^}\s]+)\s*\}\}")
for md in sorted(src.rglob("*.md")):
    for m in include.finditer(md.read_text()):
        spec = m.group(2)
        path, _, anchor = spec.partition(":")
        target = (md.parent / path).resolve()
        where = f"{md}: {{{{#{m.group(1)} {spec}}}}}"
        if not target.is_file():
            errors.append(f"{where}: no file {target}")
            continue
        if target.suffix == ".snap":
            # After insta's header: ---, source:, expression:, ---.
            head = target.read_text().splitlines()[:4]
            if anchor != "5:":
                errors.append(f"{where}: include a snapshot as {path}:5: (without its header)")
            elif len(head) < 4 or head[0] != "---" or head[3] != "---":
                errors.append(f"{where}: {target.name} has no 4-line header to skip")
            # The rerun below finds the test file by the snapshot's place and name.
            owner = re.fullmatch(
                r"steps/([^/]+)/tests/snapshots/([a-z0-9_]+)__[^/]+\.snap",
                os.path.relpath(target),
            )
            if not owner or not (
                pathlib.Path("steps") / owner.group(1) / "tests" / (owner.group(2) + ".rs")
            ).is_file():
                errors.append(
                    f"{where}: not steps/<crate>/tests/snapshots/<file>__<name>.snap "
                    "of an existing tests/<file>.rs, so no rerun would compare it"
                )
            continue
        if not anchor:
            continue
        if re.fullmatch(r"[0-9:]*", anchor):
            errors.append(f"{where}: line numbers; include by ANCHOR name")
            continue
        text = target.read_text()
        if not re.search(rf"ANCHOR:\s*{re.escape(anchor)}\b", text) or not re.search(
            rf"ANCHOR_END:\s*{re.escape(anchor)}\b", text
        ):
            errors.append(f"{where}: {target.name} has no ANCHOR/ANCHOR_END {anchor}")

# 2. Links between built pages, with their #fragments.
ids = {}
def ids_of(page):
    if page not in ids:
        text = page.read_text(errors="replace")
        ids[page] = set(re.findall(r'\bid="([^"]+)"', text))
    return ids[page]

href = re.compile(r'<a\s[^>]*href="([^"]+)"[^>]*>(.*?)</a>', re.S)
for page in sorted(build.rglob("*.html")):
    if page.name in ("print.html", "toc.html", "404.html"):
        continue
    for m in href.finditer(page.read_text(errors="replace")):
        link, text = html.unescape(m.group(1)), html.unescape(m.group(2))
        if re.match(r"^[a-z]+:", link) or link.startswith("//"):
            continue
        path, _, frag = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            errors.append(f"{page}: link to missing {link}")
            continue
        if frag and target.suffix == ".html" and frag not in ids_of(target):
            errors.append(f"{page}: link to missing fragment {link}")
            continue
        # 3. A link to a test page whose text names a test lands on that
        # test's own section (### `name`, id name).
        if target.parent.name == "tests" and target.suffix == ".html":
            names = re.findall(r"<code[^>]*>([A-Za-z_][A-Za-z0-9_]*)</code>", text)
            if len(names) == 1 and "_" in names[0]:
                page_md = src / "tests" / (target.stem + ".md")
                # A test's id is its name, or the {#id} its heading sets when
                # two tests of a step are named alike.
                heads = {}
                for name, own in re.findall(
                    r"^### `(\w+)`(?:.*\{#([\w-]+)\})?\s*$", page_md.read_text(), re.M
                ):
                    heads.setdefault(name, set()).add(own or name)
                if names[0] not in heads:
                    errors.append(f"{page}: {link}: no test {names[0]} on {page_md}")
                elif frag not in heads[names[0]]:
                    errors.append(
                        f"{page}: {link}: lands on #{frag}, not on "
                        + " or ".join(f"#{i}" for i in sorted(heads[names[0]]))
                    )

# 4. No ANCHOR marker shows on any page.
for page in sorted(build.rglob("*.html")):
    if page.name in ("print.html", "toc.html", "404.html"):
        continue
    for line in page.read_text(errors="replace").splitlines():
        if re.search(r"ANCHOR(_END)?:", line):
            errors.append(f"{page}: shows an ANCHOR marker: {line.strip()[:80]}")
            break

# 5. Program output is included from snapshots, never pasted.
prefixes = (
    "$ ", "namespace: ", "server: ", "client: ", "epoll: ", "socket: ", "error: ",
    "privileges: ", "bench: ", '{"echo"', "capture: ", "kernel: ", "filter: ",
    "wrote ", "read ", "mutate: ", "handled ", "signal: ", "pcap: ", "connect: ",
    "usage: ", "witness: ", "timer armed", "epoll_wait(", "EPOLL_CTL_", "socket(AF_INET",
    "socket(PF_INET", "AF_INET = ", "connecting a kernel TCP socket",
    "nft: ", "kernel server: ", "kernel client: ", "source: ", "expression: ",
)
# Every fenced block, so that a closing fence is never taken for an opening
# one; the output check looks at those that are not Rust.
fence = re.compile(r"^```([^\n]*)\n(.*?)^```", re.S | re.M)
# A run that chance or the clock shapes (a loss pattern, a pid, a benchmark)
# cannot be a snapshot: it is a recorded run, book/recorded/NAME.txt, made by
# NAME.sh, which scripts/recorded-runs.py reruns and compares by shape.
recorded_dir = pathlib.Path("book/recorded")
recorded_shown = set()
for md in sorted(src.rglob("*.md")):
    for m in include.finditer(md.read_text()):
        target = (md.parent / m.group(2).split(":")[0]).resolve()
        if target.parent == recorded_dir.resolve():
            recorded_shown.add(target.stem)
for sh in sorted(recorded_dir.glob("*.sh")):
    if not sh.with_suffix(".txt").exists():
        errors.append(f"{sh}: a recorded run without its output, {sh.with_suffix('.txt')}")
for txt in sorted(recorded_dir.glob("*.txt")):
    if not txt.with_suffix(".sh").exists():
        errors.append(f"{txt}: recorded output without the script that makes it, {txt.with_suffix('.sh')}")
    if txt.stem not in recorded_shown:
        errors.append(f"{txt}: a recorded run that no page shows")
# A line of 16 characters or more that a snapshot holds is output too, even
# without a known prefix (a hex dump, a table).
snapshot_lines = {
    line.strip()
    for snap in pathlib.Path("steps").rglob("*.snap")
    for line in snap.read_text().splitlines()[4:]
    if len(line.strip()) >= 16
}
for md in sorted(src.rglob("*.md")):
    text = md.read_text()
    for m in fence.finditer(text):
        if m.group(1).startswith("rust"):
            continue
        lines = m.group(2).splitlines()
        if not any(
            l.startswith(prefixes) or l.strip() in snapshot_lines for l in lines
        ):
            continue
        if all(
            l.startswith("$ ") or l.strip() == "..." or include.fullmatch(l.strip())
            for l in lines
            if l.strip()
        ):
            continue
        line = text[: m.start()].count("\n") + 1
        errors.append(
            f"{md}:{line}: program output pasted, not included from a snapshot"
            f" or a recorded run: {lines[0][:60]}"
        )

# 6. Every listing says where it comes from: a block that includes a file has,
# right above it, a caption line such as *steps/03-epoll/src/lib.rs, `wait`:*
# naming that file, so the reader can open it. (The generated test pages name
# the file in each section's heading and are left out.)
caption = re.compile(r"^\*(\S+)[^\n]*:\*$")
for md in sorted(src.rglob("*.md")):
    if md.relative_to(src).parts[0] == "tests":
        continue
    text = md.read_text()
    for m in fence.finditer(text):
        included = [i.group(2).split(":")[0] for i in include.finditer(m.group(2))]
        if not included:
            continue
        line = text[: m.start()].count("\n") + 1
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        c = caption.match(before)
        if not c:
            errors.append(f"{md}:{line}: a listing without a caption line (*path, item:*) above it")
            continue
        named = c.group(1).rstrip(",:")
        if not any(
            (md.parent / path).resolve() == pathlib.Path(named).resolve()
            or (md.parent / path).resolve().as_posix().endswith("/" + named)
            for path in included
        ):
            errors.append(f"{md}:{line}: the caption names {named}, but the listing includes {included[0]}")

if errors:
    print("\n".join(errors), file=sys.stderr)
    print(f"error: {len(errors)} problem(s) in the book", file=sys.stderr)
    sys.exit(1)
print(f"book: {len(recorded_shown)} recorded run(s) shown, each compared with a fresh run below (unless --no-tests)")
print("book: built without warnings; includes, anchors, links, test pages and output check out")
PY

if [ "$run_snapshots" = yes ]; then
    # The book as a reader's browser shows it: every page loads, every
    # picture is drawn, no page of prose is too long to read in one go.
    python3 scripts/render-check.py --self-test
    python3 scripts/render-check.py --book "$dest"
    python3 scripts/recorded-runs.py --self-test
    # The "where we are" pictures, and the sequence diagrams drawn from fresh
    # runs, must be what their scripts draw today.
    python3 scripts/where-we-are.py --check
    scripts/diagrams.sh --check
    # As root (CI), a recorded run that cannot run fails, as a skipped test does.
    ci=${CI:-}
    [ "$(id -u)" -eq 0 ] && ci=true
    CI=$ci python3 scripts/recorded-runs.py \
        || { echo "error: a recorded run in book/recorded no longer matches the program" >&2; exit 1; }
    # Each included steps/<crate>/tests/snapshots/<file>__<name>.snap belongs
    # to 'cargo test -p step-<crate> --test <file>'. INSTA_UPDATE=no makes a
    # snapshot that no longer matches the program's output fail and writes
    # nothing. As root (CI) CI=true also makes a skipped test fail; an ordinary
    # user's root-only tests skip, as they do in 'cargo test'.
    grep -rhoE '\{\{#include [^}]*steps/[^/]+/tests/snapshots/[a-z0-9_]+__[^}]*\.snap' book/src \
        | sed -E 's|.*steps/([^/]+)/tests/snapshots/([a-z0-9_]+)__.*|\1 \2|' | sort -u \
        | while read -r crate file; do
            echo "check-book: cargo test -p step-$crate --test $file"
            CI=$ci INSTA_UPDATE=no INSTA_FORCE_PASS=0 \
                cargo test --quiet --locked -p "step-$crate" --test "$file" >&2 \
                || { echo "error: the snapshots of step-$crate's tests/$file.rs differ from the program" >&2; exit 1; }
        done
fi
