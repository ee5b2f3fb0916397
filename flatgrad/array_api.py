"""Compiling programs over arrays: shapes in, a numpy module and its callable out."""
from __future__ import annotations

import numpy as np

from . import array_graph, array_plan
from .api import Compiled, _as_text
from .errors import FlatgradError
from .numpy_render import module_source
from .parse import parse
from .shapes import describe, normalize, split_header


class ArrayCompiled(Compiled):
    """A compiled array program. Calls check each argument's shape against the
    declarations (binding every symbol such as N to one size) before running
    the generated code; the module itself (`source`, `write`) checks nothing."""

    def __init__(self, plan: array_plan.ArrayPlan):
        super().__init__(plan, module_source(plan))
        self._value, self._value_and_grad = self.function, self.value_and_grad
        self.function, self.value_and_grad = self._checked(self._value), \
            self._checked(self._value_and_grad)

    @property
    def wrt(self) -> tuple[str, ...]:
        return self.plan.plan.wrt

    @property
    def shapes(self) -> dict[str, tuple]:
        return {name: self.plan.shapes.of[self.graph.input_node(name).index]
                for name in self.inputs}

    def source_at(self, **point) -> str:
        raise FlatgradError("values at a point (--at) are shown for scalar programs only; "
                            "call the compiled function on arrays instead")

    def _checked(self, function):
        def call(*args, **kwargs):
            self.check(*args, **kwargs)
            return function(*args, **kwargs)
        call.__name__, call.__doc__ = function.__name__, function.__doc__
        return call

    def check(self, *args, **kwargs) -> None:
        """Raise FlatgradError unless the arguments have the declared shapes."""
        given = dict(zip(self.inputs, args))
        given.update(kwargs)
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
            if name in self.plan.shapes.integer and \
                    not np.issubdtype(np.asarray(value).dtype, np.integer):
                raise FlatgradError(f"{name} holds class labels and must be integers, got "
                                    f"{np.asarray(value).dtype}")


def compile_arrays(expr, shapes=None, wrt=None, inputs=None, names="cs231n", grad_prefix="d",
                   name="f", profile="fast", gates="staged") -> ArrayCompiled:
    text, inputs = _as_text(expr, inputs)
    text, declared = split_header(text)
    for key, dims in normalize(shapes or {}).items():
        if declared.setdefault(key, dims) != dims:
            raise FlatgradError(f"{key} is declared {describe(declared[key])} in the program "
                                f"but {describe(dims)} in shapes")
    graph, inferred = array_graph.stage(parse(text), declared, inputs=inputs, level=gates,
                                        naming=names, grad_prefix=grad_prefix, function=name)
    return ArrayCompiled(array_plan.build(graph, inferred, wrt, profile))
