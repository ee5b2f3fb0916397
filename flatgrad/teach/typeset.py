"""Typeset flatgrad's own Python expressions as math: MathML, LaTeX or plain text.

Every formula a handout shows (the user's formula, a stage's forward code, a
local gradient) is Python text that flatgrad generated from the gate table, so
it is read with `ast.parse`, which evaluates nothing, and printed from the
tree. The user's formula is rebuilt from the parsed program's postfix form
with the gate table's own templates, never from the text the user typed.
"""
from __future__ import annotations

import ast
import html
import re
import unicodedata

from ..core import gates as gate_table
from ..core.parse import Apply, Name, Num, Program

# Formulas nested deeper than this are shown as code, not typeset.
MAX_DEPTH = 150
# How tightly each kind of expression binds, loosest first.
CONDITION, COMPARE, SUM, PRODUCT, NEGATION, POWER, ATOM = range(7)

BINARY = {ast.Add: ("+", SUM), ast.Sub: ("−", SUM), ast.Mult: ("·", PRODUCT),
           ast.Div: ("/", PRODUCT), ast.Pow: ("^", POWER), ast.MatMult: ("@", PRODUCT)}
_COMPARE = {ast.Gt: ">", ast.GtE: "≥", ast.Lt: "<", ast.LtE: "≤", ast.Eq: "=", ast.NotEq: "≠"}
# The module names generated code calls functions through (np.exp, math.pi).
_MODULES = ("np", "math")
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _notation(name: str) -> str:
    """A function with a notation of its own in mathematics (a root, bars, a power)."""
    gate = gate_table.lookup(name)
    return gate.notation if gate else ""


def _symbol(name: str) -> str:
    """A function is shown by its board spelling when it has one (σ)."""
    gate = gate_table.lookup(name)
    return gate.symbol or name if gate else name

# `math.pi` is shown as π: the constant's non-ASCII spelling, else its name.
_CONSTANTS = {}
for _word, (_code, _) in sorted(gate_table.CONSTANTS.items(), key=lambda kv: kv[0].isascii()):
    _CONSTANTS.setdefault(_code, _word)


class MathML:
    def ident(self, name):
        base, digits = _split_index(name)
        if digits:
            return f"<msub><mi>{html.escape(base)}</mi><mn>{digits}</mn></msub>"
        return f"<mi>{html.escape(name)}</mi>"

    def number(self, text):
        return f"<mn>{html.escape(text)}</mn>"

    def op(self, symbol, form=""):
        attribute = f' form="{form}"' if form else ""
        return f"<mo{attribute}>{html.escape(symbol)}</mo>"

    def negate(self, inner):
        return self.row(['<mo form="prefix">−</mo>', inner])

    def words(self, text):
        return f"<mtext>\u2002{html.escape(text)}\u2002</mtext>"

    def row(self, parts):
        return "<mrow>" + "".join(parts) + "</mrow>"

    def paren(self, inner):
        # parentheses grow only around a fraction; elsewhere they keep their print size
        stretchy = "true" if "<mfrac>" in inner else "false"
        return self.row([f'<mo stretchy="{stretchy}">(</mo>', inner,
                         f'<mo stretchy="{stretchy}">)</mo>'])

    def call_paren(self, inner):
        # a function's parentheses keep their size, as in print
        return self.row(['<mo stretchy="false">(</mo>', inner, '<mo stretchy="false">)</mo>'])

    def bars(self, inner):
        return self.row(["<mo>|</mo>", inner, "<mo>|</mo>"])

    def frac(self, top, bottom):
        return f"<mfrac>{top}{bottom}</mfrac>"

    def power(self, base, exponent):
        opening, closing = '<mrow><mo stretchy="false">(</mo>', '<mo stretchy="false">)</mo></mrow>'
        if base.startswith(opening) and base.endswith(closing):
            # (x + y)²: the exponent sits on the closing parenthesis, as in print, so that it
            # is placed by that parenthesis' height, not raised over the whole group
            inner = base[len(opening):-len(closing)]
            return self.row(['<mo stretchy="false">(</mo>', inner,
                             f'<msup><mo stretchy="false">)</mo>{exponent}</msup>'])
        if base.startswith("<msub>") and base.endswith("</msub>"):
            # W₁², the exponent over the index rather than raised over both
            return f"<msubsup>{base[len('<msub>'):-len('</msub>')]}{exponent}</msubsup>"
        return f"<msup>{base}{exponent}</msup>"

    def root(self, inner):
        return f"<msqrt>{inner}</msqrt>"

    def matmul(self, left, right):
        # a matrix product is written as the notes write it, W x: juxtaposed, with
        # an invisible times and a little space
        return self.row([left, '<mo lspace="0.1em" rspace="0.1em">\u2062</mo>', right])

    def transpose(self, base):
        return self.power(base, '<mi mathvariant="normal">T</mi>')

    def function(self, name):
        return f"<mi>{html.escape(name)}</mi>"

    def wrap(self, inner):
        return f'<math display="inline">{inner}</math>'

    def wrap_continued(self, inner):
        """A formula's later term, a math element of its own (see `equation`)."""
        return f'<math display="inline" class="continued">{inner}</math>'


class LaTeX:
    def ident(self, name):
        base, digits = _split_index(name)
        if digits:
            return f"{self.ident(base)}_{{{digits}}}"
        if len(name) == 1:
            return _latex_escape(name)
        return r"\mathit{" + _latex_escape(name) + "}"

    def number(self, text):
        return text

    def op(self, symbol):
        return {"·": r" \cdot ", "−": " - ", "≥": r" \ge ", "≤": r" \le ", "≠": r" \ne ",
                "+": " + ", ">": " > ", "<": " < ", "=": " = ", ",": ", "}.get(symbol, symbol)

    def negate(self, inner):
        return "-" + inner

    def words(self, text):
        return r"\text{ " + text + " }"

    def row(self, parts):
        return "".join(parts)

    def paren(self, inner):
        return r"\left(" + inner + r"\right)"

    def call_paren(self, inner):
        return "(" + inner + ")"

    def bars(self, inner):
        return r"\left\lvert " + inner + r" \right\rvert"

    def frac(self, top, bottom):
        return r"\frac{" + top + "}{" + bottom + "}"

    def power(self, base, exponent):
        return base + "^{" + exponent + "}"

    def root(self, inner):
        return r"\sqrt{" + inner + "}"

    def matmul(self, left, right):
        return left + r" \, " + right

    def transpose(self, base):
        return base + r"^{\top}"

    def function(self, name):
        if len(name) == 1:
            return _latex_escape(name)
        return r"\operatorname{" + _latex_escape(name) + "}"

    def wrap(self, inner):
        return inner


class Text:
    """Unicode text, for circuit-diagram labels."""

    def ident(self, name):
        return name

    def number(self, text):
        return text

    def op(self, symbol):
        symbol = "×" if symbol == "·" else symbol
        return {"(": "(", ")": ")", "|": "|", ",": ", "}.get(symbol, f" {symbol} ")

    def negate(self, inner):
        return f"−{inner}"

    def words(self, text):
        return f" {text} "

    def row(self, parts):
        return "".join(parts)

    def paren(self, inner):
        return f"({inner})"

    def call_paren(self, inner):
        return f"({inner})"

    def bars(self, inner):
        return f"|{inner}|"

    def frac(self, top, bottom):
        return f"{top}/{bottom}"

    def power(self, base, exponent):
        if re.fullmatch(r"-?\d+", exponent):
            return base + exponent.translate(_SUPERSCRIPT)
        return f"{base}^{exponent}"

    def root(self, inner):
        return f"√{inner}"

    def matmul(self, left, right):
        return f"{left} @ {right}"

    def transpose(self, base):
        return f"{base}ᵀ"

    def function(self, name):
        return name

    def wrap(self, inner):
        return inner


MATHML, LATEX, TEXT = MathML(), LaTeX(), Text()


def typeset(expr: str | ast.expr, backend=MATHML, names: dict[str, str] | None = None) -> str:
    """Typeset one Python expression written by flatgrad (as text or as a tree);
    `names` renames identifiers."""
    tree = ast.parse(expr, mode="eval").body if isinstance(expr, str) else expr
    return backend.wrap(_Printer(backend, names or {}).show(tree)[0])


def equation(lhs: str, expr: ast.expr, backend=MATHML) -> str:
    """`lhs = expr`, typeset (lhs is an identifier or a call such as f(x, y))."""
    printer = _Printer(backend, {})
    left = printer.show(ast.parse(lhs, mode="eval").body)[0]
    terms = printer.terms(expr) if backend is MATHML else []
    if len(terms) < 2:
        return backend.wrap(backend.row([left, backend.op("="), printer.show(expr)[0]]))
    # MathML does not break inside a line: a sum is written one math element per term,
    # so that a formula wider than the page wraps before a + or a −
    (_, first), rest = terms[0], terms[1:]
    pieces = [backend.wrap(backend.row([left, backend.op("="), first]))]
    pieces += [backend.wrap_continued(backend.row([backend.op(symbol, "infix"), term]))
               for symbol, term in rest]
    return " ".join(pieces)


def too_deep(tree: ast.expr) -> bool:
    """Whether the tree nests deeper than the printer (which recurses) will go."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def program_trees(program: Program, level: str = "staged") -> list[tuple[str | None, ast.expr]]:
    """The program's statements as (target, expression tree) pairs, each rebuilt
    from the parsed postfix form: operators through the gate table's forward
    templates, called gates as calls by the gate's own name. Built as trees, not
    text, so a long formula never meets Python's parenthesis nesting limit.
    At the "primitive" level a grouped gate is written as the primitives it is
    staged into (σ(x) as 1 / (1 + exp(-x))), by the gate row's own rule."""
    statements = []
    for statement in program.statements:
        stack: list[ast.expr] = []
        for item in statement.postfix:
            if isinstance(item, Num):
                stack.append(ast.Constant(item.value))
            elif isinstance(item, Name):
                constant = gate_table.CONSTANTS.get(item.name)
                stack.append(ast.parse(constant[0], mode="eval").body if constant
                             else ast.Name(item.name, ast.Load()))
            else:
                args = stack[len(stack) - item.nargs:]
                del stack[len(stack) - item.nargs:]
                stack.append(_apply_tree(item, args, level))
        target = statement.target.text if statement.target is not None else None
        statements.append((target, stack[-1]))
    return statements


def _apply_tree(item: Apply, args: list[ast.expr], level: str = "staged") -> ast.expr:
    gate = gate_table.lookup(item.func) if not item.operator else gate_table.GATES[item.func]
    if level == "primitive" and gate is not None and gate.primitive is not None:
        return gate.primitive(_TreeStager(), *args)
    if not item.operator:
        return ast.Call(ast.Name(gate.name if gate else item.func, ast.Load()), args, [])
    template = gate.forward or gate.forward_form(spelling="numpy")
    tree = ast.parse(re.sub(r"\{(a|b)\}", r"\1", template), mode="eval").body
    operands = dict(zip("ab", args))

    class Fill(ast.NodeTransformer):
        def visit_Name(self, node):
            return operands.get(node.id, node)

    return Fill().visit(tree)


class _TreeStager:
    """What a gate row's primitive rule calls to stage a gate (`gate`, `const`),
    building an expression tree instead of graph nodes."""

    def const(self, value: float, text: str | None = None) -> ast.expr:
        return ast.Constant(value)

    def is_const(self, tree: ast.expr) -> bool:
        return isinstance(tree, ast.Constant)

    def value(self, tree: ast.expr) -> float:
        return tree.value

    def gate(self, name: str, *args: ast.expr, expand: bool = True, token=None) -> ast.expr:
        gate = gate_table.GATES[name]
        if gate.primitive is not None:
            return gate.primitive(self, *args)
        if gate.call:
            return ast.Call(ast.Name(gate.name, ast.Load()), list(args), [])
        tree = ast.parse(re.sub(r"\{(a|b)\}", r"\1", gate.forward), mode="eval").body
        operands = dict(zip("ab", args))

        class Fill(ast.NodeTransformer):
            def visit_Name(self, node):
                return operands.get(node.id, node)

        return Fill().visit(tree)


def _split_index(name: str) -> tuple[str, str]:
    match = re.fullmatch(r"([^\W\d_]+)(\d+)", name)
    return (match.group(1), match.group(2)) if match else (name, "")


def _latex_escape(text: str) -> str:
    text = re.sub(r"([_#$%&{}])", r"\\\1", text)
    return "".join(_latex_greek(c) for c in text)


def _latex_greek(char: str) -> str:
    # σ is \sigma: LaTeX renderers do not all accept Greek letters as text
    words = unicodedata.name(char, "").split()
    if words[:1] != ["GREEK"] or words[-2:-1] != ["LETTER"]:
        return char
    letter = words[-1].lower()
    return "\\" + (letter.capitalize() if "CAPITAL" in words else letter) + " "


def _number_text(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


class _Printer:
    def __init__(self, backend, names: dict[str, str]):
        self.out = backend
        self.names = names

    def show(self, node) -> tuple[str, int]:
        """The node typeset, and how tightly it binds."""
        out = self.out
        if isinstance(node, ast.Name):
            return out.ident(self.names.get(node.id, node.id)), ATOM
        if isinstance(node, ast.Constant):
            return out.number(_number_text(node.value)), ATOM
        if isinstance(node, ast.Attribute):
            if node.attr == "T":   # a transpose, as a superscript T
                return out.transpose(self.wrapped(node.value, ATOM)), POWER
            if isinstance(node.value, ast.Name):
                dotted = f"{node.value.id}.{node.attr}"
                if dotted in _CONSTANTS:
                    return out.ident(_CONSTANTS[dotted]), ATOM
                if node.value.id in _MODULES:   # np.pi
                    return out.ident(node.attr), ATOM
            # an array's attribute (X.size, X.shape), as code writes it
            return out.ident(f"{ast.unparse(node.value)}.{node.attr}"), ATOM
        if isinstance(node, ast.UnaryOp):
            inner = self.wrapped(node.operand, POWER)
            return (out.negate(inner) if isinstance(node.op, ast.USub) else inner), NEGATION
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Compare):
            parts = [self.wrapped(node.left, SUM)]
            for operator, right in zip(node.ops, node.comparators):
                parts += [out.op(_COMPARE[type(operator)]), self.wrapped(right, SUM)]
            return out.row(parts), COMPARE
        if isinstance(node, ast.IfExp):
            return out.row([self.wrapped(node.body, COMPARE), out.words("if"),
                            self.wrapped(node.test, COMPARE), out.words("else"),
                            self.wrapped(node.orelse, COMPARE)]), CONDITION
        if isinstance(node, ast.Call):
            return self.call(node)
        # anything else flatgrad writes (an index, t.shape[1]) is shown as its code
        return out.ident(ast.unparse(node)), ATOM

    def terms(self, node) -> list[tuple[str, str]]:
        """A sum's terms, each typeset with the sign before it ("" before the first)."""
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub))):
            return [("", self.wrapped(node, SUM))]
        symbol = BINARY[type(node.op)][0]
        right = self.wrapped(node.right, ATOM if isinstance(node.right, ast.UnaryOp)
                             else SUM + 1)
        return self.terms(node.left) + [(symbol, right)]

    def wrapped(self, node, tightness: int) -> str:
        text, binds = self.show(node)
        return self.out.paren(text) if binds < tightness else text

    def binary(self, node: ast.BinOp) -> tuple[str, int]:
        out = self.out
        symbol, binds = BINARY[type(node.op)]
        if symbol == "/" and out is not TEXT:
            return out.frac(self.show(node.left)[0], self.show(node.right)[0]), ATOM
        if symbol == "@":
            left = self.wrapped(node.left, binds)
            right = self.wrapped(node.right, binds + 1)
            return out.matmul(left, right), binds
        if symbol == "^":
            exponent = self.show(node.right)[0] if out is not TEXT else \
                self.wrapped(node.right, ATOM)
            return out.power(self.wrapped(node.left, ATOM), exponent), POWER
        # Python groups equal operators to the left, so a right operand of the
        # same strength keeps its parentheses.
        # A negated right operand keeps them too: a − (−b), not a − −b.
        left = self.wrapped(node.left, binds)
        right = self.wrapped(node.right, ATOM if isinstance(node.right, ast.UnaryOp)
                             else binds + 1)
        return out.row([left, out.op(symbol), right]), binds

    def call(self, node: ast.Call) -> tuple[str, int]:
        out = self.out
        name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        args = node.args
        notation = _notation(name)
        if notation == "root":
            return out.root(self.show(args[0])[0]), ATOM
        if notation == "bars":
            return out.bars(self.show(args[0])[0]), ATOM
        if notation == "power":
            exponent = self.show(args[1])[0] if out is not TEXT else \
                self.wrapped(args[1], ATOM)
            return out.power(self.wrapped(args[0], ATOM), exponent), POWER
        shown = []
        for i, arg in enumerate(args):
            if i:
                shown.append(out.op(","))
            shown.append(self.show(arg)[0])
        for keyword_arg in node.keywords:   # np.sum(g, axis=1, keepdims=True)
            if shown:
                shown.append(out.op(","))
            shown.append(out.row([out.ident(keyword_arg.arg), out.op("="),
                                  self.show(keyword_arg.value)[0]]))
        return out.row([out.function(_symbol(name)),
                        out.call_paren(out.row(shown))]), ATOM
