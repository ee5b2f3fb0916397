"""The forward-mode part of a handout (`flatgrad handout --mode forward`).

Forward mode runs the forward pass once per input, each line followed by its
tangent line (the plan transformed by core/tangent.py, the very lines
`--mode forward` writes): pass i starts from the unit direction of input i
and ends with df/d(input i). The page shows the passes side by side, beside
the reverse-mode tables, the circuit with the tangents flowing left to right,
and the cost comparison of the notes: forward mode needs one pass per input,
reverse mode one pass per output.
"""
from __future__ import annotations

from ..core import tangent as tangent_stage
from ..core.plan import Plan
from ..emit import format_value
from ..errors import FlatgradError
from . import diagram


def build(plan: Plan, point: dict, draw: bool = True) -> dict:
    """The forward-mode section's rows, passes, results and circuit, at `point`."""
    if plan.graph.has_arrays:
        raise FlatgradError("handout --mode forward is for scalar formulas: an array "
                            "program would need one pass per entry of every input")
    tangents = tangent_stage.forward(plan)
    passes = []
    for name in plan.wrt:
        directions = {other: 1.0 if other == name else 0.0 for other in plan.wrt}
        values = tangent_stage.evaluate(tangents, point, directions)
        passes.append({"input": name, "dot": tangents.dots[name],
                       "direction": f"{tangents.dots[name]} = 1",
                       "values": dict(values)})
    graph = plan.graph
    rows = []
    tangent_of = {line.node: line for line in tangents.lines if tangents.is_tangent(line)}
    for line in plan.forward:
        node = graph.nodes[line.node]
        tangent = tangent_of.get(line.node)
        dot = tangents.dots.get(node.name)
        rows.append({
            "ref": line.ref, "code": line.text, "value": format_value(passes[0]["values"][
                node.name]) if passes else format_value(line.value),
            "tangent": tangent.text if tangent else f"{dot or node.name + '_dot'} = 0",
            "tangents": [_shown(p["values"].get(dot, 0.0) if tangent else 0.0)
                         for p in passes]})
    output = graph.nodes[graph.output].name
    result = tangents.results[0]
    results = [{"text": f"d{output}/d{p['input']}",
                "value": _shown(p["values"].get(result, 0.0) if result else 0.0),
                "dot": p["dot"]} for p in passes]
    count = len(plan.wrt)
    dot_text = None
    if draw and diagram.legible(plan):
        shown = {}
        for variable in [*plan.wrt, *(graph.nodes[line.node].name for line in plan.forward)]:
            dot = tangents.dots.get(variable)
            numbers = [p["values"].get(dot, 0.0) if dot and variable in tangents.active else 0.0
                       for p in passes]
            shown[variable] = "(" + ", ".join(diagram.significant(v, 3) for v in numbers) + ")"
        dot_text = diagram.dot_source(plan, point, tangents=shown)
    return {
        "passes": passes, "rows": rows, "results": results, "output": output,
        "order": ", ".join(p["dot"] for p in passes),
        "cost": {"inputs": count, "forward_passes": count, "reverse_passes": 1},
        "dot_text": dot_text,
    }


def _shown(value) -> str:
    # x0 * w0_dot with w0_dot = 0 and x0 < 0 is -0.0: a tangent of zero, shown as 0
    return format_value(value + 0.0)
