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

Profile of the family at N = 10,000 (cProfile, and CPU times of each step, with
the cyclic collector paused as flatgrad.compile pauses it). A first round of
work took the layout's long-line wrapping from the largest item to a small one:
it lays out each shape of line once, with the names replaced by placeholders of
the same length, and fills the names back in (tests/test_wrap_memo.py). A second
round, each step checked byte for byte against the output before it:

- staging: a shape rule's operand labels (a name pattern filled per operand)
  were built for every gate though only an error message reads them: now the
  rule runs without them and again with them only when it fails; tokens,
  postfix items and shape operands are named tuples (a frozen dataclass costs
  about 0.45 µs to make, 185,000 tokens at this N); one-character symbols skip
  the 50-way symbol pattern;
- plan: a gate template is turned once into a format string and filled with one
  `str.format` call (97,000 fills); each node's operand texts are made once,
  not once per template; the backprop header reuses the forward line's code;
- emit: the line map and the printed lines keep two flat lists rather than a
  tuple per line, which also spares the collector full passes over them.

Steps at N = 10,000, CPU s, before → now (fast profile): parse and stage
1.49 → 0.90, plan 0.92 → 0.47, emit 1.53 → 0.88, Python's own compile of the
248,000-line module 2.25 → 1.74 (lean: 126,000 lines, 1.37 s; its folding pass
costs 0.65 s), total 6.19 → 4.00.

Per call, the time a term does not grow with N on a quiet machine (0.96× from
N = 1,000 to 10,000, fast profile; 0.99× lean). An empty call of a function
with 15,000 locals costs 67 µs in CPython 3.11 (a frame beyond its 16 KB stack
chunk gets a fresh mapped chunk each call), with 105,000 locals 417 µs: real,
but under 0.05 µs a term. The lean profile (core/lean.py) cuts the work itself:
at N = 1,000, 14,889 locals and 86,000 bytecode instructions a call become
5,956 and 60,000 (SymPy's cse + lambdify: 5,344 and 50,000, a third of the
difference being the sigmoid's overflow guard, which flatgrad keeps).
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
