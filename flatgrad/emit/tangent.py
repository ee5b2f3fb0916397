"""The modes that transform the plan into tangent lines, for the python and numpy targets.

`--mode forward` writes `f_jvp(x, y, x_dot, y_dot) -> (f, f_dot)`; `--mode hvp`
writes `f_hvp(x, y, x_dot, y_dot)`, the Hessian times the direction (the
gradients' tangents); `--mode hessian` writes `f_hvp` and `f_hessian(x, y)`,
which calls it once per unit direction. The lines are printed as every
target prints them (`# (k)` tags, shapes over arrays); one template,
templates/tangent.py.j2, lays the functions out.
"""
from __future__ import annotations

import re

from ..core import tangent as tangent_stage
from ..core.shapes import describe
from ..core.tangent import TangentPlan
from .numpy import _rebinding
from . import (Emitted, environment, header, helpers, import_line, imports_math, line_map,
               module_names, signature, tagged)

FUNCTIONS = {"forward": ("jvp",), "hvp": ("hvp",), "hessian": ("hvp", "hessian")}


def transform(plan, mode: str) -> TangentPlan:
    """The plan transformed for `mode` (forward, hvp or hessian)."""
    if mode == "forward":
        return tangent_stage.forward(plan)
    return tangent_stage.hvp(plan, mode)


def function_names(plan, mode: str) -> dict[str, str]:
    """The generated functions' names (f_jvp ...), clear of every variable."""
    wanted = {suffix: f"{plan.graph.function}_{suffix}" for suffix in FUNCTIONS[mode]}
    names = module_names(plan, wanted.values())
    return {suffix: names[name] for suffix, name in wanted.items()}


def emit(tangents: TangentPlan, with_values: bool = False) -> Emitted:
    plan = tangents.base
    graph = plan.graph
    numpy = plan.spelling == "numpy"
    elementwise = numpy and not graph.has_arrays
    # over arrays of points `dx += ...` is `dx = dx + ...`, as the numpy target writes it
    pairs = tagged(plan, [_rebinding(line) for line in tangents.lines] if elementwise
                   else tangents.lines, with_values)
    code = "\n".join(text for line, text in pairs if line is not None)
    used = helpers(plan, code, plan.spelling)
    uses_math = imports_math(plan, code + "\n".join(used))
    np_ = graph.globals["np"]
    output = graph.nodes[graph.output]
    zero = f"{np_}.zeros_like({output.name})" if output.shape else "0.0"
    results = [result or zero for result in tangents.results]
    names = function_names(plan, tangents.mode)
    context = {
        "header": header(plan, ("numpy and Python's math module" if uses_math else "numpy")
                         if numpy else "Python's math module" if uses_math else "Python"),
        "import_math": import_line("math", graph.globals["math"]) if uses_math else "",
        # ruff would flag an unused numpy (D = W @ X and its tangent call none of it)
        "import_numpy": import_line("numpy", np_) if numpy and (elementwise or re.search(
            r"\b%s\." % np_, code + "\n".join(used + results))) else "",
        "helpers": used,
        "mode": tangents.mode,
        # an array output's tangent is a Jacobian-vector product, not one number
        "output_shape": describe(output.shape) if output.shape else "",
        "names": names,
        "np": np_,
        "lines": [text for _, text in pairs],
        "split": _split(tangents, pairs),
        "directions": ", ".join(tangents.directions),
        # the point and the direction; empty for a formula with no inputs
        "arguments": ", ".join(graph.inputs + tuple(tangents.directions)),
        "results": results,
        "units": _units(tangents),
        "rows": _rows(tangents),
        "elementwise": elementwise,
        **signature(plan),
    }
    if elementwise:
        local = module_names(plan, ["full", "shape"])
        context.update(full=local["full"], shape=local["shape"],
                       shapes=", ".join(f"{np_}.shape({n})" for n in graph.inputs))
        if tangents.mode != "forward":   # one entry per point, as every other result
            context["results"] = [f"{local['full']}({r}, {local['shape']})" for r in results]
    source = environment().get_template("tangent.py.j2").render(context)
    return Emitted(source, line_map(source, [pair for pair in pairs if pair[0] is not None]))


def _split(tangents: TangentPlan, pairs) -> int:
    """How many printed lines the forward pass takes (the backward pass follows)."""
    for index, (line, _) in enumerate(pairs):
        if line is not None and id(line) in tangents.backward_lines:
            return index - (index > 0 and pairs[index - 1][0] is None)   # its comment too
    return len(pairs)


def _units(tangents: TangentPlan) -> list[str]:
    """The unit directions, one per input in wrt (one per entry of a list input,
    whose direction is a list), as argument lists."""
    lists = tangents.graph.lists
    sizes = [lists[name][0] if name in lists else 0 for name in tangents.base.wrt]

    def direction(j: int, hot: tuple) -> str:
        if not sizes[j]:
            return "1.0" if hot == (j, 0) else "0.0"
        return "[" + ", ".join("1.0" if hot == (j, k) else "0.0" for k in range(sizes[j])) + "]"

    hots = [(i, k) for i, size in enumerate(sizes) for k in range(size or 1)]
    return [", ".join(direction(j, hot) for j in range(len(sizes))) for hot in hots]


def _rows(tangents: TangentPlan) -> str:
    """What the Hessian's rows are, for its docstring."""
    lists = tangents.graph.lists
    order = tangents.base.wrt
    if not any(name in lists for name in order):
        return "one row per input, in the order (" + ", ".join(order) + ")"
    entries = [entry for name in order for entry in
               ([f"{name}[{k}]" for k in range(lists[name][0])] if name in lists else [name])]
    return "one row per entry of the inputs, in the order " + ", ".join(entries)
