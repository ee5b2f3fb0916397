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
  need by name); at most FOLDS lines go into one, so a long chain stays a
  chain of short lines.

A line that can raise (a division, a power, a call) keeps its own line, so a
domain error still names its stage; so does a gradient summed with `+=` or
returned, and the output. Each remaining line keeps its `# (k)` tag; the
`# backprop` comments go with the lines they headed.
"""
from __future__ import annotations

import re
from collections import Counter

from .plan import Group, Line, Plan, can_raise, chain

FOLDS = 4   # lines folded into one expression at most
SUM_WIDTH = 88   # a sum at the end stays one line of the module
# a name, a dotted name (math.exp) or a number (1e-05), each read whole, so that
# only a whole name is ever looked up or replaced
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
    every = plan.forward + backward
    names = {id(line): _NAME.findall(line.code) for line in every}
    assigned = Counter(line.target for line in every)
    reads = Counter(name for line in every for name in names[id(line)])
    read_backward = {name for line in backward for name in names[id(line)]}
    kept = set(plan.grads) | {plan.graph.nodes[plan.graph.output].name}
    if plan.seed:
        kept.add(plan.seed.target)
    folded: dict[str, tuple[str, str, int]] = {}   # name: expression, its kind, lines in it
    substitute = _substitute(folded)

    def fold(line: Line, reader: bool) -> bool:
        """Substitute the folded names `line` reads; then fold `line` itself
        away if it can go (True)."""
        depth = 1
        inner = [folded[name][2] for name in names[id(line)] if name in folded]
        if inner:
            depth += max(inner)
            line.code = _NAME.sub(substitute, line.code)
            if " * -" in line.code:
                line.code = _SIGN.sub(r"\1-\2 * \3", line.code)
        if not reader or line.accumulate or assigned[line.target] > 1 \
                or line.target in kept or can_raise(line):
            return False
        if _ATOM.fullmatch(line.code):
            folded[line.target] = (line.code, "atom", 0)
            return True
        if reads[line.target] == 1 and depth <= FOLDS:
            folded[line.target] = (line.code, _kind(line.code), depth)
            return True
        return False

    plan.forward = [line for line in plan.forward
                    if not fold(line, line.target not in read_backward)]
    for group in plan.backward:
        lines = []
        for line in group.lines:
            upstream = folded.get(line.upstream)
            if upstream and upstream[0] == "1.0":   # the upstream gradient is the output's 1
                line.code, line.upstream = chain(line.local, "", plan.profile, plan.style), ""
            if not fold(line, line.stage >= 0):
                lines.append(line)
        group.lines, group.header = lines, ""
    _sum_at_the_end(plan)
    plan.backward = [group for group in plan.backward if group.lines]
    return True


def _sum_at_the_end(plan: Plan) -> None:
    """Write the contributions to a returned gradient, when none can raise, as a
    few sums at the end, `dx = dx + a + b + c` (the same additions in the same
    order as `dx += a; dx += b; dx += c`, without a load and a store of dx for
    each). Nothing reads an input's gradient before the return, and every value a
    contribution reads is final where the contribution stood."""
    summed: list[Line] = []
    for name in plan.grads:
        parts = [line for group in plan.backward for line in group.lines
                 if line.target == name]
        if len(parts) < 2 or any(can_raise(line) for line in parts):
            continue
        for group in plan.backward:
            group.lines = [line for line in group.lines if line.target != name]
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
    if summed:
        plan.backward.append(Group(plan.graph.nodes[plan.graph.output], "", summed))


def _substitute(folded: dict):
    def read(match: re.Match) -> str:
        name = match.group(0)
        if name not in folded:
            return name
        code, kind, _ = folded[name]
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
    if " if " in flat:
        return "conditional"
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
_TOKENS = {"(": "open", ",": "open", "<": "cmp", ">": "cmp", "=": "cmp"}


def _left(text: str) -> str:
    text = text.rstrip()
    if not text:
        return "open"
    found = _LEFT.search(text)
    if not found:
        return "unknown"
    token = found.group(1)
    if token in "+-" and not re.search(r"[\w.)]$", text[:-1].rstrip()):
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
