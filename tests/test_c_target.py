"""The c target: the same numbers as the python target, compiled by the C compiler.

The scalar call runs the C library's scalar math functions, which CPython's
math module calls too, with no fused multiply-add: its results equal the python
target's to the last few ulps (in practice to the bit). The loop over arrays
calls glibc's SIMD functions (accurate to 4 ulp), so it agrees to a few ulps of
each result's own rounding.
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import flatgrad
from conftest import REFERENCE
from flatgrad.errors import FlatgradError
from oracle import gate_formulas
from test_one_table import _points

pytestmark = pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None
                                and shutil.which("gcc") is None,
                                reason="no C compiler (apt-get install gcc)")
FORMULAS = gate_formulas()


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test's libraries in one cache of the test session's own."""
    monkeypatch.setenv("FLATGRAD_CACHE", str(tmp_path_factory.getbasetemp() / "flatgrad-cache"))


def ulps(a, b) -> np.ndarray:
    """How many doubles lie between a and b (0: the same double)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ia, ib = a.view(np.int64), b.view(np.int64)
    # doubles ordered as integers: negative ones mirrored below zero
    ia = np.where(ia < 0, np.int64(-2**63) - ia, ia)
    ib = np.where(ib < 0, np.int64(-2**63) - ib, ib)
    return np.abs(ia - ib)


def _python_at(compiled, points):
    out = [compiled.value_and_grad(*p[:len(compiled.inputs)]) for p in points]
    return np.array([[v, *g] for v, g in out])


@pytest.mark.parametrize("name, formula", FORMULAS, ids=[f for _, f in FORMULAS])
def test_every_gate_row_gives_the_python_targets_numbers(name, formula):
    points = _points(name, 6)
    python = flatgrad.compile(formula)
    native = flatgrad.compile(formula, target="c")
    assert native.target == "c"
    want = _python_at(python, points)
    got = _python_at(native, points)
    assert np.all(ulps(got, want) <= 4), (formula, got - want)
    assert [type(v) for v in got.ravel()] == [np.float64] * got.size
    # the loop over arrays: libmvec's SIMD functions, to a few ulps of rounding
    args = [np.array([p[i] for p in points]) for i in range(len(python.inputs))]
    value, grads = native.value_and_grad(*args)
    looped = np.column_stack([value, *grads])
    np.testing.assert_allclose(looped, want, rtol=1e-14, atol=1e-300)


def test_the_reference_formula_to_the_bit_at_the_notes_point():
    native = flatgrad.compile(REFERENCE, target="c")
    python = flatgrad.compile(REFERENCE)
    assert native.value_and_grad(3, -4) == python.value_and_grad(3, -4)
    assert native(3.0, y=-4.0) == python(3.0, -4.0)
    assert native.grad(np.float64(3.0), np.array(-4.0)) == python.grad(3.0, -4.0)


def test_both_profiles_and_one_wrt():
    teach = flatgrad.compile(REFERENCE, target="c", profile="teach")
    fast = flatgrad.compile(REFERENCE, target="c")
    assert teach.value_and_grad(0.7, 1.3) == fast.value_and_grad(0.7, 1.3)
    bare = flatgrad.compile(REFERENCE, target="c", wrt="y")
    assert bare.grad(0.7, 1.3) == fast.grad(0.7, 1.3)[1]


def test_arrays_broadcast_and_keep_their_shape():
    native = flatgrad.compile(REFERENCE, target="c")
    python = flatgrad.compile(REFERENCE)
    xs = np.linspace(-3, 3, 6).reshape(2, 3)
    value, (dx, dy) = native.value_and_grad(xs, 0.5)   # a float broadcast over an array
    assert value.shape == dx.shape == dy.shape == (2, 3)
    for index in np.ndindex(2, 3):
        want_value, (want_dx, want_dy) = python.value_and_grad(float(xs[index]), 0.5)
        # libmvec's exp is a few ulps off; x + σ(y) cancels, so relative to the result
        # the difference may grow by the cancellation's factor
        np.testing.assert_allclose([value[index], dx[index], dy[index]],
                                   [want_value, want_dx, want_dy], rtol=1e-13)
    assert native(xs, [0.5, 0.5, 0.5]).shape == (2, 3)


def test_numbers_at_the_edges_match_the_python_target():
    for formula, points in [("σ(x)", [(-1000.0,), (1000.0,), (-709.5,), (-745.2,)]),
                            ("softplus(x)", [(1000.0,), (-1000.0,)]),
                            ("logaddexp(x, y)", [(-1000.0, -1001.0), (800.0, 800.0)])]:
        python = flatgrad.compile(formula)
        native = flatgrad.compile(formula, target="c")
        for point in points:
            assert native.value_and_grad(*point) == python.value_and_grad(*point), formula


def test_outside_the_domain_c_gives_nan_or_inf_where_python_raises():
    native = flatgrad.compile("log(x) * y", target="c")
    value, (dx, dy) = native.value_and_grad(-1.0, 2.0)
    assert np.isnan(value) and np.isnan(dy)
    assert native.value_and_grad(0.0, 2.0)[0] == -np.inf


def test_names_c_reserves_are_renamed():
    formula = "double = x * int\nlong = exp(double)\nlong + auto"
    python = flatgrad.compile(formula)
    native = flatgrad.compile(formula, target="c")
    assert "double double_ = x * int_;" in native.source
    assert native.value_and_grad(0.3, 1.2, -0.5) == python.value_and_grad(0.3, 1.2, -0.5)


def test_the_source_reads_like_the_python_targets():
    source = flatgrad.compile(REFERENCE, target="c").source
    assert source.startswith("// Generated by flatgrad")
    assert "double sigy = y > -709.0 ? 1.0 / (1.0 + exp(-y)) : exp(y);  // (1)" in source
    assert "dx += (1.0 - sigx) * sigx * dsigx;  // (3)" in source
    assert "// backprop invden = 1.0 / den" in source
    assert source == flatgrad.compile(REFERENCE, target="c").source   # deterministic


def test_libraries_are_cached_by_source_and_written_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("FLATGRAD_CACHE", str(tmp_path))
    first = flatgrad.compile("x * sin(y)", target="c")
    first(1.0, 2.0)   # compiled on the first call
    libraries = sorted((tmp_path / "c").iterdir())
    assert [p.suffix for p in libraries] == [".so"]       # no temporary left behind
    stamp = libraries[0].stat().st_mtime_ns
    monkeypatch.setenv("CC", "/nonexistent/cc")           # a cached library needs no compiler
    with pytest.raises(FlatgradError):
        flatgrad.compile("x * cos(y)", target="c")(1.0, 2.0)
    monkeypatch.delenv("CC")
    again = flatgrad.compile("x * sin(y)", target="c")
    assert libraries[0].stat().st_mtime_ns == stamp
    assert again.value_and_grad(0.5, 2.0) == first.value_and_grad(0.5, 2.0)


def test_a_missing_compiler_names_what_to_install(monkeypatch, run_cli):
    monkeypatch.setenv("CC", "/nonexistent/gcc")
    compiled = flatgrad.compile("x * tan(y) + 1", target="c")   # C source, not yet built
    with pytest.raises(FlatgradError, match=r"C compiler.*/nonexistent/gcc.*apt-get install gcc"):
        compiled(1.0, 2.0)
    done = run_cli("eval", "x * tan(y) + 2", "--target", "c", "--at", "x=1,y=2")
    assert done.returncode == 2
    assert "apt-get install gcc" in done.stderr and "Traceback" not in done.stderr
    # writing the source needs no compiler
    done = run_cli("compile", "x * tan(y) + 2", "--target", "c")
    assert done.returncode == 0 and "double f_and_grad(" in done.stdout


def test_o_writes_the_source_and_a_header_that_a_c_program_compiles_against(tmp_path, run_cli):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    done = run_cli("compile", REFERENCE, "--target", "c", "-o", str(tmp_path / "grad.c"))
    assert done.returncode == 0, done.stderr
    header = (tmp_path / "grad.h").read_text()
    assert header.startswith("// Generated by flatgrad") and "double f_and_grad(" in header
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include "grad.h"\n'
        "int main(void) {\n    double grad[2], xs[2] = {3.0, 0.5}, ys[2] = {-4.0, 1.0};\n"
        "    double fs[2], dxs[2], dys[2];\n"
        "    double f = f_and_grad(3.0, -4.0, grad);\n"
        '    printf("%.17g %.17g %.17g\\n", f, grad[0], grad[1]);\n'
        "    f_and_grad_array(2, xs, ys, fs, dxs, dys);\n"
        '    printf("%.17g %.17g %.17g\\n", fs[1], dxs[1], dys[1]);\n    return 0;\n}\n')
    program = tmp_path / "main"
    built = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2",
                            str(tmp_path / "main.c"), str(tmp_path / "grad.c"), "-o",
                            str(program), "-lm"], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    lines = subprocess.run([str(program)], capture_output=True, text=True).stdout.split("\n")
    python = flatgrad.compile(REFERENCE)
    for line, point in zip(lines, [(3.0, -4.0), (0.5, 1.0)]):
        value, (dx, dy) = python.value_and_grad(*point)
        assert [float(v) for v in line.split()] == [value, dx, dy]


def test_the_array_loop_is_vectorised_with_libmvec():
    if not sys.platform.startswith("linux") or os.uname().machine != "x86_64":
        pytest.skip("libmvec is glibc's, on x86-64")
    from flatgrad import native
    if "-DFLATGRAD_LIBMVEC" not in native.flags(""):
        pytest.skip("glibc's libmvec is not installed")
    library = native.build(flatgrad.compile(REFERENCE, target="c").source)
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    listing = subprocess.run([objdump, "-d", str(library)], capture_output=True, text=True)
    assert "_ZGV" in listing.stdout and "v_exp" in listing.stdout   # a SIMD exp


def test_greek_names_and_constants():
    for formula, point in [("θ*sin(λ) + θ**2", (0.5, 1.5)), ("pi*x + e*y + tau*x*y", (0.5, 1.5))]:
        native = flatgrad.compile(formula, target="c")
        assert native.value_and_grad(*point) == flatgrad.compile(formula).value_and_grad(*point)
    assert "M_PI * x" in flatgrad.compile("pi*x", target="c").source


@pytest.mark.parametrize("profile", ["fast", "teach"])
def test_every_module_is_clean_strict_c(tmp_path, profile):
    """The C analogue of ruff on the python target: every gate row's module, and one
    differentiated in part, compiles as ISO C99 with every warning an error."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    modules = [flatgrad.compile(formula, target="c", profile=profile).source
               for _, formula in FORMULAS]
    modules.append(flatgrad.compile("x * sin(y) + z", target="c", wrt="y").source)
    for index, source in enumerate(modules):
        path = tmp_path / f"module{index}.c"
        path.write_text(source)
        for define in ([], ["-DFLATGRAD_LIBMVEC"]):
            done = subprocess.run([cc, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror",
                                   "-fsyntax-only", *define, str(path)],
                                  capture_output=True, text=True)
            assert done.returncode == 0, source + done.stderr


def test_what_c_cannot_write_is_refused_clearly(run_cli):
    """List inputs, and the modes of tangents, are written in Python only: asking
    them of the c target is an error that says so, never a traceback."""
    neuron = "dot = w[0]*x[0] + w[1]*x[1] + w[2]; f = σ(dot)"
    done = run_cli("eval", neuron, "--target", "c", "--at", "w=[2,-3,-3],x=[-1,-2]")
    assert done.returncode == 2 and "python target only" in done.stderr
    assert "Traceback" not in done.stderr
    for mode in ("forward", "hvp", "hessian"):
        done = run_cli("compile", "x * y", "--target", "c", "--mode", mode)
        assert done.returncode == 2 and "not c" in done.stderr and "Traceback" not in done.stderr
