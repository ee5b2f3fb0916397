"""What a handout teaches, read off a plan evaluated at a point.

A `Lesson` holds the numbers and the structure (forward rows, backward rows,
forks, the patterns that occur) but no formatting: handout.py typesets it as
HTML or Markdown, worksheet.py blanks parts of it. Every number comes from
`plan.evaluate`, which computes with the gate table's own formulas.

Over arrays a value is a numpy array, every row knows its shape, and a backward
line of a gate over whole arrays (`@`, `sum`, `softmax_loss` ...) is a
vector-Jacobian product: it has no local gradient of its own (no Jacobian is
formed), only its VJP, and beside the gradient of a product the dimension
analysis that picks it (dW must be [H x D] like W, so it is dD @ X.T).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

from ..core import gates as gate_table
from ..core.plan import Line, Plan, evaluate
from ..core.parse import pretty_statements
from ..core.shapes import describe
from ..errors import FlatgradError
from .typeset import program_trees


@dataclass
class ForwardRow:
    ref: int
    name: str
    code: str
    gate: str
    value: float                 # a numpy array over arrays
    blank: bool = False          # set by a worksheet
    shape: tuple = ()            # () for a scalar


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
    shape: tuple = ()            # the shape the line's value holds
    full_shape: tuple = ()       # and its variable's (larger for a gradient in broadcast form)
    vjp: bool = False            # `local` is the VJP of a gate over whole arrays
    why: str = ""                # why a gradient is summed back to its operand's shape
    dimensions: str = ""         # the dimension analysis that picks a product's VJP

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
    arrays: bool = False                   # a program over arrays: rows have shapes


def is_vjp(line: Line) -> bool:
    """Whether the line's `local` is the VJP of a gate over whole arrays (it reads
    the upstream gradient) rather than a local gradient."""
    return "{up}" in line.local


def build(plan: Plan, point: dict[str, float]) -> Lesson:
    graph = plan.graph
    if plan.profile == "lean":
        raise FlatgradError("the lean profile folds the lines a lesson explains one by one "
                            "into others: use the fast or teach profile (--profile fast)")
    if graph.has_arrays:   # array values may come as lists
        point = {name: np.asarray(value) if name in graph.inputs and graph.shape_of(name)
                 else value for name, value in point.items()}
    values = evaluate(plan, point)
    output = graph.nodes[graph.output]
    function = f"{output.name}({', '.join(graph.inputs)})"

    statements = []
    texts = pretty_statements(graph.program)
    for (target, tree), text in zip(program_trees(graph.program, graph.level), texts):
        statements.append(Statement(target or function, tree,
                                    text.split(" = ", 1)[1] if target else text))
    statements[-1].lhs = function

    forward = [ForwardRow(line.ref, line.target, line.code, graph.nodes[line.node].gate.name,
                          line.value, shape=graph.nodes[line.node].shape)
               for line in plan.forward]
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
        vjp = is_vjp(line)
        # a VJP is shown with the upstream gradient it reads: dD @ X.T
        local = line.local.replace("{up}", line.upstream) if vjp else line.local
        backward.append(BackwardRow(line.ref, line.target, line.accumulate, line.code,
                                    local, line.local_value, line.upstream,
                                    upstream_value, line.value, reason,
                                    shape=plan.shape(line),
                                    full_shape=graph.nodes[line.node].shape, vjp=vjp,
                                    why=line.why, dimensions=dimensions(plan, line)))
    gradients = [(name, grad, values[grad]) for name, grad in zip(plan.wrt, plan.grads)]
    return Lesson(plan, dict(point), function, statements, forward, backward,
                  (output.name, values[output.name]), gradients, _patterns(plan),
                  graph.has_arrays)


def dimensions(plan: Plan, line: Line) -> str:
    """The dimension analysis behind the VJP of a product over arrays, as the
    CS231n notes reason about matmul: the gradient has its operand's shape, and
    the VJP is what the upstream gradient and the other operand make of that
    shape ("dW must be [H x D] like W, so from dD [H x N] and X [D x N] it is
    dD @ X.T"). Read off the gate's VJP: it is said for a gate over whole arrays
    whose VJP combines the upstream gradient with another operand (not a
    labels operand); "" for every other line."""
    if line.stage < 0 or not is_vjp(line):
        return ""
    graph = plan.graph
    stage = graph.nodes[line.stage]
    gate = stage.gate
    if gate.elementwise:
        return ""
    ranks = tuple(len(graph.nodes[a].shape) for a in stage.args)
    template = gate.vjp_form(line.operand, ranks) or ""
    at = {"{up}": template.find("{up}")}
    for j, arg in enumerate(stage.args):
        placeholder = "{" + "ab"[j] + "}"
        if j != line.operand and j not in gate.labels and placeholder in template \
                and graph.nodes[arg].kind != "const":
            at[placeholder] = template.find(placeholder)
    if len(at) < 2 or at["{up}"] < 0:
        return ""
    factors = []
    for placeholder in sorted(at, key=at.get):
        node = stage if placeholder == "{up}" else graph.nodes[stage.args["ab".index(
            placeholder[1])]]
        name = line.upstream if placeholder == "{up}" else node.name
        factors.append(f"{name} {_shape_words(node.shape)}")
    operand = graph.nodes[line.node]
    vjp = line.local.replace("{up}", line.upstream)
    return (f"{line.target} must be {_shape_words(operand.shape)} like {operand.name}, so "
            f"from {' and '.join(factors)} it is {vjp}")


def _shape_words(shape: tuple) -> str:
    return describe(shape) if shape else "(a scalar)"


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
