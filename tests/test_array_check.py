"""`flatgrad check`, `eval` and `compile --at` on array programs."""
from __future__ import annotations

import numpy as np
import pytest

import flatgrad
from flatgrad import cli
from flatgrad.check import SHOWN, SYMPY_ENTRIES, Report
from flatgrad.check import check as check_gradient
from flatgrad.points import parse_point, random_point

# The CS231n two-layer net at small numeric sizes: 30 differentiated entries, so
# SymPy differentiates every one of them.
SMALL_NET = """\
W1: 3x2
b1: 3x1
W2: 3x3
b2: 3x1
X: 2x4
y: 4
h = relu(W1 @ X + b1)
scores = W2 @ h + b2
loss = softmax_loss(scores, y) + 0.5 * reg * (sum(W1²) + sum(W2²))
"""
SYMBOLIC_NET = SMALL_NET.replace("3x2", "HxD").replace("3x1", "Hx1", 1) \
    .replace("W2: 3x3", "W2: CxH").replace("b2: 3x1", "b2: Cx1").replace("2x4", "DxN") \
    .replace("y: 4", "y: N")
# Too many entries for SymPy: central differences decide.
LARGE_NET = SMALL_NET.replace("W1: 3x2", "W1: 6x5").replace("b1: 3x1", "b1: 6x1") \
    .replace("W2: 3x3", "W2: 4x6").replace("b2: 3x1", "b2: 4x1").replace("X: 2x4", "X: 5x7") \
    .replace("y: 4", "y: 7")
RELU = "sum(relu(W @ x + b))"
RELU_SHAPES = ["--shape", "W=3x4", "--shape", "x=4", "--shape", "b=3"]


def scaled(compiled, factor: float, which: int = 0):
    """`compiled` with the gradient of its `which`-th input multiplied by `factor`."""
    right = compiled.value_and_grad

    def wrong(*args, **kwargs):
        value, grads = right(*args, **kwargs)
        grads = list(grads)
        grads[which] = grads[which] * factor
        return value, tuple(grads)
    compiled.value_and_grad = wrong
    return compiled


def test_the_two_layer_net_passes_at_random_points():
    net = flatgrad.compile(SMALL_NET)
    report = net.check()
    assert isinstance(report, Report) and report.ok
    assert report.worst < 1e-12
    entries = sum(np.size(random_point(net, 0)[name]) for name in net.wrt)
    assert entries == 30 <= SYMPY_ENTRIES
    assert len(report.rows) == 3 * entries                  # every entry at three points
    assert {row.label for row in report.rows} == {"#1", "#2", "#3"}
    assert all(row.symbolic is not None for row in report.rows)
    assert all(abs(row.numeric - row.symbolic) <= 1e-8 * max(1, abs(row.symbolic))
               for row in report.rows)
    assert "#1 is --at random --seed 0" in report.notes
    assert any(note.startswith("symbolic: SymPy's derivative by each of the 30 entries")
               for note in report.notes)


def test_symbolic_sizes_are_bound_to_small_sizes(capsys):
    assert cli.main(["check", SYMBOLIC_NET, "--at", "random"]) == 0
    out = capsys.readouterr().out
    assert "note: sizes H=2, D=3, N=4, C=5" in out
    assert out.splitlines()[-1].startswith("ok: largest relative error")


def test_the_table_stays_readable(capsys):
    assert cli.main(["check", SMALL_NET, "--at", "random"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["point", "entry"]
    assert lines[2].split()[0] == "#1"
    # W1 (6 entries), X (8) and W2 (9) show their worst SHOWN and a summary line;
    # b1, b2 (3 each) and reg every entry
    assert sum(" W1[" in line for line in lines) == SHOWN
    assert any("W2: 6 more" in line and "<= " in line for line in lines)
    assert sum(" b2[" in line for line in lines) == 3
    assert len(lines) < 30


def test_a_wrong_gradient_fails(monkeypatch, capsys):
    net = scaled(flatgrad.compile(SMALL_NET), 1.1)
    report = net.check([random_point(net, 0)])
    assert not report.ok
    assert report.worst == pytest.approx(0.1 / 1.1, rel=1e-6)
    bad = [row for row in report.rows if row.error > 1e-6]
    assert {row.input for row in bad} == {"W1"}
    monkeypatch.setattr(cli, "_compile", lambda args: scaled(flatgrad.compile(SMALL_NET), 1.1))
    assert cli.main(["check", "-", "--at", "random"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        "FAILED: largest relative error 9.09e-02")


def test_central_differences_decide_large_programs():
    net = flatgrad.compile(LARGE_NET)
    report = check_gradient(net, ["random", "random"], seed=4)
    assert report.ok, report.table()
    assert all(row.symbolic is None for row in report.rows)
    assert any("central differences decide" in note for note in report.notes)
    # they are sharp enough to see a gradient wrong by one part in 10^5
    assert not check_gradient(scaled(net, 1 + 1e-5, which=1), ["random"], seed=4).ok


def test_large_inputs_are_checked_on_a_sample():
    compiled = flatgrad.compile(RELU, shapes={"W": (30, 20), "x": 20, "b": 30})
    report = compiled.check()
    assert report.ok
    assert "W: 40 of its 600 entries checked at each point (a seeded sample)" in report.notes
    assert len({row.entry for row in report.rows if row.input == "W"}) > 40


def test_a_gradient_of_the_wrong_shape_fails():
    compiled = flatgrad.compile("sum(W * s)", shapes={"W": (2, 2)})
    right = compiled.value_and_grad

    def broadcast(*args, **kwargs):
        value, (dW, ds) = right(*args, **kwargs)
        return value, (dW[0], ds)
    compiled.value_and_grad = broadcast
    report = compiled.check([{"W": [[1, 2], [3, 4]], "s": 2}])
    assert not report.ok
    assert "at #1 the gradient of W is [2], but W is [2 x 2]" in report.problems


def test_at_a_kink_any_subgradient_passes(capsys):
    assert cli.main(["check", "sum(relu(W @ x))", "--shape", "W=1x2", "--shape", "x=2",
                     "--at", "W=[[1,1]],x=[1,-1]"]) == 0
    out = capsys.readouterr().out
    assert "note: at #1 W[0,0] sits on a kink: any value between the one-sided derivatives " \
        "0 and 1 is a valid subgradient, so 0 passes" in out
    # relu(...)**2 is differentiable there: no kink
    assert cli.main(["check", "sum(relu(W @ x)**2)", "--shape", "W=1x2", "--shape", "x=2",
                     "--at", "W=[[1,1]],x=[1,-1]"]) == 0
    assert "kink" not in capsys.readouterr().out


def test_given_points_from_python_keep_their_types_right():
    compiled = flatgrad.compile("s: 3x2\ny: 2\nsoftmax_loss(s, y)")
    # nested lists, floats as ints and labels as floats are all typed by the program
    report = compiled.check({"s": [[1, 2], [3, 4], [5, 6]], "y": [0.0, 2.0]})
    assert report.ok and [row.name for row in report.rows][:2] == ["s[0,0]", "s[0,1]"]


def test_random_points_are_seeded(capsys):
    outputs = []
    for seed in ("0", "0", "1"):
        assert cli.main(["check", RELU, *RELU_SHAPES, "--at", "random", "--seed", seed]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] != outputs[2]
    assert "#1 is --at random --seed 1" in outputs[2]
    # without --at: random points of seed, seed + 1 ... where the gradient is not all 0
    # (at seed 1 every relu is off)
    compiled = flatgrad.compile(RELU, shapes={"W": (3, 4), "x": 4, "b": 3})
    assert not any(np.any(g) for g in compiled.grad(**random_point(compiled, 1)))
    assert cli.main(["check", RELU, *RELU_SHAPES, "--seed", "1"]) == 0
    assert "note: #1 is --at random --seed 2" in capsys.readouterr().out


def test_eval_prints_arrays_that_match_value_and_grad(capsys):
    at = "W=[[1,2],[3,-4],[0.5,1]],x=[1,−0.25],b=[0.5,-4,0]"
    assert cli.main(["eval", RELU, "--shape", "W=3x2", "--shape", "x=2", "--shape", "b=3",
                     "--at", at]) == 0
    printed = _printed(capsys.readouterr().out)
    compiled = flatgrad.compile(RELU, shapes={"W": (3, 2), "x": 2, "b": 3})
    value, (dW, dx, db) = compiled.value_and_grad(**parse_point(at))
    assert printed["f"] == pytest.approx(value)
    np.testing.assert_allclose(printed["df/dW"], dW, rtol=1e-6)
    np.testing.assert_allclose(printed["df/dx"], dx, rtol=1e-6)
    np.testing.assert_allclose(printed["df/db"], db, rtol=1e-6)


def test_eval_at_random_prints_the_point_too(capsys):
    assert cli.main(["eval", SMALL_NET, "--at", "random", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("random point (--seed 2):\n  W1 = [[")
    printed = _printed(out)
    point = random_point(flatgrad.compile(SMALL_NET), 2)
    np.testing.assert_array_equal(printed["y"], point["y"])
    np.testing.assert_allclose(printed["W1"], point["W1"], atol=1e-6)
    loss, grads = flatgrad.compile(SMALL_NET).value_and_grad(**point)
    assert printed["loss"] == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(printed["dloss/dW2"], grads[3], atol=1e-6)


def test_scalar_formulas_take_random_points_too(capsys):
    assert cli.main(["check", "x*y + sin(x)", "--at", "random", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert cli.main(["check", "x*y + sin(x)", "--at", "random", "--seed", "3"]) == 0
    assert capsys.readouterr().out == first
    point = random_point(flatgrad.compile("x*y + sin(x)"), 3)
    assert first.splitlines()[2].startswith(f"x={point['x']:g},y={point['y']:g}")
    assert cli.main(["eval", "x*y", "--at", "random"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "random point (--seed 0):"


@pytest.mark.parametrize("args, message", [
    (["check", RELU, *RELU_SHAPES, "--at", "W=[[1,2],[3]]"],
     "the rows of W have different shapes: [2] and [1]"),
    (["eval", RELU, *RELU_SHAPES, "--at", "W=[[1,2,3,4]],x=[1,2,3,4],b=[1,2,3]"],
     "W should be [3 x 4], got [1 x 4]."),
    (["compile", RELU, *RELU_SHAPES, "--at", "W=1,x=1,b=1"], "W should be [3 x 4], got scalar"),
    (["check", "sum(log(W))", "--shape", "W=2", "--at", "random"],
     "cannot check at #1: the value or a gradient is not a finite number there"),
    (["check", "s: 3x2\ny: 2\nsoftmax_loss(s, y)", "--at", "s=[[1,2],[3,4],[5,6]],y=[0,3]"],
     "y[1] is 3, but a class label must lie in [0, 3)"),
    (["eval", RELU, *RELU_SHAPES, "--at", "random", "--seed", "x"], "invalid int value"),
])
def test_bad_input_exits_2_without_a_traceback(run_cli, args, message):
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_default_points_avoid_the_domain_edge():
    report = flatgrad.compile("sum(log(W) * V)", shapes={"W": 3, "V": 3}).check()
    assert report.ok
    assert any("every float made positive" in note for note in report.notes)


def _printed(out: str) -> dict:
    """`name = value` blocks of eval's output, read back with the --at reader."""
    values: dict = {}
    name = None
    for line in out.splitlines():
        if " = " in line:
            name, text = line.strip().split(" = ", 1)
            values[name] = text
        elif name is not None and line.startswith(" "):
            values[name] += line.strip()
    return {key: parse_point(f"v={text}")["v"] for key, text in values.items()
            if not key.startswith("random")}
