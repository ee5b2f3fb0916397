"""The numba target: the scalar lines compiled into one parallel loop over arrays.

The forward and backward lines are the python target's, unchanged; numba
compiles them into one `prange` loop over the elements of inputs that broadcast
together, so a gradient over a million points reads the inputs once and writes
each result once.
"""
from __future__ import annotations

from ..core.plan import Plan
from . import Emitted, Passes, header, helpers, import_line, imports_math, module_names, render, \
    signature

SPELLING = "numba"
ELEMENTWISE = True


def emit(plan: Plan, with_values: bool = False) -> Emitted:
    graph = plan.graph
    passes = Passes(plan, with_values, indent=8)   # the kernel's loop body
    used = helpers(plan, passes.code, SPELLING)
    uses_math = imports_math(plan, passes.code + "\n".join(used))
    output = graph.nodes[graph.output].name
    kernel = graph.function + "_and_grad_kernel"
    results = [output] + list(plan.grads)
    arrays = {name: f"{name}_all" for name in graph.inputs}
    outs = {name: f"{name}_out" for name in results}
    names = module_names(plan, ["numba", kernel, "i", "shape"] + list(arrays.values())
                         + list(outs.values()))
    np_ = graph.globals["np"]
    params = ", ".join(graph.inputs)
    arity = len(graph.inputs)
    context = {
        "header": header(plan, "numba and numpy" + (", and Python's math module"
                                                    if uses_math else ""))
        + ["Compiled with numba into one parallel loop over the elements of arrays that "
           "broadcast together."],
        "import_math": import_line("math", graph.globals["math"]) if uses_math else "",
        "import_numpy": import_line("numpy", np_),
        "helpers": used,
        **signature(plan),
        "np": np_, "numba": names["numba"], "kernel": names[kernel],
        "index": names["i"], "shape": names["shape"],
        "vectorize_signature": f'["float64({", ".join(["float64"] * arity)})"]',
        "loads": [(name, names[arrays[name]]) for name in graph.inputs],
        "stores": [(names[outs[name]], name) for name in results],
        "arrays": ", ".join(names[arrays[name]] for name in graph.inputs),
        "outs": ", ".join(names[outs[name]] for name in results),
        "first_out": names[outs[output]],
        # numpy broadcasts the inputs; the loop then sees flat arrays of one length
        "broadcast": f"{params}{',' if arity == 1 else ''} = {np_}.broadcast_arrays("
                     + ", ".join(f"{np_}.asarray({n}, dtype={np_}.float64)"
                                 for n in graph.inputs) + ")",
        "first_input": graph.inputs[0],
        "allocate": ", ".join(f"{np_}.empty({names['shape']})" for _ in results),
        "call_args": ", ".join([f"{np_}.ravel({n})" for n in graph.inputs]
                               + [f"{names[outs[n]]}.reshape(-1)" for n in results]),
        "returned": f"{names[outs[output]]}, (" + ", ".join(names[outs[g]] for g in plan.grads)
                    + ("," if len(plan.grads) == 1 else "") + ")",
    }
    return render("numba.py.j2", context, passes)
