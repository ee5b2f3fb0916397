"""`flatgrad handout --mode forward`: the forward-mode passes beside the reverse-mode
tables, their numbers those of g.jvp, the page laid out by Chromium."""
from __future__ import annotations

import flatgrad
from flatgrad.emit import format_value
from flatgrad.teach import diagram
from teaching_support import (REFERENCE, REFERENCE_POINT, assert_well_formed, layout,
                              needs_chromium, run_cli)

LAYOUT = """
const section = document.querySelector('#forward-mode');
const table = section.querySelector('table');
const svg = section.querySelector('svg');
const tangent = section.querySelector('td.tangent');
report = {rows: table.rows.length, columns: table.rows[0].cells.length,
          height: box(table).height, svg: svg ? [box(svg).width, box(svg).height] : null,
          colour: getComputedStyle(tangent).color,
          before_circuit: section.compareDocumentPosition(document.querySelector('#circuit'))
                          === Node.DOCUMENT_POSITION_FOLLOWING};
"""


def _expected_numbers():
    """Every tangent of every pass, by g.jvp's own generated function."""
    g = flatgrad.compile(REFERENCE)
    return [format_value(g.jvp(3.0, -4.0, *unit)[1]) for unit in ((1.0, 0.0), (0.0, 1.0))]


@needs_chromium
def test_the_forward_mode_handout_renders_and_its_numbers_are_g_jvps(tmp_path):
    page = tmp_path / "forward.html"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--mode", "forward",
            "-o", str(page))
    text = page.read_text()
    assert_well_formed(text)
    dx, dy = _expected_numbers()
    assert f"f_dot = df/dx = {dx}" in text and f"f_dot = df/dy = {dy}" in text
    assert "sigy_dot = ((1 - sigy) * sigy) * y_dot" in text
    assert "one pass per input" in text and "one pass per output" in text
    # the reverse-mode tables stay, and give the same gradient
    assert f"df/dx = {dx}" in text.split('id="forward-mode"')[0]
    seen = layout(tmp_path, page, LAYOUT)
    assert seen["rows"] == 9 and seen["columns"] == 6      # 8 stages, 2 passes
    assert seen["height"] > 100 and seen["before_circuit"]
    assert seen["colour"] == "rgb(21, 101, 192)"            # tangents in blue
    if diagram.available():
        width, height = seen["svg"]
        assert width > 400 and height > 100


def test_every_tangent_in_the_table_is_the_generated_codes():
    g = flatgrad.compile(REFERENCE, profile="teach")
    from flatgrad.teach import forward_mode
    section = forward_mode.build(g.plan, {"x": 3.0, "y": -4.0}, draw=False)
    namespace: dict = {}
    exec(compile(flatgrad.modes.source(g, "forward", {"x": 3.0, "y": -4.0}), "<m>", "exec"),
         namespace)
    for i, unit in enumerate(((1.0, 0.0), (0.0, 1.0))):
        assert section["results"][i]["value"] == format_value(g.jvp(3.0, -4.0, *unit)[1])
        assert section["results"][i]["value"] == format_value(namespace["f_jvp"](3.0, -4.0,
                                                                                 *unit)[1])
    assert [row["ref"] for row in section["rows"]] == list(range(1, 9))


def test_markdown_and_refusals(tmp_path):
    page = tmp_path / "forward.md"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--mode", "forward", "-o", str(page))
    text = page.read_text()
    dx, dy = _expected_numbers()
    assert "## Forward mode" in text and f"f_dot = df/dy = {dy}" in text
    assert "| (8) | `f = num * invden` |" in text
    plain = run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--format", "markdown")
    assert "Forward mode" not in plain.stdout
    for extra in (["--exercise", "-o", str(tmp_path / "w.html")],
                  ["--shape", "W=2x2"]):
        formula = "sum(W)" if "--shape" in extra else REFERENCE
        point = "random" if "--shape" in extra else REFERENCE_POINT
        refused = run_cli("handout", formula, "--at", point, "--mode", "forward", *extra,
                          check=False)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert not (tmp_path / "w.html").exists()


def test_the_neurons_passes_give_the_notes_gradient_and_no_negative_zero():
    from flatgrad.teach import forward_mode
    g = flatgrad.compile("dot = w0*x0 + w1*x1 + w2; f = σ(dot)", wrt="w0,w1,w2",
                         profile="teach")
    point = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    section = forward_mode.build(g.plan, point)
    # the notes: dw = [-0.197, -0.393, 0.197]
    assert [r["value"] for r in section["results"]] == ["-0.196612", "-0.393224", "0.196612"]
    assert all(t != "-0" for row in section["rows"] for t in row["tangents"])
    if section["dot_text"]:
        assert "(-1, -0, -0)" not in section["dot_text"] and "(-1, 0, 0)" in section["dot_text"]
