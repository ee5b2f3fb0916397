"""The staged SSA graph: one node per input, constant or gate, each named once.

`stage(program)` walks the parser's postfix statements with a value stack, so
the nodes are created in the order the user wrote the formula, and identical
subexpressions are created once (a reused value forks). Every output flatgrad
renders (module, handout, diagram, check) reads this graph.
"""
from __future__ import annotations

import builtins
import difflib
import keyword
import math
import re
from dataclasses import dataclass, field
from functools import cached_property

from . import gates as gate_table
from .errors import FlatgradError
from .gates import GATES, Gate
from .parse import Apply, Name, Num, Program, Token

MAX_NAME_LENGTH = 10
MAX_FOLDED_TEXT = 40
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
        if node.kind != "const" or re.fullmatch(r"[\w.]+", node.text):
            return node.name if node.kind != "const" else node.text
        return f"({node.text})"

    def forward_code(self, node: Node, profile: str = "teach") -> str:
        return node.gate.forward_code([self.operand_text(a) for a in node.args],
                                      profile=profile)

    def local_code(self, node: Node, i: int, profile: str = "teach") -> str:
        return node.gate.local_code(i, [self.operand_text(a) for a in node.args], node.name,
                                    profile=profile)

    def consumers(self) -> dict[int, list[int]]:
        uses: dict[int, list[int]] = {n.index: [] for n in self.nodes}
        for node in self.stages:
            for arg in node.args:
                uses[arg].append(node.index)
        return uses


class Stager:
    """Builds the graph; gate expansions in the table call back into it.

    `table` is the gate table the program is staged with: the scalar table
    here, its numpy forms for array programs (array_graph.ArrayStager).
    """

    table: dict[str, Gate] = GATES

    def __init__(self, program: Program, inputs=None, level="staged"):
        if level not in LEVELS:
            raise FlatgradError(f"unknown gate level {level!r}; choose one of {LEVELS}")
        self.program = program
        self.level = level
        self.nodes: list[Node] = []
        self.cache: dict = {}
        self.env: dict[str, int] = {}           # assigned names -> nodes
        self.declared = tuple(inputs) if inputs is not None else None
        self.input_nodes: dict[str, int] = {}
        self.used_as_input: dict[str, Token] = {}
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
        if key not in self.cache:
            self.cache[key] = self._add(Node(0, "const", text=text, value=float(value)))
        return self.cache[key]

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
        if all(self.is_const(a) for a in args):
            return self._fold(gate, args, token)
        key = (name, args)
        if key not in self.cache:
            self.cache[key] = self._add(Node(0, "stage", gate=gate, args=args, token=token))
        return self.cache[key]

    # -- building -----------------------------------------------------------
    def _add(self, node: Node) -> int:
        node.index = len(self.nodes)
        self.nodes.append(node)
        return node.index

    def _input(self, name: str, token: Token | None) -> int:
        if name not in self.input_nodes:
            self.input_nodes[name] = self._add(Node(0, "input", label=name, token=token))
        return self.input_nodes[name]

    def _fold(self, gate: Gate, args, token) -> int:
        values = [self.nodes[a].value for a in args]
        try:
            value = float(gate.forward_fn(*values, None))
        except (ValueError, ZeroDivisionError, OverflowError, TypeError) as err:
            text = gate.forward_code([self.nodes[a].text for a in args])
            raise self.program.error(f"the constant {text} is undefined ({err})", token) from None
        if not math.isfinite(value):
            raise self.program.error("this constant is not a finite number", token)
        text = gate.forward_code([_paren(self.nodes[a].text) for a in args])
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
                stack.append(self.const(item.value))
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

    def lookup(self, name: str, nargs: int) -> Gate | None:
        """The gate a call by `name` with `nargs` operands stands for."""
        return gate_table.lookup(name)

    def callable_names(self) -> list[str]:
        return gate_table.CALLABLE

    def _apply(self, item: Apply, args: list[int]) -> int:
        if item.operator:
            if item.func not in self.table:
                raise self.program.error(
                    f"{item.token.text!r} needs arrays, and every input here is a scalar",
                    item.token, hint="declare shapes, e.g. --shape W=5x10 or a first line "
                                     "'W: 5x10'")
            return self.gate(item.func, *args, token=item.token)
        name = item.func
        if name in self.env or name in self.input_nodes:
            raise self.program.error(f"{name!r} is a variable here, not a function", item.token,
                                     hint=f"write {name}*(...) for a product")
        gate = self.lookup(name, len(args))
        if gate is None:
            known = self.callable_names() + sorted(gate_table.ALIASES)
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
            hint = "did you mean " + " or ".join(repr(c) for c in close) + "?" if close else \
                "the gates are: " + ", ".join(self.callable_names())
            raise self.program.error(f"unknown function {name!r}", item.token, hint=hint)
        if len(args) != gate.arity:
            if gate.name in gate_table.VARIADIC and len(args) > gate.arity:
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
            node = self._add(Node(0, "stage", gate=self.table["copy"], args=(node,), token=target))
        if self.nodes[node].label is None:
            self.nodes[node].label = name
        self.env[name] = node
        return node


def stage(program: Program, inputs=None, level: str = "staged",
          naming: str = "cs231n", grad_prefix: str = "d", function: str = "f",
          stager: type = Stager) -> Graph:
    """Stage a parsed program into a named SSA graph (with `stager`'s gate table)."""
    if naming not in NAMINGS:
        raise FlatgradError(f"unknown naming {naming!r}; choose one of {NAMINGS}")
    _check_identifier(function, "function name")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", grad_prefix or "-"):
        raise FlatgradError(f"gradient prefix {grad_prefix!r} must start a valid identifier")
    stager = stager(program, inputs, level)
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
        output = stager._add(Node(0, "stage", gate=stager.table["copy"], args=(output,)))
    order = tuple(stager.input_nodes)
    graph = _prune(stager, output, order, program)
    graph.function = function
    graph.grad_prefix = grad_prefix
    _name(graph, naming)
    return graph


def _prune(stager: Stager, output: int, inputs, program) -> Graph:
    """Keep the inputs and what the output depends on, renumbered in creation order."""
    live = {output}
    for node in reversed(stager.nodes[:output + 1]):
        if node.index in live:
            live.update(node.args)
    warnings = [f"stage {n.label!r} does not reach the output and is left out"
                 for n in stager.nodes if n.label and n.index not in live and n.kind == "stage"]
    kept = [n for n in stager.nodes if n.index in live or n.kind == "input"]
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
    for node in graph.nodes:
        if node.kind == "input" or node.label:
            node.name = node.label or node.name
        elif node.kind == "stage":
            if naming == "numbered":
                candidate = f"s{count}"
            else:
                candidate = node.hint or _stem_name(graph, node)
            node.name = _fresh(candidate, taken)
            taken.add(node.name)
            count += 1
    for node in graph.nodes:
        if node.kind != "const":
            base = graph.grad_prefix + node.name
            if base in taken and graph.grad_prefix + "_" + node.name not in taken:
                base = graph.grad_prefix + "_" + node.name
            node.grad = _fresh(base, taken)
            taken.add(node.grad)


def _stem_name(graph: Graph, node: Node) -> str:
    parts = {}
    for letter, arg in zip("ab", node.args):
        operand = graph.nodes[arg]
        parts[letter] = operand.name if operand.kind != "const" else _const_word(operand)
    name = re.sub(r"\{(a|b)\}", lambda m: parts[m.group(1)], node.gate.stem)
    if len(name) <= MAX_NAME_LENGTH and name.isidentifier():
        return name
    if node.gate.short:
        return node.gate.short
    short = re.sub(r"\{(a|b)\}", "", node.gate.stem)
    return short if len(short) >= 3 else node.gate.name


def _const_word(node: Node) -> str:
    for word, (text, _) in gate_table.CONSTANTS.items():
        if text == node.text and word.isascii():
            return word
    return node.text if node.text.isdigit() else "c"


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
