"""The c target: the flat scalar code as C, one `double` per stage.

The plan is the python target's (fast profile); every line is translated from
its Python form through C_FUNCTIONS, the C spelling of the math module (as
NUMPY_FUNCTIONS is numpy's): `math.exp(x)` is `exp(x)`, `a**b` is
`pow(a, b)`, `a if c else b` is `c ? a : b`. The helpers (sigmoid, softplus,
logaddexp) are translated from the gate table's own Python sources, so each is
written once. The module has the value function, the value-and-gradient
function and a loop of it over arrays, which the C compiler vectorises (see
native.py for the flags); a header declares the three.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.gates import helper_table, helpers_for
from ..core.plan import Line, Plan
from ..errors import FlatgradError
from . import COMMENT_COLUMN_LIMIT, Emitted, Passes, environment, formula, module_names, \
    signature
from .wrap import LINE_LENGTH, wrap_text

SPELLING = "python"
ELEMENTWISE = False   # a scalar function; its array loop is a second entry point

# math's name -> C's (C99 <math.h>).
C_FUNCTIONS = {
    "exp": "exp", "expm1": "expm1", "log": "log", "log1p": "log1p", "log2": "log2",
    "log10": "log10", "sqrt": "sqrt", "cbrt": "cbrt", "pow": "pow", "fabs": "fabs",
    "sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin", "acos": "acos", "atan": "atan",
    "atan2": "atan2", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "asinh": "asinh",
    "acosh": "acosh", "atanh": "atanh", "hypot": "hypot", "erf": "erf", "erfc": "erfc",
}
# math's constants in C; 2π is exact in binary, so tau stays the same double.
C_CONSTANTS = {"pi": "M_PI", "e": "M_E", "tau": "(2.0 * M_PI)", "inf": "INFINITY",
               "nan": "NAN"}
# <math.h> defines these outside strict ISO C (-std=c99) only.
C_DEFINES = {"M_PI": "3.14159265358979323846", "M_E": "2.7182818284590452354"}
# Names a variable may not take in C: the keywords, and what the module itself calls.
C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto
    if inline int long register restrict return short signed sizeof static struct switch
    typedef union unsigned void volatile while _Bool _Complex _Imaginary bool true false
    M_PI M_E INFINITY NAN main errno
""".split())
RESERVED = C_KEYWORDS | set(C_FUNCTIONS.values())
# The functions glibc's libmvec has SIMD versions of (x86-64), by number of operands.
SIMD = {name: 1 for name in ("exp", "expm1", "log", "log1p", "log2", "log10", "cbrt", "sin",
                             "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
                             "asinh", "acosh", "atanh", "erf", "erfc")}
SIMD.update(atan2=2, hypot=2, pow=2)
TAG = "//"

# Arithmetic that C parses as Python does: names, float literals, + - * / and brackets
# (no power, call, conditional or integer literal).
_SAME_IN_C = re.compile(r"^(?:[\w.+\-/() ]|(?<!\*)\*(?!\*))*$")
_CALL_OR_INT = re.compile(r"\w\(|(?<![\w.])\d+(?![\w.])|\b(?:if|else|and|or|not|math\w*)\b")

# Python's operators in C, with their precedence (higher binds tighter).
_BINARY = {ast.Add: ("+", 6), ast.Sub: ("-", 6), ast.Mult: ("*", 7), ast.Div: ("/", 7)}
_COMPARE = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==",
            ast.NotEq: "!="}
_BOOL = {ast.And: ("&&", 3), ast.Or: ("||", 2)}


@dataclass
class EmittedC(Emitted):
    header: str = ""
    symbols: tuple = ()   # the C names of f, f_and_grad and f_and_grad_array

    def companions(self, path) -> dict[Path, str]:
        """The files written beside the module: its header, grad.h beside grad.c."""
        return {Path(path).with_suffix(".h"): self.header}


class Translator:
    """Python expressions of a plan (or the gate table's helpers) as C."""

    def __init__(self, plan: Plan, renames: dict[str, str]):
        globals_ = plan.graph.globals
        self.math = globals_.get("math", "math")
        # the module's helpers under the names the plan gave them -> their own names
        self.helpers = {used: name for name, used in globals_.items() if name != "math"}
        self.renames = renames

    def name(self, name: str) -> str:
        return self.renames.get(name, name)

    def expr(self, code: str) -> str:
        if not self.renames and _SAME_IN_C.match(code) and not _CALL_OR_INT.search(code):
            return code   # + - * / on names and float literals: C reads it as Python does
        return self._expr(ast.parse(code, mode="eval").body)[0]

    def _expr(self, node) -> tuple[str, int]:
        """C text and its precedence."""
        if isinstance(node, ast.Constant):
            return _number(node.value), 10
        if isinstance(node, ast.Name):
            return self.name(node.id), 10
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == self.math:
            return C_CONSTANTS[node.attr], 10 if node.attr != "tau" else 10
        if isinstance(node, ast.Call):
            return self._call(node), 10
        if isinstance(node, ast.UnaryOp):
            operand, prec = self._expr(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand, prec
            sign = "-" if isinstance(node.op, ast.USub) else "!"
            wrapped = operand if prec > 8 and not operand.startswith("-") else f"({operand})"
            return sign + wrapped, 8
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                return f"pow({self._expr(node.left)[0]}, {self._expr(node.right)[0]})", 10
            symbol, prec = _BINARY[type(node.op)]
            return f"{self._side(node.left, prec, False)} {symbol} " \
                   f"{self._side(node.right, prec, True)}", prec
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return f"{self._side(node.left, 5, False)} {_COMPARE[type(node.ops[0])]} " \
                   f"{self._side(node.comparators[0], 5, True)}", 5
        if isinstance(node, ast.BoolOp):
            symbol, prec = _BOOL[type(node.op)]
            return f" {symbol} ".join(self._side(v, prec, True) for v in node.values), prec
        if isinstance(node, ast.IfExp):
            return f"{self._side(node.test, 1, True)} ? {self._side(node.body, 1, True)} : " \
                   f"{self._side(node.orelse, 1, False)}", 1
        raise ValueError(f"no C spelling for {ast.unparse(node)!r}")

    def _side(self, node, parent: int, right: bool) -> str:
        """An operand, in parentheses where C would otherwise group it differently
        (a right operand of equal precedence keeps Python's order of rounding)."""
        text, prec = self._expr(node)
        return f"({text})" if prec < parent or (right and prec == parent) else text

    def _call(self, node: ast.Call) -> str:
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == self.math:
            name = C_FUNCTIONS[func.attr]
        elif isinstance(func, ast.Name) and func.id in self.helpers:
            name = self.helpers[func.id]
        else:
            raise ValueError(f"no C spelling for {ast.unparse(node)!r}")
        return f"{name}({', '.join(self._expr(arg)[0] for arg in node.args)})"

    def helper(self, source: str) -> str:
        """One of the gate table's Python helpers (a `def` of assignments, `if` and
        `return` over floats) as a static C function; its comments come along."""
        lines = source.split("\n")
        comments = [line.strip()[1:].strip() for line in lines[1:]
                    if line.strip().startswith("#")]
        definition = ast.parse(source).body[0]
        params = ", ".join(f"double {arg.arg}" for arg in definition.args.args)
        out = [f"static inline double {definition.name}({params})", "{"]
        out += [f"    // {text}" for text in comments]
        declared = {arg.arg for arg in definition.args.args}
        out += self._statements(definition.body, "    ", declared)
        return "\n".join(out + ["}"])

    def _statements(self, body, indent: str, declared: set) -> list[str]:
        out = []
        for statement in body:
            if isinstance(statement, ast.Return):
                out.append(f"{indent}return {self._expr(statement.value)[0]};")
            elif isinstance(statement, ast.Assign):
                target = statement.targets[0].id
                kind = "" if target in declared else "double "
                declared.add(target)
                out.append(f"{indent}{kind}{target} = {self._expr(statement.value)[0]};")
            elif isinstance(statement, ast.If) and not statement.orelse:
                out.append(f"{indent}if ({self._expr(statement.test)[0]}) {{")
                out += self._statements(statement.body, indent + "    ", declared)
                out.append(f"{indent}}}")
            else:
                raise ValueError(f"no C spelling for {ast.unparse(statement)!r}")
        return out


def _number(value) -> str:
    """A Python constant as a C double literal (`2` is `2.0`: no integer division)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"no C spelling for {value!r}")
    value = float(value)
    if not math.isfinite(value):
        return C_CONSTANTS["inf" if math.isinf(value) else "nan"]
    text = repr(value)
    return text if "." in text or "e" in text else text + ".0"


def emit(plan: Plan, with_values: bool = False) -> EmittedC:
    if plan.graph.lists:
        raise FlatgradError(f"list inputs ({', '.join(plan.graph.lists)}) compile to the "
                            "python target only: for C declare each entry an input (w0, w1)")
    try:
        return _emitted(plan, with_values)
    except ValueError as error:   # the translator met a line C has no spelling for
        raise FlatgradError(f"the c target cannot write this program: {error}") from None


def _emitted(plan: Plan, with_values: bool) -> EmittedC:
    graph = plan.graph
    names = _c_names(plan)
    translator = Translator(plan, names)
    rename = translator.name
    declared_once: set[str] = set()

    def printer(lines: list[Line]) -> list[tuple]:
        return _printed(plan, lines, translator, declared_once, with_values)

    declared_once.update(graph.inputs)
    both = Passes(plan, with_values, printer)
    code = "\n".join(line.code for line in plan.lines)
    helpers = [translator.helper(helper_table("python")[name])
               for name in helpers_for(_unrenamed(plan, code), "python")]
    output = graph.nodes[graph.output].name
    own = module_names(plan, [graph.function + "_and_grad_array", "n", "i", "grad"])
    function, params = rename(graph.function), [rename(n) for n in graph.inputs]
    arity = len(plan.grads)
    context = {
        **signature(plan),
        "header": _header(plan),
        "helpers": helpers,
        "function": function,
        "value_and_grad": rename(graph.function + "_and_grad"),
        "array_function": rename(own[graph.function + "_and_grad_array"]),
        "params": [f"double {p}" for p in params] or ["void"],
        "args": ", ".join(params),
        "output": rename(output),
        "arity": max(arity, 1),
        "grad_stores": [(index, rename(g)) for index, g in enumerate(plan.grads)],
        "n": own["n"], "i": own["i"], "grad": own["grad"],
        "array_params": [f"long {own['n']}"] + [f"const double *{p}_all" for p in params]
        + [f"double *{rename(name)}_out" for name in (output, *plan.grads)],
        "loads": ", ".join(f"{p}_all[{own['i']}]" for p in params),
        "outs": [f"{rename(name)}_out" for name in plan.grads],
        "output_out": f"{rename(output)}_out",
    }
    for group, plan_group in zip(both.context["backward"], plan.backward):
        group["header"] = _c_header(plan_group.header, translator)
    printed = "\n".join(helpers + both.texts)
    called = set(re.findall(r"\b(\w+)\(", printed))
    context["constants"] = [(name, value) for name, value in C_DEFINES.items()
                            if re.search(r"\b%s\b" % name, printed)]
    context["simd"] = [(name, ", ".join(["double"] * SIMD[name])) for name in SIMD
                       if name in called]
    context.update(
        value_declaration=declaration(context["params"], f"double {function}"),
        gradient_declaration=declaration([f"double {p}" for p in params]
                                         + [f"double {own['grad']}[{context['arity']}]"],
                                         f"double {context['value_and_grad']}"),
        array_declaration=declaration(context["array_params"],
                                      f"void {context['array_function']}"))
    env = environment()
    source = env.get_template("c.c.j2").render({**context, **both.context})
    header = env.get_template("c.h.j2").render(context)
    # no line map: a C line never raises a Python exception to be named by its stage
    return EmittedC(source, {}, header,
                    (function, context["value_and_grad"], context["array_function"]))


def declaration(params: list[str], head: str) -> str:
    """`head(params)`, its parameters continued under the bracket past LINE_LENGTH."""
    line = f"{head}({', '.join(params)})"
    if len(line) <= LINE_LENGTH:
        return line
    lines, current = [], f"{head}("
    for index, param in enumerate(params):
        piece = param + ("," if index < len(params) - 1 else ")")
        if len(current) + len(piece) + 1 > LINE_LENGTH and not current.endswith("("):
            lines.append(current.rstrip())
            current = " " * (len(head) + 1)
        current += piece + " "
    return "\n".join(lines + [current.rstrip()])


def _c_header(header: str, translator: Translator) -> str:
    """A backprop comment's `stage = formula`, in C ("" for none)."""
    if not header:
        return ""
    target, _, code = header.partition(" = ")
    try:
        return f"{translator.name(target)} = {translator.expr(code)}"
    except (ValueError, KeyError, SyntaxError):
        return header


def load(emitted: EmittedC, plan: Plan):
    """The value and value-and-gradients functions of `emitted`, compiled by the C
    compiler on their first call."""
    from .. import native
    graph = plan.graph
    library = native.Library(emitted.source, *emitted.symbols, len(graph.inputs),
                             len(plan.grads))
    over = "compiled from C: floats, or arrays that broadcast together"
    return library.functions(graph.function, f"{graph.function}({', '.join(graph.inputs)}), "
                             + over, f"The value and its gradient {over}")


def _unrenamed(plan: Plan, code: str) -> str:
    """`code` with the module's renamed helpers under their own names."""
    names = {used: name for name, used in plan.graph.globals.items() if used != name}
    if not names:
        return code
    return re.sub(r"\b(%s)(?=\()" % "|".join(map(re.escape, names)),
                  lambda m: names[m.group(1)], code)


def _c_names(plan: Plan) -> dict[str, str]:
    """Each name that C reserves, renamed (`double` is `double_`); all others stay."""
    from ..core.graph import _fresh, _Taken
    graph = plan.graph
    used = set(graph.inputs) | {graph.function, graph.function + "_and_grad"}
    for node in graph.nodes:
        used.update(n for n in (node.name, node.grad) if n)
    taken = _Taken(used | RESERVED)
    renames = {}
    for name in sorted(used & RESERVED):
        renames[name] = _fresh(name + "_", taken)
        taken.add(renames[name])
    return renames


def _printed(plan: Plan, lines: list[Line], translator: Translator, declared: set,
             with_values: bool) -> list[tuple]:
    """(line, text) pairs, as tagged() gives them for Python: one C statement a line,
    a `// (k)` tag aligned after it."""
    texts = []
    for line in lines:
        target = translator.name(line.target)
        value = translator.expr(line.code)
        if line.accumulate:
            texts.append(f"{target} += {value};")
        else:
            kind = "" if line.target in declared else "double "
            texts.append(f"{kind}{target} = {value};")
        declared.add(line.target)
    width = min(max((len(text) for text in texts), default=0), COMMENT_COLUMN_LIMIT)
    out: list[tuple] = []
    for line, text in zip(lines, texts):
        if line.why:
            out.append((None, f"{TAG} {line.why}"))
        tag = f"{TAG} ({line.ref})" if line.ref else ""
        if with_values and line.value is not None:
            tag = (tag or TAG) + f" {line.target} becomes {float(line.value):.6g}"
        out.append((line, f"{text.ljust(width)}  {tag}" if tag else text))
    return out


def _header(plan: Plan) -> list[str]:
    from . import _version, abbreviate
    generated = f"Generated by flatgrad {_version()} from: "
    room = LINE_LENGTH - len("// ")
    quoted = generated + abbreviate(formula(plan), room - len(generated),
                                    room - len(generated))
    return [quoted] + wrap_text("Standalone: needs nothing but the C math library (libm).",
                                room)
