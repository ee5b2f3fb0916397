"""Circuit diagrams: the seeds' numbers on the right edges, in DOT, SVG and PNG."""
from __future__ import annotations

import math
import os
import re
import struct
import xml.etree.ElementTree as ElementTree
import zlib

import pytest

import flatgrad
from flatgrad.teach import diagram
from flatgrad.api import build_plan
from flatgrad.atomic_write import MARK
from teaching_support import NEURON, NEURON_POINT, REFERENCE, dot_edges, run_cli

needs_graphviz = pytest.mark.skipif(not diagram.available(),
                                    reason="Graphviz's `dot` is not installed "
                                           "(apt-get install graphviz)")

SEED_POINT = {"x": -2.0, "y": 5.0, "z": -4.0}
NEURON_VALUES = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def edge(edges, tail, head):
    (found,) = [e for e in edges if e["tail"] == tail and e["head"] == head]
    return found


def test_seed_example_carries_q_f_and_gradients():
    edges = dot_edges(run_cli("diagram", "q = x + y; f = q * z", "--at", "x=-2,y=5,z=-4").stdout)
    assert edge(edges, "x", "+") == {"tail": "x", "head": "+", "kind": "wire", "name": "",
                                     "value": -2, "grad": -4}
    assert edge(edges, "y", "+")["grad"] == -4
    assert edge(edges, "+", "×")["value"] == 3          # q = 3
    assert edge(edges, "+", "×")["grad"] == -4          # dq = -4
    assert edge(edges, "+", "×")["name"] == "q"
    assert (edge(edges, "z", "×")["value"], edge(edges, "z", "×")["grad"]) == (-4, 3)
    assert (edge(edges, "×", "f")["value"], edge(edges, "×", "f")["grad"]) == (-12, 1)


@pytest.mark.parametrize("gates", ["staged", "primitive"])
def test_neuron_shows_073_at_the_output_and_02_at_the_dot_product(gates):
    dot_text = diagram.dot_source(build_plan(NEURON, gates=gates), NEURON_VALUES)
    edges = dot_edges(dot_text)
    output = [e for e in edges if e["head"] == "f"][0]
    assert output["value"] == pytest.approx(0.73, abs=0.005)
    # the wire leaving the dot product carries dot = 1 forward and 0.197 back
    (dot_wire,) = [e for e in edges if e["name"] == "dot"]
    assert dot_wire["value"] == 1
    assert dot_wire["grad"] == pytest.approx(0.2, abs=0.005)
    assert dot_wire["grad"] == pytest.approx(0.1966, abs=0.0005)
    seed = {"w0": -0.197, "x0": 0.393, "w1": -0.393, "x1": -0.590, "w2": 0.197}
    for name, grad in seed.items():
        (wire,) = [e for e in edges if e["tail"] == name]
        assert wire["grad"] == pytest.approx(grad, abs=0.0006), name


def test_primitive_sigmoid_is_drawn_as_the_notes_four_gates():
    plan = build_plan(NEURON, gates="primitive")
    labels = [diagram.gate_label(plan.graph, node) for node in plan.graph.stages]
    assert labels[-4:] == ["−x", "exp", "+1", "1/x"]
    staged = build_plan(NEURON)
    assert [diagram.gate_label(staged.graph, n) for n in staged.graph.stages][-1] == "σ"


def test_primitive_gates_give_the_same_gradients():
    for expr, point in [(NEURON, NEURON_VALUES), (REFERENCE, {"x": 3.0, "y": -4.0}),
                        ("tanh(x*y) / (1 + x**2)", {"x": 0.7, "y": -1.3})]:
        staged = flatgrad.compile(expr).value_and_grad(**point)
        primitive = flatgrad.compile(expr, gates="primitive").value_and_grad(**point)
        assert primitive[0] == pytest.approx(staged[0], rel=1e-12)
        assert primitive[1] == pytest.approx(staged[1], rel=1e-12)


def test_fork_shares_add_up_to_the_gradient_the_trunk_shows():
    point = {"x": 3.0, "y": -4.0}
    edges = dot_edges(diagram.dot_source(build_plan(REFERENCE), point, digits=12))
    value, (dx, dy) = flatgrad.compile(REFERENCE).value_and_grad(**point)
    for name, total in (("x", dx), ("y", dy)):
        branches = [e for e in edges if e["tail"] == name and e["kind"] == "branch"]
        assert len(branches) == {"x": 3, "y": 2}[name]
        # a branch carries its share alone; the value is the trunk's
        assert all(e["value"] is None for e in branches)
        assert sum(e["grad"] for e in branches) == pytest.approx(total, rel=1e-9)
        # the trunk into the fork carries the value and the input's total gradient
        (trunk,) = [e for e in edges if e["tail"] == name and e["kind"] == "trunk"]
        assert trunk["value"] == point[name]
        assert trunk["grad"] == pytest.approx(total, rel=1e-9)
    # and against central differences
    f = flatgrad.compile(REFERENCE)
    h = 1e-6
    assert dx == pytest.approx((f(3 + h, -4) - f(3 - h, -4)) / (2 * h), rel=1e-6)


def test_gate_labels_fold_constants_and_read_templates():
    plan = build_plan("x**4 + 2*x - 1 + max(x, 0) + relu(y) + 3/x + abs(x) + sqrt(y)")
    labels = [diagram.gate_label(plan.graph, node) for node in plan.graph.stages]
    for expected in ["x⁴", "×2", "−1", "max(x, 0)", "relu", "1/x", "×3", "|x|", "√x"]:
        assert expected in labels


def test_without_a_point_the_wires_carry_no_numbers():
    edges = dot_edges(run_cli("diagram", "(x+y)*z").stdout)
    assert all(e["value"] is None and e["grad"] is None for e in edges)


def test_dot_output_is_deterministic_and_marked(tmp_path):
    first = run_cli("diagram", REFERENCE, "--at", "x=3,y=-4").stdout
    assert first == run_cli("diagram", REFERENCE, "--at", "x=3,y=-4").stdout
    assert first.startswith("// Generated by flatgrad")
    assert "rankdir=LR" in first and "rank=source" in first and "rank=sink" in first


@needs_graphviz
def test_svg_carries_the_seed_numbers_on_the_right_edges(tmp_path):
    target = tmp_path / "circuit.svg"
    run_cli("diagram", "q = x + y; f = q * z", "--at", "x=-2,y=5,z=-4", "-o", str(target))
    assert MARK in target.read_bytes()
    tree = ElementTree.parse(target)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    titles = {g.find("svg:title", ns).text: g for g in tree.iterfind(".//svg:g", ns)
              if g.get("class") in ("node input", "node gate", "node output")}
    names = {title: "".join(g.find(".//svg:text", ns).itertext()) for title, g in titles.items()}
    ends = {}
    for g in tree.iterfind(".//svg:g", ns):
        if "edge" in (g.get("class") or "").split():
            tail, head = (end.split(":")[0] for end in g.find("svg:title", ns).text.split("->"))
            ends.setdefault(g.get("id").split("-")[0], []).append((tail, head))
    found = {}
    for wire, ((tail, _), (_, head)) in ends.items():
        label = tree.find(f".//svg:g[@id='{wire}']", ns)
        colours = {t.get("fill"): t.text for t in label.iterfind(".//svg:text", ns)}
        found[(names[tail], names[head])] = (float(colours[diagram.VALUE_COLOUR]),
                                             float(colours[diagram.GRADIENT_COLOUR]))
    assert found[("x", "+")] == (-2, -4)
    assert found[("+", "×")] == (3, -4)
    assert found[("z", "×")] == (-4, 3)
    assert found[("×", "f")] == (-12, 1)


@needs_graphviz
def test_png_is_a_valid_image_with_flatgrad_mark(tmp_path):
    target = tmp_path / "circuit.png"
    run_cli("diagram", NEURON, "--at", NEURON_POINT, "-o", str(target))
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    position, kinds = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        body = data[position + 4:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert zlib.crc32(body) == crc, body[:4]
        kinds.append(body[:4])
        position += 12 + length
    assert kinds[0] == b"IHDR" and kinds[1] == b"tEXt" and kinds[-1] == b"IEND"
    assert MARK in data
    # a second run may replace flatgrad's own picture
    run_cli("diagram", NEURON, "--at", NEURON_POINT, "-o", str(target))


@needs_graphviz
def test_every_gate_lays_out():
    expr = ("max(x, y) + min(x, 0) + relu(y) + abs(x) + sqrt(y*y) + log(1 + x*x) + "
            "atan2(x, y) + hypot(x, y) + tanh(x) + exp(-y) + x**3 + softplus(y) - y/x")
    svg = diagram.render(diagram.dot_source(build_plan(expr), {"x": 0.5, "y": 1.5}), "svg")
    assert b"<svg" in svg


def test_missing_graphviz_says_how_to_install_it(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    done = run_cli("diagram", "(x+y)*z", "-o", str(tmp_path / "c.svg"), env=env, check=False)
    assert done.returncode == 1
    assert "apt-get install graphviz" in done.stderr and "brew install graphviz" in done.stderr
    assert not (tmp_path / "c.svg").exists()
    # DOT needs no Graphviz at all
    done = run_cli("diagram", "(x+y)*z", "-o", str(tmp_path / "c.dot"), env=env)
    assert (tmp_path / "c.dot").read_text().startswith("// Generated by flatgrad")


def test_refuses_to_replace_a_file_it_did_not_write(tmp_path):
    mine = tmp_path / "picture.dot"
    mine.write_text("digraph mine {}\n")
    done = run_cli("diagram", "(x+y)*z", "-o", str(mine), check=False)
    assert done.returncode == 2 and "--force" in done.stderr
    assert mine.read_text() == "digraph mine {}\n"
    run_cli("diagram", "(x+y)*z", "-o", str(mine), "--force")
    assert mine.read_text().startswith("// Generated by flatgrad")


def test_bad_formula_is_a_clear_error():
    done = run_cli("diagram", "(x+y", check=False)
    assert done.returncode == 2 and "^" in done.stderr


def test_values_match_the_gate_formulas():
    edges = dot_edges(diagram.dot_source(build_plan(NEURON), NEURON_VALUES, digits=15))
    sig = 1 / (1 + math.exp(-1.0))
    assert [e for e in edges if e["head"] == "f"][0]["value"] == pytest.approx(sig, rel=1e-13)
    assert re.search(r"0\.19661193324148", diagram.dot_source(build_plan(NEURON),
                                                               NEURON_VALUES, digits=14))


@needs_graphviz
def test_a_layout_that_takes_too_long_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(diagram, "LAYOUT_SECONDS", 1e-6)
    with pytest.raises(OSError, match="write its DOT text with -o FILE.dot"):
        diagram.render(diagram.dot_source(build_plan(REFERENCE)), "svg")
