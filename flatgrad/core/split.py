"""Split reverse mode: the gradient plan cut into a forward and a backward function.

The forward function runs the forward lines and returns the output with a
cache; the backward function takes the output's gradient from outside (`df`,
the shape of the output) and the cache, and runs the backward lines. That is a
vector-Jacobian product: it never forms the Jacobian, so the output may be an
array (`D = W @ X`). The cache is exactly the forward values the backward lines
read, found in the lines themselves, in the order the forward pass makes them.
The same split serves the modular layer (`forward` caching on `self`) and the
exports to PyTorch and JAX.
"""
from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass

from .graph import Graph
from .plan import Line, Plan, build
from .styles import Style


@dataclass
class Split:
    plan: Plan                   # the backward lines read `d<output>` as given
    cache: tuple[str, ...]       # the forward values the backward lines read

    @property
    def upstream(self) -> str:
        """The name of the output's gradient, the backward function's first argument."""
        return self.plan.graph.nodes[self.plan.graph.output].grad


def split(graph: Graph, wrt=None, profile: str = "fast", spelling: str = "python",
          elementwise: bool = False, style: Style | None = None) -> Split:
    """`style`: a listing's factor order (core/styles.py); never its
    seed line, since the output's gradient is the backward function's argument."""
    if style is not None and style.seed:
        style = dataclasses.replace(style, seed=False)
    plan = build(graph, wrt, profile, spelling, elementwise, vjp=True, style=style)
    return Split(plan, cache_of(plan))


def cache_of(plan: Plan) -> tuple[str, ...]:
    """The inputs and stages whose values the backward lines read."""
    read: set[str] = set()
    for line in plan.backward_lines:
        read |= names_read(line)
    read -= set(plan.graph.globals.values())   # math, np, the helpers
    # an entry w[0] is read through its list w: the list is cached, where its first
    # entry comes in the forward pass
    names = (node.name.split("[")[0] for node in plan.graph.nodes
             if node.kind in ("input", "stage"))
    return tuple(name for name in dict.fromkeys(names) if name in read)


def names_read(line: Line) -> set[str]:
    """The names a line's code reads."""
    return {node.id for node in ast.walk(ast.parse(line.code, mode="eval"))
            if isinstance(node, ast.Name)}
