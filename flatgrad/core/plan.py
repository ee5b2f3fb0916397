"""The backward plan: the forward pass reversed, one line per local gradient.

For every stage, from the output back to the inputs, each operand that depends
on a differentiated input gets the line `d<operand> = <local> * d<stage>`; the
first contribution to a gradient assigns it and every later one adds to it
(`+=`), because a value used in several places (a fork) sums the gradients
flowing back from each use. Work for inputs outside `wrt` is pruned.

One plan serves scalars and arrays. Each line is spelled for the target that
will print it: in Python (`math.exp`) for a stage of scalars, in numpy for a
stage over arrays. Over arrays a line is a vector-Jacobian product: for an
elementwise gate its local gradient times the upstream gradient, entry by entry;
a gate over whole arrays (`@`, `sum`, `softmax` ...) declares its own. Then the
shape passes: the gradient of an operand that a gate broadcast is summed back to
the operand's own shape, and a gradient is kept in broadcast form where it can
be (the gradient of a sum is the upstream gradient spread over the summed axes,
so it stays a scalar while only elementwise gates read it, and is expanded only
where a gate such as matmul, a `+=`, or the caller needs its full shape).
"""
from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from ..errors import FlatgradError
from .gates import OVERFLOW, Gate, array_module, copy_method, helper_table
from .graph import Graph, Node
from .styles import Style
from .shapes import broadcast_shapes, describe

PROFILES = ("fast", "lean", "teach")
SPELLINGS = ("python", "numpy", "numba", "torch", "jax")
ARRAY_SPELLINGS = ("numpy", "torch", "jax")   # libraries of whole-array operations
_OPERAND = {"a": 0, "b": 1}


@dataclass
class Line:
    target: str
    code: str
    ref: int                 # the forward line (k) it belongs to
    accumulate: bool = False
    node: int = -1           # the node whose value or gradient the line computes
    stage: int = -1          # for a backward line, the stage it backprops
    operand: int = -1        # and which of that stage's operands
    local: str = ""          # the local gradient (or VJP), as a formula of cached values
    upstream: str = ""       # the upstream gradient's name ("" at the output: it is 1)
    why: str = ""            # a comment above the line (a gradient summed back)
    fresh: bool = False      # over arrays: the line makes a new array (np.full_like)
    held: tuple | None = None    # over arrays: the shape it holds, where smaller than its
                                 # node's (a gradient in broadcast form)
    value: object = None     # at a point: the value after this line
    local_value: object = None   # the local gradient's value
    share: object = None         # and this line's contribution (local * upstream)

    @property
    def text(self) -> str:
        return f"{self.target} {'+=' if self.accumulate else '='} {self.code}"


@dataclass
class Group:
    stage: Node
    header: str
    lines: list[Line]


@dataclass
class Plan:
    graph: Graph
    wrt: tuple[str, ...]
    profile: str
    spelling: str                      # python or numba, or numpy for stages over arrays
    forward: list[Line]
    backward: list[Group]
    zeros: list[Line] = field(default_factory=list)
    seed: Line | None = None           # d<output> = 1 in the output's dtype, over arrays
    over_arrays: frozenset = frozenset()   # nodes whose values are numpy arrays
    style: Style | None = None         # a listing's factor order and seed line

    @property
    def grads(self) -> tuple[str, ...]:
        lists = self.graph.lists
        return tuple(lists[name][1] if name in lists else self.graph.input_node(name).grad
                     for name in self.wrt)

    @property
    def backward_lines(self) -> list[Line]:
        return [line for group in self.backward for line in group.lines] + self.zeros

    @property
    def lines(self) -> list[Line]:
        """Every line in the order the gradient function runs them."""
        return self.forward + ([self.seed] if self.seed else []) + self.backward_lines

    def shape(self, line: Line) -> tuple:
        """The shape of the line's value (a gradient in broadcast form may be smaller)."""
        return self.graph.nodes[line.node].shape if line.held is None else line.held

    def spelling_of(self, node: int) -> str:
        """numpy for a stage over arrays; a stage of scalars is spelled in Python
        (or numba's Python)."""
        if node in self.over_arrays:
            return self.spelling if self.spelling in ARRAY_SPELLINGS else "numpy"
        return "numba" if self.spelling == "numba" else "python"

    def forks(self) -> dict[int, int]:
        """Nodes whose gradient is summed from more than one line, with the line count."""
        counts: dict[int, int] = {}
        for line in self.backward_lines:
            if line.stage >= 0:
                counts[line.node] = counts.get(line.node, 0) + 1
        return {node: n for node, n in counts.items() if n > 1}


def build(graph: Graph, wrt=None, profile: str = "fast", spelling: str = "python",
          elementwise: bool = False, vjp: bool = False, style: Style | None = None) -> Plan:
    """The plan of `graph`'s gradient, its lines spelled for `spelling`.

    `elementwise`: a scalar formula run over numpy arrays that broadcast
    together, every stage that depends on an input then being an array.
    `vjp`: the output's gradient comes from outside (a vector-Jacobian product,
    core/split.py), so the output may be an array and there is no seed.
    `style`: a listing's factor order and seed line (core/styles.py)."""
    if profile not in PROFILES:
        raise FlatgradError(f"unknown profile {profile!r}; choose one of {PROFILES}")
    if spelling not in SPELLINGS:
        raise FlatgradError(f"unknown spelling {spelling!r}; choose one of {SPELLINGS}")
    if graph.has_arrays and spelling not in ARRAY_SPELLINGS:
        raise FlatgradError("a program with array inputs compiles to numpy code: use the "
                            "numpy target")
    if graph.lists:
        from .lists import refuse_spelling
        refuse_spelling(graph, spelling)
    output = graph.nodes[graph.output]
    if output.shape and not vjp:
        raise graph.program.error(
            f"the output {output.name} is {describe(output.shape)}, not a scalar: a "
            "gradient needs one number", output.token,
            hint="reduce it, e.g. sum(...) or mean(...); or compile it with --mode split "
                 "for its vector-Jacobian product or --mode forward for its "
                 "Jacobian-vector product")
    wrt = _check_wrt(graph, wrt)
    over_arrays = _over_arrays(graph, elementwise) if spelling in ARRAY_SPELLINGS \
        else frozenset()
    plan = Plan(graph, wrt, profile, spelling, [], [], over_arrays=over_arrays, style=style)
    stages = graph.stages
    ref = {node.index: k for k, node in enumerate(stages, start=1)}
    # each node's operands as its lines write them, worked out once: its forward line,
    # header and local gradients all read them (tuples of strings, which the garbage
    # collector soon stops tracking)
    as_operand = [graph.operand_text(index) for index in range(len(graph.nodes))]
    texts = [tuple([as_operand[a] for a in node.args]) for node in graph.nodes]
    for node in stages:
        plan.forward.append(Line(node.name, _forward_code(plan, node, profile, texts),
                                 ref[node.index], node=node.index))

    # A node needs a gradient when it depends on a differentiated input.
    needs = [False] * len(graph.nodes)
    differentiated = set(wrt)
    for node in graph.nodes:
        # an entry w[0] of a list input is differentiated with its list
        needs[node.index] = (node.name.split("[")[0] in differentiated) \
            if node.kind == "input" else \
            any(needs[a] for a in node.args)

    arrays = graph.has_arrays
    # over arrays the output's gradient is a one in the output's own dtype (a numpy
    # scalar: a 0-d array would be changed in place by the += of a scalar's gradient)
    if spelling in ARRAY_SPELLINGS and not vjp:
        ones = f"{_array(plan)}.ones_like({output.name})"
        plan.seed = Line(output.grad, ones, ref[output.index], node=output.index)
        if arrays:   # the output is a scalar
            plan.seed.code += "[()]"
            plan.seed.why = (f"d{output.name}/d{output.name} = 1 in {output.name}'s dtype, as "
                             "a numpy scalar: a 0-d array would change under +=")
    elif style and style.seed:   # the slides' grad_L = 1.0
        plan.seed = Line(output.grad, "1.0", ref[output.index], node=output.index)
    held = {output.index: output.shape}
    contributions: dict[int, list[Line]] = {}
    assigned: set[int] = set()
    for node in reversed(stages):
        if not needs[node.index]:
            continue
        if arrays:
            _complete(plan, node, contributions, held, full=False)
        upstream = node.grad if vjp or plan.seed or node.index != graph.output else ""
        lines = []
        for i, arg in enumerate(node.args):
            if not needs[arg] or not _has_gradient(node.gate, i):
                continue
            line = Line(graph.nodes[arg].grad, "", ref[node.index], arg in assigned, node=arg,
                        stage=node.index, operand=i, upstream=upstream)
            line.local = _local_code(plan, node, i, texts)
            line.code = _vjp(plan, line, held) if node.index in over_arrays and arrays \
                else _chain_code(plan, node, i, upstream, texts)
            lines.append(line)
            if arrays:   # only the shape passes read them
                contributions.setdefault(arg, []).append(line)
            assigned.add(arg)
        # the header is the stage's line as the notes write it: the forward line
        # itself where its template is the notes' own
        teach = _forward_template(plan, node, "teach")
        header = plan.forward[ref[node.index] - 1].code \
            if teach == _forward_template(plan, node, profile) else \
            _fill(graph, node, teach, texts)
        plan.backward.append(Group(node, f"{node.name} = {header}", lines))

    for name in wrt:
        if name in graph.lists:   # lists.py gathers the gradients of its entries
            continue
        node = graph.input_node(name)
        if node.index in assigned:
            if arrays:
                _complete(plan, node, contributions, held, full=True)
            continue
        # a library's own function wants a tensor back, not a float
        tensor = node.shape or (spelling != "numpy" and node.index in over_arrays)
        zero = f"{_array(plan)}.zeros_like({node.name})" if tensor else "0.0"
        plan.zeros.append(Line(node.grad, zero, 0, node=node.index))
    if arrays or spelling in ARRAY_SPELLINGS[1:]:   # a tensor's += is in place too
        _copy_before_accumulating(plan)
    if style and style.fuse:
        from .fuse import fuse
        fuse(plan)
    if profile == "lean":
        from .lean import lean
        if vjp or not lean(plan):   # a plan lean leaves alone is a fast one
            plan.profile = "fast"
    if graph.lists:
        from .lists import gather
        gather(plan)
    return plan


def _over_arrays(graph: Graph, elementwise: bool) -> frozenset:
    """The nodes whose values are numpy arrays (or numpy scalars): those that
    depend on an array input. A stage of scalar inputs and constants alone is
    written exactly as for scalars (math.sin(s)): numpy would make a Python
    float a float64 scalar, and widen every float32 array it meets."""
    over: set[int] = set()
    for node in graph.nodes:
        if node.kind == "input" and (node.shape or elementwise):
            over.add(node.index)
        elif node.kind == "stage" and any(a in over for a in node.args):
            over.add(node.index)
    return frozenset(over)


def _has_gradient(gate: Gate, i: int) -> bool:
    return (gate.vjp[i] if gate.vjp else gate.local[i]) is not None


def _operands(graph: Graph, node: Node) -> list[str]:
    return [graph.operand_text(a) for a in node.args]


def _forward_code(plan: Plan, node: Node, profile: str, texts: list[tuple] | None = None) -> str:
    return _fill(plan.graph, node, _forward_template(plan, node, profile), texts)


def _forward_template(plan: Plan, node: Node, profile: str) -> str:
    spelling = plan.spelling_of(node.index)
    # whole-array numpy has no CPython overheads to dodge: it keeps the notes' forms
    template = node.gate.forward_form(profile if spelling != "numpy" else "teach", spelling)
    if plan.style and plan.style.calls and node.gate.grouped and spelling != "numpy":
        template = node.gate.as_call   # the slides' L = sigmoid(s3)
    return template


def _fill(graph: Graph, node: Node, template: str, texts: list[tuple] | None = None) -> str:
    """A template of the table filled with the node's operands, its module globals
    named as this module names them (renamed in the template, so that an array
    named np keeps its own `np.shape`). `texts`: every node's operand texts, where
    the caller has them."""
    operands = texts[node.index] if texts else _operands(graph, node)
    return node.gate.code(_rename(template, graph), operands, node.name)


def _np(graph: Graph) -> str:
    return graph.globals["np"]


def _array(plan: Plan) -> str:
    """The array library's module, as this module names it (np, torch, jnp)."""
    return plan.graph.globals[array_module(plan.spelling)]


def _local_code(plan: Plan, node: Node, i: int, texts: list[tuple] | None = None) -> str:
    spelling = plan.spelling_of(node.index)
    template = None
    if spelling in ARRAY_SPELLINGS:
        ranks = tuple(len(plan.graph.nodes[a].shape) for a in node.args)
        template = node.gate.vjp_form(i, ranks, spelling)
    template = template or node.gate.local_form(i, plan.profile, spelling)
    return _fill(plan.graph, node, template, texts)


def _chain_code(plan: Plan, node: Node, i: int, upstream: str,
                texts: list[tuple] | None = None) -> str:
    if not upstream:  # at the output, where the upstream gradient is 1
        return chain(_local_code(plan, node, i, texts), "", plan.profile, plan.style)
    template = _chain_template(node.gate, i, plan.profile, plan.spelling_of(node.index),
                               plan.style)
    return _fill(plan.graph, node, template, texts).replace("{up}", upstream)


_CHAINS: dict = {}


def _chain_template(gate: Gate, i: int, profile: str, spelling: str,
                    style: Style | None = None) -> str:
    """The local gradient of operand `i` times the upstream gradient `{up}`: the
    VJP of an elementwise gate, decided once per template, not once per line."""
    key = (gate.local_form(i, profile, spelling), profile, style)
    if key not in _CHAINS:
        _CHAINS[key] = chain(key[0], "{up}", profile, style)
    return _CHAINS[key]


def chain(local: str, upstream: str, profile: str, style: Style | None = None) -> str:
    """One chain-rule product: the local gradient times the upstream gradient.

    `teach` writes it as the notes do, `(local) * dup`. `fast` drops a unit
    factor and the parentheses where Python's left-to-right evaluation gives
    the very same float operations, so both profiles compute identical numbers.
    """
    if not upstream:  # at the output, where the upstream gradient is 1
        return f"{local}.0" if re.fullmatch(r"-?\d+", local) else local
    styled = style.chain(local, upstream) if style else None
    if styled is not None:
        return styled
    if profile == "teach":
        return f"({local}) * {upstream}"
    if local == "1":
        return upstream
    if local == "-1":
        return f"-{upstream}"
    # a routing gate's 0/1 choice routes the upstream gradient (a nested choice,
    # abs's 1 / -1 / 0, does not: it must stay a product)
    routed = local[:7] in ("1.0 if ", "0.0 if ") and \
        re.fullmatch(r"(1\.0|0\.0) if (.*) else (1\.0|0\.0)", local)
    if routed and {routed.group(1), routed.group(3)} == {"1.0", "0.0"} \
            and " else " not in routed.group(2):
        yes, no = (upstream, "0.0") if routed.group(1) == "1.0" else ("0.0", upstream)
        return f"{yes} if {routed.group(2)} else {no}"
    if _binds_tighter_than_times(local):
        return f"{local} * {upstream}"
    return f"({local}) * {upstream}"


def _binds_tighter_than_times(code: str) -> bool:
    # `code` is the gate table's own text, its placeholders read as names
    tree = ast.parse(re.sub(r"\{(a|b|out|up)\}", r"\1", code), mode="eval").body
    if isinstance(tree, ast.BinOp):
        return isinstance(tree.op, (ast.Mult, ast.Div, ast.Pow))
    return isinstance(tree, (ast.Name, ast.Constant, ast.Call, ast.Attribute, ast.UnaryOp,
                             ast.Subscript))


def _rename(template: str, graph: Graph) -> str:
    """Point a template's references to the module globals (math, np, the helpers)
    at the names this module uses. In the table's own text (operands are still
    placeholders) only a module global is followed by '.' or '('."""
    # a plan fills the same few templates once per stage: rename each once, and
    # look up which globals this module renames once per graph
    if _RENAMES[0] is not graph:
        _RENAMES[:] = [graph, tuple((n, u) for n, u in graph.globals.items() if n != u)]
    return _renamed(template, _RENAMES[1]) if _RENAMES[1] else template


_RENAMES: list = [None, ()]   # the last graph planned, and the globals it renames


@lru_cache(maxsize=1024)
def _renamed(template: str, renames: tuple) -> str:
    for name, used in renames:
        if name in template:
            template = re.sub(r"\b%s(?=[.(])" % name, used, template)
    return template


def _check_wrt(graph: Graph, wrt) -> tuple[str, ...]:
    if wrt is None:
        return tuple(name for name in graph.inputs if name not in graph.integer)
    if isinstance(wrt, str):
        wrt = tuple(w.strip() for w in wrt.split(",") if w.strip())
    wrt = tuple(wrt)
    for name in wrt:
        if name not in graph.inputs:
            raise FlatgradError(f"cannot differentiate with respect to {name!r}: "
                                f"the inputs are {', '.join(graph.inputs) or 'none'}")
        if name in graph.integer:
            raise FlatgradError(f"cannot differentiate with respect to {name!r}: it holds "
                                "integer labels, which have no gradient")
    if len(set(wrt)) != len(wrt):
        raise FlatgradError(f"wrt names an input twice: {wrt}")
    return wrt


# -- the shape passes, over arrays ------------------------------------------------

def _vjp(plan: Plan, line: Line, held: dict[int, tuple]) -> str:
    graph = plan.graph
    stage = graph.nodes[line.stage]
    gate = stage.gate
    upstream, up_shape = stage.grad, held[stage.index]
    # elementwise gates read a gradient in broadcast form as it is, and so does a
    # reduction when its rank is intact (np.expand_dims puts the axis back)
    reads_compact = gate.elementwise or (gate.spreads and len(up_shape) == len(stage.shape))
    np_ = _array(plan)
    if not reads_compact and up_shape != stage.shape:
        upstream, up_shape = f"{np_}.broadcast_to({upstream}, {stage.name}.shape)", stage.shape
    ranks = tuple(len(graph.nodes[a].shape) for a in stage.args)
    template = gate.vjp_form(line.operand, ranks, plan.spelling_of(stage.index)) or \
        _chain_template(gate, line.operand, plan.profile, plan.spelling_of(stage.index),
                        plan.style)
    code = _fill(graph, stage, template).replace("{up}", upstream)
    operand = graph.nodes[line.node].shape
    if gate.spreads:
        line.held = _spread_shape(graph, stage, operand, up_shape)
        return code
    if not gate.elementwise:
        return code
    produced = _produced(graph, stage, template, up_shape)
    if _sums_broadcast_form(operand, stage.shape, produced):
        # summing a gradient in broadcast form would miss its copies: expand it first
        upstream, up_shape = f"{np_}.broadcast_to({stage.grad}, {stage.name}.shape)", stage.shape
        code = _fill(graph, stage, template).replace("{up}", upstream)
        produced = _produced(graph, stage, template, up_shape)
    code, kept, axes = unbroadcast(code, operand, produced, np_)
    if axes:
        line.why = (f"{graph.nodes[line.node].name} is {describe(operand)} but was broadcast "
                    f"to {describe(produced)} in ({line.ref}): sum its gradient over {axes}")
    line.held = kept
    return code


def _produced(graph: Graph, stage: Node, template: str, up_shape: tuple) -> tuple:
    """The shape of an elementwise VJP: the broadcast of everything it reads."""
    produced = up_shape
    for placeholder in sorted(set(re.findall(r"\{(a|b|out)\}", template))):
        node = stage.index if placeholder == "out" else stage.args[_OPERAND[placeholder]]
        produced = broadcast_shapes(produced, graph.nodes[node].shape)
    return produced


def _sums_broadcast_form(operand: tuple, output: tuple, produced: tuple) -> bool:
    """Whether the operand's gradient sums over an axis (one the gate broadcast
    the operand along) where `produced` still has size 1 in place of the output's."""
    def pad(shape):
        return (1,) * (len(output) - len(shape)) + tuple(shape)

    return any(o == 1 and out != 1 and p == 1
               for o, out, p in zip(pad(operand), pad(output), pad(produced)))


def _spread_shape(graph: Graph, stage: Node, operand: tuple, up_shape: tuple) -> tuple:
    """A reduction's gradient in broadcast form: the upstream gradient's shape with
    size 1 where the reduced axis was (a scalar for a whole-array reduction)."""
    if len(stage.args) == 1:
        return ()
    axis = int(graph.nodes[stage.args[1]].value) % len(operand)
    return up_shape[:axis] + (1,) + up_shape[axis:]


def unbroadcast(code: str, shape: tuple, produced: tuple,
                np_: str = "np") -> tuple[str, tuple, str]:
    """Sum a gradient that broadcasting made `produced`-shaped back to `shape`:
    over the leading axes numpy added, and (keeping them) over the axes where
    `shape` has size 1. Returns the code, the shape it now holds (which may
    still be smaller than `shape`: broadcast form) and the axes, said in words."""
    if not shape:
        return (f"{np_}.sum({code})", (), "every axis") if produced else (code, (), "")
    lead = len(produced) - len(shape)
    said = []
    if lead > 0:
        axes = tuple(range(lead))
        code = f"{np_}.sum({code}, axis={axes[0] if lead == 1 else axes})"
        said.append("the leading axis" if lead == 1 else f"the {lead} leading axes")
        produced = produced[lead:]
    offset = len(shape) - len(produced)
    ones = tuple(k for k, d in enumerate(shape)
                 if d == 1 and k >= offset and produced[k - offset] != 1)
    if ones:
        axes = tuple(k - offset for k in ones)
        code = f"{np_}.sum({code}, axis={axes[0] if len(axes) == 1 else axes}, keepdims=True)"
        said.append(("axis " if len(ones) == 1 else "axes ") + ", ".join(map(str, ones)))
        produced = tuple(1 if k + offset in ones else d for k, d in enumerate(produced))
    return code, produced, " and ".join(said)


def _complete(plan: Plan, node: Node, contributions, held, full: bool) -> None:
    """Fix the shape a finished gradient holds. A `+=` cannot grow an array in
    place, so a gradient summed from pieces of different shapes starts from a
    full-shaped first piece; the caller gets every input's gradient full-shaped."""
    lines = contributions.get(node.index, [])
    if not lines:
        return
    shapes = [plan.shape(line) for line in lines]
    total: tuple = ()
    for shape in shapes:
        total = broadcast_shapes(total, shape)
    if (full and total != node.shape) or shapes[0] != total:
        lines[0].code = f"{_array(plan)}.full_like({node.name}, {lines[0].code})"
        lines[0].held = total = node.shape
        lines[0].fresh = True
    held[node.index] = total


def _copy_before_accumulating(plan: Plan) -> None:
    """A gradient summed into with `+=` must own its array: when its first
    contribution is another gradient (or a view of one), copy it, or the `+=`
    would change that other gradient too."""
    forks = plan.forks()
    seen: set[int] = set()
    for line in plan.backward_lines:
        if line.node in seen or line.stage < 0:
            continue
        seen.add(line.node)
        if line.node in forks and line.node in plan.over_arrays and not line.fresh:
            stage = plan.graph.nodes[line.stage]
            if re.fullmatch(r"[A-Za-z_]\w*", line.code) or stage.gate.view:
                line.code += copy_method(plan.spelling)


# -- values at a point ---------------------------------------------------------------

def namespace(graph: Graph, spelling: str) -> dict:
    """The module globals the plan's lines read (math, np, the helpers of the
    target's spelling, as its module defines them), under the names it uses."""
    import numpy as np
    space: dict = {}
    helper_space = {"math": math, "np": np}
    table = helper_table(spelling)
    for source in table.values():
        exec(source, helper_space)  # the gate table's own helpers
    for name in table:
        space[graph.globals.get(name, name)] = helper_space[name]
    space[graph.globals.get("math", "math")] = math
    space[graph.globals.get("np", "np")] = np
    return space


@contextmanager
def naming_the_line(line: Line, graph: Graph, point=None) -> Iterator[None]:
    """Turn a bare "math domain error" raised by `line` into one that names it."""
    try:
        yield
    except (ArithmeticError, ValueError) as err:
        raise FlatgradError(describe_failure(line, graph, err, point)) from None


# Float +, - and * never raise (they give inf or nan); a division, a power or a call
# can. A failure elsewhere (a huge int given for a float) is not the stage's to name.
_CAN_RAISE = re.compile(r"/|\*\*|\w\(")


def can_raise(line: Line) -> bool:
    return _CAN_RAISE.search(line.code) is not None


def describe_failure(line: Line, graph: Graph, err: Exception, point=None) -> str:
    domain = graph.nodes[line.node].gate.domain if line.stage < 0 and line.ref else ""
    if isinstance(err, OverflowError) and not domain:
        domain = OVERFLOW   # rather than "(34, 'Numerical result out of range')"
    what = f"{domain} ({err})" if domain else str(err)
    where = f"stage ({line.ref}) {line.text}" if line.stage < 0 else \
        f"the gradient line {line.text}, backprop of stage ({line.ref})"
    if point is None:
        return f"{what} at {where}"
    return f"{what} at {where}, evaluated at {_point_text(point)}"


def _point_text(point) -> str:
    import numpy as np
    return ", ".join(f"{name}={value:g}" if np.ndim(value) == 0 else
                     f"{name}={describe(np.shape(value))} array" for name, value in point.items())


def evaluate(plan: Plan, point: dict) -> dict:
    """Fill in every line's value at `point` by running the plan's own lines, the
    very operations the generated code performs. Returns the final value of every
    named variable."""
    graph = plan.graph
    space = namespace(graph, plan.spelling)
    values = inputs_at(plan, point)
    for line in plan.lines:
        with naming_the_line(line, graph, point):
            result = eval(line.code, space, values)  # flatgrad's own generated line
            if line.stage >= 0 and line.local and "{up}" not in line.local:
                try:
                    line.local_value = eval(line.local, space, values)
                except (ArithmeticError, ValueError):
                    line.local_value = math.nan
        line.share = result
        store(values, line, result)
    return values


def inputs_at(plan: Plan, point: dict) -> dict:
    """The inputs as the generated code receives them: a float for a scalar, an
    array as given, a list input's entries as a list of floats."""
    graph = plan.graph
    values: dict = {name: [float(entry) for entry in point[name]] for name in graph.lists}
    for node in graph.nodes:
        if node.kind == "input" and "[" not in node.name:
            given = point[node.name]
            values[node.name] = given if node.shape or node.name in graph.integer \
                or plan.over_arrays else float(given)
    return values


def store(values: dict, line: Line, result) -> None:
    """Keep a line's result as the generated code does (`+=` adds; an entry of a
    list, dw[0] (lists.py), is set in its list), and its value at this line: a
    snapshot, as later lines may change an array or a list in place."""
    import numpy as np
    if "[" in line.target:
        listed, index = line.target[:-1].split("[")
        if line.accumulate:
            result = values[listed][int(index)] + result
        values[listed][int(index)] = line.value = result
        return
    if line.accumulate:
        result = values[line.target] + result
    values[line.target] = result
    line.value = result.copy() if isinstance(result, (np.ndarray, list)) else result

