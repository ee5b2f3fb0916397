"""The gradient check: the generated gradient against two independent oracles.

At each point, every component of the generated gradient is compared with a
central difference of the generated function and with SymPy's derivative of the
same formula, evaluated in 50-digit arithmetic. The SymPy expression is built
from the graph and the gate table's forward forms, never from the user's text.
The verdict rests on the symbolic derivative, which is exact; the central
difference is shown beside it because it is the check students know, and it
decides only where SymPy has no finite value.

At a kink (relu or abs at 0, max at a tie) the derivative does not exist and
any value between the two one-sided derivatives is a valid subgradient: there
the generated value is checked against that interval instead.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from .errors import FlatgradError
from .graph import Graph
from .render import abbreviate

DIGITS = 50
DEFAULT_TOLERANCE = 1e-6
# Below this magnitude two gradients count as equally zero: rounding leaves
# ~1e-16 where the exact derivative cancels to 0.
ZERO = 1e-8
POINTS = 3
# One-sided differences further apart than this (relative) mark a kink.
KINK = 1e-4
SEED = 0


@dataclass
class Row:
    point: dict[str, float]
    input: str
    generated: float
    numeric: float
    symbolic: float
    error: float             # relative error of `generated` against the verdict's oracle
    numeric_error: float     # relative error of `generated` against `numeric`
    kink: tuple[float, float] | None = None   # one-sided derivatives, at a kink


@dataclass
class Report:
    formula: str
    tolerance: float
    rows: list[Row] = field(default_factory=list)

    @property
    def worst(self) -> float:
        return max((row.error for row in self.rows), default=0.0)

    @property
    def ok(self) -> bool:
        return self.worst <= self.tolerance

    def __bool__(self) -> bool:
        return self.ok

    def table(self) -> str:
        head = ("point", "input", "generated", "numeric", "symbolic", "rel. error")
        body, previous = [], None
        for row in self.rows:  # each point named once, on its first row
            point = _point_text(row.point) if row.point != previous else ""
            previous = row.point
            body.append((point, row.input, f"{row.generated:.12g}", f"{row.numeric:.12g}",
                         f"{row.symbolic:.12g}", f"{row.error:.2e}"))
        widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                 for r in [head] + body]
        lines.insert(1, "  ".join("-" * w for w in widths))
        for row in self.rows:
            if row.kink:
                left, right = row.kink
                lines.append(f"note: at {_point_text(row.point)} {row.input} sits on a kink: "
                             f"the one-sided derivatives are {left:.6g} and {right:.6g}, and "
                             "any value between them is a valid subgradient")
        verdict = "ok" if self.ok else "FAILED"
        lines.append(f"{verdict}: largest relative error {self.worst:.2e} "
                     f"(tolerance {self.tolerance:g}) for {abbreviate(self.formula)}")
        return "\n".join(lines)

    __str__ = table


def relative_error(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|), the measure of the CS231n gradient check."""
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b), ZERO)


def to_sympy(graph: Graph):
    """The graph's output as a SymPy expression, gate by gate, and its input symbols."""
    import sympy
    symbols = {name: sympy.Symbol(name, real=True) for name in graph.inputs}
    values = {}
    for node in graph.nodes:
        if node.kind == "input":
            values[node.index] = symbols[node.name]
        elif node.kind == "const":
            # the float the generated code uses, exactly
            values[node.index] = sympy.Rational(node.value)
        else:
            values[node.index] = node.gate.sympy_fn(*[values[a] for a in node.args], None)
    return values[graph.output], symbols


def check(compiled, at=None, tol: float = DEFAULT_TOLERANCE, points: int = POINTS) -> Report:
    """Compare `compiled`'s gradient with central differences and SymPy's derivative,
    at `at` (a list of complete points, {input: value}) or at a few deterministic
    random points."""
    expr, symbols = to_sympy(compiled.graph)
    derivatives = {name: expr.diff(symbols[name]) for name in compiled.wrt}
    chosen = _pick_points(compiled, expr, symbols, points) if at is None else at
    report = Report(compiled.formula, tol)
    for point in chosen:
        try:
            _, grads = compiled.value_and_grad(**point)
        except (ArithmeticError, ValueError) as err:
            raise FlatgradError(f"cannot check at {_point_text(point)}: {err}") from None
        subs = {symbols[name]: value for name, value in point.items()}
        kinked = _on_a_kink(expr, subs)
        for name, generated in zip(compiled.wrt, grads):
            numeric = _central_difference(compiled.function, point, name)
            symbolic = _evaluate(derivatives[name], subs)
            numeric_error = relative_error(generated, numeric)
            error = relative_error(generated, symbolic) if math.isfinite(symbolic) \
                else numeric_error
            sides = _one_sided(compiled.function, point, name) \
                if kinked or not math.isfinite(symbolic) else None
            if sides and relative_error(*sides) > KINK:
                error = _outside(generated, *sides)
            else:
                sides = None
            report.rows.append(Row(point, name, generated, numeric, symbolic, error,
                                   numeric_error, sides))
    return report


def _on_a_kink(expr, subs) -> bool:
    """Whether some max, min or abs in the formula is exactly at its kink."""
    import sympy
    for atom in expr.atoms(sympy.Max, sympy.Min, sympy.Abs):
        values = [_evaluate(arg, subs) for arg in atom.args]
        if isinstance(atom, sympy.Abs) and values[0] == 0:
            return True
        if len(set(values)) < len(values):
            return True
    return False


def _one_sided(function, point, name) -> tuple[float, float]:
    x = point[name]
    h = 1e-7 * max(1.0, abs(x))
    here = function(**point)
    try:
        left = (here - function(**{**point, name: x - h})) / h
        right = (function(**{**point, name: x + h}) - here) / h
    except (ArithmeticError, ValueError):
        return (math.nan, math.nan)
    return (left, right)


def _outside(value: float, left: float, right: float) -> float:
    """0 inside [left, right] (allowing the differences' own error), else the relative
    error to the nearer end."""
    low, high = min(left, right), max(left, right)
    slack = KINK * max(abs(low), abs(high))
    if low - slack <= value <= high + slack:
        return 0.0
    return min(relative_error(value, low), relative_error(value, high))


def _central_difference(function, point: dict[str, float], name: str) -> float:
    # h ~ cube root of machine epsilon balances truncation against rounding
    x = point[name]
    h = 6e-6 * max(1.0, abs(x))
    try:
        up = function(**{**point, name: x + h})
        down = function(**{**point, name: x - h})
    except (ArithmeticError, ValueError):
        return math.nan  # the step left the domain
    return (up - down) / ((x + h) - (x - h))


def _evaluate(expr, subs) -> float:
    import sympy
    exact = {symbol: sympy.Float(value, DIGITS) for symbol, value in subs.items()}
    try:
        value = complex(expr.evalf(DIGITS, subs=exact))
    except (TypeError, ValueError, ZeroDivisionError):
        return math.nan
    return value.real if abs(value.imag) <= 1e-30 else math.nan


def _pick_points(compiled, expr, symbols, count: int) -> list[dict[str, float]]:
    """Deterministic points inside the domain: alternately positive (for log, sqrt)
    and of either sign, each coordinate away from 0 and ±1 (kinks, domain edges)."""
    if not compiled.inputs:
        return [{}]
    rng = random.Random(SEED)
    chosen: list[dict[str, float]] = []
    for attempt in range(200):
        low = 0.1 if attempt % 2 == 0 else -2.0
        point = {name: round(rng.uniform(low, 2.0), 3) for name in compiled.inputs}
        if any(abs(abs(v) - 1) < 0.05 or abs(v) < 0.05 for v in point.values()):
            continue
        try:
            value, grads = compiled.value_and_grad(**point)
        except (ArithmeticError, ValueError):
            continue
        if not all(math.isfinite(g) for g in (value, *grads)):
            continue
        if not math.isfinite(_evaluate(expr, {symbols[n]: v for n, v in point.items()})):
            continue
        chosen.append(point)
        if len(chosen) == count:
            return chosen
    if not chosen:
        raise FlatgradError(f"found no point where {compiled.formula} is defined; "
                            "give one with --at")
    return chosen


def _point_text(point: dict[str, float]) -> str:
    return ",".join(f"{name}={value:g}" for name, value in point.items())
