"""`--gates primitive` shows the primitive gates everywhere on the page: the typeset
formula, the title, the tables, the code and the circuit; and the formula it shows
computes what the compiled primitive circuit computes."""
from __future__ import annotations

import ast
import math
import re

import pytest

import flatgrad
from flatgrad.api import build_plan
from flatgrad.core.parse import parse
from flatgrad.teach import diagram, handout, lesson
from flatgrad.teach.typeset import program_trees
from teaching_support import NEURON, REFERENCE, dot_edges

NEURON_VALUES = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
CASES = {"neuron": (NEURON, NEURON_VALUES), "staged": (REFERENCE, {"x": 3.0, "y": -4.0}),
         "tanh": ("tanh(x) / y", {"x": 0.4, "y": -1.5})}
# the grouped gates that --gates primitive splits, as each part of a page names them
GROUPED = {"sigmoid", "σ", "tanh", "\\sigma", "/", "÷", "div"}


def section(page: str, heading: str) -> str:
    """A Markdown handout's section under `## heading`, up to the next one."""
    return page.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def page_of(name: str, level: str) -> str:
    expr, point = CASES[name]
    return handout.render(lesson.build(build_plan(expr, profile="teach", gates=level), point),
                          "markdown")


@pytest.mark.parametrize("name", CASES)
def test_every_part_of_a_primitive_page_shows_the_primitive_gates(name):
    page = page_of(name, "primitive")
    title = page.split("\n")[3]
    formula = section(page, "The expression")
    forward, backward = section(page, "Forward pass"), section(page, "Backward pass")
    code = section(page, "The generated code")
    assert "exp" in title and "exp" in formula
    for part in (title, formula):
        assert not {"σ", "\\sigma", "tanh", "\\tanh"} & set(re.findall(r"\\?\w+|σ", part))
    gates = [row.split(" | ")[2] for row in forward.splitlines() if row.startswith("| (")]
    assert {"neg", "exp", "recip"} <= set(gates) and not {"sigmoid", "tanh", "div"} & set(gates)
    # the backward lines are the primitive gates' (no σ(1 − σ), no 1 − tanh²)
    assert "sigmoid" not in backward and "tanh" not in backward
    assert "sigmoid" not in code and "math.tanh" not in code and "math.exp" in code
    dot = page.split("```dot\n", 1)[1].split("```", 1)[0] if "```dot" in page else \
        diagram.dot_source(build_plan(CASES[name][0], gates="primitive"), CASES[name][1])
    labels = {e["head"] for e in dot_edges(dot)}
    assert "exp" in labels and "1/x" in labels and not {"σ", "tanh"} & labels


@pytest.mark.parametrize("name", CASES)
def test_the_staged_page_keeps_its_grouped_gates(name):
    page = page_of(name, "staged")
    formula = section(page, "The expression")
    assert re.search(r"\\sigma|\\tanh|\\frac", formula)


@pytest.mark.parametrize("name", CASES)
def test_the_primitive_formula_computes_the_compiled_value(name):
    # the formula the primitive page typesets, evaluated as Python, is what the
    # compiled primitive circuit returns, at two points
    expr, point = CASES[name]
    compiled = flatgrad.compile(expr, gates="primitive")
    for scale in (1.0, 0.37):
        names = {"exp": math.exp, "math": math, **{n: v * scale for n, v in point.items()}}
        trees = program_trees(parse(expr), "primitive")
        for target, tree in trees:
            value = eval(compile(ast.fix_missing_locations(ast.Expression(tree)), "<formula>",
                                 "eval"), names)
            if target:
                names[target] = value
        # and it names no grouped gate
        assert not {getattr(node, "id", None) for tree in trees
                    for node in ast.walk(tree[1])} & GROUPED
        assert value == pytest.approx(compiled(**{n: v * scale for n, v in point.items()}),
                                      rel=1e-12)
