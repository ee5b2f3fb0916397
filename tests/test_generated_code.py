"""Generated modules compile, lint clean, import only math, and are deterministic."""
import os
import subprocess
import sys

import pytest

import flatgrad
from conftest import REFERENCE, ROOT

FORMULAS = [
    REFERENCE,
    "dot = w0*x0 + w1*x1 + w2; f = σ(dot)",
    "max(x, y)*abs(z) + relu(x) + softplus(y) + logaddexp(x, y) + hypot(x, y)",
    "atan2(y, x) + x**y + x**2.5 + x**4 + 3/x + x/3 + pi*e",
    "a = x*y; b = a + sigmoid(a); c = b*b; c - tanh(x)",
]


@pytest.mark.parametrize("profile", ["fast", "teach"])
@pytest.mark.parametrize("text", FORMULAS)
def test_generated_module_compiles_and_lints(tmp_path, text, profile, ruff_check):
    path = tmp_path / "generated.py"
    flatgrad.compile(text, profile=profile).write(path)
    subprocess.run([sys.executable, "-m", "py_compile", str(path)], check=True)
    lint = ruff_check(path)
    assert lint.returncode == 0, lint.stdout
    # within the project's line length too (tests/test_generated_lint.py runs ruff on it)
    assert max(len(line) for line in path.read_text(encoding="utf-8").splitlines()) <= 100


@pytest.mark.parametrize("text", FORMULAS)
def test_generated_module_imports_only_math(text):
    imports = [line for line in flatgrad.compile(text).source.splitlines()
               if line.startswith(("import", "from"))]
    assert imports == ["import math"]


def test_output_is_byte_identical_across_processes_and_hash_seeds():
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        result = subprocess.run([sys.executable, "-m", "flatgrad", "compile", FORMULAS[2]],
                                capture_output=True, env=env, check=True)
        outputs.add(result.stdout)
    assert len(outputs) == 1


@pytest.mark.parametrize("target", ["numpy", "numba"])
@pytest.mark.parametrize("text", ["x * y", REFERENCE, "erf(x) * y"])
def test_array_targets_lint_clean_and_import_math_only_when_used(tmp_path, text, target,
                                                               ruff_check):
    if target == "numba":
        pytest.importorskip("numba", reason="numba is not installed")
    source = flatgrad.compile(text, target=target).source
    assert ("import math" in source) == ("math." in source.replace("import math", ""))
    path = tmp_path / "generated.py"
    path.write_text(source, encoding="utf-8")
    lint = ruff_check(path)
    assert lint.returncode == 0, lint.stdout
    assert max(len(line) for line in source.splitlines()) <= 100
