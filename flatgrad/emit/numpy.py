"""The numpy target: every line a whole-array operation.

It prints two kinds of program from the same plan. An array program (inputs
with declared shapes) gets the shape of every line in its tag, a comment where a
gradient is summed back over broadcast axes, and gradients of its inputs' own
shapes. A scalar formula run over arrays (`--target numpy`) works element by
element over inputs that broadcast together, and returns one value and one
gradient per point.
"""
from __future__ import annotations

import ast
import dataclasses
import textwrap

from ..core.plan import Line, Plan
from ..core.shapes import describe
from . import (Emitted, Passes, header, helpers, import_line, imports_math, module_names,
               render, signature, tagged)

SPELLING = "numpy"
ELEMENTWISE = True   # a scalar formula compiled for this target runs over arrays


def emit(plan: Plan, with_values: bool = False) -> Emitted:
    graph = plan.graph
    elementwise = not graph.has_arrays
    printer = (lambda lines: tagged(plan, [_rebinding(line) for line in lines], with_values)) \
        if elementwise else None
    passes = Passes(plan, with_values, printer)
    used = helpers(plan, passes.code, SPELLING)
    uses_math = imports_math(plan, passes.code + "\n".join(used))
    # math for erf and for what must stay a Python float (log 2 in a gradient, stages
    # of scalars alone): unlike numpy's float64 scalars, it never widens float32 arrays
    needs = "numpy and Python's math module" if uses_math else "numpy"
    context = {
        "header": header(plan, needs + ("" if elementwise else ". Works in the inputs' own "
                                        "dtype (float32 stays float32)"))
        + (["Arrays: every line works on whole numpy arrays that broadcast together."]
           if elementwise else []),
        "import_math": import_line("math", graph.globals["math"]) if uses_math else "",
        "import_numpy": import_line("numpy", graph.globals["np"]),
        "np": graph.globals["np"],
        "helpers": used,
        "elementwise": elementwise,
        "shape_doc": [] if elementwise else _shape_doc(plan),
        **signature(plan),
    }
    if elementwise:
        names = module_names(plan, ["full", "shape"])
        full, shape = names["full"], names["shape"]
        context.update(full=full, shape=shape,
                       shapes=", ".join(f"{context['np']}.shape({n})" for n in graph.inputs),
                       full_grads=", ".join(f"{full}({g}, {shape})" for g in plan.grads)
                       + ("," if len(plan.grads) == 1 else ""))
    return render("numpy.py.j2", context, passes)


def _rebinding(line: Line) -> Line:
    """`dx += ...` as `dx = dx + ...`: over arrays that broadcast together an
    in-place add can neither grow dx nor leave alone an array another name shares."""
    if not line.accumulate:
        return line
    code = f"{line.target} + ({line.code})" if _loose(line.code) else \
        f"{line.target} + {line.code}"
    return dataclasses.replace(line, code=code, accumulate=False)


def _loose(code: str) -> bool:
    """Whether `code` needs parentheses after `dx + ` to keep its own order."""
    tree = ast.parse(code, mode="eval").body
    return isinstance(tree, ast.BinOp) and isinstance(tree.op, (ast.Add, ast.Sub)) \
        or isinstance(tree, (ast.IfExp, ast.Compare, ast.BoolOp))


def _shape_doc(plan: Plan) -> list[str]:
    graph = plan.graph
    shapes = [f"{name}: {'integer labels ' if name in graph.integer else ''}"
              f"{describe(graph.shape_of(name))}" for name in graph.inputs]
    return textwrap.wrap("Shapes: " + ", ".join(shapes) + ".", 88) if shapes else []
