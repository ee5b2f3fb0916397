"""The CS231n staged-computation listing and the seeds' worked numbers."""
import re

import pytest
import sympy as sp

import flatgrad
from conftest import REFERENCE

# The backward pass as the seed listing writes it (slides, "backprop f = num * invden" on).
SEED_BACKWARD = """
dnum = invden
dinvden = num
dden = (-1.0 / (den**2)) * dinvden
dsigx = (1) * dden
dxpysqr = (1) * dden
dxpy = (2 * xpy) * dxpysqr
dx = (1) * dxpy
dy = (1) * dxpy
dx += ((1 - sigx) * sigx) * dsigx
dx += (1) * dnum
dsigy = (1) * dnum
dy += ((1 - sigy) * sigy) * dsigy
""".split("\n")[1:-1]
SEED_REFS = [8, 8, 7, 6, 6, 5, 4, 4, 3, 2, 2, 1]


def code_lines(source, start, stop):
    block = source.split(start, 1)[1].split(stop, 1)[0].split("except (", 1)[0]
    return [line.strip() for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def strip_tag(line):
    return re.sub(r"\s+# \(\d+\).*$", "", line)


def test_forward_stages_are_the_notes_eight_in_order():
    g = flatgrad.compile(REFERENCE)
    forward = code_lines(g.source, "# forward pass", "# backward pass")
    assert [line.split(" = ")[0] for line in forward] == \
        ["sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"]
    assert strip_tag(forward[1]) == "num = x + sigy"
    assert strip_tag(forward[6]) == "invden = 1.0 / den"
    assert strip_tag(forward[7]) == "f = num * invden"
    assert [int(re.search(r"# \((\d+)\)", line).group(1)) for line in forward] == list(range(1, 9))


def test_teach_profile_backward_pass_is_the_seed_listing():
    g = flatgrad.compile(REFERENCE, profile="teach")
    backward = code_lines(g.source, "# backward pass", "return f,")
    assert [strip_tag(line) for line in backward] == SEED_BACKWARD
    assert [int(re.search(r"# \((\d+)\)", line).group(1)) for line in backward] == SEED_REFS
    headers = [line.strip() for line in g.source.split("# backward pass")[1].splitlines()
               if line.strip().startswith("# backprop")]
    assert headers[0] == "# backprop f = num * invden"
    assert headers[-1] == "# backprop sigy = 1.0 / (1 + math.exp(-y))"


def test_forks_accumulate_exactly_where_the_variable_forks():
    for profile in ("fast", "teach"):
        backward = code_lines(flatgrad.compile(REFERENCE, profile=profile).source,
                              "# backward pass", "return f,")
        accumulating = [line.split()[0] for line in backward if " += " in line]
        assert accumulating == ["dx", "dx", "dy"]
        assigned = [line.split()[0] for line in backward if " = " in line]
        assert assigned == ["dnum", "dinvden", "dden", "dsigx", "dxpysqr", "dxpy", "dx", "dy",
                            "dsigy"]


def test_fast_profile_folds_unit_factors_but_keeps_the_shape():
    backward = code_lines(flatgrad.compile(REFERENCE).source, "# backward pass", "return f,")
    assert strip_tag(backward[3]) == "dsigx = dden"
    assert strip_tag(backward[2]) == "dden = -1.0 / den**2 * dinvden"
    assert strip_tag(backward[8]) == "dx += (1.0 - sigx) * sigx * dsigx"


@pytest.mark.parametrize("profile", ["fast", "teach"])
def test_reference_values_match_sympy_to_1e_12(profile):
    x, y = sp.symbols("x y")
    sig = lambda t: 1 / (1 + sp.exp(-t))  # noqa: E731
    expr = (x + sig(y)) / (sig(x) + (x + y) ** 2)
    point = {x: 3, y: -4}
    exact = [sp.N(e.subs(point), 30) for e in (expr, sp.diff(expr, x), sp.diff(expr, y))]
    value, (dx, dy) = flatgrad.compile(REFERENCE, profile=profile).value_and_grad(3, -4)
    for got, want in zip((value, dx, dy), exact):
        assert abs(got - float(want)) <= 1e-12 * abs(float(want))
    assert (round(value, 5), round(dx, 5), round(dy, 5)) == (1.54564, 2.05957, 1.59223)


def test_neuron_from_the_notes():
    g = flatgrad.compile("dot = w0*x0 + w1*x1 + w2; f = σ(dot)")
    assert g.inputs == ("w0", "x0", "w1", "x1", "w2")
    f, (dw0, dx0, dw1, dx1, dw2) = g.value_and_grad(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)
    assert f == pytest.approx(0.7310585786300049, rel=1e-15)
    assert (round(dx0, 3), round(dx1, 3)) == (0.393, -0.590)
    assert (round(dw0, 3), round(dw1, 3), round(dw2, 3)) == (-0.197, -0.393, 0.197)
    assert "ddot = (1.0 - f) * f" in g.source


def test_neuron_ddot_value_at_the_point():
    g = flatgrad.compile("dot = w0*x0 + w1*x1 + w2; f = σ(dot)")
    annotated = g.source_at(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)
    assert "dot becomes 1" in annotated
    assert "ddot becomes 0.196612" in annotated


def test_x_plus_y_times_z():
    g = flatgrad.compile("q = x + y; f = q * z")
    f, (dx, dy, dz) = g.value_and_grad(x=-2, y=5, z=-4)
    assert (f, dx, dy, dz) == (-12, -4, -4, 3)
    annotated = g.source_at(x=-2, y=5, z=-4)
    assert "q becomes 3" in annotated and "dq becomes -4" in annotated


def test_numbered_names_and_grad_prefix_follow_the_flat_code_slides():
    g = flatgrad.compile("σ(w0*x0 + w1*x1 + w2)", names="numbered", grad_prefix="grad_", name="L")
    forward = code_lines(g.source, "# forward pass", "# backward pass")
    assert [line.split(" = ")[0] for line in forward] == ["s0", "s1", "s2", "s3", "L"]
    assert "grad_s3 = (1.0 - L) * L" in g.source
    assert "def L(w0, x0, w1, x1, w2):" in g.source and "def L_and_grad(" in g.source
    assert g.grad(2, -1, -3, -2, -3)[4] == pytest.approx(0.19661193324148185)
