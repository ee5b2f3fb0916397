"""Teaching defects found by a teacher trying the handouts: the sigmoid's note, the points
chosen without --at, the hyperparameters of --at random, float noise in means, booklets,
the digits on wires, the worksheet's variant label and the name `dot`."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import flatgrad
from flatgrad import points
from flatgrad.core import gates
from flatgrad.teach import lesson
from flatgrad.teach.nice_points import SMALLEST_LOCAL, nice_points

from teaching_support import NEURON, REFERENCE, run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_sigmoid_note_is_for_students_and_overflow_text_is_for_the_error():
    sigmoid = gates.GATES["sigmoid"]
    assert sigmoid.note == ("sigmoid is grouped as one gate because its local gradient "
                            "(1 - σ)·σ is so simple")
    assert "709" in sigmoid.domain
    with pytest.raises(OverflowError) as raised:
        flatgrad.compile("σ(z)", profile="teach").value_and_grad(-800.0)
    message = str(raised.value)
    assert message.startswith("overflow: the notes' 1.0 / (1 + math.exp(-x)) overflows for x "
                              "below about -709")
    assert "at stage (1) f = 1.0 / (1 + math.exp(-z))" in message
    # and the fast profile is exact there
    value, (dz,) = flatgrad.compile("σ(z)", profile="fast").value_and_grad(-800.0)
    assert value == math.exp(-800.0)


def test_random_scalars_of_an_array_program_are_positive_hyperparameters():
    net = flatgrad.compile(open(EXAMPLES / "two_layer_net.txt", encoding="utf-8").read())
    regs = [points.random_point(net, seed)["reg"] for seed in range(200)]
    assert all(points.HYPERPARAMETER_LOW <= reg <= points.HYPERPARAMETER_HIGH for reg in regs)
    assert len(set(regs)) == 200     # still drawn, different for every seed
    # the defect's own case: seed 0 gave reg = -0.1296
    assert points.random_point(net, 0)["reg"] == pytest.approx(0.2517963, abs=1e-7)
    # the arrays are drawn as before the change (the scalar's draw is mapped, not replaced)
    assert points.random_point(net, 0)["W1"][0, 0] == pytest.approx(0.1257302, abs=1e-7)
    # a scalar formula keeps its standard normal draws, negative ones too
    assert min(points.random_point(flatgrad.compile("x*y"), s)["x"] for s in range(20)) < 0


# -- points chosen without --at ------------------------------------------------------------

TEACHING_FORMULAS = [REFERENCE, NEURON, "σ(w0*x0 + w1*x1 + w2)", "q = x + y; f = q * z",
                     "log(x) * y + σ(x*y)", "tanh(x*y) + exp(-x)", "max(x, y) * z",
                     "relu(x*w + b) * v", "sqrt(x) + 1/y"]


@pytest.mark.parametrize("formula", TEACHING_FORMULAS)
def test_nice_points_give_teachable_local_gradients(formula):
    compiled = flatgrad.compile(formula)
    for seed in range(5):
        chosen = nice_points(compiled, 3, seed)
        assert chosen == nice_points(compiled, 3, seed)          # deterministic by seed
        assert len({tuple(point.values()) for point in chosen}) == 3
        for point in chosen:
            assert all(v != 0 and (2 * v).is_integer() and abs(v) <= 4 for v in point.values())
            taught = lesson.build(compiled.plan, point)
            for row in taught.backward:
                if row.local_value is None:
                    continue
                local = abs(float(row.local_value))
                # a routing gate (max, relu) may stop the gradient: that is its lesson
                routes = _stage(compiled, row).gate.kind == "max"
                assert local >= SMALLEST_LOCAL or (routes and local == 0), (point, row.text)
            for value in [row.value for row in taught.forward + taught.backward]:
                assert value == 0 or 1e-3 <= abs(value) < 1e4


def _stage(compiled, row):
    """The node of the stage a backward row backprops (its forward line's `ref`)."""
    (line,) = [line for line in compiled.plan.lines if line.stage < 0 and line.ref == row.ref]
    return compiled.graph.nodes[line.node]


def test_the_saturated_neuron_of_the_report_is_gone(tmp_path):
    # all three variants had dot near 15, L = 1 and gradients 1e-6 .. 1e-9
    compiled = flatgrad.compile("L = σ(w0*x0 + w1*x1 + w2)")
    chosen = nice_points(compiled, 3, 0)
    for point in chosen:
        value, grads = compiled.value_and_grad(**point)
        assert 0.05 < value < 0.95
        assert all(abs(g) >= 0.04 for g in grads)
    # the staged formula no longer gets x = y (σ(x) = σ(y): which is which?)
    for seed in range(10):
        for point in nice_points(flatgrad.compile(REFERENCE), 3, seed):
            assert abs(point["x"]) != abs(point["y"])


# -- float noise in means --------------------------------------------------------------------

def test_a_mean_that_is_float_noise_prints_as_zero():
    from flatgrad.emit import format_value, mean_of
    from flatgrad.teach.handout import value_text
    # rows of softmax_loss_grad sum to 0: their float mean is noise, such as 6.939e-19
    scores = np.random.default_rng(1).standard_normal((3, 5))
    noisy = scores - scores.mean(axis=0)        # every column sums to 0, as in dscores
    assert 0 < abs(float(np.mean(noisy))) < 1e-17
    assert mean_of(noisy) == 0.0
    assert format_value(noisy) == "[3 x 5], mean 0"
    assert value_text(noisy, digits=3) == "[3 x 5], mean 0"
    assert value_text(np.zeros((4, 4))) == "[4 x 4], mean 0"
    # a small mean of small entries is a number, not noise
    small = np.full((3, 5), 2e-9)
    assert mean_of(small) == pytest.approx(2e-9)
    assert format_value(small) == "[3 x 5], mean 2e-09"


def test_the_two_layer_net_handout_prints_no_noise_means(tmp_path):
    target = tmp_path / "net.md"
    run_cli("handout", "-f", str(EXAMPLES / "two_layer_net.txt"), "--at", "random", "--seed",
            "0", "-o", str(target))
    page = target.read_text()
    means = re.findall(r"mean (-?[0-9.]+(?:e-?\d+)?)", page)
    assert means and all(float(m) == 0 or abs(float(m)) > 1e-6 for m in means)
    row = next(line for line in page.splitlines() if line.startswith("| (6) | `dscores ="))
    assert row.endswith("| [5 x 4], mean 0 |")


# -- significant digits on wires and in tables ------------------------------------------------

def test_significant_digits_keep_their_trailing_zeros_where_a_number_was_rounded():
    from flatgrad.teach.diagram import significant
    from flatgrad.teach.handout import number_text, value_text
    sigma = 1 / (1 + math.exp(4))                     # σ(-4) = 0.0179862...
    assert significant(sigma, 3) == "0.0180"          # was 0.018: two digits, not three
    assert significant(0.99996, 3) == "1.00" and significant(123.4, 3) == "123"
    assert significant(12345.6, 3) == "1.23e+04" and significant(2.0000001, 3) == "2.00"
    # an exact number is written short: fewer digits mean exact
    assert [significant(v, 3) for v in (3.0, -4.0, 0.5, -0.25, -0.0)] == \
        ["3", "-4", "0.5", "-0.25", "0"]
    assert significant(0.1 + 0.2, 6) == "0.3"         # exact to 15 digits
    # the tables follow the same rule at their 6 digits (or --digits)
    assert number_text(sigma) == "0.0179862" and number_text(1 / 3) == "0.333333"
    assert number_text(2.0000001, 3) == value_text(2.0000001, 3) == "2.00"
    assert value_text(np.array([[sigma, 3.0], [0.5, 1 / 3]]), 3) == \
        "[[0.0180, 3], [0.5, 0.333]]"


def test_the_staged_circuit_wire_shows_three_digits_of_sigma_y():
    from flatgrad.teach import handout
    compiled = flatgrad.compile(REFERENCE, profile="teach")
    taught = lesson.build(compiled.plan, {"x": 3.0, "y": -4.0})
    dot = handout.circuit_dot(taught)
    assert "0.0180" in dot and not re.search(r"0\.018(?!0)", dot)
    wired = handout.circuit_dot(taught, digits=2)
    assert "0.018" in wired and "0.0180" not in wired
