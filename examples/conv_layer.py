"""A convolution layer, ReLU, sum-pooling and a softmax loss, over a batch of images.

    maps   = relu(conv2d(images, K))           # [N x F x H-2 x W-2]: F filters, 3 x 3 each
    pooled = sum(sum(maps, axis=3), axis=2)     # [N x F]: each feature map summed
    scores = V @ pooled.T + c                   # [L x N]: class scores, one column per image
    loss   = softmax_loss(scores, y)            # y: the images' integer labels

The backward pass flatgrad generates for conv2d is the recitation's: dK correlates
the images with the upstream gradient, and the images' gradient is the full
convolution of that gradient with K rotated 180 degrees. A few steps of SGD
learn to tell horizontal bars from vertical ones.
Run it: python examples/conv_layer.py  (add --show to print the generated code)
"""
import sys

import numpy as np

import flatgrad

PROGRAM = """
images: NxCxHxW
K: FxCx3x3
V: LxF
c: Lx1
y: N
maps = relu(conv2d(images, K))
pooled = sum(sum(maps, axis=3), axis=2)
scores = V @ pooled.T + c
loss = softmax_loss(scores, y)
"""


def compile_layer() -> flatgrad.Compiled:
    return flatgrad.compile(PROGRAM, name="conv_layer", wrt="K,V,c")


def bars(count=16, size=8, seed=0):
    """Noisy images [N x 1 x size x size], each with one horizontal (label 0) or
    vertical (label 1) bar."""
    rng = np.random.default_rng(seed)
    images = 0.1 * rng.normal(size=(count, 1, size, size))
    labels = np.arange(count) % 2
    for n, line in enumerate(rng.integers(1, size - 1, size=count)):
        if labels[n]:
            images[n, 0, :, line] += 1.0
        else:
            images[n, 0, line, :] += 1.0
    return images, labels


def train(steps=20, learning_rate=0.05, seed=0) -> list[float]:
    """SGD on the whole batch; returns the loss before every step."""
    compiled = compile_layer()
    images, labels = bars(seed=seed)
    rng = np.random.default_rng(seed + 1)
    params = {"K": 0.3 * rng.normal(size=(4, 1, 3, 3)), "V": 0.1 * rng.normal(size=(2, 4)),
              "c": np.zeros((2, 1))}
    history = []
    for _ in range(steps):
        value, grads = compiled.value_and_grad(images=images, y=labels, **params)
        history.append(float(value))
        for name, grad in zip(compiled.wrt, grads):
            params[name] -= learning_rate * grad
    return history


if __name__ == "__main__":
    if "--show" in sys.argv:
        print(compile_layer().source)
    history = train()
    print(f"loss {history[0]:.4f} -> {history[-1]:.4f} in {len(history)} steps")
