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
the generated value is checked against that interval instead, and the table
still shows its true difference (from SymPy's value, which at a kink is a
convention such as Heaviside(0) = 1/2) with a note saying why it passes. A
point is a kink only where the one-sided derivatives (extrapolated differences)
actually differ: relu(x)**2 at 0 has a max at its tie but is differentiable.

An array program is checked entry by entry: every entry of every differentiated
input gets its own central difference, and where the program is small enough to
scalarise (at most SYMPY_ENTRIES differentiated entries in all) SymPy runs the
graph over arrays of symbols, gate by gate through the table's SymPy forms, and
differentiates the output by each entry. Larger programs are decided by the
central differences, on a seeded sample of the entries of large inputs.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from .errors import FlatgradError
from .core.graph import Graph
from .emit import abbreviate

DIGITS = 50
DEFAULT_TOLERANCE = 1e-6
# Below this magnitude two gradients count as equally zero: rounding leaves
# ~1e-16 where the exact derivative cancels to 0.
ZERO = 1e-8
POINTS = 3
# One-sided derivatives further apart than this (relative), and than their own
# error, mark a kink. They are differences over SIDE_STEP (relative to the input)
# and half of it, extrapolated (Richardson: 2 D(h/2) - D(h)), so that a smooth
# function's second derivative does not pass for a kink.
KINK = 1e-4
SIDE_STEP = 1e-5
SEED = 0
# Array programs: SymPy differentiates every entry when the differentiated inputs
# have at most this many entries in all; an input with more than CHECKED entries
# is checked on a seeded sample of CHECKED of them; the table shows every entry
# of an input with at most SHOW_ALL, else its SHOWN worst and a summary line.
SYMPY_ENTRIES = 40
# The central differences of array entries: the wider step (relative to the entry)
# and the rounding of a function value, in units of its size, counted as the
# differences' own error (machine epsilon times a margin for the rounding that
# accumulates through the program).
STEP = 1e-4
ROUNDING = 16 * 2.0 ** -52
CHECKED = 40
SHOW_ALL = 4
SHOWN = 3


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
    entry: tuple | None = None   # the entry of an input of an array program: (0, 1); () scalar
    label: str = ""              # how the table names the point ("#1"); default: its values
    # at a kink, where `error` is 0 between the one-sided derivatives (else the
    # relative error to the nearer one): the true relative difference from the
    # symbolic value (from the nearer one-sided derivative where there is none)
    difference: float | None = None

    @property
    def where(self) -> str:
        return self.label or _point_text(self.point)

    @property
    def name(self) -> str:
        """The input, with the entry: W[0,1]."""
        if not self.entry:
            return self.input
        return f"{self.input}[{','.join(str(i) for i in self.entry)}]"

    @property
    def shown(self) -> float:
        """The relative error the table shows: the true difference, at a kink too."""
        return self.error if self.difference is None else self.difference

    def passes(self, tolerance: float) -> bool:
        return self.error <= tolerance

    def kink_note(self, tolerance: float) -> str:
        left, right = self.kink
        low, high = sorted((left, right))
        between = f"the one-sided derivatives {low:.6g} and {high:.6g}"
        if self.passes(tolerance):
            return (f"at {self.where} {self.name} sits on a kink: any value between {between} "
                    f"is a valid subgradient, so {self.generated + 0.0:.6g} passes")
        return (f"at {self.where} {self.name} sits on a kink, and {self.generated + 0.0:.6g} "
                f"lies outside {between} (relative error {self.error:.2e} to the nearer): fails")


@dataclass
class Report:
    formula: str
    tolerance: float
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # printed under the table
    problems: list[str] = field(default_factory=list)   # failures that are not a row

    @property
    def worst(self) -> float:
        return max((row.error for row in self.rows), default=0.0)

    @property
    def ok(self) -> bool:
        return self.worst <= self.tolerance and not self.problems

    def __bool__(self) -> bool:
        return self.ok

    def table(self) -> str:
        entries = any(row.entry is not None for row in self.rows)
        head = ("point", "entry" if entries else "input", "generated", "numeric", "symbolic",
                "rel. error")
        body, previous = [], None
        for group in _groups(self.rows):
            for row in group:  # each point named once, on its first row
                point = row.where if row.point is not previous else ""
                previous = row.point
                symbolic = "-" if row.symbolic is None else f"{row.symbolic + 0.0:.12g}"
                kink = "" if not row.kink else \
                    "kink: ok" if row.passes(self.tolerance) else "kink: FAILED"
                body.append((point, row.name, f"{row.generated + 0.0:.12g}",
                             f"{row.numeric + 0.0:.12g}", symbolic, f"{row.shown:.2e}", kink))
            if len(group) < group.size:
                rest = group.size - len(group)
                body.append(("", f"{group.input}: {rest} more", "", "", "",
                             f"<= {group.rest_worst:.2e}", ""))
        head += ("",)
        widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) if i < 2 or i == 6 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                 for r in [head] + body]
        lines.insert(1, "  ".join("-" * w for w in widths[:6]))
        lines.extend(f"note: {row.kink_note(self.tolerance)}" for row in self.rows if row.kink)
        lines.extend(f"note: {note}" for note in self.notes)
        lines.extend(f"FAILED: {problem}" for problem in self.problems)
        verdict = "ok" if self.ok else "FAILED"
        kinks = "; at a kink, the error beyond the one-sided derivatives" \
            if any(row.kink for row in self.rows) else ""
        lines.append(f"{verdict}: largest relative error {self.worst:.2e} "
                     f"(tolerance {self.tolerance:g}{kinks}) for {abbreviate(self.formula)}")
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


def check(compiled, at=None, tol: float = DEFAULT_TOLERANCE, points: int = POINTS,
          seed: int = SEED) -> Report:
    """Compare `compiled`'s gradient with central differences and SymPy's derivative,
    at `at` (a list of complete points, {input: value}; "random" in the list is a
    random point, seeded by `seed`, `seed + 1` ...) or at a few deterministic
    random points."""
    if at is not None and (isinstance(at, (dict, str)) or not isinstance(at, (list, tuple))):
        at = [at]
    if compiled.graph.has_arrays or compiled.graph.lists:   # lists entry by entry too
        return _check_arrays(compiled, at, tol, points, seed)
    if at is not None:
        at = [point for _, point in _given_points(compiled, at, seed)]
    expr, symbols = to_sympy(compiled.graph)
    derivatives = {name: expr.diff(symbols[name]) for name in compiled.wrt}
    chosen = _pick_points(compiled, expr, symbols, points, seed) if at is None else at
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
            decided = math.isfinite(symbolic)
            error = relative_error(generated, symbolic) if decided else numeric_error
            # a max, min or abs at its kink, or no symbolic value: is there a kink?
            sides = _one_sided(compiled.function, point, name) \
                if kinked or not decided else None
            row = Row(point, name, generated, numeric, symbolic, error, numeric_error)
            report.rows.append(_at_a_kink(row, sides, error if decided else None))
    return report


def _at_a_kink(row: Row, sides, difference: float | None) -> Row:
    """`row`, decided by the one-sided derivatives where they differ: a kink. The
    table then shows `difference` (against the exact value), or where there is no
    exact value the relative error to the nearer one-sided derivative."""
    if sides is None or not _differ(*sides):
        return row
    left, right, noise = sides
    row.kink = (left, right)
    row.error = _outside(row.generated, left, right, noise)
    row.difference = difference if difference is not None else \
        min(relative_error(row.generated, left), relative_error(row.generated, right))
    return row


def _differ(left: float, right: float, noise: float) -> bool:
    """Whether one-sided derivatives differ by more than their error: a kink."""
    if not (math.isfinite(left) and math.isfinite(right)):
        return False
    return abs(left - right) > max(KINK * max(abs(left), abs(right)), noise)


def _on_a_kink(expr, subs, evaluate=None) -> bool:
    """Whether some max, min or abs in the formula is exactly at its kink."""
    import sympy
    evaluate = evaluate or _evaluate
    for atom in expr.atoms(sympy.Max, sympy.Min, sympy.Abs):
        values = [evaluate(arg, subs) for arg in atom.args]
        if isinstance(atom, sympy.Abs) and values[0] == 0:
            return True
        if len(set(values)) < len(values):
            return True
    return False


def _one_sided(function, point, name) -> tuple[float, float, float]:
    x = point[name]
    return _sides(lambda step: function(**{**point, name: x + step}), x)


def _sides(at, x: float) -> tuple[float, float, float]:
    """The left and right derivatives of `at(step)` (the function with the input
    moved by `step`) and their error: one-sided differences over h and h/2,
    extrapolated, their error the size of the first-order term removed (which
    bounds what remains) and the rounding of the function's values."""
    h = SIDE_STEP * max(1.0, abs(x))
    try:
        here = float(at(0.0))
        moved = {step: float(at(step)) for step in (-h, -h / 2, h / 2, h)}
    except (ArithmeticError, ValueError):
        return (math.nan, math.nan, math.inf)
    estimates = []
    for sign in (-1, 1):
        wide = sign * (moved[sign * h] - here) / h
        narrow = sign * (moved[sign * h / 2] - here) / (h / 2)
        estimates.append((2 * narrow - wide, abs(narrow - wide)))
    (left, left_error), (right, right_error) = estimates
    rounding = ROUNDING * max(abs(v) for v in (here, *moved.values())) / (h / 2)
    return (left, right, left_error + right_error + rounding)


def _outside(value: float, left: float, right: float, noise: float = 0.0) -> float:
    """0 inside [left, right] (allowing the differences' own error), else the relative
    error to the nearer end."""
    low, high = min(left, right), max(left, right)
    slack = max(KINK * max(abs(low), abs(high)), noise)
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


def _pick_points(compiled, expr, symbols, count: int,
                 seed: int = SEED) -> list[dict[str, float]]:
    """Deterministic points inside the domain: alternately positive (for log, sqrt)
    and of either sign, each coordinate away from 0 and ±1 (kinks, domain edges)."""
    if not compiled.inputs:
        return [{}]
    rng = random.Random(seed)
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


# -- array programs -------------------------------------------------------------------

class _Group(list):
    """The rows of one input at one point, as the table shows them."""

    def __init__(self, rows: list[Row]):
        self.input, self.size = rows[0].input, len(rows)
        shown = rows
        if rows[0].entry is not None and len(rows) > SHOW_ALL:
            shown = sorted(rows, key=lambda row: -row.error)[:SHOWN]   # the worst first
        rest = [row for row in rows if not any(row is kept for kept in shown)]
        self.rest_worst = max((row.error for row in rest), default=0.0)
        super().__init__(shown)


def _groups(rows: list[Row]) -> list[_Group]:
    groups: list[list[Row]] = []
    for row in rows:
        last = groups[-1][-1] if groups else None
        if last is not None and row.entry is not None and last.entry is not None and \
                last.point is row.point and last.input == row.input:
            groups[-1].append(row)
        else:
            groups.append([row])
    return [_Group(group) for group in groups]


def _given_points(compiled, at, seed: int) -> list[tuple[str, dict]]:
    """The points of `at`, each with its note; the k-th "random" is seed + k."""
    from .points import RANDOM
    randoms = 0
    given = []
    for point in at:
        given.append(_given(compiled, point, seed, randoms))
        randoms += isinstance(point, str) and point.strip() == RANDOM
    return given


def _given(compiled, point, seed: int, k: int) -> tuple[str, dict]:
    """A point of `at` completed and checked ('random': the random point of seed + k),
    with its note."""
    from .points import RANDOM, check_labels, complete_point, random_point
    if isinstance(point, str) and point.strip() == RANDOM:
        point, note = random_point(compiled.graph, seed + k), f"--at random --seed {seed + k}"
    else:
        note = ""
    point = complete_point(compiled.inputs, point, compiled.shapes, compiled.graph.integer)
    compiled.check_shapes(*[point[name] for name in compiled.inputs])
    check_labels(compiled.graph, point)
    return note, point


def _check_arrays(compiled, at, tol: float, count: int, seed: int) -> Report:
    """The check of a program over arrays, entry by entry (see the module's docstring)."""
    report = Report(compiled.formula, tol)
    if at is None:
        chosen = _pick_array_points(compiled, count, seed)
    else:
        chosen = _given_points(compiled, at, seed)
    sampler = np.random.default_rng(seed)
    sampled: dict[str, dict[str, int]] = {}   # input -> {point label: its entries}
    scalarised: dict[str, int] = {}     # point label -> its entries, where SymPy decides
    numeric_only: dict[str, int] = {}
    for number, (note, point) in enumerate(chosen, start=1):
        label = f"#{number}"
        if note:
            report.notes.append(f"{label} is {note}")
        grads = _run(compiled, point, label)
        entries = sum(int(np.size(point[name])) for name in compiled.wrt)
        symbolic = entries <= SYMPY_ENTRIES
        (scalarised if symbolic else numeric_only)[label] = entries
        if symbolic:
            expr, symbols, subs = to_sympy_arrays(compiled.graph, point, compiled.wrt)
            kinked = _on_a_kink(expr, subs, _evaluate_exact)
        for name, grad in zip(compiled.wrt, grads):
            value = point[name]
            if np.shape(grad) != np.shape(value):
                report.problems.append(
                    f"at {label} the gradient of {name} is {_shape_text(grad)}, but {name} "
                    f"is {_shape_text(value)}")
                continue
            grad = np.asarray(grad, dtype=np.float64)
            indices = list(np.ndindex(np.shape(value)))
            if len(indices) > CHECKED:
                picked = np.sort(sampler.choice(len(indices), CHECKED, replace=False))
                indices = [indices[i] for i in picked]
                sampled.setdefault(name, {})[label] = int(np.size(value))
            for entry in indices:
                generated = float(grad[entry])
                numeric, slack = _entry_difference(compiled.function, point, name, entry)
                numeric_error = _beyond(generated, numeric, slack)
                exact = _evaluate_exact(expr.diff(symbols[name][entry]), subs) \
                    if symbolic else None
                decided = exact is not None and math.isfinite(exact)
                error = relative_error(generated, exact) if decided else numeric_error
                # one-sided differences where the derivative may not exist: at a kink,
                # or where no exact value decides and the difference disagrees
                sides = None
                if (symbolic and kinked) or (not decided and error > tol):
                    sides = _entry_one_sided(compiled.function, point, name, entry)
                row = Row(point, name, generated, numeric, exact, error, numeric_error,
                          entry=entry, label=label)
                report.rows.append(_at_a_kink(row, sides, error if decided else None))
    sizes = {f"#{number}": _sizes(compiled, point)
             for number, (_, point) in enumerate(chosen, start=1)}
    for labels, text in _by_count(sizes):
        if text:
            report.notes.append(f"sizes {text}" if len(set(sizes.values())) == 1 else
                                f"sizes at {labels}: {text}")
    both = scalarised and numeric_only
    for labels, entries in _by_count(scalarised):
        at = f" at {labels}" if both else ""
        report.notes.append(f"symbolic{at}: SymPy's derivative by each of the {entries} "
                            f"entries, evaluated with {DIGITS} digits, decides")
    for labels, entries in _by_count(numeric_only):
        at = f" at {labels}" if both else ""
        report.notes.append(f"symbolic{at}: not computed ({entries} differentiated entries; "
                            f"SymPy scalarises at most {SYMPY_ENTRIES}): central differences "
                            "decide, and a gap within their own error estimate counts as none")
    for name, counts in sampled.items():
        for labels, size in _by_count(counts):
            at = "each point" if len(counts) == len(chosen) and len(set(counts.values())) == 1 \
                else labels
            report.notes.append(f"{name}: {CHECKED} of its {size:,} entries checked at {at} "
                                "(a seeded sample)")
    return report


def _by_count(entries: dict) -> list[tuple[str, object]]:
    """Point labels grouped by a value of theirs (their number of entries, their
    sizes): [("#1, #2", 36)]."""
    grouped: dict = {}
    for label, count in entries.items():
        grouped.setdefault(count, []).append(label)
    return [(", ".join(labels), count) for count, labels in grouped.items()]


def _pick_array_points(compiled, count: int, seed: int) -> list[tuple[str, dict]]:
    """Random points (seed, seed + 1 ...) where the value and gradient are finite;
    where one is not, the same seed with every float made positive (log, sqrt)."""
    from .points import POSITIVE_FLOOR, random_point
    chosen: list[tuple[str, dict]] = []
    flat: list[tuple[str, dict]] = []   # points where every gradient is 0 (dead relus)
    for k in range(10 * count):
        for positive in (False, True):
            point = random_point(compiled.graph, seed + k, positive)
            try:
                grads = _run(compiled, point, "")
            except FlatgradError:
                continue
            note = f"--at random --seed {seed + k}" if not positive else \
                f"a random point of seed {seed + k} with every float made positive " \
                f"(|normal| + {POSITIVE_FLOOR:g})"
            if any(np.any(np.asarray(grad) != 0) for grad in grads) or not grads:
                chosen.append((note, point))
            else:
                flat.append((note, point))
            break
        if len(chosen) == count:
            break
    chosen = chosen or flat[:count]
    if not chosen:
        raise FlatgradError(f"found no point where {abbreviate(compiled.formula)} is defined; "
                            "give one with --at")
    return chosen


def _run(compiled, point: dict, label: str):
    """The generated gradient at `point`; FlatgradError where it is not finite."""
    with np.errstate(all="ignore"):
        try:
            value, grads = compiled.value_and_grad(**point)
        except (ArithmeticError, ValueError) as err:
            raise FlatgradError(f"cannot check at {label}: {err}") from None
    if not all(np.all(np.isfinite(v)) for v in (value, *grads)):
        raise FlatgradError(f"cannot check at {label}: the value or a gradient is not a "
                            "finite number there (is the point outside the domain?)")
    return grads


def _moved(point: dict, name: str, entry: tuple, step: float) -> dict:
    value = point[name]
    if np.ndim(value) == 0:
        return {**point, name: float(value) + step}
    moved = np.array(value, dtype=np.float64)
    moved[entry] += step
    return {**point, name: moved}


def _entry_difference(function, point: dict, name: str, entry: tuple) -> tuple[float, float]:
    """d function / d point[name][entry] by central differences at two steps, h and
    h/2, extrapolated (Richardson: (4 D(h/2) - D(h)) / 3, error O(h^4)), and the
    error the differences themselves may have: twice the gap between the two
    steps, and the rounding of the function's value divided by the step."""
    x = float(np.asarray(point[name])[entry])
    h = STEP * max(1.0, abs(x))
    with np.errstate(all="ignore"):
        try:
            values = [float(function(**_moved(point, name, entry, step)))
                      for step in (h, -h, h / 2, -h / 2)]
        except (ArithmeticError, ValueError):
            return math.nan, math.inf  # a step left the domain
    wide = (values[0] - values[1]) / ((x + h) - (x - h))
    narrow = (values[2] - values[3]) / ((x + h / 2) - (x - h / 2))
    estimate = narrow + (narrow - wide) / 3
    rounding = ROUNDING * max(abs(v) for v in values) / h
    return estimate, 2 * abs(narrow - wide) + rounding


def _beyond(generated: float, numeric: float, slack: float) -> float:
    """The relative error of `generated` against a difference that may itself be off by
    `slack`: what remains beyond the slack, |a - b| less slack, over max(|a|, |b|)."""
    error = relative_error(generated, numeric)
    if not math.isfinite(error):
        return error
    return max(0.0, abs(generated - numeric) - slack) / max(abs(generated), abs(numeric), ZERO)


def _entry_one_sided(function, point: dict, name: str,
                     entry: tuple) -> tuple[float, float, float]:
    x = float(np.asarray(point[name])[entry])
    with np.errstate(all="ignore"):
        return _sides(lambda step: function(**_moved(point, name, entry, step)), x)


def to_sympy_arrays(graph: Graph, point: dict, wrt):
    """The output of an array program as one SymPy expression in a symbol per entry
    of each input of `wrt` (W[0,1] ...), run gate by gate through the table's SymPy
    forms over numpy arrays of expressions; every other input is its value at
    `point` (integer labels as integers). Returns the expression, each input's array
    of symbols (0-d for a scalar) and the values of the symbols at `point`."""
    import sympy
    symbols: dict[str, np.ndarray] = {}
    subs: dict = {}
    values: dict[int, object] = {}
    for name, (length, _) in graph.lists.items():   # list inputs: a symbol per entry
        entries = [sympy.Float(float(v), DIGITS) for v in np.asarray(point[name])]
        if name in wrt:
            held = np.array([sympy.Symbol(f"{name}[{k}]", real=True) for k in range(length)])
            subs.update(zip(held, entries))
        else:
            held = np.array(entries, dtype=object)
        symbols[name] = held
    for node in graph.nodes:
        if node.kind == "input" and "[" in node.name:   # w[0], an entry of a list input
            listed, index = node.name[:-1].split("[")
            values[node.index] = symbols[listed][int(index)]
        elif node.kind == "input":
            value = point[node.name]
            if node.name in graph.integer:
                labels = np.asarray(value, dtype=np.int64)
                values[node.index] = int(labels) if labels.ndim == 0 else labels
                continue
            array = np.asarray(value, dtype=np.float64)
            held = np.empty(array.shape, dtype=object)
            for entry in np.ndindex(array.shape):
                exact = sympy.Float(float(array[entry]), DIGITS)
                if node.name in wrt:
                    suffix = f"[{','.join(str(i) for i in entry)}]" if entry else ""
                    held[entry] = sympy.Symbol(node.name + suffix, real=True)
                    subs[held[entry]] = exact
                else:
                    held[entry] = exact
            symbols[node.name] = held
            values[node.index] = held if held.ndim else held[()]
        elif node.kind == "const":
            values[node.index] = sympy.Rational(node.value)
        else:
            values[node.index] = _apply_sympy(node.gate, [values[a] for a in node.args])
    expr = values[graph.output]
    if isinstance(expr, np.ndarray):
        expr = expr[()]
    return sympy.sympify(expr, strict=True), symbols, subs


def _apply_sympy(gate, args: list):
    form = gate.sympy_fn
    if gate.elementwise and any(isinstance(a, np.ndarray) for a in args):
        return np.vectorize(lambda *operands: form(*operands, None), otypes=[object])(*args)
    return form(*args, None)


def _evaluate_exact(expr, subs) -> float:
    """As _evaluate, substituting the exact values first (much faster on the large
    expressions of array programs than evalf's own substitution)."""
    import sympy
    try:
        value = complex(sympy.sympify(expr, strict=True).xreplace(subs).evalf(DIGITS))
    except (TypeError, ValueError, ZeroDivisionError):
        return math.nan
    return value.real if abs(value.imag) <= 1e-30 else math.nan


def _shape_text(value) -> str:
    from .core.shapes import describe
    return describe(np.shape(value))


def _sizes(compiled, point: dict) -> str:
    """H=2, D=3: the size each symbolic dimension has at `point`."""
    sizes: dict[str, int] = {}
    for name in compiled.inputs:
        for dim, size in zip(compiled.shapes[name], np.shape(point[name])):
            if isinstance(dim, str):
                sizes.setdefault(dim, size)
    return ", ".join(f"{dim}={size}" for dim, size in sizes.items())
