"""Array handouts from the command line with `--at random`: the two-layer net, the SVM
and softmax losses and a convolution layer. Every stage shows its shape, every matrix
product's gradient its dimension analysis, small arrays are matrices, and the gradients
printed are central differences' to the printed digits."""
from __future__ import annotations

import ast
import re
import sys

import numpy as np
import pytest

import flatgrad
from flatgrad import points
from flatgrad.core.plan import evaluate
from flatgrad.core.shapes import describe
from flatgrad.teach import diagram
from numgrad import numeric_gradient
from teaching_support import ROOT, dot_wires, run_cli

sys.path.insert(0, str(ROOT / "examples"))
import conv_layer  # noqa: E402
import linear_classifiers  # noqa: E402

EXAMPLES = ROOT / "examples"
PROGRAMS = {
    "two-layer net": (EXAMPLES / "two_layer_net.txt").read_text(),
    "svm": (EXAMPLES / "svm_loss.txt").read_text(),
    "softmax": linear_classifiers.PROGRAM.format(loss="softmax_loss"),
    "conv layer": (EXAMPLES / "conv_layer.txt").read_text(),
}
SEED = 1


def test_the_example_files_are_the_example_scripts_programs():
    assert PROGRAMS["conv layer"] == conv_layer.PROGRAM.lstrip()
    assert PROGRAMS["svm"] == linear_classifiers.PROGRAM.format(loss="svm_loss").lstrip()


@pytest.fixture(scope="module", params=PROGRAMS)
def written(request, tmp_path_factory):
    """The program's handout as Markdown and HTML, written by the command line."""
    folder = tmp_path_factory.mktemp("handouts")
    program = folder / "program.txt"
    program.write_text(PROGRAMS[request.param])
    for suffix in ("md", "html"):
        run_cli("handout", "-f", str(program), "--at", "random", "--seed", str(SEED),
                "-o", str(folder / f"page.{suffix}"))
    compiled = flatgrad.compile(PROGRAMS[request.param], profile="teach")
    point = points.point_for(compiled, "random", SEED)
    return {"name": request.param, "compiled": compiled, "point": point,
            "markdown": (folder / "page.md").read_text(),
            "html": (folder / "page.html").read_text()}


def table_rows(page: str, heading: str) -> list[list[str]]:
    section = page.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [[cell.strip() for cell in row.strip("|").split(" | ")]
            for row in section.splitlines() if row.startswith("| (")]


def test_every_stage_shows_its_shape(written):
    graph = written["compiled"].plan.graph
    rows = {row[1].strip("`").split(" = ")[0]: row[3]
            for row in table_rows(written["markdown"], "Forward pass")}
    assert set(rows) == {node.name for node in graph.stages}
    for node in graph.stages:
        assert rows[node.name] == (describe(node.shape) if node.shape else "scalar")


def test_every_matmul_gradient_says_its_dimension_analysis(written):
    graph = written["compiled"].plan.graph
    grads = {line.target for line in written["compiled"].plan.backward_lines}
    expected = 0
    for node in graph.stages:
        if node.gate.name != "matmul":
            continue
        for arg in node.args:
            operand = graph.nodes[arg]
            if operand.grad in grads:
                expected += 1
                assert (f"{operand.grad} must be {describe(operand.shape)} like "
                        f"{operand.name}") in written["markdown"]
    assert expected >= 1
    assert written["markdown"].count(" must be [") >= expected


def shown_numbers(text: str):
    """A value as the page prints it: a number, a nested list, or (shape, mean)."""
    summary = re.fullmatch(r"\[[^\]]+\], mean (\S+)", text)
    if summary:
        return ("mean", float(summary.group(1)))
    return np.asarray(ast.literal_eval(text), dtype=float)


def test_the_printed_gradients_are_central_differences(written):
    compiled, point = written["compiled"], written["point"]
    results = re.search(r"\n(\*\*d\w+/d.*)\n", written["markdown"]).group(1)
    printed = dict(re.findall(r"\*\*d\w+/d(\w+) = (.*?)\*\*", results))
    assert set(printed) == set(compiled.wrt)

    def loss(**args):
        return compiled(**args)
    for name in compiled.wrt:
        numeric = numeric_gradient(loss, dict(point), name)
        shown = shown_numbers(printed[name])
        if isinstance(shown, tuple):
            assert shown[1] == pytest.approx(np.mean(numeric), rel=2e-3, abs=1e-6), name
        else:
            np.testing.assert_allclose(shown.reshape(numeric.shape), numeric,
                                       rtol=2e-3, atol=1e-6, err_msg=name)


def test_small_arrays_are_shown_as_matrices(written):
    compiled = written["compiled"]
    values = evaluate(compiled.plan, written["point"])
    small = [node.name for node in compiled.plan.graph.stages
             if node.shape and np.size(values[node.name]) <= 12 and np.ndim(values[node.name])
             <= 2]
    large = [node.name for node in compiled.plan.graph.stages
             if node.shape and node.name not in small]
    forward = written["html"].split('<table class="forward">', 1)[1].split("</table>", 1)[0]
    rows = {re.search(r"<code>(\w+) = ", row).group(1): row
            for row in forward.split("<tr>")[2:]}
    for name in small:
        assert 'class="matrix"' in rows[name], name
    for name in large:
        assert 'class="matrix"' not in rows[name] and ">mean " in rows[name], name


def test_the_circuit_shows_every_array_wires_shape(written):
    plan = written["compiled"].plan
    wires = dot_wires(diagram.dot_source(plan, written["point"]))
    shapes = {describe(node.shape) for node in plan.graph.nodes if node.shape}
    shown = {w["grey"].split(" ", 1)[-1] if not w["grey"].startswith("[") else w["grey"]
             for w in wires if w["grey"]}
    assert shapes <= shown
