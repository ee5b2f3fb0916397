"""Programs over arrays: declarations, shape errors, the generated numpy module."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from numgrad import check_gradients

import flatgrad
from conftest import TWO_LAYER_NET
from flatgrad import FlatgradError
TWO_LAYER = TWO_LAYER_NET


def test_generated_module_is_clean_deterministic_numpy(tmp_path, ruff_check):
    source = flatgrad.compile(TWO_LAYER).source
    assert source == flatgrad.compile(TWO_LAYER).source
    imports = [line for line in source.splitlines() if line.startswith(("import", "from"))]
    assert imports == ["import numpy as np"]
    path = tmp_path / "net.py"
    path.write_text(source)
    subprocess.run([sys.executable, "-m", "py_compile", str(path)], check=True)
    ruff = ruff_check(path)
    assert ruff.returncode == 0, ruff.stdout


EVERY_HELPER = """\
X: CxHxW
K: FxCx2x2
S: LxN
y: N
maps = conv2d(X, K)
sum(logsumexp(maps, 0)) + sum(softmax(maps, 1) * maps) + svm_loss(S, y) + softmax_loss(S, y)
"""


def test_every_helper_passes_the_linters(tmp_path, ruff_check):
    source = flatgrad.compile(EVERY_HELPER).source
    for helper in ("conv2d", "conv2d_grad_x", "conv2d_grad_w", "logsumexp", "softmax",
                   "onehot", "svm_loss_grad", "softmax_loss_grad"):
        assert f"def {helper}(" in source
    path = tmp_path / "helpers.py"
    path.write_text(source)
    ruff = ruff_check(path)
    assert ruff.returncode == 0, ruff.stdout
    rng = np.random.default_rng(3)
    args = {"X": rng.normal(size=(2, 4, 5)), "K": rng.normal(size=(3, 2, 2, 2)),
            "S": rng.normal(size=(4, 6)), "y": rng.integers(0, 4, size=6)}
    assert max(check_gradients(flatgrad.compile(EVERY_HELPER), args).values()) < 1e-6


def test_a_numpy_style_python_function_compiles():
    def layer(W, X, b):
        return np.sum(np.sum(np.maximum(W @ X + b, 0).T, axis=0))

    compiled = flatgrad.compile(layer, shapes={"W": (4, 3), "X": (3, 5), "b": (4, 1)})
    rng = np.random.default_rng(4)
    args = {"W": rng.normal(size=(4, 3)), "X": rng.normal(size=(3, 5)),
            "b": rng.normal(size=(4, 1))}
    assert np.isclose(compiled(**args), layer(**args))


def test_stages_carry_their_shapes_and_matmul_grads_take_the_seed_form():
    source = flatgrad.compile(TWO_LAYER).source
    assert "W1X = W1 @ X" in source and "# (1) [H x N]" in source
    assert "dW2 += dW2hidden @ hidden.T" in source and "dhidden = W2.T @ dW2hidden" in source
    assert "dX = W1.T @ dW1X" in source
    assert "# b1 is [H x 1] but was broadcast to [H x N] in (2): sum its gradient over " \
           "axis 1" in source
    assert "db1 = np.sum(ddot, axis=1, keepdims=True)" in source
    # the labels are an input of the function but get no gradient
    assert "(dW1, dX, db1, dW2, db2, dreg)" in source


def test_header_lines_cli_shapes_and_api_shapes_give_one_module(run_cli):
    body = "sum(relu(W @ x + b))"
    by_api = flatgrad.compile(body, shapes={"W": (5, 10), "x": "10", "b": 5}).source
    by_header = flatgrad.compile("W: 5x10\nx: 10\nb: 5\n" + body).source
    cli = run_cli("compile", body, "--shape", "W=5x10", "--shape", "x=10", "--shape", "b=5")
    assert cli.returncode == 0, cli.stderr
    assert by_api == cli.stdout
    assert by_header.split("\n", 1)[1] == by_api.split("\n", 1)[1]


def test_broadcast_reduction_over_leading_axes_and_to_a_scalar():
    compiled = flatgrad.compile("sum((A * v + s) * C)",
                                shapes={"A": (2, 3, 4), "v": (4,), "C": (2, 3, 4)})
    assert "dv = np.sum(" in compiled.source and "axis=(0, 1)" in compiled.source
    assert "ds = np.sum(" in compiled.source
    rng = np.random.default_rng(0)
    args = {"A": rng.normal(size=(2, 3, 4)), "v": rng.normal(size=4), "s": 0.7,
            "C": rng.normal(size=(2, 3, 4))}
    assert max(check_gradients(compiled, args).values()) < 1e-6


def test_a_forked_gradient_copies_before_adding_in_place():
    # dX's first contribution is dW itself (through the add); `dX += ...` must not
    # change dW, which dZ is read from
    compiled = flatgrad.compile("Y = X * 2; W = X + Z; sum(W * Y)",
                                shapes={"X": (3,), "Z": (3,)})
    assert "dX = dW.copy()" in compiled.source and "dX += " in compiled.source
    rng = np.random.default_rng(1)
    args = {"X": rng.normal(size=3), "Z": rng.normal(size=3)}
    assert max(check_gradients(compiled, args).values()) < 1e-6


def test_wrt_prunes_work_and_labels_are_never_differentiated():
    compiled = flatgrad.compile(TWO_LAYER, wrt="W1,W2")
    assert "dX" not in compiled.source and "db1" not in compiled.source
    assert compiled.wrt == ("W1", "W2")
    with pytest.raises(FlatgradError, match="integer labels"):
        flatgrad.compile(TWO_LAYER, wrt="y")


def test_calls_check_shapes_symbols_and_label_dtype():
    compiled = flatgrad.compile(TWO_LAYER)
    rng = np.random.default_rng(2)
    args = {"W1": rng.normal(size=(4, 3)), "X": rng.normal(size=(3, 5)),
            "b1": np.zeros((4, 1)), "W2": rng.normal(size=(2, 4)), "b2": np.zeros((2, 1)),
            "y": np.zeros(5, dtype=int), "reg": 0.1}
    compiled(**args)
    with pytest.raises(FlatgradError, match=r"X should be \[D x N\], got \[3\]"):
        compiled(**{**args, "X": np.zeros(3)})
    with pytest.raises(FlatgradError, match=r"y should be \[N\], got \[5\]; N is 6 \(from X\)"):
        compiled(**{**args, "X": np.zeros((3, 6))})
    with pytest.raises(FlatgradError, match="must be integers"):
        compiled(**{**args, "y": np.zeros(5)})


@pytest.mark.parametrize("program,shapes,message,operator", [
    ("sum(W @ x + b)", {"W": (5, 10), "x": (10,), "b": (4,)},
     "cannot broadcast Wx [5] with b [4]: 5 and 4 are neither equal nor 1", "+"),
    ("sum(W @ x)", {"W": (5, 10), "x": (9,)},
     "cannot multiply W [5 x 10] by x [9]: the inner sizes 10 and 9 differ", "@"),
    ("sum(A + B)", {"A": ("N",), "B": ("M",)},
     "cannot broadcast A [N] with B [M]: N and M are neither equal nor 1", "+"),
    ("W @ x", {"W": (5, 10), "x": (10,)}, "the output f is [5], not a scalar", None),
    ("sum(X, axis=2)", {"X": (3, 4)}, "axis 2 is out of range for X [3 x 4]", None),
    ("sum(X, k)", {"X": (3, 4)}, "the axis must be an integer constant, not k", None),
    ("softmax_loss(S, y)", {"S": (3, 4), "y": (5,)}, "do not match the scores", None),
    ("softmax_loss(S, y) + sum(y)", {"S": (3, 4), "y": (4,)},
     "y is used both as integer labels and as a number", None),
    ("sum(conv2d(X, K))", {"X": (2, 5, 5), "K": (3, 4, 2, 2)}, "has 2 channels", None),
    ("sum(X)", {"X": (3,), "Q": (2,)}, "a shape is declared for Q, which is not an input", None),
])
def test_bad_programs_say_what_and_where(program, shapes, message, operator):
    with pytest.raises(FlatgradError) as err:
        flatgrad.compile(program, shapes=shapes)
    assert message in str(err.value)
    if operator:
        caret = str(err.value).splitlines()[2]
        assert caret == "  " + " " * program.index(operator) + "^" * len(operator)


def test_an_input_named_like_a_module_global_renames_the_global():
    # the generated module imports numpy under another name instead
    g = flatgrad.compile("sum(np * 2) + sum(softmax(np))", shapes={"np": (3,)})
    assert "import numpy as np\n" not in g.source and "import numpy as np2" in g.source
    value, (grad,) = g.value_and_grad(np.array([1.0, 2.0, 3.0]))
    assert value == pytest.approx(13.0)
    assert grad == pytest.approx([2.0, 2.0, 2.0])


def test_a_stage_named_np_keeps_its_own_attributes():
    # numpy is renamed in the table's templates, so the stage's own np.shape stays its own
    g = flatgrad.compile("np = softmax(x); sum(np) + sum(np * x)", shapes={"x": (3,)})
    x = np.array([0.1, 0.5, -0.3])
    _, (dx,) = g.value_and_grad(x)
    h = 1e-6
    numeric = [(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(3)]
    assert dx == pytest.approx(numeric, rel=1e-6)
    # the upstream gradient of sum(np) is a scalar, spread to np's own shape
    g = flatgrad.compile("np = softmax(x); sum(np) * sum(x)", shapes={"x": (3,)})
    assert "np2.broadcast_to(" in g.source or "np.shape" in g.source
    assert "np2.shape" not in g.source
    _, (dx,) = g.value_and_grad(x)
    numeric = [(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(3)]
    assert dx == pytest.approx(numeric, rel=1e-6)


def test_bad_declarations_point_at_the_header_line():
    with pytest.raises(FlatgradError) as err:
        flatgrad.compile("x: 3\nW: 5 by 3\nsum(W @ x)")
    assert "cannot read the shape '5 by 3'" in str(err.value)
    assert "line 2" in str(err.value)


def test_only_a_name_colon_sizes_line_is_a_declaration():
    with pytest.raises(FlatgradError, match="':' is not allowed"):
        flatgrad.compile("x: y + 1\nx")
    with pytest.raises(FlatgradError, match="keyword"):
        flatgrad.compile("lambda: 1")
    commented = flatgrad.compile("W: 2x3  # weights\nsum(W)")
    assert commented.shapes == {"W": (2, 3)}


def test_parser_allows_only_dot_T_and_axis_keyword():
    for text, message in [("sum(X.exp)", "only .T"), ("sum(X, keepdims=1)", "axis="),
                          ("sum(X = 1)", "'='")]:
        with pytest.raises(FlatgradError, match=message):
            flatgrad.compile(text, shapes={"X": (3,)})
    assert flatgrad.compile("sum(sum(X.T, axis=0))", shapes={"X": (2, 3)}).source == \
        flatgrad.compile("sum(sum(X.T, 0))", shapes={"X": (2, 3)}).source


def test_scalar_programs_refuse_array_syntax_with_a_hint():
    with pytest.raises(FlatgradError, match="multiplies vectors and matrices") as err:
        flatgrad.compile("x @ y")
    assert "--shape" in str(err.value)
    with pytest.raises(FlatgradError, match=r"sum\(\) works on arrays") as err:
        flatgrad.compile("sum(x) * y")
    assert "--shape" in str(err.value)


def test_cli_errors_exit_2_and_eval_refuses_scalar_points(run_cli):
    bad = run_cli("compile", "sum(W @ x)", "--shape", "W=5x10", "--shape", "x=3")
    assert bad.returncode == 2 and "inner sizes" in bad.stderr and "^" in bad.stderr
    point = run_cli("eval", "sum(W)", "--shape", "W=2", "--at", "W=1")
    assert point.returncode == 2 and "W should be [2], got scalar" in point.stderr
    at = run_cli("compile", "sum(W)", "--shape", "W=2", "--at", "W=1")
    assert at.returncode == 2 and "W should be [2], got scalar" in at.stderr
    twice = run_cli("compile", "sum(W)", "--shape", "W=2", "--shape", "W=3")
    assert twice.returncode == 2


def test_written_module_runs_on_its_own(tmp_path):
    path = tmp_path / "net.py"
    flatgrad.compile(TWO_LAYER, name="net").write(path)
    code = ("import numpy as np, net\n"
            "rng = np.random.default_rng(0)\n"
            "W1, X = rng.normal(size=(4, 3)), rng.normal(size=(3, 5))\n"
            "W2 = rng.normal(size=(2, 4))\n"
            "loss, grads = net.net_and_grad(W1, X, np.zeros((4, 1)), W2, np.zeros((2, 1)),\n"
            "                               np.array([0, 1, 0, 1, 1]), 0.1)\n"
            "print([g.shape for g in grads[:5]])\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[(4, 3), (3, 5), (4, 1), (2, 4), (2, 1)]"


def test_a_scalars_gradient_never_changes_the_seed_in_place():
    # ds = dloss, then ds += ...: the seed is a numpy scalar, not a 0-d array
    g = flatgrad.compile("sum(W * s) + sum(W * sin(s)) + s", shapes={"W": (3,)})
    W, s = np.array([0.5, -1.0, 2.0]), 0.7
    _, (dW, ds) = g.value_and_grad(W, s)
    assert dW == pytest.approx(s + np.sin(s))
    assert ds == pytest.approx(np.sum(W) + np.sum(W) * np.cos(s) + 1.0)
    assert flatgrad.compile("c = sin(s); sum(W*c) + c*c + c", shapes={"W": (2,)}).check(
        at="random").ok


@pytest.mark.parametrize("program", ["sum(W * logaddexp(s, t))", "sum(W * softplus(s))",
                                     "sum(W * σ(s)) + σ(t)"])
def test_stages_of_scalars_call_the_scalar_helpers_and_keep_float32(program):
    g = flatgrad.compile(program, shapes={"W": (2,)}, profile="teach")
    args = [np.array([1.0, -2.0], dtype=np.float32), 0.5, 0.25][:len(g.inputs)]
    value, grads = g.value_and_grad(*args)
    assert np.asarray(value).dtype == np.float32
    assert grads[0].dtype == np.float32
    assert g.check(at="random").ok


def test_gradients_at_the_output_are_floats():
    assert flatgrad.compile("2*x").grad(3.0) == (2.0,)
    assert isinstance(flatgrad.compile("2*x").grad(3.0)[0], float)
    x = np.array([-1.0, 1.0, 2.0], dtype=np.float32)
    (dx,) = flatgrad.compile("relu(x)", target="numpy").grad(x)
    assert dx.dtype == np.float32 and list(dx) == [0.0, 1.0, 1.0]
