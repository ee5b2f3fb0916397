"""`Compiled.jvp`, `.hvp` and `.hessian`: the modes that transform the plan into
tangent lines (core/tangent.py), their modules written by emit/tangent.py and
compiled on first use."""
from __future__ import annotations

import builtins

from .core import tangent as tangent_stage
from .emit import tangent as tangent_emit
from .errors import FlatgradError

MODES = ("reverse",) + tangent_stage.MODES


def transformed(compiled, mode: str) -> tangent_stage.TangentPlan:
    if mode not in tangent_stage.MODES:
        raise FlatgradError(f"unknown mode {mode!r}; choose one of {MODES}")
    return tangent_emit.transform(compiled.plan, mode)


def source(compiled, mode: str, point: dict | None = None) -> str:
    """The module `--mode` writes; at a point, every line annotated with its value,
    the direction being the first input's unit tangent (x_dot = 1, the others 0)."""
    if mode == "reverse":
        return compiled.source_at(**point) if point else compiled.source
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
            text = tangent_emit.emit(tangents).source
            namespace: dict = {"__name__": f"flatgrad_{compiled.name}_{mode}"}
            filename = f"<flatgrad {compiled.name} {mode}>"
            # Only flatgrad's own output is executed, never text from the input.
            exec(builtins.compile(text, filename, "exec"), namespace)
            cache["module", mode] = (namespace,
                                     tangent_emit.function_names(compiled.plan, mode))
        namespace, names = cache["module", mode]
        cache[suffix] = namespace[names[suffix]]
    return cache[suffix]


def call(compiled, suffix: str, args, kwargs):
    """Run `f_<suffix>` on the point (and direction), the arguments' shapes checked;
    with wrt naming one input, the bare entry, as `grad` gives it."""
    count = len(compiled.inputs)
    compiled.check_shapes(*args[:count], **{k: v for k, v in kwargs.items()
                                            if k in compiled.inputs})
    result = function(compiled, suffix)(*args, **kwargs)
    if compiled.bare and suffix == "hvp":
        return result[0]
    if compiled.bare and suffix == "hessian":
        return result[0][0]
    return result
