"""The generated two-layer-net gradient against the same gradient written by hand.

Batch 256, 784 -> 512 -> 10, softmax loss with L2 regularisation, gradients for
W1, b1, W2 and b2. Both run in one process on the same arrays, interleaved (the
order alternating each repeat), and the script reports the median time of each
and the median of the per-repeat ratios generated / hand-written.

    python benchmarks/twolayer.py [--repeats 100] [--dtype float64|float32]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

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

    times = {"generated": [], "hand-written": []}
    ratios = []
    for repeat in range(options.repeats):
        order = [("generated", generated), ("hand-written", hand_written)]
        if repeat % 2:
            order.reverse()
        this = {}
        for name, function in order:
            start = time.perf_counter()
            function(**args)
            this[name] = time.perf_counter() - start
            times[name].append(this[name])
        ratios.append(this["generated"] / this["hand-written"])
    print(f"two-layer net gradient, batch {N}, {D} -> {H} -> {C}, {dtype}, "
          f"{options.repeats} interleaved repeats")
    for name, samples in times.items():
        print(f"  {name:13s} median {1000 * statistics.median(samples):7.2f} ms")
    print(f"  generated / hand-written: median ratio {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
