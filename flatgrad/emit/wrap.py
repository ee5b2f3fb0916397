"""Long lines of a generated module, wrapped the way a person wraps them.

Generated modules keep within LINE_LENGTH columns, the project's own ruff
setting. A code line continues inside brackets: inside the call or the
parenthesised operand it ends with (`np.sum(dW,\n             axis=1)`), or
between the terms of its lowest-precedence operator, in parentheses added
around the right-hand side (`total = (a + b\n         + c)`), each continuation
aligned under the bracket it continues (or, where that leaves too little room,
indented by four). Only whitespace changes, never a token, so the wrapped line
parses to the same tree (checked: a line that would not is left whole).
Comments, docstrings and formulas wrap at word boundaries, preferably where
the brackets are shallowest and before a low-precedence operator.
"""
from __future__ import annotations

import ast
import io
import keyword
import re
import textwrap
import tokenize
from dataclasses import dataclass, field
from functools import lru_cache

LINE_LENGTH = 100
HANG = 4          # the indent of a continuation that does not align with its bracket
# Continuations align under their bracket unless it sits further right than this
# share of the line.
FAR = 0.5
# A line broken after fewer characters than this share of its width reads as a stub.
FULL_ENOUGH = 0.5


# -- code -----------------------------------------------------------------------------

@dataclass
class _Token:
    text: str
    start: int
    end: int
    kind: int


@dataclass
class _Group:
    """A bracketed part of a line: its brackets and what lies between them."""
    open: _Token
    items: list = field(default_factory=list)
    close: _Token | None = None

    @property
    def start(self) -> int:
        return self.open.start

    @property
    def end(self) -> int:
        return self.close.end


_OPENING = {"(": ")", "[": "]", "{": "}"}
_KEYWORDS = {"if", "else", "and", "or", "not", "in", "is", "lambda", "return", "for",
             "def", "yield", "del", "assert", "await", "import", "from", "as"}
# Where a line may break, lowest precedence first: after a comma; before a
# conditional's `if` and `else`; before a boolean, comparison or arithmetic operator.
_BEFORE = {"if": 1, "else": 1, "or": 2, "and": 3, "<": 4, ">": 4, "==": 4, ">=": 4,
           "<=": 4, "!=": 4, "in": 4, "is": 4, "|": 5, "^": 6, "&": 7, "<<": 8, ">>": 8,
           "+": 9, "-": 9, "*": 10, "/": 10, "//": 10, "%": 10, "@": 10}
_ASSIGN = {"=", "+=", "-=", "*=", "/=", "//=", "%=", "@=", "**=", "|=", "&=", "^="}


def _parse(code: str) -> list | None:
    """The line's tokens, nested by brackets; None where it does not tokenize."""
    top: list = []
    stack: list = [top]
    groups: list[_Group] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER,
                              tokenize.INDENT, tokenize.DEDENT):
                continue
            if token.start[0] != 1 or token.type == tokenize.COMMENT:
                return None
            item = _Token(token.string, token.start[1], token.end[1], token.type)
            if token.string in _OPENING and token.type == tokenize.OP:
                group = _Group(item)
                stack[-1].append(group)
                groups.append(group)
                stack.append(group.items)
            elif token.string in _OPENING.values() and token.type == tokenize.OP:
                if not groups or _OPENING[groups[-1].open.text] != token.string:
                    return None
                groups.pop().close = item
                stack.pop()
            else:
                stack[-1].append(item)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    return top if not groups and top else None


def _operand(item) -> bool:
    """Whether `item` ends an operand, so that an operator after it is binary."""
    if isinstance(item, _Group):
        return True
    if item.kind == tokenize.NAME:
        return item.text not in _KEYWORDS
    return item.kind in (tokenize.NUMBER, tokenize.STRING)


def _breaks(seq: list) -> dict[int, int]:
    """Index in `seq` -> precedence of a place to break: before an operator (its
    index) or after a comma (the comma's index)."""
    found = {}
    for index, item in enumerate(seq):
        if isinstance(item, _Group) or index == 0:
            continue
        if item.text == "," and item.kind == tokenize.OP:
            if index < len(seq) - 1:
                found[index] = 0
        elif item.text in _BEFORE and index < len(seq) - 1 and _operand(seq[index - 1]) \
                and (item.kind == tokenize.OP or item.text in _KEYWORDS):
            found[index] = _BEFORE[item.text]
    return found


class _Layout:
    """Lays out one statement within `limit` columns (from the statement's start).

    A layout is a list of (column, text) lines; the first starts at the column it
    was asked for, on a line that already holds what came before. `first` columns
    are kept free after the statement's first line (its `# (k)` tag), `last`
    after the layout's last line (the closing brackets around it)."""

    def __init__(self, code: str, limit: int, hang: int = HANG):
        self.code, self.limit, self.hang = code, limit, hang
        self.memo: dict = {}

    def text(self, seq: list) -> str:
        return self.code[seq[0].start:seq[-1].end]

    def gap(self, before, after) -> str:
        return self.code[before.end:after.start]

    def overflow(self, lines, first: int, last: int) -> int:
        total = 0
        for number, (column, text) in enumerate(lines):
            width = column + len(text) + (first if number == 0 else 0) \
                + (last if number == len(lines) - 1 else 0)
            total += max(0, width - self.limit)
        return total

    def lay(self, seq: list, column: int, first: int, last: int, where: str,
            base: int) -> list[tuple[int, str]]:
        """`where`: "inside" brackets, "expression" (at the top, parentheses may be
        added) or "fixed" (at the top of a `def` or a decorator: no break but
        inside the brackets already there)."""
        key = (seq[0].start, seq[-1].end, column, first, last, where, base)
        if key not in self.memo:
            self.memo[key] = self._lay(seq, column, first, last, where, base)
        return self.memo[key]

    def _lay(self, seq, column, first, last, where, base):
        flat = [(column, self.text(seq))]
        if not self.overflow(flat, first, last):
            return flat
        candidates = []   # (preference, layout): the first preferred among equals
        groups = [i for i, item in enumerate(seq) if isinstance(item, _Group) and item.items]
        breaks = _breaks(seq) if where != "fixed" else {}
        # continuations aligned under a bracket far to the right leave little room:
        # there a hanging indent reads better
        far = 3 if column > self.limit * FAR else 0
        if groups:
            j = groups[-1]
            group = seq[j]
            prefix = self.code[seq[0].start:group.open.end]
            # break inside the last bracket when it holds the bulk of the line
            rank = 0 if len(self.text(group.items)) >= len(prefix) or not breaks else 2
            aligned = 3 if column + len(prefix) > self.limit * FAR else 0
            candidates.append((rank + aligned,
                               self.inside(seq, j, column, first, last, base, False)))
            candidates.append((rank + 2, self.inside(seq, j, column, first, last, base, True)))
        if breaks:
            if where == "inside":
                candidates.append((1 + far, self.split(seq, breaks, column, first, last)))
            else:   # parentheses around the expression make room to break it
                inner = self.split(seq, breaks, column + 1, first, last + 1)
                inner[0] = (column, "(" + inner[0][1])
                inner[-1] = (inner[-1][0], inner[-1][1] + ")")
                candidates.append((1 + far, inner))
                hanging = self.split(seq, breaks, base + self.hang, 0, last + 1)
                hanging[-1] = (hanging[-1][0], hanging[-1][1] + ")")
                candidates.append((2, [(column, "(")] + hanging))
        if len(seq) == 1 and where == "inside" and isinstance(seq[0], _Token) \
                and seq[0].kind == tokenize.STRING and _plain_string(seq[0].text):
            candidates.append((1, self.string(seq[0].text, column, first, last)))
        candidates = [(rank, layout) for rank, layout in candidates if layout]
        if not candidates:
            return flat
        # of the layouts that fit best, the one of fewest lines; of those, the preferred
        return min(candidates, key=lambda c: (self.overflow(c[1], first, last), len(c[1]),
                                              c[0]))[1]

    def inside(self, seq, j, column, first, last, base, hang):
        """Break inside the bracket seq[j]: its contents continue aligned under the
        bracket or, with `hang`, on the next line, indented by HANG."""
        group = seq[j]
        prefix = self.code[seq[0].start:group.open.start] + group.open.text
        tail = self.code[group.close.start:seq[-1].end]
        body = group.items
        lead = self.code[group.open.end:body[0].start]
        if hang:
            indent = base + self.hang
            lines = self.lay(body, indent, 0, last + len(tail), "inside", indent)
            lines = [(column, prefix)] + lines
        else:
            at = column + len(prefix) + len(lead)
            lines = self.lay(body, at, first, last + len(tail), "inside", base)
            lines = [(column, prefix + lead + lines[0][1])] + lines[1:]
        lines[-1] = (lines[-1][0], lines[-1][1] + tail)
        return lines

    def split(self, seq, breaks, column, first, last):
        """Break at the operators (or commas) of the lowest precedence in `seq`,
        as many terms a line as fit, each line aligned at `column`."""
        level = min(breaks.values())
        chunks, current = [], []
        for index, item in enumerate(seq):
            if breaks.get(index) == level and item.text != ",":
                chunks.append(current)
                current = [item]
            else:
                current.append(item)
                if breaks.get(index) == level:
                    chunks.append(current)
                    current = []
        chunks.append(current)
        chunks = [chunk for chunk in chunks if chunk]
        lines: list[tuple[int, str]] = []
        open_line = None     # the line being filled: (column, text), or None after a break
        for number, chunk in enumerate(chunks):
            reserve_last = last if number == len(chunks) - 1 else 0
            if open_line is not None:   # the next term on the same line, if it fits
                joined = (open_line[0], open_line[1] + self.gap(chunks[number - 1][-1], chunk[0])
                          + self.text(chunk))
                if not self.overflow([joined], first if not lines else 0, reserve_last):
                    open_line = joined
                    continue
                lines.append(open_line)
            piece = self.chunk(chunk, column, first if not lines else 0, reserve_last)
            if len(piece) == 1:
                open_line = piece[0]
            else:   # a term that takes several lines ends its last one
                lines.extend(piece)
                open_line = None
        if open_line is not None:
            lines.append(open_line)
        return lines

    def chunk(self, chunk, column, first, last):
        """One term of a split: its leading operator stays with it."""
        flat = [(column, self.text(chunk))]
        if not self.overflow(flat, first, last) or len(chunk) == 1:
            return flat
        head = chunk[0]
        if isinstance(head, _Token) and (head.text in _BEFORE and head.kind == tokenize.OP
                                         or head.text in ("if", "else")):
            lead = head.text + self.gap(head, chunk[1])
            rest = self.lay(chunk[1:], column + len(lead), first, last, "inside", column)
            return [(column, lead + rest[0][1])] + rest[1:]
        return self.lay(chunk, column, first, last, "inside", column)

    def string(self, literal, column, first, last):
        """A long string literal as several, concatenated implicitly, split after spaces."""
        quote = literal[0]
        words = re.findall(r"\S+\s*|\s+", literal[1:-1])
        lines, current = [], ""
        for word in words:
            trial = current + word
            reserve = (first if not lines else 0)
            if current and column + len(trial) + 2 + reserve > self.limit:
                lines.append((column, quote + current + quote))
                current = word
            else:
                current = trial
        lines.append((column, quote + current + quote))
        return lines if len(lines) > 1 else None


def _plain_string(text: str) -> bool:
    return len(text) >= 2 and text[0] in "\"'" and text[-1] == text[0] and \
        text[:3] not in ('"""', "'''") and "\\" not in text


def wrap_code(code: str, width: int, reserve: int = 0) -> list[str]:
    """`code`, one statement, as physical lines within `width` columns: the first
    line leaves `reserve` columns free (for a `# (k)` tag); continuation lines are
    indented relative to the statement's first column. A line that cannot be
    wrapped (no bracket, no operator to break at) is returned whole."""
    if len(code) + reserve <= width:
        return [code]
    if "'" in code or '"' in code:   # a string literal may be split: lay it out as it is
        return _wrap_code(code, width, reserve)
    # The layout depends on where the tokens are, not on what the names say: lines that
    # differ only in their names (every sigmoid stage of a long sum) are laid out once.
    names = _NAME.findall(code)
    shape = _NAME.sub(_placeholder, code)
    laid = _wrap_shape(shape, width, reserve)
    if len(laid) == 1:
        return [code]
    refill = iter(names)
    return _NAME.sub(lambda _: next(refill), "\n".join(laid)).split("\n")


# A name (not an attribute, not the exponent of a number such as 1e5) and what stands
# for it while a line is laid out: underscores of its length, never a keyword.
_NAME = re.compile(r"(?<![\w.])(?!(?:%s)\b)[A-Za-z_]\w*" % "|".join(keyword.kwlist))


def _placeholder(match: re.Match) -> str:
    return "_" * len(match.group())


@lru_cache(maxsize=4096)
def _wrap_shape(shape: str, width: int, reserve: int) -> tuple[str, ...]:
    return tuple(_wrap_code(shape, width, reserve))


def _wrap_code(code: str, width: int, reserve: int) -> list[str]:
    items = _parse(code)
    if items is None:
        return [code]
    # a `def`'s parameters indent further than its body (PEP 8)
    layout = _Layout(code, width, 2 * HANG if code.startswith("def ") else HANG)
    assign = next((i for i, item in enumerate(items) if isinstance(item, _Token)
                   and item.kind == tokenize.OP and item.text in _ASSIGN), None)
    if assign is not None and 0 < assign < len(items) - 1:
        target, value = items[:assign], items[assign + 1:]
        commas = any(isinstance(t, _Token) and t.text == "," for t in target)
        joint = code[target[-1].end:value[0].start]
        options = []
        # the target (a tuple) breaks too where the value would find no room after it
        for room in sorted({1, min(len(layout.text(value)), width // 3)}):
            head = layout.lay(target, 0, reserve, len(joint) + room,
                              "expression" if commas else "fixed", 0)
            column = head[-1][0] + len(head[-1][1]) + len(joint)
            rest = layout.lay(value, column, reserve if len(head) == 1 else 0, 0,
                              "expression", 0)
            options.append(head[:-1] + [(head[-1][0], head[-1][1] + joint + rest[0][1])]
                           + rest[1:])
        lines = min(options, key=lambda lines: (layout.overflow(lines, reserve, 0),
                                                len(lines)))
    elif isinstance(items[0], _Token) and items[0].text in ("return", "yield") \
            and len(items) > 1:
        lead = code[:items[1].start]
        rest = layout.lay(items[1:], len(lead), reserve, 0, "expression", 0)
        lines = [(0, lead + rest[0][1])] + rest[1:]
    else:
        lines = layout.lay(items, 0, reserve, 0, "fixed", 0)
    physical = [lines[0][1]] + [" " * column + text for column, text in lines[1:]]
    return physical if _same_tree(code, "\n".join(physical)) else [code]


def _same_tree(before: str, after: str) -> bool:
    """Whether wrapping left the statement's meaning alone (a `def` or a decorator
    line gets a body to parse)."""
    for suffix in ("", "\n    pass", "\ndef _():\n    pass"):
        try:
            tree = ast.dump(ast.parse(before + suffix))
        except SyntaxError:
            continue
        try:
            return ast.dump(ast.parse(after + suffix)) == tree
        except SyntaxError:
            return False
    return after == before


# -- text -----------------------------------------------------------------------------

def wrap_text(text: str, width: int, first_width: int | None = None) -> list[str]:
    """Prose or a formula in lines of at most `width` characters (the first at most
    `first_width`), broken at spaces: preferably where brackets are shallowest,
    after a `;` or a comma and before a `+` or `-`, and never leaving a line less
    than half full where a later break fits. A word longer than the line stays whole."""
    depths, depth = [], 0
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}" and depth > 0
        depths.append(depth)
    lines = []
    start = 0
    room = width if first_width is None else first_width
    while len(text) - start > room:
        cut = _best_break(text, depths, start, room)
        if cut is None:
            break
        lines.append(text[start:cut].rstrip())
        start = cut
        while start < len(text) and text[start] == " ":
            start += 1
        room = width
    lines.append(text[start:])
    return lines


def _best_break(text: str, depths: list[int], start: int, room: int) -> int | None:
    """Where to break the line that starts at `start`: the index of a space."""
    seen = []
    for index in range(start + 1, min(len(text), start + room + 1)):
        if text[index] != " ":
            continue
        before, after = text[index - 1], text[index + 1:index + 3]
        if before == ";":
            kind = 0
        elif after[:1] in "+-−" and after[1:2] == " ":
            kind = 1
        elif before == ",":
            kind = 2
        elif after[:1] in "*/@=×÷·" or after.startswith("..."):
            kind = 3
        else:
            kind = 4
        seen.append((index, depths[index], kind))
    if not seen:
        space = text.find(" ", start + room)
        return space if space > 0 else None
    full = [s for s in seen if s[0] - start >= FULL_ENOUGH * room] or seen
    return min(full, key=lambda s: (s[1], s[2], -s[0]))[0]


def wrap_comment(text: str, width: int) -> str:
    """A `# ...` comment (`text` without the '# ') in lines of at most `width`."""
    lines = textwrap.wrap(text, width - 2, break_long_words=False, break_on_hyphens=False)
    return "\n".join(f"# {line}" for line in lines or [""])
