"""How the circuit is laid out, measured in the coordinates of the SVG Graphviz draws:
every label nearer its own wire than any other, wires crossing only where the graph
forces it, the text the size of the page's body text, and PNGs at a chosen resolution."""
from __future__ import annotations

import math
import re
import struct
import xml.etree.ElementTree as ElementTree

import pytest

import flatgrad
from flatgrad import points
from flatgrad.api import build_plan
from flatgrad.teach import diagram
from teaching_support import NEURON, NEURON_POINT, REFERENCE, ROOT, needs_chromium, run_cli
from teaching_support import layout as probe_layout

pytestmark = pytest.mark.skipif(not diagram.available(),
                                reason="Graphviz's `dot` is not installed "
                                       "(apt-get install graphviz)")

SVG = "{http://www.w3.org/2000/svg}"
NEURON_VALUES = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
# The seed circuits: the staged example, the neuron staged and primitive, and (x+y)z.
CIRCUITS = {
    "staged": (REFERENCE, {}, {"x": 3.0, "y": -4.0}),
    "neuron": (NEURON, {}, NEURON_VALUES),
    "neuron primitive": (NEURON, {"gates": "primitive"}, NEURON_VALUES),
    "(x+y)z": ("q = x + y; f = q * z", {}, {"x": -2.0, "y": 5.0, "z": -4.0}),
    "(x+y)z primitive": ("(x+y)*z", {"gates": "primitive"}, {"x": -2.0, "y": 5.0, "z": -4.0}),
    # and the array examples, at random points
    "two-layer net": ((ROOT / "examples" / "two_layer_net.txt").read_text(), {}, "random"),
    "svm": ((ROOT / "examples" / "svm_loss.txt").read_text(), {}, "random"),
}
# DejaVu Sans: an average glyph is 0.62 em wide; a line's ink runs from 0.76 em above
# the baseline to 0.24 em below.
GLYPH_WIDTH, ASCENT, DESCENT = 0.62, 0.76, 0.24


def drawn(name: str) -> ElementTree.Element:
    expr, options, point = CIRCUITS[name]
    if point == "random":
        point = points.point_for(flatgrad.compile(expr, **options), "random", 0)
    svg = diagram.render(diagram.dot_source(build_plan(expr, **options), point), "svg")
    return ElementTree.fromstring(svg)


def bezier_points(d: str) -> list[tuple[float, float]]:
    """A path of Graphviz's (M, then cubic C segments) sampled every few points."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    pairs = list(zip(numbers[::2], numbers[1::2]))
    points = [pairs[0]]
    for i in range(1, len(pairs) - 2, 3):
        p0, p1, p2, p3 = pairs[i - 1], pairs[i], pairs[i + 1], pairs[i + 2]
        for k in range(1, 41):
            t = k / 40
            points.append(tuple((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b
                                + 3 * (1 - t) * t ** 2 * c + t ** 3 * e
                                for a, b, c, e in zip(p0, p1, p2, p3)))
    return points


def polygon_points(points: str) -> list[tuple[float, float]]:
    return [tuple(float(n) for n in pair.split(",")) for pair in points.split()]


def wires(svg: ElementTree.Element) -> dict[str, dict]:
    """Each wire by its id: the polylines it is drawn with (its paths, arrowheads and
    the line through its label) and the boxes of its label's texts."""
    found: dict[str, dict] = {}
    for group in svg.iter(SVG + "g"):
        classes = (group.get("class") or "").split()
        if "wire" not in classes:
            continue
        wire = found.setdefault(group.get("id").split("-")[0], {"lines": [], "texts": []})
        for path in group.iter(SVG + "path"):
            wire["lines"].append(bezier_points(path.get("d")))
        for polygon in group.iter(SVG + "polygon"):
            wire["lines"].append(polygon_points(polygon.get("points")))
        for text in group.iter(SVG + "text"):
            size = float(text.get("font-size"))
            width = GLYPH_WIDTH * size * len(text.text)
            x = float(text.get("x")) - (width / 2 if text.get("text-anchor") == "middle" else 0)
            y = float(text.get("y"))
            wire["texts"].append((text.text, (x, y - ASCENT * size, x + width,
                                              y + DESCENT * size)))
    return found


def segment_box_distance(a, b, box) -> float:
    """Distance from the segment a-b to the box, from points along it 0.5 units apart."""
    steps = max(1, int(math.dist(a, b) / 0.5))
    x0, y0, x1, y1 = box
    best = math.inf
    for k in range(steps + 1):
        t = k / steps
        px, py = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
        dx = max(x0 - px, 0.0, px - x1)
        dy = max(y0 - py, 0.0, py - y1)
        best = min(best, math.hypot(dx, dy))
    return best


def distance(lines, box) -> float:
    return min(segment_box_distance(a, b, box) for line in lines
               for a, b in zip(line, line[1:] + line[:1] if len(line) > 2 and
                               line[0] == line[-1] else line[1:]))


@pytest.mark.parametrize("name", CIRCUITS)
def test_every_label_is_nearest_its_own_wire(name):
    found = wires(drawn(name))
    labelled = [wire for wire in found.values() if wire["texts"]]
    assert len(labelled) >= 4
    for wire_id, wire in found.items():
        for text, box in wire["texts"]:
            own = distance(wire["lines"], box)
            others = min(distance(other["lines"], box)
                         for other_id, other in found.items() if other_id != wire_id)
            assert own < others, (name, text, own, others)
            # and close enough to read as the wire's: the value and gradient touch
            # the line, the stage's name stands one line above the value
            assert own <= 1.5 * 12, (name, text, own)


def crossings(svg: ElementTree.Element) -> int:
    """Pairs of wires whose paths cross, away from the nodes where wires meet."""
    paths = {}
    for group in svg.iter(SVG + "g"):
        if "edge" in (group.get("class") or "").split():
            wire = group.get("id").split("-")[0]
            for path in group.iter(SVG + "path"):
                paths.setdefault(wire, []).append(bezier_points(path.get("d")))
    def crosses(first, second) -> bool:
        for line in first:
            for line2 in second:
                for a, b in zip(line, line[1:]):
                    for c, d in zip(line2, line2[1:]):
                        point = _intersection(a, b, c, d)
                        if point and all(math.dist(point, e) > 4 for e in
                                         [line[0], line[-1], line2[0], line2[-1]]):
                            return True
        return False

    names = sorted(paths)
    return sum(crosses(paths[a], paths[b]) for i, a in enumerate(names) for b in names[i + 1:])


def _intersection(a, b, c, d):
    (x1, y1), (x2, y2), (x3, y3), (x4, y4) = a, b, c, d
    denominator = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
    if abs(denominator) < 1e-12:
        return None
    t = ((x1 - x3) * (y3 - y4) - (y1 - y3) * (x3 - x4)) / denominator
    u = ((x1 - x3) * (y1 - y2) - (y1 - y3) * (x1 - x2)) / denominator
    if 0 <= t <= 1 and 0 <= u <= 1:
        return x1 + t * (x2 - x1), y1 + t * (y2 - y1)
    return None


def forced_crossing(name: str) -> bool:
    """Whether the circuit, drawn with its inputs on the left and its output on the
    right, must cross a wire: its graph with one more vertex joined to every input and
    to the output (the frame around the picture) is not planar."""
    networkx = pytest.importorskip("networkx", reason="networkx decides planarity "
                                   "(pip install networkx)")
    expr, options, _ = CIRCUITS[name]
    graph = build_plan(expr, **options).graph
    circuit = networkx.Graph()
    for node in graph.stages:
        for arg in node.args:
            if graph.nodes[arg].kind != "const":
                circuit.add_edge(arg, node.index)
    for node in graph.nodes:
        if node.kind == "input":
            circuit.add_edge("frame", node.index)
    circuit.add_edge("frame", graph.output)
    planar, _ = networkx.check_planarity(circuit)
    return not planar


@pytest.mark.parametrize("name", CIRCUITS)
def test_wires_cross_only_where_the_graph_forces_it(name):
    count = crossings(drawn(name))
    if forced_crossing(name):
        # a non-planar circuit needs a crossing; one is the least it can have
        assert count == 1, name
    else:
        assert count == 0, name


def test_only_the_staged_example_and_the_net_must_cross():
    assert [name for name in CIRCUITS if forced_crossing(name)] == ["staged", "two-layer net"]


def png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


def test_dpi_sets_the_pngs_resolution(tmp_path):
    sizes = {}
    for dpi in (None, 96, 300):
        target = tmp_path / f"neuron-{dpi}.png"
        run_cli("diagram", NEURON, "--at", NEURON_POINT, "-o", str(target),
                *(("--dpi", str(dpi)) if dpi else ()))
        sizes[dpi] = png_size(target.read_bytes())
    assert sizes[None] == sizes[96]
    for default, large in zip(sizes[96], sizes[300]):
        assert large == pytest.approx(default * 300 / 96, rel=0.02)


@pytest.mark.parametrize("args, message", [
    (("-o", "c.svg", "--dpi", "300"), "--dpi sets the resolution of a PNG"),
    (("-o", "c.png", "--dpi", "5"), "--dpi must be between 24 and 1200, not 5"),
])
def test_dpi_outside_a_png_is_a_clear_error(tmp_path, args, message):
    done = run_cli("diagram", "(x+y)*z", *args, cwd=tmp_path, check=False)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir())


FONT_PROBE = """\
const body = parseFloat(getComputedStyle(document.body).fontSize);
const svg = document.querySelector("figure svg");
const scale = svg.getScreenCTM().a;
const report = {
  body: body,
  paragraph: parseFloat(getComputedStyle(document.querySelector("#forward > p")).fontSize),
  circuit: [...svg.querySelectorAll("text")].map(
    t => scale * parseFloat(t.getAttribute("font-size"))),
  width: box(svg).width,
};"""


@needs_chromium
@pytest.mark.parametrize("expr, point, options", [
    ("(x+y)*z", "x=-2,y=5,z=-4", ()),
    (NEURON, NEURON_POINT, ("--gates", "primitive")),
])
def test_circuit_text_is_the_body_texts_size_at_any_circuit_size(tmp_path, expr, point,
                                                                  options):
    page = tmp_path / "page.html"
    run_cli("handout", expr, "--at", point, *options, "-o", str(page))
    # a window that holds the circuit (a wider circuit shrinks to the window, so that the
    # whole circuit is seen: test_print.py)
    measured = probe_layout(tmp_path, page, FONT_PROBE, "--window-size=1400,3000")
    assert measured["circuit"]
    assert measured["paragraph"] == measured["body"]
    for size in measured["circuit"]:
        assert size == pytest.approx(measured["body"], abs=0.05)
