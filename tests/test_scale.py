"""Large and deep formulas compile without RecursionError, and the flat code runs
with the right values. (Timing is shown by benchmarks/scale.py, not asserted.)"""
from __future__ import annotations

import ast
import math

import pytest

import flatgrad
from flatgrad.core.parse import parse, pretty


def test_a_5000_term_sum():
    n = 5000
    text = " + ".join(f"x{i % 50}*{i + 1}" for i in range(n))
    compiled = flatgrad.compile(text)
    point = [0.01 * (k + 1) for k in range(50)]
    value, grads = compiled.value_and_grad(*point)
    expected = math.fsum((i + 1) * point[i % 50] for i in range(n))
    assert value == pytest.approx(expected, rel=1e-13)
    for k, grad in enumerate(grads):
        assert grad == math.fsum(i + 1 for i in range(k, n, 50))
    # the module stays readable: its header and docstrings quote the formula abbreviated
    header = compiled.source.splitlines()[0]
    assert len(header) < 200 and header.endswith(f"({len(compiled.formula):,} characters)")
    assert compiled.formula not in compiled.source
    assert len(compiled.source) < 400 * n


def test_a_5000_input_sum():
    text = " + ".join(f"x{i}" for i in range(5000))
    compiled = flatgrad.compile(text)
    assert len(compiled.inputs) == 5000
    value, grads = compiled.value_and_grad(*[1.0] * 5000)
    assert value == 5000.0 and grads == (1.0,) * 5000


def test_a_product_of_1000_factors():
    n = 1000
    text = "*".join(f"(1 + x/{i + 1})" for i in range(n)) + " * y"
    compiled = flatgrad.compile(text)
    x, y = 0.001, 2.0
    factors = [1 + x / (i + 1) for i in range(n)]
    product = math.prod(factors)
    value, (dx, dy) = compiled.value_and_grad(x, y)
    assert value == pytest.approx(product * y, rel=1e-13)
    assert dy == pytest.approx(product, rel=1e-13)
    assert dx == pytest.approx(product * y * math.fsum(1 / (i + 1) / f
                                                       for i, f in enumerate(factors)), rel=1e-12)


@pytest.mark.parametrize("gate, derivative", [("sin", math.cos), ("tanh",
                                                                  lambda u: 1 - math.tanh(u) ** 2)])
def test_a_function_nested_2000_deep(gate, derivative):
    depth = 2000
    compiled = flatgrad.compile(f"{gate}(" * depth + "x" + ")" * depth)
    value, grad = 0.7, 1.0
    for _ in range(depth):
        grad *= derivative(value)
        value = getattr(math, gate)(value)
    result, (dx,) = compiled.value_and_grad(0.7)
    assert result == value
    assert dx == pytest.approx(grad, rel=1e-12)


def test_parentheses_nested_far_beyond_pythons_limit():
    depth = 1000  # Python's own parser stops at 200
    text = "(" * depth + "x*y" + ")" * depth + " + " + "(" * depth + "-y" + ")" * depth
    with pytest.raises((SyntaxError, RecursionError, MemoryError)):
        ast.parse(text)
    compiled = flatgrad.compile(text)
    assert compiled.value_and_grad(3.0, 2.0) == (4.0, (2.0, 2.0))
    assert compiled.formula == "x * y + -y"


def test_long_operator_chains():
    assert flatgrad.compile("-" * 3001 + "x").value_and_grad(2.0) == (-2.0, (-1.0,))
    chain = flatgrad.compile("x" + " - x" * 3000)
    assert chain.value_and_grad(1.5) == (1.5 - 3000 * 1.5, (1.0 - 3000,))
    power = flatgrad.compile("x" + "**1" * 3000)  # right-associative, folds to x**1
    assert power.value_and_grad(1.5) == (1.5, (1.0,))


def test_a_program_of_3000_statements():
    n = 3000
    lines = ["s0 = x"] + [f"s{i} = s{i - 1}*0.999 + y" for i in range(1, n)] + [f"s{n - 1}"]
    compiled = flatgrad.compile("\n".join(lines))
    value, (dx, dy) = compiled.value_and_grad(1.0, 0.5)
    s = 1.0
    for _ in range(1, n):
        s = s * 0.999 + 0.5
    assert value == pytest.approx(s, rel=1e-12)
    assert dx == pytest.approx(0.999 ** (n - 1), rel=1e-12)
    assert dy == pytest.approx((1 - 0.999 ** (n - 1)) / 0.001, rel=1e-12)


def test_generated_code_is_flat_whatever_the_depth():
    compiled = flatgrad.compile("sin(" * 3000 + "x" + ")" * 3000)
    tree = ast.parse(compiled.source)  # Python compiles it: one short line per stage
    depth = max(_depth(node) for node in tree.body)
    assert depth < 30


def _depth(node, level=0) -> int:
    todo, deepest = [(node, level)], level
    while todo:
        node, level = todo.pop()
        deepest = max(deepest, level)
        todo.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


def test_pretty_of_a_deep_formula_does_not_recurse():
    text = "sin(" * 5000 + "x" + ")" * 5000
    assert pretty(parse(text)) == text
    assert pretty(parse("(" * 5000 + "x" + ")" * 5000)) == "x"
