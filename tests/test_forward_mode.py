"""Forward mode (f_jvp, g.jvp) against SymPy, central differences and the reverse mode.

Over the whole gate table (one formula per row, as tests/oracle.py builds them from
the table), over every array gate's JVP, and over 300 random formulas drawn from
the gate table by the property tests' generator.
"""
from __future__ import annotations

import math
import random
import re
import subprocess
import sys

import numpy as np
import pytest
import sympy

import flatgrad
from flatgrad.core import gates
from oracle import gate_formulas, gate_points, sympy_of
from test_properties import SYMBOLS, VARIABLES, exact, usable_formulas

FORMULAS = gate_formulas()


KINKED = ("max", "min", "abs", "relu")


def _points(name, count):
    return gate_points(name, count, kinked=KINKED, at_zero=KINKED)


def _directional(function, args, direction, h=1e-6):
    up = function(*[a + h * d for a, d in zip(args, direction)])
    down = function(*[a - h * d for a, d in zip(args, direction)])
    return (up - down) / (2 * h)


@pytest.mark.parametrize("name, formula", FORMULAS, ids=[f for _, f in FORMULAS])
def test_every_gate_row_against_sympy_and_central_differences(name, formula):
    g = flatgrad.compile(formula)
    names = list(g.inputs)
    expr, symbols = sympy_of(formula.replace("c = x\nc*y", "x*y"), names)
    rng = random.Random(formula)
    for point in _points(name, 5):
        args = list(point[:len(names)])
        direction = [rng.uniform(-1, 1) for _ in names]
        value, tangent = g.jvp(*args, *direction)
        subs = {symbols[n]: sympy.Float(a, 40) for n, a in zip(names, args)}
        want = sum(d * float(sympy.N(sympy.diff(expr, symbols[n]).subs(subs), 30))
                   for n, d in zip(names, direction))
        assert value == g(*args)
        assert tangent == pytest.approx(want, rel=1e-9, abs=1e-12), (formula, point)
        numeric = _directional(g.function, args, direction)
        assert tangent == pytest.approx(numeric, rel=1e-5, abs=1e-7), (formula, point)


@pytest.mark.parametrize("name, formula", FORMULAS, ids=[f for _, f in FORMULAS])
def test_unit_tangents_give_the_gradients_entries(name, formula):
    g = flatgrad.compile(formula)
    for point in _points(name, 4):
        args = list(point[:len(g.inputs)])
        _, grads = g.value_and_grad(*args)
        for i, grad in enumerate(grads):
            unit = [1.0 if j == i else 0.0 for j in range(len(args))]
            assert g.jvp(*args, *unit)[1] == pytest.approx(grad, rel=1e-13, abs=1e-15)


@pytest.mark.parametrize("name, formula", FORMULAS[::3], ids=[f for _, f in FORMULAS[::3]])
def test_numpy_targets_agree_with_the_scalar_jvp(name, formula):
    scalar = flatgrad.compile(formula)
    points = _points(name, 6)
    args = [np.array([p[i] for p in points]) for i in range(len(scalar.inputs))]
    directions = [np.linspace(-1, 1, 6) + i for i in range(len(args))]
    want = [scalar.jvp(*[a[k] for a in args], *[d[k] for d in directions])[1]
            for k in range(6)]
    elementwise = flatgrad.compile(formula, target="numpy")
    np.testing.assert_allclose(elementwise.jvp(*args, *directions)[1], want, rtol=1e-12)
    # the row in an array program: the tangent of a sum is the sum of the tangents
    program = flatgrad.compile(formula.replace("c*y", "sum(c*y)") if "\n" in formula
                               else f"sum({formula})",
                               shapes={n: (6,) for n in scalar.inputs})
    assert program.jvp(*args, *directions)[1] == pytest.approx(sum(want), rel=1e-12)


# One array program per array gate with a VJP, with its shapes.
ARRAY_PROGRAMS = {
    "matmul": ("sum(sin(W @ X))", {"W": (3, 4), "X": (4, 2)}),
    "matvec": ("sum(sin(W @ x))", {"W": (3, 4), "x": (4,)}),
    "vecmat": ("sum(sin(x @ W))", {"W": (4, 3), "x": (4,)}),
    "dot": ("sin(x @ v)", {"x": (4,), "v": (4,)}),
    "transpose": ("sum(W.T @ X)", {"W": (3, 4), "X": (3, 2)}),
    "sumsq": ("sum(W²)", {"W": (3, 4)}),
    "sum_axis": ("sum(exp(sum(W, axis=0)))", {"W": (3, 4)}),
    "mean": ("mean(W * V)", {"W": (3, 4), "V": (3, 4)}),
    "mean_axis": ("sum(tanh(mean(W, axis=1)))", {"W": (3, 4)}),
    "logsumexp": ("logsumexp(W)", {"W": (3, 4)}),
    "logsumexp_axis": ("sum(sin(logsumexp(W, axis=0)))", {"W": (3, 4)}),
    "softmax": ("sum(sin(softmax(v)))", {"v": (5,)}),
    "softmax_axis": ("sum(sin(softmax(W, axis=0)))", {"W": (3, 4)}),
    "softmax_loss": ("softmax_loss(W @ X, y)", {"W": (3, 4), "X": (4, 5), "y": (5,)}),
    "svm_loss": ("svm_loss(W @ X, y)", {"W": (3, 4), "X": (4, 5), "y": (5,)}),
    "conv2d": ("sum(sin(conv2d(X, K)))", {"X": (2, 5, 5), "K": (3, 2, 2, 2)}),
    "convolve2d": ("sum(sin(convolve2d(X, K)))", {"X": (5, 6), "K": (2, 3)}),
    "broadcast": ("sum(relu(W @ X + b) * c)", {"W": (3, 4), "X": (4, 5), "b": (3, 1)}),
}


def test_every_array_gate_with_a_vjp_gives_its_jvp():
    for gate in gates.GATES.values():
        if gate.vjp:
            assert len(gate.jvp) == len(gate.vjp), gate.name
            assert all((j is None) == (v is None) for j, v in zip(gate.jvp, gate.vjp)), gate.name
    staged = set()
    for program, shapes in ARRAY_PROGRAMS.values():
        staged |= {n.gate.name for n in flatgrad.compile(program, shapes=shapes).graph.stages}
    assert {name for name, gate in gates.GATES.items() if gate.vjp} <= staged


@pytest.mark.parametrize("key", list(ARRAY_PROGRAMS))
def test_array_gates_against_central_differences_and_the_reverse_mode(key):
    program, shapes = ARRAY_PROGRAMS[key]
    g = flatgrad.compile(program, shapes=shapes)
    point = flatgrad.random_point(g, 3)
    rng = np.random.default_rng(7)
    direction = {n: rng.normal(size=np.shape(point[n])) for n in g.wrt}
    args = [point[n] for n in g.inputs] + [direction[n] for n in g.wrt]
    value, tangent = g.jvp(*args)
    assert np.shape(tangent) == np.shape(value)
    _, grads = g.value_and_grad(**point)
    assert tangent == pytest.approx(sum(np.vdot(gr, direction[n])
                                        for n, gr in zip(g.wrt, grads)), rel=1e-10, abs=1e-12)
    h = 1e-6
    up = g(**{n: point[n] + h * direction[n] if n in direction else point[n] for n in point})
    down = g(**{n: point[n] - h * direction[n] if n in direction else point[n] for n in point})
    assert tangent == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-8)


def test_tangents_have_their_primals_shape_and_dtype():
    # b alone varies: its [3 x 1] tangent is broadcast to the sum's [3 x 5]
    g = flatgrad.compile("sum(relu(W @ X + b) * c)", shapes={"W": (3, 4), "X": (4, 5),
                                                             "b": (3, 1)}, wrt="b")
    assert "broadcast_to(b_dot" in flatgrad.modes.source(g, "forward")
    rng = np.random.default_rng(0)
    W, X = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4, 5)).astype(np.float32)
    b = rng.normal(size=(3, 1)).astype(np.float32)
    value, tangent = g.jvp(W, X, b, np.float32(0.5), np.ones((3, 1), np.float32))
    assert np.asarray(tangent).dtype == np.float32
    assert tangent == pytest.approx(np.sum(g.grad(W, X, b, 0.5)), rel=1e-5)


def test_the_two_layer_net_jvp_is_the_gradient_along_the_direction():
    with open("examples/two_layer_net.txt", encoding="utf-8") as handle:
        net = flatgrad.compile(handle.read())
    point = flatgrad.random_point(net, 0)
    rng = np.random.default_rng(1)
    direction = [rng.normal(size=np.shape(point[n])) for n in net.wrt]
    value, tangent = net.jvp(*point.values(), *direction)
    _, grads = net.value_and_grad(**point)
    assert value == net(**point)
    assert tangent == pytest.approx(sum(np.vdot(g, d) for g, d in zip(grads, direction)),
                                    rel=1e-12)


def test_three_hundred_random_formulas_against_sympy_and_central_differences():
    rng = random.Random(20261202)
    checked = 0
    for formula, point, g, result in usable_formulas(rng, 1500):
        direction = [rng.uniform(-1, 1) for _ in VARIABLES]
        references = [exact(formula.expr.diff(SYMBOLS[n]), point) for n in VARIABLES]
        if not all(math.isfinite(r) for r in references):
            continue
        args = [point[n] for n in VARIABLES]
        try:
            numeric = _directional(g.function, args, direction)
        except (ArithmeticError, ValueError):
            continue   # the step left the domain
        value, tangent = g.jvp(*args, *direction)
        want = sum(r * d for r, d in zip(references, direction))
        scale = sum(abs(r * d) for r, d in zip(references, direction))
        assert value == result[0]
        assert abs(tangent - want) <= 1e-8 * max(scale, 1e-3) + 1e-10, (formula.text, point)
        rounding = 1e-8 * (1 + abs(value))
        assert abs(tangent - numeric) <= 1e-5 * max(scale, 1e-3) + rounding, formula.text
        # forward and reverse mode: the same directional derivative
        assert tangent == pytest.approx(sum(g_ * d for g_, d in zip(result[1], direction)),
                                        rel=1e-9, abs=1e-9 * scale + 1e-12)
        checked += 1
        if checked == 300:
            break
    assert checked == 300


def test_wrt_prunes_the_tangents_and_the_directions():
    g = flatgrad.compile("x * sin(y) + z", wrt="y")
    source = flatgrad.modes.source(g, "forward")
    assert "def f_jvp(x, y, z, y_dot):" in source
    assert "x_dot" not in source and "z_dot" not in source
    assert g.jvp(2.0, 0.5, 1.0, 1.0)[1] == pytest.approx(2 * math.cos(0.5), rel=1e-15)


def test_the_reference_listing_interleaves_each_tangent_with_its_line():
    g = flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)")
    lines = [line.strip() for line in flatgrad.modes.source(g, "forward").splitlines()]
    at = lines.index("num = x + sigy                                    # (2)")
    assert lines[at - 1].startswith("sigy_dot = (1.0 - sigy) * sigy * y_dot")
    assert lines[at + 1].startswith("num_dot = x_dot + sigy_dot")
    teach = flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)", profile="teach")
    assert "sigy_dot = ((1 - sigy) * sigy) * y_dot" in flatgrad.modes.source(teach, "forward")


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "flatgrad", *args], capture_output=True,
                          text=True, input=stdin)


@pytest.mark.parametrize("mode", ["forward", "hvp", "hessian"])
def test_the_written_module_compiles_lints_and_imports_math_alone(mode, tmp_path):
    out = tmp_path / "staged.py"
    result = _cli("compile", "(x+σ(y))/(σ(x)+(x+y)²)", "--mode", mode, "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert [line for line in text.splitlines() if line.startswith("import")] == ["import math"]
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated",
                           "--line-length", "100", "--select", "E,F,W", str(out)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    namespace: dict = {}
    exec(compile(text, str(out), "exec"), namespace)
    g = flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)")
    if mode == "forward":
        assert namespace["f_jvp"](3.0, -4.0, 1.0, 0.0) == g.jvp(3.0, -4.0, 1.0, 0.0)
    else:
        assert namespace["f_hvp"](3.0, -4.0, 0.5, 2.0) == g.hvp(3.0, -4.0, 0.5, 2.0)


def test_the_mode_is_deterministic_and_refuses_what_it_cannot_write():
    first = _cli("compile", "x*y + sin(x)", "--mode", "forward")
    assert first.stdout == _cli("compile", "x*y + sin(x)", "--mode", "forward").stdout
    refused = _cli("compile", "sum(W @ x)", "--shape", "W=2x3", "--shape", "x=3",
                   "--mode", "hvp")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "scalar" in refused.stderr
    annotated = _cli("compile", "x*y", "--mode", "forward", "--at", "x=3,y=-4")
    assert "f_dot becomes -4" in annotated.stdout


def test_tangent_and_function_names_collide_with_no_variable():
    g = flatgrad.compile("x_dot * sin(x)")
    assert "def f_jvp(x_dot, x, x_dot_dot, x_dot2):" in flatgrad.modes.source(g, "forward")
    assert g.jvp(2.0, 0.5, 0.0, 1.0)[1] == pytest.approx(g.grad(2.0, 0.5)[1], rel=1e-15)
    clash = flatgrad.compile("f_hvp = x*y; f_hvp*x")   # x²y: its Hessian is [[2y, 2x], [2x, 0]]
    assert clash.hessian(1.0, 2.0) == ((4.0, 2.0), (2.0, 0.0))


def test_a_failing_line_is_named_tangent_or_stage():
    g = flatgrad.compile("sqrt(x) * y")
    with pytest.raises(ValueError, match=r"at stage \(1\) sqrtx = math.sqrt\(x\)"):
        g.jvp(-1.0, 2.0, 1.0, 0.0)
    with pytest.raises(ZeroDivisionError, match=r"at the tangent line sqrtx_dot = "):
        g.hvp(0.0, 2.0, 1.0, 0.0)
    refused = _cli("compile", "sqrt(x) * y", "--mode", "forward", "--at", "x=0,y=2")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "at the tangent line sqrtx_dot" in refused.stderr


@pytest.mark.parametrize("style", ["plain", "slides", "cs231n"])
def test_every_style_gives_the_same_tangents_and_hvp(style):
    """A style that writes a statement as one line (plain) is differentiated gate by
    gate all the same: its JVP and HVP are the default's."""
    neuron = "dot = w0*x0 + w1*x1 + w2; f = σ(dot)"
    point, direction = (2.0, -1.0, -3.0, -2.0, -3.0), (0.1, 0.2, 0.3, 0.4, 0.5)
    default, styled = flatgrad.compile(neuron), flatgrad.compile(neuron, style=style)
    assert styled.jvp(*point, *direction) == pytest.approx(default.jvp(*point, *direction),
                                                           rel=1e-14)
    assert styled.hvp(*point, *direction) == pytest.approx(default.hvp(*point, *direction),
                                                           rel=1e-14)
    _, gradient = default.value_and_grad(*point)
    assert styled.jvp(*point, *direction)[1] == pytest.approx(
        sum(g * d for g, d in zip(gradient, direction)), rel=1e-14)


@pytest.mark.parametrize("mode", ["forward", "hvp", "hessian"])
def test_a_formula_with_no_inputs_writes_valid_functions_of_nothing(mode, tmp_path):
    # as reverse mode writes f() returning (f, ()): the derivative of a constant
    out = tmp_path / "constant.py"
    result = _cli("compile", "3.0", "--mode", mode, "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "(, )" not in text
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated",
                           "--line-length", "100", "--select", "E,F,W", str(out)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + text
    namespace: dict = {}
    exec(compile(text, str(out), "exec"), namespace)
    if mode == "forward":
        assert namespace["f_jvp"]() == (3.0, 0.0)
    else:
        assert namespace["f_hvp"]() == ()
    if mode == "hessian":
        assert namespace["f_hessian"]() == ()
    g = flatgrad.compile("3.0")
    assert (g.jvp(), g.hvp(), g.hessian()) == ((3.0, 0.0), (), ())


@pytest.mark.parametrize("option", [["--step"], ["--variants", "2"]])
def test_a_handout_refuses_forward_mode_where_it_would_drop_it(option, tmp_path):
    out = tmp_path / "page.html"
    result = _cli("handout", "x*y", "--at", "x=1,y=2", "--mode", "forward", *option,
                  "-o", str(out))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{option[0]} writes" in result.stderr and "reverse mode only" in result.stderr
    assert list(tmp_path.iterdir()) == []   # nothing written


def test_the_directions_are_checked_against_their_inputs_shapes():
    g = flatgrad.compile("L = sum(W @ X)", shapes={"W": (3, 4), "X": (4, 5)})
    W, X = np.arange(12.0).reshape(3, 4), np.ones((4, 5))
    assert g.jvp(W, X, np.ones((3, 4)), np.zeros((4, 5)))[1] == 60.0
    with pytest.raises(flatgrad.FlatgradError, match=re.escape(
            "the direction W_dot should have W's shape, [3 x 4]; got [4 x 3]")):
        g.jvp(W, X, np.ones((4, 3)), np.zeros((4, 5)))
    with pytest.raises(flatgrad.FlatgradError, match=re.escape(
            "the direction X_dot should have X's shape, [4 x 5]; got [5]")):
        g.jvp(W, X, np.ones((3, 4)), X_dot=np.zeros(5))


def test_forward_mode_allows_an_array_output_its_tangent_of_the_same_shape(tmp_path):
    shapes = {"W": (3, 4), "X": (4, 5)}
    rng = np.random.default_rng(3)
    W, X, W_dot, X_dot = (rng.normal(size=shapes[n[0]]) for n in ("W", "X", "W_dot", "X_dot"))
    tangent = flatgrad.compile("D = W @ X", shapes=shapes, mode="forward")
    D, D_dot = tangent.jvp(W, X, W_dot, X_dot)
    assert np.allclose(D, W @ X, rtol=1e-15) and D_dot.shape == (3, 5)
    assert np.allclose(D_dot, W_dot @ X + W @ X_dot, rtol=1e-14)
    out = tmp_path / "jvp.py"
    result = _cli("compile", "D = W @ X", "--shape", "W=3x4", "--shape", "X=4x5",
                  "--mode", "forward", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text() == tangent.source
    assert "the Jacobian times the direction" in tangent.source
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated",
                           "--line-length", "100", "--select", "E,F,W", str(out)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout
    with pytest.raises(flatgrad.FlatgradError, match=r"D is \[3 x 5\], not a scalar: it "
                                                     "has no gradient"):
        tangent.compiled.grad(W, X)
    _, pullback = tangent.compiled.vjp(W, X)
    assert np.allclose(pullback(np.ones((3, 5)))[0], np.ones((3, 5)) @ X.T, rtol=1e-15)
    refused = _cli("compile", "D = W @ X", "--shape", "W=3x4", "--shape", "X=4x5")
    assert refused.returncode == 2 and "--mode split" in refused.stderr
    assert "--mode forward for its Jacobian-vector product" in refused.stderr
