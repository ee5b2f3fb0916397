"""The python target: scalar code that needs nothing but Python's math module."""
from __future__ import annotations

from ..core.plan import Plan
from . import Emitted, Passes, header, helpers, import_line, imports_math, render, signature

SPELLING = "python"
ELEMENTWISE = False


def emit(plan: Plan, with_values: bool = False) -> Emitted:
    passes = Passes(plan, with_values)
    used = helpers(plan, passes.code, SPELLING)
    uses_math = imports_math(plan, passes.code + "\n".join(used))
    context = {
        "header": header(plan, "Python's math module" if uses_math else "Python"),
        "import_math": import_line("math", plan.graph.globals["math"]) if uses_math else "",
        "helpers": used,
        **signature(plan),
    }
    return render("python.py.j2", context, passes)
