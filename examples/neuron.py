"""A 2-input sigmoid neuron from the notes, its gradient, and a few steps of gradient descent.

Run: python examples/neuron.py
"""
import flatgrad

neuron = flatgrad.compile("dot = w0*x0 + w1*x1 + w2; f = σ(dot)", wrt=("w0", "w1", "w2"))

w = [2.0, -3.0, -3.0]
x = [-1.0, -2.0]
f, (dw0, dw1, dw2) = neuron.value_and_grad(w0=w[0], x0=x[0], w1=w[1], x1=x[1], w2=w[2])
print(f"f = {f:.2f}; dw = [{dw0:.3f}, {dw1:.3f}, {dw2:.3f}]")

# Push the neuron's output towards 0 for this input: descend on f.
for step in range(5):
    f, grads = neuron.value_and_grad(w[0], x[0], w[1], x[1], w[2])
    w = [wi - 2.0 * gi for wi, gi in zip(w, grads)]
    print(f"step {step}: f = {f:.4f}")
