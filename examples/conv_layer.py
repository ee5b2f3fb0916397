"""A convolution layer, ReLU, sum-pooling and a softmax loss, on one image at a time.

    maps   = relu(conv2d(image, K))           # [F x H-2 x W-2]: F filters, 3 x 3 each
    pooled = sum(sum(maps, 2), 1)              # [F]: each feature map summed
    loss   = softmax_loss(V @ pooled + c, y)   # y: the image's integer label

The backward pass flatgrad generates for conv2d is the recitation's: dK correlates
the image with the upstream gradient, and the image's gradient is the full
convolution of that gradient with K rotated 180 degrees. A few steps of SGD
learn to tell horizontal bars from vertical ones.
Run it: python examples/conv_layer.py
"""
import numpy as np

import flatgrad

PROGRAM = """
image: CxHxW
K: FxCx3x3
V: LxF
c: L
maps = relu(conv2d(image, K))
pooled = sum(sum(maps, axis=2), axis=1)
loss = softmax_loss(V @ pooled + c, y)
"""


def compile_layer() -> flatgrad.Compiled:
    return flatgrad.compile(PROGRAM, name="conv_layer", wrt="K,V,c")


def bars(count=16, seed=0):
    """Noisy 8 x 8 images holding one horizontal (label 0) or vertical (label 1) bar."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(count):
        image = 0.1 * rng.normal(size=(1, 8, 8))
        line = rng.integers(1, 7)
        if i % 2:
            image[0, :, line] += 1.0
        else:
            image[0, line, :] += 1.0
        images.append(image)
        labels.append(i % 2)
    return images, labels


def train(steps=20, learning_rate=0.05, seed=0) -> list[float]:
    """SGD over the whole set each step; returns the mean loss before every step."""
    compiled = compile_layer()
    images, labels = bars(seed=seed)
    rng = np.random.default_rng(seed + 1)
    params = {"K": 0.3 * rng.normal(size=(4, 1, 3, 3)), "V": 0.1 * rng.normal(size=(2, 4)),
              "c": np.zeros(2)}
    history = []
    for _ in range(steps):
        total = 0.0
        sums = {name: np.zeros_like(value) for name, value in params.items()}
        for image, label in zip(images, labels):
            value, grads = compiled.value_and_grad(image=image, y=label, **params)
            total += float(value)
            for name, grad in zip(compiled.wrt, grads):
                sums[name] += grad
        history.append(total / len(images))
        for name in params:
            params[name] -= learning_rate * sums[name] / len(images)
    return history


if __name__ == "__main__":
    history = train()
    print(f"mean loss {history[0]:.4f} -> {history[-1]:.4f} in {len(history)} steps")
