import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "(x+σ(y))/(σ(x)+(x+y)²)"


@pytest.fixture
def run_cli():
    """Run `python -m flatgrad ARGS` from the source tree; returns the CompletedProcess."""
    def run(*args, stdin=None, cwd=None):
        return subprocess.run([sys.executable, "-m", "flatgrad", *args], input=stdin,
                              capture_output=True, text=True, cwd=cwd or ROOT,
                              env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    return run
