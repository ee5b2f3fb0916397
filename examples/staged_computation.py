"""The CS231n staged-computation example, compiled by flatgrad.

    f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²)   at x = 3, y = -4

Run: python examples/staged_computation.py
"""
import flatgrad

f = flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)", profile="teach")

print(f.source_at(x=3, y=-4))
value, (dx, dy) = f.value_and_grad(x=3, y=-4)
print(f"f = {value:.5f}, df/dx = {dx:.5f}, df/dy = {dy:.5f}")
