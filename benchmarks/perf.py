"""flatgrad's speed, side by side with the hand-written code and its peers, in one run.

    python benchmarks/perf.py            # everything (a few minutes)
    python benchmarks/perf.py --quick    # fewer repeats, compile times up to N = 1,000

Three parts, each printed as a table of medians over interleaved repeats (the
candidates take turns, so a noisy neighbour slows them all alike), with ratios:

1. latency of one value-and-gradient call of f(x, y) = (x+σ(y))/(σ(x)+(x+y)²)
   at a scalar point: flatgrad's fast and teach profiles, the CS231n listing
   written by hand, its forward pass alone, and the installed peers;
2. throughput over 10⁶ points: flatgrad's numpy, numba and c targets, the
   listing written with numpy, and the installed peers;
3. time from formula text to a gradient callable for the N-term family
   Σ σ(aᵢx + bᵢy)·(x − cᵢ)², flatgrad against SymPy diff + cse + lambdify (each
   N of SymPy runs in a child process with a time limit); the CPU time beside
   flatgrad's wall time shows how much of it other processes took;
4. the same family at one big N (1,000): time from text to a callable (the C
   compile included, from an empty cache) and one call, flatgrad's python target
   (fast and lean profiles) and c target against SymEngine's Lambdify with its
   LLVM backend and SymPy's cse + lambdify (built once: half a minute), and JAX
   with --big-jax (minutes).

The peers (SymPy, SymEngine, JAX, PyTorch, tangent-ad, HIPS autograd, micrograd)
are not dependencies (`pip install 'flatgrad[bench]'` installs the ones on PyPI
that build everywhere): each one that is not installed is skipped with a note.
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import warnings
from pathlib import Path

# OpenMP threads (PyTorch's) spin after each call by default, taking the CPU from
# whichever candidate runs next; let them sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import flatgrad  # noqa: E402

REFERENCE = "(x+σ(y))/(σ(x)+(x+y)²)"
POINT = (3.0, -4.0)


# -- the CS231n listing, written by hand (slides: forward pass, then backprop) --

def handwritten(x, y):
    sigy = 1.0 / (1 + math.exp(-y))  # (1)
    num = x + sigy                   # (2)
    sigx = 1.0 / (1 + math.exp(-x))  # (3)
    xpy = x + y                      # (4)
    xpysqr = xpy**2                  # (5)
    den = sigx + xpysqr              # (6)
    invden = 1.0 / den               # (7)
    f = num * invden                 # (8)
    dnum = invden                        # (8)
    dinvden = num                        # (8)
    dden = (-1.0 / (den**2)) * dinvden   # (7)
    dsigx = (1) * dden                   # (6)
    dxpysqr = (1) * dden                 # (6)
    dxpy = (2 * xpy) * dxpysqr           # (5)
    dx = (1) * dxpy                      # (4)
    dy = (1) * dxpy                      # (4)
    dx += ((1 - sigx) * sigx) * dsigx    # (3)
    dx += (1) * dnum                     # (2)
    dsigy = (1) * dnum                   # (2)
    dy += ((1 - sigy) * sigy) * dsigy    # (1)
    return f, (dx, dy)


def handwritten_forward(x, y):
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    return f


def handwritten_numpy(x, y):
    sigy = 1.0 / (1 + np.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + np.exp(-x))
    xpy = x + y
    xpysqr = xpy**2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum = invden
    dinvden = num
    dden = (-1.0 / (den**2)) * dinvden
    dsigx = (1) * dden
    dxpysqr = (1) * dden
    dxpy = (2 * xpy) * dxpysqr
    dx = (1) * dxpy
    dy = (1) * dxpy
    dx += ((1 - sigx) * sigx) * dsigx
    dx += (1) * dnum
    dsigy = (1) * dnum
    dy += ((1 - sigy) * sigy) * dsigy
    return f, (dx, dy)


# -- peers: each returns a callable (x, y) -> (f, (dx, dy)), or raises ImportError --

def sympy_gradient(text_or_expr=None, module="math"):
    import sympy as sp
    x, y = sp.symbols("x y")
    if text_or_expr is None:
        sig = lambda z: 1 / (1 + sp.exp(-z))  # noqa: E731
        text_or_expr = (x + sig(y)) / (sig(x) + (x + y) ** 2)
    f = text_or_expr
    fn = sp.lambdify((x, y), [f, sp.diff(f, x), sp.diff(f, y)], modules=module, cse=True)
    return lambda a, b: (lambda r: (r[0], (r[1], r[2])))(fn(a, b))


def jax_gradient(arrays=False):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def f(x, y):
        return (x + jax.nn.sigmoid(y)) / (jax.nn.sigmoid(x) + (x + y) ** 2)
    vg = jax.value_and_grad(f, argnums=(0, 1))
    if arrays:
        vg = jax.vmap(vg)
    jitted = jax.jit(vg)

    def call(a, b):
        value, grads = jitted(a, b)
        value.block_until_ready()
        return value, grads
    if arrays:
        return lambda a, b: call(jnp.asarray(a), jnp.asarray(b))
    return call


def torch_gradient(arrays=False):
    import torch
    torch.set_num_threads(1)  # as numpy and flatgrad's targets: one core

    def call(a, b):
        x = torch.as_tensor(a, dtype=torch.float64).requires_grad_()
        y = torch.as_tensor(b, dtype=torch.float64).requires_grad_()
        f = (x + torch.sigmoid(y)) / (torch.sigmoid(x) + (x + y) ** 2)
        f.sum().backward() if arrays else f.backward()
        return f.detach(), (x.grad, y.grad)
    return call


def autograd_gradient(arrays=False):
    import autograd
    import autograd.numpy as anp

    def f(x, y):
        return (x + 1 / (1 + anp.exp(-y))) / (1 / (1 + anp.exp(-x)) + (x + y) ** 2)
    if arrays:
        vg = autograd.value_and_grad(lambda xy: anp.sum(f(*xy)))
        return lambda a, b: (f(a, b), vg((a, b))[1])
    vg = autograd.value_and_grad(lambda xy: f(*xy))
    return lambda a, b: vg((a, b))


def symengine_gradient(arrays=False):
    import symengine as se
    x, y = se.symbols("x y")

    def sig(z):
        return 1 / (1 + se.exp(-z))
    f = (x + sig(y)) / (sig(x) + (x + y) ** 2)
    fn = se.Lambdify([x, y], [f, f.diff(x), f.diff(y)], backend="llvm", cse=True)
    if not arrays:
        return lambda a, b: (lambda r: (r[0], (r[1], r[2])))(fn(a, b))
    stacked: dict = {}

    def call(a, b):
        # SymEngine takes the points as rows of one array: stacked once, outside the timing
        key = (id(a), id(b))
        if key not in stacked:
            stacked.clear()
            stacked[key] = np.column_stack([a, b])
        r = fn(stacked[key])
        return r[:, 0], (r[:, 1], r[:, 2])
    return call


def _tangent_f(x, y):
    sigy = 1.0 / (1.0 + np.exp(-y))
    sigx = 1.0 / (1.0 + np.exp(-x))
    return (x + sigy) / (sigx + (x + y) ** 2)


def _tangent_sum(x, y):
    sigy = 1.0 / (1.0 + np.exp(-y))
    sigx = 1.0 / (1.0 + np.exp(-x))
    return np.sum((x + sigy) / (sigx + (x + y) ** 2))


def tangent_gradient(arrays=False):
    import tangent   # tangent-ad, the maintained fork of Google's Tangent
    if arrays:
        grad = tangent.grad(_tangent_sum, wrt=(0, 1))
        return lambda a, b: (_tangent_f(a, b), grad(a, b))
    grad = tangent.grad(_tangent_f, wrt=(0, 1), preserve_result=True)
    return lambda a, b: (lambda r: (r[2], (r[0], r[1])))(grad(a, b))


def flatgrad_c(text: str):
    """flatgrad's c target, built (the C compiler run) before it is timed; raises
    ImportError where no C compiler is installed, so it is skipped like a peer."""
    compiled = flatgrad.compile(text, target="c")
    try:
        compiled.value_and_grad(*POINT)
    except flatgrad.FlatgradError as err:
        raise ImportError(str(err), name="a C compiler") from None
    return compiled.value_and_grad


def micrograd_gradient():
    from micrograd.engine import Value

    def exp(v):
        # micrograd's release has no exp; this is the op its lecture adds
        out = Value(math.exp(v.data), (v,), "exp")

        def backward():
            v.grad += out.data * out.grad
        out._backward = backward
        return out

    def sigmoid(v):
        return (1 + exp(-v)) ** -1

    def call(a, b):
        x, y = Value(a), Value(b)
        f = (x + sigmoid(y)) / (sigmoid(x) + (x + y) ** 2)
        f.backward()
        return f.data, (x.grad, y.grad)
    return call


# -- timing ----------------------------------------------------------------------------

def interleaved(candidates: dict, args, rounds: int, min_time: float = 0.02) -> dict:
    """Median seconds per call of each candidate, taking turns round by round."""
    numbers = {}
    for name, fn in candidates.items():
        fn(*args)  # warm up (and JIT)
        number, elapsed = 1, 0.0
        while elapsed < min_time:
            number *= 2
            elapsed = timeit.Timer(lambda: fn(*args)).timeit(number)
        numbers[name] = number
    samples = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            timer = timeit.Timer("fn(a, b)", globals={"fn": fn, "a": args[0], "b": args[1]})
            samples[name].append(timer.timeit(numbers[name]) / numbers[name])
    return {name: statistics.median(s) for name, s in samples.items()}


def show(title: str, medians: dict, unit: str, scale: float, against: list[str]):
    print(f"\n{title}")
    width = max(len(n) for n in medians)
    header = f"  {'':{width}}  {unit:>10}" + "".join(f"  {'× ' + a:>18}" for a in against)
    print(header)
    for name, t in medians.items():
        ratios = "".join(f"  {t / medians[a]:>18.2f}" for a in against)
        print(f"  {name:{width}}  {t * scale:>10.2f}{ratios}")


def peers(factories: dict, skipped: list) -> dict:
    found = {}
    for name, factory in factories.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found[name] = factory()
        except ImportError as err:
            skipped.append(f"{name}: not installed ({err.name or err})")
    return found


def check(results: list, ok: bool, text: str):
    results.append(("PASS" if ok else "FAIL", text))


# -- 1. scalar latency -----------------------------------------------------------------

def scalar_latency(rounds: int, results: list, skipped: list):
    fast = flatgrad.compile(REFERENCE)
    teach = flatgrad.compile(REFERENCE, profile="teach")
    written: dict = {}
    exec(compile(fast.source, "<module>", "exec"), written)  # flatgrad's own output
    candidates = {
        "flatgrad fast": fast.value_and_grad,
        "flatgrad fast, written module": written["f_and_grad"],
        "flatgrad teach": teach.value_and_grad,
        "hand-written CS231n": handwritten,
        "forward pass alone (hand-written)": handwritten_forward,
        "forward pass alone (flatgrad fast f)": fast.function,
    }
    candidates.update(peers({
        "flatgrad c (ctypes call)": lambda: flatgrad_c(REFERENCE),
        "SymPy diff+cse+lambdify": sympy_gradient,
        "SymEngine Lambdify (LLVM)": symengine_gradient,
        "tangent-ad": tangent_gradient,
        "JAX jit(value_and_grad)": jax_gradient,
        "PyTorch autograd": torch_gradient,
        "HIPS autograd": autograd_gradient,
        "micrograd": micrograd_gradient,
    }, skipped))
    expected = handwritten(*POINT)
    for name, fn in candidates.items():
        if "forward" not in name:
            value, (dx, dy) = fn(*POINT)
            assert math.isclose(float(dx), expected[1][0], rel_tol=1e-9), name
    medians = interleaved(candidates, POINT, rounds)
    show(f"1. One value-and-gradient call at (x, y) = {POINT}, median of {rounds} rounds",
         medians, "µs", 1e6, ["hand-written CS231n", "forward pass alone (hand-written)"])
    hand = medians["hand-written CS231n"]
    forward = medians["forward pass alone (hand-written)"]
    check(results, medians["flatgrad fast"] <= 1.0 * hand,
          f"fast profile ≤ 1.0× hand-written: {medians['flatgrad fast'] / hand:.2f}×")
    module = medians["flatgrad fast, written module"]
    check(results, module <= 1.0 * hand,
          f"written module ≤ 1.0× hand-written: {module / hand:.2f}×")
    check(results, medians["flatgrad fast"] <= 2.0 * forward,
          f"fast profile ≤ 2.0× forward pass alone: {medians['flatgrad fast'] / forward:.2f}×")


# -- 2. throughput over 10⁶ points -----------------------------------------------------

def throughput(points: int, rounds: int, results: list, skipped: list):
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(0, 3, points), rng.normal(0, 3, points)
    candidates = {
        "flatgrad numpy": flatgrad.compile(REFERENCE, target="numpy").value_and_grad,
        "hand-written numpy": handwritten_numpy,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fused = flatgrad.compile(REFERENCE, target="numba")
    if fused.target == "numba":
        candidates["flatgrad numba"] = fused.value_and_grad
    else:
        skipped.append(f"flatgrad numba: {caught[0].message if caught else 'not available'}")
    candidates.update(peers({
        "flatgrad c": lambda: flatgrad_c(REFERENCE),
        "SymPy lambdify (numpy, cse)": lambda: sympy_gradient(module="numpy"),
        "SymEngine Lambdify (LLVM)": lambda: symengine_gradient(arrays=True),
        "tangent-ad": lambda: tangent_gradient(arrays=True),
        "JAX jit(vmap(value_and_grad))": lambda: jax_gradient(arrays=True),
        "PyTorch autograd (1 thread)": lambda: torch_gradient(arrays=True),
        "HIPS autograd": lambda: autograd_gradient(arrays=True),
    }, skipped))
    expected = handwritten_numpy(xs, ys)
    for name, fn in candidates.items():
        got = fn(xs, ys)
        assert np.allclose(np.asarray(got[1][0]), expected[1][0], rtol=1e-9, atol=1e-12), name
    medians = interleaved(candidates, (xs, ys), rounds, min_time=0.0)
    show(f"2. Value and gradient over {points:,} points, median of {rounds} rounds",
         medians, "ms", 1e3, ["hand-written numpy"])
    hand = medians["hand-written numpy"]
    if "flatgrad numba" in medians:
        t = medians["flatgrad numba"]
        check(results, t <= 0.4 * hand, f"fused numba ≤ 0.4× hand-written numpy: {t / hand:.2f}×")
        jax_name = "JAX jit(vmap(value_and_grad))"
        if jax_name in medians:
            check(results, t < medians[jax_name],
                  f"fused numba faster than JAX jit: {t / medians[jax_name]:.2f}× JAX's time")
    if "flatgrad c" in medians:
        t = medians["flatgrad c"]
        check(results, t <= 0.4 * hand, f"c target ≤ 0.4× hand-written numpy: {t / hand:.2f}×")
        for peer in ("SymEngine Lambdify (LLVM)", "JAX jit(vmap(value_and_grad))"):
            if peer in medians:
                check(results, t < medians[peer],
                      f"c target faster than {peer}: {t / medians[peer]:.2f}× its time")


# -- 3. compile time against N ---------------------------------------------------------

def family_terms(n: int, seed: int = 0) -> list[tuple[float, float, float]]:
    """(aᵢ, bᵢ, cᵢ) for Σ σ(aᵢx + bᵢy)·(x − cᵢ)², fixed pseudo-random, signed."""
    rng = random.Random(seed)
    return [tuple(round(rng.choice((-1, 1)) * rng.uniform(0.1, 2.0), 3) for _ in range(3))
            for _ in range(n)]


def family(n: int) -> str:
    def signed(v):
        return f"+ {v}" if v >= 0 else f"- {-v}"
    return " + ".join(f"σ({a}*x {signed(b)}*y)*(x {signed(-c)})²" for a, b, c in family_terms(n))


def family_sympy(n: int):
    import sympy as sp
    x, y = sp.symbols("x y")
    terms = [(x - c) ** 2 / (1 + sp.exp(-(a * x + b * y))) for a, b, c in family_terms(n)]
    return sp.Add(*terms)


SYMPY_CHILD = """
import sys, time
sys.path.insert(0, sys.argv[2])
from perf import family_sympy, sympy_gradient
start = time.perf_counter()
fn = sympy_gradient(family_sympy(int(sys.argv[1])))
fn(0.3, -0.2)
print(time.perf_counter() - start)
"""


def compile_times(sizes: list[int], repeats: int, sympy_timeout: float, results: list,
                  skipped: list):
    rows = []
    sympy_alive = True
    try:
        import sympy  # noqa: F401
    except ImportError:
        sympy_alive = False
        skipped.append("SymPy compile times: not installed")
    print(f"\n3. Formula text to gradient callable, Σ σ(aᵢx + bᵢy)·(x − cᵢ)², "
          f"median of {repeats} (SymPy from its expression: once, limit {sympy_timeout:.0f} s)")
    print(f"  {'N':>6}  {'flatgrad s':>10}  {'(CPU s)':>8}  {'µs per term':>11}  {'lean s':>8}  "
          f"{'(CPU s)':>8}  {'SymPy s':>10}  {'SymPy / flatgrad':>16}", flush=True)
    lean_by_n = {}
    for n in sizes:
        text = family(n)
        times: dict = {"fast": [], "lean": []}
        cpu_times: dict = {"fast": [], "lean": []}
        for _ in range(repeats):
            for profile in times:   # taking turns
                gc.collect()
                start, cpu_start = time.perf_counter(), time.process_time()
                g = flatgrad.compile(text, profile=profile)
                g.value_and_grad(0.3, -0.2)
                times[profile].append(time.perf_counter() - start)
                cpu_times[profile].append(time.process_time() - cpu_start)
        ours, cpu = statistics.median(times["fast"]), statistics.median(cpu_times["fast"])
        lean, lean_cpu = statistics.median(times["lean"]), statistics.median(cpu_times["lean"])
        lean_by_n[n] = lean
        theirs = None
        if sympy_alive:
            try:
                done = subprocess.run(
                    [sys.executable, "-c", SYMPY_CHILD, str(n), str(Path(__file__).parent)],
                    capture_output=True, text=True, timeout=sympy_timeout)
                if done.returncode != 0:
                    skipped.append(f"SymPy at N = {n}: failed ({done.stderr.strip()[-200:]})")
                    sympy_alive = False
                else:
                    theirs = float(done.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                sympy_alive = False
                theirs = math.inf
        rows.append((n, ours, theirs))
        sympy_text = "" if theirs is None else (f"> {sympy_timeout:.0f}" if theirs == math.inf
                                                else f"{theirs:.2f}")
        ratio = "" if theirs in (None, math.inf) else f"{theirs / ours:.0f}×"
        print(f"  {n:>6}  {ours:>10.3f}  {cpu:>8.3f}  {ours / n * 1e6:>11.0f}  {lean:>8.3f}  "
              f"{lean_cpu:>8.3f}  {sympy_text:>10}  {ratio:>16}", flush=True)
    by_n = {n: ours for n, ours, _ in rows}
    big = [n for n in by_n if n >= 100]
    if len(big) >= 2:
        # the slope of log(time) against log(N): 1 is linear, 2 quadratic
        logs = [(math.log(n), math.log(by_n[n])) for n in big]
        mx = statistics.mean(a for a, _ in logs)
        my = statistics.mean(b for _, b in logs)
        slope = sum((a - mx) * (b - my) for a, b in logs) / sum((a - mx) ** 2 for a, _ in logs)
        check(results, slope < 1.15, f"compile time grows linearly in N: log-log slope "
                                     f"{slope:.2f} over N = {big[0]:,} … {big[-1]:,}")
    if 1000 in by_n:
        check(results, by_n[1000] < 1.0, f"N = 1,000 compiles in under 1 s: {by_n[1000]:.3f} s")
    if 10000 in by_n:
        check(results, by_n[10000] < 2.0,
              f"N = 10,000 compiles in under 2 s: {by_n[10000]:.3f} s (lean profile "
              f"{lean_by_n[10000]:.3f} s)")


# -- 4. one big formula: text to callable, and one call -------------------------------

def family_symengine(n: int):
    import symengine as se
    x, y = se.symbols("x y")
    terms = [(x - c) ** 2 / (1 + se.exp(-(a * x + b * y))) for a, b, c in family_terms(n)]
    f = se.Add(*terms)
    fn = se.Lambdify([x, y], [f, f.diff(x), f.diff(y)], backend="llvm", cse=True)
    return lambda a, b: (lambda r: (r[0], (r[1], r[2])))(fn(a, b))


def family_jax(n: int):
    import jax
    jax.config.update("jax_enable_x64", True)
    terms = family_terms(n)

    def f(x, y):
        return sum(jax.nn.sigmoid(a * x + b * y) * (x - c) ** 2 for a, b, c in terms)
    return jax.jit(jax.value_and_grad(f, argnums=(0, 1)))


def family_c(text: str):
    """The c target from an empty cache: the C compiler's time is counted."""
    before = os.environ.get("FLATGRAD_CACHE")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["FLATGRAD_CACHE"] = cache
        try:
            return flatgrad_c(text)
        finally:
            if before is None:
                del os.environ["FLATGRAD_CACHE"]
            else:
                os.environ["FLATGRAD_CACHE"] = before


def big_formula(n: int, rounds: int, repeats: int, results: list, skipped: list,
                with_jax: bool):
    text = family(n)
    skipped_names: set = set()
    builders = {
        "flatgrad python": lambda: flatgrad.compile(text).value_and_grad,
        "flatgrad python lean": lambda: flatgrad.compile(text, profile="lean").value_and_grad,
        "flatgrad c": lambda: family_c(text),
        "SymEngine Lambdify (LLVM)": lambda: family_symengine(n),
    }
    if with_jax:
        builders["JAX jit(value_and_grad)"] = lambda: family_jax(n)   # retraced each time
    else:
        skipped.append("JAX at the big N: its compile takes minutes (run with --big-jax)")
    point = (0.3, -0.2)
    built, seconds, cpu = {}, {}, {}
    # each built `repeats` times, taking turns, the fastest counted: the builds cannot
    # be interleaved within one, and a neighbour's load would favour whichever ran later
    for _ in range(repeats):
        for name, builder in builders.items():
            if name in skipped_names:
                continue
            gc.collect()
            start, cpu_start = time.perf_counter(), _cpu_seconds()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fn = builder()
                    fn(*point)
            except ImportError as err:
                skipped.append(f"{name}: not installed ({err.name or err})")
                skipped_names.add(name)
                continue
            elapsed, used = time.perf_counter() - start, _cpu_seconds() - cpu_start
            seconds[name] = min(seconds.get(name, math.inf), elapsed)
            cpu[name] = min(cpu.get(name, math.inf), used)
            built[name] = fn
    try:   # built once: SymPy takes about half a minute at N = 1,000 (part 3 times it)
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        built["SymPy diff+cse+lambdify"] = sympy_gradient(family_sympy(n))
        seconds["SymPy diff+cse+lambdify"] = time.perf_counter() - start
        cpu["SymPy diff+cse+lambdify"] = _cpu_seconds() - cpu_start
    except ImportError:
        skipped.append("SymPy at the big N: not installed")
    expected = built["flatgrad python"](*point)
    for name, fn in built.items():
        value, grads = fn(*point)
        assert math.isclose(float(grads[0]), expected[1][0], rel_tol=1e-9), name
    medians = interleaved(built, point, rounds)
    print(f"\n4. Big formula Σ σ(aᵢx + bᵢy)·(x − cᵢ)², N = {n:,}: text to callable (best of "
          f"{repeats}, taking turns) and one value-and-gradient call (median of {rounds} rounds)")
    width = max(len(name) for name in built)
    peer = "SymEngine Lambdify (LLVM)"
    print(f"  {'':{width}}  {'to callable s':>13}  {'(CPU s)':>8}  {'call µs':>9}" +
          (f"  {'call × SymEngine':>16}" if peer in medians else ""))
    for name in built:
        ratio = f"  {medians[name] / medians[peer]:>16.2f}" if peer in medians else ""
        print(f"  {name:{width}}  {seconds[name]:>13.2f}  {cpu[name]:>8.2f}  "
              f"{medians[name] * 1e6:>9.1f}{ratio}")
    sympy = "SymPy diff+cse+lambdify"
    if sympy in medians:
        lean = medians["flatgrad python lean"]
        check(results, lean <= medians[sympy],
              f"N = {n:,}: plain Python (lean profile) call ≤ SymPy cse + lambdify's: "
              f"{lean * 1e6:.0f} µs against {medians[sympy] * 1e6:.0f} µs "
              f"(fast profile {medians['flatgrad python'] * 1e6:.0f} µs)")
    if "flatgrad c" in medians and peer in medians:
        c, theirs = medians["flatgrad c"], medians[peer]
        check(results, c <= theirs, f"N = {n:,}: c target's call ≤ SymEngine LLVM's: "
                                    f"{c * 1e6:.1f} µs against {theirs * 1e6:.1f} µs")
        c, theirs = seconds["flatgrad c"], seconds[peer]
        check(results, c <= theirs, f"N = {n:,}: c target's text to callable ≤ SymEngine "
                                    f"LLVM's: {c:.2f} s against {theirs:.2f} s (CPU "
                                    f"{cpu['flatgrad c']:.2f} s against {cpu[peer]:.2f} s)")


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the C compiler)."""
    import resource
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for name in ("numba", "sympy", "symengine", "jax", "torch", "tangent", "autograd"):
        try:
            versions.append(f"{name} {__import__(name).__version__}")
        except (ImportError, AttributeError):
            pass
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs "
            f"({cpu}); {platform.system()} {platform.machine()}; " + ", ".join(versions))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds; N up to 1,000")
    parser.add_argument("--parts", default="1234", help="which parts to run, e.g. 13")
    parser.add_argument("--big-n", type=int, default=1000, help="N of part 4")
    parser.add_argument("--big-jax", action="store_true", help="JAX in part 4 (minutes)")
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--max-n", type=int, default=None, help="largest N for part 3")
    parser.add_argument("--sympy-timeout", type=float, default=120.0,
                        help="seconds SymPy may take for one N before larger N are skipped")
    args = parser.parse_args(argv)
    sizes = [10, 30, 100, 300, 1000, 3000, 10000]
    max_n = args.max_n or (1000 if args.quick else 10000)
    results: list = []
    skipped: list = []
    print("flatgrad", flatgrad.__version__, "benchmarks:", machine())
    if "1" in args.parts:
        scalar_latency(7 if args.quick else 25, results, skipped)
    if "2" in args.parts:
        throughput(args.points, 5 if args.quick else 15, results, skipped)
    if "3" in args.parts:
        compile_times([n for n in sizes if n <= max_n], 1 if args.quick else 3,
                      args.sympy_timeout, results, skipped)
    if "4" in args.parts:
        big_formula(args.big_n, 7 if args.quick else 25, 1 if args.quick else 3, results,
                    skipped, args.big_jax)
    if skipped:
        print("\nSkipped:")
        for line in dict.fromkeys(skipped):
            print(f"  {line}")
    print("\nTargets:")
    for verdict, text in results:
        print(f"  {verdict}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
