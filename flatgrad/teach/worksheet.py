"""Worksheets: a lesson with some of its answers blanked, and the key to them.

`blank` says what the student fills in: whole backward lines (`lines`), the
local gradients (`local`) or the numbers (`values`). A seeded draw picks which
rows, so a teacher can hand out several variants of one exercise; the same
seed always gives the same worksheet. The key holds exactly the blanked rows,
so worksheet and key together show every line once.

A worksheet shows nothing from which a blank can be read off: where the numbers
are blanked, every row that shows the same number as a blank is blanked too
(dsigx = dden has dden's value), and the final gradients are always blanks;
where the local gradients are, every row with the same local gradient.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from ..emit import format_value
from ..errors import FlatgradError
from .lesson import BackwardRow, ForwardRow, Lesson

BLANKS = ("lines", "local", "values")


@dataclass
class Worksheet:
    lesson: Lesson
    blank: str
    seed: int
    answers: list[ForwardRow | BackwardRow]   # the blanked rows, in page order
    variant: str = ""                         # 1, 2 ... of --variants; "" for one sheet

    @property
    def hides_values(self) -> bool:
        return self.blank == "values"


def make(lesson: Lesson, blank: str = "lines", count: int | None = None,
         seed: int = 0, shown: Callable[[object], str] | None = None,
         variant: str = "") -> Worksheet:
    """Blank `count` rows of `lesson` (default: half of them, rounded up) in place.
    `shown` is how the page prints a number: with the values blanked, any other row
    that prints the same as a blank or as a final gradient is blanked too."""
    if blank not in BLANKS:
        raise FlatgradError(f"unknown blank {blank!r}; choose one of {BLANKS}")
    if blank == "values":
        candidates = list(lesson.forward) + list(lesson.backward)
    elif blank == "local":
        candidates = [row for row in lesson.backward if row.local]
    else:
        candidates = list(lesson.backward)
    if not candidates:
        raise FlatgradError("this formula has nothing to blank: it has no backward pass")
    if count is None:
        count = (len(candidates) + 1) // 2
    if count < 1:
        raise FlatgradError(f"a worksheet needs at least one blank, not {count}")
    chosen = set(random.Random(seed).sample(range(len(candidates)), min(count,
                                                                       len(candidates))))
    if blank == "values":
        chosen |= _same_numbers(lesson, candidates, chosen, shown or format_value)
    elif blank == "local":
        # a shown `dy = (1) * dxpy` would fill in `dx = (___) * dxpy`
        hidden = {candidates[i].local for i in chosen}
        chosen |= {i for i, row in enumerate(candidates) if row.local in hidden}
    answers = []
    for i, row in enumerate(candidates):
        if i in chosen:
            row.blank = True
            answers.append(row)
    return Worksheet(lesson, blank, seed, answers, variant)


def _same_numbers(lesson: Lesson, rows: list, chosen: set[int], shown) -> set[int]:
    """The rows that print a number some blank (or a final gradient, always a blank)
    also prints: shown, they would fill that blank in."""
    hidden = {shown(rows[i].value) for i in chosen} | \
        {shown(value) for _, _, value in lesson.gradients}
    return {i for i, row in enumerate(rows) if shown(row.value) in hidden}
