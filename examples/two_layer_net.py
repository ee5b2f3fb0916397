"""The two-layer net of the CS231n notes, trained with the gradient flatgrad generates.

    scores = W2 @ relu(W1 @ X + b1) + b2        # [C x N]
    loss   = softmax_loss(scores, y) + 0.5 * reg * (sum(W1²) + sum(W2²))

on the notes' spiral data set (three interleaved arms in the plane, which no
linear classifier separates), with a few hundred steps of SGD.
Run it: python examples/two_layer_net.py  (add --show to print the generated code)
"""
import sys
from pathlib import Path

import numpy as np

import flatgrad

# the program, also for the command line: flatgrad eval -f two_layer_net.txt --at random
PROGRAM = Path(__file__).with_suffix(".txt").read_text(encoding="utf-8")


def compile_net() -> flatgrad.Compiled:
    return flatgrad.compile(PROGRAM, name="two_layer_net", wrt="W1,b1,W2,b2")


def spiral(per_class=50, classes=3, seed=0):
    """The spiral data set of the CS231n notes: X [2 x N], labels y [N]."""
    rng = np.random.default_rng(seed)
    X = np.zeros((2, per_class * classes))
    y = np.repeat(np.arange(classes), per_class)
    for k in range(classes):
        radius = np.linspace(0.0, 1.0, per_class)
        angle = np.linspace(4.0 * k, 4.0 * (k + 1), per_class) + 0.2 * rng.normal(size=per_class)
        X[:, y == k] = radius * np.array([np.sin(angle), np.cos(angle)])
    return X, y


def init(hidden=50, dim=2, classes=3, seed=1):
    rng = np.random.default_rng(seed)
    return {"W1": 0.5 * rng.normal(size=(hidden, dim)), "b1": np.zeros((hidden, 1)),
            "W2": 0.1 * rng.normal(size=(classes, hidden)), "b2": np.zeros((classes, 1))}


def train(steps=300, learning_rate=1.0, reg=1e-3, seed=0) -> tuple[list[float], float]:
    """SGD; returns the loss before every step and the final training accuracy."""
    compiled = compile_net()
    X, y = spiral(seed=seed)
    params = init(seed=seed + 1)
    history = []
    for _ in range(steps):
        value, grads = compiled.value_and_grad(X=X, y=y, reg=reg, **params)
        history.append(float(value))
        for name, grad in zip(compiled.wrt, grads):
            params[name] -= learning_rate * grad
    hidden = np.maximum(params["W1"] @ X + params["b1"], 0)
    predicted = np.argmax(params["W2"] @ hidden + params["b2"], axis=0)
    return history, float(np.mean(predicted == y))


if __name__ == "__main__":
    if "--show" in sys.argv:
        print(compile_net().source)
    history, accuracy = train()
    for step in range(0, len(history), 50):
        print(f"step {step:3d}: loss {history[step]:.4f}")
    print(f"final loss {history[-1]:.4f}, training accuracy {accuracy:.2f}")
