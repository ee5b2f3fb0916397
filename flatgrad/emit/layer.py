"""The modular API: a class with `forward(self, ...)`, which keeps on the layer
the values its backward reads, and `backward(self, dout)`, which returns the
input gradients, as seed 004's gates and CS231n's layers are written."""
from __future__ import annotations

from ..core.split import Split
from . import Emitted, render
from .split import context


def class_name(function: str) -> str:
    """`f` -> `FLayer`, `affine_relu` -> `AffineReluLayer`."""
    return "".join(part[:1].upper() + part[1:] for part in function.split("_")) + "Layer"


def emit(split: Split) -> Emitted:
    layer = class_name(split.plan.graph.function)
    values, passes = context(split, "", ["self", layer])
    values["instance"] = values.pop("self")   # jinja keeps `self` for itself
    values["layer"] = values.pop(layer)
    # a value named like a method would hide it once kept on the layer
    values["cache"] = [(name + "_" if name in ("forward", "backward") else name, name)
                       for name in split.cache]
    return render("layer.py.j2", values, passes)
