"""A page to step through, as a lecture animation does: the forward pass stage by
stage, then the backward pass line by line, each step highlighting at once the code
line, its table row and its wire in the circuit, where the value (forward) or the
gradient (backward) then appears.

The page is the handout's parts (its tables and circuit, from the same lesson)
and a list of steps; a small inline script walks the list on the space bar and
the arrow keys. Each step names the elements it lights by id (code lines, table
rows) and by the roles the circuit gives its wires: `o{n}` the wire leaving node
n (a fork's trunk), `i{s}_{k}` the wire into operand k of stage s. A wire shows
the inputs' values from the start; a forward step shows its stage's value, a
backward step the share of the gradient its line computes, and a fork's trunk
shows the total gradient at the last line that adds to it.
"""
from __future__ import annotations

import json

from markupsafe import Markup

from . import diagram, handout
from ..emit import format_value
from .highlight import python_html
from .lesson import Lesson

KEYS_FORWARD = ("Space", "ArrowRight", "ArrowDown", "PageDown", "Enter")
KEYS_BACK = ("ArrowLeft", "ArrowUp", "PageUp", "Backspace")


def steps(lesson: Lesson) -> list[dict]:
    """Every step of the walk through, in order: what it lights and what it shows."""
    plan = lesson.plan
    graph = plan.graph
    walk = []
    for i, (line, row) in enumerate(zip(plan.forward, lesson.forward)):
        walk.append({"pass": "forward", "code": f"code-f{i}", "row": f"row-f{i}",
                     "wires": [f"o{line.node}"], "values": [f"o{line.node}"], "gradients": [],
                     "say": f"({row.ref}) {row.name} = {row.code}  →  {format_value(row.value)}"})
    lines = plan.backward_lines
    last = {line.node: j for j, line in enumerate(lines)}
    forks = plan.forks()
    for j, (line, row) in enumerate(zip(lines, lesson.backward)):
        wire = [f"i{line.stage}_{line.operand}"] if line.stage >= 0 else []
        shown = list(wire)
        if line.node in forks and last[line.node] == j:
            shown.append(f"o{line.node}")     # the fork's trunk: its total gradient
        if j == 0:
            shown.append(f"o{graph.output}")  # the output's own gradient, 1
        walk.append({"pass": "backward", "code": f"code-b{j}", "row": f"row-b{j}",
                     "wires": wire, "values": [], "gradients": shown,
                     "say": (f"({row.ref}) " if row.ref else "") + row.text
                     + f"  →  {format_value(row.value)}"})
    return walk


def render(lesson: Lesson) -> str:
    """The step-through page: self-contained HTML, its script inline."""
    context = handout._context(lesson, "html", None)
    graph = lesson.plan.graph
    walk = {"steps": steps(lesson), "value": diagram.VALUE_COLOUR,
            "gradient": diagram.GRADIENT_COLOUR,
            # the inputs' values are given: their wires show them from the start
            "start": [f"o{node.index}" for node in graph.nodes if node.kind == "input"]}
    # a line's (k) tag takes the colour of what it computes, as in the handout's code
    code = [{"id": f"code-f{i}", "html": Markup(python_html(f"{row.name} = {row.code}")),
             "ref": row.ref, "kind": "value"} for i, row in enumerate(lesson.forward)]
    code += [{"id": f"code-b{j}", "html": Markup(python_html(row.text)), "ref": row.ref,
              "kind": "gradient"} for j, row in enumerate(lesson.backward)]
    context.update({
        "steps_json": Markup(json.dumps(walk, ensure_ascii=True).replace("</", "<\\/")),
        "step_count": len(walk["steps"]),
        "forward_count": len(lesson.forward),
        "code_lines": code,
        "keys_json": Markup(json.dumps({"next": KEYS_FORWARD, "back": KEYS_BACK})),
    })
    return handout._environment().get_template("step.html.j2").render(context)
