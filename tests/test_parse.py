"""The input language: board notation, staged programs, and errors with a caret."""
import pytest

import flatgrad
from flatgrad.errors import FlatgradError


@pytest.mark.parametrize("board, python", [
    ("σ(x)", "sigmoid(x)"), ("x²", "x**2"), ("(x+y)³", "(x+y)**3"), ("x⁻¹", "x**-1"),
    ("x·y", "x*y"), ("x×y", "x*y"), ("x÷y", "x/y"), ("x−y", "x-y"), ("√x", "sqrt(x)"),
    ("√(x+y)", "sqrt(x+y)"), ("x^2", "x**2"), ("-x²", "-(x**2)"), ("√x²", "sqrt(x**2)"),
    ("2**-x", "2**(-x)"), ("x**y**2", "x**(y**2)"), ("-x**2*y", "(-(x**2))*y"),
    ("sin(x)²", "sin(x)**2"), ("ln(x)", "log(x)"), ("x²·y³", "x**2*y**3"),
])
def test_board_notation_means_what_it_means_on_a_board(board, python):
    point = (1.3, 0.7)
    a = flatgrad.compile(board, inputs=("x", "y"))
    b = flatgrad.compile(python, inputs=("x", "y"))
    (value_a, grads_a), (value_b, grads_b) = a.value_and_grad(*point), b.value_and_grad(*point)
    assert value_a == pytest.approx(value_b, rel=1e-15)
    assert grads_a == pytest.approx(grads_b, rel=1e-15)


def test_greek_letters_are_variables_and_sigma_alone_is_the_gate():
    g = flatgrad.compile("θ·λ + σ(θ)")
    assert g.inputs == ("θ", "λ")
    assert g.value_and_grad(θ=0.0, λ=2.0) == (0.5, (2.25, 0.0))


def test_staged_programs_keep_the_users_names():
    g = flatgrad.compile("q = x + y\nf = q * z")
    assert "    q = x + y  " in g.source and "dq = z * df" not in g.source
    g = flatgrad.compile("h = tanh(w*x + b); loss = (h - t)**2")
    assert g.inputs == ("w", "x", "b", "t")
    assert "loss = hmt**2" in g.source.replace("  ", " ") or "loss = " in g.source
    assert g.graph.nodes[g.graph.output].name == "loss"


def test_order_and_grouping_follow_the_formula():
    g = flatgrad.compile("(b*c) + (a*d)")
    forward = [n.name for n in g.graph.stages]
    assert forward == ["bc", "ad", "f"]


def test_comments_and_blank_lines_are_fine_in_programs():
    g = flatgrad.compile("# the neuron\ndot = w*x + b  # weighted input\n\nf = σ(dot)\n")
    assert g.inputs == ("w", "x", "b")


@pytest.mark.parametrize("text, message, column", [
    ("x.__class__", "attribute access is not allowed", 1),
    ("__import__('os')", "double underscore", 0),
    ("lambda: 1", "'lambda' is a Python keyword", 0),
    ("import os", "'import' is a Python keyword", 0),
    ("x[i]", "subscripts", 1),
    ("[x for x in y]", "subscripts", 0),
    ("f'{x}'", "strings are not allowed", 1),
    ("(y := 2) * x", "assignment expressions", 3),
    ("sigmoidd(x)", "unknown function 'sigmoidd'", 0),
    ("(x + y", "'(' is never closed", 0),
    ("x + y)", "unmatched ')'", 5),
    ("x +* y", "expected a number, a name or '('", 3),
    ("2x", "missing operator", 1),
    ("sin(x, y)", "sin() takes 1 argument, got 2", 0),
    ("max(x)", "max() takes 2 arguments, got 1", 0),
    ("x % 2", "modulo", 2),
    ("x < y", "comparisons", 2),
    ("x = 1; x = 2", "assigned twice", 7),
    ("exp = 3; exp(2)", "is a variable here, not a function", 9),
    ("x\n+y", "has no effect", 0),
    ("x, y", "tuples are not allowed", 1),
    ("1e999*x", "too large", 0),
    ("log(-1) + x", "undefined", 0),
    ("θ² + ζζ(x)", "unknown function 'ζζ'", 5),   # (σσ(x) is σ(σ(x)): σ is always the gate)
    ("x ** ", "ends too early", 2),
    ("x $ y", "'$' is not allowed", 2),
])
def test_bad_input_is_refused_with_a_caret(text, message, column):
    with pytest.raises(FlatgradError) as caught:
        flatgrad.compile(text)
    err = caught.value
    assert message in str(err)
    assert err.col == column
    caret_line = str(err).split("\n")[2]
    assert caret_line.index("^") - 2 == column


def test_unknown_function_suggests_the_nearest_gate():
    with pytest.raises(FlatgradError, match="did you mean 'sigmoid'"):
        flatgrad.compile("sigmod(x)")
    with pytest.raises(FlatgradError, match="did you mean .*'tanh'"):
        flatgrad.compile("tahn(x)")


def test_empty_input_is_refused():
    for text in ("", "   ", "\n\n", "# only a comment"):
        with pytest.raises(FlatgradError, match="empty input"):
            flatgrad.compile(text)


def test_carets_count_characters_not_bytes():
    with pytest.raises(FlatgradError) as caught:
        flatgrad.compile("σ(θ²) + λ.real")
    assert caught.value.col == 9
    assert str(caught.value).split("\n")[2] == "  " + " " * 9 + "^"


def test_a_deeply_parenthesised_formula_parses():
    depth = 500
    g = flatgrad.compile("(" * depth + "x" + ")" * depth + " * y")
    assert g.value_and_grad(2.0, 3.0) == (6.0, (3.0, 2.0))
