"""The fast and teach profiles compute the same numbers to the last bit, and the
python, numpy and numba targets the same numbers to rounding: on every gate of
the table, on random points, over arrays that broadcast, and at the far tails
of the sigmoid."""
import math
import random
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flatgrad
from flatgrad.core import gates
from flatgrad import FlatgradWarning
from flatgrad.core.gates import HELPERS, NUMPY_FUNCTIONS
from oracle import gate_formulas, same_float

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "(x+σ(y))/(σ(x)+(x+y)²)"
NEEDS_NUMBA = "numba is not installed (pip install 'flatgrad[numba]'); the numpy fallback is " \
              "tested instead"

# Points from several ranges, so every gate finds some inside its domain
# (log wants x > 0, asin |x| < 1, acosh x > 1, ...).
RANGES = [(0.05, 0.95), (1.1, 4.0), (-4.0, -0.05), (-30.0, 30.0)]
RNG = random.Random(6)
POINTS = [(RNG.uniform(*r), RNG.uniform(*r)) for r in RANGES for _ in range(6)]


GATE_FORMULAS = [formula for _, formula in gate_formulas()]


def _close(a, b):
    return math.isclose(a, b, rel_tol=1e-11, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))


def _scalar(compiled, point):
    """Value and gradient at a point, or None outside the formula's domain."""
    try:
        value, grads = compiled.value_and_grad(*point[:len(compiled.inputs)])
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return [value, *grads]


def test_the_gate_formulas_cover_the_whole_table():
    staged = set()
    for formula in GATE_FORMULAS:
        staged |= {node.gate.name for node in flatgrad.compile(formula).graph.stages}
    assert staged == {name for name, gate in gates.GATES.items() if gate.on_scalars}


@pytest.mark.parametrize("formula", GATE_FORMULAS)
def test_fast_and_teach_agree_on_every_gate(formula):
    fast = flatgrad.compile(formula, profile="fast")
    teach = flatgrad.compile(formula, profile="teach")
    compared = 0
    for point in POINTS:
        expected = _scalar(teach, point)
        if expected is None:
            continue
        got = _scalar(fast, point)
        assert got is not None, f"fast fails at {point} where teach gives {expected}"
        assert all(same_float(a, b) for a, b in zip(got, expected)), (point, got, expected)
        assert same_float(fast(*point[:len(fast.inputs)]), got[0])
        compared += 1
    assert compared >= 6, f"{formula}: too few points inside its domain"


def test_fast_profile_writes_the_sigmoid_inline_and_floats_literally():
    fast = flatgrad.compile(REFERENCE).source
    assert "def sigmoid" not in fast  # no helper: nothing calls it
    assert "sigy = 1.0 / (1.0 + math.exp(-y)) if y > -709.0 else math.exp(y)  # (1)" in fast
    # the headers keep the notes' spelling
    assert "# backprop sigy = 1.0 / (1 + math.exp(-y))" in fast
    assert "dxpy = 2.0 * xpy * dxpysqr" in fast
    assert "dx += (1.0 - sigx) * sigx * dsigx" in fast
    teach = flatgrad.compile(REFERENCE, profile="teach").source
    assert "dsigx = (1) * dden" in teach and "sigy = 1.0 / (1 + math.exp(-y))  # (1)" in teach
    assert "def sigmoid" not in teach


def test_both_profiles_give_the_seed_numbers_bit_for_bit_on_the_reference():
    # x = 3, y = -4: the CS231n numbers
    results = {flatgrad.compile(REFERENCE, profile=p).value_and_grad(3, -4)
               for p in ("fast", "teach")}
    assert results == {(1.5456448841066441, (2.0595697955721652, 1.5922327514838093))}


@pytest.mark.parametrize("profile", ["fast", "teach"])
@pytest.mark.parametrize("z", [-1000.0, -745.5, -709.5, -709.0, -40.0, 0.0, 40.0, 1000.0])
def test_sigmoid_tails_never_overflow(profile, z):
    if profile == "teach" and z < -709.78:
        # the notes' 1.0 / (1 + math.exp(-z)) overflows there: the error names the stage
        with pytest.raises(OverflowError, match=r"at stage \(1\) f = 1\.0 / \(1 \+ math"):
            flatgrad.compile("σ(z)", profile=profile).value_and_grad(z)
        return
    g = flatgrad.compile("σ(z)", profile=profile)
    value, (dz,) = g.value_and_grad(z)
    exact = math.exp(z) / (1 + math.exp(z)) if z < 0 else 1 / (1 + math.exp(-z))
    assert value == pytest.approx(exact, rel=1e-15, abs=0.0)
    assert dz == pytest.approx(exact * (1 - exact), rel=1e-14, abs=0.0)
    if z == -1000.0:
        assert (value, dz) == (0.0, 0.0)


def test_helper_and_inline_sigmoid_are_the_same_expression():
    # the teach profile calls the helper, the fast profile writes it inline
    sigmoid = gates._compile_template("sigmoid({a})", 1)
    inline = gates._compile_template(gates.GATES["sigmoid"].fast, 1)
    for z in [RNG.uniform(-800, 800) for _ in range(2000)] + [-709.0, -709.5, 0.0]:
        assert sigmoid(z, None) == inline(z, None)


@settings(max_examples=60, deadline=None)
@given(st.floats(-50, 50), st.floats(-50, 50))
def test_profiles_agree_on_random_points_of_the_reference(x, y):
    fast = flatgrad.compile(REFERENCE).value_and_grad(x, y)
    teach = flatgrad.compile(REFERENCE, profile="teach").value_and_grad(x, y)
    assert same_float(fast[0], teach[0])
    assert all(same_float(a, b) for a, b in zip(fast[1], teach[1]))


def test_fast_gradient_matches_central_differences():
    g = flatgrad.compile(REFERENCE)
    for x, y in POINTS:
        _, (dx, dy) = g.value_and_grad(x, y)
        h = 1e-6
        assert dx == pytest.approx((g(x + h, y) - g(x - h, y)) / (2 * h), rel=1e-5, abs=1e-7)
        assert dy == pytest.approx((g(x, y + h) - g(x, y - h)) / (2 * h), rel=1e-5, abs=1e-7)


# -- array targets ---------------------------------------------------------------

def test_every_math_function_and_helper_has_an_array_spelling():
    import ast
    import re
    # the math functions of the forms that are spelled for numpy mechanically
    texts = []
    for gate in gates.GATES.values():
        texts += [] if gate.numpy else [gate.forward]
        texts += [] if gate.numpy_local else list(filter(None, gate.local + gate.fast_local))
    used = set(re.findall(r"\bmath\.(\w+)\(", "\n".join(texts)))
    assert used <= set(NUMPY_FUNCTIONS)
    # every numpy form is numpy code whose calls are numpy's, math's or numpy helpers
    for gate in gates.GATES.values():
        forms = [gate.forward_form(spelling="numpy")]
        forms += [gate.local_form(i, spelling="numpy") for i in range(gate.arity)
                  if gate.on_scalars]
        for form in filter(None, forms):
            tree = ast.parse(re.sub(r"\{(a|b|out)\}", r"\1", form), mode="eval")
            called = {node.func.id for node in ast.walk(tree)
                      if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
            assert called <= set(HELPERS["numpy"]), (gate.name, form)
            assert "math." not in form or not re.search(r"math\.\w+\([^)]*\b[ab]\b", form)


def _grid(point_count=40, seed=1):
    rng = np.random.default_rng(seed)
    columns = [rng.uniform(*r, size=point_count // len(RANGES)) for r in RANGES]
    return np.concatenate(columns), np.concatenate([c[::-1] for c in columns])


def _compare_to_python(formula, target, profile):
    python = flatgrad.compile(formula, profile=profile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FlatgradWarning)
        arrays = flatgrad.compile(formula, profile=profile, target=target)
    xs, ys = _grid()
    args = (xs, ys)[:len(python.inputs)]
    with np.errstate(all="ignore"):
        value, grads = arrays.value_and_grad(*args)
    assert np.shape(value) == xs.shape and all(np.shape(g) == xs.shape for g in grads)
    compared = 0
    for i in range(len(xs)):
        expected = _scalar(python, (xs[i], ys[i]))
        if expected is None:
            continue
        got = [value[i]] + [g[i] for g in grads]
        assert all(_close(float(a), b) for a, b in zip(got, expected)), (formula, i, got)
        compared += 1
    assert compared >= 6


@pytest.mark.parametrize("formula", GATE_FORMULAS)
def test_numpy_target_agrees_with_python_on_every_gate(formula):
    _compare_to_python(formula, "numpy", "fast")


@pytest.mark.parametrize("profile", ["fast", "teach"])
def test_numpy_target_agrees_on_the_reference(profile):
    _compare_to_python(REFERENCE, "numpy", profile)


@pytest.mark.parametrize("target", ["numpy", "numba"])
def test_targets_broadcast_like_numpy(target):
    if target == "numba":
        pytest.importorskip("numba", reason=NEEDS_NUMBA)
    g = flatgrad.compile(REFERENCE, target=target)
    python = flatgrad.compile(REFERENCE)
    xs = np.linspace(-3.0, 3.0, 5)[:, None]
    ys = np.array([-1000.0, -4.0, 0.5, 2.0])
    value, (dx, dy) = g.value_and_grad(xs, ys)
    assert value.shape == dx.shape == dy.shape == (5, 4)
    assert g(xs, ys).shape == (5, 4)
    for i in range(5):
        for j in range(4):
            v, (ex, ey) = python.value_and_grad(xs[i, 0], ys[j])
            assert _close(value[i, j], v) and _close(dx[i, j], ex) and _close(dy[i, j], ey)
    # a scalar with an array, and plain scalars
    value, (dx, dy) = g.value_and_grad(3.0, ys)
    assert value.shape == dx.shape == dy.shape == (4,)
    value, (dx, dy) = g.value_and_grad(3.0, -4.0)
    assert np.shape(value) == np.shape(dx) == () and _close(float(dy), 1.5922327514838093)


@pytest.mark.parametrize("target", ["numpy", "numba"])
def test_constant_gradients_still_get_one_entry_per_point(target):
    if target == "numba":
        pytest.importorskip("numba", reason=NEEDS_NUMBA)
    g = flatgrad.compile("3*x + 0*y", target=target, inputs=["x", "y", "z"])
    x = np.arange(4.0)
    value, (dx, dy, dz) = g.value_and_grad(x, 2.0, 5.0)
    assert value.tolist() == [0.0, 3.0, 6.0, 9.0]
    assert dx.tolist() == [3.0] * 4 and dy.tolist() == [0.0] * 4 and dz.tolist() == [0.0] * 4


@pytest.mark.parametrize("target", ["numpy", "numba"])
def test_array_sigmoid_tails_are_quiet_and_exact(target):
    if target == "numba":
        pytest.importorskip("numba", reason=NEEDS_NUMBA)
    z = np.array([-1000.0, -745.5, -709.5, -40.0, 0.0, 40.0, 1000.0])
    for profile in ("fast", "teach"):
        g = flatgrad.compile("σ(z)", target=target, profile=profile)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                value, (dz,) = g.value_and_grad(z)
        # the stable scalar form (the teach profile's notes' form overflows below -709.78)
        python = flatgrad.compile("σ(z)", profile="fast")
        for i, zi in enumerate(z):
            v, (d,) = python.value_and_grad(zi)
            assert value[i] == pytest.approx(v, rel=1e-15, abs=0.0)
            assert dz[i] == pytest.approx(d, rel=1e-14, abs=0.0)
        assert (value[0], dz[0]) == (0.0, 0.0)


def test_numba_target_agrees_on_the_whole_gate_table():
    pytest.importorskip("numba", reason=NEEDS_NUMBA)
    # one module with every gate keeps the JIT compilation to one per profile;
    # logs and roots see shifted, positive arguments so every point is in domain
    callable_terms = [f"{n}(0.5 + 0.2*u)" if gates.GATES[n].arity == 1 else f"{n}(u, v)"
                      for n in gates.ON_SCALARS]
    formula = " + ".join(callable_terms + ["u**v", "u**3", "1/u", "u/v", "-u*v", "v**2.5"])
    formula = formula.replace("acosh(0.5 + 0.2*u)", "acosh(1.5 + u)")
    for profile in ("fast", "teach"):
        python = flatgrad.compile(formula, profile=profile)
        fused = flatgrad.compile(formula, profile=profile, target="numba")
        assert fused.target == "numba"
        u = np.linspace(0.1, 0.9, 17)
        v = np.linspace(0.2, 1.3, 17)
        value, grads = fused.value_and_grad(u, v)
        for i in range(len(u)):
            expected = python.value_and_grad(u[i], v[i])
            assert _close(value[i], expected[0])
            assert all(_close(g[i], e) for g, e in zip(grads, expected[1]))


def test_numba_falls_back_to_numpy_with_a_clear_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now fails
    with pytest.warns(FlatgradWarning, match="numba is not installed.*falls back to 'numpy'"):
        g = flatgrad.compile(REFERENCE, target="numba")
    assert g.target == "numpy" and "import numpy as np" in g.source
    value, (dx, dy) = g.value_and_grad(np.array([3.0]), np.array([-4.0]))
    assert _close(dx[0], 2.0595697955721652)


def test_cli_notes_the_fallback_on_stderr():
    script = ("import sys; sys.modules['numba'] = None; from flatgrad.cli import main; "
              "sys.exit(main(['eval', '(x+σ(y))/(σ(x)+(x+y)²)', '--target', 'numba', "
              "'--at', 'x=3,y=-4']))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "flatgrad: note: numba is not installed" in done.stderr
    assert "pip install 'flatgrad[numba]'" in done.stderr
    assert "df/dx = 2.05957" in done.stdout


@pytest.mark.parametrize("target", ["numpy", "numba"])
def test_array_modules_are_clean_python(tmp_path, target, ruff_check):
    formula = REFERENCE + " + relu(x) + max(x, y) + abs(y) + softplus(x) + erf(y)"
    for profile in ("fast", "teach"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FlatgradWarning)
            g = flatgrad.compile(formula, target=target, profile=profile)
        path = g.write(tmp_path / f"{target}_{profile}.py")
        assert g.source == flatgrad.compile(formula, target=g.target, profile=profile).source
    subprocess.run([sys.executable, "-m", "py_compile", *map(str, tmp_path.iterdir())],
                   check=True)
    lint = ruff_check(tmp_path)
    assert lint.returncode == 0, lint.stdout
    assert path.read_text().startswith("# Generated by flatgrad")


def test_array_modules_keep_clear_of_user_names():
    # a stage called np, numba or full must not shadow the module's own names
    g = flatgrad.compile("np = x*x\nfull = np + 1\nshape = full*x\nshape + np", target="numpy")
    value, (dx,) = g.value_and_grad(np.array([2.0, 3.0]))
    assert value.tolist() == [14.0, 39.0]  # x³ + x + x²
    assert dx.tolist() == [17.0, 34.0]     # 3x² + 1 + 2x
    assert "import numpy as np2" in g.source


def test_unknown_target_is_a_clear_error():
    with pytest.raises(flatgrad.FlatgradError, match="unknown target 'gpu'"):
        flatgrad.compile(REFERENCE, target="gpu")


def test_cli_compiles_for_a_target():
    done = subprocess.run([sys.executable, "-m", "flatgrad", "compile", "relu(x)*y", "--target",
                           "numpy", "--at", "x=2,y=3"], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "import numpy as np" in done.stdout
    assert "dx = (x > 0.0) * drelux  # (1) dx becomes 3" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "flatgrad", "compile", "x", "--target", "gpu"],
                         capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert bad.returncode == 2 and "invalid choice: 'gpu'" in bad.stderr


def test_array_programs_refuse_a_scalar_target():
    with pytest.raises(flatgrad.FlatgradError, match="array inputs always compiles to numpy"):
        flatgrad.compile("sum(W)", shapes={"W": (2, 3)}, target="numba")
