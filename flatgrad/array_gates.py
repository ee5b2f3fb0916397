"""The numpy forms of the gates: the gate table for programs over arrays.

Every scalar gate of gates.py works elementwise on arrays; its line here gives
its numpy forward form and, per operand, its vector-Jacobian product (VJP): the
gradient flowing to that operand, written in terms of the operands {a} {b}, the
cached output {out} and the upstream gradient {up}. The Jacobian itself is never
formed. Gates that exist only for arrays (matmul, transpose, sum, softmax ...)
are declared below in the same way, each with the shape rule that infers its
output shape (shapes.py). Stem, note and staging rules of an elementwise gate
are those of its scalar gate.

An elementwise gate broadcasts its operands; the gradient for a broadcast
operand is reduced back to the operand's shape by the backward plan
(array_plan.py), from the inferred shapes, for every such gate alike.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from . import gates as scalar
from . import shapes
from .gates import Gate


@dataclass(frozen=True)
class ArrayGate(Gate):
    # The shape rule: operand descriptions (shapes.Operand) -> the output shape.
    shape: Callable = shapes.broadcast
    # VJP templates that differ with the operands' ranks (matmul), as
    # ((rank_a, rank_b), (vjp_a, vjp_b)) pairs; `local` holds the default.
    by_rank: tuple = ()
    # Operand positions that take integer class labels (never differentiated).
    labels: tuple[int, ...] = ()
    # The VJP may return a view of the upstream gradient (transpose), so a
    # gradient that is summed into later must be copied first.
    view: bool = False
    # A reduction's VJP only spreads the upstream gradient over the reduced
    # axes: it is left in broadcast form (size 1 along them) until a gate that
    # is not elementwise, or the caller, needs its full shape.
    spreads: bool = False

    @property
    def broadcasts(self) -> bool:
        return self.shape is shapes.broadcast

    def vjp(self, i: int, ranks: tuple[int, ...]) -> str | None:
        return dict(self.by_rank).get(ranks, self.local)[i]


def _elementwise(name: str, forward: str, *vjps: str | None) -> ArrayGate:
    gate = scalar.GATES[name]
    return ArrayGate(name, forward, vjps, gate.stem, gate.note, gate.kind, expand=gate.expand,
                     primitive=gate.primitive, roles=gate.roles, short=gate.short)


def _expand_sum(s, a):
    # sum(W²), the L2 penalty, is one gate: a dot product of W with itself makes
    # no [H x D] array of squares, and its gradient 2·W is one pass
    operand = s.nodes[a]
    if operand.kind == "stage" and operand.gate.name == "square":
        return s.gate("sumsq", operand.args[0])
    return s.gate("sum", a, expand=False)


SPREAD = "a sum spreads: every summed entry gets the whole upstream gradient"

_GATES = [
    # -- every scalar gate, elementwise ---------------------------------------
    _elementwise("add", "{a} + {b}", "{up}", "{up}"),
    _elementwise("sub", "{a} - {b}", "{up}", "-{up}"),
    _elementwise("mul", "{a} * {b}", "{b} * {up}", "{a} * {up}"),
    _elementwise("div", "{a} / {b}", "{up} / {b}", "-{out} / {b} * {up}"),
    _elementwise("recip", "1.0 / {a}", "-{up} / {a}**2"),
    _elementwise("neg", "-{a}", "-{up}"),
    _elementwise("copy", "{a}", "{up}"),
    _elementwise("square", "{a}**2", "2 * {up} * {a}"),
    _elementwise("cube", "{a}**3", "3 * {up} * {a}**2"),
    _elementwise("powi", "{a}**{b}", "{b} * {a}**({b} - 1) * {up}", None),
    _elementwise("powr", "{a}**{b}", "{b} * {a}**({b} - 1) * {up}", None),
    _elementwise("pow", "{a}**{b}", "{b} * {a}**({b} - 1) * {up}", "np.log({a}) * {out} * {up}"),
    _elementwise("sqrt", "np.sqrt({a})", "0.5 / {out} * {up}"),
    _elementwise("exp", "np.exp({a})", "{out} * {up}"),
    _elementwise("expm1", "np.expm1({a})", "({out} + 1.0) * {up}"),
    _elementwise("log", "np.log({a})", "{up} / {a}"),
    _elementwise("log1p", "np.log1p({a})", "{up} / (1.0 + {a})"),
    _elementwise("log2", "np.log2({a})", "{up} / ({a} * math.log(2.0))"),
    _elementwise("log10", "np.log10({a})", "{up} / ({a} * math.log(10.0))"),
    _elementwise("sin", "np.sin({a})", "np.cos({a}) * {up}"),
    _elementwise("cos", "np.cos({a})", "-np.sin({a}) * {up}"),
    _elementwise("tan", "np.tan({a})", "(1.0 + {out}**2) * {up}"),
    _elementwise("asin", "np.arcsin({a})", "{up} / np.sqrt(1.0 - {a}**2)"),
    _elementwise("acos", "np.arccos({a})", "-{up} / np.sqrt(1.0 - {a}**2)"),
    _elementwise("atan", "np.arctan({a})", "{up} / (1.0 + {a}**2)"),
    _elementwise("sinh", "np.sinh({a})", "np.cosh({a}) * {up}"),
    _elementwise("cosh", "np.cosh({a})", "np.sinh({a}) * {up}"),
    _elementwise("tanh", "np.tanh({a})", "(1.0 - {out}**2) * {up}"),
    _elementwise("asinh", "np.arcsinh({a})", "{up} / np.sqrt({a}**2 + 1.0)"),
    _elementwise("acosh", "np.arccosh({a})", "{up} / np.sqrt({a}**2 - 1.0)"),
    _elementwise("atanh", "np.arctanh({a})", "{up} / (1.0 - {a}**2)"),
    _elementwise("erf", "erf({a})", "2.0 / math.sqrt(math.pi) * np.exp(-{a}**2) * {up}"),
    _elementwise("erfc", "erfc({a})", "-2.0 / math.sqrt(math.pi) * np.exp(-{a}**2) * {up}"),
    _elementwise("atan2", "np.arctan2({a}, {b})", "{b} / ({a}**2 + {b}**2) * {up}",
                 "-{a} / ({a}**2 + {b}**2) * {up}"),
    _elementwise("hypot", "np.hypot({a}, {b})", "{a} / {out} * {up}", "{b} / {out} * {up}"),
    # 1 / (1 + exp(-a)) as exp(-log(1 + exp(-a))): no overflow warning at a = -1000
    _elementwise("sigmoid", "np.exp(-np.logaddexp(0, -{a}))", "(1 - {out}) * {out} * {up}"),
    _elementwise("softplus", "np.logaddexp(0, {a})", "np.exp(-np.logaddexp(0, -{a})) * {up}"),
    _elementwise("logaddexp", "np.logaddexp({a}, {b})", "np.exp({a} - {out}) * {up}",
                 "np.exp({b} - {out}) * {up}"),
    _elementwise("relu", "np.maximum({a}, 0)", "{up} * ({a} > 0)"),
    _elementwise("max", "np.maximum({a}, {b})", "{up} * ({a} >= {b})", "{up} * ({a} < {b})"),
    _elementwise("min", "np.minimum({a}, {b})", "{up} * ({a} <= {b})", "{up} * ({a} > {b})"),
    _elementwise("abs", "np.abs({a})", "np.sign({a}) * {up}"),

    # -- gates over whole arrays ----------------------------------------------
    ArrayGate("matmul", "{a} @ {b}", ("{up} @ {b}.T", "{a}.T @ {up}"), "{a}{b}",
              "matmul by dimension analysis: dW = dD @ X.T and dX = W.T @ dD are the only "
              "products with the shapes of W and X", "mul", short="prod", shape=shapes.matmul,
              by_rank=(((2, 1), ("np.outer({up}, {b})", "{a}.T @ {up}")),
                       ((1, 2), ("{b} @ {up}", "np.outer({a}, {up})")),
                       ((1, 1), ("{up} * {b}", "{up} * {a}")))),
    ArrayGate("transpose", "{a}.T", ("{up}.T",), "{a}T",
              "transpose passes the gradient back transposed", "add", shape=shapes.transpose,
              view=True),
    ArrayGate("sum", "np.sum({a})", ("{up}",), "sum{a}", SPREAD, "add", short="total",
              shape=shapes.reduce_all, spreads=True, expand=_expand_sum),
    ArrayGate("sumsq", "np.vdot({a}, {a})", ("2 * {up} * {a}",), "sumsq{a}",
              "a sum of squares (sum(W²), as in L2 regularisation) has the gradient 2·W",
              "pow", short="sumsq", shape=shapes.reduce_all),
    ArrayGate("sum_axis", "np.sum({a}, axis={b})", ("np.expand_dims({up}, {b})", None), "sum{a}",
              SPREAD + " along the summed axis", "add", short="total", shape=shapes.reduce_axis,
              spreads=True, view=True),
    ArrayGate("mean", "np.mean({a})", ("{up} / {a}.size",), "mean{a}",
              "a mean spreads the upstream gradient evenly: each entry gets 1/size of it",
              "add", short="avg", shape=shapes.reduce_all, spreads=True),
    ArrayGate("mean_axis", "np.mean({a}, axis={b})",
              ("np.expand_dims({up}, {b}) / {a}.shape[{b}]", None), "mean{a}",
              "a mean spreads the upstream gradient evenly along its axis", "add", short="avg",
              shape=shapes.reduce_axis, spreads=True),
    ArrayGate("logsumexp", "logsumexp({a})", ("np.exp({a} - {out}) * {up}",), "lse{a}",
              "log-sum-exp routes softly: each entry gets the share exp(x - f), its softmax",
              "max", shape=shapes.reduce_all),
    ArrayGate("logsumexp_axis", "logsumexp({a}, axis={b})",
              ("np.exp({a} - np.expand_dims({out}, {b})) * np.expand_dims({up}, {b})", None),
              "lse{a}", "log-sum-exp routes softly along its axis: each entry gets its softmax "
              "share", "max", shape=shapes.reduce_axis),
    ArrayGate("softmax", "softmax({a})", ("{out} * ({up} - np.sum({up} * {out}))",), "probs",
              "softmax's VJP is p * (g - sum(g * p)); its Jacobian diag(p) - p p^T is never "
              "formed", "max", shape=shapes.keep),
    ArrayGate("softmax_axis", "softmax({a}, axis={b})",
              ("{out} * ({up} - np.sum({up} * {out}, axis={b}, keepdims=True))", None), "probs",
              "softmax's VJP along an axis is p * (g - sum(g * p)) over that axis", "max",
              shape=shapes.keep_axis),
    ArrayGate("softmax_loss", "softmax_loss({a}, {b})", ("softmax_loss_grad({a}, {b}) * {up}",
                                                        None), "celoss",
              "softmax cross-entropy has the gradient (softmax - onehot(labels)) / N on the "
              "scores; the labels are integers and get none", "max", shape=shapes.labelled,
              labels=(1,)),
    ArrayGate("svm_loss", "svm_loss({a}, {b})", ("svm_loss_grad({a}, {b}) * {up}", None),
              "hingeloss", "the hinge loss routes: 1/N to every class whose margin is "
              "positive, minus their count to the label's score", "max", shape=shapes.labelled,
              labels=(1,)),
    ArrayGate("conv2d", "conv2d({a}, {b})", ("conv2d_grad_x({up}, {b})",
                                             "conv2d_grad_w({a}, {up})"), "conv{a}{b}",
              "conv2d (valid cross-correlation): dW correlates X with dY; dX is the full "
              "convolution of dY with W rotated 180°", "mul", short="conv", shape=shapes.conv2d),
]

GATES: dict[str, ArrayGate] = {g.name: g for g in _GATES}

# A call picks its gate by its number of operands: sum(X) or sum(X, axis).
OVERLOADS = {"sum": ("sum", "sum_axis"), "mean": ("mean", "mean_axis"),
             "logsumexp": ("logsumexp", "logsumexp_axis"), "softmax": ("softmax", "softmax_axis")}
ALIASES = {**scalar.ALIASES, "softmax_ce": "softmax_loss", "cross_entropy": "softmax_loss",
           "hinge_loss": "svm_loss", "svm": "svm_loss", "correlate2d": "conv2d"}
CALLABLE = sorted(set(scalar.CALLABLE) | set(OVERLOADS) | {"softmax_loss", "svm_loss", "conv2d"})

# Module-level helpers the generated code may call; only the ones it uses (and
# the ones those call) are emitted. Each says why it is not written inline.
HELPERS = {
    "erf": '''\
def erf(z):
    # numpy has no erf: math.erf entry by entry (a Python loop), in z's own dtype.
    return np.vectorize(math.erf, otypes=[np.result_type(np.asarray(z), 1.0)])(z)''',
    "erfc": '''\
def erfc(z):
    # numpy has no erfc: math.erfc entry by entry (a Python loop), in z's own dtype.
    return np.vectorize(math.erfc, otypes=[np.result_type(np.asarray(z), 1.0)])(z)''',
    "logsumexp": '''\
def logsumexp(z, axis=None):
    # log(sum(exp(z))), shifted by the largest entry so that exp never overflows.
    top = np.max(z, axis=axis, keepdims=True)
    lse = top + np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True))
    return np.squeeze(lse, axis=axis)''',
    "softmax": '''\
def softmax(z, axis=None):
    # exp(z) / sum(exp(z)), shifted by the largest entry so that exp never overflows.
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)''',
    "onehot": '''\
def onehot(labels, classes):
    # True at each column's label: classes run down axis 0, examples along axis 1.
    return np.arange(classes).reshape((-1,) + (1,) * np.ndim(labels)) == labels''',
    "softmax_loss": '''\
def softmax_loss(scores, labels):
    # The mean over examples (columns) of -log softmax(scores)[label], through a
    # log-softmax shifted by each column's largest score so exp never overflows.
    shifted = scores - np.max(scores, axis=0, keepdims=True)
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=0, keepdims=True))
    return -np.mean(np.take_along_axis(logp, np.expand_dims(labels, 0), axis=0))''',
    "softmax_loss_grad": '''\
def softmax_loss_grad(scores, labels):
    # (softmax(scores) - onehot(labels)) / N: the probabilities, less 1 at each label.
    return (softmax(scores, axis=0) - onehot(labels, len(scores))) / np.size(labels)''',
    "svm_loss": '''\
def svm_loss(scores, labels):
    # The mean over examples (columns) of the sum over j != label of
    # max(0, s_j - s_label + 1); the label's own term is exactly 1 and is taken out.
    correct = np.take_along_axis(scores, np.expand_dims(labels, 0), axis=0)
    margins = np.maximum(scores - correct + 1, 0)
    return (np.sum(margins) - np.size(labels)) / np.size(labels)''',
    "svm_loss_grad": '''\
def svm_loss_grad(scores, labels):
    # 1/N to every class whose margin is positive; the label's score gets minus
    # their count (over N), since it appears in every one of those margins.
    correct = np.take_along_axis(scores, np.expand_dims(labels, 0), axis=0)
    hit = onehot(labels, len(scores))
    grad = ((scores - correct + 1 > 0) & ~hit).astype(scores.dtype)
    grad -= hit * np.sum(grad, axis=0)
    return grad / np.size(labels)''',
    "conv2d": '''\
def conv2d(x, w):
    # Valid cross-correlation, stride 1: y[n, f, i, j] = sum over c, a, b of
    # x[n, c, i + a, j + b] * w[f, c, a, b] (without n for one image; one channel:
    # y[i, j] = sum over a, b of x[i + a, j + b] * w[a, b]).
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[-2:], axis=(-2, -1))
    if w.ndim == 2:
        return np.tensordot(windows, w, axes=2)
    # windows [..., C, H', W', k1, k2] against w [F, C, k1, k2], then F before H', W'
    return np.moveaxis(np.tensordot(windows, w, axes=([-5, -2, -1], [1, 2, 3])), -1, -3)''',
    "conv2d_grad_w": '''\
def conv2d_grad_w(x, dy):
    # dW is the correlation of x with dy: dw[f, c, a, b] = sum over n, i, j of
    # dy[n, f, i, j] * x[n, c, i + a, j + b].
    windows = np.lib.stride_tricks.sliding_window_view(x, dy.shape[-2:], axis=(-2, -1))
    if dy.ndim == 2:
        return np.tensordot(windows, dy, axes=2)
    summed = list(range(dy.ndim - 3)) + [-2, -1]   # the images, if a batch, and i, j
    return np.tensordot(dy, windows, axes=(summed, summed))''',
    "conv2d_grad_x": '''\
def conv2d_grad_x(dy, w):
    # dX is the full convolution of dy with w rotated 180 degrees: pad dy by the
    # kernel size less one on every side and correlate; with channels, input
    # channel c gathers from every filter f (hence the swapped axes).
    k1, k2 = w.shape[-2:]
    padded = np.pad(dy, [(0, 0)] * (dy.ndim - 2) + [(k1 - 1, k1 - 1), (k2 - 1, k2 - 1)])
    rotated = w[..., ::-1, ::-1]
    return conv2d(padded, rotated if w.ndim == 2 else rotated.swapaxes(0, 1))''',
}

GLOBAL_NAMES = ("np", "math") + tuple(HELPERS)
# A call of a module-level function: `softmax(`, but not `np.logaddexp(`.
CALL = r"(?<![\w.])%s\("


def lookup(name: str, nargs: int) -> ArrayGate | None:
    name = ALIASES.get(name, name)
    if name not in CALLABLE:
        return None
    variants = OVERLOADS.get(name, (name,))
    return GATES[variants[min(max(nargs, 1), len(variants)) - 1]]


def helpers_for(code: str) -> list[str]:
    """The helper sources `code` needs, with the helpers those call, in table order."""
    wanted: set[str] = set()
    pending = [code]
    while pending:
        text = pending.pop()
        for name, source in HELPERS.items():
            if name not in wanted and re.search(CALL % name, text):
                wanted.add(name)
                pending.append(source.split("\n", 1)[1])
    return [source for name, source in HELPERS.items() if name in wanted]
