"""What a Hessian-vector product costs against the gradient, side by side in one run.

`--mode hvp` is forward mode over the reverse pass: the gradient's own lines, each
followed by its tangent, with every line the tangents never read left out. Its
cost should be a small constant times the gradient's. This script times the
generated module's f_hvp against its f_and_grad, the two timed in turn (best of
several interleaved repeats, as `timeit` recommends on a noisy machine), and
prints the ratio per formula.

Run from the repository root:  python benchmarks/hvp_cost.py
"""
from __future__ import annotations

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flatgrad  # noqa: E402
from flatgrad import modes  # noqa: E402

FORMULAS = {
    "notes example": ("(x+σ(y))/(σ(x)+(x+y)²)", (3.0, -4.0)),
    "neuron": ("σ(w0*x0 + w1*x1 + w2)", (2.0, -1.0, -3.0, -2.0, -3.0)),
    "log-likelihood": ("y*log(σ(w*x + b)) + (1 - y)*log(1 - σ(w*x + b))",
                       (1.0, 0.5, 2.0, -0.3)),
    "trigonometry": ("sin(x)*cos(y)/sqrt(x*x + y*y)", (0.3, 1.2)),
}
NUMBER, REPEAT = 50_000, 7
LIMIT = 4.0


def module(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<module>", "exec"), namespace)  # flatgrad's own output
    return namespace


def best_pair(first, second, first_args, second_args) -> tuple[float, float]:
    """Best time per call of each, the two timed in turn so drift hits both alike."""
    times = ([], [])
    for _ in range(REPEAT):
        for function, args, bucket in zip((first, second), (first_args, second_args), times):
            bucket.append(timeit.timeit(lambda: function(*args), number=NUMBER))
    return min(times[0]) / NUMBER, min(times[1]) / NUMBER


def main() -> int:
    print(f"{'formula':<16} {'gradient ns':>12} {'hvp ns':>8} {'ratio':>6}")
    worst = 0.0
    for label, (text, args) in FORMULAS.items():
        compiled = flatgrad.compile(text)
        gradient = module(compiled.source)["f_and_grad"]
        hvp = module(modes.source(compiled, "hvp"))["f_hvp"]
        direction = tuple(0.5 + 0.25 * i for i in range(len(args)))
        g, h = best_pair(gradient, hvp, args, args + direction)
        worst = max(worst, h / g)
        print(f"{label:<16} {g * 1e9:>12.0f} {h * 1e9:>8.0f} {h / g:>6.2f}")
    print(f"largest ratio {worst:.2f} (at most {LIMIT:g} expected)")
    return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
