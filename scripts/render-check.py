#!/usr/bin/env python3
"""Opens every page of the built book in headless Chromium and checks it as a
reader would see it:

- the page loads, with no error in the browser's console;
- every picture on it is drawn (an <img> whose file is missing or broken has
  no natural width once the page has loaded);
- its prose (the text of the page without code listings, <details> answers and
  the sidebar) is at most --max-words words, so a page can be read in one go.

It talks to Chromium over --remote-debugging-pipe (the DevTools protocol on
file descriptors 3 and 4), so it needs nothing but Python and Chromium, and it
opens the pages as file:// URLs: no server, no network.

usage: scripts/render-check.py [--book DIR] [--max-words N] [--chromium PATH]
The book must be built first (mdbook build book, or scripts/check-book.sh).
"""

import argparse
import fcntl
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

# What a page reports about itself once loaded. Prose is counted on a copy of
# the page's <main>, without code blocks, hidden answers and the buttons that
# mdBook adds to listings.
PAGE_REPORT = r"""
(() => {
  const main = document.querySelector('main');
  const images = Array.from(document.images).map(img => ({
    src: img.getAttribute('src'),
    drawn: img.complete && img.naturalWidth > 0,
  }));
  let words = 0;
  if (main) {
    const copy = main.cloneNode(true);
    copy.querySelectorAll('pre, details, .buttons, script, style')
        .forEach(node => node.remove());
    words = copy.textContent.split(/\s+/).filter(w => /[\p{L}\p{N}]/u.test(w)).length;
  }
  return JSON.stringify({ title: document.title, hasMain: !!main, images, words });
})()
"""


class Browser:
    """One headless Chromium, driven over the DevTools pipe."""

    def __init__(self, executable):
        self.profile = tempfile.mkdtemp(prefix="render-check-")
        # Chromium's own complaints (no D-Bus in a container, ...) go to a
        # file, shown only when it stops answering.
        self.log = open(os.path.join(self.profile, "chromium.log"), "w+")
        # The child reads commands on its fd 3 and writes replies on its fd 4.
        # The pipe ends are first moved above 10, so that placing them on 3
        # and 4 in the child cannot overwrite one with the other.
        def high(fd):
            moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(fd)
            return moved

        to_child_r, self.to_child = map(high, os.pipe())
        self.from_child, from_child_w = map(high, os.pipe())

        def place_pipe():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        args = [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile}",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            args,
            preexec_fn=place_pipe,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.reader = os.fdopen(self.from_child, "rb", buffering=0)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def _read_message(self):
        while b"\0" not in self.buffer:
            chunk = self.reader.read(65536)
            if not chunk:
                self.log.seek(0)
                raise RuntimeError("Chromium closed the DevTools pipe:\n" + self.log.read()[-2000:])
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, session=None, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        try:
            os.write(self.to_child, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            self.log.seek(0)
            raise RuntimeError("Chromium is not running:\n" + self.log.read()[-2000:]) from None
        while True:
            reply = self._read_message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method, session):
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    del self.events[i]
                    return event
            self.events.append(self._read_message())

    def close(self):
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def check_page(browser, session, url):
    """Loads one page and returns (report, console errors)."""
    browser.events = [e for e in browser.events if e.get("sessionId") != session]
    browser.send("Page.navigate", session, url=url)
    browser.wait_for("Page.loadEventFired", session)
    result = browser.send(
        "Runtime.evaluate", session, expression=PAGE_REPORT, returnByValue=True
    )
    report = json.loads(result["result"]["value"])
    # Errors can be reported after the load event (a missing picture's request
    # fails late): leave the page for a blank one, so that everything the page
    # caused has arrived, and belongs to it, before the next page is opened.
    browser.send("Page.navigate", session, url="about:blank")
    browser.wait_for("Page.loadEventFired", session)
    errors = []
    for event in browser.events:
        if event.get("sessionId") != session:
            continue
        if event.get("method") == "Runtime.exceptionThrown":
            details = event["params"]["exceptionDetails"]
            errors.append(details.get("exception", {}).get("description", details["text"]))
        elif event.get("method") == "Log.entryAdded":
            entry = event["params"]["entry"]
            if entry["level"] == "error":
                errors.append(f"{entry.get('url', '')}: {entry['text']}")
    return report, errors


# Pages that are looked up, not read through: the generated lists of tests
# behind the book's claims (one entry per test, reached by its anchor). Their
# length is the number of tests, so the prose limit does not apply to them.
REFERENCE_PAGES = ("tests/",)


def check_book(chromium, book, max_words):
    """Checks every page of the built book; returns (failures, summary)."""
    pages = sorted(
        p for p in book.rglob("*.html")
        if p.name not in ("print.html", "toc.html", "404.html")
        and "fonts" not in p.parts and "FontAwesome" not in p.parts
    )
    if not pages:
        sys.exit(f"error: no pages in {book}; build the book first (mdbook build book)")

    browser = Browser(chromium)
    failures = []
    longest = (0, "")
    drawn = 0
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        browser.send("Page.enable", session)
        browser.send("Runtime.enable", session)
        browser.send("Log.enable", session)
        for page in pages:
            name = page.relative_to(book).as_posix()
            report, errors = check_page(browser, session, page.as_uri())
            if not report["hasMain"]:
                failures.append(f"{name}: no <main>: the page did not render")
            for image in report["images"]:
                drawn += image["drawn"]
                if not image["drawn"]:
                    failures.append(f"{name}: picture not drawn: {image['src']}")
            for error in errors:
                failures.append(f"{name}: console error: {error}")
            if name.startswith(REFERENCE_PAGES):
                continue
            if report["words"] > max_words:
                failures.append(f"{name}: {report['words']} words of prose, more than {max_words}")
            longest = max(longest, (report["words"], name))
    finally:
        browser.close()
    summary = (
        f"{len(pages)} pages in headless Chromium, {drawn} pictures drawn; "
        f"the longest prose is {longest[1]} ({longest[0]} words)"
    )
    return failures, summary


def self_test(chromium):
    """A small book with one good page and one bad one: the check must pass
    the first and name exactly the bad one's three problems."""
    with tempfile.TemporaryDirectory() as tmp:
        book = pathlib.Path(tmp)
        (book / "dot.svg").write_text(
            '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            '<circle cx="5" cy="5" r="4"/></svg>'
        )
        code = "<pre>" + "word " * 5000 + "</pre>"
        (book / "good.html").write_text(
            f'<html><body><main><p>{"fine " * 50}</p><img src="dot.svg">{code}'
            f"<details>{'hidden ' * 5000}</details></main></body></html>"
        )
        (book / "bad.html").write_text(
            f'<html><body><main><p>{"long " * 1300}</p><img src="missing.svg">'
            "<script>undefinedFunction()</script></main></body></html>"
        )
        failures, _ = check_book(chromium, book, 1200)
    expected = ["bad.html: picture not drawn", "bad.html: console error", "bad.html: 1300 words"]
    ok = all(f.startswith("bad.html: ") for f in failures) and all(
        any(f.startswith(e) for f in failures) for e in expected
    )
    for failure in failures:
        print(f"  found: {failure}")
    print("render-check self-test:", "ok" if ok else "FAILED")
    sys.exit(0 if ok else 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = pathlib.Path(__file__).resolve().parent.parent
    parser.add_argument("--book", default=root / "book" / "book", type=pathlib.Path)
    parser.add_argument("--max-words", default=1200, type=int)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument(
        "--self-test", action="store_true", help="check the checker on a made-up book"
    )
    options = parser.parse_args()

    if not shutil.which(options.chromium) and not os.path.exists(options.chromium):
        sys.exit(
            "error: Chromium is not installed; on Debian or Ubuntu: "
            "apt-get install chromium (or pass --chromium PATH)"
        )
    if options.self_test:
        self_test(options.chromium)
    failures, summary = check_book(options.chromium, options.book.resolve(), options.max_words)
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    print(f"render-check: {summary}; {len(failures)} problems")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
