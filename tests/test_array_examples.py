"""The array examples learn, and their gradients pass a check against central differences
(tests/test_examples.py runs every example as a script)."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from conftest import ROOT
from numgrad import check_gradients

import flatgrad

EXAMPLES = ROOT / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _assert_gradients_check(program: str, args: dict) -> None:
    compiled = flatgrad.compile(program)  # every float input differentiated
    errors = check_gradients(compiled, args)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("loss", ["svm_loss", "softmax_loss"])
def test_linear_classifiers_learn_and_check(loss):
    module = load("linear_classifiers")
    history = module.train(loss)
    assert history[-1] < 0.5 * history[0]
    rng = np.random.default_rng(0)
    args = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=(3, 1)),
            "X": rng.normal(size=(4, 5)), "y": rng.integers(0, 3, size=5), "reg": 0.1}
    _assert_gradients_check(module.PROGRAM.format(loss=loss), args)


def test_two_layer_net_loss_goes_down_and_checks():
    module = load("two_layer_net")
    history, accuracy = module.train(steps=100)
    assert all(b < a for a, b in zip(history[::10], history[10::10]))
    assert history[-1] < 0.7 * history[0] and accuracy > 0.6
    rng = np.random.default_rng(1)
    args = {"W1": rng.normal(size=(6, 3)), "b1": rng.normal(size=(6, 1)),
            "W2": rng.normal(size=(4, 6)), "b2": rng.normal(size=(4, 1)),
            "X": rng.normal(size=(3, 7)), "y": rng.integers(0, 4, size=7), "reg": 0.2}
    _assert_gradients_check(module.PROGRAM, args)


def test_conv_layer_learns_and_checks():
    module = load("conv_layer")
    history = module.train(steps=10)
    assert history[-1] < 0.5 * history[0]
    rng = np.random.default_rng(2)
    args = {"images": rng.normal(size=(4, 2, 5, 6)), "K": rng.normal(size=(3, 2, 3, 3)),
            "V": rng.normal(size=(2, 3)), "c": rng.normal(size=(2, 1)),
            "y": np.array([0, 1, 1, 0])}
    _assert_gradients_check(module.PROGRAM, args)

