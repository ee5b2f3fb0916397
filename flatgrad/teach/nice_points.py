"""Points for worksheet variants: each input a "nice" number a student can work with
by hand (a small integer, else a half), inside the formula's domain.

A candidate point is kept only where the plan evaluates without a domain error and
every value and gradient is finite and of a size that fits a worksheet's table;
zero is left out, as kinks (relu, abs, max at a tie) and domain edges sit there.
Over arrays a variant is a seeded random point of the declared shapes.
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
TRIES = 400


def nice_points(compiled, count: int, seed: int = 0) -> list[dict]:
    """`count` different points inside the domain, the same for the same seed."""
    plan: Plan = compiled.plan
    if plan.graph.has_arrays:
        return [points.point_for(compiled, points.RANDOM, seed + k) for k in range(count)]
    draw = random.Random(seed)
    names = list(plan.graph.inputs)
    found: list[dict] = []
    for attempt in range(TRIES):
        # integers first; halves too once integers alone have not given enough points
        pool = INTEGERS if attempt < TRIES // 2 else INTEGERS + HALVES
        point = {name: float(draw.choice(pool)) for name in names}
        if point not in found and _fits(plan, point):
            found.append(point)
            if len(found) == count:
                return found
    raise FlatgradError(f"found only {len(found)} of {count} points with small whole or half "
                        "numbers inside this formula's domain; give fewer --variants")


def _fits(plan: Plan, point: dict) -> bool:
    try:
        values = evaluate(plan, point)
    except (ValueError, ZeroDivisionError, OverflowError, FloatingPointError):
        return False
    numbers = [v for v in values.values() if isinstance(v, (int, float, np.floating))]
    return all(math.isfinite(v) and abs(v) < LARGEST for v in numbers)
