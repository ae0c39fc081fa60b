#!/usr/bin/env python3
"""Draws the small "where we are" picture at the top of each step's chapter.

Each picture shows what the program has grown to by that step, one box per
step, left to right: the steps before in plain, this step's box highlighted
with what it adds, and the next step as a faint outline. The pictures are
plain SVG (no script), written to book/src/img/where-NN.svg.

usage: scripts/where-we-are.py [--check]
  --check  fail if a picture in book/src/img differs from what this draws
"""

import pathlib
import sys
from xml.sax.saxutils import escape

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "book" / "src" / "img"

# (step, title, what it adds) in the order of the book.
STEPS = [
    ("1", "raw socket", ["socket(AF_INET,", "SOCK_RAW, TCP)", "read: IP+TCP+data"]),
    ("2", "bind + connect", ["only the peer's", "addresses arrive;", "a segment by hand"]),
    ("3", "epoll", ["one set: socket,", "timerfd, signalfd;", "drain to EAGAIN"]),
    ("4", "echo", ["server and client", "machines; resend,", "match by ack"]),
    ("5", "BPF filter", ["the kernel drops", "RSTs and noise", "before the read"]),
    ("6", "handshake", ["real TCP with the", "kernel's TCP; nft", "silences its RSTs"]),
]

BOX_W, BOX_H, GAP, MARGIN = 168, 92, 22, 10


def draw(current: int) -> str:
    shown = STEPS[: current + 2]  # up to the next step
    width = MARGIN * 2 + len(shown) * BOX_W + (len(shown) - 1) * GAP
    height = MARGIN * 2 + BOX_H + 18
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" role="img">',
        f"<title>Where we are: step {STEPS[current][0]}, {escape(STEPS[current][1])}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for i, (number, title, lines) in enumerate(shown):
        x = MARGIN + i * (BOX_W + GAP)
        y = MARGIN
        if i < current:
            fill, stroke, text, dash = "#eef3f8", "#1f4e79", "#1f3b57", ""
        elif i == current:
            fill, stroke, text, dash = "#1f4e79", "#1f4e79", "#ffffff", ""
        else:
            fill, stroke, text, dash = "#ffffff", "#aaaaaa", "#888888", ' stroke-dasharray="5 4"'
        out.append(
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>'
        )
        out.append(
            f'<text x="{x + BOX_W // 2}" y="{y + 20}" text-anchor="middle" '
            f'font-weight="bold" fill="{text}">Step {number}: {escape(title)}</text>'
        )
        for n, line in enumerate(lines):
            out.append(
                f'<text x="{x + BOX_W // 2}" y="{y + 42 + n * 15}" text-anchor="middle" '
                f'fill="{text}">{escape(line)}</text>'
            )
        if i > 0:
            ax = x - GAP + 3
            out.append(
                f'<path d="M{ax},{y + BOX_H // 2} h{GAP - 8} m-5,-4 l5,4 l-5,4" '
                f'fill="none" stroke="#888888" stroke-width="1.5"/>'
            )
        if i == current:
            out.append(
                f'<text x="{x + BOX_W // 2}" y="{y + BOX_H + 15}" text-anchor="middle" '
                f'font-size="11" fill="#1f4e79">you are here</text>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    if "-h" in argv or "--help" in argv:
        print(__doc__)
        return 0
    check = "--check" in argv
    bad = 0
    for current in range(len(STEPS)):
        path = OUT / f"where-{current + 1:02}.svg"
        svg = draw(current)
        if check:
            if not path.exists() or path.read_text() != svg:
                print(f"error: {path.relative_to(ROOT)} is stale; run scripts/where-we-are.py", file=sys.stderr)
                bad += 1
        else:
            path.write_text(svg)
    if not check:
        print(f"where-we-are: {len(STEPS)} pictures written to {OUT.relative_to(ROOT)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
