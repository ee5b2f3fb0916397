"""The split modes and the exports: one plan transformation (core/split.py), one
emitter each.

`--mode split` writes `f_forward`/`f_backward`, `--mode layer` a class with
`forward`/`backward`, `--export torch` a torch.autograd.Function and `--export
jax` a jax.custom_vjp function. Each is the reverse plan with the output's
gradient given from outside, so the output may be an array.
"""
from __future__ import annotations

import builtins
import dataclasses
import importlib
import linecache

import numpy as np

from ..core import split as split_stage
from ..core.graph import Graph
from ..core.shapes import describe
from ..core.styles import Style
from ..emit import Emitted
from ..errors import FlatgradError

MODES = ("split", "layer")
EXPORTS = ("torch", "jax")


def split(graph: Graph, wrt, profile: str, kind: str,
          style: Style | None = None) -> split_stage.Split:
    """The split plan for `kind` (a mode or an export): Python for a scalar formula
    and numpy for an array program, or the library's spelling, every value a tensor;
    `style` a listing's names and factor order (core/styles.py)."""
    if kind == "jax":
        _check_jax_wrt(graph, wrt)
    if kind in EXPORTS:
        # a library's own functions (torch.sigmoid), never the Python helpers a style's
        # calls (sigmoid(s3)) would need
        if style is not None and style.calls:
            style = dataclasses.replace(style, calls=False)
        return split_stage.split(graph, wrt, profile, kind, elementwise=True, style=style)
    return split_stage.split(graph, wrt, profile, "numpy" if graph.has_arrays else "python",
                             style=style)


def _check_jax_wrt(graph: Graph, wrt) -> None:
    """A custom_vjp's bwd gives every input's cotangent, and None reads as zero: an
    input left out of wrt would get a silently wrong 0.0 from jax.grad. JAX chooses
    the gradients itself (jax.grad's argnums; jax.jit drops the others)."""
    if wrt is None:
        return
    left_out = [name for name in graph.inputs
                if name not in wrt and name not in graph.integer]
    if left_out:
        raise FlatgradError(f"the JAX export differentiates every input: jax.grad would take "
                            f"the gradient of an input left out of wrt ({', '.join(left_out)}) "
                            "as zero. Leave out wrt (--wrt) and choose with jax.grad's argnums")


def emit(graph: Graph, wrt, profile: str, kind: str, style: Style | None = None) -> Emitted:
    if kind not in MODES + EXPORTS:
        raise FlatgradError(f"unknown mode {kind!r}; choose one of {MODES + EXPORTS}")
    module = importlib.import_module(f"..emit.{kind}", __package__)
    return module.emit(split(graph, wrt, profile, kind, style))


class Pullback:
    """The backward half of a split: call it with the output's gradient `df` (of the
    output's shape) for the gradients of the inputs in `wrt`, as a tuple."""

    def __init__(self, backward, cache, output: str = "the output", shape=None):
        self.backward, self.cache = backward, cache
        self.output, self.shape = output, shape

    def __call__(self, df):
        # checked here: a wrong shape would fail deep in the backward (or broadcast)
        if self.shape is not None and np.shape(df) != self.shape:
            raise FlatgradError(f"the pullback's df should be "
                                f"{describe(self.shape) if self.shape else 'a scalar'}, the "
                                f"shape of {self.output}; got {describe(np.shape(df))}")
        return self.backward(df, self.cache)


def split_functions(graph: Graph, wrt, profile: str, style: Style | None = None):
    """The generated `f_forward` and `f_backward`, run from flatgrad's own output."""
    emitted = emit(graph, wrt, profile, "split", style)
    filename = f"<flatgrad {graph.function} split>"
    linecache.cache[filename] = (len(emitted.source), None, emitted.source.splitlines(True),
                                 filename)
    namespace = {"__name__": f"flatgrad_{graph.function}_split"}
    exec(builtins.compile(emitted.source, filename, "exec"), namespace)
    return namespace[graph.function + "_forward"], namespace[graph.function + "_backward"]


class Split:
    """The value and the pullback of a compiled program: `vjp(*args)` runs the
    generated `f_forward` and returns the output and a Pullback."""

    def __init__(self, graph: Graph, wrt, profile: str, defaults=None,
                 style: Style | None = None):
        self.graph, self.wrt, self.defaults = graph, wrt, defaults or {}
        self.forward, self.backward = split_functions(graph, wrt, profile, style)

    def vjp(self, args, kwargs, check_shapes=None):
        point = {**self.defaults, **dict(zip(self.graph.inputs, args)), **kwargs}
        missing = [name for name in self.graph.inputs if name not in point]
        if missing or len(args) > len(self.graph.inputs):
            raise FlatgradError(f"vjp takes the inputs ({', '.join(self.graph.inputs)}); "
                                + (f"missing {', '.join(missing)}" if missing
                                   else f"got {len(args)} values"))
        if check_shapes:
            check_shapes(**{name: point[name] for name in self.graph.inputs})
        value, cache = self.forward(*(point[name] for name in self.graph.inputs))
        output = self.graph.nodes[self.graph.output].name
        return value, Pullback(self.backward, cache, output, np.shape(value))


class Modular:
    """A program compiled in a split mode or for an export: its module's `source`
    (and `write`); `vjp` as for Compiled."""

    def __init__(self, graph: Graph, wrt, profile: str, kind: str, defaults=None,
                 target=None, style: Style | None = None):
        if target is not None:
            raise FlatgradError(f"target {target!r} chooses reverse mode's code; mode "
                                f"{kind!r} writes its own (Python for a scalar formula, "
                                "numpy for an array program, or the library's)")
        self.graph, self.wrt, self.kind, self.profile = graph, wrt, kind, profile
        self.defaults, self.style = defaults or {}, style
        self.emitted = emit(graph, wrt, profile, kind, style)
        self.source = self.emitted.source
        self._split: Split | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.graph.inputs

    def vjp(self, /, *args, **kwargs):
        """(value, pullback): pullback(df) is the vector-Jacobian product, the
        gradients of the inputs in `wrt` given the output's gradient df."""
        self._split = self._split or Split(self.graph, self.wrt, self.profile, self.defaults,
                                           self.style)
        return self._split.vjp(args, kwargs, self.check_shapes)

    @property
    def shapes(self) -> dict[str, tuple]:
        """The declared shape of every input (() for a scalar)."""
        return {name: self.graph.shape_of(name) for name in self.inputs}

    def check_shapes(self, /, *args, **kwargs) -> None:
        """Raise FlatgradError unless the arguments have the declared shapes, as
        Compiled.check_shapes does (it reads only graph, inputs and shapes)."""
        from ..api import Compiled
        Compiled.check_shapes(self, *args, **kwargs)

    def write(self, path, force: bool = False, source: str | None = None):
        from ..atomic_write import write
        return write(path, source or self.source, force)
