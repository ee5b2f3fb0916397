"""cbrt, added to flatgrad as one row of the gate table: everything else follows from it."""
import math

import numpy as np
import pytest

import flatgrad
from flatgrad.teach import handout, lesson
from oracle import close, symbolic_gradient

POINTS = [(-8.0, 0.5), (0.3, 2.0), (27.0, -1.5)]


@pytest.mark.parametrize("profile", ["fast", "teach"])
def test_the_scalar_code_matches_sympy(profile):
    g = flatgrad.compile("cbrt(x) * y", profile=profile)
    assert "math.cbrt(x)" in g.source
    for point in POINTS:
        value, grads = g.value_and_grad(*point)
        want_value, want_grads = symbolic_gradient("cbrt(x) * y", ["x", "y"],
                                                   dict(zip("xy", point)))
        assert close(value, want_value)
        assert all(close(a, b) for a, b in zip(grads, want_grads))
    assert g(-8.0, 1.0) == -2.0


@pytest.mark.parametrize("target", ["numpy", "numba"])
def test_every_target_agrees(target):
    if target == "numba":
        pytest.importorskip("numba")
    scalar = flatgrad.compile("cbrt(x) * y")
    g = flatgrad.compile("cbrt(x) * y", target=target)
    xs, ys = np.array([p[0] for p in POINTS]), np.array([p[1] for p in POINTS])
    value, (dx, dy) = g.value_and_grad(xs, ys)
    for i, point in enumerate(POINTS):
        v, (gx, gy) = scalar.value_and_grad(*point)
        assert math.isclose(value[i], v, rel_tol=1e-13)
        assert math.isclose(dx[i], gx, rel_tol=1e-13) and math.isclose(dy[i], gy, rel_tol=1e-13)


def test_an_array_program_and_float32():
    g = flatgrad.compile("sum(cbrt(W) * v)", shapes={"W": (2, 3), "v": (3,)})
    assert "np.cbrt(W)" in g.source
    W = np.array([[-8.0, 1.0, 27.0], [0.125, 64.0, -1.0]])
    v = np.array([1.0, 2.0, 3.0])
    value, (dW, dv) = g.value_and_grad(W, v)
    assert value == pytest.approx(float(np.sum(np.cbrt(W) * v)))
    assert dW == pytest.approx(v / (3.0 * np.cbrt(W) ** 2))
    assert dv == pytest.approx(np.sum(np.cbrt(W), axis=0))
    value32, (dW32, _) = g.value_and_grad(W.astype(np.float32), v.astype(np.float32))
    assert dW32.dtype == np.float32 and dW32 == pytest.approx(dW, rel=1e-5)


def test_the_gradient_check_passes_and_a_handout_shows_the_cube_root():
    assert flatgrad.check("cbrt(x) * y", at={"x": 2.0, "y": 3.0}).ok
    plan = flatgrad.api.build_plan("cbrt(x) * y", profile="teach")
    taught = lesson.build(plan, {"x": 8.0, "y": 3.0})
    page = handout.render(taught, "html")
    assert "∛" in page and "math.cbrt(x)" in page
    assert "1/(3∛x²)" in page   # the row's teaching note
    assert taught.gradients[0][2] == pytest.approx(3.0 / 12.0)


def test_the_gradient_at_zero_is_infinite_and_named():
    with pytest.raises(ZeroDivisionError, match=r"backprop of stage \(1\)"):
        flatgrad.compile("cbrt(x) * y").value_and_grad(0.0, 1.0)
