"""Central differences: the oracle every array gradient is checked against."""
from __future__ import annotations

import numpy as np


def numeric_gradient(function, args: dict, name: str, h: float = 1e-6) -> np.ndarray:
    """d function / d args[name] by central differences, one entry at a time."""
    return jacobian_transposed_times(function, args, name, 1.0, h)


def jacobian_transposed_times(function, args: dict, name: str, df, h: float = 1e-6):
    """(d function / d args[name])^T df by central differences, one entry at a time
    (a scalar function with df = 1: its gradient)."""
    x = np.array(args[name], dtype=np.float64)
    result = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + h
        up = function(**{**args, name: x.copy() if x.shape else float(x)})
        x[index] = saved - h
        down = function(**{**args, name: x.copy() if x.shape else float(x)})
        x[index] = saved
        result[index] = np.sum((np.asarray(up) - np.asarray(down)) / (2 * h) * df)
    return result


def relative_error(analytic, numeric) -> float:
    """max |a - n| / (max |a| + max |n|): the largest entrywise difference relative to
    the gradient's scale. (Entry by entry, as in the CS231n notes, an entry that is
    zero up to roundoff, 1e-9 against 3e-9, would count as a 50% error.)"""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    assert a.shape == n.shape, (a.shape, n.shape)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n)) / max(np.max(np.abs(a)) + np.max(np.abs(n)), 1e-8))


def check_gradients(compiled, args: dict) -> dict[str, float]:
    """The relative error of every returned gradient against central differences."""
    value, grads = compiled.value_and_grad(**args)
    assert np.isclose(value, compiled(**args))
    errors = {}
    for name, grad in zip(compiled.wrt, grads):
        assert np.shape(grad) == np.shape(args[name]), (name, np.shape(grad))
        errors[name] = relative_error(grad, numeric_gradient(compiled, args, name))
    return errors
