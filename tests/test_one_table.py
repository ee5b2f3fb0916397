"""One gate table: every row gives the same values and gradients however it is compiled.

For each gate that works on scalars, at points inside its domain: the scalar
module (python), the scalar formula run over arrays (numpy and numba targets),
and an array program `sum(gate(x, y))` over inputs of shape (3,) and (2, 3), whose
gradient entry i is the scalar gradient at point i. In float64 all of them agree
to rounding; in float32 the array program stays float32 and agrees to float32's
precision.
"""
import math

import numpy as np
import pytest

import flatgrad
from flatgrad.core import gates
from oracle import gate_formulas, gate_points

try:
    import numba  # noqa: F401
    TARGETS = ["numpy", "numba"]
except ImportError:
    TARGETS = ["numpy"]


FORMULAS = gate_formulas()


def _points(name, count):
    return gate_points(name, count)


def _scalar(compiled, xs, ys):
    """Value and gradients at each point, by the scalar module, as arrays."""
    results = [compiled.value_and_grad(*(x, y)[:len(compiled.inputs)]) for x, y in zip(xs, ys)]
    value = np.array([r[0] for r in results])
    grads = [np.array([r[1][i] for r in results]) for i in range(len(compiled.wrt))]
    return value, grads


def test_the_formulas_cover_every_row_that_works_on_scalars():
    staged = set()
    for _, formula in FORMULAS:
        staged |= {node.gate.name for node in flatgrad.compile(formula).graph.stages}
    assert staged == {name for name, gate in gates.GATES.items() if gate.on_scalars}


@pytest.mark.parametrize("name, formula", FORMULAS, ids=[f for _, f in FORMULAS])
def test_every_target_and_shape_agrees_with_the_scalar_code(name, formula):
    points = _points(name, 6)
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    scalar = flatgrad.compile(formula)
    value, grads = _scalar(scalar, xs, ys)
    args = (xs, ys)[:len(scalar.inputs)]

    for target in TARGETS:
        compiled = flatgrad.compile(formula, target=target)
        got_value, got_grads = compiled.value_and_grad(*args)
        np.testing.assert_allclose(got_value, value, rtol=1e-12, atol=1e-14, err_msg=target)
        for got, want in zip(got_grads, grads):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=target)

    # the same row inside an array program: entry i of the gradient is the scalar
    # gradient at point i
    for shape in [(6,), (2, 3)]:
        shapes = {name: shape for name in scalar.inputs}
        program = flatgrad.compile(formula.replace("c*y", "sum(c*y)") if "\n" in formula
                                   else f"sum({formula})", shapes=shapes)
        arrays = [a.reshape(shape) for a in args]
        got_value, got_grads = program.value_and_grad(*arrays)
        assert got_value == pytest.approx(float(np.sum(value)), rel=1e-12, abs=1e-13)
        for got, want in zip(got_grads, grads):
            assert got.shape == shape
            np.testing.assert_allclose(got.ravel(), want, rtol=1e-12, atol=1e-14)
        # float32 in, float32 out, to float32's precision
        got_value, got_grads = program.value_and_grad(*[a.astype(np.float32) for a in arrays])
        assert np.asarray(got_value).dtype == np.float32, program.source
        assert float(got_value) == pytest.approx(float(np.sum(value)), rel=2e-4, abs=2e-4)
        for got, want in zip(got_grads, grads):
            assert got.dtype == np.float32, program.source
            np.testing.assert_allclose(got.ravel(), want, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("target", ["python"] + TARGETS)
def test_hypot_at_its_kink_has_gradient_zero_everywhere(target):
    compiled = flatgrad.compile("hypot(x, y)", target=target)
    value, (dx, dy) = compiled.value_and_grad(*((0.0, 0.0) if target == "python" else
                                                (np.zeros(2), np.zeros(2))))
    assert np.all(np.asarray(value) == 0) and np.all(np.asarray(dx) == 0) \
        and np.all(np.asarray(dy) == 0)
    program = flatgrad.compile("sum(hypot(x, y))", shapes={"x": (2,), "y": (2,)})
    _, (dx, dy) = program.value_and_grad(np.zeros(2), np.array([0.0, 3.0]))
    assert list(dx) == [0.0, 0.0] and list(dy) == [0.0, 1.0]


@pytest.mark.parametrize("target", ["python"] + TARGETS)
def test_logaddexp_far_apart_sends_the_whole_gradient_to_the_larger(target):
    compiled = flatgrad.compile("logaddexp(x, y)", target=target)
    point = (1000.0, -1000.0) if target == "python" else (np.array([1000.0]), np.array([-1000.0]))
    value, (dx, dy) = compiled.value_and_grad(*point)
    assert float(np.ravel(value)[0]) == 1000.0
    assert float(np.ravel(dx)[0]) == 1.0 and float(np.ravel(dy)[0]) == 0.0
    program = flatgrad.compile("sum(logaddexp(x, y))", shapes={"x": (1,), "y": (1,)})
    value, (dx, dy) = program.value_and_grad(np.array([1000.0]), np.array([-1000.0]))
    assert value == 1000.0 and dx[0] == 1.0 and dy[0] == 0.0


def test_one_row_one_gradient_formula():
    # logaddexp's gradient is the sigmoid of a - b in the scalar code and over arrays
    # alike (expit, scipy's name, is the array helper's)
    scalar = flatgrad.compile("logaddexp(x, y)").source
    array = flatgrad.compile("sum(logaddexp(x, y))", shapes={"x": (2,), "y": (2,)}).source
    assert "sigmoid(x - y)" in scalar and "expit(x - y)" in array
    # and the numpy target names the numpy line it backprops
    numpy_target = flatgrad.compile("log(x) * y", target="numpy").source
    assert "# backprop logx = np.log(x)" in numpy_target and "math.log" not in numpy_target


def test_the_numpy_target_keeps_float32():
    compiled = flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)", target="numpy")
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    value, (dx, dy) = compiled.value_and_grad(x, x[::-1].copy())
    assert value.dtype == dx.dtype == dy.dtype == np.float32
    want = flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)")
    for i in range(7):
        v, (gx, gy) = want.value_and_grad(float(x[i]), float(x[::-1][i]))
        assert math.isclose(value[i], v, rel_tol=1e-5)
        assert math.isclose(dx[i], gx, rel_tol=1e-4, abs_tol=1e-6)
