"""Generated modules keep within the project's own ruff settings, line length included
(pyproject: line-length 100, select E, F, W), and wrapping a long line changes nothing
but whitespace: the same tree, the same values, the same stage named on an error."""
from __future__ import annotations

import ast
import importlib.util
import os
import py_compile
import subprocess
import sys
import warnings

import numpy as np
import pytest

import flatgrad
from flatgrad import emit
from flatgrad.emit import wrap
from conftest import REFERENCE, ROOT

LINE_LENGTH = 100

# The two-layer net of the README, with symbolic sizes.
NET = """\
W1: HxD
b1: Hx1
W2: CxH
b2: Cx1
X: DxN
y: N
hidden = relu(W1 @ X + b1)
scores = W2 @ hidden + b2
loss = softmax_loss(scores, y) + 0.5 * reg * (sum(W1²) + sum(W2²))
"""
NET_SIZES = {"H": 4, "D": 3, "C": 3, "N": 5}
# The gradient of a mean through softmax: a long VJP line.
SOFTMAX = "probabilities = softmax(scores_of_every_class)\nmean(probabilities)"
# A long comment above a line: a gradient summed back over broadcast axes.
BROADCAST = ("weights_of_the_first_layer: NxCxHxW\nbias_of_every_channel: 1xCx1x1\n"
             "sum(tanh(weights_of_the_first_layer + bias_of_every_channel))")
SUM30 = " + ".join(f"{k + 1}*sin(x*y + {k})" for k in range(30))
INPUTS60 = " + ".join(f"x{k}*x{(k + 1) % 60}" for k in range(60))
LONG_NAMES = ("alpha_long_name = sigmoid(first_input_variable * second_input_variable"
              " + third_input_variable_with_long_name)\n"
              "beta = alpha_long_name * log(first_input_variable + 2)")
# Short enough to be quoted whole, too long for one header line.
MEDIUM = "softplus(x*y - z) + logaddexp(x, 2*z) * tanh(y/3) + sqrt(x*x + y*y + z*z) - hypot(x, z)"
STAGE_ERROR = ("difference_of_the_two_inputs_for_the_test = first_input - second_input\n"
               "logarithm_of_the_difference_between_both = "
               "log(difference_of_the_two_inputs_for_the_test)\n"
               "logarithm_of_the_difference_between_both * 2")

SCALAR = [REFERENCE, SUM30, INPUTS60, LONG_NAMES, MEDIUM, STAGE_ERROR]
ARRAYS = {"net": (NET, None), "net wrt": (NET, "W1,b1,W2,b2"),
          "softmax": (SOFTMAX, None), "broadcast": (BROADCAST, None)}
ARRAY_SHAPES = {"softmax": {"scores_of_every_class": (4,)}}


@pytest.fixture(scope="module")
def ruff():
    """ruff under the project's own settings, long lines not excused."""
    probe = subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("ruff is not installed (it comes with the test extra)")

    def lint(path):
        return subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated",
                               "--line-length", str(LINE_LENGTH), "--select", "E,F,W",
                               str(path)], capture_output=True, text=True)
    return lint


def compiled(text, target=None, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flatgrad.compile(text, target=target, **options)


def unwrapped(g):
    """`g`'s module as it was printed before long lines were wrapped: the same plan,
    emitted with no line length."""
    saved = emit.LINE_LENGTH, wrap.LINE_LENGTH
    emit.LINE_LENGTH = wrap.LINE_LENGTH = 10**6
    try:
        return emit.emitter(g.target).emit(g.plan).source
    finally:
        emit.LINE_LENGTH, wrap.LINE_LENGTH = saved


def run(source, g, point):
    """value and gradient from the module `source`, run as it is."""
    namespace = {"__name__": "unwrapped"}
    exec(compile(source, "<unwrapped>", "exec"), namespace)
    return namespace[g.name + "_and_grad"](*[point[name] for name in g.inputs])


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code_tree(source: str) -> str:
    """The module's tree without its docstrings (which wrap as prose)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body[0].value.value = ""
    return ast.dump(tree)


def scalar_point(g, elementwise: bool):
    """Inside every formula's domain: positive, each input above the next."""
    rng = np.random.default_rng(7)
    values = 2.0 - 0.02 * np.arange(len(g.inputs))[:, None] \
        + rng.uniform(0, 0.01, size=(len(g.inputs), 3 if elementwise else 1))
    return {name: (row if elementwise else float(row[0])) for name, row in zip(g.inputs, values)}


def array_point(g):
    rng = np.random.default_rng(3)
    point = {}
    for name, shape in g.shapes.items():
        dims = tuple(NET_SIZES.get(d, 2) if isinstance(d, str) else d for d in shape)
        if name in g.graph.integer:
            point[name] = rng.integers(0, NET_SIZES["C"], size=dims)
        else:
            point[name] = rng.normal(size=dims) if dims else 0.1
    return point


def assert_same(a, b):
    value_a, grads_a = a
    value_b, grads_b = b
    np.testing.assert_array_equal(value_a, value_b)
    assert len(grads_a) == len(grads_b)
    for x, y in zip(grads_a, grads_b):
        np.testing.assert_array_equal(x, y)


def check_module(tmp_path, g, point, ruff, name):
    path = tmp_path / f"{name}.py"
    g.write(path)
    lint = ruff(path)
    assert lint.returncode == 0, lint.stdout
    assert max(len(line) for line in g.source.splitlines()) <= LINE_LENGTH
    py_compile.compile(str(path), doraise=True)
    module = load(path, f"generated_{name}")
    args = [point[name] for name in g.inputs]   # positional: a numba ufunc takes no keywords
    assert_same(getattr(module, g.name + "_and_grad")(*args), g.value_and_grads(*args))
    np.testing.assert_array_equal(getattr(module, g.name)(*args), g(*args))


SCALAR_CASES = [
    pytest.param(text, target, profile, id=f"{name}-{target}-{profile}")
    for name, text in zip(["reference", "sum30", "inputs60", "long names", "medium",
                           "stage error"], SCALAR)
    for target in ("python", "numpy", "numba") for profile in ("fast", "teach")
    # numba compiles a large formula for seconds: once is enough
    if not (target == "numba" and profile == "teach" and text in (SUM30, INPUTS60))] + [
    pytest.param(text, "python", "lean", id=f"{name}-python-lean")
    for name, text in zip(["reference", "sum30", "inputs60", "long names", "medium",
                           "stage error"], SCALAR)]


@pytest.mark.parametrize("text, target, profile", SCALAR_CASES)
def test_scalar_modules_lint_at_line_length_100_and_compute_the_same(tmp_path, ruff, text,
                                                                     target, profile):
    if target == "numba":
        pytest.importorskip("numba", reason="numba is not installed")
    g = compiled(text, target, profile=profile)
    before = unwrapped(g)
    point = scalar_point(g, target != "python")
    check_module(tmp_path, g, point, ruff, f"{target}_{profile}")
    # wrapping changed whitespace only: the same code, the same values (the code
    # numba compiles is that tree too: not compiled once more)
    assert code_tree(g.source) == code_tree(before)
    if target != "numba":
        assert_same(g.value_and_grads(**point), run(before, g, point))
    if text != REFERENCE:
        assert max(len(line) for line in before.splitlines()) > LINE_LENGTH


@pytest.mark.parametrize("case", list(ARRAYS))
def test_array_programs_lint_at_line_length_100_and_compute_the_same(tmp_path, ruff, case):
    text, wrt = ARRAYS[case]
    options = {"wrt": wrt, "shapes": ARRAY_SHAPES.get(case)}
    g = compiled(text, **options)
    before = unwrapped(g)
    point = array_point(g)
    check_module(tmp_path, g, point, ruff, case.replace(" ", "_"))
    assert code_tree(g.source) == code_tree(before)
    assert_same(g.value_and_grads(**point), run(before, g, point))
    assert max(len(line) for line in before.splitlines()) > LINE_LENGTH


def test_the_reference_listing_needs_no_wrapping():
    g = compiled(REFERENCE)
    assert g.source == unwrapped(g)


def test_a_long_line_continues_inside_brackets_with_its_tag_on_the_first_line():
    lines = compiled("probs = softmax(x); mean(probs)", shapes={"x": 3}).source.splitlines()
    first = lines.index("    dx = probs * (np.broadcast_to(dprobs, probs.shape)  # (1) [3]")
    assert lines[first + 1] == \
        "                  - np.sum(np.broadcast_to(dprobs, probs.shape) * probs))"
    # where aligning under the bracket leaves too little room, a hanging indent
    lines = compiled(SOFTMAX, shapes=ARRAY_SHAPES["softmax"]).source.splitlines()
    first = lines.index("    dscores_of_every_class = probabilities * (  # (1) [4]")
    assert lines[first + 1:first + 3] == [
        "        np.broadcast_to(dprobabilities, probabilities.shape)",
        "        - np.sum(np.broadcast_to(dprobabilities, probabilities.shape) * probabilities))"]
    # a long sum breaks before its operators, inside parentheses added around it
    text = " + ".join(f"a_rather_long_input_name_{k}" for k in range(8))
    code = "total = " + text
    wrapped = wrap.wrap_code(code, 96, len("  # (7)"))
    assert wrapped[0].startswith("total = (a_rather_long_input_name_0 + ")
    assert all(line.startswith("         + a_rather_long") for line in wrapped[1:])
    assert wrapped[-1].endswith(")") and ast.dump(ast.parse("\n".join(wrapped))) == \
        ast.dump(ast.parse(code))


def test_signatures_docstrings_and_comments_wrap():
    source = compiled(INPUTS60).source
    lines = source.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("def f_and_grad(")))
    assert lines[start].startswith("def f_and_grad(x0, x1, x2, ")
    assert lines[start + 1].startswith(" " * len("def f_and_grad(") + "x")
    assert any(line.endswith("x59):") for line in lines[start:start + 6])
    # a docstring's steps continue four columns further in
    steps = compiled(LONG_NAMES).source.splitlines()
    at = steps.index("        alpha_long_name = sigmoid(first_input_variable"
                     " * second_input_variable")
    assert steps[at + 1] == "            + third_input_variable_with_long_name)"
    # the header quotes a formula of up to 120 characters whole, over several lines
    header = compiled(MEDIUM).source.splitlines()[:3]
    assert header[0].startswith("# Generated by flatgrad") and header[1].startswith("#     ")
    assert " ".join(line.lstrip("# ") for line in header[:2]).endswith(
        flatgrad.compile(MEDIUM).formula[-20:])
    # a comment above a line (why a gradient is summed) wraps as a comment
    source = compiled(BROADCAST).source.splitlines()
    comments = [i for i, line in enumerate(source) if line.strip().startswith("# bias_of_every")]
    assert comments and source[comments[0] + 1].strip().startswith("# ")


def test_a_domain_error_in_a_wrapped_line_is_named_by_its_stage():
    g = compiled(STAGE_ERROR)
    lines = g.source.splitlines()
    first = next(i for i, line in enumerate(lines, start=1)
                 if "= math.log(" in line and not line.lstrip().startswith("#"))
    assert lines[first - 1].endswith("# (2)") and lines[first].strip() == \
        "difference_of_the_two_inputs_for_the_test)"
    # every physical line of the wrapped line maps to its stage
    assert g.emitted.lines[first].ref == g.emitted.lines[first + 1].ref == 2
    for call in (g, g.value_and_grad):
        with pytest.raises(ValueError, match=r"at stage \(2\) logarithm_of_the_difference_"
                                             r"between_both = math\.log\(") as caught:
            call(1.0, 2.0)
        assert isinstance(caught.value.__cause__, ValueError)
    assert g(3.0, 2.0) == 0.0


def test_wrapped_lines_map_every_physical_line():
    for text, options in ((SOFTMAX, {"shapes": ARRAY_SHAPES["softmax"]}), (LONG_NAMES, {}),
                          (INPUTS60, {})):
        g = compiled(text, **options)
        lines = g.source.splitlines()
        for pair_line, printed in emit.Passes(g.plan, indent=4).pairs:
            physical = printed.split("\n")
            if len(physical) == 1:
                continue
            starts = [n for n, line in enumerate(lines, start=1)
                      if line.strip() == physical[0].strip()]
            assert starts
            for start in starts:
                for offset in range(len(physical)):
                    assert g.emitted.lines[start + offset] is pair_line


def test_wrapping_is_deterministic_across_processes_and_hash_seeds():
    outputs = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        result = subprocess.run([sys.executable, "-m", "flatgrad", "compile", INPUTS60,
                                 "--target", "numpy"], capture_output=True, env=env, check=True)
        outputs.add(result.stdout)
    assert len(outputs) == 1
    for text in (SUM30, LONG_NAMES, NET):
        assert compiled(text).source == compiled(text).source


def test_values_at_a_point_leave_the_layout_alone():
    # `compile --at` and handouts annotate each line with its value after its tag; the
    # code is laid out as in the module (the annotation may run past the line's end)
    for g, point in ((compiled(LONG_NAMES), {"first_input_variable": 1.5,
                                             "second_input_variable": 0.5,
                                             "third_input_variable_with_long_name": 2.0}),
                     (compiled(NET), array_point(compiled(NET)))):
        plain, annotated = g.source.splitlines(), g.source_at(**point).splitlines()
        assert len(plain) == len(annotated)
        for mine, theirs in zip(plain, annotated):
            assert theirs.startswith(mine), (mine, theirs)
