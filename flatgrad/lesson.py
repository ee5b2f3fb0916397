"""What a handout teaches, read off a plan evaluated at a point.

A `Lesson` holds the numbers and the structure (forward rows, backward rows,
forks, the patterns that occur) but no formatting: handout.py typesets it as
HTML or Markdown, worksheet.py blanks parts of it. Every number comes from
`plan.evaluate`, which computes with the gate table's own formulas.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from . import gates as gate_table
from .plan import Plan, evaluate
from .parse import pretty_statements
from .typeset import program_trees


@dataclass
class ForwardRow:
    ref: int
    name: str
    code: str
    gate: str
    value: float
    blank: bool = False          # set by a worksheet


@dataclass
class BackwardRow:
    ref: int                     # the forward line (k) it backprops; 0 for a zero gradient
    target: str
    accumulate: bool
    code: str                    # the right-hand side
    local: str                   # the local gradient's formula ("" for a zero gradient)
    local_value: float | None
    upstream: str                # "" at the output, where the upstream gradient is 1
    upstream_value: float | None
    value: float                 # the gradient after this line
    reason: str = ""             # why it adds, at a fork
    blank: bool = False          # set by a worksheet

    @property
    def text(self) -> str:
        return f"{self.target} {'+=' if self.accumulate else '='} {self.code}"


@dataclass
class Statement:
    lhs: str              # a stage's name, or f(x, y) for the output
    tree: ast.expr        # the right-hand side, to typeset
    text: str             # and as the formula is written, for where math will not do


@dataclass
class Pattern:
    kind: str
    notes: list[str]
    stages: list[str]


@dataclass
class Lesson:
    plan: Plan
    point: dict[str, float]
    function: str                          # f(x, y)
    statements: list[Statement]
    forward: list[ForwardRow]
    backward: list[BackwardRow]
    output: tuple[str, float]
    gradients: list[tuple[str, str, float]]   # (input, gradient name, value)
    patterns: list[Pattern] = field(default_factory=list)


def build(plan: Plan, point: dict[str, float]) -> Lesson:
    graph = plan.graph
    values = evaluate(plan, point)
    output = graph.nodes[graph.output]
    function = f"{output.name}({', '.join(graph.inputs)})"

    statements = []
    texts = pretty_statements(graph.program)
    for (target, tree), text in zip(program_trees(graph.program), texts):
        statements.append(Statement(target or function, tree,
                                    text.split(" = ", 1)[1] if target else text))
    statements[-1].lhs = function

    forward = [ForwardRow(line.ref, line.target, line.code, graph.nodes[line.node].gate.name,
                          line.value) for line in plan.forward]
    uses = plan.forks()
    backward = []
    for line in plan.backward_lines:
        reason = ""
        if line.accumulate:
            reason = (f"{graph.nodes[line.node].name} is used in {uses[line.node]} places, "
                      f"so its gradient adds")
        # at the output the upstream gradient is 1; a zero gradient has none
        upstream_value = values[line.upstream] if line.upstream else \
            (1.0 if line.stage >= 0 else None)
        backward.append(BackwardRow(line.ref, line.target, line.accumulate, line.code,
                                    line.local, line.local_value, line.upstream,
                                    upstream_value, line.value, reason))
    gradients = [(name, grad, values[grad]) for name, grad in zip(plan.wrt, plan.grads)]
    return Lesson(plan, dict(point), function, statements, forward, backward,
                  (output.name, values[output.name]), gradients, _patterns(plan))


def _patterns(plan: Plan) -> list[Pattern]:
    """One pattern per gate kind in the circuit, with the stages that show it, in
    the order they first occur; and the fork rule when a value forks."""
    by_kind: dict[str, Pattern] = {}
    for node in plan.graph.stages:
        gate = node.gate
        pattern = by_kind.setdefault(gate.kind, Pattern(gate.kind, [], []))
        if gate.note not in pattern.notes:
            pattern.notes.append(gate.note)
        pattern.stages.append(node.name)
    patterns = list(by_kind.values())
    forks = plan.forks()
    if forks:
        patterns.append(Pattern("fork", [gate_table.FORK],
                                [plan.graph.nodes[n].name for n in sorted(forks)]))
    return patterns
