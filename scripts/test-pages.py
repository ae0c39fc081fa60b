#!/usr/bin/env python3
"""Writes the book's test pages, one section per test, from the test sources.

Each page book/src/tests/NAME.md is made from its template
book/tests-templates/NAME.md (step-0N.md for each step, support.md for the
support and testkit crates, bench.md for the bench): every fenced block that holds only an
{{#include FILE[:ANCHOR]}} of a file with #[test] functions becomes one
section per test: its name as a heading (so a chapter links straight to it),
the file it is in, the command that runs it alone, a note where it needs root, and its code
(doc comment, attributes and body), without ANCHOR marker lines. Blocks that
include files without tests (helpers) are kept as they are.

usage: scripts/test-pages.py [--check]
  --check   write nothing; exit 1 if a committed page differs from what this
            would write (the test sources changed, the pages were not
            regenerated).
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "book" / "tests-templates"
PAGES = ROOT / "book" / "src" / "tests"

BLOCK = re.compile(
    r"^```rust,ignore\n\{\{#include ([^}:\s]+)(?::([A-Za-z_][A-Za-z0-9_]*))?\}\}\n```\n",
    re.M,
)
ANCHOR_LINE = re.compile(r"^\s*//\s*ANCHOR(_END)?:")


# The crates whose tests the pages show: each step's, and the crates that are
# no step's lesson.
CRATES = sorted((ROOT / "steps").glob("*/")) + [
    ROOT / "support",
    ROOT / "testkit",
    ROOT / "diagram",
    ROOT / "bench",
]


def package_of(path):
    """steps/01-socket/... -> (step-01-socket, crate dir); bench/... ->
    (workbook-bench, crate dir): the name its Cargo.toml gives the package."""
    rel = path.relative_to(ROOT)
    crate = ROOT / "steps" / rel.parts[1] if rel.parts[0] == "steps" else ROOT / rel.parts[0]
    manifest = (crate / "Cargo.toml").read_text()
    name = re.search(r'^name\s*=\s*"([^"]+)"', manifest, re.M)
    return (name.group(1) if name else crate.name), crate


def tests_in(path, anchor):
    """(name, code, ignored, needs_root) for each #[test] fn of the file, within
    the ANCHOR region if one is named, in file order."""
    lines = path.read_text().splitlines()
    lo, hi = 0, len(lines)
    if anchor:
        for i, line in enumerate(lines):
            if re.search(rf"ANCHOR:\s*{anchor}\b", line):
                lo = i
            if re.search(rf"ANCHOR_END:\s*{anchor}\b", line):
                hi = i
    # Functions (not tests) whose body says "needs root": a test that calls
    # one of them is root-only too.
    # (Also one that calls such a function, and so on.)
    bodies = {
        m.group(2): m.group(3)
        for m in re.finditer(
            r"^(\s*)(?:pub )?fn (\w+)[^{;]*\{\n(.*?)^\1\}", path.read_text(), re.S | re.M
        )
    }
    consts = constants(path)
    root_helpers = {
        name: reason_in(body, consts) for name, body in bodies.items() if "needs root" in body
    }
    while True:
        more = {
            name: root_helpers[h]
            for name, body in bodies.items()
            if name not in root_helpers
            for h in list(root_helpers)
            if re.search(rf"\b{h}\(", body)
        }
        if not more:
            break
        root_helpers.update(more)
    found = []
    i = lo
    while i < hi:
        if lines[i].strip() != "#[test]":
            i += 1
            continue
        start = i
        while start > lo and (
            lines[start - 1].strip().startswith("///")
            or lines[start - 1].strip().startswith("#[")
        ):
            start -= 1
        j = i
        while not re.match(r"^\s*(pub )?fn \w+", lines[j]):
            j += 1
        indent = re.match(r"^(\s*)", lines[j]).group(1)
        name = re.search(r"fn (\w+)", lines[j]).group(1)
        end = j
        while lines[end] != indent + "}":
            end += 1
        code_lines = [l for l in lines[start : end + 1] if not ANCHOR_LINE.match(l)]
        # Dedent a test inside `mod tests`.
        code = "\n".join(l[len(indent):] if l.startswith(indent) else l for l in code_lines)
        attrs = "\n".join(lines[start:j])
        body = "\n".join(lines[j : end + 1])
        ignored = "#[ignore" in attrs
        needs_root = None
        if "needs root" in body:
            needs_root = reason_in(body, consts)
        else:
            for h, reason in root_helpers.items():
                if re.search(rf"\b{h}\(", body):
                    needs_root = reason
                    break
        found.append((name, code, ignored, needs_root))
        i = end + 1
    return found


def constants(path):
    """NAME -> value of the file's simple `const NAME: T = value;` items (and
    those of tests/common/mod.rs), to spell out a reason's format string."""
    found = {}
    # The file, its step's shared helpers, then every crate's library (where
    # a constant such as testkit's NOBODY is imported from).
    sources = [path, path.parent / "common" / "mod.rs"]
    for crate in CRATES:
        sources += sorted(crate.glob("src/**/*.rs"))
    for source in sources:
        if source.is_file():
            for m in re.finditer(
                r"^\s*(?:pub )?const (\w+): [^=]+= ([^;\n]+);", source.read_text(), re.M
            ):
                found.setdefault(m.group(1), m.group(2).strip().strip('"'))
    return found


def reason_in(body, consts):
    """The text after "needs root: " in a skip reason of the body."""
    m = re.search(r'"needs root: ((?:[^"\\]|\\.)*)"', body)
    if not m:
        return "its subject is root itself"
    reason = m.group(1)
    return re.sub(r"\{(\w+)\}", lambda v: consts.get(v.group(1), v.group(0)), reason)


def helpers_of(path):
    """The names of a test file's functions that are not tests, and whether it
    uses tests/common/mod.rs."""
    text = path.read_text()
    lines = text.splitlines()
    names = []
    for i, line in enumerate(lines):
        m = re.match(r"(?:pub )?fn (\w+)", line)
        if not m:
            continue
        k = i - 1
        attrs = []
        while k >= 0 and (lines[k].startswith("#[") or lines[k].startswith("///")):
            attrs.append(lines[k])
            k -= 1
        if not any(a.strip().startswith("#[test]") for a in attrs):
            names.append(m.group(1))
    return names, re.search(r"^mod common;", text, re.M) is not None


def module_doc(path):
    """The first paragraph of a file's //! comment, as one line."""
    para = []
    for line in path.read_text().splitlines():
        if not line.startswith("//!"):
            if para:
                break
            continue
        line = line[3:].strip()
        if not line:
            if para:
                break
            continue
        para.append(line)
    text = " ".join(para)
    # rustdoc's intra-doc links mean nothing to mdBook: keep their text.
    return re.sub(r"\[(`[^`\]]+`)\](?!\()", r"\1", text)


def command(path, name, ignored):
    package, crate = package_of(path)
    rel = path.relative_to(crate)
    flags = "--exact --include-ignored" if ignored else "--exact"
    if rel.parts[0] == "tests":
        target = f"--test {rel.parts[1][:-3]}"
        full = name
    else:
        target = "--lib"
        module = "::".join(rel.with_suffix("").parts[1:])
        module = module.removesuffix("::mod").removesuffix("lib")
        full = f"{module}::tests::{name}" if module else f"tests::{name}"
    return f"cargo test -p {package} {target} {full} -- {flags}"


BOOK_OUTPUT = """
## `tests/book_output.rs`

The program output the chapters show: each block is made by running the
program as the chapter says and pinned as a snapshot, so the book cannot
drift from what the code prints.

```rust,ignore
{{#include ../../../steps/%s/tests/book_output.rs}}
```
"""


def render(template_path, root_only):
    """The page written from template_path; appends (page, name) of each
    root-only test on it to root_only."""
    text = template_path.read_text()
    # Every step's book_output.rs gets its section, last.
    step = template_path.stem.removeprefix("step-")
    for crate in sorted((ROOT / "steps").glob(step + "-*")):
        if (crate / "tests" / "book_output.rs").exists() and "book_output.rs" not in text:
            text = text.rstrip("\n") + "\n" + BOOK_OUTPUT % crate.name
    page_dir = PAGES
    seen = {}

    # A file's section with no words of its own under its heading gets the
    # first paragraph of the file's //! comment.
    def describe(m):
        path = (page_dir / m.group(2)).resolve()
        doc = module_doc(path) if path.is_file() else ""
        return m.group(1) + (doc + "\n\n" if doc else "")

    text = re.sub(
        r"^(## .*\n\n)(?=```rust,ignore\n\{\{#include ([^}:\s]+))", describe, text, flags=re.M
    )

    def expand(m):
        path = (page_dir / m.group(1)).resolve()
        tests = tests_in(path, m.group(2))
        if not tests:
            return m.group(0)
        out = []
        rel = path.relative_to(ROOT)
        if path.relative_to(package_of(path)[1]).parts[0] == "tests":
            helpers, common = helpers_of(path)
            listed = ", ".join(f"`{h}`" for h in helpers)
            shared = f"`{rel.parent / 'common' / 'mod.rs'}`"
            if helpers and common:
                out.append(
                    "Only the tests are shown here. The helpers they call are in "
                    f"the file itself ({listed}) and in {shared}, which the "
                    "step's test files share.\n"
                )
            elif helpers:
                out.append(
                    f"Only the tests are shown here; the helpers they call ({listed}) "
                    "are in the file itself.\n"
                )
            elif common:
                out.append(
                    "Only the tests are shown here; the helpers they call are in "
                    f"{shared}, which the step's test files share.\n"
                )
        for name, code, ignored, needs_root in tests:
            seen[name] = seen.get(name, 0) + 1
            if seen[name] == 1:
                anchor = name
                out.append(f"### `{name}`\n")
            else:
                # Two tests of one step named alike: the second gets an id of
                # its own, made from its file's name.
                anchor = f"{name}-{path.stem}"
                out.append(f"### `{name}` ({rel.parts[-2]}/{path.name}) {{#{anchor}}}\n")
            out.append(f"In `{rel}`; run it alone with:\n")
            out.append("```sh\n" + command(path, name, ignored) + "\n```\n")
            if needs_root:
                root_only.append((template_path.name, anchor, name))
                out.append(
                    f"Needs root: {needs_root}. As an ordinary user it prints "
                    "`skipped: ... needs root` and passes (see "
                    "[Which tests need root](index.md#which-tests-need-root)).\n"
                )
            out.append("```rust,ignore\n" + code + "\n```\n")
        return "\n".join(out)

    body = BLOCK.sub(expand, text)
    header = (
        "<!-- Written by scripts/test-pages.py from "
        f"book/tests-templates/{template_path.name}: edit that, then run it. -->\n\n"
    )
    return header + body


def missing_files():
    """Test files, and library files with unit tests, that no template
    includes."""
    included = set()
    for template in TEMPLATES.glob("*.md"):
        for m in BLOCK.finditer(template.read_text()):
            included.add((PAGES / m.group(1)).resolve())
    missing = []
    sources = []
    for crate in CRATES:
        sources += sorted(crate.glob("tests/**/*.rs"))
        sources += sorted(crate.glob("src/**/*.rs"))
    for path in sources:
        if "#[test]" in path.read_text() and path.resolve() not in included:
            missing.append(str(path.relative_to(ROOT)))
    return missing


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    missing = [m for m in missing_files() if not m.endswith("/book_output.rs")]
    if missing:
        sys.exit("error: test files on no test page (add them to book/tests-templates): "
                 + ", ".join(missing))
    root_only = []
    for template in sorted(TEMPLATES.glob("*.md")):
        page = PAGES / template.name
        text = render(template, root_only)
        if check:
            if not page.exists() or page.read_text() != text:
                stale.append(str(page.relative_to(ROOT)))
        else:
            page.write_text(text)
    # The index lists the root-only tests between two markers.
    index = PAGES / "index.md"
    listing = "\n".join(
        f"- [`{name}`]({page}#{anchor})" for page, anchor, name in root_only
    )
    current = index.read_text()
    new = re.sub(
        r"(<!-- root-only:start -->\n).*?(<!-- root-only:end -->)",
        lambda m: m.group(1) + listing + "\n" + m.group(2),
        current,
        flags=re.S,
    )
    if check:
        if new != current:
            stale.append(str(index.relative_to(ROOT)))
        if stale:
            print("stale test pages (run scripts/test-pages.py): " + ", ".join(stale), file=sys.stderr)
            sys.exit(1)
    elif new != current:
        index.write_text(new)


if __name__ == "__main__":
    main()
