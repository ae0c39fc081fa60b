#!/usr/bin/env python3
"""Reruns the book's recorded runs and checks that they still tell the truth.

Some output the book shows cannot be a snapshot: chance or the clock shapes it
(which segments a random rule drops, a pid, a port the kernel picks, a
benchmark's numbers). Each such run lives in book/recorded/ as two files:

  NAME.sh   the commands, run with bash from the repository's root; the book
            shows this file where it shows the commands.
  NAME.txt  what one run printed, as the book shows it; a line that is just
            '...' stands for lines cut out.

The check runs NAME.sh again and compares the fresh output with NAME.txt by its
shape: every number (decimal, or hex with a digit in it) counts as the same
number, runs of spaces count as one, and lines of the form
'# mask: REGEX' in NAME.sh mask more (each match counts as the same text). The
recorded lines must then appear in the fresh output in order, each block
between two '...' lines as consecutive lines; without '...' at its start or end
the recording must also start or end where the fresh output does.

A header line '# needs: root' (or 'tshark', 'nft') in NAME.sh makes the check
say 'skipped: NAME needs ...' where that is missing, and fail instead under
CI=true.

usage: scripts/recorded-runs.py [--update] [--list] [NAME...]
  (no option)  check every run, or the NAMEs given
  --update     rerun and write the fresh output to NAME.txt (review the diff:
               the cuts ('...') are yours to make again)
  --list       print each run's name, needs and first comment line
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECORDED = ROOT / "book" / "recorded"

# A number: decimal (with a fraction) or hex with at least one digit, not part
# of a word ("ipv4" stays), followed by anything but more hex ("10ms" is 10).
NUMBER = re.compile(r"(?<![0-9A-Za-z_])(?:0x)?[0-9a-fA-F]*[0-9][0-9a-fA-F]*(?:\.[0-9]+)?(?![0-9a-fA-F])")


def headers(script: str, key: str) -> list[str]:
    return [
        m.group(1).strip()
        for m in re.finditer(rf"^# {key}: (.+)$", script, re.M)
    ]


def shape(line: str, masks: list[re.Pattern]) -> str:
    for mask in masks:
        line = mask.sub("<masked>", line)
    line = NUMBER.sub("#", line)
    return " ".join(line.split())


def blocks(recorded: list[str]):
    """The recording as blocks of consecutive lines, and whether it is open
    ('...') at its start and at its end."""
    out, current = [], []
    for line in recorded:
        if line.strip() == "...":
            out.append(current)
            current = []
        else:
            current.append(line)
    out.append(current)
    open_start = not out[0]
    open_end = not out[-1]
    return [b for b in out if b], open_start, open_end


def compare(recorded: list[str], fresh: list[str], masks) -> str | None:
    """None when the fresh output has the recording's shape, else why not."""
    fresh_shapes = [shape(l, masks) for l in fresh]
    found, open_start, open_end = blocks(recorded)
    at = 0
    for i, block in enumerate(found):
        want = [shape(l, masks) for l in block]
        anchored = i == 0 and not open_start
        last = len(fresh_shapes) - len(want)
        starts = [at] if anchored else range(at, last + 1)
        hit = next((s for s in starts if fresh_shapes[s : s + len(want)] == want), None)
        if hit is None:
            # Say how far the block matches at its best place, to show the
            # first line that differs.
            best, best_len = at, -1
            for s in range(at, max(at, last) + 1):
                n = 0
                while n < len(want) and s + n < len(fresh_shapes) and fresh_shapes[s + n] == want[n]:
                    n += 1
                if n > best_len:
                    best, best_len = s, n
            line = block[best_len] if best_len < len(block) else block[-1]
            near = fresh[best + best_len] if best + best_len < len(fresh) else "(end of output)"
            return (
                f"recorded line not found in the fresh run, in order:\n"
                f"    recorded: {line}\n"
                f"    fresh:    {near}"
            )
        at = hit + len(want)
    if not open_end and at != len(fresh_shapes):
        return f"the fresh run goes on after the recording ends:\n    fresh:    {fresh[at]}"
    return None


def missing_needs(script: str) -> list[str]:
    missing = []
    for need in headers(script, "needs"):
        if need == "root":
            if os.geteuid() != 0:
                missing.append("root")
        elif need in ("tshark", "nft"):
            if not (shutil.which(need) or any(
                pathlib.Path(d, need).exists() for d in ("/usr/sbin", "/sbin")
            )):
                missing.append(f"{need} (Debian package {'nftables' if need == 'nft' else need})")
        else:
            missing.append(f"unknown need '{need}'")
    return missing


def run(name: str) -> list[str]:
    script = RECORDED / f"{name}.sh"
    env = dict(os.environ)
    # Through sudo, the programs would drop to the sudo user; a recorded run
    # shows them as they run when started directly.
    env.pop("SUDO_UID", None)
    env.pop("SUDO_GID", None)
    proc = subprocess.run(
        ["bash", str(script)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout)
        raise SystemExit(f"error: book/recorded/{name}.sh exited with {proc.returncode}")
    return proc.stdout.splitlines()


def self_test() -> int:
    """The comparison itself, on small cases: each must come out as stated."""
    cases = [
        # (recorded, fresh, masks, matches)
        (["a 1", "b 2"], ["a 7", "b 8"], [], True),          # numbers differ
        (["a 1", "b 2"], ["a 7", "x", "b 8"], [], False),    # not consecutive
        (["a 1", "...", "b 2"], ["a 7", "x", "b 8"], [], True),
        (["b 2", "a 1"], ["a 1", "b 2"], [], False),         # order matters
        (["a"], ["a", "b"], [], False),                      # fresh goes on
        (["a", "..."], ["a", "b"], [], True),
        (["b"], ["a", "b"], [], False),                      # start anchored
        (["...", "b"], ["a", "b"], [], True),
        (["x:   0xfe30 ok"], ["x: 0x58fd ok"], [], True),    # hex, spaces
        (["x: fe ed"], ["x: ab cd"], [], False),             # no digit: text
        (["x: fe ed"], ["x: ab cd"], [re.compile(r"[0-9a-f]{2} [0-9a-f]{2}")], True),
        (["took 6.16s"], ["took 12s"], [], True),
        (["sent 2 of 3"], ["sent 2"], [], False),            # words count
    ]
    bad = 0
    for recorded, fresh, masks, matches in cases:
        got = compare(recorded, fresh, masks) is None
        if got != matches:
            bad += 1
            print(f"error: self-test: {recorded} against {fresh}: "
                  f"{'matched' if got else 'did not match'}, should {'' if matches else 'not '}have",
                  file=sys.stderr)
    print(f"recorded-runs self-test: {len(cases) - bad} of {len(cases)} cases right")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    update = "--update" in argv
    listing = "--list" in argv
    names = [a for a in argv if not a.startswith("--")]
    if "--self-test" in argv:
        return self_test()
    if "-h" in argv or "--help" in argv:
        print(__doc__)
        return 0
    unknown = [a for a in argv if a.startswith("-") and a not in ("--update", "--list")]
    if unknown:
        print(f"error: unknown option {unknown[0]}", file=sys.stderr)
        print("usage: scripts/recorded-runs.py [--update] [--list] [--self-test] [NAME...]", file=sys.stderr)
        return 2
    all_names = sorted(p.stem for p in RECORDED.glob("*.sh"))
    for n in names:
        if n not in all_names:
            print(f"error: no recorded run '{n}' (there are: {', '.join(all_names)})", file=sys.stderr)
            return 2
    names = names or all_names
    ci = os.environ.get("CI") == "true"
    failures = 0
    for name in names:
        script = (RECORDED / f"{name}.sh").read_text()
        if listing:
            why = next((l[2:] for l in script.splitlines() if l.startswith("# ")), "")
            print(f"{name}: needs {', '.join(headers(script, 'needs')) or 'nothing'}: {why}")
            continue
        missing = missing_needs(script)
        if missing:
            print(f"skipped: {name} needs {', '.join(missing)}")
            if ci:
                print(f"error: under CI=true a recorded run may not be skipped", file=sys.stderr)
                failures += 1
            continue
        masks = [re.compile(m) for m in headers(script, "mask")]
        fresh = run(name)
        txt = RECORDED / f"{name}.txt"
        if update:
            txt.write_text("\n".join(fresh) + "\n")
            print(f"recorded: {name}: {len(fresh)} lines written to {txt.relative_to(ROOT)}")
            continue
        why = compare(txt.read_text().splitlines(), fresh, masks)
        if why:
            failures += 1
            print(f"error: {name}: the book's recorded run no longer matches a fresh run: {why}", file=sys.stderr)
            print(f"  the fresh run, in full:", file=sys.stderr)
            for line in fresh:
                print(f"  | {line}", file=sys.stderr)
        else:
            print(f"recorded: {name}: a fresh run has the book's shape")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
