"""The linear SVM and softmax classifiers of the CS231n notes, with L2 regularisation.

    scores = W @ X + b            # [C x N]: one column of class scores per example
    loss   = svm_loss(scores, y) + reg * sum(W²)      (or softmax_loss)

flatgrad generates both gradients; a few steps of SGD fit a small synthetic data
set. Run it: python examples/linear_classifiers.py
"""
import numpy as np

import flatgrad

PROGRAM = """
W: CxD
b: Cx1
X: DxN
y: N
scores = W @ X + b
loss = {loss}(scores, y) + reg * sum(W²)
"""


def compile_classifier(loss: str) -> flatgrad.Compiled:
    # only the parameters are trained: wrt prunes the gradient for the data X
    return flatgrad.compile(PROGRAM.format(loss=loss), name=loss.split("_")[0] + "_classifier",
                            wrt="W,b")


def blobs(classes=3, dim=4, per_class=20, seed=0):
    """Gaussian blobs around random centres: X [D x N], integer labels y [N]."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(dim, classes))
    y = np.repeat(np.arange(classes), per_class)
    X = centres[:, y] + rng.normal(size=(dim, y.size))
    return X, y


def train(loss: str, steps=30, learning_rate=0.05, reg=1e-3, seed=0) -> list[float]:
    """SGD on the whole (small) data set; returns the loss before every step."""
    compiled = compile_classifier(loss)
    X, y = blobs(seed=seed)
    rng = np.random.default_rng(seed + 1)
    W = 0.01 * rng.normal(size=(3, X.shape[0]))
    b = np.zeros((3, 1))
    history = []
    for _ in range(steps):
        value, (dW, db) = compiled.value_and_grad(W=W, b=b, X=X, y=y, reg=reg)
        history.append(float(value))
        W -= learning_rate * dW
        b -= learning_rate * db
    return history


if __name__ == "__main__":
    for loss in ("svm_loss", "softmax_loss"):
        history = train(loss)
        print(f"{loss}: {history[0]:.4f} -> {history[-1]:.4f} in {len(history)} steps")
