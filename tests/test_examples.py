"""Every script in examples/ runs; the scalar ones print the seeds' numbers."""
import subprocess
import sys

import pytest

from conftest import ROOT

EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def run(path):
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=300)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path):
    result = run(path)
    assert result.returncode == 0, result.stderr


def test_staged_computation_prints_the_notes_numbers():
    out = run(ROOT / "examples" / "staged_computation.py").stdout
    assert "f = 1.54564, df/dx = 2.05957, df/dy = 1.59223" in out
    assert "dx += ((1 - sigx) * sigx) * dsigx  # (3) dx becomes 1.54743" in out


def test_neuron_descends():
    lines = run(ROOT / "examples" / "neuron.py").stdout.splitlines()
    assert lines[0] == "f = 0.73; dw = [-0.197, -0.393, 0.197]"
    values = [float(line.split("= ")[1]) for line in lines[1:]]
    assert values == sorted(values, reverse=True) and values[-1] < 0.1
