"""List inputs (`w[0]`, as the notes write the neuron) and one line per statement."""
import math

import pytest
import sympy as sp

import flatgrad
from flatgrad import FlatgradError

NEURON = "dot = w[0]*x[0] + w[1]*x[1] + w[2]; f = 1.0 / (1 + math.exp(-dot))"


def sympy_gradient(formula_of, lists, point):
    """The gradient by SymPy, a list per list input, at `point`."""
    symbols = {name: sp.symbols(f"{name}0:{size}", real=True) for name, size in lists.items()}
    expr = formula_of(symbols)
    subs = {s: value for name, size in lists.items()
            for s, value in zip(symbols[name], point[name])}
    return [[float(expr.diff(s).subs(subs)) for s in symbols[name]] for name in lists]


def test_the_neuron_over_lists_matches_sympy():
    g = flatgrad.compile(NEURON)
    assert g.inputs == ("w", "x") and "def f_and_grad(w, x):" in g.source
    point = {"w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0]}
    value, (dw, dx) = g.value_and_grad(**point)

    def neuron(s):
        w, x = s["w"], s["x"]
        return 1 / (1 + sp.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
    expected = sympy_gradient(neuron, {"w": 3, "x": 2}, point)
    assert isinstance(dw, list) and isinstance(dx, list)
    assert dw == pytest.approx(expected[0], rel=1e-14)
    assert dx == pytest.approx(expected[1], rel=1e-14)
    assert value == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-15)


def test_an_entry_used_twice_adds_into_its_list():
    # w[0] forks: its list is made first, and each line assigns or adds into it
    g = flatgrad.compile("f = w[0]**2 + w[0]*w[2]", profile="teach")
    assert "dw = [0.0, 0.0, 0.0]" in g.source and "dw[0] += (2 * w[0]) * dsqr" in g.source
    value, (dw,) = g.value_and_grad([1.5, 4.0, -2.0])
    assert value == 1.5**2 + 1.5 * -2.0
    assert dw == [2 * 1.5 - 2.0, 0.0, 1.5]   # w[1] is not used: its gradient is 0.0
    assert flatgrad.compile("f = w[0]**2 + w[0]*w[2]").check().ok


def test_a_declared_length_and_the_gradient_check():
    g = flatgrad.compile(NEURON, shapes={"w": (4,)})
    value, (dw, dx) = g.value_and_grad([2, -3, -3, 7], [-1, -2])
    assert len(dw) == 4 and dw[3] == 0.0
    report = g.check()
    assert report.ok, report.table()
    assert {row.entry for row in report.rows if row.input == "w"} == {(0,), (1,), (2,), (3,)}


def test_wrt_a_list():
    g = flatgrad.compile(NEURON, wrt="x")
    assert g.grad([2, -3, -3], [-1, -2]) == pytest.approx([0.3932238664829637,
                                                           -0.5898357997244456])
    assert "dw" not in g.source


@pytest.mark.parametrize("formula,shapes,message", [
    ("w = 2; f = w[0]", None, "only inputs take a subscript, and w is a stage"),
    ("f = w*w[0]", None, "w is used both as a list and as a number"),
    ("f = w[0]*w", None, "w is a list here: use its entries"),
    ("f = w[a]", None, "subscripts are allowed only as a name's constant index"),
    ("f = w[2]", {"w": (2,)}, "w is a list of at least 3 entries (w[2] is used), but is "
                              "declared [2]"),
])
def test_bad_subscripts_are_clear_errors(formula, shapes, message):
    with pytest.raises(FlatgradError, match=message.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")):
        flatgrad.compile(formula, shapes=shapes)


def test_lists_compile_to_the_python_target_only():
    with pytest.raises(FlatgradError, match="list inputs \\(w, x\\) compile to the python"):
        flatgrad.compile(NEURON, target="numpy")


# -- one line per statement (the plain style) ---------------------------------------

def test_plain_style_writes_the_neuron_as_the_notes():
    source = flatgrad.compile(NEURON, style="plain").source
    assert "    dot = w[0] * x[0] + w[1] * x[1] + w[2]  # (1)" in source
    assert "    dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]  # (1)" in source
    assert "    dx = [w[0] * ddot, w[1] * ddot]              # (1)" in source


@pytest.mark.parametrize("formula", [
    NEURON,
    "a = x*y - 2*z; b = (a + x) * y; f = a * b",
    "a = σ(x*y) + z; f = a * x",          # the sigmoid's gradient reads its inner output
    "a = x*y + x; f = a / y",             # x is read twice inside a
])
def test_one_line_per_statement_keeps_every_number(formula):
    staged = flatgrad.compile(formula, profile="teach")
    fused = flatgrad.compile(formula, style="plain")
    args = [[0.5, -1.25, 2.0], [1.5, -0.75]] if "w[" in formula else [0.7, -1.3, 0.4][
        :len(staged.inputs)]
    value, grads = fused.value_and_grad(*args)
    expected_value, expected = staged.value_and_grad(*args)
    assert value == pytest.approx(expected_value, rel=1e-14)
    assert grads == pytest.approx(expected, rel=1e-13)
    assert fused.check().ok


def test_a_statement_whose_gradient_reads_an_inner_value_stays_staged():
    fused = flatgrad.compile("a = σ(x*y) + z; f = a * x", style="plain").source
    forward = fused.split("# forward pass")[1].split("# backward pass")[0]
    assert "a = " in forward and "# (4)" in forward      # all four gates, staged
    simple = flatgrad.compile("a = x*y - 2*z; f = a * x", style="plain").source
    forward = simple.split("# forward pass")[1].split("# backward pass")[0]
    assert "a = x * y - 2 * z  # (1)" in forward and "(3)" not in forward
    assert "dx += y * da    # (1)" in simple and "dz = -2.0 * da  # (1)" in simple
