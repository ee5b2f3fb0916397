"""Nothing from the input is ever run; legitimate names compile safely; files are
written whole or not at all."""
from __future__ import annotations

import math
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flatgrad
from flatgrad import cli
from flatgrad.api import HEADER_MARK, write_module
from flatgrad.errors import FlatgradError

ROOT = Path(__file__).resolve().parent.parent
CANARY = "flatgrad_canary"

# Every payload would create the canary file (or worse) if any of it ran.
PAYLOADS = [
    f"__import__('os').system('touch {CANARY}')",
    f"__import__(\"os\").system(\"touch {CANARY}\")",
    f"open('{CANARY}', 'w')",
    f"exec(\"open('{CANARY}', 'w')\")",
    f"eval(\"open('{CANARY}', 'w')\")",
    "exec(x)",
    "eval(x)",
    "compile(x)",
    "globals()",
    "breakpoint()",
    "getattr(x, '__class__')",
    "x.__class__",
    "x.real",
    "math.exp(x)",
    "np.exp(x)",
    "().__class__.__bases__[0].__subclasses__()",
    "(1).__class__",
    "__builtins__",
    "__import__",
    "__debug__ + x",
    "import os",
    "from os import system",
    "lambda: x",
    "(lambda y: y)(x)",
    "f'{x}'",
    "f\"{__import__('os').system('touch " + CANARY + "')}\"",
    "(y := x) + y",
    "x[0]",
    "x[::-1]",
    "{x}",
    "{'a': x}",
    "x if y else z",
    "[c for c in (x, y)]",
    "x, y",
    "x == y",
    "x @ y",
    "x % y",
    "x // y",
    "~x",
    "x; import os",
    "x\nimport os",
    "x\n__import__('os').system('touch " + CANARY + "')",
    "x = 1; exec(x)",
    "del x",
    "yield x",
    "await x",
    "True + x",
    "None",
    "\\x41",
    "`x`",
    "$x",
    "x ? y",
    "x!",
    "0x1F + x",
    "1e999 * x",
    "ｅｘｅｃ(x)",                  # full-width letters fold (NFKC) to exec
    "＿＿import＿＿",               # full-width low lines fold to __import__
    "x\u202e + y",                 # right-to-left override
    "x\u200b + y",                 # zero-width space
    "x\x00 + y",
    "x\u037e y",                   # Greek question mark (looks like ';')
    "",
    "   \n  # only a comment\n",
]


@pytest.fixture
def canary_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not (tmp_path / CANARY).exists(), "a payload ran"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_refused_with_a_clear_error(payload, canary_dir):
    with pytest.raises(FlatgradError) as caught:
        flatgrad.compile(payload)
    message = str(caught.value)
    assert "Traceback" not in message and message.strip()
    assert not (canary_dir / CANARY).exists()


@pytest.mark.parametrize("payload", PAYLOADS[:12])
def test_payload_on_the_command_line_exits_2(payload, canary_dir):
    done = subprocess.run([sys.executable, "-m", "flatgrad", "compile", payload],
                          check=False, capture_output=True, text=True, cwd=canary_dir,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert done.stderr.startswith("flatgrad: error: ")
    assert done.stdout == ""
    assert not (canary_dir / CANARY).exists()


PIECES = list("xyz012.e+-*/()^,;=σ√²³⁻·×÷− \n\t#_'\"[]:@!<>") + [
    "sin", "max", "log", "pi", "**", "exp", "hypot", "x1", "1e5", "ｅ", "\u0301", "relu",
    "__", "import", "lambda", "exec", "open", "os", ".system"]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_any_text_compiles_or_is_refused_cleanly(text):
    try:
        compiled = flatgrad.compile(text)
    except FlatgradError as err:
        assert err.message and "Traceback" not in str(err)
        return
    try:
        compiled.value_and_grad(*[0.7] * len(compiled.inputs))
    except (ArithmeticError, ValueError) as err:  # outside the domain: named, never bare
        assert " at stage (" in str(err) or " at the gradient line " in str(err)


@pytest.mark.parametrize("option, value", [
    ("--name", "f(): pass\nimport os\ndef g"), ("--name", "__init__"), ("--name", "f.x"),
    ("--inputs", "x,__import__"), ("--inputs", "x=os"), ("--grad-prefix", "d;import os"),
    ("--grad-prefix", "1d"), ("--wrt", "x.__class__"),
])
def test_options_cannot_inject_code(option, value, canary_dir, capsys):
    assert cli.main(["compile", "x*y", option, value]) == 2
    assert capsys.readouterr().err.startswith("flatgrad: error: ")


def test_refusal_points_a_caret_at_the_offending_character():
    with pytest.raises(FlatgradError) as caught:
        flatgrad.compile("x + y.__class__")
    assert caught.value.col == 5
    assert str(caught.value).splitlines()[1:] == ["  x + y.__class__", "       ^"]


def test_payloads_in_a_python_function_are_refused(canary_dir):
    def attack(x):
        return __import__("os").system("touch " + CANARY) + x

    def dunder(x):
        return x.__class__

    for function in (attack, dunder):
        with pytest.raises(FlatgradError):
            flatgrad.compile(function)


def test_payloads_in_sympy_symbol_names_are_refused(canary_dir):
    sympy = pytest.importorskip("sympy")
    x = sympy.Symbol("x")
    for name in [f"__import__('os').system('touch {CANARY}')", "x.__class__", "a b", "y;z"]:
        with pytest.raises(FlatgradError):
            flatgrad.compile(x + sympy.Symbol(name))
    with pytest.raises(FlatgradError):
        flatgrad.compile(sympy.Function("exec")(x))


# Names that look dangerous or collide with the module's own names are ordinary
# variables: they compile, and the values are right.
LEGITIMATE = [
    ("math * f + sigmoid", {"math": 2.0, "f": 3.0, "sigmoid": 0.5},
     lambda v: v["math"] * v["f"] + v["sigmoid"]),
    ("f_and_grad * exec + eval", {"f_and_grad": 2.0, "exec": 3.0, "eval": 0.5},
     lambda v: v["f_and_grad"] * v["exec"] + v["eval"]),
    ("num / den + dx * dy", {"num": 2.0, "den": 3.0, "dx": 0.5, "dy": 1.5},
     lambda v: v["num"] / v["den"] + v["dx"] * v["dy"]),
    ("σ(sigmoid) + exp(math)", {"sigmoid": 0.3, "math": 0.2},
     lambda v: 1 / (1 + math.exp(-v["sigmoid"])) + math.exp(v["math"])),
    ("softplus(x) + logaddexp(x, softplus)", {"x": 1.0, "softplus": 2.0},
     lambda v: math.log1p(math.exp(v["x"])) + math.log(math.exp(v["x"]) + math.exp(v["softplus"]))),
    ("error * STAGES + failed_stage", {"error": 1.5, "STAGES": 2.0, "failed_stage": 3.0},
     lambda v: v["error"] * v["STAGES"] + v["failed_stage"]),
    ("np * open + print * len", {"np": 1.0, "open": 2.0, "print": 3.0, "len": 4.0},
     lambda v: v["np"] * v["open"] + v["print"] * v["len"]),
    ("dmath * math + dsigmoid * dx", {"dmath": 1.0, "math": 2.0, "dsigmoid": 3.0, "dx": 5.0},
     lambda v: v["dmath"] * v["math"] + v["dsigmoid"] * v["dx"]),
    ("ez * z + big * u * v + sigmoid(z)", {"ez": 1.0, "z": 2.0, "big": 3.0, "u": 1.5, "v": 0.5},
     lambda v: v["ez"] * v["z"] + v["big"] * v["u"] * v["v"] + 1 / (1 + math.exp(-v["z"]))),
    ("Ellipsis * self + lambda_", {"Ellipsis": 2.0, "self": 3.0, "lambda_": 1.0},
     lambda v: v["Ellipsis"] * v["self"] + v["lambda_"]),
    ("f = x * y; g = f + 1; g * f", {"x": 1.5, "y": 2.0},
     lambda v: (v["x"] * v["y"] + 1) * v["x"] * v["y"]),
    ("x * dx + d_x * ddx", {"x": 1.5, "dx": 2.0, "d_x": 3.0, "ddx": 4.0},
     lambda v: v["x"] * v["dx"] + v["d_x"] * v["ddx"]),
]


@pytest.mark.parametrize("expr, point, reference", LEGITIMATE)
def test_legitimate_names_compile_safely_with_correct_values(expr, point, reference, tmp_path):
    compiled = flatgrad.compile(expr)
    assert compiled(**point) == pytest.approx(reference(point), rel=1e-14)
    report = compiled.check(point)
    assert report.ok, report.table()
    # the module stands alone too: run it as a file
    module = compiled.write(tmp_path / "generated.py")
    assert runpy.run_path(str(module))["f"](**point) == pytest.approx(reference(point),
                                                                      rel=1e-14)


@pytest.mark.parametrize("function", ["math", "sigmoid", "failed_stage", "STAGES", "x"])
def test_function_names_that_collide_with_module_names(function):
    compiled = flatgrad.compile("σ(x) * y + exp(x)", name=function)
    value, (dx, dy) = compiled.value_and_grad(0.5, 2.0)
    s = 1 / (1 + math.exp(-0.5))
    assert value == pytest.approx(s * 2.0 + math.exp(0.5))
    assert dx == pytest.approx(s * (1 - s) * 2.0 + math.exp(0.5))
    assert dy == pytest.approx(s)


def test_a_very_long_valid_input_compiles_and_a_long_bad_one_is_refused_quickly():
    compiled = flatgrad.compile("x" * 100_000 + " * y")
    assert compiled.value_and_grad(2.0, 3.0) == (6.0, (3.0, 2.0))
    with pytest.raises(FlatgradError) as caught:
        flatgrad.compile("x + " * 50_000 + "'")
    assert "strings are not allowed" in str(caught.value)


@pytest.mark.parametrize("text, col, caret_at", [
    ("σ(θ) + x²'", 9, 11),          # σ, θ and ² are one column each
    ("θ\u0302 + y'", 6, 7),          # a combining circumflex takes no column
    ("e\u0301\u0301 + 'a'", 6, 6),   # two combining accents
    ("変数 + y @ z", 7, 11),         # wide characters take two columns
])
def test_carets_land_under_the_character(text, col, caret_at):
    with pytest.raises(FlatgradError) as caught:
        flatgrad.compile(text)
    assert caught.value.col == col
    caret_line = str(caught.value).splitlines()[2]
    assert caret_line.index("^") == caret_at
    assert f"column {col + 1}" in str(caught.value)


# -- writing files ----------------------------------------------------------

def test_write_puts_the_header_first_and_the_source_whole(tmp_path):
    compiled = flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)")
    target = compiled.write(tmp_path / "grad.py")
    text = target.read_text(encoding="utf-8")
    assert text == compiled.source
    assert text.startswith(f"{HEADER_MARK} {flatgrad.__version__} from: ")
    assert "(x + σ(y)) / (σ(x) + (x + y)**2)" in text.splitlines()[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grad.py"]


def test_write_replaces_a_generated_file_but_not_a_foreign_one(tmp_path):
    target = tmp_path / "grad.py"
    write_module(target, flatgrad.compile("x*y").source)
    write_module(target, flatgrad.compile("x+y").source)
    assert "x + y" in target.read_text().splitlines()[0]

    foreign = tmp_path / "mine.py"
    foreign.write_text("print('my own work')\n")
    with pytest.raises(FlatgradError, match="was not generated by flatgrad; use --force"):
        write_module(foreign, flatgrad.compile("x*y").source)
    assert foreign.read_text() == "print('my own work')\n"
    write_module(foreign, flatgrad.compile("x*y").source, force=True)
    assert foreign.read_text().startswith(HEADER_MARK)


def test_an_empty_existing_file_counts_as_foreign(tmp_path):
    target = tmp_path / "empty.py"
    target.write_text("")
    with pytest.raises(FlatgradError):
        write_module(target, "# Generated by flatgrad\n")
    assert target.read_text() == ""


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(FlatgradError, match="is a directory"):
        write_module(tmp_path, "# Generated by flatgrad\n")


@pytest.mark.parametrize("fail_in", ["write", "fsync", "replace"])
def test_a_failure_mid_write_leaves_no_file_and_no_temporary(tmp_path, monkeypatch, fail_in):
    source = flatgrad.compile("x*y").source

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if fail_in == "write":
        real_fdopen = os.fdopen

        def fdopen(*args, **kwargs):
            handle = real_fdopen(*args, **kwargs)
            handle.write = broken
            return handle
        monkeypatch.setattr(os, "fdopen", fdopen)
    else:
        monkeypatch.setattr(os, fail_in, broken)
    with pytest.raises(OSError, match="No space left"):
        write_module(tmp_path / "grad.py", source)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "grad.py"
    old = flatgrad.compile("x*y").source
    write_module(target, old)
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_module(target, flatgrad.compile("x+y").source)
    assert target.read_text() == old
    assert [p.name for p in tmp_path.iterdir()] == ["grad.py"]


def test_written_files_get_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        target = write_module(tmp_path / "grad.py", flatgrad.compile("x*y").source)
    finally:
        os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o644


def test_cli_output_refusal_and_force(tmp_path, capsys):
    foreign = tmp_path / "mine.py"
    foreign.write_text("x = 1\n")
    assert cli.main(["compile", "x*y", "-o", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert err == (f"flatgrad: error: {foreign} exists and was not generated by flatgrad; "
                   "use --force (force=True) to replace it\n")
    assert foreign.read_text() == "x = 1\n"

    assert cli.main(["compile", "x*y", "-o", str(foreign), "--force"]) == 0
    assert capsys.readouterr().err == f"wrote {foreign}\n"
    assert foreign.read_text() == flatgrad.compile("x*y").source

    assert cli.main(["compile", "x+y", "-o", str(foreign)]) == 0  # now it is flatgrad's
    assert foreign.read_text() == flatgrad.compile("x+y").source


def test_cli_exit_codes(tmp_path, capsys):
    assert cli.main(["compile", "x*y"]) == 0
    assert cli.main(["compile", "x.y"]) == 2
    assert cli.main(["compile", "x*y", "-o", str(tmp_path / "missing" / "grad.py")]) == 1
    assert cli.main(["eval", "log(x)", "--at", "x=-1"]) == 2
    err = capsys.readouterr().err
    assert "log of zero or a negative number" in err and "Traceback" not in err
    assert not (tmp_path / "missing").exists()
