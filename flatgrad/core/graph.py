"""The staged SSA graph: one node per input, constant or gate, each named once.

`stage(program)` walks the parser's postfix statements with a value stack, so
the nodes are created in the order the user wrote the formula, and identical
subexpressions are created once (a reused value forks). Every node has a shape,
checked by its gate's shape rule as it is created: `()` for a scalar, so a
scalar formula is the special case of an array program whose inputs are all
0-d. Every output flatgrad renders (module, handout, diagram, check) reads
this graph.
"""
from __future__ import annotations

import builtins
import keyword
import math
import re
from dataclasses import dataclass, field
from functools import cached_property

from ..errors import FlatgradError
from . import gates as gate_table
from .gates import GATES, Gate
from .parse import Apply, Name, Num, Program, Token, unknown_function
from .shapes import Operand, ShapeError, describe

DECLARE_SHAPES = ("declare the array inputs with --shape W=5x10 (shapes={'W': (5, 10)} in "
                  "Python) or a first line such as 'W: 5x10'")
MAX_NAME_LENGTH = 8   # a longer concatenated stem (cregtotal) reads badly
MAX_FOLDED_TEXT = 40
MAX_LIST_INDEX = 1000   # w[1000]: a list input of 1,001 entries, one gradient line each
LEVELS = ("staged", "primitive")
NAMINGS = ("cs231n", "numbered")


@dataclass
class Node:
    index: int
    kind: str                       # "input", "const" or "stage"
    gate: Gate | None = None
    args: tuple[int, ...] = ()
    text: str = ""                  # a constant's source text
    value: float | None = None      # a constant's value
    label: str | None = None        # the user's own name for the stage
    hint: str | None = None         # a name its consumer's role suggests (num, den)
    token: Token | None = None      # where the user wrote it
    name: str = ""
    grad: str = ""                  # name of its gradient variable
    shape: tuple = ()               # () for a scalar; sizes and symbols for an array


@dataclass
class Graph:
    nodes: list[Node]
    inputs: tuple[str, ...]
    output: int
    program: Program
    function: str = "f"
    grad_prefix: str = "d"
    globals: dict[str, str] = field(default_factory=dict)   # module global -> name used
    warnings: list[str] = field(default_factory=list)
    integer: tuple[str, ...] = ()   # inputs that hold integer class labels (no gradient)
    # list inputs, whose entries w[0], w[1] ... are scalar input nodes: name -> (length,
    # the name of the list of their gradients)
    lists: dict[str, tuple[int, str]] = field(default_factory=dict)
    level: str = "staged"           # "primitive": grouped gates staged as their primitives

    @cached_property
    def has_arrays(self) -> bool:
        # read for every line printed: once per graph, not once per line
        return any(node.shape for node in self.nodes)

    def shape_of(self, name: str) -> tuple:
        if name in self.lists:
            return (self.lists[name][0],)
        return self.input_node(name).shape

    @property
    def stages(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "stage"]

    def input_node(self, name: str) -> Node:
        return self._inputs_by_name[name]

    @cached_property
    def _inputs_by_name(self) -> dict[str, Node]:
        # an input's name is its label from the start, so this never goes stale
        return {n.label: n for n in self.nodes if n.kind == "input"}

    def operand_text(self, index: int) -> str:
        node = self.nodes[index]
        if node.kind != "const":
            return node.name
        text = node.text
        if self.globals.get("math", "math") != "math" and "math." in text:
            # an input named math: the module's math goes by another name (math.pi)
            text = re.sub(r"\bmath\.", self.globals["math"] + ".", text)
        return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


class Stager:
    """Builds the graph; gate expansions in the table call back into it."""

    table: dict[str, Gate] = GATES

    def __init__(self, program: Program, inputs=None, level="staged", declared=None):
        if level not in LEVELS:
            raise FlatgradError(f"unknown gate level {level!r}; choose one of {LEVELS}")
        self.program = program
        self.level = level
        self.shapes: dict[str, tuple] = dict(declared or {})
        self.integer: dict[str, bool] = {}
        self.token: Token | None = None          # the call being staged, for its caret
        self.on_arrays: set[int] = set()         # nodes that depend on an array input
        self.nodes: list[Node] = []
        self.cache: dict = {}
        self.env: dict[str, int] = {}           # assigned names -> nodes
        self.declared = tuple(inputs) if inputs is not None else None
        self.input_nodes: dict[str, int] = {}
        self.used_as_input: dict[str, Token] = {}
        self.lists: dict[str, int] = {}         # list inputs -> their length
        self.scalars: set[str] = set()           # inputs used as numbers
        if self.declared is not None:
            for name in self.declared:
                _check_identifier(name, "input")
            if len(set(self.declared)) != len(self.declared):
                raise FlatgradError(f"inputs {self.declared} name a variable twice")
            for name in self.declared:
                self._input(name, None)

    # -- the interface the gate table's expansions use ---------------------
    def is_const(self, index: int) -> bool:
        return self.nodes[index].kind == "const"

    def value(self, index: int) -> float:
        return self.nodes[index].value

    def const(self, value: float, text: str | None = None) -> int:
        if text is None:
            text = _number_text(value)
        key = ("const", text)
        index = self.cache.get(key)
        if index is None:
            index = self.cache[key] = self._add(Node(0, "const", text=text, value=float(value)))
        return index

    def gate(self, name: str, *args: int, expand: bool = True, token: Token | None = None) -> int:
        gate = self.table[name]
        for arg, role in zip(args, gate.roles):
            node = self.nodes[arg]
            if node.kind == "stage" and node.label is None and node.hint is None:
                node.hint = role
        rule = gate.primitive if self.level == "primitive" else None
        rule = rule or (gate.expand if expand else None)
        if rule is not None:
            return rule(self, *args)
        token = token or self.token
        if all(self.nodes[a].kind == "const" for a in args):
            return self._fold(gate, args, token)
        key = (name, args)
        index = self.cache.get(key)
        if index is None:
            shape = self._shape(gate, args, token)
            index = self.cache[key] = self._add(Node(0, "stage", gate=gate, args=args,
                                                     token=token, shape=shape))
        return index

    def _shape(self, gate: Gate, args, token) -> tuple:
        """The gate's output shape by its shape rule; its label operands checked."""
        try:
            shape = gate.shape(*self._operands(args, labelled=False))
        except ShapeError:
            # the rule's message names its operands: only now are their labels
            # worth building (each costs a name pattern filled in), so ask again
            try:
                gate.shape(*self._operands(args, labelled=True))
            except ShapeError as err:
                hint = None if self.shapes else DECLARE_SHAPES
                raise self.program.error(str(err), token, hint=hint) from None
            raise
        if not gate.on_scalars and self.on_arrays.isdisjoint(args):
            called = gate.call or gate.operator or gate.name
            if self.shapes:
                raise self.program.error(f"{called} needs an array: here it gets scalars only",
                                         token, hint="a sum or mean of one number is the "
                                                     "number itself")
            raise self.program.error(f"{called}() works on arrays, and every input here is a "
                                     "scalar", token, hint=DECLARE_SHAPES)
        for i, arg in enumerate(args):
            operand, is_label = self.nodes[arg], i in gate.labels
            if is_label and operand.kind != "input":
                raise self.program.error(
                    f"the labels of {gate.call} must be an input (integer class indices), "
                    f"not {self._label(arg)}", token)
            if operand.kind == "input" and \
                    self.integer.setdefault(operand.label, is_label) != is_label:
                raise self.program.error(
                    f"{operand.label} is used both as integer labels and as a number", token,
                    hint="labels have no gradient; give them their own input")
        return shape

    def _operands(self, args, labelled: bool) -> list[Operand]:
        """The shape rule's operands; a rule reads their labels for its messages only."""
        return [Operand(self._label(a) if labelled else "", self.nodes[a].shape,
                        self.nodes[a].value) for a in args]

    def _label(self, index: int) -> str:
        node = self.nodes[index]
        if node.kind == "const":
            return node.text
        if node.label:
            return node.label
        # the name it will be given, from its operands' (as _stem_name does later)
        parts = {}
        for letter, arg in zip("ab", node.args):
            operand = self.nodes[arg]
            parts[letter] = _const_word(operand) if operand.kind == "const" else \
                operand.label or operand.gate.short or operand.gate.name
        name = _fill_stem(node.gate.stem, parts)
        if len(name) <= MAX_NAME_LENGTH and name.isidentifier():
            return name
        return node.gate.short or node.gate.name

    # -- building -----------------------------------------------------------
    def _add(self, node: Node) -> int:
        node.index = len(self.nodes)
        self.nodes.append(node)
        if node.shape or not self.on_arrays.isdisjoint(node.args):
            self.on_arrays.add(node.index)
        return node.index

    def _input(self, name: str, token: Token | None) -> int:
        if name not in self.input_nodes:
            self.input_nodes[name] = self._add(Node(0, "input", label=name, token=token,
                                                    shape=tuple(self.shapes.get(name, ()))))

        return self.input_nodes[name]

    def _fold(self, gate: Gate, args, token) -> int:
        if not gate.on_scalars:
            raise self.program.error(f"{gate.call or gate.name} needs an array operand, not "
                                     "constants", token)
        values = [self.nodes[a].value for a in args]
        try:
            value = float(gate.forward_fn(*values, None))
        except (ValueError, ZeroDivisionError, OverflowError, TypeError) as err:
            text = gate.code(gate.forward, [self.nodes[a].text for a in args])
            raise self.program.error(f"the constant {text} is undefined ({err})", token) from None
        if not math.isfinite(value):
            raise self.program.error("this constant is not a finite number", token)
        text = gate.code(gate.forward, [_paren(self.nodes[a].text) for a in args])
        if len(text) > MAX_FOLDED_TEXT:
            # 1**1**1... three thousand deep reads (and compiles) better as its value
            text = _number_text(value)
        return self.const(value, text)

    def statement(self, statement) -> int:
        stack: list[int] = []
        for item in statement.postfix:
            if isinstance(item, Num):
                if not math.isfinite(item.value):
                    raise self.program.error("number too large for a float", item.token)
                # a float literal stays a float (3.5e2 is 350.0, not 350)
                literal = item.text.replace("_", "")
                is_float = float(item.value).is_integer() and any(c in literal for c in ".eE")
                stack.append(self.const(item.value, repr(float(item.value)) if is_float
                                        else None))
            elif isinstance(item, Name):
                stack.append(self._name(item))
            else:
                args = stack[len(stack) - item.nargs:]
                del stack[len(stack) - item.nargs:]
                stack.append(self._apply(item, args))
        (node,) = stack
        return node

    def _name(self, item: Name) -> int:
        name = item.name
        if "[" in name:
            return self._entry(item)
        if name in self.lists:
            raise self.program.error(f"{name} is a list here: use its entries, {name}[0] …",
                                     item.token)
        if name in self.input_nodes and name not in self.env:
            self.scalars.add(name)
        if name in self.env:
            return self.env[name]
        if name in self.input_nodes:
            return self.input_nodes[name]
        if name in gate_table.CONSTANTS:
            text, value = gate_table.CONSTANTS[name]
            return self.const(value, text)
        if self.declared is not None:
            raise self.program.error(
                f"{name!r} is not one of the declared inputs {self.declared}", item.token)
        self.used_as_input.setdefault(name, item.token)
        return self._input(name, item.token)

    def _entry(self, item: Name) -> int:
        """w[0]: an entry of the list input w, a scalar input of its own."""
        base, index = item.name[:-1].split("[")
        if base in self.env:
            raise self.program.error(f"only inputs take a subscript, and {base} is a stage",
                                     item.token, hint="name each entry as a stage of its own")
        if base in self.scalars or base in self.input_nodes and \
                base not in (self.declared or ()):
            raise self.program.error(f"{base} is used both as a list and as a number",
                                     item.token)
        if self.declared is not None and base not in self.declared:
            raise self.program.error(
                f"{base!r} is not one of the declared inputs {self.declared}", item.token)
        if int(index) > MAX_LIST_INDEX:
            # every entry is an input with a gradient line: a huge index is a slip
            raise self.program.error(
                f"{base}[{int(index)}] is past the largest list index flatgrad takes, "
                f"{MAX_LIST_INDEX}", item.token,
                hint=f"for a long vector declare an array (--shape {base}=N) and use "
                     "whole-array operations")
        self.lists[base] = max(self.lists.get(base, 0), int(index) + 1)
        return self._input(f"{base}[{int(index)}]", item.token)

    def _apply(self, item: Apply, args: list[int]) -> int:
        # the gates an expansion stages (a / b -> a * (1 / b)) point at the call
        # that made them, so a shape error there still has its caret
        self.token = item.token
        if item.operator:
            return self.gate(item.func, *args, token=item.token)
        name = item.func
        if name in self.env or name in self.input_nodes:
            raise self.program.error(f"{name!r} is a variable here, not a function", item.token,
                                     hint=f"write {name}*(...) for a product")
        gate = gate_table.lookup(name, len(args))
        if gate is None:
            known = gate_table.CALLABLE + sorted(gate_table.ALIASES)
            raise unknown_function(self.program, name, item.token, known)
        if len(args) != gate.arity:
            if gate.variadic and len(args) > gate.arity:
                result = args[0]
                for arg in args[1:]:
                    result = self.gate(gate.name, result, arg, token=item.token)
                return result
            plural = "s" if gate.arity != 1 else ""
            raise self.program.error(
                f"{name}() takes {gate.arity} argument{plural}, got {len(args)}", item.token)
        return self.gate(gate.name, *args, token=item.token)

    def assign(self, target: Token, node: int) -> int:
        name = target.text
        if name in self.env:
            raise self.program.error(f"{name!r} is assigned twice; give each stage its own name",
                                     target)
        if name in self.input_nodes:
            raise self.program.error(f"{name!r} is an input and cannot be assigned", target)
        if self.nodes[node].kind != "stage":
            # a name for an input or a constant is a stage of its own: a copy
            node = self._add(Node(0, "stage", gate=self.table["copy"], args=(node,), token=target,
                                  shape=self.nodes[node].shape))
        if self.nodes[node].label is None:
            self.nodes[node].label = name
        self.env[name] = node
        return node


def stage(program: Program, inputs=None, level: str = "staged",
          naming: str = "cs231n", grad_prefix: str = "d", function: str = "f",
          declared: dict[str, tuple] | None = None) -> Graph:
    """Stage a parsed program into a named SSA graph; `declared` gives the shapes of
    array inputs (the others are scalars)."""
    if naming not in NAMINGS:
        raise FlatgradError(f"unknown naming {naming!r}; choose one of {NAMINGS}")
    _check_identifier(function, "function name")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", grad_prefix or "-"):
        raise FlatgradError(f"gradient prefix {grad_prefix!r} must start a valid identifier")
    stager = Stager(program, inputs, level, declared)
    unknown = [name for name in stager.shapes if inputs is not None and name not in inputs]
    output = None
    for number, statement in enumerate(program.statements, start=1):
        if statement.target is None and number < len(program.statements):
            first = statement.postfix[0].token
            raise program.error("this line has no effect: it is neither assigned to a name "
                                "nor the last line (the output)", first,
                                hint="name it (a = ...) or join it to the line before")
        output = stager.statement(statement)
        if statement.target is not None:
            output = stager.assign(statement.target, output)
    if stager.nodes[output].kind != "stage":
        node = stager.nodes[output]
        output = stager._add(Node(0, "stage", gate=stager.table["copy"], args=(output,),
                                  shape=node.shape))
    # the call order: a list input stands for its entries, at the first of them
    order = tuple(dict.fromkeys(name.split("[")[0] for name in stager.input_nodes))
    lengths = _list_lengths(stager)
    unknown += [name for name in stager.shapes if name not in order and name not in unknown]
    if unknown:
        raise FlatgradError(f"a shape is declared for {', '.join(unknown)}, which is not an "
                            f"input (the inputs are {', '.join(order) or 'none'})")
    graph = _prune(stager, output, order, program)
    graph.integer = tuple(name for name in order if stager.integer.get(name))
    graph.lists = {name: (length, "") for name, length in lengths.items()}
    graph.function = function
    graph.grad_prefix = grad_prefix
    graph.level = level
    _name(graph, naming)
    return graph


def _list_lengths(stager: Stager) -> dict[str, int]:
    """Each list input's length: the largest index used, plus one, or as declared."""
    lengths = dict(stager.lists)
    for name, used in stager.lists.items():
        declared = stager.shapes.pop(name, None)
        if declared is None:
            continue
        if len(declared) != 1 or not isinstance(declared[0], int) or declared[0] < used:
            raise FlatgradError(f"{name} is a list of at least {used} entries ({name}[{used - 1}]"
                                f" is used), but is declared {describe(tuple(declared))}")
        lengths[name] = declared[0]
    return lengths


def shapes_under(graph: Graph, declared: dict[str, tuple]) -> dict[int, tuple]:
    """Every node's shape were the inputs declared as `declared` (concrete sizes for
    symbolic ones, say), by the same shape rules; a mismatch is a FlatgradError."""
    of: dict[int, tuple] = {}
    for node in graph.nodes:
        if node.kind != "stage":
            of[node.index] = tuple(declared.get(node.name, ())) if node.kind == "input" else ()
            continue
        operands = [Operand(graph.nodes[a].name or graph.nodes[a].text, of[a],
                            graph.nodes[a].value) for a in node.args]
        try:
            of[node.index] = node.gate.shape(*operands)
        except ShapeError as err:
            raise FlatgradError(str(err)) from None
    return of


def _prune(stager: Stager, output: int, inputs, program) -> Graph:
    """Keep the inputs and what the output depends on, renumbered in creation order."""
    live = {output}
    for node in reversed(stager.nodes[:output + 1]):
        if node.index in live:
            live.update(node.args)
    warnings = [f"stage {n.label!r} does not reach the output and is left out"
                 for n in stager.nodes if n.label and n.index not in live and n.kind == "stage"]
    # a declared input that is a list is its entries: its own node is left out
    kept = [n for n in stager.nodes if n.index in live or n.kind == "input"
            and n.label not in stager.lists]
    renumber = {n.index: i for i, n in enumerate(kept)}
    for node in kept:
        node.index = renumber[node.index]
        node.args = tuple(renumber[a] for a in node.args)
    return Graph(kept, inputs, renumber[output], program, warnings=warnings)


RESERVED = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins))


def _name(graph: Graph, naming: str) -> None:
    """Give every node a Python name that collides with nothing else in the module."""
    user = set(graph.inputs) | {n.label for n in graph.nodes if n.label}
    taken = _Taken(RESERVED | user | {graph.function, graph.function + "_and_grad"})
    for name in gate_table.GLOBAL_NAMES:
        graph.globals[name] = _fresh(name, taken)
        taken.add(graph.globals[name])
    output = graph.nodes[graph.output]
    if output.label is None:
        output.label = graph.function if graph.function not in user else _fresh("out", taken)
        taken.add(output.label)
    count = 0
    sums = _weighted_sums(graph)
    for node in graph.nodes:
        if node.kind == "input" or node.label:
            node.name = node.label or node.name
        elif node.kind == "stage":
            if naming == "numbered":
                candidate = f"s{count}"
            else:
                candidate = node.hint or sums.get(node.index) or _stem_name(graph, node)
            node.name = _fresh(candidate, taken)
            taken.add(node.name)
            count += 1
    for name, (length, _) in graph.lists.items():
        graph.lists[name] = (length, _fresh(graph.grad_prefix + name, taken))
        taken.add(graph.lists[name][1])
    for node in graph.nodes:
        if node.kind == "input" and "[" in node.name:   # dw[0], an entry of dw
            base, index = node.name.split("[")
            node.grad = f"{graph.lists[base][1]}[{index}"
        elif node.kind != "const":
            base = graph.grad_prefix + node.name
            if base in taken and graph.grad_prefix + "_" + node.name not in taken:
                base = graph.grad_prefix + "_" + node.name
            node.grad = _fresh(base, taken)
            taken.add(node.grad)


def _weighted_sums(graph: Graph) -> dict[int, str]:
    """The names the notes give a weighted sum (w0*x0 + w1*x1 + w2, W1 @ X + b1): a
    sum with a product of inputs among its terms is `dot`, and a partial sum used only
    further along such a sum is s1, s2 ... in order; concatenated stems (w0x0pw1x1) trip
    students up. A user's own names take precedence over these. A difference (a*b - c)
    is no weighted sum: only a sum whose every local gradient is 1 is one."""
    def binary(node: Node, kind: str) -> bool:
        return node.kind == "stage" and len(node.args) == 2 and node.gate.kind == kind

    def plain_sum(node: Node) -> bool:
        return binary(node, "add") and all(local == "1" for local in node.gate.local)

    def product_of_inputs(node: Node) -> bool:
        # a weight times an input: each factor an input, a constant or a stage the
        # user named (the hidden layer a second layer weighs)
        return binary(node, "mul") and all(
            graph.nodes[arg].kind in ("input", "const") or graph.nodes[arg].label
            for arg in node.args)

    weighted: set[int] = set()
    for node in graph.nodes:
        if plain_sum(node) and any(product_of_inputs(graph.nodes[arg]) or arg in weighted
                                   for arg in node.args):
            weighted.add(node.index)
    feeds_only_sums = {index: True for index in weighted}
    for node in graph.nodes:
        for arg in node.args:
            if arg in feeds_only_sums and node.index not in weighted:
                feeds_only_sums[arg] = False
    names, partial = {}, 0
    for index in sorted(weighted):
        if feeds_only_sums[index] and index != graph.output:
            partial += 1
            names[index] = f"s{partial}"
        else:
            names[index] = "dot"
    return names


def _stem_name(graph: Graph, node: Node) -> str:
    parts = {}
    for letter, arg in zip("ab", node.args):
        operand = graph.nodes[arg]
        parts[letter] = operand.name if operand.kind != "const" else _const_word(operand)
    name = _fill_stem(node.gate.stem, parts)
    if len(name) <= MAX_NAME_LENGTH and name.isidentifier():
        return name
    if node.gate.short:
        return node.gate.short
    short = _fill_stem(node.gate.stem, {"a": "", "b": ""})
    return short if len(short) >= 3 else node.gate.name


def _fill_stem(stem: str, parts: dict[str, str]) -> str:
    """A gate's name pattern ("{a}p{b}") with its operands' names put in. Plain
    replacing is safe: the names put in are words, never holding a "{b}"."""
    for letter, part in parts.items():
        stem = stem.replace("{" + letter + "}", part)
    return stem


def _const_word(node: Node) -> str:
    word = _CONSTANT_WORDS.get(node.text)
    if word is not None:
        return word
    return node.text if node.text.isdigit() else "c"


# math.pi -> pi: the first ASCII word for each named constant's text
_CONSTANT_WORDS: dict[str, str] = {}
for _word, (_text, _) in gate_table.CONSTANTS.items():
    if _word.isascii():
        _CONSTANT_WORDS.setdefault(_text, _word)


class _Taken(set):
    """The names in use, remembering the last number `_fresh` gave each stem, so
    that 5,000 stages named total, total2, total3 ... take linear time."""

    def __init__(self, names=()):
        super().__init__(names)
        self.last: dict[str, int] = {}


def _fresh(candidate: str, taken: _Taken) -> str:
    if candidate not in taken:
        return candidate
    joiner = "_" if candidate[-1].isdigit() else ""
    k = taken.last.get(candidate, 1) + 1
    while f"{candidate}{joiner}{k}" in taken:
        k += 1
    taken.last[candidate] = k
    return f"{candidate}{joiner}{k}"


def _number_text(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def _paren(text: str) -> str:
    return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


def _check_identifier(name: str, what: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
            or name.startswith("__"):
        raise FlatgradError(f"{name!r} is not a valid {what}")
