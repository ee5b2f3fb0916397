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


# -- list inputs outside plain reverse mode ---------------------------------------

DOT = "f = w[0]*x[0] + w[2]*x[1]"
W, X = [1.0, 2.0, 3.0], [4.0, 5.0]


def test_forward_mode_takes_a_list_direction_per_list_input():
    g = flatgrad.compile(DOT)
    assert g.jvp(W, X, [1, 0, 0], [0, 0]) == (19.0, 4.0)     # df/dw[0] = x[0]
    assert g.jvp(W, X, [0, 1, 0], [0, 0]) == (19.0, 0.0)     # w[1] is not read
    assert g.jvp(W, X, [0.5, 0, -1], [2, 3]) == (19.0, 0.5 * 4 - 5 + 2 * 1 + 3 * 3)
    source = flatgrad.modes.source(g, "forward")
    assert "prod_dot = x[0] * w_dot[0] + w[0] * x_dot[0]" in source
    assert flatgrad.compile(DOT, wrt="x").jvp(W, X, [0, 1]) == (19.0, 3.0)


def test_split_and_layer_cache_the_lists_their_backward_reads():
    split = flatgrad.compile(DOT, mode="split")
    assert "cache = (w, x)" in split.source
    value, pullback = split.vjp(W, X)
    assert value == 19.0 and pullback(2.0) == ([8.0, 0.0, 10.0], [2.0, 6.0])
    value, pullback = flatgrad.compile(DOT).vjp(W, X)
    assert pullback(1.0) == ([4.0, 0.0, 5.0], [1.0, 3.0])
    namespace: dict = {}
    exec(flatgrad.compile(DOT, mode="layer").source, namespace)
    layer = namespace["FLayer"]()
    assert layer.forward(W, X) == 19.0 and layer.backward(-1.0) == ([-4.0, 0.0, -5.0],
                                                                    [-1.0, -3.0])


@pytest.mark.parametrize("args,message", [
    (([1, 2], X), r"w is a list of 3 entries \(w\[0\] … w\[2\]\), got 2 entries"),
    ((3, X), r"w is a list of 3 entries \(w\[0\] … w\[2\]\), got the number 3"),
    (([1, 2, 3, 4, 5], X), r"w is a list of 3 entries \(w\[0\] … w\[2\]\), got 5 entries"),
    (([1, 2, [3]], X), r"w\[2\] should be a number, got a list"),
    (([1, 2, "3"], X), r"w\[2\] should be a number, got a str"),
    ((W, [[1, 2], [3, 4]]), r"x\[0\] should be a number, got a list"),
])
def test_list_values_are_checked_on_every_call(args, message):
    g = flatgrad.compile(DOT)
    for call in (g, g.grad, g.value_and_grad, g.vjp):
        with pytest.raises(FlatgradError, match=message):
            call(*args)


def test_a_longer_list_is_refused_with_the_declaration_that_accepts_it():
    with pytest.raises(FlatgradError) as refused:
        flatgrad.compile(DOT)([1, 2, 3, 4, 5], X)
    assert refused.value.hint.startswith("declare a longer list with --shape w=5")
    value, (dw, dx) = flatgrad.compile(DOT, shapes={"w": (5,)}).value_and_grad(
        [1, 2, 3, 4, 5], X)
    assert (value, dw, dx) == (19.0, [4.0, 0.0, 5.0, 0.0, 0.0], [1.0, 3.0])


@pytest.mark.parametrize("at,message", [
    ("w=[1,2],x=[1,2]", "w is a list of 3 entries (w[0] … w[2]), got 2 entries"),
    ("w=3,x=[1,2]", "w is a list of 3 entries (w[0] … w[2]), got the number 3"),
    ("w=[1,2,3,4,5],x=[1,2]", "w is a list of 3 entries (w[0] … w[2]), got 5 entries"),
])
def test_eval_refuses_a_list_of_the_wrong_length(run_cli, at, message):
    result = run_cli("eval", DOT, "--at", at)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"flatgrad: error: {message}\n")


def test_eval_refuses_a_nested_list_for_a_list_input(run_cli):
    result = run_cli("eval", "f = w[0]*x", "--at", "w=[[1,2],[3,4]],x=2")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "flatgrad: error: w is a list of 1 entry (w[0]), got a [2 x 2] array\n"


def test_eval_prints_list_gradients_as_the_notes(run_cli):
    result = run_cli("eval", NEURON, "--at", "w=[2,-3,-3],x=[-1,-2]")
    assert result.returncode == 0
    assert result.stdout == ("f = 0.731059\ndf/dw = [-0.196612, -0.393224, 0.196612]\n"
                             "df/dx = [0.393224, -0.589836]\n")


def test_a_constant_index_past_the_limit_is_an_error_with_a_caret(run_cli):
    result = run_cli("compile", "f = x*w[100000]")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[:3] == [
        "flatgrad: error: w[100000] is past the largest list index flatgrad takes, 1000 "
        "(at line 1, column 7)",
        "  f = x*w[100000]",
        "        ^^^^^^^^^"]
    (dw,) = flatgrad.compile("f = w[1000]").grad([0.0] * 1001)   # the limit itself compiles
    assert dw == [0.0] * 1000 + [1.0]


@pytest.mark.parametrize("kind", ["torch", "jax"])
def test_an_export_of_lists_advises_whole_arrays_and_the_advice_works(run_cli, kind):
    result = run_cli("compile", DOT, "--export", kind)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"list inputs (w, x) cannot be exported to {kind}" in result.stderr
    assert "declare --shape w=3 and use sum(w * x) or w @ x" in result.stderr
    assert "--mode split" in result.stderr
    advised = run_cli("compile", "f = sum(w * x)", "--shape", "w=3", "--shape", "x=3",
                      "--export", kind)
    assert advised.returncode == 0 and "def " in advised.stdout


def test_a_forward_mode_handout_of_lists_has_a_pass_per_entry(run_cli, tmp_path):
    page = tmp_path / "forward.md"
    result = run_cli("handout", "f = w[0]*x[0] + w[1]*x[1]", "--mode", "forward", "--at",
                     "w=[1,2],x=[3,4]", "-o", str(page))
    assert result.returncode == 0, result.stderr
    text = page.read_text()
    # each pass's result is g.jvp with the unit direction of one entry
    assert ("**pass 1: f_dot = df/dw[0] = 3** · **pass 2: f_dot = df/dw[1] = 4** · "
            "**pass 3: f_dot = df/dx[0] = 1** · **pass 4: f_dot = df/dx[1] = 2**") in text
    assert "| (2) | `prod2 = w[1] * x[1]` | 8 | `prod2_dot = (x[1]) * w_dot[1] + (w[1]) * " \
           "x_dot[1]` | 0 | 4 | 0 | 2 |" in text


def test_hvp_and_hessian_of_lists_match_sympy():
    point = {"w": [2.0, -3.0, -3.0], "x": [-1.0, -2.0]}
    symbols = sp.symbols("w0:3") + sp.symbols("x0:2")
    w, x = symbols[:3], symbols[3:]
    expr = 1 / (1 + sp.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))
    at = dict(zip(symbols, point["w"] + point["x"]))
    hessian = [[float(expr.diff(a, b).subs(at)) for b in symbols] for a in symbols]
    g = flatgrad.compile(NEURON)
    rows = g.hessian(**point)
    assert len(rows) == 5        # one row per entry: w[0], w[1], w[2], x[0], x[1]
    for row, expected in zip(rows, hessian):
        dw, dx = row
        assert dw + dx == pytest.approx(expected, rel=1e-12, abs=1e-15)
    direction = ([0.5, -1.0, 2.0], [1.5, 0.25])
    dw, dx = g.hvp(point["w"], point["x"], *direction)
    flat = direction[0] + direction[1]
    assert dw + dx == pytest.approx([sum(h * v for h, v in zip(row, flat)) for row in hessian],
                                    rel=1e-12)
    bare = flatgrad.compile("f = w[0]**2*x + w[1]*w[0]", wrt="w")
    assert bare.hessian([1.0, 2.0], 3.0) == [[6.0, 1.0], [1.0, 0.0]]
    assert bare.hvp([1.0, 2.0], 3.0, [1.0, 0.0]) == [6.0, 1.0]


def test_the_hvp_module_of_lists_writes_into_the_lists_tangents(run_cli):
    result = run_cli("compile", DOT, "--mode", "hessian")
    assert result.returncode == 0, result.stderr
    assert "    dw_dot = [0.0, 0.0, 0.0]       # (2)\n    dw_dot[2] = dprod2 * x_dot[1]" \
        in result.stdout
    assert "        f_hvp(w, x, [0.0, 0.0, 0.0], [0.0, 1.0]),\n" in result.stdout
    assert "one row per entry of the inputs, in the order w[0], w[1],\n    w[2], x[0], x[1]" \
        in result.stdout
    # a gradient that does not depend on the direction is a list of zeros
    assert flatgrad.compile("f = w[0] + 2*w[1]").hvp([1.0, 2.0], [1.0, 1.0]) == (
        [0.0, 0.0],)


def test_a_lists_annotated_value_is_its_value_at_that_line():
    source = flatgrad.compile("f = w[0]**2 + w[0]*w[2]").source_at(w=[1.0, 2.0, 3.0])
    assert "dw = [0.0, 0.0, 0.0]  # (2) dw becomes [0, 0, 0]" in source
    assert "dw[0] += 2.0 * w[0] * dsqr  # (1) dw[0] becomes 5" in source


def test_a_direction_for_a_list_is_checked():
    with pytest.raises(FlatgradError, match=r"w_dot is a list of 3 entries \(w_dot\[0\] … "
                                            r"w_dot\[2\]\), got 2 entries"):
        flatgrad.compile(DOT).jvp(W, X, [1, 0], [0, 0])
