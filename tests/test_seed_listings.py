"""Every code listing of the course material, reproduced by one command.

The listings are copied into tests/listings/ (see the README there). A listing and
flatgrad's output are compared line for line after normalising only whitespace and
comment text: a line's comment, from `#` (or the notes' escaped `\\#`) on, is
dropped, and so are its spaces, but for one between two words (`w[0]*x[0]` is
`w[0] * x[0]`, `def f(w0, x0)` is `def f(w0,x0)`); blank lines are skipped.

The differences allowed, each named where it is used:
- POINT: a listing's first lines set the example point (`x = 3 # example values`);
  flatgrad takes it as `--at x=3,y=-4`, and the generated function takes it as
  its parameters.
- ORDER: the two lines of one gate may come in either order. The notes disagree
  with themselves: for `f = num * invden` they write the left operand's line first
  (`dnum`, then `dinvden`), for `f = q * z` the right one's (`dfdz`, then `dfdq`);
  the slides write `grad_s0` before `grad_s1` for `s2 = s0 + s1` but `grad_w2`
  before `grad_s2` for `s3 = s2 + w2`. flatgrad always writes the left operand's
  line first; the test names each gate where a listing does otherwise.
- JOINED: the notes' copy of the neuron listing has its lines joined by `\\` (a
  line break lost on the way); the test splits them there.
- ONE FUNCTION: the slides write the forward and backward passes in one `def f`;
  flatgrad writes `f` (forward) and `f_and_grad` (both). The `def` line is
  compared with `f`'s, the lines under it with `f_and_grad`'s.
"""
import re
from pathlib import Path

import numpy as np
import pytest

import flatgrad
from conftest import REFERENCE

LISTINGS = Path(__file__).resolve().parent / "listings"
STAGED = ("compile", REFERENCE, "--style", "cs231n")
COMPOUND = ("compile", "q = x + y; f = q * z", "--style", "plain", "--grad-prefix", "dfd")
NEURON = "L = σ(w0*x0 + w1*x1 + w2)"
FLAT = ("compile", NEURON, "--style", "slides")
LISTS = "dot = w[0]*x[0] + w[1]*x[1] + w[2]; f = 1.0 / (1 + math.exp(-dot))"
NOTES_NEURON = ("compile", LISTS, "--style", "plain")


def normalised(text: str) -> list[str]:
    """The code of each line: its comment and surplus spaces dropped, blank lines skipped."""
    lines = []
    for line in text.splitlines():
        code = " ".join(re.split(r"\\?#", line, maxsplit=1)[0].split())
        code = re.sub(r" ?([^\w ]) ?", r"\1", code)   # spaces beside an operator or bracket
        if code:
            lines.append(code)
    return lines


def listing(name: str) -> list[str]:
    return normalised((LISTINGS / name).read_text(encoding="utf-8"))


class Generated:
    """A generated module's f_and_grad: its forward lines, and its backward lines
    with the gate (the `# (k)` tag) each belongs to."""

    def __init__(self, source: str):
        self.source = source
        body = source.split("_and_grad(", 1)[1]
        forward = body.split("# forward pass\n", 1)[1].split("# backward pass", 1)[0]
        backward = body.split("# backward pass", 1)[1].split("\n    return ", 1)[0]
        self.forward = normalised(forward)
        self.backward = []
        for line in backward.splitlines()[1:]:
            tag = re.search(r"# \((\d+)\)", line)
            if tag:
                self.backward.append((normalised(line)[0], int(tag.group(1))))

    def def_line(self, function: str) -> str:
        return normalised(re.search(rf"^def {function}\(.*\):$", self.source, re.M).group(0))[0]


def reordered_gates(written: list[str], generated: list[tuple[str, int]]) -> list[int]:
    """Compare a listing's backward lines with flatgrad's, gate by gate: each gate's
    lines must be the same, in the same place; returns the gates (forward line
    numbers) whose lines the listing writes in another order (ORDER)."""
    assert len(written) == len(generated), (written, generated)
    reordered = []
    start = 0
    while start < len(generated):
        gate = generated[start][1]
        end = start
        while end < len(generated) and generated[end][1] == gate:
            end += 1
        ours = [code for code, _ in generated[start:end]]
        theirs = written[start:end]
        assert sorted(ours) == sorted(theirs), (gate, ours, theirs)
        if ours != theirs:
            reordered.append(gate)
        start = end
    return reordered


@pytest.fixture(scope="module")
def outputs():
    """The output of each listing's command, run once as a user runs it."""
    import subprocess
    import sys

    from conftest import ROOT
    done = {}
    for command in (STAGED, COMPOUND, FLAT, NOTES_NEURON):
        result = subprocess.run([sys.executable, "-m", "flatgrad", *command],
                                capture_output=True, text=True, cwd=ROOT,
                                env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
        assert result.returncode == 0, result.stderr
        done[command] = Generated(result.stdout)
    return done


# -- the staged computation: seed 002 (slides) and seed 001 (the notes) -------------

def test_staged_forward_pass_is_the_slides_listing(outputs):
    written = listing("staged_forward_002.txt")
    assert written[:2] == ["x=3", "y=-4"]          # POINT: --at x=3,y=-4
    assert outputs[STAGED].forward == written[2:]


def test_staged_backward_pass_is_the_slides_listing(outputs):
    generated = outputs[STAGED].backward
    assert reordered_gates(listing("staged_backward_002.txt"), generated) == []


def test_staged_backward_pass_is_the_notes_listing_as_far_as_they_print_it(outputs):
    written = listing("staged_backward_001.txt")       # the notes stop at #(3)
    assert len(written) == 9
    assert reordered_gates(written, outputs[STAGED].backward[:9]) == []


def test_staged_listing_numbers_are_the_notes(run_cli):
    result = run_cli("eval", REFERENCE, "--style", "cs231n", "--at", "x=3,y=-4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["f", "=", "1.54564", "df/dx", "=", "2.05957",
                                     "df/dy", "=", "1.59223"]


# -- the neuron with list inputs: seed 001 ------------------------------------------

def test_neuron_is_the_notes_listing(outputs):
    joined = (LISTINGS / "neuron_001.txt").read_text(encoding="utf-8")
    written = normalised(joined.replace(" \\\\ ", "\n"))      # JOINED
    assert written[:2] == ["w=[2,-3,-3]", "x=[-1,-2]"]    # POINT: --at 'w=[2,-3,-3],x=[-1,-2]'
    generated = outputs[NOTES_NEURON]
    assert generated.def_line("f") == "def f(w,x):"
    assert generated.forward == written[2:4]
    # ORDER: for dot (line 1) the notes write dx before dw
    assert reordered_gates(written[4:], generated.backward) == [1]


def test_neuron_gives_the_notes_numbers(run_cli):
    result = run_cli("eval", LISTS, "--at", "w=[2,-3,-3],x=[-1,-2]")
    assert result.returncode == 0, result.stderr
    said = dict(line.split(" = ") for line in result.stdout.splitlines())
    numbers = {name: [round(float(v), 3) for v in re.findall(r"-?[\d.]+(?:e-?\d+)?", text)]
               for name, text in said.items()}
    assert numbers == {"f": [0.731], "df/dw": [-0.197, -0.393, 0.197],
                       "df/dx": [0.393, -0.590]}
    annotated = run_cli(*NOTES_NEURON, "--at", "w=[2,-3,-3],x=[-1,-2]").stdout
    assert re.search(r"ddot = \(1 - f\) \* f  # \(2\) ddot becomes 0\.1966", annotated)


# -- (x + y)z with dfd names: seed 001 ----------------------------------------------

def test_compound_expression_is_the_notes_listing(outputs):
    written = listing("compound_001.txt")
    assert written[0] == "x=-2;y=5;z=-4"     # POINT: --at x=-2,y=5,z=-4
    generated = outputs[COMPOUND]
    assert generated.forward == written[1:3]
    # ORDER: for f = q * z (line 2) the notes write dfdz before dfdq
    assert reordered_gates(written[3:], generated.backward) == [2]


def test_compound_expression_gives_the_notes_numbers():
    # the listing's comments: q becomes 3, f becomes -12, gradient on z 3, on q -4
    g = flatgrad.compile("q = x + y; f = q * z", style="plain", grad_prefix="dfd")
    assert g.value_and_grad(-2, 5, -4) == (-12.0, (-4.0, -4.0, 3.0))
    annotated = g.source_at(x=-2, y=5, z=-4)
    for said in ("q becomes 3", "f becomes -12", "dfdz becomes 3", "dfdq becomes -4"):
        assert said in annotated


# -- the slides' "flat" gradient code: seed 004 -----------------------------------

def test_flat_code_is_the_slides_listing(outputs):
    written = listing("flat_code_004.txt")
    generated = outputs[FLAT]
    assert generated.def_line("f") == written[0]     # ONE FUNCTION: def f(...)
    assert generated.forward == written[1:6]
    # ORDER: for s3 = s2 + w2 (line 4) the slides write grad_w2 before grad_s2
    assert reordered_gates(written[6:], generated.backward) == [4]


def test_flat_code_gives_the_seed_neuron_numbers():
    # the slides' circuit is the notes' neuron: w = [2, -3, -3], x = [-1, -2]
    g = flatgrad.compile(NEURON, style="slides")
    value, (dw0, dx0, dw1, dx1, dw2) = g.value_and_grad(2, -1, -3, -2, -3)
    assert round(value, 3) == 0.731
    assert [round(d, 3) for d in (dx0, dx1)] == [0.393, -0.590]
    assert [round(d, 3) for d in (dw0, dw1, dw2)] == [-0.197, -0.393, 0.197]


# -- the styles are presets --------------------------------------------------------

def test_cs231n_style_is_the_teach_profile():
    assert flatgrad.compile(REFERENCE, style="cs231n").source == \
        flatgrad.compile(REFERENCE, profile="teach").source


def test_options_beside_a_style_override_its_presets():
    source = flatgrad.compile(NEURON, style="slides", names="cs231n", grad_prefix="d").source
    assert "s0 = " not in source and "grad_" not in source      # cs231n names, d prefix
    assert "dL = 1.0  # (5)" in source and "L = sigmoid(" in source    # the slides' own
    assert re.search(r"dw1 = d\w+ \* x1  # \(2\)", source)          # upstream first


@pytest.mark.parametrize("style", ["cs231n", "plain", "slides"])
@pytest.mark.parametrize("profile", [None, "fast"])
def test_every_style_computes_the_fast_profiles_numbers(style, profile):
    fast = flatgrad.compile(REFERENCE)
    styled = flatgrad.compile(REFERENCE, style=style, profile=profile)
    rng = np.random.default_rng(13)
    for x, y in rng.uniform(-6, 6, size=(40, 2)):
        value, grads = styled.value_and_grad(x, y)
        expected_value, expected = fast.value_and_grad(x, y)
        assert value == pytest.approx(expected_value, rel=1e-14)
        assert grads == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("command", [STAGED, COMPOUND, FLAT, NOTES_NEURON],
                         ids=["cs231n", "plain", "slides", "neuron"])
def test_each_listing_module_is_clean_python(command, outputs, tmp_path, ruff_check):
    path = tmp_path / "listing.py"
    path.write_text(outputs[command].source, encoding="utf-8")
    result = ruff_check(path)
    assert result.returncode == 0, result.stdout


def test_an_unknown_style_is_a_clear_error(run_cli):
    result = run_cli("compile", REFERENCE, "--style", "notes")
    assert result.returncode == 2
    assert "invalid choice: 'notes'" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(flatgrad.FlatgradError, match="unknown style 'notes'"):
        flatgrad.compile(REFERENCE, style="notes")


# -- the recitation's convolution: seed 003 ---------------------------------------

def _convolution(X, W):
    """Equation (1): Y[i, j] = sum over a, b of X[i - a, j - b] W[a, b], over the
    outputs where the whole kernel lies inside X (i >= k1 - 1, j >= k2 - 1)."""
    (n1, n2), (k1, k2) = X.shape, W.shape
    return np.array([[sum(X[i - a, j - b] * W[a, b] for a in range(k1) for b in range(k2))
                      for j in range(k2 - 1, n2)] for i in range(k1 - 1, n1)])


def test_convolve2d_is_equation_1_with_the_recitations_gradients():
    rng = np.random.default_rng(3)
    X, W = rng.normal(size=(6, 5)), rng.normal(size=(3, 2))
    dY = rng.normal(size=(4, 4))      # dL/dY, the upstream gradient
    g = flatgrad.compile("sum(convolve2d(X, W) * dY)",
                         shapes={"X": X.shape, "W": W.shape, "dY": dY.shape})
    value, (dX, dW, _) = g.value_and_grad(X, W, dY)
    Y = _convolution(X, W)
    assert value == pytest.approx((Y * dY).sum(), rel=1e-12)
    k1, k2 = W.shape
    # equation (4): dL/dW[a', b'] = sum over i, j of dL/dY[i, j] X[i - a', j - b']
    expected_dW = [[sum(dY[i, j] * X[i + k1 - 1 - a, j + k2 - 1 - b]
                        for i in range(4) for j in range(4)) for b in range(k2)]
                   for a in range(k1)]
    assert np.allclose(dW, expected_dW, rtol=1e-12)
    # equation (8): dL/dX[i', j'] = sum over a, b of dL/dY[i' + a, j' + b] W[a, b], the
    # outputs Y[i' + a, j' + b] that X[i', j'] reaches (in the output's own numbering)
    padded = np.pad(dY, ((0, k1 - 1), (0, k2 - 1)))
    shifted = np.pad(padded, ((k1 - 1, 0), (k2 - 1, 0)))
    expected_dX = [[sum(shifted[p + a, q + b] * W[a, b] for a in range(k1) for b in range(k2))
                    for q in range(X.shape[1])] for p in range(X.shape[0])]
    assert np.allclose(dX, expected_dX, rtol=1e-12)


def test_convolve2d_and_conv2d_are_one_kernel_flip_apart():
    rng = np.random.default_rng(4)
    X, W, C = rng.normal(size=(5, 5)), rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    shapes = {"X": X.shape, "W": W.shape, "C": C.shape}
    true = flatgrad.compile("sum(convolve2d(X, W) * C)", shapes=shapes)
    cross = flatgrad.compile("sum(conv2d(X, W) * C)", shapes=shapes)
    value, (dX, dW, dC) = true.value_and_grad(X, W, C)
    flipped, (fdX, fdW, fdC) = cross.value_and_grad(X, W[::-1, ::-1].copy(), C)
    assert value == pytest.approx(flipped, rel=1e-12)
    assert np.allclose(dX, fdX) and np.allclose(dW, fdW[::-1, ::-1]) and np.allclose(dC, fdC)
    assert "convolve2d_grad_w" in true.source and "conv2d_grad_w" in cross.source
