"""Compile time against formula size: it should grow linearly.

For each shape (a long sum, a long product, a deep nesting of functions, deep
parentheses, a long staged program) the size doubles from row to row; the
`x2 ratio` column is the time ratio between consecutive rows, so linear growth
shows as ratios near 2 (quadratic growth would show 4), and the summary line
per shape divides the time growth over the whole range by the size growth
(1.0 is linear; quadratic would give 8). Times are the best of a
few runs with the garbage collector paused, as `timeit` does, because the
machine is shared and noisy. The last column says whether Python's own parser
accepts the same text, for comparison: flatgrad's input parser is iterative
and its output is flat, one line per stage.

Run from the repository root:  python benchmarks/scale.py [--quick]
"""
from __future__ import annotations

import ast
import gc
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flatgrad  # noqa: E402

SHAPES = {
    "sum of n terms": (lambda n: " + ".join(f"x{i % 50}*{i + 1}" for i in range(n)), 625),
    "product of n factors": (lambda n: "*".join(f"sin(x + {i})" for i in range(n)), 125),
    "sin nested n deep": (lambda n: "sin(" * n + "x" + ")" * n, 500),
    "n nested parentheses": (lambda n: "(" * n + "x*y" + ")" * n + " + " + "(" * n + "y"
                             + ")" * n, 2000),
    "program of n statements": (lambda n: "\n".join(
        ["s0 = x"] + [f"s{i} = s{i - 1}*y + {i}" for i in range(1, n)] + [f"s{n - 1}"]), 625),
}
DOUBLINGS = 4
REPEATS = 5


def best_time(text: str) -> tuple[float, flatgrad.Compiled]:
    best, compiled = math.inf, None
    for _ in range(REPEATS):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            compiled = flatgrad.compile(text)
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best, compiled


def python_parses(text: str) -> str:
    try:
        ast.parse(text.replace("\n", ";"), mode="exec")
    except (SyntaxError, RecursionError, MemoryError) as err:
        return f"no ({type(err).__name__})"
    return "yes"


def main() -> None:
    doublings = 2 if "--quick" in sys.argv else DOUBLINGS
    print(f"{'shape':<24} {'n':>6} {'seconds':>8} {'us per n':>9} {'x2 ratio':>8}  "
          f"{'lines':>6}  python parses it")
    growths = {}
    for label, (make, start) in SHAPES.items():
        previous = first = None
        for step in range(doublings):
            n = start * 2 ** step
            text = make(n)
            seconds, compiled = best_time(text)
            compiled(*[0.5] * len(compiled.inputs))
            compiled.value_and_grad(*[0.5] * len(compiled.inputs))
            ratio = seconds / previous if previous else math.nan
            first = first or seconds
            previous = seconds
            parses = python_parses(text) if step == doublings - 1 else ""
            print(f"{label:<24} {n:>6} {seconds:>8.3f} {seconds / n * 1e6:>9.1f} "
                  f"{'' if math.isnan(ratio) else f'{ratio:.2f}':>8}  "
                  f"{compiled.source.count(chr(10)):>6}  {parses}")
        growths[label] = previous / first / 2 ** (doublings - 1)
    print("\ntime growth / size growth over each range (1.0 is linear):")
    for label, growth in growths.items():
        print(f"  {label:<24} {growth:.2f}")


if __name__ == "__main__":
    main()
