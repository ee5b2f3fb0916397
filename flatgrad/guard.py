"""Run-time errors that name their stage instead of a bare "math domain error".

The generated functions run their lines inside one try/except (free in CPython
3.11 while nothing fails). When a line fails, a small helper in the module looks
its line number up in a table at the end of the module and raises the same
exception type again, saying what went wrong, at which stage, in which formula:

    ValueError: log of zero or a negative number (math domain error) at stage (1)
    logx = math.log(x), in f(x, y) = log(x) * y

Only lines that can raise are listed: float +, - and * never do (they give inf
or nan), while a division, a power or a call can. A function none of whose lines
can raise gets no try/except at all. This module prepares the table from the
plan and the rendered text.
"""
from __future__ import annotations

import re

from .plan import Line, Plan

CAN_RAISE = re.compile(r"/|\*\*|\w\(")
TRY_LINE = "    try:"


def failing_lines(plan: Plan, forward: list[str], backward: list[str], rename):
    """(printed line, what, where) for the forward and the backward lines that can
    raise; `forward`/`backward` are the lines as printed, `rename` maps plan text
    to the module's own names for math and the helpers."""
    graph = plan.graph
    lines: list[Line] = [line for group in plan.backward for line in group.lines]
    first = [(printed, graph.nodes[line.node].gate.domain,
              f"stage ({line.ref}) {rename(line.text)}")
             for line, printed in zip(plan.forward, forward) if CAN_RAISE.search(line.code)]
    second = [(printed, "", f"the gradient line {rename(line.text)}, {_backprop(line)}")
              for line, printed in zip(lines, backward) if CAN_RAISE.search(line.code)]
    return first, second


def _backprop(line: Line) -> str:
    return f"backprop of stage ({line.ref})"


def table(source: str, expected: list[tuple[str, str, str]]) -> list[str]:
    """The entries `line number: (what, where)` of the module's STAGES table.

    The printed lines (each with its `# (k)` tag) are found in order from the
    first `try:` on, so no docstring or comment can be taken for one of them."""
    lines = source.split("\n")
    position = lines.index(TRY_LINE) + 1 if expected else 0
    entries = []
    for printed, what, where in expected:
        printed = printed.strip()
        while lines[position].strip() != printed:
            position += 1
        position += 1
        entries.append(f"{position}: ({what!r}, {where!r}),")
    return entries
