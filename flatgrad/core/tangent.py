"""Forward mode: the reverse plan transformed into tangent lines.

`forward(plan)` keeps the plan's forward pass and follows each line with its
tangent line, `sigy_dot = (1.0 - sigy) * sigy * y_dot  # (1)`: the gate's local
gradients from the gate table, each times its operand's tangent, summed (a gate
over whole arrays gives its linear form, the row's JVP, instead). Tangents
start from the directions given for the inputs in `wrt` and have their
primal's shape; no backward pass is written.

`hvp(plan)` is forward mode over the reverse pass, as Tangent builds a
Hessian-vector product: it differentiates the gradient program flatgrad itself
wrote, line by line. A backward line is an expression of the gate table's own
forms (`-1.0 / den**2 * dinvden`); each piece of it is matched against the
table's forward forms (`{a} / {b}`, `{a}**2`, a sigmoid written inline) and
differentiated with that row's local gradients; a routing choice
(`dxpy if x > 0.0 else 0.0`) passes the tangent of the branch it takes. The
tangents of the gradients are then the Hessian times the direction. No
formula is differentiated symbolically as a whole.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from ..errors import FlatgradError
from .gates import GATES, Gate
from .graph import RESERVED, _fresh, _Taken
from .plan import (Line, Plan, _fill, _has_gradient, _local_code, _np, _rename, build, chain,
                   inputs_at, namespace, naming_the_line, store)
from .shapes import broadcast_shapes, describe

MODES = ("forward", "hvp", "hessian")
ZERO = ""   # the tangent of a value that does not depend on the direction


@dataclass
class TangentPlan:
    base: Plan                         # the reverse plan it was made from
    mode: str                          # forward, hvp or hessian
    lines: list[Line]                  # primal and tangent lines, in the order they run
    directions: tuple[str, ...]        # the tangent of each input in wrt: the parameters
    results: tuple[str, ...]           # forward: the output's tangent; hvp: the gradients'
    dots: dict[str, str] = field(default_factory=dict)   # a variable -> its tangent's name
    active: set = field(default_factory=set)   # the variables whose tangent is not zero
    tangent_lines: set = field(default_factory=set)      # ids of the tangent lines
    backward_lines: set = field(default_factory=set)     # ids of the backward pass's lines
    taken: set = field(default_factory=set)    # every name in the module, tangents too

    @property
    def graph(self):
        return self.base.graph

    def is_tangent(self, line: Line) -> bool:
        return id(line) in self.tangent_lines

    def result(self, variable: str) -> str:
        return self.dots[variable] if variable in self.active else ZERO


def forward(plan: Plan) -> TangentPlan:
    """The forward pass, each line followed by its tangent line."""
    plan = _gate_by_gate(plan)
    tangents = _start(plan, "forward")
    for line in plan.forward:
        tangents.lines.append(line)
        _stage_tangent(tangents, line)
    output = plan.graph.nodes[plan.graph.output]
    tangents.results = (tangents.result(output.name),)
    return tangents


def hvp(plan: Plan, mode: str = "hvp") -> TangentPlan:
    """Forward mode over the gradient program: the gradients' tangents are the
    Hessian-vector product."""
    if plan.graph.has_arrays:   # the caret at the first array input's first use
        graph = plan.graph
        first = next(graph.input_node(name) for name in graph.inputs if graph.shape_of(name))
        raise graph.program.error(
            f"--mode {mode} is for scalar formulas (python code, or numpy code over arrays "
            f"of points); this program has array inputs: {first.name} is "
            f"{describe(first.shape)}", first.token,
            hint="--mode forward takes array programs; second derivatives need scalar inputs")
    plan = _gate_by_gate(plan)
    tangents = _start(plan, mode)
    for line in plan.forward:
        tangents.lines.append(line)
        _stage_tangent(tangents, line)
    differentiate = _Differentiator(tangents, plan)
    for line in ([plan.seed] if plan.seed else []) + plan.backward_lines:
        start = len(tangents.lines)
        tangents.lines.append(line)
        differentiate.line(line)
        tangents.backward_lines |= {id(added) for added in tangents.lines[start:]}
    lists = {grad: length for length, grad in plan.graph.lists.values()}
    # a list's gradient that does not depend on the direction has a list of zeros
    tangents.results = tuple(tangents.result(grad) or (
        "[" + ", ".join(["0.0"] * lists[grad]) + "]" if grad in lists else ZERO)
        for grad in plan.grads)
    _drop_dead_lines(tangents)
    return tangents


def _drop_dead_lines(tangents: TangentPlan) -> None:
    """Only the gradients' tangents are returned: a line nothing after it reads
    (the output, its tangent, a tangent the backward pass never needs) goes."""
    live = {name for name in tangents.results if name}
    kept = []
    for line in reversed(tangents.lines):
        target = line.target.split("[")[0]   # dw[0] = ... writes into the list dw
        if target not in live:
            continue
        kept.append(line)
        if not line.accumulate and target == line.target:
            live.discard(target)
        live |= {node.id for node in ast.walk(ast.parse(line.code, mode="eval"))
                 if isinstance(node, ast.Name)}
    tangents.lines = kept[::-1]


def _gate_by_gate(plan: Plan) -> Plan:
    """A plan with one line per gate: tangents are the gates' own (a style that writes
    a statement whole, core/fuse.py, is planned again without that, and the lean
    profile's folded lines, core/lean.py, are planned again as fast)."""
    fused = plan.style is not None and plan.style.fuse
    if not fused and plan.profile != "lean":
        return plan
    return build(plan.graph, plan.wrt, "fast" if plan.profile == "lean" else plan.profile,
                 plan.spelling, style=replace(plan.style, fuse=False) if fused else plan.style)


def _start(plan: Plan, mode: str) -> TangentPlan:
    if plan.spelling == "numba":
        raise FlatgradError(f"--mode {mode} writes python or numpy code, not numba")
    graph = plan.graph
    taken = _Taken(set(RESERVED) | set(graph.inputs) | set(graph.globals.values())
                   | {graph.function, graph.function + "_and_grad"})
    for node in graph.nodes:
        taken.update(name for name in (node.name, node.grad) if name)
    tangents = TangentPlan(plan, mode, [], (), (), taken=taken)
    tangents.directions = tuple(_dot_name(tangents, name) for name in plan.wrt)
    tangents.active.update(plan.wrt)
    for name in plan.wrt:
        # a list's direction is a list: the tangent of its entry w[0] is w_dot[0]
        for k in range(graph.lists.get(name, (0,))[0]):
            tangents.dots[f"{name}[{k}]"] = f"{tangents.dots[name]}[{k}]"
            tangents.active.add(f"{name}[{k}]")
    return tangents


def _dot_name(tangents: TangentPlan, variable: str) -> str:
    if variable not in tangents.dots:
        name = _fresh(f"{variable}_dot", tangents.taken)
        tangents.taken.add(name)
        tangents.dots[variable] = name
    return tangents.dots[variable]


def _tangent_line(tangents: TangentPlan, line: Line, code: str, accumulate=False) -> Line:
    tangent = Line(_dot_name(tangents, line.target), code, line.ref, accumulate, node=line.node)
    tangents.lines.append(tangent)
    tangents.tangent_lines.add(id(tangent))
    tangents.active.add(line.target)
    return tangent


# -- the tangent of a stage, from its gate's row ---------------------------------

def _stage_tangent(tangents: TangentPlan, line: Line) -> None:
    plan = tangents.base
    graph = plan.graph
    node = graph.nodes[line.node]
    gate = node.gate
    over_arrays = node.index in plan.over_arrays
    terms, produced = [], ()
    for i, arg in enumerate(node.args):
        operand = graph.nodes[arg].name
        if operand not in tangents.active or not _has_gradient(gate, i):
            continue
        dot = tangents.dots[operand]
        if gate.jvp:   # a gate over whole arrays: its linear form
            terms.append(_fill(graph, node, gate.jvp[i]).replace("{up}", dot))
            continue
        local = _local_code(plan, node, i)
        terms.append(chain(local, _paren(dot), plan.profile))
        if over_arrays:
            produced = broadcast_shapes(produced, _read_shape(graph, node, gate, i))
    if not terms:
        return
    code = _sum(terms)
    if over_arrays and graph.has_arrays and not gate.jvp and produced != node.shape:
        # a tangent has its primal's shape: one broadcast operand alone would not
        code = f"{_np(graph)}.broadcast_to({code}, {node.name}.shape)"
    _tangent_line(tangents, line, code)


def _read_shape(graph, node, gate: Gate, i: int) -> tuple:
    """The shape of an elementwise term: what its local gradient reads, and the
    operand's tangent, broadcast together."""
    shape = graph.nodes[node.args[i]].shape
    local = gate.local[i] or ""
    for placeholder, index in (("{a}", 0), ("{b}", 1)):
        if placeholder in local and index < len(node.args):
            shape = broadcast_shapes(shape, graph.nodes[node.args[index]].shape)
    if "{out}" in local:
        shape = broadcast_shapes(shape, node.shape)
    return shape


def _paren(code: str) -> str:
    # a name, or an entry of a list, w_dot[0], needs no parentheses
    return code if re.fullmatch(r"[\w.]+(\[\d+\])?", code) else f"({code})"


def _sum(terms: list[str]) -> str:
    """Terms joined by + (a leading minus read as a subtraction), each in
    parentheses where + would bind it otherwise."""
    out = ""
    for term in terms:
        tree = ast.parse(term, mode="eval").body
        loose = isinstance(tree, (ast.IfExp, ast.Compare, ast.BoolOp, ast.Lambda))
        if loose:
            term = f"({term})"
        if not out:
            out = term
        elif term.startswith("-") and not loose and _tight(term[1:]):
            out += f" - {term[1:]}"
        else:
            out += f" + {term}"
    return out


def _tight(code: str) -> bool:
    tree = ast.parse(code, mode="eval").body
    return isinstance(tree, (ast.Name, ast.Constant, ast.Call, ast.Attribute)) or \
        isinstance(tree, ast.BinOp) and isinstance(tree.op, (ast.Mult, ast.Div, ast.Pow))


# -- the tangent of a backward line, piece by piece -------------------------------

@lru_cache(maxsize=None)
def _patterns() -> tuple:
    """Every scalar gate's forward forms as expression patterns, the most specific
    first: (gate, pattern, the spelling whose local gradients go with it). The
    fast profile's inline forms (the sigmoid) are patterns too, so a line written
    with them is read back as the one gate it is, and so are the numpy forms
    (`expit({a})`, `np.maximum({a}, 0.0)`) of a scalar formula run over arrays."""
    found = []
    for gate in GATES.values():
        if not gate.on_scalars:
            continue
        forms = {gate.forward: "python", gate.fast: "python"}
        if gate.grouped:   # its helper's call, as other gates' local gradients write it
            forms.setdefault(gate.as_call, "python")
        forms.setdefault(gate.forward_form("teach", "numpy"), "numpy")
        for form, spelling in forms.items():
            if not form:
                continue
            tree = ast.parse(re.sub(r"\{(a|b)\}", r"__\1", form), mode="eval").body
            size = sum(1 for node in ast.walk(tree) if isinstance(node, (ast.expr, ast.operator))
                       and not (isinstance(node, ast.Name) and node.id.startswith("__")))
            if not size:
                continue   # a copy, `{a}`, is no pattern: it matches anything
            # of two forms alike (math.pow), the gate that differentiates more operands
            found.append((-size, -sum(local is not None for local in gate.local), gate, tree,
                          spelling))
    found.sort(key=lambda item: item[:2])
    return tuple((gate, tree, spelling) for *_, gate, tree, spelling in found)


def _match(pattern, node, bound: dict) -> bool:
    if isinstance(pattern, ast.Name) and pattern.id in ("__a", "__b"):
        seen = bound.get(pattern.id)
        if seen is None:
            bound[pattern.id] = node
            return True
        return ast.dump(seen) == ast.dump(node)
    if type(pattern) is not type(node):
        return False
    if isinstance(pattern, ast.Constant):
        return pattern.value == node.value and type(pattern.value) is type(node.value)
    for name, value in ast.iter_fields(pattern):
        if name == "ctx":
            continue
        other = getattr(node, name)
        if isinstance(value, list):
            if len(value) != len(other) or \
                    not all(_match(p, n, bound) for p, n in zip(value, other)):
                return False
        elif isinstance(value, ast.AST):
            if not _match(value, other, bound):
                return False
        elif value != other:
            return False
    return True


class _Differentiator:
    """Tangent lines of the backward pass, each from its own line's code."""

    def __init__(self, tangents: TangentPlan, plan: Plan):
        self.tangents = tangents
        self.plan = plan

    def line(self, line: Line) -> None:
        tangents = self.tangents
        if "[" in line.target:
            self._entry(line)
            return
        code = self.tangent(ast.parse(line.code, mode="eval").body,
                            "" if line.accumulate else line.target)
        had_tangent = line.target in tangents.active
        if not code:
            if not line.accumulate:   # it no longer depends on the direction
                tangents.active.discard(line.target)
            return
        _tangent_line(tangents, line, code, accumulate=line.accumulate and had_tangent)

    def _entry(self, line: Line) -> None:
        """`dw[2] = x[1] * dprod2` (or `+=`): an entry of a list input's gradient
        (core/lists.py). Its tangent goes into the same entry of the list's tangent,
        a list of zeros made first where the list has no tangent yet."""
        tangents = self.tangents
        code = self.tangent(ast.parse(line.code, mode="eval").body)
        if not code:
            return   # the entry's tangent stays as the list of zeros made it (or none)
        listed, index = line.target[:-1].split("[")
        if listed not in tangents.active:
            length = next(size for size, grad in self.plan.graph.lists.values()
                          if grad == listed)
            made = Line(listed, "[" + ", ".join(["0.0"] * length) + "]", line.ref)
            _tangent_line(tangents, made, made.code)
        entry = Line(f"{tangents.dots[listed]}[{index}]", code, line.ref, line.accumulate,
                     node=line.node)
        tangents.lines.append(entry)
        tangents.tangent_lines.add(id(entry))

    def tangent(self, node: ast.AST, out: str = "") -> str:
        """The tangent of an expression as code; ZERO where it has none. `out` names
        the expression's value where a variable holds it."""
        if isinstance(node, ast.Name):
            return self.tangents.result(node.id)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and \
                node.value.id in self.plan.graph.lists:   # an entry of a list input, w[0]
            return self.tangents.result(f"{node.value.id}[{node.slice.value}]")
        if isinstance(node, ast.List):   # a list input's gradient, gathered (lists.py)
            entries = [self.tangent(entry) for entry in node.elts]
            if not any(entries):
                return ZERO
            return "[" + ", ".join(entry or "0.0" for entry in entries) + "]"
        if isinstance(node, (ast.Constant, ast.Attribute, ast.Compare)):
            return ZERO   # a number, math.pi, or a test (a mask) that is constant nearby
        if not any(isinstance(name, ast.Name) and (name.id in self.tangents.active
                                                   or name.id in self.plan.graph.lists)
                   for name in ast.walk(node)):
            return ZERO   # nothing in it varies: a constant written out, σ(3)
        for gate, pattern, spelling in _patterns():
            bound: dict = {}
            if _match(pattern, node, bound):
                return self._through(gate, node, bound, out, spelling)
        np_ = self.plan.graph.globals["np"]
        if isinstance(node, ast.Call) and _text(node.func) in (
                f"{np_}.ones_like", f"{np_}.zeros_like", f"{np_}.sign"):
            return ZERO   # the seed (a one), a zero gradient, a sign: constant nearby
        if isinstance(node, ast.Call) and _text(node.func) == f"{np_}.where" \
                and len(node.args) == 3:   # numpy's routing choice
            body, orelse = self.tangent(node.args[1]), self.tangent(node.args[2])
            if not body and not orelse:
                return ZERO
            return f"{np_}.where({_text(node.args[0])}, {body or '0.0'}, {orelse or '0.0'})"
        if isinstance(node, ast.IfExp):
            # a routing choice: the value it takes is one branch, near the point too
            body, orelse = self.tangent(node.body), self.tangent(node.orelse)
            if not body and not orelse:
                return ZERO
            return f"{body or '0.0'} if {_text(node.test)} else {orelse or '0.0'}"
        raise FlatgradError(f"cannot differentiate {_text(node)!r} in the gradient program")

    def _through(self, gate: Gate, node, bound: dict, out: str, spelling: str) -> str:
        operands = [bound.get(f"__{letter}") for letter in "ab"[:gate.arity]]
        texts = [_paren(_text(operand)) if operand is not None else "" for operand in operands]
        terms = []
        for i, operand in enumerate(operands):
            if operand is None or gate.local[i] is None:
                continue
            dot = self.tangent(operand)
            if not dot:
                continue
            form = gate.local_form(i, self.plan.profile, spelling)
            local = gate.code(_rename(form, self.plan.graph), texts, out or _paren(_text(node)))
            terms.append(chain(local, _paren(dot), self.plan.profile))
        # the very same operations, with no parentheses beyond those they need
        return _tidy(_sum(terms)) if terms else ZERO


def _text(node: ast.AST) -> str:
    return ast.unparse(node).replace(" ** ", "**")


def _tidy(code: str) -> str:
    return _text(ast.parse(code, mode="eval").body)


def evaluate(tangents: TangentPlan, point: dict, directions: dict) -> dict:
    """Fill in every line's value at `point`, the inputs' tangents given by
    `directions` (input name -> its tangent), by running the lines themselves."""
    import numpy as np
    plan = tangents.base
    graph = plan.graph
    space = namespace(graph, plan.spelling)
    values = inputs_at(plan, point)
    for name, dot in zip(plan.wrt, tangents.directions):
        if name in graph.lists:
            values[dot] = [float(entry) for entry in directions[name]]
            continue
        values[dot] = directions[name] if np.ndim(directions[name]) or plan.over_arrays \
            else float(directions[name])
    for line in tangents.lines:
        if tangents.is_tangent(line):
            try:
                result = eval(line.code, space, values)  # flatgrad's own generated line
            except (ArithmeticError, ValueError) as err:
                raise FlatgradError(f"{err} at the tangent line {line.text} of stage "
                                    f"({line.ref}), evaluated at "
                                    + ", ".join(f"{k}={v}" for k, v in point.items())) \
                    from None
        else:
            with naming_the_line(line, graph, point):
                result = eval(line.code, space, values)  # flatgrad's own generated line
        store(values, line, result)
    return values
