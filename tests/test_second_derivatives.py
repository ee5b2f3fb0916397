"""Hessian-vector products and Hessians (forward mode over the reverse pass) against
SymPy's Hessian: the notes' reference formula, the neuron, and 100 random formulas
drawn from the gate table."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest
import sympy

import flatgrad
from oracle import gate_formulas, sympy_of
from test_forward_mode import _points
from test_properties import SYMBOLS, VARIABLES, exact, usable_formulas

REFERENCE = "(x+σ(y))/(σ(x)+(x+y)²)"
NEURON = "σ(w0*x0 + w1*x1 + w2)"
NEURON_POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def _sympy_hessian(text, names, point):
    expr, symbols = sympy_of(text.replace("²", "**2"), list(point))
    subs = {symbols[n]: sympy.Float(point[n], 40) for n in point}
    matrix = sympy.hessian(expr, [symbols[n] for n in names])
    return [[float(sympy.N(matrix[i, j].subs(subs), 30)) for j in range(len(names))]
            for i in range(len(names))]


@pytest.mark.parametrize("profile", ["fast", "teach"])
@pytest.mark.parametrize("text, point", [(REFERENCE, {"x": 3.0, "y": -4.0}),
                                         (REFERENCE, {"x": -0.5, "y": 1.25}),
                                         (NEURON, NEURON_POINT)])
def test_hessian_and_hvp_equal_sympys_hessian(text, point, profile):
    g = flatgrad.compile(text, profile=profile)
    want = _sympy_hessian(text, list(g.inputs), point)
    args = [point[n] for n in g.inputs]
    got = g.hessian(*args)
    assert len(got) == len(want)
    for row, expected in zip(got, want):
        assert row == pytest.approx(expected, rel=1e-10, abs=1e-13)
    direction = [0.5 - 0.3 * i for i in range(len(args))]
    product = [sum(h * v for h, v in zip(row, direction)) for row in want]
    assert g.hvp(*args, *direction) == pytest.approx(product, rel=1e-10, abs=1e-13)


def test_rows_and_columns_follow_wrt():
    g = flatgrad.compile(NEURON, wrt="w2,x0")
    want = _sympy_hessian(NEURON, ["w2", "x0"], NEURON_POINT)
    got = g.hessian(*NEURON_POINT.values())
    for row, expected in zip(got, want):
        assert row == pytest.approx(expected, rel=1e-10, abs=1e-13)
    one = flatgrad.compile(REFERENCE, wrt="y")    # one name: bare entries, as grad gives
    assert one.hessian(3.0, -4.0) == pytest.approx(_sympy_hessian(REFERENCE, ["y"],
                                                                  {"x": 3.0, "y": -4.0})[0][0])


def test_the_hvp_is_the_gradients_own_derivative():
    # two paths: the tangent of the gradient, and central differences of the gradient
    g = flatgrad.compile(REFERENCE)
    v, h = (0.7, -1.1), 1e-6
    up = g.grad(3.0 + h * v[0], -4.0 + h * v[1])
    down = g.grad(3.0 - h * v[0], -4.0 - h * v[1])
    numeric = [(a - b) / (2 * h) for a, b in zip(up, down)]
    assert g.hvp(3.0, -4.0, *v) == pytest.approx(numeric, rel=1e-6)


def test_a_hundred_random_formulas_against_sympys_hessian():
    rng = random.Random(1202)
    checked = 0
    for formula, point, g, result in usable_formulas(rng, 1000):
        symbols = [SYMBOLS[n] for n in VARIABLES]
        want = [[exact(formula.expr.diff(a).diff(b), point) for b in symbols] for a in symbols]
        if not all(math.isfinite(w) and abs(w) < 1e6 for row in want for w in row):
            continue
        try:
            got = g.hessian(*point.values())
        except (ArithmeticError, ValueError):
            continue   # a second derivative undefined where the first is not
        scale = max(max(abs(w) for row in want for w in row), 1e-3)
        for row, expected in zip(got, want):
            for entry, reference in zip(row, expected):
                assert abs(entry - reference) <= 1e-7 * scale + 1e-10, \
                    (formula.text, point, got, want)
        direction = [rng.uniform(-1, 1) for _ in VARIABLES]
        product = [sum(w * d for w, d in zip(row, direction)) for row in want]
        for entry, reference in zip(g.hvp(*point.values(), *direction), product):
            assert abs(entry - reference) <= 1e-7 * 3 * scale + 1e-10, formula.text
        checked += 1
        if checked == 100:
            break
    assert checked == 100


def test_the_hvp_module_reads_as_forward_mode_over_the_reverse_pass():
    g = flatgrad.compile(REFERENCE)
    source = flatgrad.modes.source(g, "hvp")
    lines = [line.strip() for line in source.splitlines()]
    at = lines.index("dden = -1.0 / den**2 * dinvden                    # (7)")
    assert lines[at + 1].startswith("dden_dot = dinvden * ")
    assert "# backward pass: each line a tangent reads, then its tangent" in lines
    # only what the gradients' tangents read is computed: not f, nor dx itself
    assert not any(line.startswith(("f = ", "dx = ", "dx += ")) for line in lines)
    assert "return (dx_dot, dy_dot)" in source
    assert "def f_hessian" not in source
    hessian = flatgrad.modes.source(g, "hessian")
    assert "f_hvp(x, y, 1.0, 0.0)," in hessian and "f_hvp(x, y, 0.0, 1.0)," in hessian


FORMULAS = gate_formulas()


@pytest.mark.parametrize("name, formula", FORMULAS, ids=[f for _, f in FORMULAS])
def test_every_gate_row_python_and_numpy_hessians_agree_with_sympy(name, formula):
    scalar = flatgrad.compile(formula)
    names = list(scalar.inputs)
    points = _points(name, 5)
    args = [np.array([p[i] for p in points]) for i in range(len(names))]
    over_arrays = flatgrad.compile(formula, target="numpy").hessian(*args)
    for k, point in enumerate(points):
        at = dict(zip(names, point))
        want = _sympy_hessian(formula.replace("c = x\nc*y", "x*y"), names, at)
        got = scalar.hessian(*point[:len(names)])
        for i in range(len(names)):
            for j in range(len(names)):
                assert got[i][j] == pytest.approx(want[i][j], rel=1e-9, abs=1e-12), formula
                assert over_arrays[i][j][k] == pytest.approx(got[i][j], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("mode, function", [("forward", "f_jvp"), ("hvp", "f_hvp"),
                                            ("hessian", "f_hessian")])
def test_compile_accepts_the_modes_of_tangents(mode, function, tmp_path):
    formula = "(x+σ(y))/(σ(x)+(x+y)²)"
    compiled = flatgrad.compile(formula)
    tangent = flatgrad.compile(formula, mode=mode)
    assert tangent.source == flatgrad.modes.source(compiled, mode)
    assert f"def {function}(" in tangent.source
    assert tangent.jvp(3.0, -4.0, 1.0, 0.0) == compiled.jvp(3.0, -4.0, 1.0, 0.0)
    assert tangent.hvp(3.0, -4.0, 0.5, 2.0) == compiled.hvp(3.0, -4.0, 0.5, 2.0)
    assert tangent.hessian(3.0, -4.0) == compiled.hessian(3.0, -4.0)
    written = tangent.write(tmp_path / "module.py")
    assert written.read_text() == tangent.source
    with pytest.raises(flatgrad.FlatgradError, match="unknown mode 'fwd'; choose one of "
                                                     "reverse, forward, hvp, hessian, split"):
        flatgrad.compile(formula, mode="fwd")


@pytest.mark.parametrize("mode", ["hvp", "hessian"])
def test_an_array_program_is_refused_with_a_caret_at_its_first_array_input(mode):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "flatgrad", "compile", "a * sum(W @ x)",
                             "--shape", "W=2x3", "--shape", "x=3", "--mode", mode],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[:3] == [
        f"flatgrad: error: --mode {mode} is for scalar formulas (python code, or numpy code "
        "over arrays of points); this program has array inputs: W is [2 x 3] "
        "(at line 1, column 9)",
        "  a * sum(W @ x)",
        "          ^"]
    with pytest.raises(flatgrad.FlatgradError, match="W is \\[2 x 3\\]"):
        flatgrad.compile("a * sum(W @ x)", shapes={"W": (2, 3), "x": (3,)}).hvp(
            1.0, np.ones((2, 3)), np.ones(3), 1.0, np.ones((2, 3)), np.ones(3))
