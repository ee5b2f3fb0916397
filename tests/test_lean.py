"""The lean profile (core/lean.py) folds copies and one-use lines into their
readers: the same float operations in the same order, so the same numbers as the
fast profile to the last bit, in fewer lines, locals and bytecodes."""
import random
import re

import pytest

import flatgrad
from flatgrad.core.lean import _kind, _left, _right
from oracle import gate_formulas, same_float
from test_properties import usable_formulas

REFERENCE = "(x+σ(y))/(σ(x)+(x+y)²)"
RNG = random.Random(14)
POINTS = [(RNG.uniform(0.1, 2.0) * RNG.choice((1, -1)), RNG.uniform(0.1, 2.0),
           RNG.uniform(-2.0, 2.0)) for _ in range(8)]


def results(compiled, point):
    try:
        value, grads = compiled.value_and_grad(*point[:len(compiled.inputs)])
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        return type(error)
    return [value, *grads]


def assert_same_numbers(text: str, points=POINTS) -> None:
    fast = flatgrad.compile(text, profile="fast")
    lean = flatgrad.compile(text, profile="lean")
    for point in points:
        expected, got = results(fast, point), results(lean, point)
        if isinstance(expected, type):
            assert got is expected, (text, point)
            continue
        assert all(same_float(a, b) for a, b in zip(got, expected)), (text, point, got, expected)
        assert same_float(lean(*point[:len(lean.inputs)]), expected[0])


# Each puts a folded line where brackets decide the grouping: a sum right of a
# minus or inside a product, a product right of a division or a product, a
# negation under a power, a power under a power.
BRACKETS = [
    "x - (y + z)", "x * (y + z) - (x - y)", "x / (y * z) + x", "x * (y * z) + y",
    "(x * y) * z - x", "x - y * z", "(-x)**2 + y", "-(x * y) * z", "x**(y*z) + z",
    "(x**y)**z + y", "2**(x*y) + y", "z - (x - y) - (y - z)", "x / (y / z)",
    "(x + y) / (x - y)**2", "max(x, y + z) * (x - z)", "relu(x - y*z) * (y + z)",
    "min(x*y, z) - x*y",
    "σ(x*y + z) * (x - 0.869)² + σ(x - y*z) * (x + 1.059)²",
    "exp(-(x*y + z)) + log(1 + (x*y)**2)", "abs(x - y*z) + tanh(-(x + y))",
]


@pytest.mark.parametrize("text", BRACKETS)
def test_brackets_keep_every_number_bit_for_bit(text):
    assert_same_numbers(text)


@pytest.mark.parametrize("row, text", gate_formulas(), ids=[row for row, _ in gate_formulas()])
def test_every_gate_row_gives_the_fast_profiles_numbers(row, text):
    points = [(abs(x) + 0.05, abs(y) % 1 + 0.5, z) for x, y, z in POINTS] + POINTS
    assert_same_numbers(f"{text} * (x - 0.3) + (x - y) * 2", points)


def assigned_names_are_all_read(source: str) -> bool:
    """Every name a function of the module assigns is read after (no F841)."""
    import ast
    for function in ast.parse(source).body:
        if isinstance(function, ast.FunctionDef):
            stored = {node.id for node in ast.walk(function)
                      if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
            loaded = {node.id for node in ast.walk(function)
                      if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
            if stored - loaded:
                return False
    return True


def test_three_hundred_random_formulas_give_the_fast_profiles_numbers():
    checked = 0
    for formula, point, _, _ in usable_formulas(random.Random(1414), 600):
        assert_same_numbers(formula.text, [tuple(point.values())])
        source = flatgrad.compile(formula.text, profile="lean").source
        assert assigned_names_are_all_read(source), formula.text
        assert max(len(line) for line in source.splitlines()) <= 100, formula.text
        checked += 1
        if checked == 300:
            break
    assert checked == 300


@pytest.mark.parametrize("text", [
    "abs(σ(3) ** y)", "(min(max(0, pi), min(1.0, x)) - max(2, 0.5) + sqrt(e)) * x",
    "y + (2 * abs(1e-300) + exp(sqrt(z))**exp(σ(y)))",
])
def test_a_fold_that_would_make_a_line_too_long_to_print_stays_a_line(text, tmp_path):
    # constants written out inline (σ(3)) make long folds: they are printed by name
    source = flatgrad.compile(text, profile="lean").source
    assert max(len(line) for line in source.splitlines()) <= 100
    assert assigned_names_are_all_read(source)
    assert_same_numbers(text, [(0.7, 1.3, 0.4), (2.0, 0.5, 1.5)])


def family(n: int) -> str:
    rng = random.Random(n)
    return " + ".join(f"σ({rng.uniform(-2, 2):.3f}*x + {rng.uniform(-2, 2):.3f}*y)"
                      f"*(x - {rng.uniform(-2, 2):.3f})²" for _ in range(n))


def test_a_long_sum_runs_in_fewer_lines_locals_and_bytecodes():
    text = family(200)
    fast, lean = (flatgrad.compile(text, profile=p) for p in ("fast", "lean"))
    assert_same_numbers(text, [(0.3, -0.2, 0.0), (-1.5, 2.0, 0.0)])
    space: dict = {}
    exec(compile(fast.source, "<fast>", "exec"), space)
    fast_code = space["f_and_grad"].__code__
    exec(compile(lean.source, "<lean>", "exec"), space)
    lean_code = space["f_and_grad"].__code__
    assert lean_code.co_nlocals < 0.7 * fast_code.co_nlocals
    assert len(lean_code.co_code) < 0.9 * len(fast_code.co_code)
    assert lean.source.count("\n") < 0.6 * fast.source.count("\n")
    # a long chain of folds stays a chain of short lines
    assert max(len(line) for line in lean.source.splitlines()) <= 100


def test_the_reference_reads_as_its_backward_pass_without_the_copies_and_sums_at_the_end():
    source = flatgrad.compile(REFERENCE, profile="lean").source
    backward = source[source.index("# backward pass"):].splitlines()[1:]
    assert [line.strip() for line in backward] == [
        "dden = -1.0 / den**2 * num  # (7)",
        "dxpy = 2.0 * xpy * dden  # (5)",
        "dx = dxpy + (1.0 - sigx) * sigx * dden + invden",
        "dy = dxpy + (1.0 - sigy) * sigy * invden",
        "return f, (dx, dy)",
    ]
    assert "# backprop" not in source
    assert flatgrad.compile(REFERENCE, profile="lean").value_and_grad(3, -4) == \
        flatgrad.compile(REFERENCE).value_and_grad(3, -4)


def test_a_line_that_can_raise_keeps_its_line_and_its_stage_in_the_message():
    compiled = flatgrad.compile("sqrt(x) * y", profile="lean")
    assert "dx = 0.5 / sqrtx * y  # (1)" in compiled.source
    with pytest.raises(ZeroDivisionError, match=r"at the gradient line dx = 0\.5 / sqrtx \* y, "
                                                r"backprop of stage \(1\)"):
        compiled.value_and_grad(0.0, 1.0)
    # a forward line that can raise is not folded into its reader either
    compiled = flatgrad.compile("log(x) + y", profile="lean")
    assert re.search(r"logx = math\.log\(x\) +# \(1\)", compiled.source)
    with pytest.raises(ValueError, match=r"stage \(1\) logx = math\.log\(x\)"):
        compiled(-1.0, 2.0)


def test_a_gradient_summed_at_the_end_adds_in_the_order_of_its_lines():
    # three contributions of very different sizes: any other order rounds differently
    text = "1e16 * x + x - 1e16 * x + 3 * x * y"
    assert_same_numbers(text, [(1.0, 0.1, 0.0), (0.7, -1.3, 0.0)])
    source = flatgrad.compile(text, profile="lean").source
    assert "dx += " not in source and re.search(r"\n    dx = .* \+ .*\n", source)
    many = " + ".join(f"{k}.5 * x * y" for k in range(60))   # more than one line holds
    assert_same_numbers(many)
    lines = flatgrad.compile(many, profile="lean").source.splitlines()
    sums = [line for line in lines if line.startswith("    dx = dx + ")]
    assert len(sums) >= 3 and max(map(len, lines)) <= 100
    # a contribution that can raise keeps the gradient's lines where they stand
    source = flatgrad.compile("sqrt(x) + x * y", profile="lean").source
    assert "dx += 0.5 / sqrtx  # (1)" in source


def test_forward_values_the_backward_pass_reads_keep_their_names():
    source = flatgrad.compile("σ(1.5*x + 0.5*y) * (x - 2)²", profile="lean").source
    assert re.search(r"dot = 1\.5 \* x \+ 0\.5 \* y +# \(3\)", source)   # cx, cy folded
    assert re.search(r"xm2 = x - 2(\.0)? +# \(5\)", source)   # read by its gradient line


@pytest.mark.parametrize("code, kind", [
    ("a", "atom"), ("math.exp(a + b)", "atom"), ("a**2", "power"), ("-a", "negation"),
    ("a * b / c", "product"), ("-a * b", "product"), ("(a + b) * c", "product"),
    ("a + b * c", "sum"), ("a - (b * c)", "sum"), ("a if c > 0 else b", "conditional"),
    ("a > b", "conditional"), ("a == b * c", "conditional"),
])
def test_kinds_of_expression(code, kind):
    assert _kind(code) == kind


@pytest.mark.parametrize("before, side", [
    ("", "open"), ("(", "open"), ("f(a, ", "open"), ("a + ", "+"), ("a - ", "-"),
    ("-", "neg"), ("a * -", "neg"), ("a * ", "*"), ("a / ", "/"), ("a**", "**"),
    ("a > ", "cmp"), ("a if ", "if"), ("a if c else ", "else"), ("(1.0 - ", "-"),
    ("a if c else -", "neg"), ("a if -", "neg"),
])
def test_what_stands_left_of_a_name(before, side):
    assert _left(before) == side


@pytest.mark.parametrize("after, side", [
    ("", "close"), (")", "close"), (", b)", "close"), (" + b", "+"), (" - b", "-"),
    (" * b", "*"), (" / b", "/"), ("**2", "**"), (" > 0", "cmp"), (" if c", "if"),
])
def test_what_stands_right_of_a_name(after, side):
    assert _right(after) == side


def test_other_modes_and_teaching_read_a_gate_by_gate_plan():
    lean = flatgrad.compile(REFERENCE, profile="lean")
    fast = flatgrad.compile(REFERENCE)
    assert lean.hessian(3.0, -4.0) == fast.hessian(3.0, -4.0)
    assert lean.jvp(3.0, -4.0, 1.0, 0.5) == fast.jvp(3.0, -4.0, 1.0, 0.5)
    hvp = flatgrad.compile(REFERENCE, profile="lean", mode="hvp")
    assert hvp.hvp(3.0, -4.0, 1.0, 0.0) == fast.hessian(3.0, -4.0)[0]


def test_a_lesson_refuses_the_lean_profile_and_says_which_to_use(tmp_path, capsys):
    from flatgrad.cli import main
    assert main(["handout", REFERENCE, "--at", "x=3,y=-4", "--profile", "lean",
                 "-o", str(tmp_path / "h.html")]) != 0
    assert "use the fast or teach profile (--profile fast)" in capsys.readouterr().err
    assert not (tmp_path / "h.html").exists()
    # a circuit is drawn gate by gate: the same as the fast profile's
    for profile in ("lean", "fast"):
        assert main(["diagram", REFERENCE, "--at", "x=3,y=-4", "--profile", profile,
                     "-o", str(tmp_path / f"{profile}.dot")]) == 0
    assert (tmp_path / "lean.dot").read_text() == (tmp_path / "fast.dot").read_text()


def test_the_c_target_compiles_the_lean_lines_to_the_same_numbers():
    from flatgrad import native
    try:
        native.compiler()
    except flatgrad.FlatgradError as missing:
        pytest.skip(str(missing))
    lean = flatgrad.compile(family(20), profile="lean", target="c")
    fast = flatgrad.compile(family(20), profile="fast")
    value, grads = lean.value_and_grad(0.3, -0.2)
    expected = fast.value_and_grad(0.3, -0.2)
    assert value == pytest.approx(expected[0], rel=1e-14)
    assert grads == pytest.approx(expected[1], rel=1e-13)
