"""What the stage-naming try/except costs on the happy path: nothing measurable.

The generated functions wrap their lines in one try/except so that a domain
error names its stage. CPython 3.11+ makes a try block free until something
raises; this script times each module's f_and_grad against the same module
with the try/except taken out, side by side in one run (best of several
repeats, as `timeit` recommends on a noisy machine).

Run from the repository root:  python benchmarks/guard_cost.py
"""
from __future__ import annotations

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flatgrad  # noqa: E402

FORMULAS = {
    "notes example": ("(x+σ(y))/(σ(x)+(x+y)²)", (3.0, -4.0)),
    "log-likelihood": ("y*log(σ(w*x + b)) + (1 - y)*log(1 - σ(w*x + b))",
                       (1.0, 0.5, 2.0, -0.3)),
    "trigonometry": ("sin(x)*cos(y)/sqrt(x*x + y*y)", (0.3, 1.2)),
}
NUMBER, REPEAT = 100_000, 7


def without_guard(source: str) -> str:
    """The module as it would read without the try/except: body dedented."""
    out, inside = [], False
    for line in source.splitlines():
        if line == "    try:":
            inside = True
            continue
        if line.startswith("    except (ArithmeticError, ValueError)"):
            continue
        if inside and line.startswith("        raise "):
            inside = False
            continue
        if inside and line.startswith("        "):
            line = line[4:]
        out.append(line)
    return "\n".join(out) + "\n"


def best_pair(first, second, args) -> tuple[float, float]:
    """Best time per call of each, the two timed in turn so drift hits both alike."""
    times = ([], [])
    for _ in range(REPEAT):
        for function, bucket in zip((first, second), times):
            bucket.append(timeit.timeit(lambda: function(*args), number=NUMBER))
    return min(times[0]) / NUMBER, min(times[1]) / NUMBER


def main() -> None:
    print(f"{'formula':<16} {'guarded ns':>11} {'unguarded ns':>13} {'ratio':>6}")
    for label, (text, args) in FORMULAS.items():
        source = flatgrad.compile(text).source
        guarded, plain = {}, {}
        exec(compile(source, "<guarded>", "exec"), guarded)  # flatgrad's own output
        exec(compile(without_guard(source), "<plain>", "exec"), plain)
        assert guarded["f_and_grad"](*args) == plain["f_and_grad"](*args)
        g, p = best_pair(guarded["f_and_grad"], plain["f_and_grad"], args)
        print(f"{label:<16} {g * 1e9:>11.0f} {p * 1e9:>13.0f} {g / p:>6.2f}")


if __name__ == "__main__":
    main()
