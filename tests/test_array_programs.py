"""Random programs over arrays of different shapes, built from a small grammar (elementwise
gates with broadcasting, sum/mean/logsumexp whole and along an axis, transposes, matmul, softmax),
checked against central differences and run in float32. They exercise what no single-gate
test does: gradients kept in broadcast form, `+=` at forks, reductions of reductions."""
from __future__ import annotations

import random

import numpy as np
import pytest
from numgrad import numeric_gradient

import flatgrad

SHAPES = {"A": (2, 3), "B": (3,), "C": (2, 1), "D": (3, 2), "s": ()}


def _expression(depth: int, rnd: random.Random) -> tuple[str, tuple]:
    """Formula text and its shape."""
    if depth == 0 or rnd.random() < 0.25:
        name = rnd.choice(sorted(SHAPES))
        return name, SHAPES[name]
    kind = rnd.choice(["binary", "unary", "sum", "mean", "sum_axis", "mean_axis",
                       "logsumexp_axis", "T", "matmul", "softmax"])
    a, shape = _expression(depth - 1, rnd)
    if kind == "binary":
        b, other = _expression(depth - 1, rnd)
        try:
            joint = np.broadcast_shapes(shape, other)
        except ValueError:
            return a, shape
        return f"({a} {rnd.choice('+-*')} {b})", joint
    if kind == "unary":
        return f"{rnd.choice(['tanh', 'sigmoid', 'exp', 'sin', 'relu'])}({a})", shape
    if kind in ("sum", "mean") and shape:
        return f"{kind}({a})", ()
    if kind.endswith("_axis") and shape:
        axis = rnd.randrange(len(shape))
        return f"{kind[:-5]}({a}, axis={axis})", shape[:axis] + shape[axis + 1:]
    if kind == "T" and len(shape) == 2:
        return f"{a}.T", shape[::-1]
    if kind == "softmax" and shape:
        return f"softmax({a}, 0)", shape
    if kind == "matmul" and shape:
        fits = [n for n, s in sorted(SHAPES.items()) if s and s[0] == shape[-1]]
        if fits:
            name = rnd.choice(fits)
            return f"({a} @ {name})", shape[:-1] + SHAPES[name][1:]
    return a, shape


def _program(seed: int) -> str:
    rnd = random.Random(seed)
    first, shape = _expression(4, rnd)
    second, other = _expression(4, rnd)
    first = f"sum(tanh({first}))" if shape else f"tanh({first})"
    second = f"mean({second} * {second})" if other else f"{second} * {second}"
    return f"{first} + {second}"


@pytest.mark.parametrize("seed", range(300))
def test_random_program(seed):
    program = _program(seed)
    try:
        compiled = flatgrad.compile(program, shapes={k: v for k, v in SHAPES.items() if v},
                                    inputs=tuple(SHAPES))
    except flatgrad.FlatgradError as err:
        assert "scalars only" in str(err)  # sum or mean of scalar inputs alone
        return
    rng = np.random.default_rng(seed)
    args = {n: rng.uniform(-1, 1, size=SHAPES[n]) if SHAPES[n] else 0.3 for n in compiled.inputs}
    value, grads = compiled.value_and_grad(**args)
    for name, grad in zip(compiled.wrt, grads):
        numeric = numeric_gradient(compiled, args, name)
        assert np.shape(grad) == SHAPES[name]
        # relative to the gradient's scale, or absolute (1e-8: the roundoff of central
        # differences of a function of size 10) where the gradient is 0
        scale = max(np.max(np.abs(grad)) + np.max(np.abs(numeric)), 1e-2)
        assert np.max(np.abs(grad - numeric)) / scale < 1e-6, (program, name)
    single = {k: v.astype(np.float32) if isinstance(v, np.ndarray) else v
              for k, v in args.items()}
    value32, grads32 = compiled.value_and_grad(**single)
    assert np.isclose(value32, value, rtol=1e-4)
    used = {compiled.graph.nodes[a].name for node in compiled.graph.stages for a in node.args
            if compiled.graph.nodes[a].kind == "input"}
    if any(SHAPES[name] for name in used):
        assert np.asarray(value32).dtype == np.float32, program
    for name, grad in zip(compiled.wrt, grads32):
        if SHAPES[name]:
            assert grad.dtype == np.float32 and grad.shape == SHAPES[name], (program, name)
