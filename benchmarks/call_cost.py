"""What naming a failing stage costs on the happy path.

The generated module is the notes' listing and nothing else: no try/except,
no table. A `flatgrad.compile` callable names the stage of a domain error all
the same, from the line map flatgrad keeps beside the code, through one thin
wrapper with the function's own signature. This script times that callable's
value_and_grad against the module's own f_and_grad, side by side in one run
(best of several interleaved repeats, as `timeit` recommends on a noisy machine).

Run from the repository root:  python benchmarks/call_cost.py
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


def best_pair(first, second, args) -> tuple[float, float]:
    """Best time per call of each, the two timed in turn so drift hits both alike."""
    times = ([], [])
    for _ in range(REPEAT):
        for function, bucket in zip((first, second), times):
            bucket.append(timeit.timeit(lambda: function(*args), number=NUMBER))
    return min(times[0]) / NUMBER, min(times[1]) / NUMBER


def main() -> None:
    print(f"{'formula':<16} {'callable ns':>12} {'module ns':>10} {'ratio':>6}")
    for label, (text, args) in FORMULAS.items():
        compiled = flatgrad.compile(text)
        module: dict = {}
        exec(compile(compiled.source, "<module>", "exec"), module)  # flatgrad's own output
        assert compiled.value_and_grad(*args) == module["f_and_grad"](*args)
        c, m = best_pair(compiled.value_and_grad, module["f_and_grad"], args)
        print(f"{label:<16} {c * 1e9:>12.0f} {m * 1e9:>10.0f} {c / m:>6.2f}")


if __name__ == "__main__":
    main()
