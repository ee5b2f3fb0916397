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

The N-term family of benchmarks/perf.py, Σ σ(aᵢx + bᵢy)·(x − cᵢ)², has a part of
its own (`--family`): for N = 10 … 10,000, the CPU time from formula text to a
gradient callable and the time of one call of the generated f_and_grad, per term
(flat when a call stays linear in N), with the log-log slope of compile time over
N. Each compile runs in a fresh process (warmed up on a small formula first), so
no cache carries over from one size to the next. `--against DIR` times the
flatgrad of another checkout too, the two taking turns process by process, for
before/after ratios from one run; `--sympy` adds, at N = 1,000, SymPy's
cse + lambdify call timed side by side with flatgrad's in one process (SymPy
takes about half a minute to build it).

Run from the repository root:  python benchmarks/scale.py [--quick]
                               python benchmarks/scale.py --family [--against DIR] [--sympy]
                                                          [--profile lean]

Profile of the family at N = 10,000 (cProfile, and CPU times of each step):
before the changes below, flatgrad's own steps took about two thirds of the
time and Python's `compile` of the 190,000-line module one third. The largest
single item was wrapping long lines (emit/wrap.py: a tokenizer pass, a layout
search and two `ast.parse` + `ast.dump` round trips per wrapped line, for
9,873 lines that differ only in their names); it now lays out each shape of
line once, with the names replaced by placeholders of the same length, and
fills the names back in (the same text, checked by tests/test_wrap_memo.py).
Next came filling gate templates (a regex substitution per stage, now split
once per template), renaming module globals in them (now once per template),
and printing the whole formula twice for the header and the docstrings (now
once). What remains is spread thin: the tokenizer (~0.5 s), staging and
naming (~1 s), the plan (~1 s), the layout (~1 s), and Python's own compile
(~2.1 s of CPU at N = 10,000, about 9 µs a line), which no change to
flatgrad's side can remove.

Per call, the generated function's time per term grows with N for two
reasons, both from CPython 3.11's handling of one huge frame: (1) a frame of
more than about 2,000 locals does not fit the interpreter's 16 KB stack chunk,
so every call maps a fresh chunk and page-faults it in (measured: an empty call
of a function with 15,000 locals costs 67 µs, with 105,000 locals 417 µs;
N = 1,000 has 14,889 locals, N = 10,000 104,957); (2) every stage's float stays
alive until the function returns, so the working set (bytecode ~340 bytes, a
frame slot and a float per stage, ~660 bytes a term) leaves the 1 MB L2 cache
beyond N ≈ 1,000 (a synthetic chain of 10,000 float stages costs 13–38 ns a
stage with fresh names, 7 ns reusing one name).

Figures, 2026-12-02, a busy 2-core machine, `--family --against` the version
before the layout memo (best of 3 fresh processes each, taking turns):

         N   CPU s before   CPU s now   before / now   call µs a term (same code)
        10          0.007       0.007           0.98   0.28
       100          0.084       0.066           1.28   0.35
      1000          0.866       0.679           1.28   0.44
      3000          2.594       1.967           1.32   0.45
     10000          8.473       6.772           1.25   0.57 (0.83 in the other column)
    log-log slope of compile CPU time, N = 10 … 10,000: 1.02 before, 1.00 now
    one call at N = 1,000: flatgrad 491 µs, SymPy cse + lambdify 327 µs (1.50×)

Steps at N = 10,000, CPU s before → now: parse 0.58 → 0.46, stage 0.93 → 1.03,
plan 0.98 → 0.92, emit 3.74 → 1.53, Python's compile 2.37 → 2.25; total 8.60 → 6.19.
"""
from __future__ import annotations

import ast
import gc
import json
import math
import os
import statistics
import subprocess
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


FAMILY_SIZES = (10, 30, 100, 300, 1000, 3000, 10000)

# One size in a fresh process: `flatgrad` is whichever checkout PYTHONPATH names first.
CHILD = r"""
import gc, json, sys, time, timeit
import flatgrad   # before perf, which would put this checkout first on the path
sys.path.insert(0, sys.argv[2])
from perf import family
n, profile = int(sys.argv[1]), sys.argv[3]
flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)", profile=profile).value_and_grad(3.0, -4.0)
text = family(n)
gc.collect()
cpu, wall = time.process_time(), time.perf_counter()
g = flatgrad.compile(text, profile=profile)
g.value_and_grad(0.3, -0.2)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
space = {}
exec(compile(g.source, "<module>", "exec"), space)   # flatgrad's own output
call = space["f_and_grad"]
number = max(1, 40000 // n)
best = min(timeit.repeat(lambda: call(0.3, -0.2), number=number, repeat=9)) / number
print(json.dumps({"cpu": cpu, "wall": wall, "call": best, "package": flatgrad.__file__}))
"""


def family_row(n: int, checkout: Path, profile: str = "fast") -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(n), str(Path(__file__).parent),
                           profile],
                          capture_output=True, text=True, env=env, cwd=checkout, check=True)
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(row.pop("package")).resolve().is_relative_to(checkout), (row, checkout)
    return row


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of log(y) against log(x): 1 is linear, 2 quadratic."""
    logs = [(math.log(x), math.log(y)) for x, y in points]
    mx = statistics.mean(a for a, _ in logs)
    my = statistics.mean(b for _, b in logs)
    return sum((a - mx) * (b - my) for a, b in logs) / sum((a - mx) ** 2 for a, _ in logs)


def family_table(sizes, repeats: int, against: Path | None, profile: str = "fast") -> None:
    here = Path(__file__).resolve().parent.parent
    versions = {"this": here} | ({"other": against.resolve()} if against else {})
    print(f"Σ σ(aᵢx + bᵢy)·(x − cᵢ)², profile {profile}: best of", repeats,
          "fresh processes per size"
          + (f", this checkout and {against} taking turns" if against else ""))
    columns = "".join(f"  {v + ' CPU s':>13}  {v + ' µs/term':>15}" for v in versions)
    ratio = f"  {'CPU other/this':>14}  {'call other/this':>15}" if against else ""
    print(f"  {'N':>6}{columns}{ratio}", flush=True)
    best: dict = {v: {} for v in versions}
    for n in sizes:
        for _ in range(repeats):
            for version, checkout in versions.items():
                row = family_row(n, checkout, profile)
                kept = best[version].setdefault(n, row)
                for key in row:
                    kept[key] = min(kept[key], row[key])
        cells = "".join(f"  {best[v][n]['cpu']:>13.3f}  {best[v][n]['call'] / n * 1e6:>15.3f}"
                        for v in versions)
        if against:
            this, other = best["this"][n], best["other"][n]
            cells += f"  {other['cpu'] / this['cpu']:>14.2f}  {other['call'] / this['call']:>15.2f}"
        print(f"  {n:>6}{cells}", flush=True)
    for version in versions:
        rows = best[version]
        line = f"  {version}: log-log slope of compile CPU time over N = {sizes[0]:,} … " \
               f"{sizes[-1]:,}: {slope([(n, rows[n]['cpu']) for n in sizes]):.2f}"
        if 1000 in rows and 10000 in rows:
            growth = (rows[10000]["call"] / 10000) / (rows[1000]["call"] / 1000)
            line += f"; call time per term, N = 10,000 / N = 1,000: {growth:.2f}×"
        print(line)


SYMPY_SIDE_BY_SIDE = r"""
import statistics, sys, timeit
sys.path.insert(0, sys.argv[2])
from perf import family, family_sympy, sympy_gradient
import flatgrad
n = int(sys.argv[1])
g = flatgrad.compile(family(n))
space = {}
exec(compile(g.source, "<module>", "exec"), space)   # flatgrad's own output
lean = {}
exec(compile(flatgrad.compile(family(n), profile="lean").source, "<lean>", "exec"), lean)
candidates = {"fast": space["f_and_grad"], "lean": lean["f_and_grad"],
              "SymPy": sympy_gradient(family_sympy(n))}
b = candidates["SymPy"](0.3, -0.2)
for fn in candidates.values():
    a = fn(0.3, -0.2)
    assert abs(a[1][0] - b[1][0]) <= 1e-9 * abs(b[1][0]), (a, b)
times = {name: [] for name in candidates}
for _ in range(9):
    for name, fn in candidates.items():
        times[name].append(min(timeit.repeat(lambda: fn(0.3, -0.2), number=20, repeat=3)) / 20)
median = {name: statistics.median(t) for name, t in times.items()}
for name, t in median.items():
    print(f"  {name:<9} {t * 1e6:8.0f} µs  ({t / n * 1e9:.0f} ns a term)")
for name in ("fast", "lean"):
    print(f"  flatgrad {name} / SymPy: {median[name] / median['SymPy']:.2f}×")
"""


def sympy_side_by_side(n: int) -> None:
    print(f"\nOne call at N = {n:,}: the generated f_and_grad (fast and lean profiles) and "
          "SymPy cse + lambdify, taking turns in one process (median of 9)", flush=True)
    done = subprocess.run([sys.executable, "-c", SYMPY_SIDE_BY_SIDE, str(n),
                           str(Path(__file__).parent)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    print(done.stdout.rstrip() or f"  SymPy failed: {done.stderr.strip()[-300:]}")


def main() -> None:
    if "--family" in sys.argv:
        against = Path(sys.argv[sys.argv.index("--against") + 1]) \
            if "--against" in sys.argv else None
        sizes = FAMILY_SIZES[:5] if "--quick" in sys.argv else FAMILY_SIZES
        profile = sys.argv[sys.argv.index("--profile") + 1] if "--profile" in sys.argv \
            else "fast"
        family_table(sizes, 1 if "--quick" in sys.argv else 3, against, profile)
        if "--sympy" in sys.argv:
            sympy_side_by_side(1000)
        return
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
