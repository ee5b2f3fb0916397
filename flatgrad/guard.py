"""Run-time errors that name their stage instead of a bare "math domain error".

The generated functions run their lines inside one try/except (free in CPython
3.11 while nothing fails). When a line fails, a small helper in the module looks
its line number up in a table at the end of the module and raises the same
exception type again, saying what went wrong, at which stage, in which formula:

    ValueError: log of zero or a negative number (math domain error) at stage (3)
    logx = math.log(x), in f(x, y) = log(x)*y

This module prepares that table from the rendered text and the plan.
"""
from __future__ import annotations

from .plan import Plan

TRY_LINE = "    try:"


def stage_lines(plan: Plan, rename) -> list[tuple[str, str, str]]:
    """(code, what, where) for every line that can fail, in module order:
    `f`'s forward pass, then `f_and_grad`'s forward and backward passes.
    `rename` maps plan text to the module's names for math and the helpers."""
    graph = plan.graph
    forward = []
    for line in plan.forward:
        code = rename(line.text)
        forward.append((code, graph.nodes[line.node].gate.domain, f"stage ({line.ref}) {code}"))
    backward = []
    for group in plan.backward:
        for line in group.lines:
            code = rename(line.text)
            backward.append((code, "", f"the gradient line {code}, backprop of stage "
                                       f"({line.ref})"))
    return forward + forward + backward


def table(source: str, expected: list[tuple[str, str, str]], tagged: list[str]) -> list[str]:
    """The entries `line number: (what, where)` of the module's STAGES table.

    `tagged` is how each expected line is printed (with its `# (k)` tag); the
    lines are found in order, from the first function's `try:` on, so no
    docstring or comment can be taken for one of them."""
    lines = source.split("\n")
    position = lines.index(TRY_LINE) + 1
    entries = []
    for (code, what, where), printed in zip(expected, tagged):
        printed = printed.strip()
        while lines[position].strip() != printed:
            position += 1
        position += 1
        entries.append(f"{position}: ({what!r}, {where!r}),")
    return entries
