"""The generated two-layer-net gradient against the same gradient written by hand,
JAX's jit(value_and_grad) and PyTorch's autograd.

Batch 256, 784 -> 512 -> 10, softmax loss with L2 regularisation, gradients for
W1, b1, W2 and b2. All run in one process on the same arrays, interleaved (the
order rotating each repeat), and the script reports the median time of each and
the median of the per-repeat ratios to the hand-written code. A profile then
times the five matrix products alone, in numpy and in JAX: what part of the
difference to JAX is the matrix library (OpenBLAS against XLA's Eigen) rather
than the code around the products. JAX and PyTorch are skipped with a note
where not installed.

    python benchmarks/twolayer.py [--repeats 100] [--dtype float64|float32]
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# One thread for every library (override by setting these yourself): OpenBLAS's,
# XLA's and PyTorch's thread pools each keep spinning after a call, waiting for the
# next, and on a machine of few cores they take the cores from whichever candidate
# runs next, so that the timings measure the fight rather than the code.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import flatgrad  # noqa: E402

PROGRAM = (Path(__file__).resolve().parent.parent / "examples" / "two_layer_net.txt").read_text(
    encoding="utf-8")


def hand_written(W1, X, b1, W2, b2, y, reg):
    """The CS231n-style forward and backward pass, written out by hand."""
    n = X.shape[1]
    pre = W1 @ X + b1
    hidden = np.maximum(pre, 0)
    scores = W2 @ hidden + b2
    shifted = scores - np.max(scores, axis=0, keepdims=True)
    exp = np.exp(shifted)
    probs = exp / np.sum(exp, axis=0, keepdims=True)
    columns = np.arange(n)
    loss = -np.mean(np.log(probs[y, columns])) + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = probs
    dscores[y, columns] -= 1
    dscores /= n
    dW2 = dscores @ hidden.T + reg * W2
    db2 = np.sum(dscores, axis=1, keepdims=True)
    dhidden = W2.T @ dscores
    dhidden[pre <= 0] = 0
    dW1 = dhidden @ X.T + reg * W1
    db1 = np.sum(dhidden, axis=1, keepdims=True)
    return loss, (dW1, db1, dW2, db2)


def generated_function():
    """The generated module's own function, executed as written (no argument checks)."""
    compiled = flatgrad.compile(PROGRAM, name="two_layer_net", wrt="W1,b1,W2,b2")
    namespace = {}
    exec(compile(compiled.source, "two_layer_net.py", "exec"), namespace)  # flatgrad's output
    return namespace["two_layer_net_and_grad"]


def jax_function(dtype):
    """jit(value_and_grad) of the same loss; raises ImportError without JAX."""
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def loss(W1, b1, W2, b2, X, y, reg):
        hidden = jnp.maximum(W1 @ X + b1, 0)
        scores = W2 @ hidden + b2
        lse = jax.scipy.special.logsumexp(scores, axis=0)
        data = jnp.mean(lse - jnp.take_along_axis(scores, y[None, :], axis=0)[0])
        return data + 0.5 * reg * (jnp.sum(W1 * W1) + jnp.sum(W2 * W2))
    step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))
    held: dict = {}

    def call(W1, X, b1, W2, b2, y, reg):
        key = id(W1)
        if key not in held:   # on the device once, as a training loop keeps them
            held.clear()
            held[key] = [jnp.asarray(a) for a in (W1, b1, W2, b2, X, y)]
        value, grads = step(*held[key], reg)
        jax.block_until_ready(grads)
        return value, grads

    def products(W1, X, W2, hidden, dscores):
        return (W1 @ X, W2 @ hidden, dscores @ hidden.T, W2.T @ dscores,
                (W2.T @ dscores) @ X.T)
    return call, jax.jit(products)


def torch_function():
    import torch
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

    def call(W1, X, b1, W2, b2, y, reg):
        params = [torch.from_numpy(a).requires_grad_() for a in (W1, b1, W2, b2)]
        tW1, tb1, tW2, tb2 = params
        tX, ty = torch.from_numpy(X), torch.from_numpy(y)
        scores = tW2 @ torch.clamp(tW1 @ tX + tb1, min=0) + tb2
        loss = torch.nn.functional.cross_entropy(scores.T, ty) \
            + 0.5 * reg * ((tW1 * tW1).sum() + (tW2 * tW2).sum())
        loss.backward()
        return loss.item(), tuple(p.grad.numpy() for p in params)
    return call


def numpy_products(W1, X, W2, hidden, dscores):
    return (W1 @ X, W2 @ hidden, dscores @ hidden.T, W2.T @ dscores, (W2.T @ dscores) @ X.T)


def interleaved(candidates: dict, args: dict, repeats: int, against: str) -> tuple:
    """Median seconds of each candidate, and of its per-repeat ratio to `against`."""
    times = {name: [] for name in candidates}
    ratios = {name: [] for name in candidates}
    names = list(candidates)
    for repeat in range(repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]
        this = {}
        for name in order:
            start = time.perf_counter()
            candidates[name](**args)
            this[name] = time.perf_counter() - start
            times[name].append(this[name])
        for name in names:
            ratios[name].append(this[name] / this[against])
    return ({name: statistics.median(t) for name, t in times.items()},
            {name: statistics.median(r) for name, r in ratios.items()})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    options = parser.parse_args()
    dtype = np.dtype(options.dtype)
    rng = np.random.default_rng(0)
    N, D, H, C = 256, 784, 512, 10
    args = {"W1": (0.01 * rng.normal(size=(H, D))).astype(dtype),
            "X": rng.normal(size=(D, N)).astype(dtype),
            "b1": np.zeros((H, 1), dtype), "W2": (0.01 * rng.normal(size=(C, H))).astype(dtype),
            "b2": np.zeros((C, 1), dtype), "y": rng.integers(0, C, size=N), "reg": 1e-3}
    generated = generated_function()

    loss_g, grads_g = generated(**args)
    loss_h, grads_h = hand_written(**args)
    tolerance = 1e-4 if dtype == np.float32 else 1e-10
    assert np.isclose(loss_g, loss_h, rtol=tolerance)
    for g, h in zip(grads_g, grads_h):
        assert g.dtype == dtype and np.allclose(g, h, rtol=tolerance, atol=tolerance)

    candidates = {"generated": generated, "hand-written": hand_written}
    skipped, products = [], None
    try:
        jax_call, products = jax_function(dtype)
        candidates["JAX jit(value_and_grad)"] = jax_call
    except ImportError as err:
        skipped.append(f"JAX: not installed ({err.name or err})")
    try:
        candidates["PyTorch autograd"] = torch_function()
    except ImportError as err:
        skipped.append(f"PyTorch: not installed ({err.name or err})")
    for name, function in candidates.items():
        loss, grads = function(**args)   # warm up (JAX compiles here) and check
        assert np.isclose(float(loss), loss_h, rtol=tolerance), name
        for g, h in zip(grads, grads_h):
            assert np.allclose(np.asarray(g).reshape(h.shape), h, rtol=tolerance,
                               atol=tolerance), name
    medians, ratios = interleaved(candidates, args, options.repeats, "hand-written")
    print(f"two-layer net gradient, batch {N}, {D} -> {H} -> {C}, {dtype}, "
          f"{options.repeats} interleaved repeats, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    for name in candidates:
        print(f"  {name:25s} median {1000 * medians[name]:7.2f} ms   "
              f"× hand-written (median ratio) {ratios[name]:.3f}")
    if products is not None:
        # the profile: the same five matrix products alone, in each library
        pre = args["W1"] @ args["X"] + args["b1"]
        hidden = np.maximum(pre, 0)
        dscores = rng.normal(size=(C, N)).astype(dtype)
        operands = {"W1": args["W1"], "X": args["X"], "W2": args["W2"], "hidden": hidden,
                    "dscores": dscores}
        import jax
        held = {k: jax.numpy.asarray(v) for k, v in operands.items()}
        both = {"numpy (OpenBLAS)": lambda **kw: numpy_products(**operands),
                "JAX (XLA)": lambda **kw: jax.block_until_ready(products(**held))}
        both["JAX (XLA)"]()
        alone, _ = interleaved(both, {}, options.repeats, "numpy (OpenBLAS)")
        jax_name = "JAX jit(value_and_grad)"
        print("profile: the five matrix products alone (W1 @ X, W2 @ hidden, dscores @ "
              "hidden.T, W2.T @ dscores, dhidden @ X.T)")
        for name, seconds in alone.items():
            print(f"  {name:25s} median {1000 * seconds:7.2f} ms")
        rest_ours = medians["generated"] - alone["numpy (OpenBLAS)"]
        rest_jax = medians[jax_name] - alone["JAX (XLA)"]
        print(f"  everything else: generated {1000 * rest_ours:.2f} ms, JAX "
              f"{1000 * rest_jax:.2f} ms")
        gap = medians["generated"] - medians[jax_name]
        matrix = alone["numpy (OpenBLAS)"] - alone["JAX (XLA)"]
        print(f"  generated - JAX: {1000 * gap:.2f} ms, of which the matrix products "
              f"{1000 * matrix:.2f} ms")
    for line in skipped:
        print(f"  skipped: {line}")


if __name__ == "__main__":
    main()
