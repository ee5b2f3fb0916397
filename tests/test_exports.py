"""The exports: the torch.autograd.Function and the jax.custom_vjp function whose
backward passes are flatgrad's generated ones, checked against the libraries' own
differentiation (torch.autograd.gradcheck, jax.grad of the plain jnp function)."""
from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest
from conftest import REFERENCE, ROOT, TWO_LAYER_NET

import flatgrad

CONV_LAYER = (ROOT / "examples" / "conv_layer.txt").read_text(encoding="utf-8")
H, D, C, N = 4, 3, 3, 5


def load(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, name, "exec"), module.__dict__)
    return module


def net_point(rng):
    return (rng.normal(size=(H, D)), rng.normal(size=(D, N)), rng.normal(size=(H, 1)),
            rng.normal(size=(C, H)), rng.normal(size=(C, 1)), rng.integers(0, C, N), 0.1)


def conv_point(rng):
    return (rng.normal(size=(2, 2, 6, 5)), rng.normal(size=(3, 2, 3, 3)),
            rng.normal(size=(2, 3)), rng.normal(size=(2, 1)), np.array([0, 1]))


def test_flatgrad_itself_imports_neither_torch_nor_jax():
    code = ("import sys, flatgrad\n"
            f"for kind in ('torch', 'jax'):\n"
            f"    flatgrad.compile({TWO_LAYER_NET!r}, mode=kind)\n"
            "print(sorted(m for m in ('torch', 'jax') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_spellings_come_from_the_gate_table():
    from flatgrad.core.gates import GATES
    assert GATES["sigmoid"].forward_form(spelling="torch") == "torch.sigmoid({a})"
    assert GATES["sigmoid"].forward_form(spelling="jax") == "jax.nn.sigmoid({a})"
    assert GATES["asin"].forward_form(spelling="jax") == "jnp.arcsin({a})"
    assert GATES["relu"].forward_form(spelling="torch") == "torch.clamp({a}, min=0.0)"
    assert GATES["sum_axis"].vjp_form(0, (2, 1), "torch") == "torch.unsqueeze({up}, {b})"
    assert GATES["mean"].vjp_form(0, (2,), "torch") == "{up} / {a}.numel()"


# -- JAX ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def jax():
    jax = pytest.importorskip("jax", reason="the JAX export's tests need jax "
                                            "(pip install '.[test]' installs it)")
    jax.config.update("jax_enable_x64", True)
    return jax


def assert_close_to_1e_12(mine, theirs):
    for a, b in zip(mine, theirs):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape
        assert np.max(np.abs(a - b), initial=0.0) <= 1e-12 * max(1.0, np.max(np.abs(b)))


def test_jax_reference(jax):
    jnp = jax.numpy
    exported = load(flatgrad.compile(REFERENCE, mode="jax").source, "reference_jax")

    def plain(x, y):
        return (x + jax.nn.sigmoid(y)) / (jax.nn.sigmoid(x) + (x + y) ** 2)

    for x, y in [(3.0, -4.0), (0.5, 2.0), (-1.5, 0.25)]:
        assert abs(exported.f(x, y) - plain(x, y)) < 1e-15
        assert_close_to_1e_12(jax.grad(exported.f, (0, 1))(x, y),
                              jax.grad(plain, (0, 1))(x, y))
    # and under jit, with the gradient of x alone
    assert_close_to_1e_12([jax.jit(jax.grad(exported.f))(3.0, -4.0)],
                          [jax.grad(plain)(jnp.float64(3.0), -4.0)])


def test_jax_two_layer_net(jax):
    jnp = jax.numpy
    exported = load(flatgrad.compile(TWO_LAYER_NET, mode="jax").source, "net_jax")

    def plain(W1, X, b1, W2, b2, y, reg):
        hidden = jnp.maximum(W1 @ X + b1, 0.0)
        scores = W2 @ hidden + b2
        logp = jax.nn.log_softmax(scores, axis=0)
        return -jnp.mean(logp[y, jnp.arange(len(y))]) \
            + 0.5 * reg * (jnp.sum(W1**2) + jnp.sum(W2**2))

    args = net_point(np.random.default_rng(0))
    wrt = (0, 1, 2, 3, 4, 6)
    assert abs(exported.f(*args) - plain(*args)) < 1e-13
    assert_close_to_1e_12(jax.grad(exported.f, wrt)(*args), jax.grad(plain, wrt)(*args))


def test_jax_conv_layer(jax):
    jnp = jax.numpy
    exported = load(flatgrad.compile(CONV_LAYER, mode="jax").source, "conv_jax")

    def plain(images, K, V, c, y):
        maps = jax.lax.conv_general_dilated(images, K, (1, 1), "VALID")
        pooled = jnp.sum(jnp.maximum(maps, 0.0), axis=(2, 3))
        logp = jax.nn.log_softmax(V @ pooled.T + c, axis=0)
        return -jnp.mean(logp[y, jnp.arange(len(y))])

    args = conv_point(np.random.default_rng(1))
    wrt = (0, 1, 2, 3)
    assert abs(exported.f(*args) - plain(*args)) < 1e-13
    assert_close_to_1e_12(jax.grad(exported.f, wrt)(*args), jax.grad(plain, wrt)(*args))


def test_jax_vjp_of_an_array_output(jax):
    exported = load(flatgrad.compile("hidden = relu(W1 @ X + b1)", mode="jax",
                                     shapes={"W1": (4, 3), "X": (3, 5), "b1": (4, 1)}).source,
                    "relu_jax")
    rng = np.random.default_rng(2)
    W1, X, b1, up = (rng.normal(size=s) for s in [(4, 3), (3, 5), (4, 1), (4, 5)])
    _, pullback = jax.vjp(exported.f, W1, X, b1)
    _, plain = jax.vjp(lambda W1, X, b1: jax.numpy.maximum(W1 @ X + b1, 0.0), W1, X, b1)
    assert_close_to_1e_12(pullback(up), plain(up))


def test_jax_refuses_a_wrt_that_would_make_a_gradient_silently_zero(run_cli):
    with pytest.raises(flatgrad.FlatgradError, match=r"left out of wrt \(y\) as zero"):
        flatgrad.compile(REFERENCE, mode="jax", wrt="x")
    refused = run_cli("compile", REFERENCE, "--export", "jax", "--wrt", "x")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "jax.grad's argnums" in refused.stderr and refused.stdout == ""
    # integer labels have no gradient to leave out: the net's wrt leaves out y alone
    names = flatgrad.compile(TWO_LAYER_NET).inputs
    assert flatgrad.compile(TWO_LAYER_NET, mode="jax",
                            wrt=[n for n in names if n != "y"]).source


def test_jax_gives_a_broadcast_inputs_gradient_in_its_own_shape(jax):
    jnp = jax.numpy
    exported = load(flatgrad.compile(REFERENCE, mode="jax").source, "broadcast_jax")
    numpy_grad = flatgrad.compile(REFERENCE, target="numpy").grad   # one entry per point

    def total(x, y):
        return exported.f(x, y).sum()

    for x, y in [(jnp.array([0.7, 0.2]), 0.3),                          # a float beside
                 (jnp.array([[0.7], [0.2]]), jnp.array([0.3, -0.1]))]:  # both broadcast
        dx, dy = jax.grad(total, (0, 1))(x, y)
        per_point = numpy_grad(np.asarray(x), np.asarray(y))
        assert np.shape(dx) == np.shape(x) and np.shape(dy) == np.shape(y)
        expected_dx = per_point[0].sum(axis=tuple(range(per_point[0].ndim - np.ndim(x))))
        expected_dx = expected_dx.sum(axis=1, keepdims=True) if np.ndim(x) == 2 else expected_dx
        expected_dy = per_point[1].sum(axis=0) if np.ndim(y) else per_point[1].sum()
        assert_close_to_1e_12([dx, dy], [expected_dx, expected_dy])
        assert_close_to_1e_12(jax.jit(jax.grad(total, (0, 1)))(x, y), [dx, dy])


# -- PyTorch ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="the PyTorch export's tests need torch, which "
                                               "flatgrad does not install (pip install torch)")


def tensors(torch, args):
    """float64 tensors that require grad; integer labels stay integer tensors."""
    return tuple(torch.tensor(a) if np.issubdtype(np.asarray(a).dtype, np.integer)
                 else torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in args)


def test_torch_gradcheck_reference(torch):
    exported = load(flatgrad.compile(REFERENCE, mode="torch").source, "reference_torch")
    for x, y in [(3.0, -4.0), (0.5, 2.0)]:
        assert torch.autograd.gradcheck(exported.FFunction.apply, tensors(torch, (x, y)))


def test_torch_gradcheck_two_layer_net(torch):
    exported = load(flatgrad.compile(TWO_LAYER_NET, mode="torch").source, "net_torch")
    args = tensors(torch, net_point(np.random.default_rng(0)))
    assert torch.autograd.gradcheck(exported.FFunction.apply, args)
    compiled = flatgrad.compile(TWO_LAYER_NET)
    value = compiled(*net_point(np.random.default_rng(0)))
    assert abs(float(exported.FFunction.apply(*args).detach()) - value) < 1e-13


def test_torch_gradcheck_conv_layer(torch):
    exported = load(flatgrad.compile(CONV_LAYER, mode="torch").source, "conv_torch")
    args = tensors(torch, conv_point(np.random.default_rng(1)))
    assert torch.autograd.gradcheck(exported.FFunction.apply, args)


def test_torch_honours_needs_input_grad(torch):
    exported = load(flatgrad.compile(REFERENCE, mode="torch").source, "needs_torch")
    x = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(-4.0, dtype=torch.float64)   # no gradient wanted
    exported.FFunction.apply(x, y).backward()
    assert y.grad is None
    assert abs(float(x.grad) - flatgrad.compile(REFERENCE).grad(3.0, -4.0)[0]) < 1e-15


def test_torch_refuses_second_derivatives_instead_of_giving_zeros(torch):
    exported = load(flatgrad.compile(REFERENCE, mode="torch").source, "once_torch")
    args = tensors(torch, (3.0, -4.0))
    with pytest.raises(RuntimeError, match="differentiable once.*--mode hessian"):
        torch.autograd.gradgradcheck(exported.FFunction.apply, args)
    with pytest.raises(RuntimeError, match="FFunction.backward .*differentiable once"):
        torch.autograd.functional.hessian(exported.FFunction.apply, args)
    # a first derivative is unchanged, with or without a graph around it
    (dx,) = torch.autograd.grad(exported.FFunction.apply(*args), args[0])
    assert abs(float(dx) - flatgrad.compile(REFERENCE).grad(3.0, -4.0)[0]) < 1e-15


# -- every row of the gate table --------------------------------------------------------

def _table_cases():
    from oracle import gate_formulas
    from test_one_table import _points
    return [(name, formula, _points(name, 6)) for name, formula in gate_formulas()]


TABLE = _table_cases()


def _scalar_results(formula, points):
    scalar = flatgrad.compile(formula)
    arity = len(scalar.inputs)
    results = [scalar.value_and_grad(*point[:arity]) for point in points]
    columns = [np.array([p[i] for p in points]) for i in range(arity)]
    return (scalar.inputs, columns, np.array([r[0] for r in results]),
            [np.array([r[1][i] for r in results]) for i in range(arity)])


@pytest.mark.parametrize("name, formula, points", TABLE, ids=[f for _, f, _ in TABLE])
def test_every_gate_row_in_jax_agrees_with_the_scalar_code(jax, name, formula, points):
    inputs, columns, value, grads = _scalar_results(formula, points)
    exported = load(flatgrad.compile(formula, mode="jax", shapes={n: (6,) for n in inputs})
                    .source, f"row_{name}_jax")
    got, pullback = jax.vjp(exported.f, *columns)
    np.testing.assert_allclose(got, value, rtol=1e-12, atol=1e-14)
    for mine, want in zip(pullback(np.ones(6)), grads):
        np.testing.assert_allclose(mine, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, formula, points", TABLE, ids=[f for _, f, _ in TABLE])
def test_every_gate_row_in_torch_agrees_with_the_scalar_code(torch, name, formula, points):
    inputs, columns, value, grads = _scalar_results(formula, points)
    exported = load(flatgrad.compile(formula, mode="torch", shapes={n: (6,) for n in inputs})
                    .source, f"row_{name}_torch")
    args = tensors(torch, columns)
    out = exported.FFunction.apply(*args)
    np.testing.assert_allclose(out.detach().numpy(), value, rtol=1e-12, atol=1e-14)
    out.backward(torch.ones(6, dtype=torch.float64))
    for tensor, want in zip(args, grads):
        np.testing.assert_allclose(tensor.grad.numpy(), want, rtol=1e-12, atol=1e-14)


def test_a_variable_named_torch_keeps_its_name(torch):
    exported = load(flatgrad.compile("f = torch * x + sin(x)", mode="torch").source, "named_t")
    args = tensors(torch, (1.3, 0.7))
    assert torch.autograd.gradcheck(exported.FFunction.apply, args)


def test_variables_named_jax_and_jnp_keep_their_names(jax):
    exported = load(flatgrad.compile("f = jnp * x + sqrt(x) * jax", mode="jax").source,
                    "named_j")
    grads = jax.grad(exported.f, (0, 1, 2))(2.0, 3.0, 0.5)
    assert_close_to_1e_12(grads, [3.0, 2.0 + 0.25 / np.sqrt(3.0), np.sqrt(3.0)])


@pytest.mark.parametrize("kind", ["jax", "torch"])
def test_the_true_convolution_exports_with_the_numpy_gradients(kind):
    """convolve2d (kernel flipped) through each export equals the numpy module's
    value and gradients."""
    library = pytest.importorskip(kind, reason=f"{kind} is not installed")
    program, shapes = "Y = convolve2d(X, K); L = sum(Y * Y)", {"X": (5, 6), "K": (2, 3)}
    rng = np.random.default_rng(3)
    X, K = rng.normal(size=(5, 6)), rng.normal(size=(2, 3))
    value, (dX, dK) = flatgrad.compile(program, shapes=shapes).value_and_grad(X, K)
    module = load(flatgrad.compile(program, mode=kind, shapes=shapes).source, "conv_" + kind)
    if kind == "torch":
        X_, K_ = (library.tensor(a, requires_grad=True) for a in (X, K))
        out = module.FFunction.apply(X_, K_)
        out.backward()
        got = float(out.detach()), X_.grad.numpy(), K_.grad.numpy()
    else:
        library.config.update("jax_enable_x64", True)
        out, grads = library.value_and_grad(module.f, argnums=(0, 1))(X, K)
        got = float(out), np.asarray(grads[0]), np.asarray(grads[1])
    assert got[0] == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(got[1], dX, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[2], dK, rtol=1e-12, atol=1e-12)
