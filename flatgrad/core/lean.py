"""The lean profile: the fast profile with its copies and one-use names folded away.

A staged listing spends many of its lines naming a value that is already named
(`dsigx = dden`, the add gate's unit local gradient) or naming a value that one
later line reads and nothing else (`cx = 1.54 * x` before `dot = cx + cy`). In
CPython each such line is a store and a load, a frame slot, and a float kept
alive to the end of the call; in a formula of thousands of terms they are most
of the work. Over scalars, this pass:

- drops a gradient line that copies a name or a number (`dsigx = dden`): its
  readers read the original, and a line whose upstream gradient is the output's
  1 becomes its local gradient alone;
- writes a line read by exactly one later line into that line, bracketed where
  Python's precedence and left-to-right grouping need it (`a + (b + c)` is not
  `a + b + c` in floating point), so that the same float operations run in the
  same order and every result is the same to the last bit. A forward value is
  folded only into a forward line (the backward lines read the values they
  need by name); at most FOLDS lines deep, and never into a line it would make
  too long to print on one line, so a long chain stays a chain of short lines.

A line that can raise (a division, a power, a call) keeps its own line, so a
domain error still names its stage; so does a gradient summed with `+=` or
returned, and the output. Each remaining line keeps its `# (k)` tag; the
`# backprop` comments go with the lines they headed.
"""
from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import NamedTuple

from .plan import Group, Line, Plan, can_raise, chain

FOLDS = 4        # lines folded into one another at most, one inside the next
WIDTH = 84       # a line's target and code, beyond which it reads its folds by name
SUM_WIDTH = 88   # a sum at the end stays one line of the module
# a name or a dotted name (math.exp), read whole so that only a whole name is ever
# looked up or replaced; a number's pieces (1e-05: 1e, 05) start with a digit and
# are never taken for a name
_NAME = re.compile(r"[A-Za-z_][\w.]*|\d[\w.]*")
_ATOM = re.compile(r"[A-Za-z_]\w*|\d+(\.\d*)?([eE][-+]?\d+)?")
_INNER = re.compile(r"\([^()]*\)")
# `0.5 * -dq` (a subtraction's -1 folded into a constant's product) is `-0.5 * dq`,
# the same float (a product's sign is the sign of its factors'), without a negation
_SIGN = re.compile(r"(^|\(|[\w.)] [-+] )(\d+\.\d*(?:e[-+]?\d+)?) \* -([A-Za-z_]\w*)(?![\w.(]|\*\*)")

# Where an expression of each kind may stand without brackets: the operator on
# its left, and on its right. `open` is a line's start, `(` or `,`; `close` its
# end, `)` or `,`; `neg` a unary minus; `cmp` a comparison.
_ANY = {"open", "close", "+", "-", "*", "/", "**", "neg", "cmp", "if", "else"}
_BARE = {
    "conditional": ({"open"}, {"close"}),
    "sum": ({"open"}, {"close", "+", "-", "cmp", "if", "else"}),
    "product": ({"open", "+", "-", "cmp", "if", "else"},
                {"close", "+", "-", "*", "/", "cmp", "if", "else"}),
    "negation": (_ANY - {"neg"}, _ANY - {"**"}),
    "power": (_ANY, _ANY - {"**"}),
    "atom": (_ANY, _ANY),
}


def lean(plan: Plan) -> bool:
    """Fold the plan's lines; False for a plan it leaves as it is."""
    if plan.over_arrays or plan.graph.lists:
        return False   # whole arrays gain nothing from it; list entries are set in place
    backward = [line for group in plan.backward for line in group.lines]
    forward_names = [_NAME.findall(line.code) for line in plan.forward]
    backward_names = [_NAME.findall(line.code) for line in backward]
    assigned = Counter(line.target for line in plan.forward + backward)
    reads = Counter(name for names in forward_names + backward_names for name in names)
    read_backward = {name for names in backward_names for name in names}
    kept = set(plan.grads) | {plan.graph.nodes[plan.graph.output].name}
    if plan.seed:
        kept.add(plan.seed.target)
    folded: dict[str, Folded] = {}
    substitute = _substitute(folded)
    order = itertools.count()   # printed by name, folded lines keep their own order

    def fold(line: Line, names: list[str], reader: bool) -> list[Line]:
        """The lines to print in `line`'s place: `line` with the folded lines it
        reads written in, or nothing when it folds into its own reader. A line that
        would grow too long to print on one line gets the lines it reads printed
        before it instead."""
        printed: list[Line] = []
        reading = [name for name in names if name in folded]
        if reading:
            code = _NAME.sub(substitute, line.code)
            if len(line.target) + len(code) > WIDTH:
                printed = [folded.pop(name).line for name in
                           sorted(dict.fromkeys(reading), key=lambda name: folded[name].order)]
                reading = []
            else:
                line.code = code if " * -" not in code else _SIGN.sub(r"\1-\2 * \3", code)
        depth = 1 + max(folded[name].depth for name in reading) if reading else 1
        if reader and not line.accumulate and assigned[line.target] == 1 \
                and line.target not in kept and not can_raise(line):
            if _ATOM.fullmatch(line.code):
                folded[line.target] = Folded(line.code, "atom", 0, line, next(order))
                return printed
            if reads[line.target] == 1 and depth <= FOLDS:
                folded[line.target] = Folded(line.code, _kind(line.code), depth, line,
                                             next(order))
                return printed
        return printed + [line]

    plan.forward = [printed for line, names in zip(plan.forward, forward_names)
                    for printed in fold(line, names, line.target not in read_backward)]
    backward_names.reverse()   # popped in the order of the lines
    for group in plan.backward:
        lines = []
        for line in group.lines:
            names = backward_names.pop()
            upstream = folded.get(line.upstream)
            if upstream and upstream.code == "1.0":   # the upstream gradient is the output's 1
                names = [name for name in names if name != line.upstream]
                line.code, line.upstream = chain(line.local, "", plan.profile, plan.style), ""
            lines += fold(line, names, line.stage >= 0)
        group.lines, group.header = lines, ""
    _sum_at_the_end(plan)
    plan.backward = [group for group in plan.backward if group.lines]
    return True


class Folded(NamedTuple):
    """A line folded into its reader: its expression, the kind of operator it
    applies last (as _BARE names it), how many lines deep it is, the line itself
    (printed after all where its reader would grow too long) and its place in order."""
    code: str
    kind: str
    depth: int
    line: Line
    order: int


def _sum_at_the_end(plan: Plan) -> None:
    """Write the contributions to a returned gradient, when none can raise, as a
    few sums at the end, `dx = dx + a + b + c` (the same additions in the same
    order as `dx += a; dx += b; dx += c`, without a load and a store of dx for
    each). Nothing reads an input's gradient before the return, and every value a
    contribution reads is final where the contribution stood."""
    contributions: dict[str, list[Line]] = {name: [] for name in plan.grads}
    for group in plan.backward:
        for line in group.lines:
            if line.target in contributions:
                contributions[line.target].append(line)
    moved = {name for name, parts in contributions.items()
             if len(parts) > 1 and not any(can_raise(line) for line in parts)}
    if not moved:
        return
    for group in plan.backward:
        group.lines = [line for line in group.lines if line.target not in moved]
    summed: list[Line] = []
    for name in (name for name in plan.grads if name in moved):
        parts = contributions[name]
        code = ""
        for part in parts:
            kind = _kind(part.code)
            term = f"({part.code})" if kind in ("sum", "conditional") else part.code
            # a + -b is a - b, to the bit
            plus = f" - {term[1:]}" if term.startswith("-") and kind != "atom" else f" + {term}"
            if not code:
                code = term
            elif len(code) + len(plus) + len(name) + 3 <= SUM_WIDTH:
                code += plus
            else:
                summed.append(Line(name, code, 0, node=parts[0].node))
                code = name + plus
        summed.append(Line(name, code, 0, node=parts[0].node))
    plan.backward.append(Group(plan.graph.nodes[plan.graph.output], "", summed))


def _substitute(folded: dict):
    def read(match: re.Match) -> str:
        name = match.group(0)
        if name not in folded:
            return name
        code, kind = folded[name].code, folded[name].kind
        lefts, rights = _BARE[kind]
        text = match.string
        if _left(text[:match.start()]) in lefts and _right(text[match.end():]) in rights:
            return code
        return f"({code})"
    return read


def _kind(code: str) -> str:
    """The operator an expression applies last, as _BARE names it."""
    flat, previous = code, None
    while flat != previous:   # blank out what brackets hold
        previous, flat = flat, _INNER.sub("()", flat)
    if " if " in flat or any(op in flat for op in (" < ", " > ", " <= ", " >= ", " == ",
                                                   " != ")):
        return "conditional"   # a comparison binds as loosely, for where it may stand
    if " + " in flat or " - " in flat:
        return "sum"
    if " * " in flat or " / " in flat:
        return "product"
    if flat.startswith("-"):
        return "negation"
    if "**" in flat:
        return "power"
    return "atom"


_LEFT = re.compile(r"(\*\*|[-+*/(,<>=]|\bif|\belse)$")
_RIGHT = re.compile(r"^(\*\*|[-+*/),<>=]|if\b|else\b)")
_KEYWORD = re.compile(r"\b(if|else|and|or|not|in|is)$")
_TOKENS = {"(": "open", ",": "open", "<": "cmp", ">": "cmp", "=": "cmp"}


def _left(text: str) -> str:
    text = text.rstrip()
    if not text:
        return "open"
    found = _LEFT.search(text)
    if not found:
        return "unknown"
    token = found.group(1)
    prior = text[:-1].rstrip()
    if token in "+-" and (not re.search(r"[\w.)]$", prior) or _KEYWORD.search(prior)):
        return "neg" if token == "-" else "unknown"
    return _TOKENS.get(token, token)


def _right(text: str) -> str:
    text = text.lstrip()
    if not text:
        return "close"
    found = _RIGHT.search(text)
    if not found:
        return "unknown"
    token = found.group(1)
    return {")": "close", ",": "close"}.get(token, _TOKENS.get(token, token))
