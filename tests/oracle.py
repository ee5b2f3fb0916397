"""Independent oracles for tests: SymPy spellings of flatgrad's gates, central differences."""
import math
import random

import sympy as sp


def same_float(a, b) -> bool:
    """The same float, bit for bit (the sign of a zero counted, any nan equal to any nan)."""
    return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)


# How SymPy spells each callable gate; an independent statement of what the gate computes.
SYMPY = {
    "sigmoid": lambda a: 1 / (1 + sp.exp(-a)),
    "softplus": lambda a: sp.log(1 + sp.exp(a)),
    "logaddexp": lambda a, b: sp.log(sp.exp(a) + sp.exp(b)),
    "relu": lambda a: sp.Max(a, 0),
    "max": sp.Max, "min": sp.Min, "abs": sp.Abs,
    "exp": sp.exp, "expm1": lambda a: sp.exp(a) - 1, "log": sp.log,
    "log1p": lambda a: sp.log(1 + a), "log2": lambda a: sp.log(a, 2),
    "log10": lambda a: sp.log(a, 10), "sqrt": sp.sqrt, "pow": lambda a, b: a ** b,
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "asin": sp.asin, "acos": sp.acos,
    "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
    "asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh, "erf": sp.erf, "erfc": sp.erfc,
    "atan2": sp.atan2, "hypot": lambda a, b: sp.sqrt(a ** 2 + b ** 2),
    "cbrt": lambda a: sp.sign(a) * sp.Abs(a) ** sp.Rational(1, 3),
}

# Where each gate is smooth and defined: a sampling interval per argument.
DOMAIN = {
    "log": [(0.2, 4)], "log1p": [(-0.5, 4)], "log2": [(0.2, 4)], "log10": [(0.2, 4)],
    "sqrt": [(0.2, 4)], "asin": [(-0.8, 0.8)], "acos": [(-0.8, 0.8)],
    "acosh": [(1.2, 4)], "atanh": [(-0.8, 0.8)], "pow": [(0.3, 3), (-2, 2)],
    "tan": [(-1.2, 1.2)],
}


def sympy_of(text, names):
    """SymPy expression of a test formula written with flatgrad's gate names."""
    symbols = {n: sp.Symbol(n, real=True) for n in names}
    return sp.sympify(text, locals={**SYMPY, **symbols, "σ": SYMPY["sigmoid"]}), symbols


def symbolic_gradient(text, names, point):
    expr, symbols = sympy_of(text, names)
    subs = {symbols[n]: sp.Float(point[n], 40) for n in names}
    value = sp.N(expr.subs(subs), 30)
    grads = [sp.N(sp.diff(expr, symbols[n]).subs(subs), 30) for n in names]
    return float(value), [float(g) for g in grads]


def central_differences(fn, args, h=1e-6):
    grads = []
    for i in range(len(args)):
        up = list(args)
        down = list(args)
        step = h * max(1.0, abs(args[i]))
        up[i] += step
        down[i] -= step
        grads.append((fn(*up) - fn(*down)) / (2 * step))
    return grads


def close(got, want, rel=1e-9, abs_=1e-12):
    return math.isclose(got, want, rel_tol=rel, abs_tol=abs_)


def gate_formulas() -> list[tuple[str, str]]:
    """One small formula per row of the gate table that works on scalars, as (row,
    formula), built from the table itself."""
    from flatgrad.core import gates
    out = []
    symbols = {gate: symbol for symbol, gate in gates.OPERATORS.items()}
    for name, gate in gates.GATES.items():
        if not gate.on_scalars:
            continue
        if gate.call:
            out.append((name, f"{gate.call}(x)" if gate.arity == 1 else f"{gate.call}(x, y)"))
        elif name in symbols:
            symbol = symbols[name]
            out.append((name, "-x" if symbol == "neg" else f"x {symbol} y"))
    # rows that only expansions stage: powers with constant exponents, 1/x,
    # division by a constant, and a named copy
    out += [("square", "x**2"), ("cube", "x**3"), ("powi", "x**4"), ("powr", "x**2.5"),
            ("recip", "1/x"), ("div", "x / 4"), ("copy", "c = x\nc*y")]
    return out


def gate_points(name: str, count: int, kinked=("max", "min"), at_zero=()) -> list[tuple]:
    """`count` points of a gate row's domain, seeded by its name, clear of the kinks
    of the gates named in `kinked` (two operands equal) and `at_zero` (also the first
    operand at 0)."""
    rng = random.Random(name)
    ranges = DOMAIN.get(name, [(-2.5, 2.5)] * 2)
    if name in ("powr", "recip", "div", "cbrt"):
        ranges = [(0.3, 3.0), (0.3, 3.0)]
    points = []
    while len(points) < count:
        point = tuple(round(rng.uniform(*ranges[min(i, len(ranges) - 1)]), 3) for i in range(2))
        if name in kinked and (abs(point[0] - point[1]) < 1e-3
                               or name in at_zero and abs(point[0]) < 1e-3):
            continue
        points.append(point)
    return points
