"""Every array gate against central differences (float64), and in float32 without a
change of dtype."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flatgrad
from flatgrad.core import gates
from numgrad import check_gradients, numeric_gradient, relative_error

TOLERANCE = 1e-6

# gate -> the interval its operands are drawn from (away from poles and kinks)
DOMAIN = {"log": (0.5, 2), "log1p": (0.5, 2), "log2": (0.5, 2), "log10": (0.5, 2),
          "sqrt": (0.5, 2), "asin": (-0.8, 0.8), "acos": (-0.8, 0.8), "atanh": (-0.8, 0.8),
          "acosh": (1.5, 3), "pow": (0.5, 2), "recip": (0.5, 2), "div": (0.5, 2),
          "tan": (-1, 1)}
UNARY = ["exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "sin", "cos", "tan", "asin",
         "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid",
         "softplus", "relu", "abs", "erf", "erfc", "cbrt"]
BINARY = ["atan2", "hypot", "logaddexp", "max", "min", "pow"]
OPERATORS = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
# the second operand's shape against a [3 x 4] first operand: equal, broadcast
# along each axis, a vector, a scalar
BROADCASTS = [(3, 4), (1, 4), (3, 1), (4,), ()]


def _draw(rng, shape, gate=""):
    low, high = DOMAIN.get(gate, (-2, 2))
    values = rng.uniform(low, high, size=shape)
    if gate in ("relu", "abs"):
        values = np.where(np.abs(values) < 0.1, 0.5, values)  # keep off the kink
    return values if shape else float(values)


def _check(program, shapes, args):
    compiled = flatgrad.compile(program, shapes=shapes)
    errors = check_gradients(compiled, args)
    assert max(errors.values()) < TOLERANCE, errors
    _check_float32(compiled, args)


def _check_float32(compiled, args):
    single = {k: v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
              else v for k, v in args.items()}
    value, grads = compiled.value_and_grad(**single)
    assert np.asarray(value).dtype == np.float32
    for name, grad in zip(compiled.wrt, grads):
        if isinstance(single[name], np.ndarray):
            assert grad.dtype == np.float32, name
    assert np.allclose(value, compiled(**args), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("gate", UNARY)
def test_unary_gate_elementwise(gate):
    rng = np.random.default_rng(1)
    args = {"X": _draw(rng, (3, 4), gate), "C": rng.normal(size=(3, 4))}
    _check(f"sum({gate}(X) * C)", {"X": (3, 4), "C": (3, 4)}, args)


@pytest.mark.parametrize("other", BROADCASTS, ids=str)
@pytest.mark.parametrize("gate", BINARY)
def test_binary_gate_broadcasts(gate, other):
    rng = np.random.default_rng(2)
    args = {"A": _draw(rng, (3, 4), gate), "B": _draw(rng, other, gate),
            "C": rng.normal(size=(3, 4))}
    _check(f"sum({gate}(A, B) * C)", {"A": (3, 4), "B": other, "C": (3, 4)}, args)


@pytest.mark.parametrize("other", BROADCASTS, ids=str)
@pytest.mark.parametrize("op", OPERATORS)
def test_operator_broadcasts_both_ways(op, other):
    rng = np.random.default_rng(3)
    gate = OPERATORS[op]
    args = {"A": _draw(rng, (3, 4), gate), "B": _draw(rng, other, gate),
            "C": rng.normal(size=(3, 4))}
    shapes = {"A": (3, 4), "B": other, "C": (3, 4)}
    _check(f"sum((A {op} B) * C)", shapes, args)
    _check(f"sum((B {op} A) * C)", shapes, args)


def test_powers_and_constants():
    rng = np.random.default_rng(4)
    args = {"X": rng.uniform(0.5, 2, size=(2, 3))}
    _check("Y = X; sum(X² + X³ + X**4 + X**2.5 + √X + 1/X + 2**X + e*Y/3 - Y/pi + -X)",
           {"X": (2, 3)}, args)


@pytest.mark.parametrize("a,b", [((3, 4), (4, 2)), ((3, 4), (4,)), ((4,), (4, 2)),
                                 ((4,), (4,))], ids=str)
def test_matmul_every_rank(a, b):
    rng = np.random.default_rng(5)
    out = a[:-1] + b[1:]
    args = {"A": rng.normal(size=a), "B": rng.normal(size=b), "C": rng.normal(size=out)}
    if not out:
        args["C"] = float(args["C"])
    _check("sum((A @ B) * C)", {"A": a, "B": b, "C": out}, args)


def test_sum_of_squares_is_one_gate():
    rng = np.random.default_rng(12)
    compiled = flatgrad.compile("sum(W²) + sum(W³)", shapes={"W": (3, 4)})
    assert "np.vdot(W, W)" in compiled.source and "= W**2" not in compiled.source
    _check("sum(W²) + sum(W³)", {"W": (3, 4)}, {"W": rng.normal(size=(3, 4))})


def test_transpose():
    rng = np.random.default_rng(6)
    args = {"A": rng.normal(size=(3, 4)), "B": rng.normal(size=(3, 2))}
    _check("sum(A.T @ B * (A.T @ B))", {"A": (3, 4), "B": (3, 2)}, args)


@pytest.mark.parametrize("reduce", ["sum", "mean", "logsumexp"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_reductions(reduce, axis):
    rng = np.random.default_rng(7)
    call = f"{reduce}(X)" if axis is None else f"{reduce}(X, axis={axis})"
    out = {None: (), 0: (4,), 1: (3,), -1: (3,)}[axis]
    args = {"X": rng.normal(size=(3, 4)), "C": rng.normal(size=out)}
    if not out:
        args["C"] = float(args["C"])
    _check(f"sum({call} * C)", {"X": (3, 4), "C": out}, args)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_softmax(axis):
    rng = np.random.default_rng(8)
    call = "softmax(X)" if axis is None else f"softmax(X, {axis})"
    args = {"X": rng.normal(size=(3, 4)), "C": rng.normal(size=(3, 4))}
    _check(f"sum({call} * C)", {"X": (3, 4), "C": (3, 4)}, args)


@pytest.mark.parametrize("loss", ["softmax_loss", "svm_loss"])
@pytest.mark.parametrize("batch", [True, False])
def test_losses_with_integer_labels(loss, batch):
    rng = np.random.default_rng(9)
    shape = (5, 6) if batch else (5,)
    args = {"S": rng.normal(size=shape),
            "y": rng.integers(0, 5, size=6) if batch else int(rng.integers(0, 5))}
    shapes = {"S": shape, "y": (6,) if batch else ()}
    compiled = flatgrad.compile(f"{loss}(S, y)", shapes=shapes)
    assert compiled.wrt == ("S",)
    _check(f"{loss}(S, y)", shapes, args)


def test_loss_values_match_their_definitions():
    rng = np.random.default_rng(10)
    S, y = rng.normal(size=(4, 7)), rng.integers(0, 4, size=7)
    shapes = {"S": (4, 7), "y": (7,)}
    columns = np.arange(7)
    logp = S - np.log(np.exp(S).sum(axis=0))
    assert np.isclose(flatgrad.compile("softmax_loss(S, y)", shapes=shapes)(S, y),
                      -logp[y, columns].mean())
    margins = np.maximum(0, S - S[y, columns] + 1)
    margins[y, columns] = 0
    assert np.isclose(flatgrad.compile("svm_loss(S, y)", shapes=shapes)(S, y),
                      margins.sum(axis=0).mean())


def test_softmax_and_logsumexp_do_not_overflow():
    compiled = flatgrad.compile("logsumexp(X) + sum(softmax(X) * X) + softmax_loss(X, y)",
                                shapes={"X": (3,), "y": ()})
    value, (dX,) = compiled.value_and_grad(np.array([1000.0, 0.0, -1000.0]), 0)
    assert np.isfinite(value) and np.all(np.isfinite(dX))


@pytest.mark.parametrize("x,w", [((6, 5), (3, 2)), ((2, 6, 5), (3, 2, 3, 2)),
                                 ((2, 2, 5, 4), (3, 2, 2, 3))], ids=str)
def test_conv2d(x, w):
    rng = np.random.default_rng(11)
    out = x[:-3] + ((3,) if len(w) == 4 else ()) + (x[-2] - w[-2] + 1, x[-1] - w[-1] + 1)
    args = {"X": rng.normal(size=x), "W": rng.normal(size=w), "C": rng.normal(size=out)}
    _check("sum(conv2d(X, W) * C)", {"X": x, "W": w, "C": out}, args)


@pytest.mark.parametrize("x,w", [((6, 5), (3, 2)), ((2, 2, 5, 4), (3, 2, 2, 3))], ids=str)
def test_convolve2d(x, w):
    rng = np.random.default_rng(12)
    out = x[:-3] + ((3,) if len(w) == 4 else ()) + (x[-2] - w[-2] + 1, x[-1] - w[-1] + 1)
    args = {"X": rng.normal(size=x), "W": rng.normal(size=w), "C": rng.normal(size=out)}
    _check("sum(convolve2d(X, W) * C)", {"X": x, "W": w, "C": out}, args)


def test_conv2d_is_the_valid_cross_correlation_of_the_recitation():
    X = np.arange(16.0).reshape(4, 4)
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    compiled = flatgrad.compile("sum(conv2d(X, W) * C)", shapes={"X": "4x4", "W": "2x2",
                                                                 "C": "3x3"})
    C = np.arange(9.0).reshape(3, 3)
    Y = np.array([[(X[i:i + 2, j:j + 2] * W).sum() for j in range(3)] for i in range(3)])
    assert np.isclose(compiled(X, W, C), (Y * C).sum())
    _, (dX, dW, dC) = compiled.value_and_grad(X, W, C)
    # dW correlates X with dY = C; dX is the full convolution of dY with W rotated 180°
    assert np.allclose(dW, [[(X[a:a + 3, b:b + 3] * C).sum() for b in range(2)]
                            for a in range(2)])
    padded = np.pad(C, 1)
    assert np.allclose(dX, [[(padded[i:i + 2, j:j + 2] * W[::-1, ::-1]).sum() for j in range(4)]
                            for i in range(4)])


def test_every_gate_has_a_numpy_form():
    for gate in gates.GATES.values():
        assert gate.forward_form(spelling="numpy"), gate.name


def test_every_array_gate_is_checked_here():
    covered = set(UNARY) | set(BINARY) | set(OPERATORS.values()) | {
        "neg", "copy", "square", "cube", "powi", "powr", "recip", "sqrt", "matmul", "transpose",
        "sum", "sumsq", "sum_axis", "mean", "mean_axis", "logsumexp", "logsumexp_axis", "softmax",
        "softmax_axis", "softmax_loss", "svm_loss", "conv2d", "convolve2d"}
    assert set(gates.GATES) <= covered


@st.composite
def _broadcast_pair(draw):
    """Two shapes that broadcast together, with the shape they broadcast to."""
    full = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    shrunk = [1 if draw(st.booleans()) else d for d in full]
    drop = draw(st.integers(0, len(full)))
    return tuple(full), tuple(shrunk[drop:])


@settings(max_examples=30, deadline=None, derandomize=True)
@given(pair=_broadcast_pair(), op=st.sampled_from(sorted(OPERATORS)),
       swap=st.booleans(), seed=st.integers(0, 2**16))
def test_random_broadcast_shapes_check(pair, op, swap, seed):
    big, small = pair
    rng = np.random.default_rng(seed)
    shapes = {"A": big, "B": small, "C": big}
    args = {name: _draw(rng, shape, "div") for name, shape in shapes.items()}
    left, right = ("B", "A") if swap else ("A", "B")
    compiled = flatgrad.compile(f"sum(({left} {op} {right}) * C)", shapes=shapes)
    errors = check_gradients(compiled, args)
    assert max(errors.values()) < TOLERANCE, errors


def test_conv2d_over_a_batch_is_conv2d_of_each_image():
    rng = np.random.default_rng(13)
    X, K = rng.normal(size=(3, 2, 5, 4)), rng.normal(size=(4, 2, 2, 2))
    batch = flatgrad.compile("sum(conv2d(X, K) * C)", shapes={"X": X.shape, "K": K.shape,
                                                              "C": (3, 4, 4, 3)})
    single = flatgrad.compile("sum(conv2d(X, K) * C)", shapes={"X": X.shape[1:], "K": K.shape,
                                                               "C": (4, 4, 3)})
    C = rng.normal(size=(3, 4, 4, 3))
    value, (dX, dK, _) = batch.value_and_grad(X, K, C)
    parts = [single.value_and_grad(X[n], K, C[n]) for n in range(3)]
    assert np.isclose(value, sum(v for v, _ in parts))
    assert np.allclose(dX, np.stack([g[0] for _, g in parts]))
    assert np.allclose(dK, sum(g[1] for _, g in parts))


def test_the_oracle_itself():
    rng = np.random.default_rng(14)
    X = rng.normal(size=(3, 4))
    numeric = numeric_gradient(lambda X: float(np.sum(X**3)), {"X": X}, "X")
    assert relative_error(3 * X**2, numeric) < 1e-8
    # one entry off by 1e-5 of the gradient's largest entry is caught
    wrong = 3 * X**2
    wrong[1, 2] += 1e-5 * np.max(np.abs(wrong))
    assert relative_error(wrong, numeric) > 1e-6
