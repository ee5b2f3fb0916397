"""Text to a staged program: a whitelisted tokenizer and an operator-precedence parser.

Nothing here evaluates anything. The tokenizer knows a closed set of tokens
(numbers, names, a few operators, parentheses, commas, board notation such as
σ, √, ², ·, ×, ÷, −) and refuses everything else by name. The parser is
shunting-yard with explicit stacks, so nesting depth and chain length are
limited by memory only (Python's own `ast.parse` stops at 200 nested
parentheses), and it emits each statement in postfix order, which is the order
the stages are created in: left operand before right, numerator before
denominator.
"""
from __future__ import annotations

import keyword
import re
import unicodedata
from dataclasses import dataclass, field

from .errors import FlatgradError
from .gates import OPERATORS

SUPERSCRIPTS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6",
                "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-", "⁺": ""}
SUPERSCRIPT_CHARS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺"
BOARD_OPERATORS = {"·": "*", "×": "*", "⋅": "*", "∗": "*", "÷": "/", "−": "-", "–": "-", "^": "**"}

_NUMBER = re.compile(r"(\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?")

REFUSED = {
    "'": "strings are not allowed", '"': "strings are not allowed",
    "[": "subscripts and lists are not allowed: flatgrad works on named scalars",
    "]": "subscripts and lists are not allowed: flatgrad works on named scalars",
    "{": "sets, dicts and braces are not allowed", "}": "sets, dicts and braces are not allowed",
    ":": "':' is not allowed (no slices, annotations or lambdas)",
    ":=": "assignment expressions (:=) are not allowed",
    "%": "'%' (modulo) has no gradient and is not supported",
    "//": "'//' (floor division) has no gradient and is not supported",
    "==": "comparisons are not allowed", "!=": "comparisons are not allowed",
    "<": "comparisons are not allowed", ">": "comparisons are not allowed",
    "<=": "comparisons are not allowed", ">=": "comparisons are not allowed",
    "&": "bitwise operators are not allowed", "|": "bitwise operators are not allowed",
    "~": "bitwise operators are not allowed", "<<": "bitwise operators are not allowed",
    ">>": "bitwise operators are not allowed", "!": "'!' is not allowed",
    "`": "backticks are not allowed", "$": "'$' is not allowed", "?": "'?' is not allowed",
    ".": "attribute access is not allowed (only .T, the transpose): call gates by name, "
         "e.g. exp(x), not math.exp(x)",
    "\\": "a backslash is only allowed at the end of a line",
}
_SYMBOLS = sorted(["**", "+", "-", "*", "/", "@", "(", ")", ",", ";", "="] + list(REFUSED)
                  + list(BOARD_OPERATORS) + ["√"], key=len, reverse=True)
_ASCII_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Longest first, so '**' wins over '*'.
_SYMBOL_RE = re.compile("|".join(re.escape(s) for s in _SYMBOLS))


@dataclass(frozen=True)
class Token:
    kind: str      # num, name, op, sup, lparen, rparen, comma, sep, assign, end
    text: str
    line: int
    col: int
    width: int = 1


@dataclass(frozen=True)
class Num:
    value: float
    text: str
    token: Token


@dataclass(frozen=True)
class Name:
    name: str
    token: Token


@dataclass(frozen=True)
class Apply:
    """Apply a gate (an operator or a called function) to the last `nargs` items."""
    func: str          # gate name for operators; the name as called for functions
    nargs: int
    token: Token
    operator: bool     # written as an operator (+, **, ²) rather than called by name


@dataclass
class Statement:
    target: Token | None           # the assigned name, None for a bare expression
    postfix: list = field(default_factory=list)


@dataclass
class Program:
    source: str
    statements: list[Statement]

    def error(self, message: str, token: Token | None, hint: str | None = None) -> FlatgradError:
        if token is None:
            return FlatgradError(message, hint=hint)
        return FlatgradError(message, self.source, token.line, token.col, token.width, hint)


def _fail(source: str, message: str, line: int, col: int, width: int = 1, hint=None):
    raise FlatgradError(message, source, line, col, width, hint)


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    depth = 0
    line = 0
    line_start = 0
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        col = i - line_start
        if ch == "\n":
            if depth == 0:
                tokens.append(Token("sep", "\n", line, col))
            line += 1
            line_start = i + 1
            i += 1
            continue
        if ch in " \t\r\f\u00a0":
            i += 1
            continue
        if ch == "#":
            while i < n and source[i] != "\n":
                i += 1
            continue
        if ch == "\\" and source[i + 1:i + 2] == "\n":
            i += 2
            line += 1
            line_start = i
            continue
        number = _NUMBER.match(source, i) if (ch.isdigit() or ch == ".") else None
        if number and number.group(0) != ".":
            text = number.group(0)
            end = number.end()
            if end < n and (source[end].isidentifier() or source[end].isdigit()):
                _fail(source, f"missing operator between {text!r} and {source[end]!r}", line,
                      end - line_start, hint=f"write {text}*{source[end]} for a product")
            tokens.append(Token("num", text.replace("_", ""), line, col, len(text)))
            i = end
            continue
        if ch in SUPERSCRIPT_CHARS:
            j = i
            while j < n and source[j] in SUPERSCRIPT_CHARS:
                j += 1
            digits = "".join(SUPERSCRIPTS[c] for c in source[i:j])
            if not re.fullmatch(r"-?\d+", digits):
                _fail(source, f"superscript {source[i:j]!r} is not an integer exponent", line,
                      col, j - i)
            tokens.append(Token("sup", digits, line, col, j - i))
            i = j
            continue
        ascii_name = _ASCII_NAME.match(source, i)
        if ascii_name and (ascii_name.end() == n or source[ascii_name.end()] < "\x80"):
            # the common case, read at once: what the general loop below would
            # read, since an ASCII name followed by ASCII needs no folding
            j = ascii_name.end()
            name = ascii_name.group(0)
            if keyword.iskeyword(name) or name in ("True", "False", "None") \
                    or keyword.issoftkeyword(name) and name != "_" or name.startswith("__"):
                pass  # the general loop below reports it
            else:
                tokens.append(Token("name", name, line, col, j - i))
                i = j
                continue
        if ch.isidentifier() or ch == "σ":
            j = i + 1
            while j < n and (source[j].isidentifier() or source[j].isdigit()
                             or unicodedata.category(source[j]) in ("Mn", "Mc", "Nd", "Pc")):
                if source[j] in SUPERSCRIPT_CHARS:
                    break
                j += 1
            word = source[i:j]
            # Python folds identifiers to NFKC: do the same so that two spellings
            # of one name are one variable in the generated code too.
            name = unicodedata.normalize("NFKC", word)
            if not name.isidentifier():
                _fail(source, f"{word!r} is not a valid name", line, col, j - i)
            if keyword.iskeyword(name) or name in ("True", "False", "None") \
                    or keyword.issoftkeyword(name) and name != "_":
                _fail(source, f"{name!r} is a Python keyword: flatgrad reads formulas, "
                      "not Python programs", line, col, j - i)
            if name.startswith("__"):
                _fail(source, "names starting with a double underscore are not allowed", line,
                      col, j - i)
            tokens.append(Token("name", name, line, col, j - i))
            i = j
            continue
        if source.startswith(TRANSPOSE, i) and not _continues_name(source, i + 2):
            tokens.append(Token("op", TRANSPOSE, line, col, 2))
            i += 2
            continue
        match = _SYMBOL_RE.match(source, i)
        if match is None:
            _fail(source, f"unexpected character {ch!r} (U+{ord(ch):04X})", line, col)
        symbol = match.group(0)
        if symbol in REFUSED:
            _fail(source, REFUSED[symbol], line, col, len(symbol))
        width = len(symbol)
        symbol = BOARD_OPERATORS.get(symbol, symbol)
        if symbol == "(":
            depth += 1
            tokens.append(Token("lparen", symbol, line, col))
        elif symbol == ")":
            depth -= 1
            if depth < 0:
                _fail(source, "unmatched ')'", line, col)
            tokens.append(Token("rparen", symbol, line, col))
        elif symbol == ",":
            tokens.append(Token("comma", symbol, line, col))
        elif symbol == ";":
            tokens.append(Token("sep", symbol, line, col))
        elif symbol == "=":
            tokens.append(Token("assign", symbol, line, col))
        else:
            tokens.append(Token("op", symbol, line, col, width))
        i += width
    tokens.append(Token("end", "", line, i - line_start))
    return tokens


def _continues_name(source: str, i: int) -> bool:
    return i < len(source) and (source[i].isidentifier() or source[i].isdigit())


BINARY = {"+": (1, "left"), "-": (1, "left"), "*": (2, "left"), "/": (2, "left"),
          "@": (2, "left"), "**": (4, "right")}
# `.T` (the transpose) is the one attribute allowed: a postfix operator that binds
# tightest, as in numpy.
TRANSPOSE = ".T"
# `axis=` is the one keyword argument; it is read as the call's last positional
# operand, so `sum(X, axis=0)` and `sum(X, 0)` are one gate.
KEYWORDS = ("axis",)
PREFIX = {"-": "neg", "+": "pos", "√": "sqrt"}
PREFIX_PRECEDENCE = 3


def parse(source: str) -> Program:
    """Parse a formula or a staged program (statements split by newlines or ';')."""
    if not isinstance(source, str):
        raise FlatgradError(f"expected the formula as text, got {type(source).__name__}")
    tokens = tokenize(source)
    program = Program(source, [])
    start = 0
    for end, token in enumerate(tokens):
        if token.kind in ("sep", "end"):
            if end > start:
                program.statements.append(_statement(program, tokens[start:end], token))
            start = end + 1
    if not program.statements:
        raise FlatgradError("empty input: give a formula such as '(x + σ(y)) / (σ(x) + (x + y)²)'")
    return program


def _statement(program: Program, tokens: list[Token], terminator: Token) -> Statement:
    target = None
    if len(tokens) >= 2 and tokens[1].kind == "assign":
        if tokens[0].kind != "name":
            raise program.error("only a plain name can be assigned to", tokens[0])
        target, tokens = tokens[0], tokens[2:]
    statement = Statement(target)
    tokens = _keywords_as_positional(program, tokens)
    for token in tokens:
        if token.kind == "assign":
            raise program.error("'=' may only follow a name at the start of a statement",
                                token, hint="use '==' nowhere: comparisons have no gradient")
    _shunting_yard(program, tokens, statement.postfix, terminator)
    return statement


def _keywords_as_positional(program: Program, tokens: list[Token]) -> list[Token]:
    kept: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "name" and i + 1 < len(tokens) and tokens[i + 1].kind == "assign" \
                and kept and kept[-1].kind == "comma":
            if token.text not in KEYWORDS:
                raise program.error(f"unknown keyword argument {token.text!r}", token,
                                    hint="the only keyword argument is axis=, as in "
                                         "sum(X, axis=0)")
            i += 2
            continue
        kept.append(token)
        i += 1
    return kept


# Markers on the operator stack.
_PAREN, _CALL = "(", "call"


def _shunting_yard(program: Program, tokens: list[Token], out: list, terminator: Token) -> None:
    ops: list = []           # (kind, token, extra): binary/prefix operators and markers
    args: list[int] = []     # argument counts of the open calls
    expect_operand = True
    last = None

    def reduce_top():
        kind, token, extra = ops.pop()
        if kind == "binary":
            out.append(Apply(OPERATORS[token.text], 2, token, True))
        elif extra != "pos":  # unary plus stages nothing
            out.append(Apply(OPERATORS.get(extra, extra), 1, token, extra != "sqrt"))

    def precedence(entry):
        kind, token, extra = entry
        return BINARY[token.text][0] if kind == "binary" else PREFIX_PRECEDENCE

    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else terminator
        if expect_operand:
            if token.kind == "num":
                out.append(Num(float(token.text), token.text, token))
                expect_operand = False
            elif token.kind == "name":
                if following.kind == "lparen":
                    ops.append((_CALL, token, None))
                else:
                    out.append(Name(token.text, token))
                    expect_operand = False
            elif token.kind == "lparen":
                if ops and ops[-1][0] == _CALL and ops[-1][2] is None:
                    ops[-1] = (_CALL, ops[-1][1], token)
                    args.append(0)
                    if following.kind == "rparen":
                        expect_operand = False  # an empty call: f()
                else:
                    ops.append((_PAREN, token, None))
            elif token.kind == "op" and token.text in PREFIX:
                ops.append(("prefix", token, PREFIX[token.text]))
            elif token.kind == "rparen" and last is not None and last.kind == "lparen":
                raise program.error("empty parentheses", last, hint="() has no value")
            else:
                raise program.error(_expected_operand(token), token)
        else:
            if token.kind == "op" and token.text in BINARY:
                prec, assoc = BINARY[token.text]
                while ops and ops[-1][0] in ("binary", "prefix") and (
                        precedence(ops[-1]) > prec or
                        (precedence(ops[-1]) == prec and assoc == "left")):
                    reduce_top()
                ops.append(("binary", token, None))
                expect_operand = True
            elif token.kind == "op" and token.text == TRANSPOSE:
                out.append(Apply(OPERATORS[TRANSPOSE], 1, token, True))
            elif token.kind == "sup":
                exponent = token.text
                out.append(Num(float(exponent), exponent, token))
                out.append(Apply("pow", 2, token, True))
            elif token.kind in ("rparen", "comma"):
                while ops and ops[-1][0] in ("binary", "prefix"):
                    reduce_top()
                if not ops:
                    what = "unmatched ')'" if token.kind == "rparen" else \
                        "a comma outside a function call (tuples are not allowed)"
                    raise program.error(what, token)
                kind, opener, paren = ops[-1]
                if token.kind == "comma":
                    if kind != _CALL:
                        raise program.error("tuples are not allowed: a comma may only separate "
                                            "the arguments of a call", token)
                    args[-1] += 1
                    expect_operand = True
                else:
                    ops.pop()
                    if kind == _CALL:
                        count = args.pop() + (0 if last.kind == "lparen" else 1)
                        out.append(Apply(opener.text, count, opener, False))
            elif token.kind == "lparen":
                raise program.error("missing operator before '('", token,
                                    hint="write a*(b) for a product; only gates can be called")
            elif token.kind in ("num", "name"):
                raise program.error(f"missing operator before {token.text!r}", token,
                                    hint="write a*b for a product")
            elif token.kind == "assign":
                raise program.error("'=' may only follow a name at the start of a statement",
                                    token)
            else:
                raise program.error(f"unexpected {token.text!r}", token)
        last = token
    if expect_operand:
        where = last if last is not None else terminator
        if last is None:
            raise program.error("an assignment needs a value after '='", terminator)
        raise program.error("the formula ends too early: an operand is missing", where)
    while ops:
        if ops[-1][0] in (_PAREN, _CALL):
            raise program.error("'(' is never closed", ops[-1][2] or ops[-1][1])
        reduce_top()


def _expected_operand(token: Token) -> str:
    if token.kind == "end" or token.kind == "sep":
        return "the formula ends too early: an operand is missing"
    if token.kind == "sup":
        return "a superscript needs something to raise"
    return f"expected a number, a name or '(' here, not {token.text!r}"


# Each binary gate's operator and precedence, read back from the parser's own tables.
_SYMBOL = {OPERATORS[symbol]: (symbol, precedence) for symbol, (precedence, _) in BINARY.items()}
_ATOM = 9


def pretty(program: Program) -> str:
    return "; ".join(pretty_statements(program))


def pretty_statements(program: Program) -> list[str]:
    """The program in canonical spelling, a string per statement, rebuilt from its
    tokens (so it never carries anything the tokenizer did not accept).

    Pieces are nested tuples joined once at the end: gluing strings at every
    operator would copy a 5,000-term sum 5,000 times."""
    parts = []
    for statement in program.statements:
        stack: list[tuple[object, int]] = []
        for item in statement.postfix:
            if isinstance(item, Num):
                stack.append((item.text, _ATOM))
            elif isinstance(item, Name):
                stack.append((item.name, _ATOM))
            elif item.func in _SYMBOL:
                symbol, prec = _SYMBOL[item.func]
                (left, lp), (right, rp) = stack[-2:]
                del stack[-2:]
                right_assoc = symbol == "**"
                if lp < prec or (right_assoc and lp == prec) or (symbol == "**" and lp == 3):
                    left = ("(", left, ")")
                if rp < prec or (not right_assoc and rp == prec):
                    right = ("(", right, ")")
                glue = "**" if symbol == "**" else f" {symbol} "
                stack.append(((left, glue, right), prec))
            elif item.operator and item.token.text == TRANSPOSE:
                operand, prec = stack.pop()
                stack.append(((operand, ".T") if prec == _ATOM else ("(", operand, ").T"), _ATOM))
            elif item.operator:  # neg
                operand, prec = stack.pop()
                stack.append((("-(", operand, ")") if prec < 3 else ("-", operand), 3))
            elif item.func == "sqrt" and item.token.text == "√":
                operand, prec = stack.pop()
                stack.append((("√(", operand, ")") if prec < 3 else ("√", operand), 3))
            else:
                args = [piece for piece, _ in stack[len(stack) - item.nargs:]]
                del stack[len(stack) - item.nargs:]
                separated = [p for arg in args for p in (", ", arg)][1:]
                stack.append(((item.func, "(", *separated, ")"), _ATOM))
        text = _flatten(stack[-1][0])
        parts.append(f"{statement.target.text} = {text}" if statement.target else text)
    return parts


def _flatten(pieces) -> str:
    out, todo = [], [pieces]
    while todo:  # iterative: a formula may nest thousands deep
        piece = todo.pop()
        if isinstance(piece, str):
            out.append(piece)
        else:
            todo.extend(reversed(piece))
    return "".join(out)
