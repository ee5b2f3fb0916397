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

import builtins
import keyword
import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

from ..errors import FlatgradError
from .gates import OPERATORS

SUPERSCRIPTS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6",
                "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-", "⁺": ""}
SUPERSCRIPT_CHARS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺"
BOARD_OPERATORS = {"·": "*", "×": "*", "⋅": "*", "∗": "*", "÷": "/", "−": "-", "–": "-", "^": "**"}

_NUMBER = re.compile(r"(\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?")
# Python's other integer spellings, refused with their decimal value as the hint
_BASED = re.compile(r"0(?:[xX][0-9a-fA-F_]+|[oO][0-7_]+|[bB][01_]+)(?![\w.])")
_BASES = {"x": "hexadecimal", "o": "octal", "b": "binary"}
# Words that Python's float() reads as numbers; as bare names they would silently
# become variables, so they are refused unless declared as inputs.
FLOAT_WORDS = ("inf", "nan", "infinity")

REFUSED = {
    "'": "strings are not allowed", '"': "strings are not allowed",
    "[": "subscripts are allowed only as a name's constant index, w[0], and lists not at all",
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
    ".": "attribute access is not allowed (only .T, the transpose, and math. before a "
         "call, as in math.exp(x)): call gates by name, e.g. exp(x)",
    "\\": "a backslash is only allowed at the end of a line",
}
_SYMBOLS = sorted(["**", "+", "-", "*", "/", "@", "(", ")", ",", ";", "="] + list(REFUSED)
                  + list(BOARD_OPERATORS) + ["√"], key=len, reverse=True)
_ASCII_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A constant subscript of a name, w[0]: an entry of a list input, as the notes write it.
_SUBSCRIPT = re.compile(r"\[ *\d+ *\]")
# `math.` before a call, as the notes write `math.exp(-x)`: read as the call alone.
_MATH_CALL = re.compile(r"(?<![\w.])math\.(?=[A-Za-z_]\w*\s*\()")
# Longest first, so '**' wins over '*'.
_SYMBOL_RE = re.compile("|".join(re.escape(s) for s in _SYMBOLS))
# The symbols that start no longer one: read without the pattern above.
_LONE_SYMBOLS = frozenset(s for s in _SYMBOLS if len(s) == 1
                          and not any(t != s and t.startswith(s) for t in _SYMBOLS))


# The parser's records are named tuples: as immutable as frozen dataclasses, and
# three times cheaper to make (a formula of 10,000 terms has 185,000 tokens).
class Token(NamedTuple):
    kind: str      # num, name, op, sup, lparen, rparen, comma, sep, assign, end
    text: str
    line: int
    col: int
    width: int = 1


class Num(NamedTuple):
    value: float
    text: str
    token: Token


class Name(NamedTuple):
    name: str
    token: Token


class Apply(NamedTuple):
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
        based = _BASED.match(source, i) if ch == "0" else None
        if based:
            text = based.group(0)
            try:
                hint = f"write it in decimal: {int(text, 0)}"
            except ValueError:
                hint = None
            _fail(source, f"{_BASES[text[1].lower()]} numbers such as {text} are not "
                  "supported", line, col, len(text), hint=hint)
        number = _NUMBER.match(source, i) if (ch.isdigit() or ch == ".") else None
        if number and number.group(0) != ".":
            text = number.group(0)
            end = number.end()
            if end < n and (source[end].isidentifier() or source[end].isdigit()) \
                    and source[end] not in SUPERSCRIPT_CHARS:   # 2³ is a power
                word = re.match(r"\w+", source[end:]).group(0)
                _fail(source, f"missing operator between {text!r} and {word!r}", line,
                      end - line_start, hint=f"write {text}*{word} for a product")
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
        notes_call = _MATH_CALL.match(source, i) if ch == "m" else None
        if notes_call:
            i = notes_call.end()   # the notes' math.exp(x) is the gate exp(x)
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
                subscript = _SUBSCRIPT.match(source, j)
                if subscript:   # w[0], an entry of a list input, is one name
                    name, j = name + subscript.group(0).replace(" ", ""), subscript.end()
                tokens.append(Token("name", name, line, col, j - i))
                i = j
                continue
        if ch == "σ":
            # the sigmoid gate wherever it starts a word: σx is σ(x), as √x is sqrt(x)
            tokens.append(Token("name", "σ", line, col))
            i += 1
            continue
        if ch.isidentifier():
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
        if ch in _LONE_SYMBOLS:
            symbol = ch
        else:
            match = _SYMBOL_RE.match(source, i)
            if match is None:
                _fail(source, f"unexpected character {ch!r} (U+{ord(ch):04X})", line, col)
            symbol = match.group(0)
        if symbol == "|":
            _bars(source, i, line, col)
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


def _bars(source: str, i: int, line: int, col: int) -> None:
    """|x| is an absolute value on the board: refuse it, pointing at abs()."""
    end = source.find("|", i + 1)
    line_end = source.find("\n", i)
    inner = source[i + 1:end].strip() if end != -1 and (line_end == -1 or end < line_end) \
        else ""
    if inner:
        try:
            parse(inner)
        except FlatgradError:
            inner = ""
    if inner:
        _fail(source, "absolute value bars |…| are not allowed", line, col,
              end - i + 1, hint=f"write abs({inner})")
    _fail(source, "bitwise operators are not allowed", line, col,
          hint="for an absolute value, write abs(x)")


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


def parse(source: str, inputs=None) -> Program:
    """Parse a formula or a staged program (statements split by newlines or ';').

    `inputs`, the declared inputs if any, may name a variable `inf` or `nan`; any
    other use of these words is refused rather than made a variable."""
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
    _refuse_float_words(program, inputs)
    return program


def _refuse_float_words(program: Program, inputs) -> None:
    allowed = set(inputs or ())
    for statement in program.statements:
        for item in statement.postfix:
            if isinstance(item, Name) and item.name.lower() in FLOAT_WORDS \
                    and item.name not in allowed:
                meaning = "not a number" if item.name.lower() == "nan" else "infinity"
                raise program.error(
                    f"{item.name!r} reads as {meaning}, and a formula's constants must be "
                    "finite numbers", item.token,
                    hint=f"for a variable named {item.name}, declare the inputs: "
                         f"inputs=(..., {item.name!r}) in Python, --inputs on the command line")
        if statement.target is not None:
            allowed.add(statement.target.text)


def _statement(program: Program, tokens: list[Token], terminator: Token) -> Statement:
    target = None
    if len(tokens) >= 2 and tokens[1].kind == "assign":
        if tokens[0].kind != "name":
            raise program.error("only a plain name can be assigned to", tokens[0])
        if tokens[0].text == "σ":
            raise program.error("σ is the sigmoid gate and cannot be assigned to", tokens[0],
                                hint="choose another name for this stage")
        target, tokens = tokens[0], tokens[2:]
    _refuse_function_definition(program, tokens, terminator)
    statement = Statement(target)
    tokens = _keywords_as_positional(program, tokens)
    for token in tokens:
        if token.kind == "assign":
            raise program.error("'=' may only follow a name at the start of a statement",
                                token, hint="a stage is written name = formula, one per line "
                                            "or separated by ';'")
    _shunting_yard(program, tokens, statement.postfix, terminator)
    return statement


def _refuse_function_definition(program: Program, tokens: list[Token],
                                 terminator: Token) -> None:
    """`f(x) = x**2` as on the board: say how a stage is named instead."""
    if len(tokens) < 4 or tokens[0].kind != "name" or tokens[1].kind != "lparen":
        return
    depth = 0
    for k, token in enumerate(tokens[1:], start=1):
        depth += {"lparen": 1, "rparen": -1}.get(token.kind, 0)
        if depth == 0:
            break
    else:
        return
    if k + 1 >= len(tokens) or tokens[k + 1].kind != "assign":
        return
    name, close = tokens[0], tokens[k]
    width = close.col + 1 - name.col if close.line == name.line else len(name.text)
    hint = f"name a stage without parameters, {name.text} = …; its inputs are the names in its " \
        "formula"
    if k + 2 < len(tokens) and tokens[k + 2].line == terminator.line == name.line:
        text = program.source.split("\n")[name.line]
        rhs = text[tokens[k + 2].col:terminator.col if terminator.kind != "end" else None]
        hint = f"name a stage without parameters: {name.text} = {rhs.strip()}"
    raise FlatgradError(f"{name.text}(…) = … defines a function; flatgrad names stages instead",
                        program.source, name.line, name.col, width, hint)


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
            out.append(Apply(OPERATORS.get(extra, extra), 1, token, extra not in ("sqrt", "σ")))

    def precedence(entry):
        kind, token, extra = entry
        return BINARY[token.text][0] if kind == "binary" else PREFIX_PRECEDENCE

    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else terminator
        if expect_operand:
            if token.kind == "num":
                out.append(Num(float(token.text), token.text, token))
                expect_operand = False
            elif token.kind == "name" and token.text == "σ" and following.kind != "lparen":
                if not (following.kind in ("name", "num")
                        or following.kind == "op" and following.text == "√"):
                    raise program.error("σ needs an argument", token,
                                        hint="write σ(x), or σx for a single name")
                ops.append(("prefix", token, "σ"))   # σx is σ(x), as √x is sqrt(x)
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
                while ops and ops[-1][0] in ("binary", "prefix"):
                    top = precedence(ops[-1])
                    if top < prec or top == prec and assoc != "left":
                        break
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
                                    hint=_missing_operator_hint(program, last, token))
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


def _missing_operator_hint(program: Program, last: Token, token: Token) -> str:
    if last.kind == "name" and is_function(last.text) \
            and last.text not in {s.target.text for s in program.statements if s.target}:
        return f"write {last.text}({token.text}): a function's argument goes in parentheses"
    if last.kind in ("name", "num"):
        return f"write {last.text}*{token.text} for a product"
    return "write a*b for a product"


# Functions flatgrad has no gate for, where the nearest gate by spelling is another
# function (sign is not sin, elu is not relu): what to write instead, if anything.
NOT_GATES = {
    "square": "square(a) is a**2, or a²", "exp2": "exp2(a) is 2**a",
    "logit": "logit(p) is log(p / (1 - p))", "silu": "silu(a) is a * σ(a)",
    "swish": "swish(a) is a * σ(a)", "softsign": "softsign(a) is a / (1 + abs(a))",
    "gelu": "gelu(a) is 0.5 * a * (1 + erf(a / √2))",
    **{name: f"{name} is a step function: its gradient is zero wherever it is defined, "
             "so flatgrad has no such gate"
       for name in ("sign", "sgn", "floor", "ceil", "round", "trunc", "heaviside", "step")},
    **{name: None for name in ("elu", "selu", "leaky_relu")},
}


def unknown_function(program: Program, name: str, token: Token, known) -> FlatgradError:
    """The error for a call of a function that is not a gate (`known`: the gates and
    aliases of the table in use). A suggestion is offered only for a likely typing
    slip (one letter wrong, missing, extra or swapped; two in a long name)."""
    from . import gates
    listed = "the gates are: " + ", ".join(k for k in known if k not in gates.ALIASES)
    message = f"unknown function {name!r}"
    if name in NOT_GATES:
        return program.error(message, token, hint=NOT_GATES[name] or listed)
    if name in dir(builtins):
        return program.error(message, token, hint=f"{name} is Python, not a gate: flatgrad "
                                                  f"reads formulas and never runs code; {listed}")
    limit = 2 if len(name) >= 7 else 1
    close = sorted((distance, k) for k in known
                   if (distance := _typing_distance(name, k, limit)) <= limit)
    if close:
        return program.error(message, token, hint="did you mean "
                             + " or ".join(repr(k) for _, k in close[:3]) + "?")
    return program.error(message, token, hint=listed)


def _typing_distance(a: str, b: str, limit: int) -> int:
    """Letters changed, added, removed or swapped with a neighbour between `a` and `b`
    (optimal string alignment); anything above `limit` is reported as limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], previous2[j - 2] + 1)
        previous2, previous = previous, row
    return min(previous[-1], limit + 1)


def is_function(name: str) -> bool:
    """A name that calls a gate (scalar or array), as written or as an alias."""
    from . import gates
    return name in gates.CALLS


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
