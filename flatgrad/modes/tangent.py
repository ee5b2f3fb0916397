"""`Compiled.jvp`, `.hvp` and `.hessian`: the modes that transform the plan into
tangent lines (core/tangent.py), their modules written by emit/tangent.py and
compiled on first use."""
from __future__ import annotations

import builtins
import inspect
import linecache

import numpy as np

from ..core import lists
from ..core import plan as plan_stage
from ..core import tangent as tangent_stage
from ..core.shapes import describe
from ..emit import tangent as tangent_emit
from ..errors import FlatgradError

MODES = tangent_stage.MODES


def transformed(compiled, mode: str) -> tangent_stage.TangentPlan:
    if mode not in tangent_stage.MODES:
        raise FlatgradError(f"unknown mode {mode!r}; choose one of {MODES}")
    return tangent_emit.transform(compiled.plan, mode)


def source(compiled, mode: str, point: dict | None = None) -> str:
    """The module `--mode` writes; at a point, every line annotated with its value,
    the direction being the first input's unit tangent (x_dot = 1, the others 0)."""
    if mode == "reverse":
        return compiled.source_at(**point) if point else compiled.source
    if compiled.target not in ("python", "numpy"):
        raise FlatgradError(f"--mode {mode} writes python or numpy code, not "
                            f"{compiled.target}: leave out --target {compiled.target}")
    tangents = transformed(compiled, mode)
    if point is None:
        return tangent_emit.emit(tangents).source
    directions = {name: (1.0 if i == 0 else 0.0) * _ones(point[name])
                  for i, name in enumerate(compiled.wrt)}
    tangent_stage.evaluate(tangents, point, directions)
    return tangent_emit.emit(tangents, with_values=True).source


def _ones(value):
    import numpy as np
    return np.ones_like(value, dtype=float) if np.ndim(value) else 1.0


def function(compiled, suffix: str):
    """The generated function `f_<suffix>` (jvp, hvp or hessian), compiled once."""
    cache = compiled.__dict__.setdefault("_tangent_functions", {})
    if suffix not in cache:
        mode = {"jvp": "forward", "hvp": "hessian", "hessian": "hessian"}[suffix]
        if ("module", mode) not in cache:
            tangents = transformed(compiled, mode)
            emitted = tangent_emit.emit(tangents)
            namespace: dict = {"__name__": f"flatgrad_{compiled.name}_{mode}"}
            filename = f"<flatgrad {compiled.name} {mode}>"
            # registered as the reverse mode's module is: tracebacks show the lines
            linecache.cache[filename] = (len(emitted.source), None,
                                         emitted.source.splitlines(True), filename)
            # Only flatgrad's own output is executed, never text from the input.
            exec(builtins.compile(emitted.source, filename, "exec"), namespace)
            cache["module", mode] = (namespace,
                                     tangent_emit.function_names(compiled.plan, mode))
            cache["lines", filename] = (emitted.lines, tangents)
        namespace, names = cache["module", mode]
        cache[suffix] = namespace[names[suffix]]
    return cache[suffix]


def _named(compiled, error: BaseException) -> BaseException | None:
    """The error, saying which generated line raised it (None: no generated line did)."""
    cache = compiled.__dict__.get("_tangent_functions", {})
    traceback = error.__traceback__
    while traceback is not None:
        lines, tangents = cache.get(("lines", traceback.tb_frame.f_code.co_filename),
                                    ({}, None))
        line = lines.get(traceback.tb_lineno)
        if line is not None and plan_stage.can_raise(line):
            message = f"{error} at the tangent line {line.text} of stage ({line.ref})" \
                if tangents.is_tangent(line) else \
                plan_stage.describe_failure(line, compiled.graph, error)
            try:
                return type(error)(f"{message}, in {compiled.formula}")
            except TypeError:   # an exception type that takes other arguments
                return None
        traceback = traceback.tb_next
    return None


def _check_directions(compiled, generated, args, kwargs) -> None:
    """Raise FlatgradError unless each direction has its input's shape (a wrong one
    would fail deep in the tangent lines, or broadcast)."""
    parameters = list(inspect.signature(generated).parameters)
    try:
        given = inspect.signature(generated).bind(*args, **kwargs).arguments
    except TypeError:   # the call itself says what is missing or extra
        return
    for name, direction in zip(compiled.wrt, parameters[len(compiled.inputs):]):
        if name in given and direction in given and \
                np.shape(given[direction]) != np.shape(given[name]):
            raise FlatgradError(f"the direction {direction} should have {name}'s shape, "
                                f"{describe(np.shape(given[name]))}; got "
                                f"{describe(np.shape(given[direction]))}")


def call(compiled, suffix: str, args, kwargs):
    """Run `f_<suffix>` on the point (and direction), the arguments' shapes checked;
    with wrt naming one input, the bare entry, as `grad` gives it."""
    count = len(compiled.inputs)
    compiled.check_shapes(*args[:count], **{k: v for k, v in kwargs.items()
                                            if k in compiled.inputs})
    if compiled.graph.lists:   # a list's direction is a list of as many numbers
        lists.check_values(compiled.graph, dict(zip(compiled.wrt, args[count:])), "_dot")
    generated = function(compiled, suffix)
    if compiled.graph.has_arrays:
        _check_directions(compiled, generated, args, kwargs)
    try:
        result = generated(*args, **kwargs)
    except (ArithmeticError, ValueError) as error:
        named = _named(compiled, error)
        if named is None:
            raise
        raise named from error
    if compiled.bare and suffix == "hvp":
        return result[0]
    if compiled.bare and suffix == "hessian":
        # a list input has a row per entry: its Hessian is the matrix of their lists
        return [row[0] for row in result] if compiled.wrt[0] in compiled.graph.lists \
            else result[0][0]
    return result


class Tangent:
    """A formula compiled in a mode of tangents (`compile(..., mode="forward")`, "hvp" or
    "hessian"): `source` is the module `--mode` writes (and `write` writes it); `jvp`,
    `hvp` and `hessian` run it, as the reverse-mode Compiled's do; `compiled` is that
    Compiled, for the value, the gradient (a scalar output's) and vjp."""

    def __init__(self, compiled, mode: str):
        self.compiled, self.mode = compiled, mode
        self.source = source(compiled, mode)

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.compiled.inputs

    @property
    def wrt(self) -> tuple[str, ...]:
        return self.compiled.wrt

    def jvp(self, /, *args, **kwargs):
        return call(self.compiled, "jvp", args, kwargs)

    def hvp(self, /, *args, **kwargs):
        return call(self.compiled, "hvp", args, kwargs)

    def hessian(self, /, *args, **kwargs):
        return call(self.compiled, "hessian", args, kwargs)

    def write(self, path, force: bool = False, source: str | None = None):
        from ..atomic_write import write
        return write(path, source or self.source, force)

    def __repr__(self) -> str:
        return f"<flatgrad.modes.Tangent {self.mode} of {self.compiled!r}>"
