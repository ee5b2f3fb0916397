"""Large inputs of either sign, and run-time domain errors that name their stage."""
from __future__ import annotations

import ast
import re
import subprocess
import sys

import mpmath
import pytest

import flatgrad
from flatgrad import cli
from flatgrad.errors import FlatgradError

mpmath.mp.dps = 50


def mp_sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


def mp_softplus(z):
    return mpmath.log1p(mpmath.exp(z))


def close(value: float, exact, rel: float = 4e-16) -> bool:
    """`value` is `exact` rounded to a float, within a few ulps (or both underflow)."""
    exact = float(exact)
    return value == exact or abs(value - exact) <= rel * max(abs(exact), 1e-300) * 4


# (formula, reference value, reference derivative) as mpmath functions of x
ONE_INPUT = [
    ("σ(x)", mp_sigmoid, lambda x: mp_sigmoid(x) * (1 - mp_sigmoid(x))),
    ("softplus(x)", mp_softplus, mp_sigmoid),
    ("tanh(x)", mpmath.tanh, lambda x: 1 - mpmath.tanh(x) ** 2),
    ("logaddexp(x, 3)", lambda x: mpmath.log(mpmath.exp(x) + mpmath.exp(3)),
     lambda x: mp_sigmoid(x - 3)),
]
LARGE = [-1000.0, -745.0, -710.0, -40.0, -1.5, 0.0, 1.5, 40.0, 710.0, 1000.0]


@pytest.mark.parametrize("formula, value, derivative", ONE_INPUT)
@pytest.mark.parametrize("x", LARGE)
def test_stable_gates_at_large_inputs_of_both_signs(formula, value, derivative, x):
    result, (dx,) = flatgrad.compile(formula).value_and_grad(x)
    exact_value, exact_grad = value(mpmath.mpf(x)), derivative(mpmath.mpf(x))
    assert close(result, exact_value), (result, exact_value)
    # The local gradients (1 - σ)·σ and 1 - tanh² read the cached output, as the
    # notes write them: where the output rounds to ±1 they give 0 for a true
    # gradient below 1e-16. The error is absolute, never relative blow-up.
    assert close(dx, exact_grad) or abs(dx - float(exact_grad)) <= 1e-16, (dx, exact_grad)


def test_sigmoid_of_minus_1000_is_zero_with_zero_gradient():
    compiled = flatgrad.compile("σ(x)")
    assert compiled.value_and_grad(-1000.0) == (0.0, (0.0,))
    assert compiled.value_and_grad(1000.0) == (1.0, (0.0,))


def test_softplus_at_plus_and_minus_1000():
    compiled = flatgrad.compile("softplus(x)")
    assert compiled.value_and_grad(1000.0) == (1000.0, (1.0,))
    assert compiled.value_and_grad(-1000.0) == (0.0, (0.0,))


@pytest.mark.parametrize("x, y", [(1000.0, 1000.0), (-1000.0, 1000.0), (-1000.0, -1000.0),
                                  (0.0, -800.0), (700.0, 700.5)])
def test_logaddexp_at_large_inputs(x, y):
    value, (dx, dy) = flatgrad.compile("logaddexp(x, y)").value_and_grad(x, y)
    exact = mpmath.log(mpmath.exp(x) + mpmath.exp(y))
    assert close(value, exact)
    assert close(dx, mp_sigmoid(mpmath.mpf(x) - y))
    assert close(dy, mp_sigmoid(mpmath.mpf(y) - x))
    assert dx + dy == pytest.approx(1.0, abs=1e-15)


def test_the_notes_example_with_a_saturated_sigmoid():
    value, (dx, dy) = flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)").value_and_grad(3.0, -1000.0)
    # σ(y) = 0 and (x + y)² = 997²: nothing overflows, gradients stay finite
    den = mp_sigmoid(3) + mpmath.mpf(997) ** 2
    assert close(value, 3 / den)
    assert dx == pytest.approx(float(1 / den - 3 * (mp_sigmoid(3) * (1 - mp_sigmoid(3))
                                                     - 2 * 997) / den ** 2), rel=1e-12)
    assert dy == pytest.approx(float(3 * 2 * 997 / den ** 2), rel=1e-12)


def test_hypot_has_a_zero_subgradient_at_the_origin():
    assert flatgrad.compile("hypot(x, y)").value_and_grad(0.0, 0.0) == (0.0, (0.0, 0.0))


# -- domain errors name the stage -------------------------------------------

DOMAIN_ERRORS = [
    # formula, point, exception, what the message says, the stage it names
    ("logx = log(x); logx * y", (-1.0, 2.0), ValueError,
     "log of zero or a negative number (math domain error)", "stage (1) logx = math.log(x)"),
    ("y * log(x)", (2.0, 0.0), ValueError, "log of zero or a negative number",
     "stage (1) logx = math.log(x)"),
    ("x / (y - 1)", (1.0, 1.0), ZeroDivisionError, "float division by zero",
     "stage (2) invden = 1.0 / den"),
    ("x / 0", (1.0,), ZeroDivisionError, "float division by zero", "stage (1) f = x / 0"),
    ("x**-2 + y", (0.0, 1.0), ZeroDivisionError, "0.0 cannot be raised to a negative power",
     "stage (1) xpow = x**(-2)"),
    ("x**y", (0.0, -1.0), ValueError, "zero to a negative power",
     "stage (1) f = math.pow(x, y)"),
    ("x**y", (-8.0, 0.5), ValueError, "a negative number to a fractional power",
     "stage (1) f = math.pow(x, y)"),
    ("sqrt(x) + y", (-1.0, 0.0), ValueError, "square root of a negative number",
     "stage (1) sqrtx = math.sqrt(x)"),
    ("asin(x) * y", (2.0, 1.0), ValueError, "asin of a number outside [-1, 1]",
     "stage (1) asinx = math.asin(x)"),
    ("acos(x)", (-1.5,), ValueError, "acos of a number outside [-1, 1]",
     "stage (1) f = math.acos(x)"),
    ("acosh(x)", (0.5,), ValueError, "acosh of a number below 1", "stage (1) f = math.acosh(x)"),
    ("atanh(x)", (1.0,), ValueError, "atanh of a number outside (-1, 1)",
     "stage (1) f = math.atanh(x)"),
    ("log1p(x)", (-1.0,), ValueError, "log1p of a number at or below -1",
     "stage (1) f = math.log1p(x)"),
    ("exp(x) * y", (1000.0, 1.0), OverflowError, "overflow: the result is too large",
     "stage (1) expx = math.exp(x)"),
    ("cosh(x)", (1000.0,), OverflowError, "overflow", "stage (1) f = math.cosh(x)"),
    ("σ(x)", (-1000.0,), None, None, None),   # no error: the helper is stable
]


@pytest.mark.parametrize("formula, point, error, what, stage", DOMAIN_ERRORS)
def test_domain_errors_name_the_stage_and_the_formula(formula, point, error, what, stage):
    compiled = flatgrad.compile(formula)
    for function in (compiled.function, compiled.value_and_grad):
        if error is None:
            function(*point)
            continue
        with pytest.raises(error) as caught:
            function(*point)
        message = str(caught.value)
        assert what in message and f"at {stage}, in f(" in message
        # the original error stays chained, so the traceback shows the generated line too
        assert type(caught.value.__cause__) is error


def test_an_error_in_the_backward_pass_names_the_gradient_line():
    compiled = flatgrad.compile("sqrt(x) * y")
    assert compiled(0.0, 1.0) == 0.0
    with pytest.raises(ZeroDivisionError) as caught:
        compiled.value_and_grad(0.0, 1.0)
    assert str(caught.value) == ("float division by zero at the gradient line "
                                 "dx = 0.5 / sqrtx * dsqrtx, backprop of stage (1), "
                                 "in f(x, y) = sqrt(x) * y")


def test_an_error_on_a_line_that_cannot_fail_on_floats_passes_through_unchanged():
    # a float product never raises; a Python int too large for a float does
    compiled = flatgrad.compile("log(x) * y")
    with pytest.raises(OverflowError, match="^int too large to convert to float$"):
        compiled(2.0, 10 ** 400)


def test_a_staged_program_is_quoted_statement_by_statement():
    compiled = flatgrad.compile("a = log(x)\nb = a * y\nb + 1")
    with pytest.raises(ValueError) as caught:
        compiled(-1.0, 1.0)
    assert str(caught.value).endswith("in f(x, y): a = log(x); b = a * y; f = b + 1")


def test_a_written_module_raises_pythons_own_error_at_its_tagged_line(tmp_path):
    # the user's own variables named like the old guard's globals are plain names now
    compiled = flatgrad.compile("failed_stage = log(x); STAGES = failed_stage * error; STAGES")
    assert "try:" not in compiled.source and "STAGES = {" not in compiled.source
    path = compiled.write(tmp_path / "grad.py")
    code = ("import sys, traceback; sys.path.insert(0, sys.argv[1]); import grad\n"
            "try:\n    grad.f_and_grad(-1.0, 2.0)\n"
            "except ValueError:\n    traceback.print_exc(file=sys.stdout)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path.parent)], capture_output=True,
                          text=True, check=True)
    assert done.stdout.rstrip().endswith("ValueError: math domain error")
    assert re.search(r"failed_stage = math.log\(x\) +# \(1\)", done.stdout)


def test_an_edited_module_never_names_a_wrong_stage(tmp_path):
    # a comment line added at the top shifts every line; Python's own traceback follows
    path = flatgrad.compile("y * log(x)").write(tmp_path / "grad.py")
    path.write_text("# edited by hand\n\n" + path.read_text())
    code = ("import sys, traceback; sys.path.insert(0, sys.argv[1]); import grad\n"
            "try:\n    grad.f(2.0, -1.0)\n"
            "except ValueError:\n    traceback.print_exc(file=sys.stdout)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path.parent)], capture_output=True,
                          text=True, check=True)
    assert re.search(r"logx = math.log\(x\) +# \(1\)", done.stdout)
    assert "stage" not in done.stdout


def test_the_values_at_a_point_report_the_failing_line_as_bad_input(capsys):
    compiled = flatgrad.compile("y * log(x)")
    with pytest.raises(FlatgradError, match=r"log of zero or a negative number .* at stage \(1\) "
                                            r"logx = math.log\(x\), evaluated at y=2, x=-1"):
        compiled.source_at(x=-1, y=2)
    assert cli.main(["compile", "y*log(x)", "--at", "x=-1,y=2"]) == 2
    assert "evaluated at y=2, x=-1" in capsys.readouterr().err


@pytest.mark.parametrize("formula", ["logx = log(x); logx * y", "(x+σ(y))/(σ(x)+(x+y)²)",
                                     "softplus(x) + logaddexp(x, y) + tanh(y)",
                                     "σ(x)*σ(sigmoid) + math"])
def test_the_generated_module_imports_only_math(formula):
    tree = ast.parse(flatgrad.compile(formula).source)
    imported = [alias.name for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names]
    assert imported == ["math"]
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))


def test_names_like_the_old_guards_pass_ruff(tmp_path, ruff_check):
    path = flatgrad.compile("error = log(x); STAGES = σ(error) / y; STAGES").write(
        tmp_path / "grad.py")
    done = ruff_check(path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("formula, options", [
    ("(x+σ(y))/(σ(x)+(x+y)²)", {}),
    ("(x+σ(y))/(σ(x)+(x+y)²)", {"profile": "teach"}),
    ("a = log(x)/y; b = sqrt(a)*asin(y/3); b**x + hypot(a, b)", {}),
    ("a = log(x)/y; b = sqrt(a)*asin(y/3); b**x + hypot(a, b)", {"gates": "primitive"}),
])
def test_every_line_map_entry_points_at_its_own_line(formula, options):
    compiled = flatgrad.compile(formula, **options)
    lines = compiled.source.splitlines()
    plan_lines = compiled.plan.lines
    assert len(compiled.emitted.lines) >= len(compiled.plan.forward) * 2
    for number, line in compiled.emitted.lines.items():
        assert line in plan_lines
        assert lines[number - 1].split("  #")[0].strip() == line.text, number
