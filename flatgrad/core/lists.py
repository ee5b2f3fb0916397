"""The gradients of list inputs, gathered as the notes write them.

The entries of a list input, `w[0]`, `w[1]` ..., are scalar inputs of the graph,
each with its own gradient line (`dw[0] = x[0] * ddot`). The caller gets one
list per list input, so their lines are gathered: where each entry gets one line
and all of them come from one stage, into one list display at that stage,
`dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]`, as the notes write it; otherwise a
list of zeros is made before the first of them and each entry's lines assign and
add into it (`dw[0] += ...`), which is plain Python too. An entry nothing reaches
keeps its 0.0.
"""
from __future__ import annotations

import numbers

from ..errors import FlatgradError
from .plan import Line, Plan
from .shapes import describe


def check_values(graph, given: dict, suffix: str = "") -> None:
    """Raise FlatgradError unless each list input in `given` is a list (or tuple, or
    1-d array) of exactly as many numbers as the formula's list has entries: a
    shorter list would fail deep in the generated code, a longer one would have
    entries that silently get no gradient, and nested lists are not numbers.
    `suffix`: given holds the lists' directions, named w_dot in messages."""
    import numpy as np
    for listed, (length, _) in graph.lists.items():
        if listed not in given:
            continue
        value, name = given[listed], listed + suffix
        entries = "1 entry" if length == 1 else f"{length} entries"
        expected = f"{name} is a list of {entries} ({_entry_names(name, length)})"
        if not isinstance(value, (list, tuple, np.ndarray)) or \
                isinstance(value, np.ndarray) and value.ndim == 0:
            raise FlatgradError(f"{expected}, got {_what(value)}",
                                hint=f"give {name} as a list, e.g. {name}=[" +
                                ", ".join(["0.5"] * min(length, 3))
                                + (", …" if length > 3 else "") + "]")
        if isinstance(value, np.ndarray) and value.ndim != 1:
            raise FlatgradError(f"{expected}, got a {describe(value.shape)} array")
        if len(value) != length:
            raise FlatgradError(
                f"{expected}, got {len(value)} entr{'y' if len(value) == 1 else 'ies'}",
                hint=f"declare a longer list with --shape {listed}={len(value)} (shapes="
                     f"{{'{listed}': ({len(value)},)}} in Python): the entries the formula "
                     "does not read get gradient 0.0" if len(value) > length and not suffix
                else None)
        for k, entry in enumerate(value):
            if not _is_number(entry):
                raise FlatgradError(f"{name}[{k}] should be a number, got {_what(entry)}")


def _entry_names(name: str, length: int) -> str:
    if length == 1:
        return f"{name}[0]"
    return f"{name}[0] … {name}[{length - 1}]"


def _is_number(value) -> bool:
    import numpy as np
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "biuf"
    return isinstance(value, (numbers.Real, np.bool_))   # as a scalar input takes them


def _what(value) -> str:
    import numpy as np
    if isinstance(value, np.ndarray) and value.ndim:
        return f"a {describe(value.shape)} array"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__}"
    if _is_number(value):
        return f"the number {float(value):g}"
    return f"a {type(value).__name__}"


def refuse_spelling(graph, spelling: str) -> None:
    """Lists are Python lists: the generated code indexes them entry by entry, which
    only the python target writes. Say what works instead, for numpy or an export."""
    if not graph.lists or spelling == "python":
        return
    lists = ", ".join(graph.lists)
    first, *others = graph.lists
    other = others[0] if others else "v"
    length = graph.lists[first][0]
    arrays = (f"declare --shape {first}={length} and use sum({first} * {other}) or "
              f"{first} @ {other} in place of {first}[0]*{other}[0] + …")
    if spelling in ("torch", "jax"):
        raise FlatgradError(
            f"list inputs ({lists}) cannot be exported to {spelling}: its function takes "
            "tensors, and a list's entries are indexed one by one",
            hint=f"write the formula over whole arrays instead of entries: {arrays}; or "
                 "keep the lists and compile with --mode split (plain Python f_forward and "
                 "f_backward)")
    raise FlatgradError(
        f"list inputs ({lists}) compile to the python target only",
        hint=f"for {spelling} code write the formula over whole arrays instead of entries: "
             f"{arrays}")


def gather(plan: Plan) -> None:
    graph = plan.graph
    for name in plan.wrt:
        if name not in graph.lists:
            continue
        length, grad = graph.lists[name]
        entries = [f"{grad}[{k}]" for k in range(length)]
        zeros = "[" + ", ".join(["0.0"] * length) + "]"
        found = [(group, line) for group in plan.backward for line in group.lines
                 if line.target in entries]
        if not found:
            plan.zeros.append(Line(grad, zeros, 0))
            continue
        group, first = found[0]
        per_entry = {line.target for _, line in found}
        if len(per_entry) == len(found) and all(g is group for g, _ in found):
            codes = {line.target: line.code for _, line in found}
            gathered = Line(grad, "[" + ", ".join(codes.get(e, "0.0") for e in entries) + "]",
                            first.ref, node=first.node, stage=first.stage,
                            operand=first.operand, upstream=first.upstream)
            gathered_ids = {id(line) for _, line in found}
            position = group.lines.index(first)
            group.lines[position] = gathered
            group.lines[:] = [line for line in group.lines if id(line) not in gathered_ids]
        else:
            group.lines.insert(group.lines.index(first), Line(grad, zeros, first.ref))
