"""The backward plan: the forward pass reversed, one line per local gradient.

For every stage, from the output back to the inputs, each operand that depends
on a differentiated input gets the line `d<operand> = <local> * d<stage>`; the
first contribution to a gradient assigns it and every later one adds to it
(`+=`), because a value used in several places (a fork) sums the gradients
flowing back from each use. Work for inputs outside `wrt` is pruned.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .errors import FlatgradError
from .graph import Graph, Node

PROFILES = ("fast", "teach")


@dataclass
class Line:
    target: str
    code: str
    ref: int                 # the forward line (k) it belongs to
    accumulate: bool = False
    node: int = -1           # the node whose value or gradient the line computes
    stage: int = -1          # for a backward line, the stage it backprops
    operand: int = -1        # and which of that stage's operands
    local: str = ""          # the local gradient, as a formula of cached values
    upstream: str = ""       # the upstream gradient's name ("" at the output: it is 1)
    value: float | None = None
    local_value: float | None = None   # at a point: the local gradient's value
    share: float | None = None         # and this line's contribution (local * upstream)

    @property
    def text(self) -> str:
        return f"{self.target} {'+=' if self.accumulate else '='} {self.code}"


@dataclass
class Group:
    stage: Node
    header: str
    lines: list[Line]


@dataclass
class Plan:
    graph: Graph
    wrt: tuple[str, ...]
    profile: str
    forward: list[Line]
    backward: list[Group]
    zeros: list[Line] = field(default_factory=list)

    @property
    def grads(self) -> tuple[str, ...]:
        return tuple(self.graph.input_node(name).grad for name in self.wrt)

    @property
    def backward_lines(self) -> list[Line]:
        return [line for group in self.backward for line in group.lines] + self.zeros

    def forks(self) -> dict[int, int]:
        """Nodes whose gradient is summed from more than one line, with the line count."""
        counts: dict[int, int] = {}
        for line in self.backward_lines:
            if line.stage >= 0:
                counts[line.node] = counts.get(line.node, 0) + 1
        return {node: n for node, n in counts.items() if n > 1}


def build(graph: Graph, wrt=None, profile: str = "fast") -> Plan:
    if profile not in PROFILES:
        raise FlatgradError(f"unknown profile {profile!r}; choose one of {PROFILES}")
    wrt = _check_wrt(graph, wrt)
    stages = graph.stages
    ref = {node.index: k for k, node in enumerate(stages, start=1)}
    forward = [Line(node.name, graph.forward_code(node, profile), ref[node.index],
                    node=node.index) for node in stages]
    # the notes' spelling of each stage, for the `# backprop` headers
    notes = {line.node: line.code if graph.nodes[line.node].gate.forward_form(profile)
             == graph.nodes[line.node].gate.forward else None for line in forward}

    # A node needs a gradient when it depends on a differentiated input.
    needs = [False] * len(graph.nodes)
    differentiated = set(wrt)
    for node in graph.nodes:
        needs[node.index] = (node.name in differentiated) if node.kind == "input" else \
            any(needs[a] for a in node.args)

    assigned: set[int] = set()
    backward = []
    # Whether a local gradient needs parentheses before `* dup` depends on its
    # template alone (operands are names or parenthesised constants): decide
    # once per template, not once per line.
    tight: dict[str, bool] = {}
    for node in reversed(stages):
        if not needs[node.index]:
            continue
        upstream = "" if node.index == graph.output else node.grad
        lines = []
        for i, arg in enumerate(node.args):
            if not needs[arg] or node.gate.local[i] is None:
                continue
            local = graph.local_code(node, i, profile)
            template = node.gate.local_form(i, profile)
            if template not in tight:
                tight[template] = _binds_tighter_than_times(
                    node.gate.code(template, ["a", "b"][:node.gate.arity], "out"))
            lines.append(Line(graph.nodes[arg].grad,
                              chain(local, upstream, profile, tight[template]),
                              ref[node.index], arg in assigned, node=arg, stage=node.index,
                              operand=i, local=local, upstream=upstream))
            assigned.add(arg)
        header = notes[node.index] or graph.forward_code(node)
        backward.append(Group(node, f"{node.name} = {header}", lines))

    zeros = [Line(graph.input_node(name).grad, "0.0", 0, node=graph.input_node(name).index)
             for name in wrt if graph.input_node(name).index not in assigned]
    return Plan(graph, wrt, profile, forward, backward, zeros)


def chain(local: str, upstream: str, profile: str, tight: bool | None = None) -> str:
    """One chain-rule product: the local gradient times the upstream gradient.

    `teach` writes it as the notes do, `(local) * dup`. `fast` drops a unit
    factor and the parentheses where Python's left-to-right evaluation gives
    the very same float operations, so both profiles compute identical numbers.
    """
    if not upstream:  # at the output, where the upstream gradient is 1
        return {"1": "1.0", "-1": "-1.0"}.get(local, local)
    if profile == "teach":
        return f"({local}) * {upstream}"
    if local == "1":
        return upstream
    if local == "-1":
        return f"-{upstream}"
    # a routing gate's 0/1 choice routes the upstream gradient (a nested choice,
    # abs's 1 / -1 / 0, does not: it must stay a product)
    routed = local[:7] in ("1.0 if ", "0.0 if ") and \
        re.fullmatch(r"(1\.0|0\.0) if (.*) else (1\.0|0\.0)", local)
    if routed and {routed.group(1), routed.group(3)} == {"1.0", "0.0"} \
            and " else " not in routed.group(2):
        yes, no = (upstream, "0.0") if routed.group(1) == "1.0" else ("0.0", upstream)
        return f"{yes} if {routed.group(2)} else {no}"
    if tight if tight is not None else _binds_tighter_than_times(local):
        return f"{local} * {upstream}"
    return f"({local}) * {upstream}"


def _binds_tighter_than_times(code: str) -> bool:
    # `code` is flatgrad's own text, built from validated names and the gate table.
    tree = ast.parse(code, mode="eval").body
    if isinstance(tree, ast.BinOp):
        return isinstance(tree.op, (ast.Mult, ast.Div, ast.Pow))
    return isinstance(tree, (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.UnaryOp))


def _check_wrt(graph: Graph, wrt) -> tuple[str, ...]:
    if wrt is None:
        return graph.inputs
    if isinstance(wrt, str):
        wrt = tuple(w.strip() for w in wrt.split(",") if w.strip())
    wrt = tuple(wrt)
    for name in wrt:
        if name not in graph.inputs:
            raise FlatgradError(f"cannot differentiate with respect to {name!r}: "
                                f"the inputs are {', '.join(graph.inputs) or 'none'}")
    if len(set(wrt)) != len(wrt):
        raise FlatgradError(f"wrt names an input twice: {wrt}")
    return wrt


@contextmanager
def _naming_the_line(line: Line, domain: str, point) -> Iterator[None]:
    try:
        yield
    except (ArithmeticError, ValueError) as err:
        what = f"{domain} ({err})" if domain else str(err)
        at = ", ".join(f"{name}={value:g}" for name, value in point.items())
        where = f"stage ({line.ref}) {line.text}" if line.stage < 0 else \
            f"the gradient line {line.text}, backprop of stage ({line.ref})"
        raise FlatgradError(f"{what} at {where}, evaluated at {at}") from None


def evaluate(plan: Plan, point: dict[str, float]) -> dict[str, float]:
    """Fill in every line's value at `point`, computed with the gate table's own
    formulas (the same float operations as the generated code). Returns the
    final value of every named variable."""
    graph = plan.graph
    values: dict[int, float] = {}
    for node in graph.nodes:
        if node.kind == "input":
            values[node.index] = float(point[node.name])
        elif node.kind == "const":
            values[node.index] = node.value
    for line in plan.forward:
        node = graph.nodes[line.node]
        with _naming_the_line(line, node.gate.domain, point):
            values[node.index] = line.value = node.gate.forward_fn_in(plan.profile)(
                *[values[a] for a in node.args], None)
    grads: dict[int, float] = {}
    for line in plan.backward_lines:
        if line.stage < 0:
            line.value = grads[line.node] = 0.0
            continue
        stage = graph.nodes[line.stage]
        with _naming_the_line(line, "", point):
            local = stage.gate.local_fn(line.operand, plan.profile)(
                *[values[a] for a in stage.args], values[stage.index])
        contribution = local if stage.index == graph.output else local * grads[stage.index]
        line.local_value, line.share = local, contribution
        grads[line.node] = grads[line.node] + contribution if line.accumulate else contribution
        line.value = grads[line.node]
    named = {graph.nodes[i].name: v for i, v in values.items() if graph.nodes[i].kind != "const"}
    named.update({graph.nodes[i].grad: g for i, g in grads.items()})
    return named
