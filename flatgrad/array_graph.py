"""Staging a program over arrays: the scalar stager with the numpy gate table.

Parsing, staging, CSE, gate expansions and naming are those of the scalar
path (graph.py); this stager only swaps in the array table (array_gates.py),
lets a call choose its gate by its number of operands (`sum(X)` or
`sum(X, axis)`), and infers every node's shape (shapes.py).
"""
from __future__ import annotations

from . import array_gates
from . import gates as scalar_gates
from . import graph as graph_stage
from . import shapes as shape_stage
from .parse import Apply, Program, Token


class ArrayStager(graph_stage.Stager):
    table = array_gates.GATES
    token: Token | None = None

    def lookup(self, name: str, nargs: int):
        return array_gates.lookup(name, nargs)

    def callable_names(self) -> list[str]:
        return array_gates.CALLABLE

    def _apply(self, item: Apply, args: list[int]) -> int:
        # the gates an expansion stages (a / b -> a * (1 / b)) point at the call
        # that made them, so a shape error there still has its caret
        self.token = item.token
        return super()._apply(item, args)

    def gate(self, name: str, *args: int, expand: bool = True, token: Token | None = None) -> int:
        return super().gate(name, *args, expand=expand, token=token or self.token)

    def _fold(self, gate, args, token) -> int:
        # constants are scalars: fold them with the scalar gate, as the scalar path does
        if gate.name not in scalar_gates.GATES:
            raise self.program.error(f"{gate.name} needs an array operand, not constants", token)
        return super()._fold(scalar_gates.GATES[gate.name], args, token)


def stage(program: Program, declared: dict[str, tuple], inputs=None, level: str = "staged",
          naming: str = "cs231n", grad_prefix: str = "d", function: str = "f"):
    """Stage an array program; returns the graph and the shapes of its nodes."""
    if function in array_gates.GLOBAL_NAMES + scalar_gates.GLOBAL_NAMES:
        raise program.error(f"the function cannot be named {function!r}: the generated numpy "
                            "code uses that name", None)
    graph = graph_stage.stage(program, inputs=inputs, level=level, naming=naming,
                              grad_prefix=grad_prefix, function=function, stager=ArrayStager)
    reserved = array_gates.GLOBAL_NAMES + scalar_gates.GLOBAL_NAMES
    taken = {n.name for n in graph.nodes} | {n.grad for n in graph.nodes} | {function}
    for node in graph.nodes:
        if node.name in reserved:
            if node.kind == "input" or node.label == node.name:
                raise program.error(f"{node.name!r} names a module global of the generated "
                                    "numpy code; choose another name", node.token)
            node.name = graph_stage._fresh(node.name, taken)
            taken.add(node.name)
    shapes = shape_stage.infer(graph, declared)
    _scalar_stages_as_scalars(graph, shapes)
    return graph, shapes


def _scalar_stages_as_scalars(graph, shapes) -> None:
    """Write a stage computed from scalar inputs and constants alone with its scalar
    gate (math.sin, not np.sin): numpy turns a Python float into a float64 scalar,
    which would widen every float32 array it meets."""
    of_scalars: set[int] = set()
    for node in graph.nodes:
        if node.kind == "const" or (node.kind == "input" and not shapes.of[node.index]):
            of_scalars.add(node.index)
        elif node.kind == "stage" and all(a in of_scalars for a in node.args):
            if node.gate.name not in scalar_gates.GATES:
                raise graph.program.error(
                    f"{node.gate.name} needs an array: here it gets scalars only",
                    node.token, hint="a sum or mean of one number is the number itself")
            node.gate = scalar_gates.GATES[node.gate.name]
            of_scalars.add(node.index)
