#!/usr/bin/env bash
# Builds the book and checks what mdBook lets pass silently.
set -euo pipefail

MDBOOK_VERSION=0.5.4

usage() {
    cat <<EOF
usage: scripts/check-book.sh [--no-install] [--dest-dir DIR]

Builds book/ with mdBook $MDBOOK_VERSION and fails when
  - mdbook prints an ERROR or WARN line (a missing include file only logs an
    ERROR, and mdbook still exits 0);
  - an {{#include}} names a file that does not exist, an ANCHOR the file does
    not have (mdBook renders that as an empty block), or a line range (the book
    includes code by anchor only);
  - a link between pages points to a missing page or #fragment;
  - a link to a test page names a test function that its file does not have.

Installs mdbook with 'cargo install --locked' when it is missing, unless
--no-install is given. The HTML goes to book/build, or to DIR.
EOF
}

install=yes
dest=book/build
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --no-install) install=no ;;
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
        # 3. A link to a test page names a function of the included file.
        if target.parent.name == "tests" and frag and target.suffix == ".html":
            names = re.findall(r"<code[^>]*>([A-Za-z_][A-Za-z0-9_]*)</code>", text)
            if not names:
                continue
            page_md = src / "tests" / (target.stem + ".md")
            heading = None
            for line in page_md.read_text().splitlines():
                if line.startswith("## "):
                    title = line[3:].strip().strip("`")
                    slug = re.sub(r"[^a-z0-9_\- ]", "", title.lower()).replace(" ", "-")
                    if slug == frag:
                        heading = title
            if heading is None:
                errors.append(f"{page}: {link}: no '## ' heading with that id in {page_md}")
                continue
            inc = include.search(page_md.read_text().split(f"## `{heading}`")[-1])
            files = [(page_md.parent / inc.group(2).partition(":")[0]).resolve()] if inc else []
            body = "".join(f.read_text() for f in files if f.is_file())
            for name in names:
                if not re.search(rf"\bfn\s+{re.escape(name)}\b", body):
                    errors.append(f"{page}: {link}: no test fn {name} in {heading}")

if errors:
    print("\n".join(errors), file=sys.stderr)
    print(f"error: {len(errors)} problem(s) in the book", file=sys.stderr)
    sys.exit(1)
print("book: built without warnings; includes, anchors, links and test names check out")
PY
