"""Teaching outputs of array programs: the lesson's numbers are the compiled
gradient's, every table has its shapes, each matmul gradient its dimension
analysis, the circuit its shapes and small values on the wires, a worksheet
holds every backward line once and gives none away, and no input makes the
commands print a traceback."""
from __future__ import annotations

import ast
import html
import re
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

import flatgrad
from flatgrad.api import build_plan
from flatgrad.core.plan import namespace
from flatgrad.core.shapes import describe
from flatgrad.emit import mean_of
from flatgrad.teach import diagram, handout, lesson, worksheet
from flatgrad.teach.typeset import LATEX, MATHML, TEXT, program_trees, typeset
from teaching_support import CHROMIUM, assert_well_formed, chromium, dot_wires, run_cli
from teaching_support import layout as probe_layout

needs_graphviz = pytest.mark.skipif(not diagram.available(),
                                    reason="Graphviz's `dot` is not installed "
                                           "(apt-get install graphviz)")

SMALL = "sum(relu(W @ x + b))"
SMALL_SHAPES = {"W": (3, 4), "x": 4, "b": 3}
SMALL_ARGS = ("--shape", "W=3x4", "--shape", "x=4", "--shape", "b=3")
# relu passes two of the three entries and stops one
SMALL_POINT = {"W": np.array([[1.0, -2, 0.5, 3], [0.2, 0.1, -1, 2], [-1, 1, 1, -0.5]]),
               "x": np.array([1.0, 2, -1, 0.5]), "b": np.array([0.5, -1, 2])}
SMALL_AT = "W=[[1,-2,0.5,3],[0.2,0.1,-1,2],[-1,1,1,-0.5]],x=[1,2,-1,0.5],b=[0.5,-1,2]"

BODY = """hidden = relu(W1 @ X + b1)
scores = W2 @ hidden + b2
loss = softmax_loss(scores, y) + 0.5 * reg * (sum(W1²) + sum(W2²))
"""
# The README's two-layer net with H=4, D=3, C=3, N=5, and with symbolic sizes.
NET = "W1: 4x3\nb1: 4x1\nW2: 3x4\nb2: 3x1\nX: 3x5\ny: 5\n" + BODY
NET_SYMBOLIC = "W1: HxD\nb1: Hx1\nW2: CxH\nb2: Cx1\nX: DxN\ny: N\n" + BODY


def net_point(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=(4, 1)),
            "W2": rng.normal(size=(3, 4)), "b2": rng.normal(size=(3, 1)),
            "X": rng.normal(size=(3, 5)), "y": np.array([0, 1, 2, 1, 0]), "reg": 0.1}


PROGRAMS = {"small": (SMALL, SMALL_SHAPES, lambda: dict(SMALL_POINT)),
            "net": (NET, None, net_point)}


def taught(name: str, **options) -> lesson.Lesson:
    expr, shapes, point = PROGRAMS[name]
    return lesson.build(build_plan(expr, shapes=shapes, profile="teach", **options), point())


def small_oracle() -> dict:
    """The small program's stages and gradients by hand, in numpy."""
    W, x, b = SMALL_POINT["W"], SMALL_POINT["x"], SMALL_POINT["b"]
    Wx = W @ x
    Wxpb = Wx + b
    mask = (Wxpb > 0).astype(float)
    return {"Wx": Wx, "dot": Wxpb, "reludot": np.maximum(Wxpb, 0), "f": np.maximum(Wxpb, 0).sum(),
            "dW": np.outer(mask, x), "dx": W.T @ mask, "db": mask}


# -- the lesson --------------------------------------------------------------------

@pytest.mark.parametrize("name", PROGRAMS)
def test_the_lessons_numbers_are_the_compiled_gradient(name):
    expr, shapes, point = PROGRAMS[name]
    value, grads = flatgrad.compile(expr, shapes=shapes).value_and_grad(**point())
    taught_ = taught(name)
    assert taught_.arrays
    assert taught_.output[1] == pytest.approx(value, rel=1e-12)
    assert [name for name, _, _ in taught_.gradients] == list(taught_.plan.wrt)
    for (_, _, shown), grad in zip(taught_.gradients, grads):
        assert np.shape(shown) == np.shape(grad)
        np.testing.assert_allclose(shown, grad, rtol=1e-12, atol=1e-15)


def test_the_small_lesson_matches_numpy_by_hand():
    taught_ = taught("small")
    oracle = small_oracle()
    for row in taught_.forward:
        np.testing.assert_allclose(row.value, oracle[row.name], rtol=1e-15)
    for name, grad, value in taught_.gradients:
        np.testing.assert_allclose(value, oracle[grad], rtol=1e-15)


def test_every_row_knows_its_shape():
    taught_ = taught("net")
    plan = taught_.plan
    assert {row.name: row.shape for row in taught_.forward} == {
        "W1X": (4, 5), "dot": (4, 5), "hidden": (4, 5), "W2hidden": (3, 5), "scores": (3, 5),
        "celoss": (), "creg": (), "sumsqW1": (), "sumsqW2": (), "total": (), "prod": (),
        "loss": ()}
    by_text = {row.text: row for row in taught_.backward}
    db1 = by_text["db1 = np.sum((1) * ddot, axis=1, keepdims=True)"]
    assert db1.shape == db1.full_shape == (4, 1)
    assert db1.why == ("b1 is [4 x 1] but was broadcast to [4 x 5] in (2): sum its gradient "
                       "over axis 1")
    for row, line in zip(taught_.backward, plan.backward_lines):
        assert row.shape == plan.shape(line) and np.shape(row.value) == np.shape(line.value)
        # a VJP row is a gate over whole arrays: it has no local value of its own
        assert row.vjp == (not plan.graph.nodes[line.stage].gate.elementwise)
        if row.vjp:
            assert row.local_value is None and "{up}" not in row.local
    # a gradient kept in broadcast form: the sum's gradient is a scalar spread over [3]
    (spread,) = [row for row in taught("small").backward if row.target == "dreludot"]
    assert spread.shape == () and spread.full_shape == (3,) and spread.local == "df"


def dimension_notes(taught_: lesson.Lesson) -> dict[str, str]:
    return {row.target: row.dimensions for row in taught_.backward if row.dimensions}


def test_each_matmul_gradient_says_its_dimension_analysis():
    notes = dimension_notes(taught("net"))
    assert notes == {
        "dW2": "dW2 must be [3 x 4] like W2, so from dW2hidden [3 x 5] and hidden [4 x 5] it "
               "is dW2hidden @ hidden.T",
        "dhidden": "dhidden must be [4 x 5] like hidden, so from W2 [3 x 4] and dW2hidden "
                   "[3 x 5] it is W2.T @ dW2hidden",
        "dW1": "dW1 must be [4 x 3] like W1, so from dW1X [4 x 5] and X [3 x 5] it is "
               "dW1X @ X.T",
        "dX": "dX must be [3 x 5] like X, so from W1 [4 x 3] and dW1X [4 x 5] it is "
              "W1.T @ dW1X"}
    # in the sizes the program declares: the CS231n notes' dW = dD @ X.T
    symbolic = lesson.build(build_plan(NET_SYMBOLIC, profile="teach"), net_point())
    assert dimension_notes(symbolic)["dW1"] == \
        "dW1 must be [H x D] like W1, so from dW1X [H x N] and X [D x N] it is dW1X @ X.T"
    # a matrix times a vector: the outer product
    assert dimension_notes(taught("small")) == {
        "dW": "dW must be [3 x 4] like W, so from dWx [3] and x [4] it is np.outer(dWx, x)",
        "dx": "dx must be [4] like x, so from W [3 x 4] and dWx [3] it is W.T @ dWx"}


# -- typesetting ----------------------------------------------------------------------

def test_matmul_and_transpose_are_typeset():
    assert typeset("dD @ X.T", TEXT) == "dD @ Xᵀ"
    assert typeset("dD @ X.T", LATEX) == r"\mathit{dD} \, X^{\top}"
    assert typeset("dD @ X.T", MATHML) == (
        '<math display="inline"><mrow><mi>dD</mi><mo lspace="0.1em" rspace="0.1em">\u2062</mo>'
        '<msup><mi>X</mi><mi mathvariant="normal">T</mi></msup></mrow></math>')
    # a transposed sum keeps its parentheses; a product of products groups left
    assert typeset("(W @ x + b).T", TEXT) == "(W @ x + b)ᵀ"
    assert typeset("a @ (b @ c)", TEXT) == "a @ (b @ c)"
    assert typeset("np.sum(g, axis=1)", TEXT) == "sum(g, axis = 1)"
    assert typeset("dmean / X.size", LATEX) == r"\frac{\mathit{dmean}}{\mathit{X.size}}"


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_typeset_program_is_the_compiled_program(name):
    # the trees a handout typesets, run with numpy, give the compiled function's value
    expr, shapes, point = PROGRAMS[name]
    compiled = flatgrad.compile(expr, shapes=shapes)
    helpers = namespace(compiled.graph, compiled.plan.spelling)
    env = {"math": SimpleNamespace(pow=np.power), "sum": np.sum,
           "relu": lambda z: np.maximum(z, 0.0), "softmax_loss": helpers["softmax_loss"],
           **point()}
    for target, tree in program_trees(compiled.graph.program):
        value = eval(ast.unparse(tree), env)  # flatgrad's own rebuilt formula
        if target:
            env[target] = value
    assert value == pytest.approx(compiled(**point()), rel=1e-12)


# -- the handout -----------------------------------------------------------------------

def matrices(page: str) -> list[list[float]]:
    """The entries of every small matrix on an HTML page, in order."""
    return [[float(entry) for entry in re.findall(r"<span>(.*?)</span>", inner)]
            for inner in re.findall(r'<span class="matrix"[^>]*>((?:<span>[^<]*</span>)*)</span>',
                                    page)]


def test_the_html_handout_has_shapes_values_and_notes():
    taught_ = taught("net")
    page = handout.render(taught_, "html")
    assert_well_formed(page)
    assert '<body class="arrays">' in page
    assert page.count("<th>shape</th>") == 2
    shapes = [shape.replace("\u00a0", " ")
              for shape in re.findall(r'<td class="shape">(.*?)</td>', page)]
    assert shapes[:12] == [describe(row.shape) for row in taught_.forward]
    assert shapes[12:] == [describe(row.shape) for row in taught_.backward]
    for row in taught_.backward:
        for note in (row.why, row.dimensions):
            if note:
                assert f'<span class="reason note">{html.escape(note)}</span>' in page
    table = page.split('<section id="backward"')[1].split("</section>")[0]
    assert table.count("must be") == 4 and table.count("sum its gradient over axis 1") == 2
    # a VJP is typeset with its upstream gradient: dW1X Xᵀ
    assert ('<span class="name">VJP</span> <math display="inline"><mrow><mi>dW1X</mi>'
            '<mo lspace="0.1em" rspace="0.1em">\u2062</mo><msup><mi>X</mi>') in page
    # the gradients of at most 12 entries are shown whole, to 4 digits
    results = page.split('<p class="results">')[-1].split("</p>")[0]
    shown = matrices(results)
    small = [value for _, _, value in taught_.gradients if 1 < np.size(value) <= 12]
    assert len(shown) == len(small) == 4
    for entries, value in zip(shown, small):
        np.testing.assert_allclose(entries, np.ravel(value), rtol=1e-3, atol=1e-12)
    (dX,) = [value for name, _, value in taught_.gradients if name == "X"]
    assert f"dloss/dX = <span class=\"whole\">[3 x 5],</span> <span class=\"whole\">" \
           f"mean {np.mean(dX):.4g}</span>" in results
    assert "Runnable Python with numpy" in page


def markdown_rows(markdown: str, heading: str) -> list[list[str]]:
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| (")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def read_shown(text: str):
    """A value as the Markdown handout prints it: a number, a nested list, or
    '[4 x 5], mean 0.25' (returned as (shape text, mean))."""
    if ", mean " in text:
        shape, mean = text.split(", mean ")
        return shape, float(mean)
    return ast.literal_eval(text)


def test_the_markdown_tables_hold_each_lines_shape_and_value():
    taught_ = taught("net")
    markdown = handout.render(taught_, "markdown")
    forward = markdown_rows(markdown, "Forward pass")
    assert [row[3] for row in forward] == [describe(row.shape) for row in taught_.forward]
    backward = markdown_rows(markdown, "Backward pass")
    assert len(backward) == len(taught_.backward)
    for cells, row in zip(backward, taught_.backward):
        assert cells[1].startswith(f"`{row.text}`")
        assert cells[2] == describe(row.shape)
        shown = read_shown(cells[-1])
        if isinstance(shown, tuple):
            assert shown == (describe(np.shape(row.value)),
                             pytest.approx(mean_of(row.value), rel=1e-3, abs=1e-20))
        else:
            np.testing.assert_allclose(shown, row.value, rtol=1e-3, atol=1e-12)
        if row.dimensions:
            assert f"<br>*{row.dimensions}*" in cells[1]
            assert cells[3].startswith("VJP $")


def test_the_code_section_is_the_numpy_module_with_values():
    taught_ = taught("net")
    markdown = handout.render(taught_, "markdown")
    code = markdown.split("```python\n", 1)[1].split("```", 1)[0]
    ast.parse(code)   # a small matrix's value stays on its line's comment
    # f runs the forward lines, f_and_grad every line
    assert len(re.findall(r"^ +\S.*# \(\d+\) .* becomes .*$", code, re.M)) == \
        len(taught_.plan.forward) + len(taught_.plan.lines)
    assert "dW1 += dW1X @ X.T  # (1) [4 x 3] dW1 becomes" in code


# -- the circuit -----------------------------------------------------------------------

def digits3(values) -> list:
    return np.round(np.asarray(values, dtype=float), 2)


def test_the_circuit_carries_shapes_and_small_values():
    plan = build_plan(SMALL, shapes=SMALL_SHAPES)
    dot = diagram.dot_source(plan, dict(SMALL_POINT))
    nodes = re.findall(r'class="(input|gate|output)"', dot)
    assert len(nodes) == 3 + 4 + 1       # W, x, b; @, +, relu, sum; the output f
    gates = [label for label in re.findall(r"shape=(?:circle|ellipse), .*?label=<(.*?)>", dot)]
    assert sorted(html.unescape(label) for label in gates) == ["+", "@", "relu", "sum"]
    wires = {(w["tail"], w["head"]): w for w in dot_wires(dot)}
    assert {key: w["grey"] for key, w in wires.items()} == {
        ("W", "@"): "[3 x 4]", ("x", "@"): "[4]", ("@", "+"): "Wx [3]", ("b", "+"): "[3]",
        ("+", "relu"): "dot [3]", ("relu", "sum"): "reludot [3]", ("sum", "f"): "f"}
    oracle = small_oracle()
    # W has 12 entries: its wire shows its shape alone
    assert wires["W", "@"]["value"] is None and wires["W", "@"]["grad"] is None
    assert ast.literal_eval(wires["x", "@"]["value"]) == [1, 2, -1, 0.5]
    np.testing.assert_allclose(ast.literal_eval(wires["x", "@"]["grad"]), oracle["dx"],
                               rtol=5e-3)
    np.testing.assert_allclose(ast.literal_eval(wires["@", "+"]["value"]), oracle["Wx"],
                               rtol=5e-3)
    assert ast.literal_eval(wires["b", "+"]["grad"]) == list(oracle["db"])
    # the sum's gradient, a scalar in broadcast form, is drawn spread over the wire
    assert ast.literal_eval(wires["relu", "sum"]["grad"]) == [1, 1, 1]
    assert wires["sum", "f"]["value"] == "3.15" and wires["sum", "f"]["grad"] == "1"


def test_the_nets_circuit_has_a_node_per_gate_and_a_shape_per_array_wire():
    plan = build_plan(NET)
    dot = diagram.dot_source(plan)
    graph = plan.graph
    assert len(re.findall(r'class="(?:input|gate|output)"', dot)) == \
        len(graph.inputs) + len(graph.stages) + 1 == 7 + 12 + 1
    labels = sorted(html.unescape(label) for label in
                    re.findall(r"shape=(?:circle|ellipse), .*?label=<(.*?)>", dot))
    assert labels == sorted(["@", "+", "relu", "@", "+", "softmax_loss", "×0.5", "vdot", "vdot",
                             "+", "×", "+"])
    assert 'shape=ellipse, width=0.5, margin=0.03, fixedsize=false, style=filled, ' \
           'fillcolor="#f7f7f7", label=<softmax_loss>' in dot
    wires = dot_wires(dot)
    # W1 and W2 fork (the product and the L2 term): a trunk each, then two branches
    assert len(wires) == 21 + 2
    assert sorted(w["tail"] for w in wires if w["kind"] == "trunk") == ["W1", "W2"]
    by_label = {node.name: node for node in graph.nodes if node.kind == "input"}
    for wire in wires:
        assert wire["value"] is None and wire["grad"] is None
        if wire["kind"] == "branch":      # the trunk says what flows
            assert wire["grey"] == ""
            continue
        tail = wire["tail"]
        node = by_label.get(tail) or [n for n in graph.stages
                                      if diagram.gate_label(graph, n) == tail][0]
        if node.kind == "stage":
            continue    # several gates share a label; the names below are checked by value
        # an array's wire says its shape
        assert wire["grey"] == describe(node.shape) if node.shape else wire["grey"] == ""
    greys = [w["grey"] for w in wires]
    for node in graph.stages:
        # a stage's wire says its name, and its shape over arrays
        assert " ".join(filter(None, [node.name, describe(node.shape)
                                      if node.shape else ""])) in greys
    assert [w["grey"] for w in wires if w["tail"] == "y"] == ["[5]"]


def test_gate_labels_read_the_numpy_forms_of_array_gates():
    plan = build_plan("A: 3x4\nB: 4x4\nK: 2x2\nsum(A.T @ A) + mean(A) + sum(mean(A, axis=1)) + "
                      "sum(softmax(A, 0)) + logsumexp(A) + sum(conv2d(B, K)) + sum(A**2)")
    labels = {diagram.gate_label(plan.graph, node) for node in plan.graph.stages}
    assert {"xᵀ", "@", "sum", "mean", "mean(axis=1)", "softmax(axis=0)", "logsumexp", "conv2d",
            "vdot"} <= labels


@needs_graphviz
def test_the_svg_circuit_shows_the_shapes(tmp_path):
    target = tmp_path / "c.svg"
    run_cli("diagram", SMALL, *SMALL_ARGS, "--at", SMALL_AT, "-o", str(target))
    svg = target.read_text()
    for text in ("[3 x 4]", "Wx [3]", "reludot [3]", "[1, 1, 1]", "relu", "@"):
        assert f">{html.escape(text)}<" in svg


# -- the notebook ------------------------------------------------------------------------

def test_the_notebook_shows_an_array_program():
    compiled = flatgrad.compile(SMALL, shapes=SMALL_SHAPES)
    page = compiled._repr_html_()
    assert '<span class="keyword">def</span> <span class="function">f_and_grad</span>' in page
    assert ("<svg" in page) == diagram.available()
    if diagram.available():
        assert ">[3 x 4]<" in page and ">Wx [3]<" in page
    assert "```python\n" + compiled.source + "```" in compiled._repr_markdown_()


# -- worksheets --------------------------------------------------------------------------

def code_spans(text: str) -> list[str]:
    spans = re.findall(r"`([^`\n]+)`", text) + re.findall(r"<code>(.*?)</code>", text, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", span)).strip() for span in spans]


@pytest.mark.parametrize("fmt", ["markdown", "html"])
@pytest.mark.parametrize("blank", ["lines", "local"])
@pytest.mark.parametrize("seed", [0, 1, 5])
def test_an_array_worksheet_holds_every_backward_line_once(fmt, blank, seed):
    taught_ = taught("net")
    sheet = worksheet.make(taught_, blank, seed=seed)
    lines = Counter(line.text for line in taught_.plan.backward_lines)
    shown = code_spans(handout.render(taught_, fmt, sheet))
    keyed = code_spans(handout.render_key(sheet, fmt))
    assert Counter(s for s in shown + keyed if s in lines) == lines
    assert 0 < len([s for s in keyed if s in lines]) < sum(lines.values())


def test_a_local_blank_keeps_the_rest_of_the_line():
    taught_ = taught("net")
    sheet = worksheet.make(taught_, "local", count=100)
    page = handout.render(taught_, "markdown", sheet)
    # the sum back over the broadcast axis stays; the VJP of a product is the blank
    assert "`db1 = np.sum((___) * ddot, axis=1, keepdims=True)`" in page
    assert "`dW1 += ___`" in page and "`dscores = ___`" in page
    assert "`ddot = (___) * dhidden`" in page


def test_an_array_worksheet_gives_no_answer_away():
    taught_ = taught("net")
    sheet = worksheet.make(taught_, "lines", count=100)
    page = handout.render(taught_, "html", sheet)
    key = handout.render_key(sheet, "html")
    assert "The generated code" not in page and "becomes" not in page
    assert 'fill="#c62828"' not in page
    assert "must be" not in page and "sum its gradient" not in page
    assert "must be" in key and "sum its gradient" in key
    for row in taught_.backward:
        assert f"<code>{html.escape(row.text)}</code>" not in page
        assert f"<code>{html.escape(row.text)}</code>" in key
    # no gradient of an input is printed on the sheet; the key has them all
    results = page.split('<p class="results">')[-1].split("</p>")[0]
    assert 'class="matrix"' not in results and "mean" not in results
    assert len(matrices(key.split("<h2>Results</h2>")[1])) == 4


def test_a_values_worksheet_blanks_exactly_the_chosen_cells():
    taught_ = taught("net")
    sheet = worksheet.make(taught_, "values", seed=3)
    page = handout.render(taught_, "markdown", sheet)
    forward = markdown_rows(page, "Forward pass")
    backward = markdown_rows(page, "Backward pass")
    blank = r"\_\_\_\_\_\_"
    assert [cells[-1] == blank for cells in forward] == [row.blank for row in taught_.forward]
    assert [cells[-1] == blank for cells in backward] == [row.blank for row in taught_.backward]
    key = handout.render_key(sheet, "markdown")
    assert key.count("\n| (") == len(sheet.answers)


def test_worksheet_and_key_from_the_command_line(tmp_path):
    target = tmp_path / "sheet.html"
    run_cli("handout", SMALL, *SMALL_ARGS, "--at", SMALL_AT, "--exercise", "--seed", "1",
            "-o", str(target))
    sheet, key = target.read_text(), (tmp_path / "sheet-key.html").read_text()
    lines = Counter(line.text for line in build_plan(SMALL, shapes=SMALL_SHAPES,
                                                     profile="teach").backward_lines)
    assert Counter(s for s in code_spans(sheet) + code_spans(key) if s in lines) == lines


# -- the command line: an error message, never a traceback ----------------------------------

NET_RANDOM = ("-f", "NET", "--at", "random")


@pytest.mark.parametrize("args, status", [
    (("diagram", SMALL, *SMALL_ARGS), 0),
    (("diagram", SMALL, *SMALL_ARGS, "-o", "OUT.svg"), 0),
    (("diagram", SMALL, *SMALL_ARGS, "-o", "OUT.png", "--at", SMALL_AT), 0),
    (("diagram", SMALL, *SMALL_ARGS, "--at", SMALL_AT, "--digits", "5"), 0),
    (("diagram", SMALL, *SMALL_ARGS, "--at", "random"), 0),
    (("diagram", SMALL, *SMALL_ARGS, "--at", "W=1,x=2,b=3"), 2),
    (("diagram", SMALL, *SMALL_ARGS, "--at", "W=[1,2],x=[1,2,3,4],b=[1,2,3]"), 2),
    (("diagram", SMALL, *SMALL_ARGS, "--at", "W=[[1,2,3,4]]"), 2),
    (("diagram", "W @ x", "--shape", "W=3x4", "--shape", "x=4"), 2),
    (("diagram", "sum(W @ x)", "--shape", "W=3x4", "--shape", "x=3"), 2),
    (("handout", SMALL, *SMALL_ARGS), 2),
    (("handout", SMALL, *SMALL_ARGS, "--at", SMALL_AT), 0),
    (("handout", SMALL, *SMALL_ARGS, "--at", SMALL_AT, "-o", "OUT.md"), 0),
    (("handout", SMALL, *SMALL_ARGS, "--at", "random", "--exercise", "--blank", "values",
      "-o", "OUT.html"), 0),
    (("handout", SMALL, *SMALL_ARGS, "--at", SMALL_AT, "--exercise", "--blank", "local",
      "-o", "OUT.md"), 0),
    (("handout", SMALL, *SMALL_ARGS, "--at", "W=1,x=2,b=3"), 2),
    (("handout", SMALL, *SMALL_ARGS, "--at", "W=[[nan]]"), 2),
    (("handout", *NET_RANDOM), 0),
    (("handout", *NET_RANDOM, "--gates", "primitive", "-o", "OUT.md"), 0),
    (("handout", "-f", "NET", "--at", "random", "--exercise", "-o", "OUT.html"), 0),
    (("diagram", "-f", "NET", "--at", "random", "-o", "OUT.svg"), 0),
    (("handout", "-f", "NET", "--at", "W1=[[1]]"), 2),
])
def test_array_commands_never_print_a_traceback(tmp_path, args, status):
    (tmp_path / "NET").write_text(NET)
    args = [str(tmp_path / arg) if arg in ("NET", "OUT.svg", "OUT.png", "OUT.md", "OUT.html")
            else arg for arg in args]
    if not diagram.available() and any(a.endswith((".svg", ".png")) for a in args):
        pytest.skip("Graphviz is not installed")
    done = run_cli(*args, check=False)
    assert "Traceback" not in done.stderr
    assert done.returncode == status, done.stderr
    if status:
        assert done.stderr.startswith("flatgrad: error:")


# -- in a browser --------------------------------------------------------------------------

LAYOUT = """\
const main = box(document.querySelector("main"));
const report = {
  viewport: document.documentElement.clientWidth,
  page_width: document.documentElement.scrollWidth,
  tables: [...document.querySelectorAll("table")].map(t => [t.rows.length, box(t).right]),
  main_right: main.right,
  matrices: [...document.querySelectorAll(".matrix")].map(m =>
      [getComputedStyle(m).display, box(m).height]),
  maths: [...document.querySelectorAll("math")].every(m => box(m).width > 0),
  transposes: document.querySelectorAll(
      "msup > mi[mathvariant=normal], msubsup > mi[mathvariant=normal]").length,
  svg: [...document.querySelectorAll("figure svg text")].map(t => t.textContent),
};"""



@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                            "(apt-get install chromium); CI installs it")
def test_the_nets_handout_lays_out_in_a_headless_browser(tmp_path):
    taught_ = taught("net")
    page = tmp_path / "net.html"
    page.write_text(handout.render(taught_, "html"))
    shot = tmp_path / "net.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1100,6400", page.as_uri())
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 100_000

    layout = probe_layout(tmp_path, page, LAYOUT, "--window-size=1100,6400")
    assert [rows for rows, right in layout["tables"]] == [1 + 12, 1 + len(taught_.backward)]
    # nothing runs off the side of the page
    assert layout["page_width"] <= layout["viewport"]
    assert all(right <= layout["main_right"] + 40 for rows, right in layout["tables"])
    # small arrays are laid out as matrices, one line per row
    assert layout["matrices"] and all(display == "inline-grid" for display, _ in
                                      layout["matrices"])
    assert max(height for _, height in layout["matrices"]) > 50     # W1's four rows
    assert layout["maths"] and layout["transposes"] >= 3     # W2ᵀ, W1ᵀ, Xᵀ, hiddenᵀ
    if diagram.available():
        assert "softmax_loss" in layout["svg"] and "W1X [4 x 5]" in layout["svg"]
