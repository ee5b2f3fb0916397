"""The gate table: every gate flatgrad knows, each declared once, in one row.

A row holds everything about its gate: the forward form and the local gradient
of each operand as the notes write them (Python over floats, `math.exp({a})`),
their fast-profile spellings, their numpy spellings where the mechanical one
(below) will not do, the vector-Jacobian products of the gates that work on
whole arrays, the shape rule, the domain, the teaching note, the notation, the
names users call it by, and its SymPy form for the gradient check.

Templates use `{a}` and `{b}` for the operands, `{out}` for the gate's cached
output and, in a VJP, `{up}` for the upstream gradient. A local gradient of
None means the operand is a compile-time constant (an exponent, an axis) or
integer labels, which never get a gradient.

An elementwise gate needs no VJP of its own: it is its local gradient times the
upstream gradient, the chain rule over every entry at once. Its numpy forms are
spelled from the Python ones through `NUMPY_FUNCTIONS`, the numpy target's
known-function table (as SymPy's printers keep one per language): a math call
on an operand becomes numpy's, a conditional becomes np.where, a call on
constants alone stays a Python float (a numpy scalar would widen float32).

Every other module reads this table; none branches on a gate's name.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import Callable

import numpy as np

from . import shapes

TARGET_SPELLINGS = ("python", "numpy", "numba", "torch", "jax")
LIBRARIES = ("torch", "jax")   # spelled from numpy's forms through LIBRARY_FUNCTIONS
_PLACEHOLDER = re.compile(r"\{(a|b|out|up)\}")


@lru_cache(maxsize=1024)
def _format_string(template: str) -> str:
    """A template of the table as a str.format string, so that filling it is one
    call: the operands {a} and {b} become the positional fields {0} and {1}, {out}
    and {up} stay named, and every other brace is doubled to print as itself."""
    pieces = _PLACEHOLDER.split(template)   # text, placeholder, text, ...
    pieces[0::2] = [text.replace("{", "{{").replace("}", "}}") for text in pieces[0::2]]
    pieces[1::2] = ["{%s}" % _FIELDS.get(name, name) for name in pieces[1::2]]
    return "".join(pieces)


_FIELDS = {"a": "0", "b": "1"}


@dataclass(frozen=True)
class Gate:
    name: str
    forward: str                          # Python over floats; "" for a gate over arrays only
    local: tuple[str | None, ...]         # one local gradient per operand, Python over floats
    stem: str                             # the pattern a stage's name follows: "{a}p{b}"
    note: str                             # the teaching note (what the gate does to gradients)
    kind: str = ""                        # the pattern it teaches: add, mul, max, unary ...
    # The fast profile's spellings, where they differ from the notes': written out
    # instead of a helper call, and with float literals. Each rounds exactly as the
    # notes' form does, so both profiles give the same numbers to the last bit.
    fast: str = ""
    fast_local: tuple[str | None, ...] = ()
    # numpy's spellings, where the mechanical one from the Python form would not do.
    numpy: str = ""
    numpy_local: tuple[str | None, ...] = ()
    # numba's, where it lacks the math function (numba's loops are Python's otherwise).
    numba: str = ""
    # torch's and JAX's, where the one derived from numpy's through LIBRARY_FUNCTIONS
    # will not do: pairs ("forward", text), ("local", per operand), ("vjp", per operand).
    torch: tuple = ()
    jax: tuple = ()
    # Gates over whole arrays: one vector-Jacobian product per operand (with {up}),
    # and per operand ranks where the VJP changes with them (matmul).
    vjp: tuple[str | None, ...] = ()
    by_rank: tuple = ()
    # and, for forward mode, one Jacobian-vector product per operand: the gate's
    # linear form, with {up} standing for that operand's tangent.
    jvp: tuple[str | None, ...] = ()
    shape: Callable = shapes.broadcast    # operands (shapes.Operand) -> the output's shape
    labels: tuple[int, ...] = ()          # operands that take integer class labels
    view: bool = False                    # the VJP may be a view of the upstream gradient
    spreads: bool = False                 # a reduction whose VJP only spreads {up}
    # How the gate is staged further: a function of a `Stager` and the operand nodes.
    expand: Callable | None = None
    primitive: Callable | None = None     # staged so at `--gates primitive` only
    roles: tuple[str, ...] = ()           # names its unnamed operands take (num, den)
    short: str = ""                       # the stage's name when the pattern is too long
    domain: str = ""                      # what a bare "math domain error" means here
    sympy: str = ""                       # the forward form in SymPy, where not plain math
    call: str = ""                        # the name users call it by ("" for operators)
    operator: str = ""                    # its operator symbol in the input language
    aliases: tuple[str, ...] = ()         # other names users call it by
    variadic: bool = False                # max(a, b, c) folds into max(max(a, b), c)
    notation: str = ""                    # typeset as a root, bars or a power
    symbol: str = ""                      # how the notes write it on the board (σ)
    # several operations the notes group into one gate and call by name where they
    # draw it or write it as a call (the slides' `L = sigmoid(s3)`)
    grouped: bool = False

    @property
    def arity(self) -> int:
        return len(self.local or self.vjp)

    @property
    def elementwise(self) -> bool:
        return self.shape is shapes.broadcast

    @property
    def on_scalars(self) -> bool:
        """Whether the gate has a Python form, for scalars."""
        return bool(self.forward)

    # -- the forms, per target and profile -----------------------------------
    def forward_form(self, profile: str = "teach", spelling: str = "python") -> str:
        if spelling in LIBRARIES:
            return self._library("forward", spelling) or \
                library_spelling(self.forward_form(profile, "numpy"), spelling)
        if spelling == "numpy":
            return self.numpy or numpy_spelling(self.forward)
        if spelling == "numba" and self.numba:
            return self.numba
        return self.fast if profile != "teach" and self.fast else self.forward

    @property
    def as_call(self) -> str:
        """The gate as a call of its own name: `sigmoid({a})`."""
        return f"{self.call}({', '.join('{%s}' % c for c in 'ab'[:self.arity])})"

    def local_form(self, i: int, profile: str = "teach", spelling: str = "python") -> str | None:
        if spelling in LIBRARIES:
            own = self._library("local", spelling)
            numpy = self.local_form(i, profile, "numpy")
            return own[i] if own else None if numpy is None else library_spelling(numpy, spelling)
        if spelling == "numpy":
            if self.numpy_local:
                return self.numpy_local[i]
            python = self.local_form(i, profile)
            return None if python is None else numpy_spelling(python)
        return self.fast_local[i] if profile != "teach" and self.fast_local else self.local[i]

    def vjp_form(self, i: int, ranks: tuple[int, ...], spelling: str = "numpy") -> str | None:
        """The VJP of a gate over whole arrays (None for an elementwise gate)."""
        if spelling in LIBRARIES and self.vjp:
            own = self._library("vjp", spelling)
            numpy = self.vjp_form(i, ranks)
            return own[i] if own else None if numpy is None else library_spelling(numpy, spelling)
        return dict(self.by_rank).get(ranks, self.vjp)[i] if self.vjp else None

    def _library(self, kind: str, spelling: str):
        return dict(getattr(self, spelling)).get(kind)

    def code(self, template: str, operands, out: str = "out") -> str:
        """Fill a template with operand texts and the name of the cached output."""
        # {up} is left for the caller to fill
        return _format_string(template).format(*operands, out=out, up="{up}")

    @property
    def forward_fn(self) -> Callable:
        # the fast form rounds as the notes' does and never overflows (a constant σ(-1000))
        return _compile_template(self.fast or self.forward, self.arity)


    @property
    def sympy_fn(self) -> Callable:
        """The forward form as a function of SymPy expressions (`out` unused)."""
        return _compile_template(self.sympy or self.forward, self.arity, "sympy")


# -- numpy's spelling of the Python forms ---------------------------------------

# The numpy target's known-function table: math's name -> numpy's (or a helper's).
NUMPY_FUNCTIONS = {
    "exp": "np.exp", "expm1": "np.expm1", "log": "np.log", "log1p": "np.log1p",
    "log2": "np.log2", "log10": "np.log10", "sqrt": "np.sqrt",
    "pow": "np.power", "fabs": "np.fabs", "sin": "np.sin", "cos": "np.cos", "tan": "np.tan",
    "asin": "np.arcsin", "acos": "np.arccos", "atan": "np.arctan", "atan2": "np.arctan2",
    "sinh": "np.sinh", "cosh": "np.cosh", "tanh": "np.tanh", "asinh": "np.arcsinh",
    "acosh": "np.arccosh", "atanh": "np.arctanh", "hypot": "np.hypot",
    "erf": "erf", "erfc": "erfc",
}


class _NumpySpelling(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        func = node.func
        on_operands = any(isinstance(n, ast.Name) and n.id.startswith("__")
                          for arg in node.args for n in ast.walk(arg))
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == "math" and on_operands:
            node.func = ast.parse(NUMPY_FUNCTIONS[func.attr], mode="eval").body
        return node

    def visit_IfExp(self, node: ast.IfExp):
        self.generic_visit(node)
        where = ast.parse("np.where", mode="eval").body
        return ast.Call(where, [node.test, node.body, node.orelse], [])


@lru_cache(maxsize=None)
def numpy_spelling(template: str) -> str:
    """A Python form of this table spelled for whole numpy arrays."""
    if "math." not in template and " if " not in template:
        return template
    names = _PLACEHOLDER.sub(lambda m: f"__{m.group(1)}", template)
    tree = _NumpySpelling().visit(ast.parse(names, mode="eval"))
    text = ast.unparse(tree).replace(" ** ", "**")  # as the table writes a power
    return re.sub(r"__(a|b|out|up)\b", r"{\1}", text)


# -- torch's and JAX's spellings of the numpy forms ---------------------------------

# Each library's known-function table: numpy's name (or a numpy helper's) -> the
# library's. A numpy function not listed keeps its name in the library's module
# (np.exp is torch.exp and jnp.exp).
LIBRARY_FUNCTIONS = {
    "torch": {"np.power": "torch.pow", "np.expand_dims": "torch.unsqueeze",
              "np.fabs": "torch.abs", "expit": "torch.sigmoid", "erf": "torch.erf",
              "erfc": "torch.erfc"},
    "jax": {"expit": "jax.nn.sigmoid", "erf": "jax.scipy.special.erf",
            "erfc": "jax.scipy.special.erfc"},
}
# The module each array library's code calls its functions through.
ARRAY_MODULES = {"numpy": "np", "torch": "torch", "jax": "jnp"}


def array_module(spelling: str) -> str:
    return ARRAY_MODULES.get(spelling, "np")


def copy_method(spelling: str) -> str:
    """How a gradient about to be summed into with `+=` gets an array of its own (a
    JAX array is never changed in place: its `+=` makes a new one)."""
    return {"torch": ".clone()", "jax": ""}.get(spelling, ".copy()")


class _LibrarySpelling(ast.NodeTransformer):
    def __init__(self, spelling: str):
        self.known = LIBRARY_FUNCTIONS[spelling]
        self.module = ARRAY_MODULES[spelling]

    def visit_Attribute(self, node: ast.Attribute):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "np":
            name = self.known.get(f"np.{node.attr}", f"{self.module}.{node.attr}")
            return ast.parse(name, mode="eval").body
        return node

    def visit_Name(self, node: ast.Name):
        if node.id in self.known:
            return ast.parse(self.known[node.id], mode="eval").body
        return node


@lru_cache(maxsize=None)
def library_spelling(template: str, spelling: str) -> str:
    """A numpy form of this table spelled for torch or JAX."""
    names = _PLACEHOLDER.sub(lambda m: f"__{m.group(1)}", template)
    tree = _LibrarySpelling(spelling).visit(ast.parse(names, mode="eval"))
    text = ast.unparse(tree).replace(" ** ", "**")  # as the table writes a power
    return re.sub(r"__(a|b|out|up)\b", r"{\1}", text)


# -- helpers ---------------------------------------------------------------------

# Module-level functions the generated code may call, per target spelling; only the
# ones a module uses (and the ones those call) are written into it. Each says why it
# is not written inline.
HELPERS = {
    "python": {
        "sigmoid": '''\
def sigmoid(z):
    # 1 / (1 + exp(-z)), except where exp(-z) would overflow: there 1 + exp(z)
    # rounds to 1 and sigmoid(z) is exp(z), so sigmoid(-1000.0) is 0.0, not an
    # OverflowError. The fast profile writes this same expression inline.
    return 1.0 / (1.0 + math.exp(-z)) if z > -709.0 else math.exp(z)''',
        "softplus": '''\
def softplus(z):
    # log(1 + exp(z)) without overflow: for large z it is z + log1p(exp(-z)).
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))''',
        "logaddexp": '''\
def logaddexp(u, v):
    # log(exp(u) + exp(v)), shifted by the larger argument so exp never overflows.
    big = u if u >= v else v
    if big == -math.inf:
        return -math.inf
    return big + math.log(math.exp(u - big) + math.exp(v - big))''',
    },
    "numpy": {
        "expit": '''\
def expit(z):
    # The sigmoid over arrays (scipy's name), as the scalar code computes it, in
    # z's own dtype; where exp(-z) overflows (z <= -709) 1 + exp(z) rounds to 1
    # and the sigmoid is exp(z), so expit(-1000.0) is 0.0, without a warning.
    with np.errstate(over="ignore"):
        s = 1.0 / (1.0 + np.exp(-z))
    tail = z <= -709.0
    if np.any(tail):
        s = np.where(tail, np.exp(np.where(tail, z, 0.0)), s)
    return s''',
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
        "convolve2d": '''\
def convolve2d(x, w):
    # True convolution (kernel flipped), valid, stride 1: y[i, j] = sum over a, b of
    # x[i - a, j - b] * w[a, b], i and j counted from where the whole kernel fits;
    # the cross-correlation with w rotated 180 degrees (channels as in conv2d).
    return conv2d(x, w[..., ::-1, ::-1])''',
        "convolve2d_grad_w": '''\
def convolve2d_grad_w(x, dy):
    # dL/dW[a, b] = sum over i, j of dL/dY[i, j] * X[i - a, j - b]: the convolution
    # of x over dy, which is the correlation of x with dy rotated 180 degrees.
    return conv2d_grad_w(x, dy)[..., ::-1, ::-1]''',
        "convolve2d_grad_x": '''\
def convolve2d_grad_x(dy, w):
    # dL/dX = dL/dY * flip180(w): the full convolution of dy with w rotated 180
    # degrees, which is the full correlation of dy with w itself.
    return conv2d_grad_x(dy, w[..., ::-1, ::-1])''',
    },
}
HELPERS["numba"] = HELPERS["python"]   # compiled by numba as they are
# The exports' helpers: the numpy helpers' names and meanings, in each library's own
# functions (the library differentiates none of them: the generated backward does).
HELPERS["torch"] = {
    "logsumexp": '''\
def logsumexp(z, axis=None):
    # log(sum(exp(z))) over every entry, or along an axis; torch's is stable.
    return torch.logsumexp(z.reshape(-1), 0) if axis is None else torch.logsumexp(z, axis)''',
    "softmax": '''\
def softmax(z, axis=None):
    # exp(z) / sum(exp(z)) over every entry, or along an axis; torch's is stable.
    if axis is None:
        return torch.softmax(z.reshape(-1), 0).reshape(z.shape)
    return torch.softmax(z, axis)''',
    "onehot": '''\
def onehot(labels, classes, dtype):
    # 1 at each column's label: classes run down axis 0, examples along axis 1.
    rows = torch.arange(classes).reshape((-1,) + (1,) * labels.dim())
    return (rows == labels).to(dtype)''',
    "softmax_loss": '''\
def softmax_loss(scores, labels):
    # The mean over examples (columns) of -log softmax(scores)[label].
    logp = torch.log_softmax(scores, 0)
    return -torch.mean(torch.take_along_dim(logp, labels.unsqueeze(0), 0))''',
    "softmax_loss_grad": '''\
def softmax_loss_grad(scores, labels):
    # (softmax(scores) - onehot(labels)) / N: the probabilities, less 1 at each label.
    hit = onehot(labels, len(scores), scores.dtype)
    return (torch.softmax(scores, 0) - hit) / labels.numel()''',
    "svm_loss": '''\
def svm_loss(scores, labels):
    # The mean over examples of the sum over j != label of max(0, s_j - s_label + 1).
    correct = torch.take_along_dim(scores, labels.unsqueeze(0), 0)
    margins = torch.clamp(scores - correct + 1, min=0.0)
    return (torch.sum(margins) - labels.numel()) / labels.numel()''',
    "svm_loss_grad": '''\
def svm_loss_grad(scores, labels):
    # 1/N to every class whose margin is positive; the label's score gets minus
    # their count (over N).
    correct = torch.take_along_dim(scores, labels.unsqueeze(0), 0)
    hit = onehot(labels, len(scores), scores.dtype)
    grad = (scores - correct + 1 > 0).to(scores.dtype) * (1 - hit)
    return (grad - hit * torch.sum(grad, 0)) / labels.numel()''',
    "conv2d": '''\
def conv2d(x, w):
    # Valid cross-correlation, stride 1, as flatgrad's numpy helper: one window
    # offset (a, b) of the kernel at a time.
    k1, k2 = w.shape[-2:]
    rows, cols = x.shape[-2] - k1 + 1, x.shape[-1] - k2 + 1
    if w.dim() == 2:
        return sum(x[..., a:a + rows, b:b + cols] * w[a, b]
                   for a in range(k1) for b in range(k2))
    return sum(torch.einsum("...chw,fc->...fhw", x[..., a:a + rows, b:b + cols], w[:, :, a, b])
               for a in range(k1) for b in range(k2))''',
    "conv2d_grad_w": '''\
def conv2d_grad_w(x, dy):
    # dW is the correlation of x with dy, one kernel offset (a, b) at a time.
    rows, cols = dy.shape[-2:]
    k1, k2 = x.shape[-2] - rows + 1, x.shape[-1] - cols + 1
    if dy.dim() == 2:
        return torch.stack([torch.stack([torch.sum(x[a:a + rows, b:b + cols] * dy)
                                         for b in range(k2)]) for a in range(k1)])
    return torch.stack([torch.stack([torch.einsum("...fhw,...chw->fc", dy,
                                                  x[..., a:a + rows, b:b + cols])
                                     for b in range(k2)], -1) for a in range(k1)], -2)''',
    "conv2d_grad_x": '''\
def conv2d_grad_x(dy, w):
    # dX is the full convolution of dy with w rotated 180 degrees.
    k1, k2 = w.shape[-2:]
    padded = torch.nn.functional.pad(dy, (k2 - 1, k2 - 1, k1 - 1, k1 - 1))
    rotated = torch.flip(w, (-2, -1))
    return conv2d(padded, rotated if w.dim() == 2 else rotated.transpose(0, 1))''',
    "convolve2d": '''\
def convolve2d(x, w):
    # True convolution (kernel flipped): the cross-correlation with w rotated 180 degrees.
    return conv2d(x, torch.flip(w, (-2, -1)))''',
    "convolve2d_grad_w": '''\
def convolve2d_grad_w(x, dy):
    # The convolution of x over dy: the correlation's gradient, rotated 180 degrees.
    return torch.flip(conv2d_grad_w(x, dy), (-2, -1))''',
    "convolve2d_grad_x": '''\
def convolve2d_grad_x(dy, w):
    # The full convolution of dy with w rotated 180 degrees: the full correlation with w.
    return conv2d_grad_x(dy, torch.flip(w, (-2, -1)))''',
}
HELPERS["jax"] = {
    "logsumexp": '''\
def logsumexp(z, axis=None):
    # log(sum(exp(z))) over every entry, or along an axis; JAX's is stable.
    return jax.scipy.special.logsumexp(z, axis=axis)''',
    "softmax": '''\
def softmax(z, axis=None):
    # exp(z) / sum(exp(z)), shifted by the largest entry so that exp never overflows.
    e = jnp.exp(z - jnp.max(z, axis=axis, keepdims=True))
    return e / jnp.sum(e, axis=axis, keepdims=True)''',
    "onehot": '''\
def onehot(labels, classes):
    # True at each column's label: classes run down axis 0, examples along axis 1.
    return jnp.arange(classes).reshape((-1,) + (1,) * jnp.ndim(labels)) == labels''',
    "softmax_loss": '''\
def softmax_loss(scores, labels):
    # The mean over examples (columns) of -log softmax(scores)[label].
    logp = jax.nn.log_softmax(scores, axis=0)
    return -jnp.mean(jnp.take_along_axis(logp, jnp.expand_dims(labels, 0), axis=0))''',
    "softmax_loss_grad": '''\
def softmax_loss_grad(scores, labels):
    # (softmax(scores) - onehot(labels)) / N: the probabilities, less 1 at each label.
    return (softmax(scores, axis=0) - onehot(labels, len(scores))) / jnp.size(labels)''',
    "svm_loss": '''\
def svm_loss(scores, labels):
    # The mean over examples of the sum over j != label of max(0, s_j - s_label + 1).
    correct = jnp.take_along_axis(scores, jnp.expand_dims(labels, 0), axis=0)
    margins = jnp.maximum(scores - correct + 1, 0)
    return (jnp.sum(margins) - jnp.size(labels)) / jnp.size(labels)''',
    "svm_loss_grad": '''\
def svm_loss_grad(scores, labels):
    # 1/N to every class whose margin is positive; the label's score gets minus
    # their count (over N).
    correct = jnp.take_along_axis(scores, jnp.expand_dims(labels, 0), axis=0)
    hit = onehot(labels, len(scores))
    grad = ((scores - correct + 1 > 0) & ~hit).astype(scores.dtype)
    return (grad - hit * jnp.sum(grad, axis=0)) / jnp.size(labels)''',
    "conv2d": '''\
def conv2d(x, w):
    # Valid cross-correlation, stride 1, as flatgrad's numpy helper: one window
    # offset (a, b) of the kernel at a time.
    k1, k2 = w.shape[-2:]
    rows, cols = x.shape[-2] - k1 + 1, x.shape[-1] - k2 + 1
    if w.ndim == 2:
        return sum(x[..., a:a + rows, b:b + cols] * w[a, b]
                   for a in range(k1) for b in range(k2))
    return sum(jnp.einsum("...chw,fc->...fhw", x[..., a:a + rows, b:b + cols], w[:, :, a, b])
               for a in range(k1) for b in range(k2))''',
    "conv2d_grad_w": '''\
def conv2d_grad_w(x, dy):
    # dW is the correlation of x with dy, one kernel offset (a, b) at a time.
    rows, cols = dy.shape[-2:]
    k1, k2 = x.shape[-2] - rows + 1, x.shape[-1] - cols + 1
    if dy.ndim == 2:
        return jnp.array([[jnp.sum(x[a:a + rows, b:b + cols] * dy) for b in range(k2)]
                          for a in range(k1)])
    return jnp.stack([jnp.stack([jnp.einsum("...fhw,...chw->fc", dy,
                                            x[..., a:a + rows, b:b + cols])
                                 for b in range(k2)], -1) for a in range(k1)], -2)''',
    "conv2d_grad_x": '''\
def conv2d_grad_x(dy, w):
    # dX is the full convolution of dy with w rotated 180 degrees.
    k1, k2 = w.shape[-2:]
    padded = jnp.pad(dy, [(0, 0)] * (dy.ndim - 2) + [(k1 - 1, k1 - 1), (k2 - 1, k2 - 1)])
    rotated = w[..., ::-1, ::-1]
    return conv2d(padded, rotated if w.ndim == 2 else rotated.swapaxes(0, 1))''',
    "convolve2d": '''\
def convolve2d(x, w):
    # True convolution (kernel flipped): the cross-correlation with w rotated 180 degrees.
    return conv2d(x, w[..., ::-1, ::-1])''',
    "convolve2d_grad_w": '''\
def convolve2d_grad_w(x, dy):
    # The convolution of x over dy: the correlation's gradient, rotated 180 degrees.
    return conv2d_grad_w(x, dy)[..., ::-1, ::-1]''',
    "convolve2d_grad_x": '''\
def convolve2d_grad_x(dy, w):
    # The full convolution of dy with w rotated 180 degrees: the full correlation with w.
    return conv2d_grad_x(dy, w[..., ::-1, ::-1])''',
}
# A numpy module computes its stages of scalars alone with the Python helpers (a
# numpy scalar would widen float32): their names differ from the array helpers'.
assert not set(HELPERS["python"]) & set(HELPERS["numpy"])
# The module globals of each target's generated code: user variables never shadow them.
MODULES = {"python": ("math",), "numpy": ("np", "math"), "numba": ("math", "np"),
           "torch": ("torch", "math"), "jax": ("jax", "jnp", "math")}
GLOBAL_NAMES = tuple(dict.fromkeys(
    name for spelling in TARGET_SPELLINGS for name in MODULES[spelling] + tuple(HELPERS[spelling])))
# A call of a module-level function: `softmax(`, but not `np.logaddexp(`.
_CALL = r"(?<![\w.])%s\("


def helpers_for(code: str, spelling: str) -> list[str]:
    """The helpers `code` calls, with the helpers those call, in table order."""
    table = helper_table(spelling)
    wanted: set[str] = set()
    pending = [code]
    while pending:
        text = pending.pop()
        for name, source in table.items():
            if name not in wanted and name + "(" in text and re.search(_CALL % name, text):
                wanted.add(name)
                pending.append(source.split("\n", 1)[1])
    return [name for name in table if name in wanted]


def helper_table(spelling: str) -> dict[str, str]:
    """The helpers a module of `spelling` may define: a numpy module's stages of
    scalars alone call the Python ones."""
    return {**HELPERS["numpy"], **HELPERS["python"]} if spelling == "numpy" \
        else HELPERS[spelling]   # an export's stages are all tensors


_FN_CACHE: dict = {}


def _compile_template(template: str, arity: int, over: str = "float") -> Callable:
    """Turn one of this table's own templates into a Python function.

    Only templates written in this file are ever compiled: they give the
    compile-time constant folder the float operations that the generated code
    performs, and `flatgrad check` the same formulas over SymPy expressions.
    """
    key = (template, arity, over)
    if key not in _FN_CACHE:
        params = ", ".join(list("ab"[:arity]) + ["out"])
        body = _PLACEHOLDER.sub(lambda m: m.group(1), template)
        if over == "sympy":
            namespace = _sympy_namespace()
        else:
            namespace = {"math": math}
            for helper_source in HELPERS["python"].values():
                exec(helper_source, namespace)  # the table's own helpers
        _FN_CACHE[key] = eval(f"lambda {params}: {body}", namespace)
    return _FN_CACHE[key]


def _sympy_namespace() -> dict:
    """The math module as the templates use it, spelled in SymPy."""
    import sympy
    same = ("sqrt", "exp", "log", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
            "tanh", "asinh", "acosh", "atanh", "erf", "erfc", "atan2")
    as_sympy = {name: getattr(sympy, name) for name in same}
    as_sympy.update(pow=sympy.Pow, fabs=sympy.Abs, pi=sympy.pi, e=sympy.E, tau=2 * sympy.pi,
                    expm1=lambda a: sympy.exp(a) - 1, log1p=lambda a: sympy.log(1 + a),
                    log2=lambda a: sympy.log(a, 2), log10=lambda a: sympy.log(a, 10),
                    hypot=lambda a, b: sympy.sqrt(a**2 + b**2))
    return {"math": SimpleNamespace(**as_sympy), "sympy": sympy, "np": np,
            **{name: fn for name, fn in globals().items() if name.startswith("sympy_")}}


# The gates over whole arrays in SymPy, over numpy arrays of SymPy expressions
# (`flatgrad check` differentiates a small array program entry by entry).

def sympy_logsumexp(z, axis=None):
    import sympy
    return _over_axis(lambda v: sympy.log(sum(sympy.exp(e) for e in v)), z, axis)


def sympy_softmax(z, axis=None):
    import sympy
    z = np.asarray(z, dtype=object)
    exps = np.vectorize(sympy.exp, otypes=[object])(z)
    total = np.sum(exps) if axis is None else np.sum(exps, axis=int(axis), keepdims=True)
    return exps / total


def sympy_softmax_loss(scores, labels):
    import sympy
    scores = np.asarray(scores, dtype=object).reshape(len(scores), -1)
    labels = np.asarray(labels).reshape(-1)
    terms = [sympy.log(sum(sympy.exp(s) for s in scores[:, n])) - scores[labels[n], n]
             for n in range(len(labels))]
    return sum(terms) / len(labels)


def sympy_svm_loss(scores, labels):
    import sympy
    scores = np.asarray(scores, dtype=object).reshape(len(scores), -1)
    labels = np.asarray(labels).reshape(-1)
    terms = [sympy.Max(0, scores[j, n] - scores[labels[n], n] + 1)
             for n in range(len(labels)) for j in range(len(scores)) if j != labels[n]]
    return sum(terms) / len(labels)


def sympy_conv2d(x, w):
    x, w = np.asarray(x, dtype=object), np.asarray(w, dtype=object)
    k1, k2 = w.shape[-2:]
    rows, cols = x.shape[-2] - k1 + 1, x.shape[-1] - k2 + 1
    if w.ndim == 2:
        return np.array([[np.sum(x[i:i + k1, j:j + k2] * w) for j in range(cols)]
                         for i in range(rows)], dtype=object)
    images = x.reshape((-1,) + x.shape[-3:])
    out = np.array([[[[np.sum(image[:, i:i + k1, j:j + k2] * kernel) for j in range(cols)]
                      for i in range(rows)] for kernel in w] for image in images], dtype=object)
    return out.reshape(x.shape[:-3] + out.shape[1:])


def sympy_convolve2d(x, w):
    return sympy_conv2d(x, np.asarray(w, dtype=object)[..., ::-1, ::-1])


def _over_axis(reduce, z, axis):
    z = np.asarray(z, dtype=object)
    if axis is None:
        return reduce(z.ravel())
    return np.apply_along_axis(reduce, int(axis), z)


# -- expansions -------------------------------------------------------------
# Each takes a Stager `s` (with s.gate(name, *args), s.const(value), s.is_const,
# s.value and s.nodes) and the operand nodes, and returns the node standing for
# the gate.


def _expand_div(s, a, b):
    # The notes stage a / b as invden = 1.0 / den; f = num * invden. A constant
    # denominator keeps the single division: nothing there has a gradient.
    if s.is_const(b):
        return s.gate("div", a, b, expand=False)
    inverse = s.gate("recip", b)
    if s.is_const(a) and s.value(a) == 1:
        return inverse
    return s.gate("mul", a, inverse)


def _expand_recip(s, a):
    # 1.0 / (1 + exp(-z)), the notes' spelling of the sigmoid, is the sigmoid gate
    # (its local gradient (1 - f) * f), except at `--gates primitive`
    inner = _gates_of(s, a, "add")
    if s.level != "primitive" and inner and s.is_const(inner[0]) and s.value(inner[0]) == 1:
        exp = _gates_of(s, inner[1], "exp")
        neg = exp and _gates_of(s, exp[0], "neg")
        if neg:
            return s.gate("sigmoid", neg[0])
    return s.gate("recip", a, expand=False)


def _gates_of(s, index, name):
    """The operands of node `index` if it is a stage of gate `name`, else ()."""
    node = s.nodes[index]
    return node.args if node.kind == "stage" and node.gate.name == name else ()


def _expand_pow(s, a, b):
    if not s.is_const(b):
        return s.gate("pow", a, b, expand=False)
    exponent = s.value(b)
    if exponent == 0:   # x**0 is 1 everywhere (0**0 included): its gradient is 0
        return s.const(1)
    if exponent == 1:
        return a
    special = {2: "square", 3: "cube", 0.5: "sqrt", -1: "recip"}.get(exponent)
    if special:
        return s.gate(special, a)
    if float(exponent).is_integer():
        return s.gate("powi", a, b)
    return s.gate("powr", a, b)


def _expand_sum(s, a):
    # sum(W²), the L2 penalty, is one gate: a dot product of W with itself makes
    # no [H x D] array of squares, and its gradient 2·W is one pass
    operand = s.nodes[a]
    if operand.kind == "stage" and operand.gate.name == "square" and operand.shape:
        return s.gate("sumsq", operand.args[0])
    return s.gate("sum", a, expand=False)


def _primitive_sigmoid(s, a):
    # sigmoid(a) = 1 / (1 + exp(-a)), the four gates of the notes' neuron circuit
    return s.gate("recip", s.gate("add", s.const(1), s.gate("exp", s.gate("neg", a))))


def _primitive_div(s, a, b):
    return s.gate("mul", a, s.gate("recip", b))


def _primitive_tanh(s, a):
    # tanh(a) = 2 * sigmoid(2a) - 1
    two_a = s.gate("mul", s.const(2), a)
    return s.gate("sub", s.gate("mul", s.const(2), _primitive_sigmoid(s, two_a)), s.const(1))


# -- the table --------------------------------------------------------------

ADD = "add distributes: it passes the upstream gradient unchanged to every input"
MUL = "mul swaps: each input's local gradient is the value of the other input"
MAX = ("max routes: the whole gradient goes to the larger input and none to the other; "
       "at a tie it goes to the first")
ONE_INPUT = "a one-input gate scales the upstream gradient by its local slope"
LOG = "log of zero or a negative number"
POWER = "a negative number to a fractional power, or zero to a negative power"
OVERFLOW = "overflow: the result is too large for a float"
FORK = "a fork adds: a value used in several places sums the gradients flowing back from each"
SPREAD = "a sum spreads: every summed entry gets the whole upstream gradient"


def _unary(name, forward, local, note=ONE_INPUT, **facets):
    """A one-operand math gate called by its own name, its stage named after it."""
    return Gate(name, forward, (local,), f"{name}{{a}}", note, facets.pop("kind", "unary"),
                call=name, **facets)


_GATES = [
    # -- arithmetic --------------------------------------------------------------
    Gate("add", "{a} + {b}", ("1", "1"), "{a}p{b}", ADD, "add", short="total", operator="+"),
    Gate("sub", "{a} - {b}", ("1", "-1"), "{a}m{b}",
         "sub distributes like add, with the sign flipped for the subtracted input", "add",
         short="diff", operator="-"),
    Gate("mul", "{a} * {b}", ("{b}", "{a}"), "{a}{b}", MUL, "mul", short="prod", operator="*"),
    Gate("div", "{a} / {b}", ("1.0 / {b}", "-{out} / {b}"), "{a}over{b}",
         "div scales the numerator's gradient by 1/den and gives the denominator -f/den",
         "div", expand=_expand_div, primitive=_primitive_div, roles=("num", "den"),
         short="quot", operator="/"),
    Gate("recip", "1.0 / {a}", ("-1.0 / ({a}**2)",), "inv{a}", "1/x has local gradient -1/x²",
         "unary", fast_local=("-1.0 / {a}**2",), expand=_expand_recip),
    Gate("neg", "-{a}", ("-1",), "neg{a}", "negation flips the sign of the gradient", "add",
         operator="neg"),
    Gate("copy", "{a}", ("1",), "copy{a}", "a copy passes the gradient unchanged", "add"),
    Gate("square", "{a}**2", ("2 * {a}",), "{a}sqr", "x² has local gradient 2x", "pow",
         fast_local=("2.0 * {a}",)),
    Gate("cube", "{a}**3", ("3 * {a}**2",), "{a}cube", "x³ has local gradient 3x²", "pow",
         fast_local=("3.0 * {a}**2",)),
    Gate("powi", "{a}**{b}", ("{b} * {a}**({b} - 1)", None), "{a}pow",
         "x**c has local gradient c·x**(c-1)", "pow"),
    Gate("powr", "math.pow({a}, {b})", ("{b} * math.pow({a}, {b} - 1)", None), "{a}pow",
         "x**c has local gradient c·x**(c-1)", "pow", domain=POWER),
    # a**b with b free: where a < 0 the value may exist (b an integer) but not the
    # gradient in b (a**b is undefined for b nearby): that partial is nan, as in JAX;
    # where a = 0 it is 0 (the limit of log(a)·a**b for b > 0)
    Gate("pow", "math.pow({a}, {b})",
         ("{b} * math.pow({a}, {b} - 1)",
          "math.log({a}) * {out} if {a} > 0.0 else 0.0 if {a} == 0.0 else math.nan"),
         "{a}pow{b}", "a**b has local gradients b·a**(b-1) and log(a)·a**b", "pow",
         expand=_expand_pow, domain=POWER, call="pow", operator="**", aliases=("power",),
         notation="power",
         numpy_local=("{b} * np.power({a}, {b} - 1)",
                      "np.log(np.where({a} > 0.0, {a}, np.where({a} < 0.0, {a} * np.nan, 1.0)))"
                      " * {out}")),
    # -- math functions ------------------------------------------------------------
    _unary("sqrt", "math.sqrt({a})", "0.5 / {out}",
           "√x has local gradient 1/(2√x), read from the cached output",
           domain="square root of a negative number", aliases=("√",), notation="root",
           symbol="√"),
    _unary("cbrt", "math.cbrt({a})", "1.0 / (3.0 * {out}**2)",
           "∛x has local gradient 1/(3∛x²), read from the cached output (infinite at 0)",
           domain="the cube root's gradient at 0, which is infinite", symbol="∛",
           numpy="np.cbrt({a})", numba="np.cbrt({a})",
           torch=(("forward", "torch.sign({a}) * torch.abs({a})**(1.0 / 3.0)"),),
           sympy="sympy.sign({a}) * sympy.Abs({a})**sympy.Rational(1, 3)"),
    _unary("exp", "math.exp({a})", "{out}",
           "exp is its own derivative: the local gradient is the cached output",
           domain=OVERFLOW),
    _unary("expm1", "math.expm1({a})", "{out} + 1.0", domain=OVERFLOW),
    _unary("log", "math.log({a})", "1.0 / {a}", "log has local gradient 1/x", domain=LOG,
           aliases=("ln",)),
    _unary("log1p", "math.log1p({a})", "1.0 / (1.0 + {a})",
           domain="log1p of a number at or below -1"),
    _unary("log2", "math.log2({a})", "1.0 / ({a} * math.log(2.0))", domain=LOG),
    _unary("log10", "math.log10({a})", "1.0 / ({a} * math.log(10.0))", domain=LOG),
    _unary("sin", "math.sin({a})", "math.cos({a})"),
    _unary("cos", "math.cos({a})", "-math.sin({a})"),
    _unary("tan", "math.tan({a})", "1.0 + {out}**2"),
    _unary("asin", "math.asin({a})", "1.0 / math.sqrt(1.0 - {a}**2)",
           domain="asin of a number outside [-1, 1]", aliases=("arcsin",)),
    _unary("acos", "math.acos({a})", "-1.0 / math.sqrt(1.0 - {a}**2)",
           domain="acos of a number outside [-1, 1]", aliases=("arccos",)),
    _unary("atan", "math.atan({a})", "1.0 / (1.0 + {a}**2)", aliases=("arctan",)),
    _unary("sinh", "math.sinh({a})", "math.cosh({a})", domain=OVERFLOW),
    _unary("cosh", "math.cosh({a})", "math.sinh({a})", domain=OVERFLOW),
    _unary("tanh", "math.tanh({a})", "1.0 - {out}**2",
           "tanh has local gradient 1 - tanh², read from the cached output",
           primitive=_primitive_tanh),
    _unary("asinh", "math.asinh({a})", "1.0 / math.sqrt({a}**2 + 1.0)", aliases=("arcsinh",)),
    _unary("acosh", "math.acosh({a})", "1.0 / math.sqrt({a}**2 - 1.0)",
           domain="acosh of a number below 1", aliases=("arccosh",)),
    _unary("atanh", "math.atanh({a})", "1.0 / (1.0 - {a}**2)",
           domain="atanh of a number outside (-1, 1)", aliases=("arctanh",)),
    _unary("erf", "math.erf({a})", "2.0 / math.sqrt(math.pi) * math.exp(-{a}**2)"),
    _unary("erfc", "math.erfc({a})", "-2.0 / math.sqrt(math.pi) * math.exp(-{a}**2)"),
    Gate("atan2", "math.atan2({a}, {b})",
         ("{b} / ({a}**2 + {b}**2)", "-{a} / ({a}**2 + {b}**2)"), "atan2{a}{b}",
         "atan2(y, x) has local gradients x/(x²+y²) and -y/(x²+y²)", "unary", call="atan2",
         aliases=("arctan2",)),
    Gate("hypot", "math.hypot({a}, {b})",
         ("{a} / {out} if {out} else 0.0", "{b} / {out} if {out} else 0.0"), "hypot{a}{b}",
         "hypot(x, y) has local gradients x/h and y/h, read from the cached output h "
         "(0 at the kink h = 0, as for abs)", "unary", call="hypot", variadic=True,
         # h is 0 only where both operands are: dividing by 1 there gives the 0 the
         # Python form chooses, without a 0/0 warning
         numpy_local=("{a} / np.where({out} == 0.0, 1.0, {out})",
                      "{b} / np.where({out} == 0.0, 1.0, {out})")),
    # -- the neural-network gates --------------------------------------------------
    # the notes' own line, which overflows below about -709 (the stage is then named);
    # the fast form is the helper's, exact there
    Gate("sigmoid", "1.0 / (1 + math.exp(-{a}))", ("(1 - {out}) * {out}",), "sig{a}",
         "sigmoid is grouped as one gate because its local gradient (1 - σ)·σ is so simple",
         "sigmoid", primitive=_primitive_sigmoid,
         # the students' note stays about gradients; the overflow is the error's to explain
         domain="overflow: the notes' 1.0 / (1 + math.exp(-x)) overflows for x below about "
                "-709 (the fast profile's form gives exp(x) there)",
         sympy="1 / (1 + sympy.exp(-{a}))",
         fast="1.0 / (1.0 + math.exp(-{a})) if {a} > -709.0 else math.exp({a})",
         fast_local=("(1.0 - {out}) * {out}",), call="sigmoid", numpy="expit({a})",
         aliases=("σ", "logistic", "expit"), symbol="σ", grouped=True),
    Gate("softplus", "softplus({a})", ("sigmoid({a})",), "softplus{a}",
         "softplus has the sigmoid as its local gradient", "unary",
         sympy="sympy.log(1 + sympy.exp({a}))", call="softplus",
         numpy="np.logaddexp(0.0, {a})", numpy_local=("expit({a})",),
         torch=(("forward", "torch.nn.functional.softplus({a})"),)),
    Gate("logaddexp", "logaddexp({a}, {b})",
         ("sigmoid({a} - {b})", "sigmoid({b} - {a})"), "lse{a}{b}",
         "log-sum-exp routes softly: each input gets the share exp(x - f) = σ(a - b) of the "
         "gradient (the sigmoid form stays exact where f has rounded)",
         "max", sympy="sympy.log(sympy.exp({a}) + sympy.exp({b}))", call="logaddexp",
         variadic=True, numpy="np.logaddexp({a}, {b})",
         numpy_local=("expit({a} - {b})", "expit({b} - {a})")),
    Gate("relu", "{a} if {a} > 0.0 else 0.0", ("1.0 if {a} > 0.0 else 0.0",), "relu{a}",
         "relu routes: the gradient passes where the input was positive and stops elsewhere "
         "(at 0 it stops)", "max", sympy="sympy.Max({a}, 0)", call="relu",
         numpy="np.maximum({a}, 0.0)", numpy_local=("{a} > 0.0",),
         torch=(("forward", "torch.clamp({a}, min=0.0)"),)),
    Gate("max", "{a} if {a} >= {b} else {b}",
         ("1.0 if {a} >= {b} else 0.0", "0.0 if {a} >= {b} else 1.0"), "max{a}{b}", MAX, "max",
         sympy="sympy.Max({a}, {b})", call="max", aliases=("maximum",), variadic=True,
         numpy="np.maximum({a}, {b})", numpy_local=("{a} >= {b}", "{a} < {b}"),
         torch=(("forward", "torch.where({a} >= {b}, {a}, {b})"),)),
    Gate("min", "{a} if {a} <= {b} else {b}",
         ("1.0 if {a} <= {b} else 0.0", "0.0 if {a} <= {b} else 1.0"), "min{a}{b}",
         "min routes: the whole gradient goes to the smaller input; at a tie to the first",
         "max", sympy="sympy.Min({a}, {b})", call="min", aliases=("minimum",), variadic=True,
         numpy="np.minimum({a}, {b})", numpy_local=("{a} <= {b}", "{a} > {b}"),
         torch=(("forward", "torch.where({a} <= {b}, {a}, {b})"),)),
    Gate("abs", "math.fabs({a})", ("1.0 if {a} > 0.0 else -1.0 if {a} < 0.0 else 0.0",),
         "abs{a}", "abs routes the gradient with the sign of its input (0 at the kink)", "max",
         call="abs", aliases=("fabs",), notation="bars", numpy="np.abs({a})",
         numpy_local=("np.sign({a})",)),

    # -- gates over whole arrays ----------------------------------------------------
    Gate("matmul", "", (), "{a}{b}",
         "matmul by dimension analysis: dW = dD @ X.T and dX = W.T @ dD are the only "
         "products with the shapes of W and X", "mul", short="prod", shape=shapes.matmul,
         numpy="{a} @ {b}", vjp=("{up} @ {b}.T", "{a}.T @ {up}"), operator="@",
         jvp=("{up} @ {b}", "{a} @ {up}"),
         by_rank=(((2, 1), ("np.outer({up}, {b})", "{a}.T @ {up}")),
                  ((1, 2), ("{b} @ {up}", "np.outer({a}, {up})")),
                  ((1, 1), ("{up} * {b}", "{up} * {a}"))), sympy="{a} @ {b}"),
    Gate("transpose", "", (), "{a}T", "transpose passes the gradient back transposed", "add",
         shape=shapes.transpose, numpy="{a}.T", vjp=("{up}.T",), view=True, operator=".T",
         jvp=("{up}.T",),
         sympy="{a}.T"),
    Gate("sum", "", (), "sum{a}", SPREAD, "add", short="total", shape=shapes.reduce_all,
         numpy="np.sum({a})", vjp=("{up}",), spreads=True, expand=_expand_sum, call="sum",
         jvp=("np.sum({up})",),
         sympy="np.sum({a})"),
    Gate("sumsq", "", (), "sumsq{a}",
         "a sum of squares (sum(W²), as in L2 regularisation) has the gradient 2·W", "pow",
         short="sumsq", shape=shapes.reduce_all, numpy="np.vdot({a}, {a})",
         torch=(("forward", "torch.sum({a} * {a})"),), jax=(("forward", "jnp.sum({a} * {a})"),),
         vjp=("2 * {up} * {a}",), sympy="np.sum({a} * {a})", jvp=("2 * np.vdot({a}, {up})",)),
    Gate("sum_axis", "", (), "sum{a}", SPREAD + " along the summed axis", "add", short="total",
         shape=shapes.reduce_axis, numpy="np.sum({a}, axis={b})",
         vjp=("np.expand_dims({up}, {b})", None), spreads=True, view=True, call="sum",
         jvp=("np.sum({up}, axis={b})", None),
         sympy="np.sum({a}, axis={b})"),
    Gate("mean", "", (), "mean{a}",
         "a mean spreads the upstream gradient evenly: each entry gets 1/size of it", "add",
         short="avg", shape=shapes.reduce_all, numpy="np.mean({a})", vjp=("{up} / {a}.size",),
         torch=(("vjp", ("{up} / {a}.numel()",)),),
         jvp=("np.mean({up})",),
         spreads=True, call="mean", sympy="np.sum({a}) / {a}.size"),
    Gate("mean_axis", "", (), "mean{a}",
         "a mean spreads the upstream gradient evenly along its axis", "add", short="avg",
         shape=shapes.reduce_axis, numpy="np.mean({a}, axis={b})",
         vjp=("np.expand_dims({up}, {b}) / {a}.shape[{b}]", None), spreads=True, call="mean",
         jvp=("np.mean({up}, axis={b})", None),
         sympy="np.sum({a}, axis={b}) / {a}.shape[{b}]"),
    Gate("logsumexp", "", (), "lse{a}",
         "log-sum-exp routes softly: each entry gets the share exp(x - f), its softmax", "max",
         shape=shapes.reduce_all, numpy="logsumexp({a})", vjp=("np.exp({a} - {out}) * {up}",),
         jvp=("np.vdot(np.exp({a} - {out}), {up})",),
         call="logsumexp", sympy="sympy_logsumexp({a})"),
    Gate("logsumexp_axis", "", (), "lse{a}",
         "log-sum-exp routes softly along its axis: each entry gets its softmax share", "max",
         shape=shapes.reduce_axis, numpy="logsumexp({a}, axis={b})",
         vjp=("np.exp({a} - np.expand_dims({out}, {b})) * np.expand_dims({up}, {b})", None),
         jvp=("np.sum(np.exp({a} - np.expand_dims({out}, {b})) * {up}, axis={b})", None),
         call="logsumexp", sympy="sympy_logsumexp({a}, {b})"),
    Gate("softmax", "", (), "probs",
         "softmax's VJP is p * (g - sum(g * p)); its Jacobian diag(p) - p p^T is never formed",
         "max", shape=shapes.keep, numpy="softmax({a})",
         vjp=("{out} * ({up} - np.sum({up} * {out}))",), call="softmax",
         jvp=("{out} * ({up} - np.sum({up} * {out}))",),
         sympy="sympy_softmax({a})"),
    Gate("softmax_axis", "", (), "probs",
         "softmax's VJP along an axis is p * (g - sum(g * p)) over that axis", "max",
         shape=shapes.keep_axis, numpy="softmax({a}, axis={b})",
         vjp=("{out} * ({up} - np.sum({up} * {out}, axis={b}, keepdims=True))", None),
         jvp=("{out} * ({up} - np.sum({up} * {out}, axis={b}, keepdims=True))", None),
         call="softmax", sympy="sympy_softmax({a}, {b})"),
    Gate("softmax_loss", "", (), "celoss",
         "softmax cross-entropy has the gradient (softmax - onehot(labels)) / N on the "
         "scores; the labels are integers and get none", "max", shape=shapes.labelled,
         numpy="softmax_loss({a}, {b})", vjp=("softmax_loss_grad({a}, {b}) * {up}", None),
         jvp=("np.vdot(softmax_loss_grad({a}, {b}), {up})", None),
         labels=(1,), call="softmax_loss", aliases=("softmax_ce", "cross_entropy"),
         sympy="sympy_softmax_loss({a}, {b})"),
    Gate("svm_loss", "", (), "hingeloss",
         "the hinge loss routes: 1/N to every class whose margin is positive, minus their "
         "count to the label's score", "max", shape=shapes.labelled,
         numpy="svm_loss({a}, {b})", vjp=("svm_loss_grad({a}, {b}) * {up}", None), labels=(1,),
         jvp=("np.vdot(svm_loss_grad({a}, {b}), {up})", None),
         call="svm_loss", aliases=("svm", "hinge_loss"), sympy="sympy_svm_loss({a}, {b})"),
    Gate("conv2d", "", (), "conv{a}{b}",
         "conv2d (valid cross-correlation): dW correlates X with dY; dX is the full "
         "convolution of dY with W rotated 180°", "mul", short="conv", shape=shapes.conv2d,
         numpy="conv2d({a}, {b})", vjp=("conv2d_grad_x({up}, {b})", "conv2d_grad_w({a}, {up})"),
         jvp=("conv2d({up}, {b})", "conv2d({a}, {up})"),
         call="conv2d", aliases=("correlate2d",), sympy="sympy_conv2d({a}, {b})"),
    Gate("convolve2d", "", (), "conv{a}{b}",
         "convolve2d (valid true convolution, kernel flipped): dL/dW[a, b] is the sum of "
         "dL/dY[i, j]·X[i - a, j - b], a convolution of X over dY; dL/dX is dY convolved "
         "with W rotated 180°", "mul", short="conv", shape=shapes.conv2d,
         numpy="convolve2d({a}, {b})",
         vjp=("convolve2d_grad_x({up}, {b})", "convolve2d_grad_w({a}, {up})"),
         jvp=("convolve2d({up}, {b})", "convolve2d({a}, {up})"),
         call="convolve2d", aliases=("convolve",), sympy="sympy_convolve2d({a}, {b})"),
]

GATES: dict[str, Gate] = {g.name: g for g in _GATES}

# The Python operators (and `neg`, `.T`) -> their gates.
OPERATORS = {g.operator: g.name for g in _GATES if g.operator}
# Every name a user may call, with its gates by number of operands: sum(X) or sum(X, axis).
CALLS: dict[str, dict[int, str]] = {}
for _gate in _GATES:
    for _name in (_gate.call, *_gate.aliases) if _gate.call else ():
        CALLS.setdefault(_name, {})[_gate.arity] = _gate.name
CALLABLE = sorted(name for name in CALLS if name.isascii() and name in
                  {g.call for g in _GATES})
ALIASES = {alias: g.call for g in _GATES for alias in g.aliases}

CONSTANTS = {"pi": ("math.pi", math.pi), "π": ("math.pi", math.pi), "e": ("math.e", math.e),
             "tau": ("math.tau", math.tau), "τ": ("math.tau", math.tau)}


def lookup(name: str, nargs: int | None = None) -> Gate | None:
    """The gate a call of `name` with `nargs` operands stands for (None: no such
    function). A variadic gate takes any number above its arity; otherwise the
    arity decides between overloads, and a wrong count gets the first overload
    (whose arity the error then names)."""
    variants = CALLS.get(name)
    if not variants:
        return None
    return GATES[variants[nargs] if nargs in variants else variants[min(variants)]]


# The names that work on scalars too (the others need arrays: sum, softmax, conv2d ...).
ON_SCALARS = [name for name in CALLABLE if lookup(name).on_scalars]
