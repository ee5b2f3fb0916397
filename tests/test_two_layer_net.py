"""The README's two-layer net, tried as a user would: every command at `--at random --seed 0`.

The program is the one in the README (symbolic sizes); `--at random` binds the sizes and
fills every input, the labels in range. Each command's numbers are held against the
compiled function's own value and gradient at the same point.
"""
import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

import flatgrad
from conftest import TWO_LAYER_NET
from flatgrad.points import parse_point
from flatgrad.teach import diagram
from teaching_support import chromium, needs_chromium, run_cli

NET = TWO_LAYER_NET
WRT = "W1,b1,W2,b2"


@pytest.fixture(scope="module")
def net_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "net.txt"
    path.write_text(NET, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def net():
    return flatgrad.compile(NET, wrt=WRT)


def test_eval_prints_the_random_point_and_its_gradients(net_file, net):
    out = run_cli("eval", "-f", str(net_file), "--wrt", WRT, "--at", "random",
                  "--seed", "0").stdout
    point = flatgrad.random_point(net, seed=0)
    value, grads = net.value_and_grad(**point)
    printed = re.search(r"^loss = (\S+)$", out, re.M)
    assert printed and float(printed.group(1)) == pytest.approx(value, rel=1e-5)
    for name, grad in zip(net.wrt, grads):
        block = re.search(rf"^dloss/d{name} = (.*?)(?=^\S|\Z)", out, re.M | re.S).group(1)
        shown = parse_point(f"g={' '.join(block.split())}")["g"]
        assert np.allclose(shown, grad, atol=1e-6), name
    assert run_cli("eval", "-f", str(net_file), "--at", "random", "--seed", "1").stdout != out


def test_check_passes_and_the_callable_reports_a_check(net_file, net):
    done = run_cli("check", "-f", str(net_file), "--wrt", WRT, "--at", "random", "--seed", "0")
    assert done.stdout.splitlines()[-1].startswith("ok: largest relative error")
    report = net.check(at="random", seed=0)
    assert isinstance(report, flatgrad.check.__globals__["Report"]) and report.ok
    assert report.rows and report.worst <= 1e-6


def test_the_handout_shows_shapes_and_the_dimension_analysis(net_file, tmp_path):
    page = tmp_path / "net.html"
    run_cli("handout", "-f", str(net_file), "--wrt", WRT, "--at", "random", "--seed", "0",
            "-o", str(page))
    text = page.read_text(encoding="utf-8")
    # the shapes as declared, in every table
    assert {"[H x D]", "[D x N]", "[H x 1]", "[C x H]", "[C x N]", "[H x N]"} <= \
        set(re.findall(r"\[\w+ x \w+\]", text))
    assert re.search(r"dW1 must be \[H x D\] like W1.*?dW1X @ X\.T", text, re.S)
    assert re.search(r"dW2 must be \[C x H\] like W2.*?dW2hidden @ hidden\.T", text, re.S)


@needs_chromium
def test_the_handout_renders_in_chromium(net_file, tmp_path):
    page = tmp_path / "net.html"
    run_cli("handout", "-f", str(net_file), "--wrt", WRT, "--at", "random", "--seed", "0",
            "-o", str(page))
    shot = tmp_path / "net.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1100,5000", page.as_uri())
    assert shot.stat().st_size > 10_000
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "dW1X @ X.T" in dom and "[H x D]" in dom
    assert "<svg" in dom or not diagram.available()


@pytest.mark.skipif(not diagram.available(), reason="Graphviz's `dot` is not installed")
def test_the_diagram_is_an_svg_with_shapes_on_the_wires(net_file, tmp_path):
    path = tmp_path / "net.svg"
    run_cli("diagram", "-f", str(net_file), "--wrt", WRT, "--at", "random", "--seed", "0",
            "-o", str(path))
    root = ElementTree.parse(path).getroot()
    assert root.tag.endswith("svg")
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "softmax_loss" in texts and "[H x D]" in texts and "[C x N]" in texts


def test_the_notebook_display_shows_the_circuit_and_the_code(net):
    shown = net._repr_html_()
    assert "f_and_grad" in shown and "vdot" in shown and "dW1X" in shown
    assert ("<svg" in shown) == diagram.available()


def test_source_at_annotates_every_line_with_its_shape(net):
    point = flatgrad.random_point(net, seed=0)
    source = net.source_at(**point)
    assert re.search(r"W1X = W1 @ X +# \(1\) \[H x N\] W1X becomes \[\d+ x \d+\], mean", source)
    namespace: dict = {}
    exec(compile(source, "<net>", "exec"), namespace)  # flatgrad's own output
    value, grads = namespace["f_and_grad"](**point)
    want_value, want_grads = net.value_and_grad(**point)
    assert value == want_value and all(np.array_equal(a, b) for a, b in zip(grads, want_grads))
