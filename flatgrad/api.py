"""`flatgrad.compile`: text in, a callable and its module source out."""
from __future__ import annotations

import builtins
import contextlib
import functools
import gc
import hashlib
import linecache
from pathlib import Path

import numpy as np

from . import arguments, modes, points
from .check import DEFAULT_TOLERANCE, Report
from .check import check as check_gradient
from .core import graph as graph_stage
from .core import lists
from .core import plan as plan_stage
from .core import styles
from .core.parse import parse
from .core.shapes import describe, has_header, normalize, split_header
from .emit import abbreviate, emitter, formula, steps
from .errors import FlatgradError
from .atomic_write import write as write_module
from .sources import function_source, sympy_source

# What a call of the compiled function runs: the generated function, behind a
# shape check for array programs, with a failure named by its stage, a Python
# function's defaults, and the bare gradient where wrt named one input.
_CALL = '''\
def {name}({signature}):
    {check}try:
        result = generated({params})
    except (ArithmeticError, ValueError) as error:
        named = name_failure(error)
        if named is None:
            raise
        raise named from error
    return {returned}
'''


class Compiled:
    """A compiled formula: call it for the value, `value_and_grad` for both.

    Gradients come back as a tuple in the order of `wrt` (by default every
    input, in `inputs` order), as JAX's `value_and_grad` does with a tuple of
    argnums. An array program checks each argument's shape against the
    declarations (binding every symbol such as N to one size) before running
    the generated code; the module itself (`source`, `write`) checks nothing.
    """

    def __init__(self, plan: plan_stage.Plan, target: str = "python", defaults=None,
                 bare: bool = False):
        self.plan = plan
        self.graph = plan.graph
        self.target = target
        # a Python function's default values, and whether wrt named one input alone
        self.defaults = {n: v for n, v in (defaults or {}).items() if n in plan.graph.inputs}
        self.bare = bare
        module = emitter(target)
        self.emitted = module.emit(plan)
        self.source = self.emitted.source
        digest = hashlib.sha1(self.source.encode()).hexdigest()[:12]
        self.filename = f"<flatgrad {self.name} {digest}>"
        if hasattr(module, "load"):   # a compiled target: no Python source to run
            function, both = module.load(self.emitted, plan)
            self.function = self._calling(function)
            self.value_and_grads = self._calling(both)
            self.value_and_grad = self._calling(both, bare) if bare else self.value_and_grads
            return
        # Registered like SymPy's lambdify does, so tracebacks and inspect.getsource
        # show the generated lines.
        linecache.cache[self.filename] = (len(self.source), None,
                                          self.source.splitlines(True), self.filename)
        namespace = {"__name__": f"flatgrad_{self.name}"}
        # Only flatgrad's own output is executed, never text from the input.
        exec(builtins.compile(self.source, self.filename, "exec"), namespace)
        self.function = self._calling(namespace[self.name])
        # value_and_grads always returns a tuple of gradients (the gradient check reads it)
        self.value_and_grads = self._calling(namespace[self.name + "_and_grad"])
        self.value_and_grad = self._calling(namespace[self.name + "_and_grad"], bare) \
            if bare else self.value_and_grads

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
    def shapes(self) -> dict[str, tuple]:
        """The declared shape of every input (() for a scalar)."""
        return {name: self.graph.shape_of(name) for name in self.inputs}

    @property
    def formula(self) -> str:
        return formula(self.plan)

    def __call__(self, /, *args, **kwargs):
        return self.function(*args, **kwargs)

    def grad(self, /, *args, **kwargs):
        return self.value_and_grad(*args, **kwargs)[1]

    def vjp(self, /, *args, **kwargs):
        """(value, pullback), as jax.vjp: pullback(df) runs the generated split
        backward, the gradients in `wrt` order given the output's gradient df."""
        if getattr(self, "_split", None) is None:
            self._split = modes.Split(self.graph, self.wrt, self.plan.profile, self.defaults)
        return self._split.vjp(args, kwargs, self.check_shapes)

    def jvp(self, /, *args, **kwargs):
        """The value and its derivative along a direction, by forward mode:
        `g.jvp(x, y, x_dot, y_dot)` -> (f, f_dot), one tangent per input in wrt."""
        return modes.call(self, "jvp", args, kwargs)

    def hvp(self, /, *args, **kwargs):
        """The Hessian times a direction, by forward mode over the reverse pass:
        `g.hvp(x, y, vx, vy)` -> one entry per input in wrt, in wrt order."""
        return modes.call(self, "hvp", args, kwargs)

    def hessian(self, /, *args, **kwargs):
        """The Hessian at a point, rows and columns in wrt order (hvp with unit
        directions)."""
        return modes.call(self, "hessian", args, kwargs)

    def source_at(self, /, **point) -> str:
        """The module with a comment after every line giving its value at `point`."""
        point = complete_point(self.inputs, {**self.defaults, **point}, self.shapes,
                               self.graph.integer)
        self.check_shapes(*point.values())
        plan_stage.evaluate(self.plan, point)
        return emitter(self.target).emit(self.plan, with_values=True).source

    def check(self, at=None, tol: float = DEFAULT_TOLERANCE, seed: int = 0) -> Report:
        """Compare the gradient with central differences and SymPy's derivative at `at`:
        a dict, "random" (seeded by `seed`), or a list of these; by default a few
        deterministic random points. Array programs are checked entry by entry."""
        if isinstance(at, dict) or isinstance(at, (list, tuple)):
            at = [{**self.defaults, **point} if isinstance(point, dict) else point
                  for point in ([at] if isinstance(at, dict) else at)]
        return check_gradient(arguments.with_tuples(self), at, tol, seed=seed)

    def check_shapes(self, /, *args, **kwargs) -> None:
        """Raise FlatgradError unless the arguments have the declared shapes."""
        if not self.graph.has_arrays and not self.graph.lists:
            return
        given = dict(zip(self.inputs, args))
        given.update(kwargs)
        if self.graph.lists:
            lists.check_values(self.graph, given)
        sizes: dict[str, tuple[int, str]] = {}   # symbol -> (size, the input that set it)
        for name, value in given.items():
            if name not in self.inputs:
                continue
            want, got = self.shapes[name], np.shape(value)
            problem = "" if len(got) == len(want) else "."
            for dim, size in zip(want, got):
                if isinstance(dim, str):
                    bound, source = sizes.setdefault(dim, (size, name))
                    if bound != size:
                        problem = f"; {dim} is {bound} (from {source})."
                elif dim != size:
                    problem = problem or "."
            if problem:
                raise FlatgradError(f"{name} should be {describe(want)}, got "
                                    f"{describe(got)}{problem}")
            if name in self.graph.integer and \
                    not np.issubdtype(np.asarray(value).dtype, np.integer):
                raise FlatgradError(f"{name} holds class labels and must be integers, got "
                                    f"{np.asarray(value).dtype}")

    def write(self, path, force: bool = False, source: str | None = None) -> Path:
        """Write the module to `path`, whole or not at all."""
        return write_module(path, source or self.source, force)

    def _repr_html_(self) -> str:
        from .teach import notebook
        return notebook.as_html(self.plan, self.source)

    def _repr_markdown_(self) -> str:
        from .teach import notebook
        return notebook.as_markdown(self.plan, self.source)

    def __repr__(self) -> str:
        return f"<flatgrad.Compiled {self.name}({', '.join(self.inputs)}) = {self.formula}>"

    # -- running the generated code -------------------------------------------------
    def _calling(self, generated, bare: bool = False):
        """`generated`, with its failures named by stage (and arguments checked)."""
        params = ", ".join(self.inputs)
        signature = ", ".join(f"{n}=defaults[{n!r}]" if n in self.defaults else n
                              for n in self.inputs)
        check = f"check_shapes({params})\n    " if self.graph.has_arrays or self.graph.lists \
            else ""
        space = {"generated": generated, "name_failure": self._name_failure,
                 "check_shapes": self.check_shapes, "defaults": self.defaults}
        exec(_CALL.format(name=generated.__name__, signature=signature, params=params,
                          check=check, returned="result[0], result[1][0]" if bare else "result"),
             space)
        # the generated function's name, docstring and source (inspect.getsource)
        return functools.update_wrapper(space[generated.__name__], generated)

    def _name_failure(self, error: BaseException) -> BaseException | None:
        """The same kind of error, saying which stage failed in which formula; None
        where no generated line raised it (a helper's own check, a bad argument)."""
        traceback = error.__traceback__
        while traceback is not None and \
                traceback.tb_frame.f_code.co_filename != self.filename:
            traceback = traceback.tb_next
        line = self.emitted.lines.get(traceback.tb_lineno) if traceback else None
        if line is None or not plan_stage.can_raise(line):
            return None
        listed = steps(self.plan)
        described = listed[0] if len(listed) == 1 else \
            f"{self.name}({', '.join(self.inputs)}): " + "; ".join(listed)
        message = plan_stage.describe_failure(line, self.graph, error)
        try:
            return type(error)(f"{message}, in {abbreviate(described)}")
        except TypeError:   # an exception type that takes other arguments
            return None


def compile(expr, wrt=None, inputs=None, names: str | None = None,
            grad_prefix: str | None = None, name: str = "f", profile: str | None = None,
            gates: str = "staged", shapes=None, target: str | None = None,
            style: str | None = None,
            mode: str = "reverse") -> Compiled | modes.Modular | modes.Tangent:
    """Compile a formula (text, a SymPy expression or a Python function) into flat
    forward and reverse-mode gradient code.

    inputs: the variables in call order (default: order of first appearance).
    wrt: the inputs to differentiate (default: all of them).
    names: "cs231n" (sigy, num, den, invden ...; the default) or "numbered" (s0, s1 ...).
    grad_prefix: "d" (the default) gives dx; "grad_" gives grad_x.
    profile: "fast" (unit factors folded; the default), "teach" (the notes' `(1) * dden`)
        or "lean" (fast, with copies and one-use lines folded into their readers and
        an input's gradient summed at the end: the same numbers in fewer lines, for
        the speed of a big formula; the reverse gradient only, core/lean.py).
    style: a listing of the course material, "cs231n", "plain" or "slides": a preset
        of names, grad_prefix and profile (the options given override it), plus the
        order of the chain rule's factors and the output's seed line (core/styles.py).
    gates: "staged" (sigmoid as one gate) or "primitive" (sigmoid as neg, exp, +1, 1/x).
    shapes: the shapes of array inputs, e.g. {"W": (5, 10), "X": "DxN"} (or header
        lines such as `W: 5x10` in the text); undeclared inputs are scalars.
    target: "python" (scalars, math only; the default for a scalar formula), "numpy"
        (whole arrays, stage by stage; the default and only target for a program
        with array inputs) or "numba" (one compiled loop over the elements of
        arrays; falls back to numpy with a FlatgradWarning where numba is not
        installed) or "c" (C, compiled by the system C compiler on the first call
        and called through ctypes, on floats or arrays that broadcast together).
    mode: "reverse" (f and f_and_grad), "split" (f_forward and f_backward, a
        vector-Jacobian product), "layer" (a class with forward and backward), or an
        export, "torch" or "jax", each of these four giving a modes.Modular and allowing
        an array output; or a mode of tangents, "forward" (f_jvp), "hvp" (f_hvp) or
        "hessian" (f_hvp and f_hessian), giving a modes.Tangent: its `source` is that
        module and its jvp, hvp and hessian run it, as the Compiled's do (`.compiled`).
    """
    wrt, bare = arguments.wrt(wrt)
    preset = styles.style_named(style)
    names, grad_prefix, profile = styles.resolve(preset, names, grad_prefix, profile)
    defaults: dict = {}
    if callable(expr) and not hasattr(expr, "free_symbols"):
        expr, params, defaults = function_source(expr)
        inputs = params if inputs is None else inputs
    with _collector_paused():
        if mode not in modes.MODES + modes.EXPORTS:
            raise FlatgradError(f"unknown mode {mode!r}; choose one of "
                                f"{', '.join(modes.MODES + modes.EXPORTS)}")
        graph = stage(expr, inputs, names, grad_prefix, name, gates, shapes)
        if mode not in ("reverse",) + modes.tangent.MODES:
            return modes.Modular(graph, arguments.resolve_wrt(wrt, graph.inputs), profile,
                                 mode, defaults, target, preset)
        target, module = _target(graph, target)
        # forward mode has no seed: the tangent has the output's shape, so an array
        # output is allowed, its plan built as a vector-Jacobian product's (the reverse
        # module of that Compiled reads its df from outside and is never written)
        vjp = mode == "forward" and bool(graph.nodes[graph.output].shape)
        plan = _plan(graph, arguments.resolve_wrt(wrt, graph.inputs), profile, module,
                     preset, vjp)
        compiled = Compiled(plan, target, defaults, bare)
        if vjp:   # its reverse module reads a df it is never given: no gradient to run
            compiled.value_and_grad = compiled.value_and_grads = _no_gradient(graph)
        return compiled if mode == "reverse" else modes.Tangent(compiled, mode)


def _no_gradient(graph: graph_stage.Graph):
    output = graph.nodes[graph.output]

    def refuse(*args, **kwargs):
        raise FlatgradError(f"the output {output.name} is {describe(output.shape)}, not a "
                            "scalar: it has no gradient, only products with its Jacobian "
                            "(jvp, or vjp)")
    return refuse


def build_plan(expr, wrt=None, inputs=None, names=None, grad_prefix=None, name="f",
               profile=None, gates="staged", shapes=None,
               target=None, style=None) -> plan_stage.Plan:
    """The plan of `expr`'s gradient, spelled for `target`."""
    preset = styles.style_named(style)
    names, grad_prefix, profile = styles.resolve(preset, names, grad_prefix, profile)
    graph = stage(expr, inputs, names, grad_prefix, name, gates, shapes)
    wrt = arguments.resolve_wrt(arguments.wrt(wrt)[0], graph.inputs)
    return _plan(graph, wrt, profile, _target(graph, target)[1], preset)


def stage(expr, inputs=None, names="cs231n", grad_prefix="d", name="f", gates="staged",
          shapes=None) -> graph_stage.Graph:
    """`expr` (text, SymPy or a Python function) parsed and staged, with its shapes."""
    text, inputs = _as_text(expr, arguments.names(inputs))
    text, declared = split_header(text) if has_header(text) else (text, {})
    for key, dims in normalize(shapes or {}).items():
        if declared.setdefault(key, dims) != dims:
            raise FlatgradError(f"{key} is declared {describe(declared[key])} in the program "
                                f"but {describe(dims)} in shapes")
    with _collector_paused():   # as in compile: tokens and nodes all live to the end
        return graph_stage.stage(parse(text, inputs), inputs=inputs, level=gates,
                                 naming=names, grad_prefix=grad_prefix, function=name,
                                 declared=declared)


def _target(graph: graph_stage.Graph, target: str | None):
    """The target's name and emitter: python for a scalar formula and numpy for an
    array program unless asked otherwise; numba falls back to numpy without numba."""
    if target is None:
        target = "numpy" if graph.has_arrays else "python"
    module = emitter(target)
    target = module.__name__.rsplit(".", 1)[1]
    if graph.has_arrays and target != "numpy":
        raise FlatgradError(f"target {target!r} is for scalar formulas; a program with "
                            "array inputs always compiles to numpy code")
    if module.ELEMENTWISE and not graph.has_arrays and not graph.inputs:
        raise FlatgradError(f"target {target!r} needs at least one input to run over; "
                            "this formula has none")
    return target, module


def _plan(graph: graph_stage.Graph, wrt, profile: str, module,
          style=None, vjp: bool = False) -> plan_stage.Plan:
    return plan_stage.build(graph, wrt, profile, module.SPELLING,
                            elementwise=module.ELEMENTWISE and not graph.has_arrays, style=style,
                            vjp=vjp)


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


def _as_text(expr, inputs):
    if isinstance(expr, str):
        return expr, inputs
    if callable(expr) and not hasattr(expr, "free_symbols"):
        text, params, _ = function_source(expr)
        return text, inputs if inputs is not None else params
    if hasattr(expr, "free_symbols"):
        text, symbols = sympy_source(expr)
        return text, inputs if inputs is not None else symbols
    raise FlatgradError(f"cannot compile a {type(expr).__name__}: give text, a SymPy "
                        "expression or a Python function")


# Points are read and completed in points.py; these names stay importable from here.
parse_point = points.parse_point
complete_point = points.complete_point
