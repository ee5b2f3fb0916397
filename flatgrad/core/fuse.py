"""One line per statement: a plan transformation for the notes' first examples.

The notes write the neuron's `dot = w[0]*x[0] + w[1]*x[1] + w[2]` as one line and
backprop it in one step, `dx = [w[0] * ddot, w[1] * ddot]`: the adds and products
inside a statement are not staged apart. Here a statement the user named becomes
one forward line where its gradient reads nothing but the statement's own leaves
(inputs, constants, other named stages) and, for the statement itself, its output:
each leaf's local gradient is then the product of the local gradients along its
one path through the statement (unit factors dropped), `x[0]` for `w[0]` above.
A statement whose inner stages are read twice, or whose inner local gradients
read an inner value (a sigmoid inside a sum), stays staged as it is.
"""
from __future__ import annotations

import ast

from .graph import Node
from .plan import Line, Plan, _binds_tighter_than_times, _fill, _operands, chain

_PLACEHOLDERS = {"{a}": 0, "{b}": 1}


def fuse(plan: Plan) -> None:
    graph = plan.graph
    if plan.over_arrays:
        return
    uses = [0] * len(graph.nodes)
    for node in graph.stages:
        for arg in node.args:
            uses[arg] += 1
    fused: dict[int, set[int]] = {}
    for node in graph.stages:
        if node.label is None or node.index in {i for inner in fused.values() for i in inner}:
            continue
        inner = _inner(graph, node, uses)
        if inner and _reads_only_leaves(plan, node, inner):
            fused[node.index] = inner
    if not fused:
        return
    gone = set().union(*fused.values())
    groups = {group.stage.index: group for group in plan.backward}
    needed = {line.node for group in plan.backward for line in group.lines}
    for index, inner in fused.items():
        node = graph.nodes[index]
        line = next(line for line in plan.forward if line.node == index)
        line.code = _expression(plan, node, inner)
        group = groups.get(index)
        if group is None:
            continue
        group.header = f"{node.name} = {line.code}"
        upstream = group.lines[0].upstream if group.lines else node.grad
        group.lines = [
            Line(graph.nodes[leaf].grad, chain(local, upstream, plan.profile, plan.style),
                 0, node=leaf, stage=index, operand=-1, local=local, upstream=upstream)
            for leaf, local in _leaf_locals(plan, node, inner) if leaf in needed]
    plan.forward = [line for line in plan.forward if line.node not in gone]
    plan.backward = [group for group in plan.backward if group.stage.index not in gone]
    _renumber(plan)


def _inner(graph, node: Node, uses) -> set[int]:
    """The unnamed stages inside `node`'s statement that nothing else reads."""
    inner: set[int] = set()
    pending = list(node.args)
    while pending:
        arg = graph.nodes[pending.pop()]
        if arg.kind == "stage" and arg.label is None and uses[arg.index] == 1 \
                and arg.index != graph.output:
            inner.add(arg.index)
            pending.extend(arg.args)
    return inner


def _reads_only_leaves(plan: Plan, node: Node, inner: set[int]) -> bool:
    graph = plan.graph
    for index in inner | {node.index}:
        stage = graph.nodes[index]
        for i in range(len(stage.args)):
            local = stage.gate.local_form(i, plan.profile)
            if local is None:
                continue
            if "{out}" in local and index != node.index:
                return False
            if any(placeholder in local and stage.args[j] in inner
                   for placeholder, j in _PLACEHOLDERS.items() if j < len(stage.args)):
                return False
    leaves = [leaf for leaf, _ in _leaf_locals(plan, node, inner)]
    return len(leaves) == len(set(leaves))   # one path to each leaf


def _leaf_locals(plan: Plan, node: Node, inner: set[int]) -> list[tuple[int, str]]:
    """Each leaf the statement reads (left to right), with the product of the local
    gradients along its path."""
    graph = plan.graph
    found = []

    def walk(stage: Node, factors: list[str]) -> None:
        for i, arg in enumerate(stage.args):
            local = stage.gate.local_form(i, plan.profile)
            if local is None or graph.nodes[arg].kind == "const":
                continue
            path = factors + [_fill(graph, stage, local)]
            if arg in inner:
                walk(graph.nodes[arg], path)
            else:
                found.append((arg, _product(path)))

    walk(node, [])
    return found


def _product(factors: list[str]) -> str:
    sign = 1
    kept = []
    for factor in factors:
        if factor in ("1", "-1"):
            sign = -sign if factor == "-1" else sign
            continue
        kept.append(factor if _binds_tighter_than_times(factor) else f"({factor})")
    if not kept:
        return "1" if sign > 0 else "-1"
    text = " * ".join(kept)
    return text if sign > 0 else f"-{text}" if len(kept) == 1 else f"-({text})"


def _expression(plan: Plan, node: Node, inner: set[int]) -> str:
    """The statement as one expression, in the profile's forms, parentheses only
    where Python needs them."""
    graph = plan.graph

    def text(stage: Node) -> str:
        operands = [f"({text(graph.nodes[arg])})" if arg in inner else operand
                    for arg, operand in zip(stage.args, _operands(graph, stage))]
        template = stage.gate.forward_form(plan.profile)
        return stage.gate.code(template, operands, stage.name)

    spelled = ast.unparse(ast.parse(text(node), mode="eval"))
    return spelled.replace(" ** ", "**")   # as the table writes a power


def _renumber(plan: Plan) -> None:
    """Number the remaining forward lines (1), (2) ... again, and mark `+=` anew."""
    numbers = {line.ref: k for k, line in enumerate(plan.forward, start=1)}
    by_node = {line.node: k for k, line in enumerate(plan.forward, start=1)}
    for line in plan.forward:
        line.ref = numbers[line.ref]
    if plan.seed:
        plan.seed.ref = by_node[plan.seed.node]
    assigned: set[str] = set()
    for group in plan.backward:
        for line in group.lines:
            line.ref = by_node[group.stage.index]
            line.accumulate = line.target in assigned
            assigned.add(line.target)
