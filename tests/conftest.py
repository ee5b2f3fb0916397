import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "(x+σ(y))/(σ(x)+(x+y)²)"
# The README's two-layer net, as examples/two_layer_net.txt holds it.
TWO_LAYER_NET = (ROOT / "examples" / "two_layer_net.txt").read_text(encoding="utf-8")


@pytest.fixture
def run_cli():
    """Run `python -m flatgrad ARGS` from the source tree; returns the CompletedProcess."""
    def run(*args, stdin=None, cwd=None):
        return subprocess.run([sys.executable, "-m", "flatgrad", *args], input=stdin,
                              capture_output=True, text=True, cwd=cwd or ROOT,
                              env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    return run


@pytest.fixture
def ruff_check():
    """Lint a file or directory with `python -m ruff check` (pyflakes and pycodestyle,
    at the project's line length of 100); returns the CompletedProcess. Run through
    sys.executable, so the ruff installed beside pytest is found whether or not the
    environment's bin directory is on PATH. Skips where ruff is not installed."""
    probe = subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("ruff is not installed (it comes with the test extra)")

    def lint(path):
        return subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select",
                               "E,F,W", "--line-length", "100", str(path)],
                              capture_output=True, text=True)
    return lint
