"""Split reverse mode: `f_forward(x, y) -> (f, cache)` and `f_backward(df, cache)`.

Python code for a scalar formula, numpy code for an array program. What the
split modes (this, the layer, the exports) print alike is here: the cache as
a tuple, the names the module adds, the docstrings.
"""
from __future__ import annotations

import re

from ..core.plan import ARRAY_SPELLINGS
from ..core.shapes import describe
from ..core.split import Split
from . import (Emitted, Passes, header, helpers, import_line, imports_math, module_names, render,
               signature)
from .numpy import _shape_doc


def context(split: Split, needs: str, names=()) -> tuple[dict, Passes]:
    """The template's context and the passes, with `names` (cache, self, ctx ...)
    chosen to collide with no variable of the module."""
    plan = split.plan
    graph = plan.graph
    passes = Passes(plan, indent=8)
    used = helpers(plan, passes.code, plan.spelling)
    uses_math = imports_math(plan, passes.code + "\n".join(used))
    arrays = plan.spelling in ARRAY_SPELLINGS
    if plan.spelling == "numpy":
        needs = "numpy" + (" and Python's math module" if uses_math else "")
    elif not arrays:
        needs = "Python's math module" if uses_math else "Python"
    output = graph.nodes[graph.output]
    chosen = module_names(plan, names)
    context = {
        "header": header(plan, needs),
        "import_math": import_line("math", graph.globals["math"]) if uses_math else "",
        # ruff would flag an unused numpy (D = W @ X calls none of it)
        "import_numpy": import_line("numpy", graph.globals["np"])
        if plan.spelling == "numpy" and re.search(r"\b%s\." % graph.globals["np"],
                                                  passes.code + "\n".join(used)) else "",
        "helpers": used,
        "shape_doc": _shape_doc(plan) if graph.has_arrays else [],
        "upstream": split.upstream,
        "output_shape": describe(output.shape) if output.shape else "a scalar",
        "cache_names": split.cache,
        "cached": ", ".join(split.cache) + ("," if len(split.cache) == 1 else ""),
        **{name: chosen[name] for name in names},
        **signature(plan),
    }
    return context, passes


def emit(split: Split) -> Emitted:
    values, passes = context(split, "", ["cache"])
    return render("split.py.j2", values, passes)
