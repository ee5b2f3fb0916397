"""Printing a handout to PDF: the HTML page, laid out and printed by headless Chromium.

The page's own print stylesheet does the work (paper size, headings kept with
their tables, code that fits the width), so the PDF is what a teacher gets by
printing the HTML from a browser, without a dialog. Chromium is an optional
system program, as Graphviz is: without it flatgrad says what to install.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ..atomic_write import MARK

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = ("a PDF is printed by headless Chromium, and no `chromium` (or "
                "`google-chrome`) program is installed or on PATH; install it with "
                "`apt-get install chromium` (Debian, Ubuntu) or `brew install --cask chromium` "
                "(macOS), or write the handout as .html and print it from a browser")
PRINT_SECONDS = 120


def browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def available() -> bool:
    return browser() is not None


def print_pdf(page: str) -> bytes:
    """The HTML `page` printed to PDF, marked as flatgrad's."""
    program = browser()
    if program is None:
        raise FileNotFoundError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="flatgrad-pdf-") as work:
        source, target = Path(work) / "page.html", Path(work) / "page.pdf"
        source.write_text(page, encoding="utf-8")
        command = [program, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", f"--user-data-dir={Path(work) / 'profile'}",
                   "--no-pdf-header-footer", f"--print-to-pdf={target}", source.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=PRINT_SECONDS)
        except subprocess.TimeoutExpired:
            raise OSError(f"Chromium took more than {PRINT_SECONDS} s to print the handout"
                          ) from None
        if done.returncode != 0 or not target.exists():
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise OSError("Chromium could not print the handout"
                          + (f": {message[-1]}" if message else ""))
        return mark(target.read_bytes())


def mark(pdf: bytes) -> bytes:
    """The PDF with a comment naming flatgrad before its final `startxref`. A comment
    counts as white space in PDF, and nothing before it moves, so every offset in the
    file stays right; flatgrad looks for the mark at a file's end (atomic_write)."""
    at = pdf.rfind(b"startxref")
    if not pdf.startswith(b"%PDF") or at < 0:
        raise ValueError("not a PDF document")
    return pdf[:at] + b"%" + MARK + b"\n" + pdf[at:]
