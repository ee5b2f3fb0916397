"""Points: `--at` text with arrays, completing and typing a point, random points."""
from __future__ import annotations

import builtins
import json
import time

import numpy as np
import pytest

import flatgrad
from conftest import TWO_LAYER_NET
from flatgrad import api
from flatgrad.errors import FlatgradError
from flatgrad.points import (check_labels, complete_point, parse_point, point_for,
                             random_point, show, sizes_of)

TWO_LAYER = TWO_LAYER_NET


# -- reading the text ------------------------------------------------------------------

def test_scalars_read_as_before():
    assert parse_point("x=3,y=-4") == {"x": 3.0, "y": -4.0}
    assert parse_point(" x = 3 , y=−4.5e-1 ,, ") == {"x": 3.0, "y": -0.45}
    assert parse_point("") == {}
    assert all(type(v) is float for v in parse_point("a=1,b=2.5,c=.5,d=5.").values())
    assert api.parse_point is parse_point and api.complete_point is complete_point


def test_nested_lists_are_arrays_and_commas_inside_brackets_do_not_split():
    point = parse_point("W=[[1,2],[3,4]],x=[1,−1],r=0.5")
    assert list(point) == ["W", "x", "r"]
    np.testing.assert_array_equal(point["W"], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(point["x"], [1, -1])
    assert point["r"] == 0.5
    # integers stay integers, as numpy reads them; any other entry makes floats
    assert point["W"].dtype.kind == "i"
    floats = parse_point("W=[[1, 2.5], [3, 4e-3]]")["W"]
    assert floats.dtype == np.float64 and floats[1, 1] == 0.004
    assert parse_point("T=[[[1],[2]],[[3],[4]]]")["T"].shape == (2, 2, 1)
    assert parse_point("v=[1, 2, ]")["v"].shape == (2,)      # a trailing comma
    assert list(parse_point("ｘ=[1]")) == ["x"]               # names fold as Python's do


@pytest.mark.parametrize("text, message, col, width", [
    ("x=two", "'two' is not a number (in x)", 2, 3),
    ("W=[[1,2],[3]]", "the rows of W have different shapes: [2] and [1]", 9, 3),
    ("W=[[1,2],3]", "W mixes numbers and lists in one list", 9, 1),
    ("W=[1,2", "'[' is never closed (in W)", 2, 1),
    ("W=[1 2]", "expected ',' or ']' in W, found '2'", 5, 1),
    ("W=[[1,2]]]", "unmatched ']' after W", 9, 1),
    ("W=[]", "an empty list in W: every dimension needs an entry", 2, 2),
    ("x", "expected '=' after x, found the end", 1, 1),
    ("x=", "expected a number or '[' for x, found the end", 2, 1),
    ("3=4", "expected an input name, found '3'", 0, 1),
    ("x=1 y=2", "expected ',' before the next input, found 'y'", 4, 1),
    ("x=1,x=2", "x is given twice", 4, 1),
    ("x=(1,2)", "'(1' is not a number (in x)", 2, 2),
    ("x=1e999", "1e999 is too large for a float (in x)", 2, 5),
    ('__import__("os")', "expected '=' after __import__, found '('", 10, 1),
    ("x=1;import os", "'1;import' is not a number (in x)", 2, 8),
])
def test_bad_text_says_what_and_where(text, message, col, width):
    with pytest.raises(FlatgradError) as caught:
        parse_point(text)
    err = caught.value
    assert err.message == message
    assert (err.col, err.width) == (col, width)
    caret = str(err).splitlines()[2]
    assert caret == "  " + " " * col + "^" * width


def test_nothing_in_the_text_is_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the point text reached eval, exec or json")
    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    monkeypatch.setattr(json, "loads", refuse)
    assert parse_point("W=[[1,2],[3,4]],x=[1e-3,−2]")["x"][1] == -2


def test_deep_and_long_input():
    with pytest.raises(FlatgradError, match="nests lists more than 32 deep"):
        parse_point("W=" + "[" * 10_000 + "1" + "]" * 10_000)
    assert parse_point("W=" + "[" * 32 + "1" + "]" * 32)["W"].ndim == 32
    start = time.perf_counter()
    assert parse_point("w=[" + ",".join(["1.5"] * 100_000) + "]")["w"].shape == (100_000,)
    with pytest.raises(FlatgradError, match="expected '='"):
        parse_point("a" * 100_000)
    assert time.perf_counter() - start < 5


# -- completing, typing and checking a point ---------------------------------------------

def test_labels_become_ints_and_everything_else_floats():
    net = flatgrad.compile(TWO_LAYER)
    point = point_for(net, "W1=[[1,2]],b1=[[0]],W2=[[1],[2],[3]],b2=[[0],[0],[0]],"
                           "X=[[1,2,3,4],[5,6,7,8]],y=[0,2,1,2.0],reg=1")
    assert point["y"].dtype == np.int64 and point["W1"].dtype == np.float64
    assert isinstance(point["reg"], float)
    value, grads = net.value_and_grad(**point)
    assert np.isfinite(value) and len(grads) == 6


@pytest.mark.parametrize("at, message", [
    ("W=[[1,2],[3,4]],x=[1,2,3],b=[1,2]", "x should be [2], got [3]."),
    ("W=1,x=[1,2],b=[1,2]", "W should be [2 x 2], got scalar."),
    ("W=[[1,2],[3,4]],x=[1,2]", "no value for b (the inputs are W, x, b)"),
    ("W=[[1,2],[3,4]],x=[1,2],b=[1,2],c=3", "c is not an input (the inputs are W, x, b)"),
])
def test_values_are_checked_against_the_declared_shapes(at, message):
    compiled = flatgrad.compile("sum(relu(W @ x + b))", shapes={"W": (2, 2), "x": 2, "b": 2})
    with pytest.raises(FlatgradError) as caught:
        point_for(compiled, at)
    assert str(caught.value) == message


def test_symbolic_sizes_bind_once():
    compiled = flatgrad.compile("X: DxN\nw: D\nsum(X.T @ w)")
    point = point_for(compiled, "X=[[1,2,3],[4,5,6]],w=[1,-1]")
    assert point["X"].shape == (2, 3)
    with pytest.raises(FlatgradError, match=r"w should be \[D\], got \[3\]; D is 2 \(from X\)"):
        point_for(compiled, "X=[[1,2,3],[4,5,6]],w=[1,-1,0]")


def test_a_scalar_input_refuses_a_list_and_labels_refuse_fractions():
    with pytest.raises(FlatgradError, match=r"x should be a scalar, got \[2\]"):
        point_for(flatgrad.compile("x*y"), "x=[1,2],y=3")
    scores = flatgrad.compile("s: 3x2\ny: 2\nsoftmax_loss(s, y)")
    with pytest.raises(FlatgradError, match="y holds class labels and must be integers"):
        point_for(scores, "s=[[1,2],[3,4],[5,6]],y=[0.5,1]")


@pytest.mark.parametrize("labels, message", [
    ("[0,3]", r"y\[1\] is 3, but a class label must lie in \[0, 3\)"),
    ("[-1,0]", r"y\[0\] is -1, but a class label must lie in \[0, 3\)"),
])
def test_labels_must_lie_among_the_classes(labels, message):
    scores = flatgrad.compile("s: 3x2\ny: 2\nsoftmax_loss(s, y)")
    with pytest.raises(FlatgradError, match=message):
        point_for(scores, f"s=[[1,2],[3,4],[5,6]],y={labels}")
    check_labels(scores.graph, {"s": np.zeros((3, 2)), "y": np.array([0, 2])})


def test_complete_point_without_label_information_keeps_dtypes():
    point = complete_point(("W", "x"), {"W": [[1, 2]], "x": 3}, {"W": (1, 2)})
    assert point["W"].dtype.kind == "i" and point["x"] == 3.0
    with pytest.raises(FlatgradError, match="not a number or an array of numbers"):
        complete_point(("x",), {"x": "three"})


# -- random points ---------------------------------------------------------------------

def test_random_points_fill_every_input_with_its_shape():
    net = flatgrad.compile(TWO_LAYER)
    sizes = sizes_of(net)
    assert sizes == {"H": 2, "D": 3, "N": 4, "C": 5}     # small, distinct, first come first
    point = random_point(net.graph, seed=0)
    for name, shape in net.shapes.items():
        assert np.shape(point[name]) == tuple(sizes.get(d, d) for d in shape), name
    assert point["y"].dtype == np.int64 and isinstance(point["reg"], float)
    labels = np.concatenate([random_point(net, seed)["y"] for seed in range(50)])
    assert labels.min() == 0 and labels.max() == sizes["C"] - 1
    value, grads = net.value_and_grad(**point)
    assert np.isfinite(value)


def test_random_points_are_seeded():
    net = flatgrad.compile(TWO_LAYER)
    first, again, other = random_point(net, 0), random_point(net, 0), random_point(net, 1)
    for name in net.inputs:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["W1"], other["W1"])
    assert all(np.shape(first[n]) == np.shape(other[n]) for n in net.inputs)
    positive = random_point(net, 0, positive=True)
    assert np.all(positive["W1"] >= 0.1)


def test_random_points_for_scalars_and_for_kernels_that_must_fit():
    point = random_point(flatgrad.compile("x*y + sin(x)"), seed=3)
    assert set(point) == {"x", "y"} and all(type(v) is float for v in point.values())
    conv = flatgrad.compile("X: HxW\nK: kxk\nsum(conv2d(X, K))")
    sizes = sizes_of(conv)
    assert sizes["k"] <= min(sizes["H"], sizes["W"])
    assert np.isfinite(conv(**random_point(conv, 0)))
    with pytest.raises(FlatgradError, match="seed must be an integer"):
        random_point(conv, "zero")


def test_point_for_random():
    net = flatgrad.compile(TWO_LAYER)
    point = point_for(net, "random", seed=7)
    np.testing.assert_array_equal(point["X"], random_point(net, 7)["X"])


def test_show_prints_scalars_as_before_and_arrays_aligned():
    assert show(1.5456403, "f = ") == "f = 1.54564"
    assert show(-0.0, "f = ") == "f = 0"
    text = show(np.array([[1.0, -0.0], [0.25, 2.0]]), "df/dW = ")
    assert text == "df/dW = [[1.  , 0.  ],\n         [0.25, 2.  ]]"
    assert show(np.array([0, 2, 1]), "y = ") == "y = [0, 2, 1]"
