"""The gradients of list inputs, gathered as the notes write them.

The entries of a list input, `w[0]`, `w[1]` ..., are scalar inputs of the graph,
each with its own gradient line (`dw[0] = x[0] * ddot`). The caller gets one
list per list input, so their lines are gathered: where each entry gets one line
and all of them come from one stage, into one list display at that stage,
`dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]`, as the notes write it; otherwise a
list of zeros is made before the first of them and each entry's lines assign and
add into it (`dw[0] += ...`), which is plain Python too. An entry nothing reaches
keeps its 0.0.
"""
from __future__ import annotations

from .plan import Line, Plan


def gather(plan: Plan) -> None:
    graph = plan.graph
    for name in plan.wrt:
        if name not in graph.lists:
            continue
        length, grad = graph.lists[name]
        entries = [f"{grad}[{k}]" for k in range(length)]
        zeros = "[" + ", ".join(["0.0"] * length) + "]"
        found = [(group, line) for group in plan.backward for line in group.lines
                 if line.target in entries]
        if not found:
            plan.zeros.append(Line(grad, zeros, 0))
            continue
        group, first = found[0]
        per_entry = {line.target for _, line in found}
        if len(per_entry) == len(found) and all(g is group for g, _ in found):
            codes = {line.target: line.code for _, line in found}
            gathered = Line(grad, "[" + ", ".join(codes.get(e, "0.0") for e in entries) + "]",
                            first.ref, node=first.node, stage=first.stage,
                            operand=first.operand, upstream=first.upstream)
            gathered_ids = {id(line) for _, line in found}
            position = group.lines.index(first)
            group.lines[position] = gathered
            group.lines[:] = [line for line in group.lines if id(line) not in gathered_ids]
        else:
            group.lines.insert(group.lines.index(first), Line(grad, zeros, first.ref))
