"""Stage names a student can read: a weighted sum is `dot` (its partial sums s1, s2 ...),
a long concatenated stem gives way to the gate's role, and the user's names always win."""
from __future__ import annotations

import pytest

import flatgrad
from flatgrad.core.graph import MAX_NAME_LENGTH


def forward_names(expr: str, **options) -> list[str]:
    plan = flatgrad.compile(expr, **options)
    return [line.split(" = ")[0].strip() for line in plan.source.split("# forward pass")[1]
            .split("# backward pass")[0].strip().splitlines()]


def test_an_unnamed_neuron_reads_as_the_notes_write_it():
    names = forward_names("σ(w0*x0 + w1*x1 + w2)")
    assert names == ["w0x0", "w1x1", "s1", "dot", "f"]
    value, grads = flatgrad.compile("σ(w0*x0 + w1*x1 + w2)").value_and_grad(2, -1, -3, -2, -3)
    assert round(value, 2) == 0.73 and [round(g, 2) for g in grads] == \
        [-0.2, 0.39, -0.39, -0.59, 0.2]   # the notes' numbers


def test_the_names_the_issue_found_hard_are_gone():
    two_layer = open("examples/two_layer_net.txt", encoding="utf-8").read()
    names = forward_names(two_layer)
    assert "dot" in names and "W1Xpb1" not in names and "cregtotal" not in names
    assert "dot" in forward_names("(x*y + max(z, w)) * u")   # was xypmaxzw
    assert all(len(name) <= MAX_NAME_LENGTH for name in names)


def test_user_names_win_and_the_seeds_names_stay():
    assert forward_names("dot = w0*x0 + w1*x1 + w2; f = σ(dot)") == \
        ["w0x0", "w1x1", "s1", "dot", "f"]
    assert forward_names("s1 = w0*x0 + w1*x1; f = s1 + w2")[-2:] == ["s1", "f"]
    assert forward_names("(x+σ(y))/(σ(x)+(x+y)²)") == \
        ["sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"]
    # a user's own `dot` elsewhere: flatgrad's weighted sum takes the next free name
    names = forward_names("dot = a*b; f = dot * (c*d + e)")
    assert names.count("dot") == 1 and len(set(names)) == len(names)


def test_names_are_deterministic():
    runs = {tuple(forward_names("a*b + c*d + e*f + g")) for _ in range(3)}
    assert len(runs) == 1


def test_dot_names_only_sums_of_products_of_inputs():
    # a difference is no weighted sum: a*b - c was named dot
    assert forward_names("a*b - c") == ["ab", "f"]
    assert forward_names("x - y*z") == ["yz", "f"]
    # a product of stages is no weight times an input
    assert "dot" not in forward_names("(a + b)*c + d + e")
    # the sum inside a difference still is one
    assert forward_names("a*b + c*d - e") == ["ab", "cd", "dot", "f"]
    assert forward_names("σ(a*b + c)") == ["ab", "dot", "f"]


def test_an_input_named_math_leaves_the_constants_on_the_module():
    # math.pi and σ(3) written out must read the module, renamed math2, not the input
    import math
    text = "e*exp + math - pi + σ(3)*math*exp"
    s = 1 / (1 + math.exp(-3))
    expected = (math.e + 2.0 - math.pi + 2.0 * s, (math.e + 2.0 * s, 1.0 + s))
    for profile in ("fast", "teach", "lean"):
        g = flatgrad.compile(text, profile=profile)
        assert "import math as math2" in g.source and "math2.pi" in g.source
        value, grads = g.value_and_grad(1.0, 2.0)
        assert value == pytest.approx(expected[0]) and grads == pytest.approx(expected[1])
    assert flatgrad.compile(text, mode="hvp").hvp(1.0, 2.0, 1.0, 0.0) == \
        pytest.approx((0.0, s))
