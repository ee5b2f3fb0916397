"""Points for worksheet variants and booklets: each input a "nice" number a student can
work with by hand (a small integer, else a half), inside the formula's domain.

A candidate point is kept only where the plan evaluates without a domain error and
every number on the page is teachable: finite, of a size that fits a worksheet's table,
and every local gradient at least SMALLEST_LOCAL in magnitude. That rejects a saturated
sigmoid (within about 0.05 of 0 or 1, where (1 - σ)·σ is tiny and the gradients that
follow vanish) or tanh, a product whose other factor is 0, exp of a very negative
number. A gate that routes (relu, max: the gate table's "max" pattern) may give exactly
0: stopping the gradient is what it teaches. Zero is left out of the inputs, as kinks
(relu, abs, max at a tie) and domain edges sit there, and the inputs of a point are
different numbers where there are enough (x = y = 4 makes σ(x) = σ(y), and a student
cannot tell which is which). Over arrays a variant is a seeded random point of the
declared shapes.
"""
from __future__ import annotations

import math
import random

import numpy as np

from .. import points
from ..core.plan import Plan, evaluate
from ..errors import FlatgradError

INTEGERS = (1, -1, 2, -2, 3, -3, 4, -4)
HALVES = (0.5, -0.5, 1.5, -1.5, 2.5, -2.5)
# A point whose values or gradients exceed this is no exercise for a pencil.
LARGEST = 1e4
# A local gradient below this (in magnitude) makes the gradients after it vanish: a
# sigmoid within about 0.05 of 0 or 1, a tanh within 0.025 of ±1.
SMALLEST_LOCAL = 0.05
# A value or gradient this close to 0 (but not 0) prints as noise such as 1e-06.
SMALLEST_NUMBER = 1e-3
# The gate-table pattern whose gates route the gradient: a local gradient of exactly 0
# is their lesson (max routes, relu stops the gradient where its input was negative).
ROUTING = "max"
TRIES = 400


def nice_points(compiled, count: int, seed: int = 0) -> list[dict]:
    """`count` different teachable points inside the domain, the same for the same seed."""
    plan: Plan = compiled.plan
    if plan.graph.has_arrays:
        return [points.point_for(compiled, points.RANDOM, seed + k) for k in range(count)]
    draw = random.Random(seed)
    names = list(plan.graph.inputs)
    found: list[dict] = []
    for attempt in range(TRIES):
        # integers first; halves too once integers alone have not given enough points
        pool = INTEGERS if attempt < TRIES // 2 else INTEGERS + HALVES
        point = {name: float(value) for name, value in zip(names, _draw(draw, pool, names))}
        if point not in found and _fits(plan, point):
            found.append(point)
            if len(found) == count:
                return found
    raise FlatgradError(f"found only {len(found)} of {count} points with small whole or half "
                        "numbers inside this formula's domain where every local gradient is "
                        f"at least {SMALLEST_LOCAL}; give fewer --variants, or --at")


def _draw(draw: random.Random, pool: tuple, names: list) -> list:
    """One value from `pool` per input, different values while the pool's magnitudes last
    (x = 2, y = -2 is as confusing as x = y once squared)."""
    magnitudes = sorted({abs(value) for value in pool})
    if len(names) <= len(magnitudes):
        return [magnitude * draw.choice((1, -1))
                for magnitude in draw.sample(magnitudes, len(names))]
    if len(names) <= len(pool):
        return draw.sample(pool, len(names))
    return [draw.choice(pool) for _ in names]


def _fits(plan: Plan, point: dict) -> bool:
    try:
        values = evaluate(plan, point)
    except (ValueError, ZeroDivisionError, OverflowError, FloatingPointError):
        return False
    numbers = [v for v in values.values() if isinstance(v, (int, float, np.floating))]
    numbers += [line.value for line in plan.lines if _is_number(line.value)]
    if not all(math.isfinite(v) and abs(v) < LARGEST for v in numbers):
        return False
    if any(0 < abs(v) < SMALLEST_NUMBER for v in numbers):
        return False
    graph = plan.graph
    for line in plan.lines:
        if line.stage < 0 or not _is_number(line.local_value):
            continue
        local = abs(float(line.local_value))
        routes = graph.nodes[line.stage].gate.kind == ROUTING
        if local < SMALLEST_LOCAL and not (routes and local == 0):
            return False
    return True


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
