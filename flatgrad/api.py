"""`flatgrad.compile`: text in, a callable and its module source out."""
from __future__ import annotations

import builtins
import contextlib
import gc
import hashlib
import linecache
from pathlib import Path

from . import graph as graph_stage
from . import notebook
from . import plan as plan_stage
from .check import DEFAULT_TOLERANCE, Report
from .check import check as check_gradient
from .errors import FlatgradError
from .output import write as write_module
from .parse import parse
from .shapes import has_header
from .sources import function_source, sympy_source
from .targets import resolve, source as target_source



class Compiled:
    """A compiled formula: call it for the value, `value_and_grad` for both.

    Gradients come back as a tuple in the order of `wrt` (by default every
    input, in `inputs` order), as JAX's `value_and_grad` does with a tuple of
    argnums.
    """

    def __init__(self, plan: plan_stage.Plan, source: str | None = None,
                 target: str = "python"):
        self.plan = plan
        self.graph = plan.graph
        self.target = resolve(target) if source is None else "numpy"
        self.source = source if source is not None else target_source(plan, self.target)
        digest = hashlib.sha1(self.source.encode()).hexdigest()[:12]
        self.filename = f"<flatgrad {self.name} {digest}>"
        # Registered like SymPy's lambdify does, so tracebacks and inspect.getsource
        # show the generated lines.
        linecache.cache[self.filename] = (len(self.source), None,
                                          self.source.splitlines(True), self.filename)
        namespace = {"__name__": f"flatgrad_{self.name}"}
        # Only flatgrad's own output is executed, never text from the input.
        exec(builtins.compile(self.source, self.filename, "exec"), namespace)
        self.function = namespace[self.name]
        self.value_and_grad = namespace[self.name + "_and_grad"]

    @property
    def name(self) -> str:
        return self.graph.function

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.graph.inputs

    @property
    def wrt(self) -> tuple[str, ...]:
        return self.plan.wrt

    @property
    def formula(self) -> str:
        from .render import formula
        return formula(self.plan)

    def __call__(self, /, *args, **kwargs):
        return self.function(*args, **kwargs)

    def grad(self, /, *args, **kwargs):
        return self.value_and_grad(*args, **kwargs)[1]

    def source_at(self, /, **point) -> str:
        """The module with a comment after every line giving its value at `point`."""
        plan_stage.evaluate(self.plan, complete_point(self.inputs, point))
        return target_source(self.plan, self.target, with_values=True)

    def check(self, at=None, tol: float = DEFAULT_TOLERANCE) -> Report:
        """Compare the gradient with central differences and SymPy's derivative at `at`
        (a dict, or a list of them; default: a few deterministic random points)."""
        if at is not None:
            at = [complete_point(self.inputs, point)
                  for point in ([at] if isinstance(at, dict) else at)]
        return check_gradient(self, at, tol)

    def write(self, path, force: bool = False, source: str | None = None) -> Path:
        """Write the module to `path`, whole or not at all."""
        return write_module(path, source or self.source, force)

    def _repr_html_(self) -> str:
        return notebook.as_html(self.plan, self.source)

    def _repr_markdown_(self) -> str:
        return notebook.as_markdown(self.plan, self.source)

    def __repr__(self) -> str:
        return f"<flatgrad.Compiled {self.name}({', '.join(self.inputs)}) = {self.formula}>"


def compile(expr, wrt=None, inputs=None, names: str = "cs231n", grad_prefix: str = "d",
            name: str = "f", profile: str = "fast", gates: str = "staged",
            shapes=None, target: str = "python") -> Compiled:
    """Compile a formula (text, a SymPy expression or a Python function) into flat
    forward and reverse-mode gradient code.

    inputs: the variables in call order (default: order of first appearance).
    wrt: the inputs to differentiate (default: all of them).
    names: "cs231n" (sigy, num, den, invden ...) or "numbered" (s0, s1 ...).
    grad_prefix: "d" gives dx; "grad_" gives grad_x.
    profile: "fast" (unit factors folded) or "teach" (the notes' `(1) * dden`).
    gates: "staged" (sigmoid as one gate) or "primitive" (sigmoid as neg, exp, +1, 1/x).
    shapes: the shapes of array inputs, e.g. {"W": (5, 10), "X": "DxN"}; given this or
        header lines such as `W: 5x10` in the text, the program is compiled to numpy
        code (see array_api). Undeclared inputs are scalars.
    target: "python" (scalars, math only), "numpy" (whole arrays, stage by stage) or
        "numba" (one compiled loop over the elements; falls back to numpy with a
        FlatgradWarning where numba is not installed); for scalar formulas.
    """
    if shapes is not None or has_header(expr):
        if target != "python":
            raise FlatgradError(f"target {target!r} is for scalar formulas; a program with "
                                "array inputs always compiles to numpy code")
        from .array_api import compile_arrays
        return compile_arrays(expr, shapes, wrt, inputs, names, grad_prefix, name, profile,
                              gates)
    with _collector_paused():
        return Compiled(build_plan(expr, wrt, inputs, names, grad_prefix, name, profile, gates),
                        target=target)


@contextlib.contextmanager
def _collector_paused():
    """Compiling a large formula allocates hundreds of thousands of small objects
    that all live until it is done; the cyclic garbage collector would rescan
    them again and again, finding nothing to free. Pause it meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check(expr, at=None, tol: float = DEFAULT_TOLERANCE, **options) -> Report:
    """Compile `expr` (or take a Compiled) and check its gradient; see Compiled.check."""
    compiled = expr if isinstance(expr, Compiled) else compile(expr, **options)
    return compiled.check(at, tol)


def build_plan(expr, wrt=None, inputs=None, names="cs231n", grad_prefix="d", name="f",
               profile="fast", gates="staged") -> plan_stage.Plan:
    text, inputs = _as_text(expr, inputs)
    program = parse(text)
    graph = graph_stage.stage(program, inputs=inputs, level=gates, naming=names,
                              grad_prefix=grad_prefix, function=name)
    return plan_stage.build(graph, wrt, profile)


def _as_text(expr, inputs):
    if isinstance(expr, str):
        return expr, inputs
    if callable(expr) and not hasattr(expr, "free_symbols"):
        text, params = function_source(expr)
        return text, inputs if inputs is not None else params
    if hasattr(expr, "free_symbols"):
        text, symbols = sympy_source(expr)
        return text, inputs if inputs is not None else symbols
    raise FlatgradError(f"cannot compile a {type(expr).__name__}: give text, a SymPy "
                        "expression or a Python function")


def parse_point(text: str) -> dict[str, float]:
    """'x=3,y=-4' -> {'x': 3.0, 'y': -4.0}"""
    point = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise FlatgradError(f"cannot read {part!r}: write a point as x=3,y=-4")
        try:
            point[name] = float(value.replace("−", "-"))
        except ValueError:
            raise FlatgradError(f"{value.strip()!r} is not a number (in {part!r})") from None
    return point


def complete_point(inputs, point) -> dict[str, float]:
    missing = [n for n in inputs if n not in point]
    extra = [n for n in point if n not in inputs]
    if missing or extra:
        problems = []
        if missing:
            problems.append("no value for " + ", ".join(missing))
        if extra:
            problems.append(", ".join(extra) + " is not an input")
        raise FlatgradError("; ".join(problems) + f" (the inputs are {', '.join(inputs)})")
    return {n: float(point[n]) for n in inputs}
