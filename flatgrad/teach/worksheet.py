"""Worksheets: a lesson with some of its answers blanked, and the key to them.

`blank` says what the student fills in: whole backward lines (`lines`), the
local gradients (`local`) or the numbers (`values`). A seeded draw picks which
rows, so a teacher can hand out several variants of one exercise; the same
seed always gives the same worksheet. The key holds exactly the blanked rows,
so worksheet and key together show every line once.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ..errors import FlatgradError
from .lesson import BackwardRow, ForwardRow, Lesson

BLANKS = ("lines", "local", "values")


@dataclass
class Worksheet:
    lesson: Lesson
    blank: str
    seed: int
    answers: list[ForwardRow | BackwardRow]   # the blanked rows, in page order

    @property
    def hides_values(self) -> bool:
        return self.blank == "values"


def make(lesson: Lesson, blank: str = "lines", count: int | None = None,
         seed: int = 0) -> Worksheet:
    """Blank `count` rows of `lesson` (default: half of them, rounded up) in place."""
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
    answers = []
    for i, row in enumerate(candidates):
        if i in chosen:
            row.blank = True
            answers.append(row)
    return Worksheet(lesson, blank, seed, answers)
