"""The page to step through (`flatgrad handout ... --step`), driven in a real headless
Chromium by key presses: after k steps exactly the expected code line, table row and
wire are lit, and the wire shows the number its step computes."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import flatgrad
from flatgrad import points
from flatgrad.api import build_plan
from flatgrad.core.plan import evaluate
from flatgrad.teach import diagram, lesson, step
from teaching_support import NEURON, NEURON_POINT, REFERENCE, REFERENCE_POINT, assert_well_formed, \
    run_cli

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed "
                                 "(pip install playwright)")
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed "
                                 "(apt-get install chromium)"),
              pytest.mark.skipif(not diagram.available(), reason="Graphviz is not installed")]

NET = ("W1: 4x3\nb1: 4x1\nW2: 3x4\nb2: 3x1\nX: 3x5\ny: 5\n"
       "hidden = relu(W1 @ X + b1)\nscores = W2 @ hidden + b2\n"
       "loss = softmax_loss(scores, y) + 0.5 * reg * (sum(W1²) + sum(W2²))\n")

# What the page shows after k steps, read back from the browser.
STATE = """() => {
  const lit = [...document.querySelectorAll(".current")];
  const wires = lit.filter(el => el.closest("svg"));
  const visible = t => getComputedStyle(t).visibility === "visible";
  return {
    at: document.body.dataset.at,
    lines: lit.filter(el => el.classList.contains("line")).map(el => [el.id, el.textContent]),
    rows: lit.filter(el => el.tagName === "TR").map(el => el.id),
    wires: [...new Set(wires.map(el => el.id.split("-")[0]))],
    ends: wires.filter(el => el.classList.contains("edge")).map(
      el => el.querySelector("title").textContent),
    shown: wires.filter(el => el.classList.contains("node")).flatMap(
      el => [...el.querySelectorAll("text")].filter(visible).map(
        t => [t.getAttribute("fill"), t.textContent])),
    future_values: [...document.querySelectorAll("tr.future td.value, tr.future td.gradient")]
      .filter(visible).length,
  };
}"""


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=BROWSER,
                                          args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def open_page(browser, path):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    return page, requests, errors


def expected(plan, values: dict) -> list[dict]:
    """Each step's code line, row, wire ends and number, from the plan itself."""
    graph = plan.graph
    walk = []
    for i, line in enumerate(plan.forward):
        node = graph.nodes[line.node]
        walk.append({"line": (f"code-f{i}", f"{line.target} = {line.code}"),
                     "row": f"row-f{i}", "tail": f"n{node.index}",
                     "number": (diagram.VALUE_COLOUR, diagram._number(values[node.name], 3))})
    for j, line in enumerate(plan.backward_lines):
        share = line.share
        operand = graph.nodes[line.node]
        if np.shape(share) != np.shape(values[operand.name]):
            share = np.broadcast_to(share, np.shape(values[operand.name]))
        walk.append({"line": (f"code-b{j}", line.text), "row": f"row-b{j}",
                     "head": f"n{line.stage}",
                     "number": (diagram.GRADIENT_COLOUR, diagram._number(share, 3))})
    return walk


def check_step(state, want):
    (line,) = state["lines"]
    assert line[0] == want["line"][0] and line[1].startswith(want["line"][1])
    assert state["rows"] == [want["row"]]
    # exactly one wire lit: its label and the two halves of its path (or, a wire
    # without a label, its one path)
    assert len(state["wires"]) == 1 and len(state["ends"]) in (1, 2)
    tail = state["ends"][0].split("->")[0]
    head = state["ends"][-1].split("->")[1]
    if "tail" in want:
        assert tail == want["tail"]
    else:
        assert head == want["head"]
    colour, number = want["number"]
    if number is not None:        # an array wire of more than 4 entries shows its shape
        assert [colour, number] in state["shown"]
    assert state["future_values"] == 0


@pytest.mark.parametrize("expr, at, options", [
    (REFERENCE, REFERENCE_POINT, ()),
    (NEURON, NEURON_POINT, ("--gates", "primitive")),
    ("q = x + y; f = q * z", "x=-2,y=5,z=-4", ()),
])
def test_key_presses_light_the_expected_line_row_and_wire(browser, tmp_path, expr, at,
                                                          options):
    path = tmp_path / "step.html"
    run_cli("handout", expr, "--at", at, *options, "--step", "-o", str(path))
    plan = build_plan(expr, profile="teach", gates=(options or ("", "staged"))[1])
    point = {name: float(value) for name, value in (pair.split("=") for pair in at.split(","))}
    walk = expected(plan, evaluate(plan, point))
    page, requests, errors = open_page(browser, path)
    state = page.evaluate(STATE)
    assert state["at"] == "0" and not state["lines"] and not state["rows"]
    for k, want in enumerate(walk, start=1):
        page.keyboard.press("Space" if k % 2 else "ArrowRight")
        state = page.evaluate(STATE)
        assert state["at"] == str(k)
        check_step(state, want)
    # past the end nothing moves; back steps undo, Home and End jump
    page.keyboard.press("Space")
    assert page.evaluate(STATE)["at"] == str(len(walk))
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    state = page.evaluate(STATE)
    assert state["at"] == str(len(walk) - 2)
    check_step(state, walk[-3])
    page.keyboard.press("Home")
    state = page.evaluate(STATE)
    assert state["at"] == "0" and not state["wires"]
    page.keyboard.press("End")
    assert page.evaluate(STATE)["at"] == str(len(walk))
    assert errors == []
    assert [url for url in requests if not url.startswith("file:")] == []


def test_the_two_layer_net_steps_through_its_arrays(browser, tmp_path):
    program = tmp_path / "net.txt"
    program.write_text(NET)
    path = tmp_path / "net.html"
    run_cli("handout", "-f", str(program), "--at", "random", "--seed", "3", "--step",
            "-o", str(path))
    page, requests, errors = open_page(browser, path)
    compiled = flatgrad.compile(NET, profile="teach")
    taught = lesson.build(compiled.plan, points.point_for(compiled, "random", 3))
    walk = expected(compiled.plan, evaluate(compiled.plan, taught.point))
    assert len(walk) == len(step.steps(taught))
    for k, want in enumerate(walk, start=1):
        page.keyboard.press("ArrowRight")
        check_step(page.evaluate(STATE), want)
    assert errors == [] and [u for u in requests if not u.startswith("file:")] == []


def test_step_needs_html_and_is_not_a_worksheet(tmp_path):
    done = run_cli("handout", "x*y", "--at", "x=1,y=2", "--step", "-o", str(tmp_path / "s.md"),
                   check=False)
    assert done.returncode == 2 and "--step writes an HTML page" in done.stderr
    done = run_cli("handout", "x*y", "--at", "x=1,y=2", "--step", "--exercise", "-o",
                   str(tmp_path / "s.html"), check=False)
    assert done.returncode == 2 and "choose one" in done.stderr
    assert not list(tmp_path.iterdir())


def test_the_page_is_self_contained_deterministic_and_replaceable(tmp_path):
    path = tmp_path / "step.html"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--step", "-o", str(path))
    first = path.read_text()
    # a second run replaces flatgrad's own page, with the same bytes
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--step", "-o", str(path))
    assert path.read_text() == first
    assert_well_formed(first)
    assert "http://" not in first.replace('xmlns="http://www.w3.org/2000/svg"', "") \
        .replace('xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    assert "https://" not in first and " src=" not in first and "<link" not in first
    # every step's elements are on the page
    plan = build_plan(REFERENCE, profile="teach")
    for entry in step.steps(lesson.build(plan, {"x": 3.0, "y": -4.0})):
        assert f'id="{entry["code"]}"' in first and f'id="{entry["row"]}"' in first
        for role in entry["wires"] + entry["gradients"] + entry["values"]:
            assert re.search(rf'class="[^"]*\b{role}\b', first), role


def test_each_lines_tag_has_the_colour_of_what_it_computes():
    """Values green, gradients red, in the code as on the wires (a line's `# (k)`)."""
    taught = lesson.build(build_plan(REFERENCE), points.parse_point(REFERENCE_POINT))
    page = step.render(taught)
    forward = re.findall(r'id="code-f\d+".*?<span class="comment (\w+)"># \(\d+\)', page)
    backward = re.findall(r'id="code-b\d+".*?<span class="comment (\w+)"># \(\d+\)', page)
    assert forward == ["value"] * len(taught.forward)
    assert backward == ["gradient"] * len(taught.backward)
    assert ".comment.gradient { color: var(--gradient); }" in page


# Where things sit at 1280 x 800: the circuit inside its box, the lit code line in its
# panel (how far down, as a share of the panel's height) and each table row's lines.
LAYOUT = """() => {
  const box = document.querySelector('#circuit').getBoundingClientRect();
  const svg = document.querySelector('#circuit svg').getBoundingClientRect();
  const panel = document.querySelector('#code');
  const line = document.querySelector('.line.current');
  const at = line ? (line.getBoundingClientRect().top + line.getBoundingClientRect().bottom) / 2
                    - panel.getBoundingClientRect().top : null;
  return {
    inside: svg.top >= box.top - 1 && svg.bottom <= box.bottom + 1 &&
            svg.left >= box.left - 1 && svg.right <= box.right + 1,
    down: at === null ? null : at / panel.clientHeight,
    scrolled: panel.scrollTop, most: panel.scrollHeight - panel.clientHeight,
    wrapped: [...document.querySelectorAll('#tables td code')].filter(
      code => new Set([...code.getClientRects()].map(r => Math.round(r.top))).size > 1)
      .map(code => code.textContent),
  };
}"""


@pytest.mark.parametrize("expr, at, options", [
    (REFERENCE, REFERENCE_POINT, ()),
    (NEURON, NEURON_POINT, ("--gates", "primitive")),
])
def test_the_whole_circuit_shows_and_the_lit_line_is_centred(browser, tmp_path, expr, at,
                                                             options):
    path = tmp_path / "step.html"
    run_cli("handout", expr, "--at", at, *options, "--step", "-o", str(path))
    page, _, errors = open_page(browser, path)
    layout = page.evaluate(LAYOUT)
    assert layout["inside"] and layout["wrapped"] == []
    steps = int(page.evaluate("JSON.parse(document.getElementById('steps').textContent)"
                              ".steps.length"))
    for _ in range(steps):
        page.keyboard.press("ArrowRight")
        layout = page.evaluate(LAYOUT)
        # centred, unless the panel is scrolled as far as it goes either way
        if 0 < layout["scrolled"] < layout["most"]:
            assert 0.4 <= layout["down"] <= 0.6, layout
        else:
            assert 0 < layout["down"] < 1, layout
        assert layout["inside"]
    assert errors == []
