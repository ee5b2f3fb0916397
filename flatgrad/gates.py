"""The gate table: every gate flatgrad knows, declared once.

Each gate gives its forward form, one local gradient per operand written in
terms of cached forward values, a naming pattern for the stage it produces, and
its teaching note. Every other module reads this table; none of them branches on
a gate's name.

Templates use ``{a}`` and ``{b}`` for the operands and ``{out}`` for the gate's
own cached output. A local gradient of ``None`` means the operand is a
compile-time constant (an exponent, an offset) that never gets a gradient.

The numpy forms of these gates, and the gates that exist only for arrays
(matmul, transpose, sum, softmax ...), are declared beside them in
array_gates.py, one line per gate, in the same way.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

# Module-level helpers the generated code may call, each a small function with a
# comment saying why it is not written inline. Only the ones a program uses are
# emitted.
HELPERS = {
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
}

# The names the generated module itself defines or binds: user variables never
# shadow them (the module renames its own instead). `failed_stage`, `STAGES` and
# `error` turn a bare "math domain error" into one that names the failing stage.
GLOBAL_NAMES = ("math", "failed_stage", "STAGES", "error") + tuple(HELPERS)
_PLACEHOLDER = re.compile(r"\{(a|b|out)\}")


@dataclass(frozen=True)
class Gate:
    name: str
    forward: str
    local: tuple[str | None, ...]
    stem: str
    note: str
    kind: str = ""
    # How the gate is staged further, if at all: a function of a `Stager` and
    # the operand nodes, returning the node that replaces the gate.
    expand: Callable | None = None
    # Stage at `--gates primitive` only (a grouped gate such as sigmoid).
    primitive: Callable | None = None
    # Role names the operands of this gate take when they are unnamed stages
    # (a division names its operands num and den, as the notes do).
    roles: tuple[str, ...] = ()
    # The name of a stage whose pattern name would be too long (default: the
    # stem without its operands, or the gate's name).
    short: str = ""
    # The fast profile's spelling of the forward form and of the local
    # gradients, where it differs from the notes': written out instead of a
    # helper call, and with float literals (CPython multiplies two floats on a
    # quicker path than an int and a float). Each rounds exactly as the notes'
    # form does, so both profiles give the same numbers to the last bit.
    fast: str = ""
    fast_local: tuple[str | None, ...] = ()
    # What it means when the forward formula fails with Python's bare "math
    # domain error" or "math range error", for the error naming the stage.
    domain: str = ""
    # The forward form in SymPy, where `forward` is not a plain formula of the
    # math module (a helper, a conditional): `flatgrad check` differentiates it.
    sympy: str = ""

    @property
    def arity(self) -> int:
        return len(self.local)

    def code(self, template: str, operands, out: str = "out") -> str:
        """Fill a template with operand texts and the name of the cached output."""
        values = {"out": out}
        values.update(zip("ab", operands))
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)

    def forward_form(self, profile: str = "teach") -> str:
        return self.fast if profile == "fast" and self.fast else self.forward

    def local_form(self, i: int, profile: str = "teach") -> str | None:
        return self.fast_local[i] if profile == "fast" and self.fast_local else self.local[i]

    def forward_code(self, operands, profile: str = "teach") -> str:
        return self.code(self.forward_form(profile), operands)

    def local_code(self, i: int, operands, out: str, profile: str = "teach") -> str:
        return self.code(self.local_form(i, profile), operands, out)

    @property
    def forward_fn(self) -> Callable:
        return _compile_template(self.forward, self.arity)

    def forward_fn_in(self, profile: str) -> Callable:
        return _compile_template(self.forward_form(profile), self.arity)

    def local_fn(self, i: int, profile: str = "teach") -> Callable:
        return _compile_template(self.local_form(i, profile), self.arity)

    @property
    def sympy_fn(self) -> Callable:
        """The forward form as a function of SymPy expressions (`out` unused)."""
        return _compile_template(self.sympy or self.forward, self.arity, "sympy")


_FN_CACHE: dict = {}


def _compile_template(template: str, arity: int, over: str = "float") -> Callable:
    """Turn one of this table's own templates into a Python function.

    Only templates written in this file are ever compiled: they give the
    compile-time constant folder and the `--at` evaluator exactly the float
    operations that the generated code performs, and `flatgrad check` the same
    formulas over SymPy expressions.
    """
    key = (template, arity, over)
    if key not in _FN_CACHE:
        params = ", ".join(list("ab"[:arity]) + ["out"])
        body = _PLACEHOLDER.sub(lambda m: m.group(1), template)
        if over == "sympy":
            namespace = _sympy_namespace()
        else:
            namespace = {"math": math}
            for helper_source in HELPERS.values():
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
    return {"math": SimpleNamespace(**as_sympy), "sympy": sympy}


# -- expansions -------------------------------------------------------------
# Each takes a Stager `s` (with s.gate(name, *args), s.const(value), s.is_const
# and s.value) and the operand nodes, and returns the node standing for the gate.


def _expand_div(s, a, b):
    # The notes stage a / b as invden = 1.0 / den; f = num * invden. A constant
    # denominator keeps the single division: nothing there has a gradient.
    if s.is_const(b):
        return s.gate("div", a, b, expand=False)
    inverse = s.gate("recip", b)
    if s.is_const(a) and s.value(a) == 1:
        return inverse
    return s.gate("mul", a, inverse)


def _expand_pow(s, a, b):
    if not s.is_const(b):
        return s.gate("pow", a, b, expand=False)
    exponent = s.value(b)
    special = {2: "square", 3: "cube", 0.5: "sqrt", -1: "recip"}.get(exponent)
    if special:
        return s.gate(special, a)
    if float(exponent).is_integer():
        return s.gate("powi", a, b)
    return s.gate("powr", a, b)


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

_GATES = [
    Gate("add", "{a} + {b}", ("1", "1"), "{a}p{b}", ADD, "add", short="total"),
    Gate("sub", "{a} - {b}", ("1", "-1"), "{a}m{b}",
         "sub distributes like add, with the sign flipped for the subtracted input", "add",
         short="diff"),
    Gate("mul", "{a} * {b}", ("{b}", "{a}"), "{a}{b}", MUL, "mul", short="prod"),
    Gate("div", "{a} / {b}", ("1.0 / {b}", "-{out} / {b}"), "{a}over{b}",
         "div scales the numerator's gradient by 1/den and gives the denominator -f/den",
         "div", expand=_expand_div, primitive=_primitive_div, roles=("num", "den"), short="quot"),
    Gate("recip", "1.0 / {a}", ("-1.0 / {a}**2",), "inv{a}",
         "1/x has local gradient -1/x²", "unary"),
    Gate("neg", "-{a}", ("-1",), "neg{a}", "negation flips the sign of the gradient", "add"),
    Gate("copy", "{a}", ("1",), "copy{a}", "a copy passes the gradient unchanged", "add"),
    Gate("square", "{a}**2", ("2 * {a}",), "{a}sqr", "x² has local gradient 2x", "pow",
         fast_local=("2.0 * {a}",)),
    Gate("cube", "{a}**3", ("3 * {a}**2",), "{a}cube", "x³ has local gradient 3x²", "pow",
         fast_local=("3.0 * {a}**2",)),
    Gate("powi", "{a}**{b}", ("{b} * {a}**({b} - 1)", None), "{a}pow",
         "x**c has local gradient c·x**(c-1)", "pow"),
    Gate("powr", "math.pow({a}, {b})", ("{b} * math.pow({a}, {b} - 1)", None), "{a}pow",
         "x**c has local gradient c·x**(c-1)", "pow", domain=POWER),
    Gate("pow", "math.pow({a}, {b})", ("{b} * math.pow({a}, {b} - 1)", "math.log({a}) * {out}"),
         "{a}pow{b}", "a**b has local gradients b·a**(b-1) and log(a)·a**b", "pow",
         expand=_expand_pow, domain=POWER),
    Gate("sqrt", "math.sqrt({a})", ("0.5 / {out}",), "sqrt{a}",
         "√x has local gradient 1/(2√x), read from the cached output", "unary",
         domain="square root of a negative number"),
    Gate("exp", "math.exp({a})", ("{out}",), "exp{a}",
         "exp is its own derivative: the local gradient is the cached output", "unary",
         domain=OVERFLOW),
    Gate("expm1", "math.expm1({a})", ("{out} + 1.0",), "expm1{a}", ONE_INPUT, "unary",
         domain=OVERFLOW),
    Gate("log", "math.log({a})", ("1.0 / {a}",), "log{a}", "log has local gradient 1/x", "unary",
         domain=LOG),
    Gate("log1p", "math.log1p({a})", ("1.0 / (1.0 + {a})",), "log1p{a}", ONE_INPUT, "unary",
         domain="log1p of a number at or below -1"),
    Gate("log2", "math.log2({a})", ("1.0 / ({a} * math.log(2.0))",), "log2{a}", ONE_INPUT, "unary",
         domain=LOG),
    Gate("log10", "math.log10({a})", ("1.0 / ({a} * math.log(10.0))",), "log10{a}", ONE_INPUT,
         "unary", domain=LOG),
    Gate("sin", "math.sin({a})", ("math.cos({a})",), "sin{a}", ONE_INPUT, "unary"),
    Gate("cos", "math.cos({a})", ("-math.sin({a})",), "cos{a}", ONE_INPUT, "unary"),
    Gate("tan", "math.tan({a})", ("1.0 + {out}**2",), "tan{a}", ONE_INPUT, "unary"),
    Gate("asin", "math.asin({a})", ("1.0 / math.sqrt(1.0 - {a}**2)",), "asin{a}", ONE_INPUT,
         "unary", domain="asin of a number outside [-1, 1]"),
    Gate("acos", "math.acos({a})", ("-1.0 / math.sqrt(1.0 - {a}**2)",), "acos{a}", ONE_INPUT,
         "unary", domain="acos of a number outside [-1, 1]"),
    Gate("atan", "math.atan({a})", ("1.0 / (1.0 + {a}**2)",), "atan{a}", ONE_INPUT, "unary"),
    Gate("sinh", "math.sinh({a})", ("math.cosh({a})",), "sinh{a}", ONE_INPUT, "unary",
         domain=OVERFLOW),
    Gate("cosh", "math.cosh({a})", ("math.sinh({a})",), "cosh{a}", ONE_INPUT, "unary",
         domain=OVERFLOW),
    Gate("tanh", "math.tanh({a})", ("1.0 - {out}**2",), "tanh{a}",
         "tanh has local gradient 1 - tanh², read from the cached output", "unary",
         primitive=_primitive_tanh),
    Gate("asinh", "math.asinh({a})", ("1.0 / math.sqrt({a}**2 + 1.0)",), "asinh{a}", ONE_INPUT,
         "unary"),
    Gate("acosh", "math.acosh({a})", ("1.0 / math.sqrt({a}**2 - 1.0)",), "acosh{a}", ONE_INPUT,
         "unary", domain="acosh of a number below 1"),
    Gate("atanh", "math.atanh({a})", ("1.0 / (1.0 - {a}**2)",), "atanh{a}", ONE_INPUT, "unary",
         domain="atanh of a number outside (-1, 1)"),
    Gate("erf", "math.erf({a})", ("2.0 / math.sqrt(math.pi) * math.exp(-{a}**2)",), "erf{a}",
         ONE_INPUT, "unary"),
    Gate("erfc", "math.erfc({a})", ("-2.0 / math.sqrt(math.pi) * math.exp(-{a}**2)",),
         "erfc{a}", ONE_INPUT, "unary"),
    Gate("atan2", "math.atan2({a}, {b})",
         ("{b} / ({a}**2 + {b}**2)", "-{a} / ({a}**2 + {b}**2)"), "atan2{a}{b}",
         "atan2(y, x) has local gradients x/(x²+y²) and -y/(x²+y²)", "unary"),
    Gate("hypot", "math.hypot({a}, {b})",
         ("{a} / {out} if {out} else 0.0", "{b} / {out} if {out} else 0.0"), "hypot{a}{b}",
         "hypot(x, y) has local gradients x/h and y/h, read from the cached output h "
         "(0 at the kink h = 0, as for abs)", "unary"),
    Gate("sigmoid", "sigmoid({a})", ("(1 - {out}) * {out}",), "sig{a}",
         "sigmoid is grouped as one gate because its local gradient (1 - σ)·σ is so simple",
         "sigmoid", primitive=_primitive_sigmoid, sympy="1 / (1 + sympy.exp(-{a}))",
         fast="1.0 / (1.0 + math.exp(-{a})) if {a} > -709.0 else math.exp({a})",
         fast_local=("(1.0 - {out}) * {out}",)),
    Gate("softplus", "softplus({a})", ("sigmoid({a})",), "softplus{a}",
         "softplus has the sigmoid as its local gradient", "unary",
         sympy="sympy.log(1 + sympy.exp({a}))"),
    Gate("logaddexp", "logaddexp({a}, {b})",
         ("sigmoid({a} - {b})", "sigmoid({b} - {a})"), "lse{a}{b}",
         "log-sum-exp routes softly: each input gets the share exp(x - f) = σ(a - b) of the "
         "gradient (the sigmoid form stays exact where f has rounded)",
         "max", sympy="sympy.log(sympy.exp({a}) + sympy.exp({b}))"),
    Gate("relu", "{a} if {a} > 0.0 else 0.0", ("1.0 if {a} > 0.0 else 0.0",), "relu{a}",
         "relu routes: the gradient passes where the input was positive and stops elsewhere "
         "(at 0 it stops)", "max", sympy="sympy.Max({a}, 0)"),
    Gate("max", "{a} if {a} >= {b} else {b}",
         ("1.0 if {a} >= {b} else 0.0", "0.0 if {a} >= {b} else 1.0"), "max{a}{b}", MAX, "max",
         sympy="sympy.Max({a}, {b})"),
    Gate("min", "{a} if {a} <= {b} else {b}",
         ("1.0 if {a} <= {b} else 0.0", "0.0 if {a} <= {b} else 1.0"), "min{a}{b}",
         "min routes: the whole gradient goes to the smaller input; at a tie to the first",
         "max", sympy="sympy.Min({a}, {b})"),
    Gate("abs", "math.fabs({a})", ("1.0 if {a} > 0.0 else -1.0 if {a} < 0.0 else 0.0",),
         "abs{a}", "abs routes the gradient with the sign of its input (0 at the kink)", "max"),
]

GATES: dict[str, Gate] = {g.name: g for g in _GATES}

# The Python operators, and the spellings people use for gates.
OPERATORS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "neg": "neg",
             "@": "matmul", ".T": "transpose"}
ALIASES = {"σ": "sigmoid", "√": "sqrt", "ln": "log", "fabs": "abs", "logistic": "sigmoid",
           "expit": "sigmoid", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
           "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2",
           "maximum": "max", "minimum": "min", "power": "pow"}
# Gates users may call by name (operators have their own syntax).
CALLABLE = sorted(set(GATES) - {"add", "sub", "mul", "div", "neg", "copy", "recip", "square",
                                 "cube", "powi", "powr"})

CONSTANTS = {"pi": ("math.pi", math.pi), "π": ("math.pi", math.pi), "e": ("math.e", math.e),
             "tau": ("math.tau", math.tau), "τ": ("math.tau", math.tau)}

# `max(a, b, c)` folds into max(max(a, b), c); these gates accept any number of
# operands above their arity.
VARIADIC = {"max", "min", "hypot", "logaddexp"}


def lookup(name: str) -> Gate | None:
    name = ALIASES.get(name, name)
    return GATES.get(name) if name in CALLABLE else None
