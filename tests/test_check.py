"""`flatgrad check`: the generated gradient against central differences and SymPy."""
from __future__ import annotations

import dataclasses
import math

import pytest
import sympy

import flatgrad
from flatgrad import cli
from flatgrad.core import gates
from flatgrad.check import relative_error, to_sympy

NOTES = "(x+σ(y))/(σ(x)+(x+y)²)"


def test_the_notes_example_at_its_point(capsys):
    assert cli.main(["check", NOTES, "--at", "x=3,y=-4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["point", "input", "generated", "numeric", "symbolic", "rel.",
                              "error"]
    x_row, y_row = out[2].split(), out[3].split()
    assert x_row[:3] == ["x=3,y=-4", "x", "2.05956979557"]
    assert y_row[:2] == ["y", "1.59223275148"]
    assert float(x_row[4]) == pytest.approx(2.05956979557, rel=1e-11)   # symbolic
    assert float(x_row[3]) == pytest.approx(2.05956979557, rel=1e-8)    # numeric
    assert out[-1].startswith("ok: largest relative error")


def test_python_api_values():
    report = flatgrad.check(NOTES, at={"x": 3, "y": -4})
    assert report.ok and bool(report)
    assert [row.input for row in report.rows] == ["x", "y"]
    x_row = report.rows[0]
    assert x_row.generated == pytest.approx(2.0595697955721652, rel=1e-15)
    assert x_row.symbolic == pytest.approx(x_row.generated, rel=1e-15)
    assert x_row.numeric == pytest.approx(x_row.generated, rel=1e-8)
    assert x_row.error <= 1e-15 and x_row.numeric_error <= 1e-8


def test_compiled_check_at_several_points():
    compiled = flatgrad.compile("x*y + sin(x)")
    report = compiled.check([{"x": 1.0, "y": 2.0}, {"x": -0.5, "y": 4.0}])
    assert len(report.rows) == 4
    assert [r.generated for r in report.rows] == [2.0 + math.cos(1.0), 1.0,
                                                  4.0 + math.cos(-0.5), -0.5]


def test_default_points_are_deterministic_and_inside_the_domain(capsys):
    formula = "log(x) * sqrt(y) + acosh(x + 1)"
    assert cli.main(["check", formula]) == 0
    first = capsys.readouterr().out
    assert cli.main(["check", formula]) == 0
    assert capsys.readouterr().out == first
    report = flatgrad.check(formula)
    points = {tuple(row.point.values()) for row in report.rows}
    assert len(points) == 3 and all(x > 0 and y > 0 for x, y in points)


def test_a_wrong_local_gradient_fails_with_exit_1(monkeypatch, capsys):
    wrong = dataclasses.replace(gates.GATES["sin"], local=("-math.cos({a})",))
    monkeypatch.setitem(gates.GATES, "sin", wrong)
    assert cli.main(["check", "sin(x) * y", "--at", "x=0.5,y=2"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("FAILED: largest relative error 2.00e+00")
    report = flatgrad.check("sin(x) * y", at={"x": 0.5, "y": 2.0})
    assert not report.ok
    assert report.rows[0].generated == pytest.approx(-2 * math.cos(0.5))
    assert report.rows[0].symbolic == pytest.approx(2 * math.cos(0.5))
    assert report.rows[0].numeric == pytest.approx(2 * math.cos(0.5), rel=1e-8)


def test_the_tolerance_decides(capsys):
    # rounding leaves ~1e-15 here: no tolerance at all fails, the default passes
    assert cli.main(["check", NOTES, "--at", "x=1,y=2", "--tol", "0"]) == 1
    assert cli.main(["check", NOTES, "--at", "x=1,y=2"]) == 0


def test_bad_input_and_points_outside_the_domain_exit_2(capsys):
    assert cli.main(["check", "x.y"]) == 2
    assert cli.main(["check", "log(x)", "--at", "x=-1"]) == 2
    err = capsys.readouterr().err
    assert "cannot check at x=-1: log of zero or a negative number" in err
    assert cli.main(["check", "x*y", "--at", "x=1"]) == 2
    assert "the inputs are x, y" in capsys.readouterr().err
    assert cli.main(["check", "sqrt(-1 - x*x)"]) == 2
    assert "found no point where" in capsys.readouterr().err


def test_names_sympy_would_misread_are_plain_symbols():
    # Parsing text with SymPy would make E Euler's number, I the imaginary unit,
    # S a singleton factory and N a function; the check builds its own symbols.
    report = flatgrad.check("E*x + I*y + S*N + exec", at={"E": 2, "x": 3, "I": 4, "y": 5,
                                                          "S": 6, "N": 7, "exec": 8})
    assert report.ok
    assert [(r.input, r.symbolic) for r in report.rows] == [
        ("E", 3.0), ("x", 2.0), ("I", 5.0), ("y", 4.0), ("S", 7.0), ("N", 6.0), ("exec", 1.0)]


def test_the_sympy_form_comes_from_the_graph_and_the_table():
    x, y = sympy.symbols("x y", real=True)
    expected = (x + 1 / (1 + sympy.exp(-y))) / (1 / (1 + sympy.exp(-x)) + (x + y) ** 2)
    for level in ("staged", "primitive"):
        expr, symbols = to_sympy(flatgrad.compile(NOTES, gates=level).graph)
        assert set(symbols) == {"x", "y"}
        assert sympy.simplify(expr.subs({symbols["x"]: x, symbols["y"]: y}) - expected) == 0


def test_every_callable_gate_has_a_sympy_form_that_matches_its_float_form():
    candidates = [(sympy.Rational(3, 10), sympy.Rational(7, 5)),
                  (sympy.Rational(7, 5), sympy.Rational(3, 10))]
    for name in gates.ON_SCALARS:
        gate = gates.GATES[name]
        for args in candidates:  # the second for gates defined only above 1 (acosh)
            args = args[:gate.arity]
            try:
                as_float = gate.forward_fn(*[float(v) for v in args], None)
            except ValueError:
                continue
            exact = complex(gate.sympy_fn(*args, None).evalf(30))
            assert exact.imag == 0 and exact.real == pytest.approx(as_float, rel=1e-14), name
            break
        else:
            pytest.fail(f"no point in the domain of {name}")


@pytest.mark.parametrize("a, b, expected", [(1.0, 1.0, 0.0), (0.0, 0.0, 0.0),
                                            (1.0, 2.0, 0.5), (0.0, 1e-20, 1e-12),
                                            (math.inf, 1.0, math.inf)])
def test_relative_error(a, b, expected):
    assert relative_error(a, b) == pytest.approx(expected)


@pytest.mark.parametrize("formula, at, sides", [
    ("relu(x)", "x=0", "0 and 1"),
    ("abs(x) * 3", "x=0", "-3 and 3"),
    ("max(x, y) + x*y", "x=1,y=1", "1 and 2"),
    ("hypot(x, y)", "x=0,y=0", "-1 and 1"),    # no finite symbolic derivative there
])
def test_at_a_kink_any_subgradient_passes(formula, at, sides, capsys):
    assert cli.main(["check", formula, "--at", at]) == 0
    out = capsys.readouterr().out
    assert f"sits on a kink: any value between the one-sided derivatives {sides} is a " \
        "valid subgradient, so" in out
    assert "kink: ok" in out


def test_at_a_kink_the_table_shows_the_true_difference_and_why_it_passes(capsys):
    # max(x, y)*x at the tie: flatgrad sends the gradient to x, 2; SymPy's derivative
    # takes Heaviside(0) = 1/2 and says 1.5; the one-sided derivatives are 1 and 2
    assert cli.main(["check", "max(x, y)*x", "--at", "x=1,y=1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    x_row = lines[2].split()
    assert x_row[2:4] == ["2", "1.50000300001"] and x_row[4] == "1.5"
    assert x_row[5:] == ["2.50e-01", "kink:", "ok"]      # |2 - 1.5| / 2, not 0
    assert ("note: at x=1,y=1 x sits on a kink: any value between the one-sided derivatives "
            "1 and 2 is a valid subgradient, so 2 passes") in lines
    assert lines[-1].startswith("ok: largest relative error 0.00e+00 (tolerance 1e-06; at a "
                                "kink, the error beyond the one-sided derivatives)")
    report = flatgrad.check("max(x, y)*x", at={"x": 1.0, "y": 1.0})
    x_row = report.rows[0]
    assert report.ok and x_row.error == 0.0
    assert x_row.difference == pytest.approx(0.25) and x_row.shown == x_row.difference
    assert x_row.kink == pytest.approx((1.0, 2.0), rel=1e-8)
    # without a symbolic value, the difference is from the nearer one-sided derivative
    hypot = flatgrad.check("hypot(x, y) + x/2", at={"x": 0.0, "y": 0.0}).rows[0]
    assert hypot.kink == pytest.approx((-0.5, 1.5), rel=1e-8)
    assert hypot.difference == pytest.approx(relative_error(0.5, 1.5))


@pytest.mark.parametrize("formula, at", [
    ("relu(x)**2", {"x": 0.0}),              # both one-sided derivatives are 0
    ("max(x, y)**2 * 0 + relu(x)**3", {"x": 0.0, "y": 0.0}),
    ("abs(x)**2 + x", {"x": 0.0}),
    ("max(x, 1.0) * 0 + x", {"x": 1.0}),     # a tie in a term that does not count
])
def test_no_kink_where_the_function_is_differentiable(formula, at, capsys):
    report = flatgrad.check(formula, at=at)
    assert report.ok
    assert all(row.kink is None and row.difference is None for row in report.rows)
    text = report.table()
    assert "kink" not in text


def test_at_a_kink_a_value_outside_the_one_sided_derivatives_fails(monkeypatch):
    wrong = dataclasses.replace(gates.GATES["relu"], local=("2.0 if {a} >= 0.0 else 0.0",))
    monkeypatch.setitem(gates.GATES, "relu", wrong)
    report = flatgrad.check("relu(x)", at={"x": 0.0})
    assert not report.ok
    assert report.rows[0].kink == pytest.approx((0.0, 1.0))
    assert report.rows[0].error == pytest.approx(0.5)            # to the nearer end, 1
    assert report.rows[0].difference == pytest.approx(0.75)      # from SymPy's 0.5
    text = report.table()
    assert "kink: FAILED" in text
    assert ("note: at x=0 x sits on a kink, and 2 lies outside the one-sided derivatives 0 "
            "and 1 (relative error 5.00e-01 to the nearer): fails") in text
    assert text.splitlines()[-1].startswith("FAILED: largest relative error 5.00e-01")
