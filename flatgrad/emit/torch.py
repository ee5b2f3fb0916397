"""The PyTorch export: a torch.autograd.Function whose forward and backward are
the generated passes in torch's spelling (the gate table's torch column). The
generated module imports torch; flatgrad does not."""
from __future__ import annotations

from ..core.split import Split
from . import Emitted, import_line, render
from .layer import class_name

SPELLING = "torch"


def emit(split: Split) -> Emitted:
    from .split import context
    graph = split.plan.graph
    function = class_name(graph.function).removesuffix("Layer") + "Function"
    values, passes = context(split, "PyTorch", ["ctx", function])
    values.update(layer=values.pop(function), torch=graph.globals["torch"],
                  import_torch=import_line("torch", graph.globals["torch"]))
    grads = dict(zip(split.plan.wrt, split.plan.grads))
    values["returned"] = [(grads.get(name, ""), index) for index, name in enumerate(graph.inputs)]
    return render("torch.py.j2", values, passes)
