"""The backward plan over arrays: the scalar plan, with each line a VJP.

plan.build lays out the backward pass exactly as for scalars (the forward pass
reversed, `+=` at forks, work for inputs outside `wrt` pruned); here each
line's "local gradient times upstream" becomes the gate's vector-Jacobian
product from the array table, and the gradient of an operand that a gate
broadcast is summed back to the operand's own shape. The reduction is read off
the inferred shapes, the same for every broadcasting gate.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import plan as plan_stage
from .errors import FlatgradError
from .graph import Graph
from .plan import Line, Plan
from .shapes import Shapes, describe


@dataclass
class ArrayPlan:
    plan: Plan
    shapes: Shapes
    why: dict[int, str] = field(default_factory=dict)   # id(line) -> comment above it

    @property
    def graph(self) -> Graph:
        return self.plan.graph

    def shape(self, line: Line) -> tuple:
        return self.shapes.of[line.node]


def build(graph: Graph, shapes: Shapes, wrt=None, profile: str = "fast") -> ArrayPlan:
    if wrt is None:
        wrt = tuple(name for name in graph.inputs if name not in shapes.integer)
    elif isinstance(wrt, str):
        wrt = tuple(w.strip() for w in wrt.split(",") if w.strip())
    for name in wrt:
        if name in shapes.integer:
            raise FlatgradError(f"cannot differentiate with respect to {name!r}: it holds "
                                "integer labels, which have no gradient")
    plan = plan_stage.build(graph, wrt, profile)
    result = ArrayPlan(plan, shapes)
    for line in plan.backward_lines:
        if line.stage < 0:
            line.code = "0.0" if not shapes.of[line.node] else \
                f"np.zeros_like({graph.nodes[line.node].name})"
        else:
            line.code = line.local = _vjp(result, line)
    _copy_before_accumulating(result)
    return result


def _vjp(result: ArrayPlan, line: Line) -> str:
    graph, of = result.graph, result.shapes.of
    node = graph.nodes[line.stage]
    ranks = tuple(len(of[a]) for a in node.args)
    operands = [graph.operand_text(a) for a in node.args]
    code = node.gate.code(node.gate.vjp(line.operand, ranks), operands, node.name)
    code = _with_upstream(code, line.upstream)
    if not node.gate.broadcasts or of[line.node] == of[node.index]:
        return code
    code, axes = unbroadcast(code, of[line.node], of[node.index])
    result.why[id(line)] = (f"{graph.nodes[line.node].name} is {describe(of[line.node])} but "
                            f"was broadcast to {describe(of[node.index])} in ({line.ref}): "
                            f"sum its gradient over {axes}")
    return code


def _with_upstream(code: str, upstream: str) -> str:
    if upstream:
        return code.replace("{up}", upstream)
    # at the output the upstream gradient is 1: drop the factor
    for pattern, text in ((" * {up}", ""), ("{up} * ", ""), ("{up}", "1.0")):
        code = code.replace(pattern, text)
    return code


def unbroadcast(code: str, shape: tuple, broadcast_to: tuple) -> tuple[str, str]:
    """Sum a gradient of shape `broadcast_to` back to `shape`: over the leading
    axes numpy added, and (keeping them) over the axes where `shape` has size 1."""
    if not shape:
        return f"np.sum({code})", "every axis"
    lead = len(broadcast_to) - len(shape)
    said = []
    if lead:
        axes = tuple(range(lead))
        code = f"np.sum({code}, axis={axes[0] if lead == 1 else axes})"
        said.append("the leading axis" if lead == 1 else f"the {lead} leading axes")
    ones = tuple(k for k, d in enumerate(shape) if d == 1 and broadcast_to[lead + k] != 1)
    if ones:
        code = f"np.sum({code}, axis={ones[0] if len(ones) == 1 else ones}, keepdims=True)"
        said.append(("axis " if len(ones) == 1 else "axes ") + ", ".join(map(str, ones)))
    return code, " and ".join(said)


def _copy_before_accumulating(result: ArrayPlan) -> None:
    """A gradient summed into with `+=` must own its array: when its first
    contribution is another gradient (or a view of one), copy it, or the `+=`
    would change that other gradient too."""
    forks = result.plan.forks()
    seen: set[int] = set()
    for line in result.plan.backward_lines:
        if line.node in seen or line.stage < 0:
            continue
        seen.add(line.node)
        if line.node in forks and result.shapes.of[line.node]:
            stage = result.graph.nodes[line.stage]
            if re.fullmatch(r"[A-Za-z_]\w*", line.code) or stage.gate.view:
                line.code += ".copy()"
