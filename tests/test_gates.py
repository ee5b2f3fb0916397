"""Every gate against SymPy's derivative and central differences; random compositions too."""
import random

import pytest

import flatgrad
from flatgrad.core import gates
from oracle import DOMAIN, SYMPY, central_differences, close, symbolic_gradient


def test_every_callable_gate_has_an_oracle():
    assert set(gates.ON_SCALARS) == set(SYMPY)


def sample(gate_name, arity, rng):
    ranges = DOMAIN.get(gate_name, [(-2.5, 2.5)] * arity)
    return [round(rng.uniform(*ranges[min(i, len(ranges) - 1)]), 3) for i in range(arity)]


@pytest.mark.parametrize("gate_name", gates.ON_SCALARS)
@pytest.mark.parametrize("profile", ["fast", "teach"])
def test_gate_gradient_matches_sympy_and_differences(gate_name, profile):
    arity = gates.GATES[gate_name].arity
    names = ["x", "y"][:arity]
    text = f"{gate_name}({', '.join(names)})"
    g = flatgrad.compile(text, profile=profile)
    rng = random.Random(gate_name)
    for _ in range(5):
        args = sample(gate_name, arity, rng)
        if gate_name in ("max", "min") and abs(args[0] - args[1]) < 1e-3:
            continue
        value, grads = g.value_and_grad(*args)
        want_value, want_grads = symbolic_gradient(text, names, dict(zip(names, args)))
        assert close(value, want_value), (args, value, want_value)
        numeric = central_differences(g, args)
        for got, want, num in zip(grads, want_grads, numeric):
            assert close(got, want), (text, args, got, want)
            assert close(got, num, rel=1e-5, abs_=1e-7), (text, args, got, num)


@pytest.mark.parametrize("text", ["x + y", "x - y", "x * y", "x / y", "-x", "x**2", "x**3",
                                  "x**4", "x**-2", "x**0.5", "x**2.5", "x**y", "2**x", "3 / x",
                                  "x / 4", "1 / x", "x + 2", "2 * x", "√x", "x²", "x⁻¹"])
def test_operator_gates(text):
    names = [n for n in ("x", "y") if n in text]
    g = flatgrad.compile(text)
    args = [1.7, 0.6][:len(names)]
    value, grads = g.value_and_grad(*args)
    want_value, want_grads = symbolic_gradient(
        text.replace("√x", "sqrt(x)").replace("x²", "x**2").replace("x⁻¹", "x**-1"),
        names, dict(zip(names, args)))
    assert close(value, want_value)
    assert all(close(a, b) for a, b in zip(grads, want_grads))


def random_formula(rng, depth):
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(["x", "y", "z", "x", "y", str(round(rng.uniform(0.5, 2.0), 2))])
    choice = rng.random()
    if choice < 0.45:
        op = rng.choice(["+", "-", "*", "/"])
        return f"({random_formula(rng, depth - 1)} {op} {random_formula(rng, depth - 1)})"
    # smooth gates that accept any real argument keep the composition in its domain
    gate = rng.choice(["sigmoid", "tanh", "sin", "cos", "atan", "softplus", "sinh", "erf",
                       "asinh", "exp"])
    inner = random_formula(rng, depth - 1)
    if gate in ("exp", "sinh"):
        inner = f"tanh({inner})"
    return f"{gate}({inner})"


def test_random_compositions_against_sympy_and_differences():
    rng = random.Random(2024)
    checked = 0
    while checked < 300:
        text = random_formula(rng, 4)
        names = [n for n in ("x", "y", "z") if n in text]
        if not names:
            continue
        point = {n: round(rng.uniform(-1.5, 1.5), 3) for n in names}
        try:
            want_value, want_grads = symbolic_gradient(text, names, point)
        except (ZeroDivisionError, TypeError, ValueError):
            continue
        if not all(map(lambda v: abs(v) < 1e6, [want_value, *want_grads])):
            continue  # near a pole: nothing to compare to six digits
        g = flatgrad.compile(text, inputs=names)
        value, grads = g.value_and_grad(**point)
        assert close(value, want_value, rel=1e-9, abs_=1e-9), text
        for got, want in zip(grads, want_grads):
            assert close(got, want, rel=1e-7, abs_=1e-9), (text, point, got, want)
        numeric = central_differences(g, [point[n] for n in names])
        for got, num in zip(grads, numeric):
            assert close(got, num, rel=1e-4, abs_=1e-6), (text, point, got, num)
        checked += 1


def test_fast_and_teach_compute_identical_numbers():
    rng = random.Random(7)
    for _ in range(100):
        text = random_formula(rng, 4)
        names = [n for n in ("x", "y", "z") if n in text] or ["x"]
        point = [rng.uniform(-1, 1) for _ in names]
        fast = flatgrad.compile(text, inputs=names, profile="fast")
        teach = flatgrad.compile(text, inputs=names, profile="teach")
        try:
            expected = teach.value_and_grad(*point)
        except (ZeroDivisionError, ValueError, OverflowError):
            continue
        assert fast.value_and_grad(*point) == expected


def test_kinks_and_ties_follow_the_documented_subgradients():
    assert flatgrad.compile("max(x, y)").grad(1.0, 1.0) == (1.0, 0.0)   # a tie routes to the first
    assert flatgrad.compile("min(x, y)").grad(1.0, 1.0) == (1.0, 0.0)
    assert flatgrad.compile("relu(x)").grad(0.0) == (0.0,)
    assert flatgrad.compile("abs(x)").grad(0.0) == (0.0,)
    assert flatgrad.compile("abs(x)").grad(-3.0) == (-1.0,)
    assert flatgrad.compile("max(x, y, z)").value_and_grad(1, 5, 2) == (5, (0.0, 1.0, 0.0))


def test_constants_get_no_gradient_lines():
    g = flatgrad.compile("2*x + 3")
    assert g.value_and_grad(x=1.5) == (6.0, (2.0,))
    assert g.source.count("# backprop") == 2
    assert "d2" not in g.source and "d3" not in g.source


def test_pi_and_e_are_constants_unless_declared():
    assert flatgrad.compile("e*x").inputs == ("x",)
    assert flatgrad.compile("e*x")(2.0) == pytest.approx(2 * 2.718281828459045)
    g = flatgrad.compile("e*x + pi", inputs=("e", "x", "pi"))
    assert g.value_and_grad(2.0, 3.0, 1.0) == (7.0, (3.0, 2.0, 1.0))
    assert flatgrad.compile("gamma * sigma + I").inputs == ("gamma", "sigma", "I")
