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
    graph = plan.graph
    # a list input is its entries, w[0], w[1] ...: one pass per entry of the gradient
    entries = [entry for name in plan.wrt for entry in _entries(graph, name)]
    passes = []
    for entry in entries:
        directions = {other: [1.0 if f"{other}[{k}]" == entry else 0.0
                              for k in range(graph.lists[other][0])]
                      if other in graph.lists else 1.0 if other == entry else 0.0
                      for other in plan.wrt}
        values = _entry_values(tangent_stage.evaluate(tangents, point, directions))
        passes.append({"input": entry, "dot": tangents.dots[entry],
                       "direction": f"{tangents.dots[entry]} = 1",
                       "values": values})
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
    count = len(entries)
    dot_text = None
    if draw and diagram.legible(plan):
        shown = {}
        for variable in [*entries, *(graph.nodes[line.node].name for line in plan.forward)]:
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


def _entries(graph, name: str) -> list[str]:
    if name not in graph.lists:
        return [name]
    return [f"{name}[{k}]" for k in range(graph.lists[name][0])]


def _entry_values(values: dict) -> dict:
    """The values with each list's entries under their own names too (w_dot[0]), as
    the tangents of list entries are named."""
    flat = dict(values)
    for name, value in values.items():
        if isinstance(value, list):
            flat.update((f"{name}[{k}]", entry) for k, entry in enumerate(value))
    return flat


def _shown(value) -> str:
    # x0 * w0_dot with w0_dot = 0 and x0 < 0 is -0.0: a tangent of zero, shown as 0
    return format_value(value + 0.0)
