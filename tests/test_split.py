"""Split reverse mode (f_forward / f_backward, a vector-Jacobian product) and the
modular layer API, against central differences and the reverse-mode gradient."""
from __future__ import annotations

import ast
import re
import types

import numpy as np
import pytest
from conftest import REFERENCE, TWO_LAYER_NET
from numgrad import jacobian_transposed_times, relative_error

import flatgrad

# (program, shapes): scalar and array outputs, a ReLU layer, broadcasts, reductions
PROGRAMS = [
    (REFERENCE, {}),
    ("D = W @ X", {"W": (3, 4), "X": (4, 5)}),
    ("hidden = relu(W1 @ X + b1)", {"W1": (4, 3), "X": (3, 5), "b1": (4, 1)}),
    ("out = tanh(x) * y + x", {"x": (3,), "y": ()}),
    ("P = softmax(S, axis=0) * exp(c)", {"S": (3, 4), "c": (1, 4)}),
    ("total = sum(W * W, axis=1) + sigmoid(v)", {"W": (2, 3), "v": (2,)}),
    ("Y = conv2d(X, K)", {"X": (5, 6), "K": (2, 3)}),
    ("f = x * y + x", {}),
]


def load(source: str, name: str = "generated") -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, name, "exec"), module.__dict__)
    return module


def point(shapes: dict, inputs, rng) -> dict:
    return {name: rng.normal(size=shapes.get(name, ())) if shapes.get(name)
            else float(rng.normal()) for name in inputs}


@pytest.mark.parametrize("program,shapes", PROGRAMS, ids=[p for p, _ in PROGRAMS])
def test_backward_is_the_jacobian_transposed_times_df(program, shapes):
    split = flatgrad.compile(program, shapes=shapes, mode="split")
    module = load(split.source)
    forward, backward = module.f_forward, module.f_backward
    rng = np.random.default_rng(7)
    for _ in range(3):
        args = point(shapes, split.inputs, rng)
        value, cache = forward(**args)
        df = rng.normal(size=np.shape(value)) if np.shape(value) else float(rng.normal())
        grads = backward(df, cache)
        assert len(grads) == len(split.inputs)
        for name, grad in zip(split.inputs, grads):
            assert np.shape(grad) == np.shape(args[name])
            expected = jacobian_transposed_times(lambda **a: forward(**a)[0], args, name, df)
            assert relative_error(grad, expected) < 1e-6, (name, grad, expected)


@pytest.mark.parametrize("program,shapes", PROGRAMS, ids=[p for p, _ in PROGRAMS])
def test_the_cache_holds_exactly_what_the_backward_reads(program, shapes):
    split = flatgrad.compile(program, shapes=shapes, mode="split")
    tree = ast.parse(split.source)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    backward = functions["f_backward"]
    unpack, *lines = [s for s in backward.body if not isinstance(s, ast.Expr)]
    cached = [name.id for name in ast.walk(unpack.targets[0]) if isinstance(name, ast.Name)] \
        if isinstance(unpack, ast.Assign) and unpack.value.id == "cache" else []
    if not cached:   # nothing to cache: the backward starts with its lines
        lines = [unpack] + lines
    read = {node.id for line in lines for node in ast.walk(line)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    forward_names = {node.name for node in split.graph.nodes if node.kind in ("input", "stage")}
    assert set(cached) == read & forward_names
    assert len(cached) == len(set(cached))
    # and the forward pass packs the very same names
    packed = [s for s in functions["f_forward"].body if isinstance(s, ast.Assign)
              and s.targets[0].id == "cache"][0]
    assert [e.id for e in packed.value.elts] == cached


def test_the_reference_caches_six_stages_and_not_the_square():
    split = flatgrad.compile(REFERENCE, mode="split")
    assert "cache = (sigy, num, sigx, xpy, den, invden)" in split.source
    assert "def f_backward(df, cache):" in split.source


def test_vjp_with_df_one_is_the_gradient_and_scales_with_df():
    g = flatgrad.compile(REFERENCE)
    value, pullback = g.vjp(3.0, -4.0)
    assert value == g(3.0, -4.0)
    assert pullback(1.0) == g.grad(3.0, -4.0)
    assert np.allclose(pullback(-2.5), [-2.5 * d for d in g.grad(3.0, -4.0)], rtol=1e-15)


def test_vjp_of_an_array_output_needs_no_scalar():
    d = flatgrad.compile("D = W @ X", shapes={"W": (3, 4), "X": (4, 5)}, mode="split")
    rng = np.random.default_rng(0)
    W, X, dD = rng.normal(size=(3, 4)), rng.normal(size=(4, 5)), rng.normal(size=(3, 5))
    value, pullback = d.vjp(W, X=X)
    dW, dX = pullback(dD)
    assert np.allclose(value, W @ X) and np.allclose(dW, dD @ X.T) and np.allclose(dX, W.T @ dD)


def test_a_reverse_compile_of_an_array_output_hints_at_split_mode():
    with pytest.raises(flatgrad.FlatgradError) as caught:
        flatgrad.compile("D = W @ X", shapes={"W": (3, 4), "X": (4, 5)})
    assert "--mode split" in str(caught.value)


def test_the_upstream_gradient_is_never_changed_in_place():
    split = flatgrad.compile("f = x + x", shapes={"x": (3,)}, mode="split")
    module = load(split.source)
    df = np.array([1.0, 2.0, 3.0])
    _, cache = module.f_forward(np.zeros(3))
    (dx,) = module.f_backward(df, cache)
    assert np.array_equal(df, [1.0, 2.0, 3.0]) and np.array_equal(dx, [2.0, 4.0, 6.0])


# -- the layer ---------------------------------------------------------------------

FIRST = "W1: HxD\nb1: Hx1\nX: DxN\nhidden = relu(W1 @ X + b1)"
SECOND = "W2: CxH\nb2: Cx1\nhidden: HxN\ny: N\nloss = softmax_loss(W2 @ hidden + b2, y)"


def test_two_layers_chained_by_hand_give_the_compositions_gradients():
    first = load(flatgrad.compile(FIRST, name="affine_relu", mode="layer").source)
    second = load(flatgrad.compile(SECOND, name="affine_softmax", mode="layer").source)
    whole = flatgrad.compile(TWO_LAYER_NET.replace(" + 0.5 * reg * (sum(W1²) + sum(W2²))", ""),
                             wrt="W1,b1,W2,b2,X")
    rng = np.random.default_rng(3)
    H, D, C, N = 5, 4, 3, 6
    W1, b1, X = rng.normal(size=(H, D)), rng.normal(size=(H, 1)), rng.normal(size=(D, N))
    W2, b2, y = rng.normal(size=(C, H)), rng.normal(size=(C, 1)), rng.integers(0, C, N)
    layer1, layer2 = first.AffineReluLayer(), second.AffineSoftmaxLayer()
    hidden = layer1.forward(W1=W1, X=X, b1=b1)
    loss = layer2.forward(W2=W2, hidden=hidden, b2=b2, y=y)
    dW2, dhidden, db2 = layer2.backward(1.0)   # in order of first appearance
    dW1, dX, db1 = layer1.backward(dhidden)
    value, grads = whole.value_and_grad(W1=W1, X=X, b1=b1, W2=W2, b2=b2, y=y)
    assert np.isclose(loss, value, rtol=1e-13)
    for mine, theirs in zip((dW1, db1, dW2, db2, dX), grads):
        assert np.allclose(mine, theirs, rtol=1e-12, atol=1e-14)


def test_the_layer_keeps_on_self_only_what_backward_reads():
    source = flatgrad.compile(REFERENCE, mode="layer").source
    kept = [line.split("=")[0].strip() for line in source.splitlines()
            if line.strip().startswith("self.")]
    assert kept == [f"self.{n}" for n in ("sigy", "num", "sigx", "xpy", "den", "invden")]
    assert "class FLayer:" in source and "def backward(self, df):" in source


# -- the command line --------------------------------------------------------------

@pytest.mark.parametrize("option", [["--mode", "split"], ["--mode", "layer"],
                                    ["--export", "torch"], ["--export", "jax"]])
def test_the_modules_compile_and_lint(tmp_path, run_cli, ruff_check, option):
    for program in (REFERENCE, TWO_LAYER_NET, "hidden = relu(W1 @ X + b1)"):
        shapes = ["--shape", "W1=4x3", "--shape", "X=3x5", "--shape", "b1=4x1"] \
            if program.startswith("hidden") else []
        result = run_cli("compile", "-", *option, *shapes, stdin=program)
        assert result.returncode == 0, result.stderr
        path = tmp_path / "module.py"
        path.write_text(result.stdout)
        compile(result.stdout, str(path), "exec")
        linted = ruff_check(path)
        assert linted.returncode == 0, linted.stdout + result.stdout


def test_the_command_line_refuses_mixing_an_export_with_a_mode(run_cli):
    result = run_cli("compile", REFERENCE, "--export", "jax", "--mode", "split")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--export jax" in result.stderr
    result = run_cli("compile", REFERENCE, "--mode", "split", "--at", "x=3,y=-4")
    assert result.returncode == 2 and "--at" in result.stderr


# -- the README's excerpts are generated code --------------------------------------

RELU_SHAPES = {"W1": "HxD", "X": "DxN", "b1": "Hx1"}
EXCERPTS = {
    "split": lambda: flatgrad.compile("hidden = relu(W1 @ X + b1)", shapes=RELU_SHAPES,
                                      mode="split"),
    "layer": lambda: flatgrad.compile("hidden = relu(W1 @ X + b1)", shapes=RELU_SHAPES,
                                      mode="layer", name="affine_relu"),
    "torch": lambda: flatgrad.compile(TWO_LAYER_NET, mode="torch", name="two_layer"),
    "jax": lambda: flatgrad.compile(REFERENCE, mode="jax"),
}


@pytest.mark.parametrize("kind", EXCERPTS)
def test_the_readme_excerpt_is_the_generated_code_in_order(kind):
    from conftest import ROOT
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    excerpt = readme.split(f"<!-- {kind}-excerpt -->\n```python\n", 1)[1].split("```", 1)[0]
    source = EXCERPTS[kind]().source.splitlines()
    at = 0
    for line in excerpt.splitlines():
        if line.strip() in ("", "..."):
            continue
        at = source.index(line, at) + 1   # ValueError: not generated, or out of order


def test_a_value_named_backward_does_not_hide_the_layers_method():
    layer = load(flatgrad.compile("f = backward * forward", mode="layer").source).FLayer()
    assert layer.forward(3.0, 4.0) == 12.0
    assert layer.backward(2.0) == (8.0, 6.0)


# -- a style's names, factor order and seed ----------------------------------------

STYLED = "(x+σ(y))/(σ(x)+(x+y)²)"


def test_split_with_the_slides_style_has_its_names_and_factor_order_and_no_seed(run_cli):
    result = run_cli("compile", STYLED, "--mode", "split", "--style", "slides")
    assert result.returncode == 0, result.stderr
    source = result.stdout
    assert "def f_backward(grad_f, cache):" in source
    assert "    s0 = sigmoid(y)  # (1)\n" in source                # numbered, called
    assert "    grad_s1 = grad_f * s6  # (8)\n" in source          # upstream first
    assert "    grad_s2 = grad_s5  # (6)\n" in source              # a unit factor dropped
    # the output's gradient is the argument: no grad_f = 1.0 seed overwrites it
    assert "grad_f = 1.0" not in source and "sigy" not in source and "dnum" not in source
    module = load(source)
    value, cache = module.f_forward(0.3, -0.7)
    reference = flatgrad.compile(STYLED)
    assert value == pytest.approx(reference(0.3, -0.7), rel=1e-15)
    gradient = reference.grad(0.3, -0.7)
    assert module.f_backward(2.0, cache) == pytest.approx([2 * g for g in gradient], rel=1e-14)


@pytest.mark.parametrize("mode", ["split", "layer", "torch", "jax"])
def test_the_api_passes_the_style_to_every_split_mode(mode, tmp_path, ruff_check):
    styled = flatgrad.compile(STYLED, mode=mode, style="slides").source
    assert "s0 = " in styled and "grad_s1 = grad_f * s6" in styled
    assert "grad_f = 1.0" not in styled
    plain = flatgrad.compile(STYLED, mode=mode, style="plain").source
    assert "dsigx = 1.0 * dden" in plain and "dx += 1.0 * dnum" in plain   # local first
    path = tmp_path / "module.py"
    path.write_text(styled)
    assert ruff_check(path).returncode == 0, styled


def test_a_styled_vjp_gives_the_gradient_times_df():
    value, pullback = flatgrad.compile(STYLED, mode="split", style="slides").vjp(0.3, -0.7)
    gradient = flatgrad.compile(STYLED).grad(0.3, -0.7)
    assert pullback(3.0) == pytest.approx([3 * g for g in gradient], rel=1e-14)


# -- the shapes of the arguments and of df -------------------------------------------

def test_modular_vjp_checks_its_inputs_shapes_as_compiled_vjp_does():
    modular = flatgrad.compile("D = W @ X", shapes={"W": (3, 4), "X": (4, 5)}, mode="split")
    with pytest.raises(flatgrad.FlatgradError, match=r"^X should be \[4 x 5\], got \[5 x 4\]"):
        modular.vjp(np.ones((3, 4)), np.ones((5, 4)))
    symbolic = flatgrad.compile("D = W @ X", shapes={"W": "MxK", "X": "KxN"}, mode="layer")
    with pytest.raises(flatgrad.FlatgradError, match="K is 4 \\(from W\\)"):
        symbolic.vjp(np.ones((3, 4)), np.ones((5, 2)))


@pytest.mark.parametrize("mode", ["split", "reverse"])
def test_the_pullback_checks_the_shape_of_df(mode):
    compiled = flatgrad.compile("D = W @ X", shapes={"W": (3, 4), "X": (4, 5)}, mode=mode) \
        if mode == "split" else flatgrad.compile("D = sum(W @ X)",
                                                 shapes={"W": (3, 4), "X": (4, 5)})
    W, X = np.arange(12.0).reshape(3, 4), np.ones((4, 5))
    value, pullback = compiled.vjp(W, X)
    wrong = np.ones((5, 3)) if mode == "split" else np.ones(3)
    want = "[3 x 5], the shape of D" if mode == "split" else "a scalar, the shape of D"
    with pytest.raises(flatgrad.FlatgradError, match=re.escape(f"df should be {want}; got ")):
        pullback(wrong)
    dW, dX = pullback(np.ones(np.shape(value)))
    assert np.array_equal(dW, np.ones((3, 5)) @ X.T) and np.array_equal(dX, W.T @ np.ones((3, 5)))


def test_a_scalar_pullback_refuses_an_array_df():
    _, pullback = flatgrad.compile("x * y", mode="split").vjp(2.0, 3.0)
    assert pullback(1.0) == (3.0, 2.0)
    with pytest.raises(flatgrad.FlatgradError, match=r"should be a scalar, the shape of f; "
                                                     r"got \[2\]"):
        pullback(np.ones(2))


# -- the printed statements are cached per program -----------------------------------

def test_each_program_is_printed_once_and_never_quoted_for_another(monkeypatch):
    import flatgrad.emit as emit
    printed = []

    def counting(program):
        printed.append(program.source)
        return pretty(program)

    pretty = emit.pretty_statements
    monkeypatch.setattr(emit, "pretty_statements", counting)
    first = flatgrad.compile("x * y + sin(x)")
    second = flatgrad.compile("exp(a) - a", mode="split")
    assert printed == ["x * y + sin(x)", "exp(a) - a"]   # once each, for every quote
    # interleaved: each module and message quotes its own program
    assert emit.formula(first.plan) == "x * y + sin(x)"
    assert "from: exp(a) - a" in second.source and "from: x * y + sin(x)" in first.source
    assert flatgrad.modes.source(first, "forward").startswith(
        "# Generated by flatgrad") and "x * y + sin(x)" in flatgrad.modes.source(first, "hvp")
    assert printed == ["x * y + sin(x)", "exp(a) - a"]
    assert not hasattr(emit, "_PRINTED")
