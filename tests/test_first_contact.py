"""First contact (issue 10): what a new user types first, on the command line and
from Python with JAX habits, works or says clearly what to do instead."""
import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import flatgrad
from conftest import ROOT
from flatgrad import FlatgradError

XY = "x*y + sin(x)"          # df/dx = y + cos(x), df/dy = x
DX, DY = 2.0 + math.cos(1.0), 1.0


# -- wrt and inputs as JAX users write them ------------------------------------

@pytest.mark.parametrize("wrt, expected", [
    (0, DX), (1, DY), (-1, DY), (-2, DX), ("x", DX), ("y", DY), (" y ", DY),
    (np.int64(1), DY),
])
def test_one_name_or_position_gives_the_bare_gradient(wrt, expected):
    g = flatgrad.compile(XY, wrt=wrt)
    value, grad = g.value_and_grad(1.0, 2.0)
    assert value == pytest.approx(2.0 + math.sin(1.0))
    assert grad == pytest.approx(expected) and not isinstance(grad, tuple)
    assert g.grad(1.0, 2.0) == grad and g.grad(x=1.0, y=2.0) == grad
    # the module itself keeps returning a tuple
    assert "return f, (d" in g.source
    assert g.check().ok  # the gradient check still reads the gradient by name


@pytest.mark.parametrize("wrt, expected", [
    ((0, 1), (DX, DY)), ([1, 0], (DY, DX)), ((0,), (DX,)), (["x"], (DX,)),
    (("y", 0), (DY, DX)), ("x,y", (DX, DY)), ("y x", (DY, DX)), ("x,", (DX,)),
    (None, (DX, DY)),
])
def test_a_list_tuple_or_name_list_gives_a_tuple(wrt, expected):
    grads = flatgrad.compile(XY, wrt=wrt).grad(1.0, 2.0)
    assert isinstance(grads, tuple) and grads == pytest.approx(expected)


@pytest.mark.parametrize("wrt, message", [
    (2, r"wrt=2 is out of range: the inputs are x, y, at positions 0 to 1 \(or -2 to -1"),
    (-3, "wrt=-3 is out of range"),
    ((0, -2), "wrt names an input twice"),
    (True, "wrt must be input names or positions"),
    (1.0, "wrt must be input names or positions"),
    (("x", 1.5), "wrt must be names or positions, not 1.5"),
    ("x-y", "'x-y' in wrt is not a name"),
    ("", "names nothing"),
])
def test_bad_wrt_is_a_clear_error(wrt, message):
    with pytest.raises(FlatgradError, match=message):
        flatgrad.compile(XY, wrt=wrt)


def test_positions_count_in_the_declared_order_and_for_arrays():
    g = flatgrad.compile(XY, inputs=("y", "x"), wrt=0)
    assert g.wrt == ("y",) and g.grad(2.0, 1.0) == pytest.approx(DY)
    arrays = flatgrad.compile("sum(W*x)", shapes={"W": (3,), "x": (3,)}, wrt=1)
    assert arrays.wrt == ("x",)
    assert arrays.grad(np.ones(3), np.arange(3.0)) == pytest.approx(np.ones(3))
    both = flatgrad.compile("sum(W*x)", shapes={"W": (3,), "x": (3,)}, wrt=(-1, "W"))
    assert both.wrt == ("x", "W")


@pytest.mark.parametrize("inputs", ["y,x", "y x", " y, x ", ("y", "x"), ["y", "x"]])
def test_inputs_have_the_spelling_of_wrt(inputs):
    assert flatgrad.compile(XY, inputs=inputs).inputs == ("y", "x")


@pytest.mark.parametrize("inputs, message", [
    ("yx", r"'x' is not one of the declared inputs \('yx',\)"),   # one name, not y and x
    ("x-y", "'x-y' in inputs is not a name"),
    (3, "inputs must be names"),
    (("x", 3), "inputs must be names, not 3"),
    (("x", "σ"), "σ in inputs is the sigmoid gate"),
])
def test_inputs_that_are_not_a_name_list_are_refused(inputs, message):
    with pytest.raises(FlatgradError, match=message):
        flatgrad.compile(XY, inputs=inputs)


# -- a Python function's signature ------------------------------------------------

def scaled(x, y=2.0):
    return x * y + sin(x)  # noqa: F821 (read, never run)


class Model:
    def loss(self, w, b=0.5):
        return w * b


def test_defaults_of_the_signature_apply_to_the_compiled_callable():
    g = flatgrad.compile(scaled)
    assert g.inputs == ("x", "y") and g.defaults == {"y": 2.0}
    assert g(1.0) == g(1.0, 2.0) == g(x=1.0)
    assert g.value_and_grad(1.0) == g.value_and_grad(1.0, 2.0)
    assert g.grad(1.0) == pytest.approx((DX, DY))
    assert g.grad(1.0, 3.0) == pytest.approx((3.0 + math.cos(1.0), 1.0))
    assert g.grad(1.0, y=3.0) == g.grad(1.0, 3.0)
    assert g.check({"x": 1.0}).ok
    assert "dy becomes 1" in g.source_at(x=1.0)
    assert "def f(x, y):" in g.source  # the module's own signature is unchanged
    assert flatgrad.compile(scaled, wrt=0).grad(1.0) == pytest.approx(DX)


def test_a_bound_method_does_not_make_self_an_input():
    g = flatgrad.compile(Model().loss, wrt="w")
    assert g.inputs == ("w", "b") and g.defaults == {"b": 0.5}
    assert g(4.0) == 2.0 and g.grad(4.0) == 0.5


def test_a_function_without_source_says_what_to_do():
    namespace = {}
    exec("def h(x):\n    return x * x\n", namespace)
    with pytest.raises(FlatgradError) as caught:
        flatgrad.compile(namespace["h"])
    message = str(caught.value)
    assert "interactive prompt" in message and "python -c" in message
    assert "hint: pass the formula as text" in message and "define the function in a file" \
        in message


def test_a_function_from_python_c_says_what_to_do():
    code = ("import flatgrad\ndef f(x):\n    return x*x\n"
            "try:\n    flatgrad.compile(f)\nexcept flatgrad.FlatgradError as e:\n    print(e)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT)
    assert "pass the formula as text" in done.stdout, done.stderr


# -- the command line ---------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["eval", "-log(x)", "--at", "x=2"],
    ["eval", "--at", "x=2", "-log(x)"],
    ["eval", "-log(x)", "--at=x=2"],
    ["eval", "-log(x)", "--a", "x=2"],          # an abbreviation argparse accepts
    ["eval", "-log(x)", "--wrt", "x", "--at", "x=2"],
])
def test_a_formula_starting_with_a_minus_is_not_an_option(run_cli, args):
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "f = -0.693147\ndf/dx = -0.5\n"


def test_a_leading_minus_keeps_the_options_and_the_caret(run_cli, tmp_path):
    out = tmp_path / "m.py"
    done = run_cli("compile", "-2*x", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "# Generated by flatgrad" in out.read_text() and "from: -2 * x" in out.read_text()
    helped = run_cli("eval", "-h")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: flatgrad eval")
    attached = run_cli("compile", "-o" + str(tmp_path / "n.py"), "x*y")  # -oFILE, as argparse
    assert attached.returncode == 0 and (tmp_path / "n.py").exists()
    bad = run_cli("eval", "-log(x", "--at", "x=1")
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[1:] == ["  -log(x", "      ^"]


def test_minus_f_dash_reads_standard_input(run_cli):
    done = run_cli("eval", "-f", "-", "--at", "x=2,y=3", stdin="x*y\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "f = 6\ndf/dx = 3\ndf/dy = 2\n"
    piped = run_cli("compile", "-f", "-", stdin="x*y")
    assert piped.returncode == 0 and "def f_and_grad(x, y):" in piped.stdout


@pytest.mark.parametrize("name, reason", [
    ("missing.txt", "No such file or directory"), (".", "Is a directory"),
    ("binary.txt", "not UTF-8 text"),
])
def test_an_unreadable_formula_file_is_bad_input(run_cli, tmp_path, name, reason):
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00x*y")
    done = run_cli("eval", "-f", name, "--at", "x=1", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"flatgrad: error: cannot read the formula from -f {name}: {reason}\n"


def _cli(*args, timeout=60, **options):
    return subprocess.run([sys.executable, "-m", "flatgrad", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, **options)


@pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="no /dev/stdout")
@pytest.mark.parametrize("args, start", [
    (["compile", "x*y"], "# Generated by flatgrad"),
    (["handout", "x*y", "--at", "x=1,y=2"], "<!DOCTYPE html>"),
    (["diagram", "x*y"], "// Generated by flatgrad"),
])
def test_writing_to_a_pipe_through_dev_stdout_does_not_hang(args, start):
    # stdout is a pipe here: the old overwrite check read it, waiting forever
    done = _cli(*args, "-o", "/dev/stdout")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(start) and "wrote /dev/stdout" in done.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_named_pipe_is_written_straight_to(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    done = _cli("compile", "x*y", "-o", str(fifo))
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert received and received[0].startswith("# Generated by flatgrad")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temporary left


@pytest.mark.parametrize("args, message", [
    (["diagram", "x*y", "-o", "c.pdf"],
     "flatgrad: error: cannot write a diagram to c.pdf: flatgrad does not write .pdf files; "
     "use .dot, .svg or .png, or give --format dot|svg|png\n"
     "hint: for a PDF, write c.dot and run Graphviz: dot -Tpdf c.dot -o c.pdf\n"),
    (["diagram", "x*y", "-o", "circuit"],
     "flatgrad: error: cannot write a diagram to circuit: its name has no extension; "
     "use .dot, .svg or .png, or give --format dot|svg|png\n"),
    (["handout", "x*y", "--at", "x=1,y=2", "-o", "notes.txt"],
     "flatgrad: error: cannot write a handout to notes.txt: flatgrad does not write .txt "
     "files; use .html, .htm, .md, .markdown or .pdf, or give --format html|markdown|pdf\n"),
])
def test_an_output_extension_flatgrad_does_not_write_is_refused(run_cli, tmp_path, args,
                                                                 message):
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr == message
    assert list(tmp_path.iterdir()) == []


def test_format_decides_where_the_extension_cannot(run_cli, tmp_path):
    done = run_cli("diagram", "x*y", "-o", "circuit.txt", "--format", "dot", cwd=tmp_path)
    assert done.returncode == 0 and "digraph" in (tmp_path / "circuit.txt").read_text()
    done = run_cli("handout", "x*y", "--at", "x=1,y=2", "-o", "notes.txt", "--format",
                   "markdown", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "notes.txt").read_text().startswith("<!--")
    done = run_cli("handout", "x*y", "--at", "x=1,y=2", "-o", "notes.HTM", cwd=tmp_path)
    assert done.returncode == 0
    assert (tmp_path / "notes.HTM").read_text().startswith("<!DOCTYPE html>")


def test_repeated_at_is_one_point_except_for_check(run_cli, tmp_path):
    done = run_cli("eval", "x*y", "--at", "x=3", "--at", "y=-4")
    assert done.returncode == 0 and done.stdout == "f = -12\ndf/dx = -4\ndf/dy = 3\n"
    compiled = run_cli("compile", "x*y", "--at", "x=3", "--at", "y=-4")
    assert "f = x * y  # (1) f becomes -12" in compiled.stdout
    handout = run_cli("handout", "x*y", "--at", "x=3", "--at", "y=-4", "-o", "h.html",
                      cwd=tmp_path)
    assert handout.returncode == 0, handout.stderr
    diagram = run_cli("diagram", "x*y", "--at", "x=3", "--at", "y=-4")
    assert diagram.returncode == 0 and "-12" in diagram.stdout
    twice = run_cli("eval", "x*y", "--at", "x=3", "--at", "x=4,y=1")
    assert twice.returncode == 2
    assert twice.stderr == ("flatgrad: error: --at gives x twice (x=3 and x=4); a point has "
                            "one value per input\n")
    points = run_cli("check", "x*y", "--at", "x=3,y=1", "--at", "x=1,y=2")
    assert points.returncode == 0 and "x=3,y=1" in points.stdout and "x=1,y=2" in points.stdout
    halves = run_cli("check", "x*y", "--at", "x=3", "--at", "y=1")
    assert halves.returncode == 2
    assert "check takes each --at as a point of its own" in halves.stderr
    assert "each --at is another point" in run_cli("check", "--help").stdout


def test_the_readme_quick_start_needs_no_activated_environment(run_cli):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = readme.split("```sh\n", 1)[1].splitlines()[0]
    install, run = first.split(" && ")
    assert install == "python3 -m pip install ." and run.startswith("python3 -m flatgrad ")
    done = run_cli("compile", "(x+σ(y))/(σ(x)+(x+y)²)")
    assert done.returncode == 0 and "def f_and_grad(x, y):" in done.stdout


# -- the messages: right hints or none --------------------------------------------

def _refusal(text, **options):
    with pytest.raises(FlatgradError) as caught:
        flatgrad.compile(text, **options)
    return caught.value


@pytest.mark.parametrize("text, message, col, hint", [
    ("exp x", "missing operator before 'x'", 4,
     "write exp(x): a function's argument goes in parentheses"),
    ("sqrt x + 1", "missing operator before 'x'", 5,
     "write sqrt(x): a function's argument goes in parentheses"),
    ("sin x", "missing operator before 'x'", 4,
     "write sin(x): a function's argument goes in parentheses"),
    ("x y", "missing operator before 'y'", 2, "write x*y for a product"),
    ("2 x", "missing operator before 'x'", 2, "write 2*x for a product"),
    ("exp = 2*y; exp x", "missing operator before 'x'", 15, "write exp*x for a product"),
    ("2xy", "missing operator between '2' and 'xy'", 1, "write 2*xy for a product"),
    ("0x1F*x", "hexadecimal numbers such as 0x1F are not supported", 0,
     "write it in decimal: 31"),
    ("x + 0o17", "octal numbers such as 0o17 are not supported", 4, "write it in decimal: 15"),
    ("0b101*x", "binary numbers such as 0b101 are not supported", 0, "write it in decimal: 5"),
    ("|x| + y", "absolute value bars |…| are not allowed", 0, "write abs(x)"),
    ("2*|x - y|", "absolute value bars |…| are not allowed", 2, "write abs(x - y)"),
    ("x | y", "bitwise operators are not allowed", 2, "for an absolute value, write abs(x)"),
    ("f(x) = x**2", "f(…) = … defines a function; flatgrad names stages instead", 0,
     "name a stage without parameters: f = x**2"),
    ("a = x*y\ng(a, y) = a + y; g", "g(…) = … defines a function; flatgrad names stages "
     "instead", 0,
     "name a stage without parameters: g = a + y"),
    ("a + b = c", "'=' may only follow a name at the start of a statement", 6,
     "a stage is written name = formula, one per line or separated by ';'"),
])
def test_parse_hints_are_right(text, message, col, hint):
    err = _refusal(text)
    assert err.message == message and err.col == col and err.hint == hint


def test_the_caret_spans_the_refused_text():
    assert str(_refusal("0x1F*x")).splitlines()[1:3] == ["  0x1F*x", "  ^^^^"]
    assert str(_refusal("2*|x - y|")).splitlines()[1:3] == ["  2*|x - y|", "    ^^^^^^^"]
    assert str(_refusal("f(x) = x**2")).splitlines()[1:3] == ["  f(x) = x**2", "  ^^^^"]


@pytest.mark.parametrize("text, hint", [
    ("print(x)", "print is Python, not a gate: flatgrad reads formulas and never runs code; "
                 "the gates are: abs, acos"),
    ("sign(x)", "sign is a step function: its gradient is zero wherever it is defined"),
    ("square(x)", "square(a) is a**2, or a²"),
    ("logit(x)", "logit(p) is log(p / (1 - p))"),
    ("elu(x)", "the gates are: abs, acos"),        # not 'relu'
    ("foo(x)", "the gates are: abs, acos"),
    ("sigmod(x)", "did you mean 'sigmoid'?"),
    ("sigmiod(x)", "did you mean 'sigmoid'?"),
    ("tahn(x)", "did you mean 'tan' or 'tanh'?"),
    ("soft_plus(x)", "did you mean 'softplus'?"),
])
def test_a_suggestion_only_for_a_typing_slip(text, hint):
    err = _refusal(text)
    assert err.message.startswith("unknown function") and err.hint.startswith(hint)
    assert "expit" not in err.hint


@pytest.mark.parametrize("text, name", [
    ("softmax(x)", "softmax"), ("sum(x*y)", "sum"), ("mean(x)", "mean"),
    ("logsumexp(x)", "logsumexp"),
])
def test_array_gates_on_scalars_say_they_need_arrays(text, name):
    err = _refusal(text)
    assert err.message == f"{name}() works on arrays, and every input here is a scalar"
    assert "--shape W=5x10" in err.hint and "'W: 5x10'" in err.hint and "max" not in err.hint


@pytest.mark.parametrize("text, args, expected", [
    ("σx", (0.5,), 1 / (1 + math.exp(-0.5))),
    ("σx*y + σ(y)", (0.5, 2.0), 2 / (1 + math.exp(-0.5)) + 1 / (1 + math.exp(-2.0))),
    ("σ√x", (4.0,), 1 / (1 + math.exp(-2.0))),
    ("σσx", (0.0,), 1 / (1 + math.exp(-0.5))),
])
def test_sigma_is_always_the_gate(text, args, expected):
    g = flatgrad.compile(text)
    assert "σ" not in g.inputs and g(*args) == pytest.approx(expected)


@pytest.mark.parametrize("text, message, col", [
    ("σ", "σ needs an argument", 0), ("x + σ", "σ needs an argument", 4),
    ("σ * x", "σ needs an argument", 0), ("σ = x; σ", "σ is the sigmoid gate", 0),
])
def test_sigma_alone_is_refused(text, message, col):
    err = _refusal(text)
    assert err.message.startswith(message) and err.col == col


@pytest.mark.parametrize("text", ["inf*x", "x + nan", "x*Inf", "NaN", "infinity - x"])
def test_inf_and_nan_are_not_silently_variables(text):
    err = _refusal(text)
    assert "a formula's constants must be finite numbers" in err.message
    assert err.hint.startswith("for a variable named")


def test_inf_and_nan_may_be_declared_inputs_or_stages():
    assert flatgrad.compile("inf*x + nan", inputs="inf x nan")(1.0, 2.0, 3.0) == 5.0
    assert flatgrad.compile("inf = 2*x; inf*x")(3.0) == 18.0


def test_a_superscript_on_a_number_is_a_power():
    assert flatgrad.compile("2³*x")(1.5) == 12.0
    assert flatgrad.compile("x*2⁻¹")(3.0) == 1.5
    assert flatgrad.compile("10²")() == 100.0


@pytest.mark.parametrize("text", ["exp x", "0x1F*x", "|x|", "f(x) = x**2", "σ", "inf*x",
                                  "print(x)", "softmax(x)"])
def test_the_command_line_gives_the_message_and_exit_status_2(run_cli, text):
    done = run_cli("eval", text, "--at", "x=1")
    assert done.returncode == 2 and done.stderr.startswith("flatgrad: error: ")
    assert "^" in done.stderr and "hint: " in done.stderr and "Traceback" not in done.stderr
