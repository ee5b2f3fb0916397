"""Handouts: every number right, every section present, self-contained, and
rendered by a real browser."""
from __future__ import annotations

import ast
import html
import math
import os
import re

import pytest

import flatgrad
from flatgrad.core import gates
from flatgrad.teach import diagram, handout, lesson
from flatgrad.api import build_plan
from flatgrad.emit import format_value
from flatgrad.teach.typeset import LATEX, MATHML, TEXT, program_trees, typeset
from flatgrad.core.parse import parse
from teaching_support import (CHROMIUM, NEURON, NEURON_POINT, REFERENCE, REFERENCE_POINT,
                              assert_well_formed, chromium, eval_numbers, run_cli)
from teaching_support import layout as probe_layout

POINT = {"x": 3.0, "y": -4.0}


def reference_values() -> dict[str, float]:
    """The CS231n listing's stages computed by hand with math, as the oracle."""
    x, y = POINT["x"], POINT["y"]
    sigy = 1 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1 / (1 + math.exp(-x))
    xpy = x + y
    den = sigx + xpy ** 2
    invden = 1 / den
    return {"sigy": sigy, "num": num, "sigx": sigx, "xpy": xpy, "xpysqr": xpy ** 2,
            "den": den, "invden": invden, "f": num * invden}


@pytest.fixture(scope="module")
def markdown_handout():
    return run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--format", "markdown").stdout


@pytest.fixture(scope="module")
def html_handout():
    return run_cli("handout", REFERENCE, "--at", REFERENCE_POINT).stdout


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| (")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_forward_table_matches_the_hand_computed_stages(markdown_handout):
    expected = reference_values()
    rows = table_rows(markdown_handout, "Forward pass")
    assert [row[0] for row in rows] == [f"({k})" for k in range(1, 9)]
    for ref, code, gate, value in rows:
        name = code.strip("`").split(" = ")[0]
        assert value == format_value(expected[name])
        assert float(value) == pytest.approx(expected[name], rel=1e-5)
    assert [row[2] for row in rows] == ["sigmoid", "add", "sigmoid", "add", "square", "add",
                                        "recip", "mul"]


def test_numbers_match_flatgrad_eval_to_the_printed_precision(markdown_handout, html_handout):
    printed = eval_numbers(REFERENCE, REFERENCE_POINT)
    assert printed == {"f": "1.54564", "df/dx": "2.05957", "df/dy": "1.59223"}
    for name, value in printed.items():
        assert f"**{name} = {value}**" in markdown_handout
        assert f"{name} = {value}" in html.unescape(re.sub(r"<[^>]+>", "", html_handout))


def test_backward_table_results_match_central_differences(markdown_handout):
    f = flatgrad.compile(REFERENCE)
    h = 1e-6
    dx = (f(3 + h, -4) - f(3 - h, -4)) / (2 * h)
    dy = (f(3, -4 + h) - f(3, -4 - h)) / (2 * h)
    rows = table_rows(markdown_handout, "Backward pass")
    last = {}
    for row in rows:
        target = row[1].strip("`").split()[0]
        last[target] = float(row[-1])
    assert last["dx"] == pytest.approx(dx, rel=1e-5)
    assert last["dy"] == pytest.approx(dy, rel=1e-5)
    # dden = -1/den² · dinvden, the listing's line (7)
    values = reference_values()
    assert last["dden"] == pytest.approx(-values["num"] / values["den"] ** 2, rel=1e-5)


def test_every_backward_line_and_fork_reason_is_in_the_table(markdown_handout):
    plan = build_plan(REFERENCE, profile="teach")
    rows = table_rows(markdown_handout, "Backward pass")
    assert len(rows) == len(plan.backward_lines)
    for row, line in zip(rows, plan.backward_lines):
        assert row[1].startswith(f"`{line.text}`")
        if line.accumulate:
            name = plan.graph.nodes[line.node].name
            count = plan.forks()[line.node]
            assert f"*{name} is used in {count} places, so its gradient adds*" in row[1]
    assert "x is used in 3 places, so its gradient adds" in markdown_handout
    assert "y is used in 2 places, so its gradient adds" in markdown_handout


def test_local_gradients_are_typeset_from_the_gate_table(markdown_handout):
    assert r"$\frac{-1}{\mathit{den}^{2}}$ = -0.262292" in markdown_handout
    assert r"$\left(1 - \mathit{sigx}\right) \cdot \mathit{sigx}$ = 0.0451767" in markdown_handout
    assert r"$f(x, y) = \frac{x + \sigma (y)}{\sigma (x) + \left(x + y\right)^{2}}$" \
        in markdown_handout


def test_code_section_is_the_teach_module_with_values(markdown_handout):
    code = markdown_handout.split("```python\n", 1)[1].split("```", 1)[0]
    compiled = flatgrad.compile(REFERENCE, profile="teach")
    assert code == compiled.source_at(x=3, y=-4)
    assert "dden = (-1.0 / (den**2)) * dinvden  # (7) dden becomes -0.791593" in code


def test_patterns_come_from_the_gate_table(markdown_handout):
    patterns = markdown_handout.split("## Patterns in this circuit\n", 1)[1]
    for note in (gates.GATES["add"].note, gates.GATES["mul"].note, gates.GATES["sigmoid"].note,
                 gates.FORK):
        assert note in patterns
    assert gates.GATES["max"].note not in patterns
    routed = handout.render(lesson.build(build_plan("max(x, y) * x"), {"x": 1, "y": 2}),
                            "markdown")
    assert gates.GATES["max"].note in routed and gates.FORK in routed


def test_html_is_self_contained(html_handout):
    assert html_handout.startswith("<!DOCTYPE html>\n<!-- Generated by flatgrad")
    for needle in ("<script", "<link", "src=", "@import", "url("):
        assert needle not in html_handout
    assert not re.search(r'href="https?:', html_handout)
    assert html_handout.count("<math") >= 1 + 6       # the formula and local gradients
    assert '<span class="keyword">def</span>' in html_handout
    if diagram.available():
        assert html_handout.count("<svg") == 1


def test_html_is_well_formed(html_handout):
    assert_well_formed(html_handout)


def test_primitive_gates_show_the_same_final_gradients():
    staged = run_cli("handout", NEURON, "--at", NEURON_POINT, "--format", "markdown").stdout
    primitive = run_cli("handout", NEURON, "--at", NEURON_POINT, "--format", "markdown",
                        "--gates", "primitive").stdout
    finals = re.compile(r"\*\*(d?f(?:/d\w+)? = [-\d.e]+)\*\*")
    assert finals.findall(staged) == finals.findall(primitive)
    assert "**df/dw0 = -0.196612**" in staged
    assert "| exp |" in primitive and "| recip |" in primitive and "| sigmoid |" in staged


def test_typeset_backends_agree_on_structure():
    code = program_trees(parse(REFERENCE))[0][1]
    assert typeset(code, TEXT) == "(x + σ(y)) / (σ(x) + (x + y)²)"
    assert "<mfrac>" in typeset(code, MATHML) and r"\frac" in typeset(code, LATEX)
    assert typeset("-1.0 / den**2", TEXT) == "−1 / den²"
    assert typeset("a - -b", TEXT) == "a − (−b)"
    assert typeset("1.0 if a >= b else 0.0", LATEX) == r"1\text{ if }a \ge b\text{ else }0"
    assert typeset("x0 * w0", MATHML).count("<msub>") == 2
    assert typeset("math.fabs(x) + math.sqrt(y) + math.pi", TEXT) == "|x| + √y + π"


def test_markdown_written_to_a_file_links_its_circuit(tmp_path):
    target = tmp_path / "staged.md"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "-o", str(target))
    text = target.read_text()
    if diagram.available():
        assert "](staged.svg)" in text
        assert (tmp_path / "staged.svg").read_bytes().count(b"<svg") == 1
    else:
        assert "```dot\n" in text


def test_handout_is_deterministic():
    args = ("handout", REFERENCE, "--at", REFERENCE_POINT)
    assert run_cli(*args).stdout == run_cli(*args).stdout


def test_refuses_to_overwrite_a_readme(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# my notes\n")
    done = run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "-o", str(readme),
                   check=False)
    assert done.returncode == 2 and "not generated by flatgrad" in done.stderr
    assert readme.read_text() == "# my notes\n"
    assert not (tmp_path / "README.svg").exists()


def test_a_handout_needs_a_complete_point():
    done = run_cli("handout", REFERENCE, check=False)
    assert done.returncode == 2 and "--at x=...,y=..." in done.stderr
    done = run_cli("handout", REFERENCE, "--at", "x=3", check=False)
    assert done.returncode == 2 and "no value for y" in done.stderr


def test_notebook_display_shows_code_and_circuit(monkeypatch):
    compiled = flatgrad.compile("(x+y)*z")
    page = compiled._repr_html_()
    assert '<span class="keyword">def</span> <span class="function">f_and_grad</span>' in page
    assert ("<svg" in page) == diagram.available()
    assert "```python\n" + compiled.source + "```" in compiled._repr_markdown_()
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    assert "<svg" not in compiled._repr_html_()
    assert compiled._repr_markdown_() == "```python\n" + compiled.source + "```\n"


# Appended to a copy of the page: measures what the browser laid out and writes
# it into the DOM, where --dump-dom shows it.
LAYOUT = """\
const maths = [...document.querySelectorAll("math")];
const fraction = document.querySelector("#expression mfrac");
const line = parseFloat(getComputedStyle(document.body).fontSize);
const svg = document.querySelector("figure svg");
const report = {
  tables: [...document.querySelectorAll("table")].map(t => [t.rows.length, box(t).height]),
  maths: maths.length,
  mathml: maths.every(m => m instanceof MathMLElement && box(m).width > 0),
  fraction_height_in_lines: box(fraction).height / line,
  svg: svg ? [box(svg).width, box(svg).height] : null,
  value_colour: getComputedStyle(document.querySelector("td.value")).color,
  gradient_colour: getComputedStyle(document.querySelector("td.gradient")).color,
};"""



@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                            "(apt-get install chromium); CI installs it")
def test_handout_renders_in_a_headless_browser(tmp_path):
    page = tmp_path / "staged.html"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "-o", str(page))
    shot = tmp_path / "staged.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1100,3600", page.as_uri())
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 50_000

    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom.count("<table") == 2
    assert len(re.findall(r"<tr[ >]", dom)) == 2 + 8 + 12
    assert dom.count("<math") >= 7 and "<mfrac>" in dom
    if diagram.available():
        assert dom.count("<svg") == 1 and 'class="edge' in dom
    text = html.unescape(re.sub(r"<[^>]+>", "", dom))
    for name, value in eval_numbers(REFERENCE, REFERENCE_POINT).items():
        assert f"{name} = {value}" in text

    layout = probe_layout(tmp_path, page, LAYOUT)
    assert [rows for rows, height in layout["tables"]] == [9, 13]
    assert all(height > 100 for rows, height in layout["tables"])
    assert layout["maths"] >= 7 and layout["mathml"]
    # the formula's fraction is typeset as a stacked fraction, not a line of text
    assert layout["fraction_height_in_lines"] > 2
    if diagram.available():
        width, height = layout["svg"]
        assert width > 500 and height > 100
    assert layout["value_colour"] == "rgb(46, 125, 50)"       # green values
    assert layout["gradient_colour"] == "rgb(198, 40, 40)"    # red gradients


def test_without_graphviz_the_handout_shows_the_dot_text(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    done = run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, env=env)
    assert "apt-get install graphviz" in done.stderr
    assert "<svg" not in done.stdout
    assert "digraph" in done.stdout and "Install Graphviz" in done.stdout
    assert "f = 1.54564" in done.stdout


@pytest.mark.parametrize("command", ["handout", "diagram"])
def test_a_point_where_the_formula_is_undefined_is_a_clear_error(command, tmp_path):
    target = tmp_path / ("out.html" if command == "handout" else "out.dot")
    done = run_cli(command, "acosh(x) + 1/y", "--at", "x=0.5,y=1", "-o", str(target),
                   check=False)
    assert done.returncode == 2
    assert "acosh of a number below 1 (math domain error) at stage (1) acoshx = " \
        "math.acosh(x), evaluated at x=0.5, y=1" in done.stderr
    assert "Traceback" not in done.stderr and not target.exists()


@pytest.mark.parametrize("expr", [REFERENCE, "√(x*y) + abs(x - 2*y)/3 - x⁻¹",
                                  "max(x, y, 0.5) * exp(-x) + pi*atan2(y, x)", NEURON])
def test_the_typeset_formula_is_the_compiled_formula(expr):
    # the formula a handout typesets, rebuilt from the program, evaluates to what
    # the compiled function returns (it is flatgrad's own text, built from the table)
    compiled = flatgrad.compile(expr)
    namespace = {"math": math, "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
                 "sqrt": math.sqrt, "abs": abs, "max": max, "exp": math.exp,
                 "atan2": math.atan2}
    for point in ({n: 0.3 + 0.2 * i for i, n in enumerate(compiled.inputs)},
                  {n: 1.7 - 0.4 * i for i, n in enumerate(compiled.inputs)}):
        names = dict(namespace, **point)
        for target, tree in program_trees(parse(expr)):
            expression = ast.fix_missing_locations(ast.Expression(tree))
            value = eval(compile(expression, "<formula>", "eval"), names)
            if target:
                names[target] = value
        assert value == pytest.approx(compiled(**point), rel=1e-12)


def test_a_long_formula_is_shown_as_code_and_its_circuit_left_out():
    expr = "+".join(f"sin(x*{i})" for i in range(1, 260))
    plan = build_plan(expr, profile="teach")
    page = handout.render(lesson.build(plan, {"x": 0.5}), "markdown")
    # too deep to typeset: the formula is printed as written
    assert "`f(x) = sin(x * 1) + sin(x * 2) + " in page
    assert f"This circuit has {len(plan.graph.stages)} gates, too many to draw" in page
    value, (dx,) = flatgrad.compile(expr).value_and_grad(x=0.5)
    assert f"**df/dx = {format_value(dx)}**" in page
