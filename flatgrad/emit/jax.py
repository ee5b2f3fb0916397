"""The JAX export: a jax.custom_vjp function whose fwd returns the output and the
residuals (the cache) and whose bwd is the generated backward pass, in JAX's
spelling (the gate table's jax column). The generated module imports jax;
flatgrad does not."""
from __future__ import annotations

import re

from ..core.split import Split
from . import Emitted, import_line, module_names, render

SPELLING = "jax"


def emit(split: Split) -> Emitted:
    from .split import context
    graph = split.plan.graph
    values, passes = context(split, "JAX", ["residuals"])
    jnp = graph.globals["jnp"]
    # A scalar formula runs over inputs that broadcast together, but jax wants each
    # cotangent in its own input's shape: a gradient is summed back over the axes its
    # input was broadcast along. An array program's gradients have their inputs' shapes.
    unbroadcast = "" if graph.has_arrays else module_names(split.plan, ["unbroadcast"])[
        "unbroadcast"]
    # ruff would flag an unused jax.numpy (the reference formula calls only jax.nn)
    uses_jnp = unbroadcast or re.search(r"\b%s\." % jnp,
                                        passes.code + "\n".join(values["helpers"]))
    values.update(jax=graph.globals["jax"], jnp=jnp if uses_jnp else "",
                  import_jax=import_line("jax", graph.globals["jax"]), unbroadcast=unbroadcast)
    if unbroadcast:   # the inputs' shapes: the residuals keep each input (a reference)
        kept = split.cache + tuple(name for name in split.plan.wrt if name not in split.cache)
        values["cached"] = ", ".join(kept) + ("," if len(kept) == 1 else "")
    grads = {name: f"{unbroadcast}({grad}, {name})" if unbroadcast else grad
             for name, grad in zip(split.plan.wrt, split.plan.grads)}
    returned = [grads.get(name, "None") for name in graph.inputs]
    values["returned"] = ", ".join(returned) + ("," if len(returned) == 1 else "")
    return render("jax.py.j2", values, passes)
