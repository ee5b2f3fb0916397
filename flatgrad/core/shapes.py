"""Shapes: how inputs are declared, and the shape rules of the gate table.

A shape is a tuple of dimensions, each a size (an int) or a symbol (a name
such as N, the same size wherever it appears); () is a scalar. Inputs are
declared as `--shape W=5x10`, as header lines in the program (`W: HxD`), or as
`shapes={"W": (5, 10)}`; undeclared names are scalars.

The graph applies the rules as it stages each gate (core/graph.py). Broadcasting follows
numpy: trailing dimensions are aligned, and each pair must be equal or one of
them 1. A symbol is equal only to itself, so `N` against `M` is a mismatch
(declare them with one name if they are one size).
"""
from __future__ import annotations

import keyword
import re
from typing import NamedTuple

from ..errors import FlatgradError

_DIM = re.compile(r"\d+|[A-Za-wyzA-Z_][A-Za-wyz0-9_]*")
# `W: 5x10`, `X: DxN  # a comment`: a name, a colon and nothing but sizes
_HEADER = re.compile(r"^([ \t]*)([^\W\d]\w*)([ \t]*):([\w×, \t()]*(?:#.*)?)$", re.MULTILINE)


class ShapeError(Exception):
    """A shape rule's complaint; inference adds where it happened."""


class Operand(NamedTuple):   # one per operand of every gate staged: cheap to make
    label: str                 # how the user knows it: a name, a constant, a stage's name
    shape: tuple
    value: float | None = None  # a constant's value (an axis)

    def __str__(self) -> str:
        return f"{self.label} {describe(self.shape)}" if self.shape else f"{self.label} (a scalar)"


def describe(shape: tuple) -> str:
    """[5 x 10], [H x N]; a scalar is 'scalar'."""
    return "[" + " x ".join(str(d) for d in shape) + "]" if shape else "scalar"


def parse_dims(text: str) -> tuple:
    """'5x10' -> (5, 10); 'HxD' -> ('H', 'D'); 'scalar' or '' -> ()."""
    spec = text.strip()
    if spec in ("", "scalar", "()"):
        return ()
    parts = [p.strip() for p in re.split(r"[x×,]", spec)]
    if not all(_DIM.fullmatch(p) for p in parts):
        raise FlatgradError(f"cannot read the shape {spec!r}: write sizes and symbols joined "
                            "by 'x', e.g. 5x10 or HxD (a symbol may not contain 'x')")
    dims = tuple(int(p) if p.isdigit() else p for p in parts)
    if any(d == 0 for d in dims):
        raise FlatgradError(f"the shape {spec!r} has an empty dimension")
    return dims


def parse_option(text: str) -> tuple[str, tuple]:
    """'W=5x10' (the --shape option) -> ('W', (5, 10))."""
    name, sep, spec = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise FlatgradError(f"cannot read --shape {text!r}: write it as NAME=DIMS, e.g. W=5x10")
    return name.strip(), parse_dims(spec)


def normalize(shapes: dict) -> dict[str, tuple]:
    """The `shapes=` argument: values as tuples of sizes and symbols, or as text."""
    out = {}
    for name, spec in shapes.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise FlatgradError(f"{name!r} is not a valid input name in shapes")
        if isinstance(spec, str):
            out[name] = parse_dims(spec)
        elif isinstance(spec, int) and not isinstance(spec, bool):
            out[name] = parse_dims(str(spec))
        else:
            try:
                out[name] = parse_dims("x".join(str(d) for d in spec))
            except TypeError:
                raise FlatgradError(f"the shape of {name!r} must be a tuple such as (5, 10) "
                                    f"or text such as '5x10', not {spec!r}") from None
    return out


def has_header(text) -> bool:
    return isinstance(text, str) and any(_declares(m) for m in _HEADER.finditer(text))


def _declares(match: re.Match) -> bool:
    return not keyword.iskeyword(match.group(2))


def split_header(text: str) -> tuple[str, dict[str, tuple]]:
    """Take the `W: 5x10` lines out of a program, leaving blank lines in their
    place so that every error still points at the right line."""
    declared: dict[str, tuple] = {}

    def take(match: re.Match) -> str:
        if not _declares(match):
            return match.group(0)  # `lambda: 1` is left for the parser to refuse
        name, spec = match.group(2), match.group(4).split("#", 1)[0]
        line = text.count("\n", 0, match.start())
        try:
            dims = parse_dims(spec)
        except FlatgradError as err:
            raise FlatgradError(err.message, text, line, match.start(4) - match.start(),
                                len(spec.rstrip())) from None
        if name in declared:
            raise FlatgradError(f"the shape of {name!r} is declared twice", text, line,
                                len(match.group(1)), len(name))
        declared[name] = dims
        return ""

    return _HEADER.sub(take, text), declared


# -- shape rules: operands -> output shape ------------------------------------

def broadcast(*operands: Operand) -> tuple:
    """numpy's broadcasting: align trailing dimensions; each pair equal or 1."""
    result: tuple = ()
    for operand in operands:
        result = broadcast_shapes(result, operand.shape, operands[0], operand)
    return result


def broadcast_shapes(a: tuple, b: tuple, first=None, second=None) -> tuple:
    if not a or a == b:   # the common case, a scalar formula: nothing to align
        return tuple(b)
    width = max(len(a), len(b))
    a = (1,) * (width - len(a)) + tuple(a)
    b = (1,) * (width - len(b)) + tuple(b)
    dims = []
    for p, q in zip(a, b):
        if p == q or q == 1:
            dims.append(p)
        elif p == 1:
            dims.append(q)
        else:
            raise ShapeError(f"cannot broadcast {first} with {second}: {p} and {q} are "
                             "neither equal nor 1")
    return tuple(dims)


def matmul(a: Operand, b: Operand) -> tuple:
    if not a.shape or not b.shape or len(a.shape) > 2 or len(b.shape) > 2:
        raise ShapeError(f"'@' multiplies vectors and matrices, not {a} and {b}"
                         + ("; use '*' for a scalar" if not a.shape or not b.shape else ""))
    inner_a, inner_b = a.shape[-1], b.shape[0]
    if inner_a != inner_b:
        raise ShapeError(f"cannot multiply {a} by {b}: the inner sizes {inner_a} and "
                         f"{inner_b} differ")
    return tuple(a.shape[:-1]) + tuple(b.shape[1:])


def transpose(a: Operand) -> tuple:
    return tuple(reversed(a.shape))


def reduce_all(a: Operand) -> tuple:
    return ()


def _axis(a: Operand, axis: Operand) -> int:
    if axis.value is None or not float(axis.value).is_integer():
        raise ShapeError(f"the axis must be an integer constant, not {axis.label}")
    k = int(axis.value)
    if not -len(a.shape) <= k < len(a.shape):
        raise ShapeError(f"axis {k} is out of range for {a}")
    return k % len(a.shape)


def reduce_axis(a: Operand, axis: Operand) -> tuple:
    k = _axis(a, axis)
    return a.shape[:k] + a.shape[k + 1:]


def keep(a: Operand) -> tuple:
    return a.shape


def keep_axis(a: Operand, axis: Operand) -> tuple:
    _axis(a, axis)
    return a.shape


def labelled(scores: Operand, labels: Operand) -> tuple:
    """A loss over class scores (classes down axis 0, one column per example)
    and integer labels (one per column): a scalar, the mean over examples."""
    if len(scores.shape) not in (1, 2):
        raise ShapeError(f"the scores must be [C] or [C x N] (classes x examples), not {scores}")
    if tuple(labels.shape) != tuple(scores.shape[1:]):
        want = describe(tuple(scores.shape[1:]))
        raise ShapeError(f"the labels {labels} do not match the scores {scores}: one label "
                         f"per column is {want}")
    return ()


def _valid(n, k):
    if isinstance(n, int) and isinstance(k, int):
        if k > n:
            raise ShapeError(f"a {k}-wide kernel does not fit in {n}")
        return n - k + 1
    if k == 1:
        return n
    return f"{n}-{k - 1}" if isinstance(k, int) else f"{n}-{k}+1"


def conv2d(x: Operand, w: Operand) -> tuple:
    """[H x W] with [k1 x k2]; [C x H x W] or a batch [N x C x H x W] with filters
    [F x C x k1 x k2]."""
    if len(x.shape) == 2 and len(w.shape) == 2:
        return (_valid(x.shape[0], w.shape[0]), _valid(x.shape[1], w.shape[1]))
    if len(x.shape) in (3, 4) and len(w.shape) == 4:
        batch, (channels, height, width) = x.shape[:-3], x.shape[-3:]
        if channels != w.shape[1]:
            raise ShapeError(f"conv2d: the image {x} has {channels} channels but the "
                             f"filters {w} expect {w.shape[1]}")
        return batch + (w.shape[0], _valid(height, w.shape[2]), _valid(width, w.shape[3]))
    raise ShapeError(f"conv2d takes an image [H x W] and a kernel [k1 x k2], or images "
                     f"[C x H x W] or [N x C x H x W] and filters [F x C x k1 x k2], not {x} "
                     f"and {w}")
