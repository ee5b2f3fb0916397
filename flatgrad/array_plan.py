"""The backward plan over arrays: the scalar plan, with each line a VJP.

plan.build lays out the backward pass exactly as for scalars (the forward pass
reversed, `+=` at forks, work for inputs outside `wrt` pruned); here each
line's "local gradient times upstream" becomes the gate's vector-Jacobian
product from the array table, and the gradient of an operand that a gate
broadcast is summed back to the operand's own shape. The reduction is read off
the inferred shapes, the same for every broadcasting gate.

A gradient is kept in broadcast form where it can be: the gradient of a sum is
the upstream gradient spread over the summed axes, so it stays a scalar (or
has size 1 along those axes) while only elementwise gates read it, and is
expanded (`np.broadcast_to`, `np.full_like`) only where a gate such as matmul,
a `+=`, or the caller needs its full shape. `2 * dWsqr * W` is then one pass
over W, not a filled array and two.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import plan as plan_stage
from .array_gates import ArrayGate
from .errors import FlatgradError
from .graph import Graph, Node
from .plan import Line, Plan
from .shapes import Shapes, broadcast_shapes, describe

_OPERAND = {"a": 0, "b": 1}


@dataclass
class ArrayPlan:
    plan: Plan
    shapes: Shapes
    seed: Line                                                # d<output> = 1 in its dtype
    why: dict[int, str] = field(default_factory=dict)         # id(line) -> comment above it
    held: dict[int, tuple] = field(default_factory=dict)      # id(line) -> shape it holds
    fresh: set[int] = field(default_factory=set)              # id(line): makes a new array

    @property
    def graph(self) -> Graph:
        return self.plan.graph

    def shape(self, line: Line) -> tuple:
        """The shape of the line's value (a gradient in broadcast form may be smaller)."""
        return self.held.get(id(line), self.shapes.of[line.node])


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
    output = graph.nodes[graph.output]
    seed = Line(output.grad, f"np.ones_like({output.name})", plan.forward[-1].ref,
                node=output.index)
    result = ArrayPlan(plan, shapes, seed)
    held = {output.index: ()}
    contributions: dict[int, list[Line]] = {}
    for group in plan.backward:
        # every contribution to this stage's gradient is planned by now
        _complete(result, group.stage, contributions, held, full=False)
        for line in group.lines:
            line.code = line.local = _vjp(result, line, held, profile)
            contributions.setdefault(line.node, []).append(line)
    for name in wrt:
        _complete(result, graph.input_node(name), contributions, held, full=True)
    for line in plan.zeros:
        line.code = f"np.zeros_like({graph.nodes[line.node].name})"
    _copy_before_accumulating(result)
    return result


def _vjp(result: ArrayPlan, line: Line, held: dict[int, tuple], profile: str) -> str:
    graph, of = result.graph, result.shapes.of
    stage = graph.nodes[line.stage]
    gate = stage.gate
    if not isinstance(gate, ArrayGate):
        # a stage of scalar inputs alone, written as the scalar compiler writes it
        return plan_stage.chain(graph.local_code(stage, line.operand), stage.grad, profile)
    upstream, up_shape = stage.grad, held[stage.index]
    # elementwise gates read a gradient in broadcast form as it is, and so does a
    # reduction when its rank is intact (np.expand_dims puts the axis back)
    reads_compact = gate.broadcasts or (gate.spreads and len(up_shape) == len(of[stage.index]))
    if not reads_compact and up_shape != of[stage.index]:
        upstream, up_shape = f"np.broadcast_to({upstream}, {stage.name}.shape)", of[stage.index]
    template = gate.vjp(line.operand, tuple(len(of[a]) for a in stage.args))
    code = gate.code(template, [graph.operand_text(a) for a in stage.args], stage.name)
    code = code.replace("{up}", upstream)
    operand = of[line.node]
    if gate.spreads:
        result.held[id(line)] = _spread_shape(stage, operand, up_shape, result)
        return code
    if not gate.broadcasts:
        return code
    produced = _produced(stage, template, up_shape, of)
    if _sums_broadcast_form(operand, of[stage.index], produced):
        # summing a gradient in broadcast form would miss its copies: expand it first
        upstream, up_shape = f"np.broadcast_to({upstream}, {stage.name}.shape)", of[stage.index]
        code = gate.code(template, [graph.operand_text(a) for a in stage.args], stage.name)
        code = code.replace("{up}", upstream)
        produced = _produced(stage, template, up_shape, of)
    code, kept, axes = unbroadcast(code, operand, produced)
    if axes:
        result.why[id(line)] = (f"{graph.nodes[line.node].name} is {describe(operand)} but was "
                                f"broadcast to {describe(produced)} in ({line.ref}): sum its "
                                f"gradient over {axes}")
    result.held[id(line)] = kept
    return code


def _produced(stage: Node, template: str, up_shape: tuple, of) -> tuple:
    """The shape of an elementwise VJP: the broadcast of everything it reads."""
    produced = up_shape
    for placeholder in sorted(set(re.findall(r"\{(a|b|out)\}", template))):
        node = stage.index if placeholder == "out" else stage.args[_OPERAND[placeholder]]
        produced = broadcast_shapes(produced, of[node])
    return produced


def _sums_broadcast_form(operand: tuple, output: tuple, produced: tuple) -> bool:
    """Whether the operand's gradient sums over an axis (one the gate broadcast
    the operand along) where `produced` still has size 1 in place of the output's."""
    def pad(shape):
        return (1,) * (len(output) - len(shape)) + tuple(shape)

    return any(o == 1 and out != 1 and p == 1
               for o, out, p in zip(pad(operand), pad(output), pad(produced)))


def _spread_shape(stage: Node, operand: tuple, up_shape: tuple, result: ArrayPlan) -> tuple:
    """A reduction's gradient in broadcast form: the upstream gradient's shape with
    size 1 where the reduced axis was (a scalar for a whole-array reduction)."""
    if len(stage.args) == 1:
        return ()
    axis = int(result.graph.nodes[stage.args[1]].value) % len(operand)
    return up_shape[:axis] + (1,) + up_shape[axis:]


def unbroadcast(code: str, shape: tuple, produced: tuple) -> tuple[str, tuple, str]:
    """Sum a gradient that broadcasting made `produced`-shaped back to `shape`:
    over the leading axes numpy added, and (keeping them) over the axes where
    `shape` has size 1. Returns the code, the shape it now holds (which may
    still be smaller than `shape`: broadcast form) and the axes, said in words."""
    if not shape:
        return (f"np.sum({code})", (), "every axis") if produced else (code, (), "")
    lead = len(produced) - len(shape)
    said = []
    if lead > 0:
        axes = tuple(range(lead))
        code = f"np.sum({code}, axis={axes[0] if lead == 1 else axes})"
        said.append("the leading axis" if lead == 1 else f"the {lead} leading axes")
        produced = produced[lead:]
    offset = len(shape) - len(produced)
    ones = tuple(k for k, d in enumerate(shape)
                 if d == 1 and k >= offset and produced[k - offset] != 1)
    if ones:
        axes = tuple(k - offset for k in ones)
        code = f"np.sum({code}, axis={axes[0] if len(axes) == 1 else axes}, keepdims=True)"
        said.append(("axis " if len(ones) == 1 else "axes ") + ", ".join(map(str, ones)))
        produced = tuple(1 if k + offset in ones else d for k, d in enumerate(produced))
    return code, produced, " and ".join(said)


def _complete(result: ArrayPlan, node: Node, contributions, held, full: bool) -> None:
    """Fix the shape a finished gradient holds. A `+=` cannot grow an array in
    place, so a gradient summed from pieces of different shapes starts from a
    full-shaped first piece; the caller gets every input's gradient full-shaped."""
    lines = contributions.get(node.index, [])
    if not lines:
        return
    shapes = [result.shape(line) for line in lines]
    total: tuple = ()
    for shape in shapes:
        total = broadcast_shapes(total, shape)
    whole = result.shapes.of[node.index]
    if (full and total != whole) or shapes[0] != total:
        lines[0].code = f"np.full_like({node.name}, {lines[0].code})"
        result.fresh.add(id(lines[0]))
        result.held[id(lines[0])] = total = whole
    held[node.index] = total


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
        if line.node in forks and id(line) not in result.fresh:
            stage = result.graph.nodes[line.stage]
            view = isinstance(stage.gate, ArrayGate) and stage.gate.view
            if re.fullmatch(r"[A-Za-z_]\w*", line.code) or view:
                line.code += ".copy()"
