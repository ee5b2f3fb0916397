"""Worksheets and answer keys: every backward line exactly once, seeded variants."""
from __future__ import annotations

import html
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flatgrad.teach import handout, lesson, worksheet
from flatgrad.api import build_plan
from flatgrad.errors import FlatgradError
from teaching_support import NEURON, NEURON_POINT, REFERENCE, REFERENCE_POINT, run_cli

POINT = {"x": 3.0, "y": -4.0}


def code_spans(text: str) -> list[str]:
    """The text of every inline code span, in Markdown or HTML."""
    spans = re.findall(r"`([^`\n]+)`", text) + re.findall(r"<code>(.*?)</code>", text, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", span)).strip() for span in spans]


def backward_texts(plan) -> list[str]:
    return [line.text for line in plan.backward_lines]


def write_pair(tmp_path, fmt, *extra):
    suffix = ".md" if fmt == "markdown" else ".html"
    sheet = tmp_path / f"sheet{suffix}"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--exercise", "-o", str(sheet),
            *extra)
    return sheet.read_text(), (tmp_path / f"sheet-key{suffix}").read_text()


@pytest.mark.parametrize("fmt", ["markdown", "html"])
@pytest.mark.parametrize("seed", ["0", "1", "7"])
def test_worksheet_and_key_hold_every_backward_line_exactly_once(tmp_path, fmt, seed):
    sheet, key = write_pair(tmp_path, fmt, "--seed", seed)
    plan = build_plan(REFERENCE, profile="teach")
    lines = backward_texts(plan)
    # a text may occur more than once in a listing: the counts must match too
    expected = Counter(lines)
    found = Counter(span for span in code_spans(sheet) + code_spans(key) if span in expected)
    assert found == expected
    in_key = [span for span in code_spans(key) if span in expected]
    assert 0 < len(in_key) < len(lines)


def test_worksheet_gives_no_answer_away(tmp_path):
    sheet, key = write_pair(tmp_path, "html", "--seed", "2")
    assert "The generated code" not in sheet
    assert "becomes" not in sheet
    # the circuit carries values only: no gradient (red) labels
    assert 'fill="#c62828"' not in sheet and "#2e7d32" in sheet
    assert "df/dx = 2.05957" not in sheet and "df/dx = 2.05957" in key
    # one sheet, no --variants: it names its seed, not a variant it is not
    assert "seed 2" in sheet and "seed 2" in key
    assert "variant" not in sheet and "variant" not in key


def test_seeds_pick_different_lines_and_repeat_exactly():
    plan = build_plan(REFERENCE, profile="teach")

    def blanked(seed):
        sheet = worksheet.make(lesson.build(plan, POINT), seed=seed)
        return tuple((row.ref, row.target, row.code) for row in sheet.answers)

    assert blanked(5) == blanked(5)
    variants = {blanked(seed) for seed in range(6)}
    assert len(variants) >= 4
    assert all(len(v) == 6 for v in variants)      # half of the 12 lines, rounded up


def test_blank_count_and_all(tmp_path):
    taught = lesson.build(build_plan(REFERENCE, profile="teach"), POINT)
    assert len(worksheet.make(taught, count=3).answers) == 3
    taught = lesson.build(build_plan(REFERENCE, profile="teach"), POINT)
    assert len(worksheet.make(taught, count=100).answers) == 12
    with pytest.raises(FlatgradError, match="at least one blank"):
        worksheet.make(lesson.build(build_plan(REFERENCE), POINT), count=0)


def test_local_gradient_worksheet(tmp_path):
    sheet, key = write_pair(tmp_path, "markdown", "--blank", "local", "--blanks", "12")
    plan = build_plan(REFERENCE, profile="teach")
    assert "`dden = (___) * dinvden`" in sheet
    assert r"\frac{-1}{\mathit{den}^{2}}" not in sheet
    assert r"\frac{-1}{\mathit{den}^{2}}" in key
    for text in backward_texts(plan):
        assert f"`{text}`" in key


def test_values_worksheet_blanks_numbers_and_keys_them(tmp_path):
    sheet, key = write_pair(tmp_path, "markdown", "--blank", "values", "--seed", "4")
    taught = lesson.build(build_plan(REFERENCE, profile="teach"), POINT)
    chosen = worksheet.make(taught, "values", seed=4).answers
    # half of the rows, and every row that shows the same number as one of them
    assert len(chosen) >= (8 + 12 + 1) // 2
    forward_answers = [row for row in chosen if isinstance(row, lesson.ForwardRow)]
    for row in forward_answers:
        assert f"| ({row.ref}) | `{row.name} = {row.code}` | " in key
        assert f"| ({row.ref}) | `{row.name} = {row.code}` | {row.gate} | \\_" in sheet
    assert forward_answers
    # no upstream or local-gradient numbers hint at the blanked results
    assert "dinvden = 3.01799" not in sheet and "= -0.262292" not in sheet
    # the circuit of a values worksheet carries no gradients, and only the values the page
    # shows: the inputs' and those of the rows the forward table does not blank
    svg = (tmp_path / "sheet.svg").read_text() if (tmp_path / "sheet.svg").exists() else ""
    assert "#c62828" not in svg
    if svg:
        shown = [handout.number_text(row.value, 3) for row in taught.forward
                 if f"| ({row.ref}) | `{row.name} = {row.code}` | {row.gate} | \\_" not in sheet]
        assert len(shown) < len(taught.forward)
        green = re.findall(r'fill="#2e7d32">([^<]*)<', svg)
        assert sorted(html.unescape(text) for text in green) == sorted(["3", "-4"] + shown)


def test_worksheet_for_the_primitive_neuron(tmp_path):
    sheet = tmp_path / "neuron.md"
    run_cli("handout", NEURON, "--at", NEURON_POINT, "--gates", "primitive", "--exercise",
            "--blanks", "100", "-o", str(sheet))
    key = (tmp_path / "neuron-key.md").read_text()
    plan = build_plan(NEURON, gates="primitive", profile="teach")
    assert [s for s in code_spans(key) if s in backward_texts(plan)] == backward_texts(plan)
    assert "**dw0 = " not in key and "**df/dw0 = -0.196612**" in key


def test_a_worksheet_needs_a_place_for_its_key(tmp_path):
    done = run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--exercise", check=False)
    assert done.returncode == 2 and "answer key" in done.stderr
    done = run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--exercise",
                   "--key", str(tmp_path / "key.html"))
    assert done.stdout.startswith("<!DOCTYPE html>")
    assert "Answer key" in (tmp_path / "key.html").read_text()


def test_key_and_worksheet_render_directly():
    taught = lesson.build(build_plan(REFERENCE, profile="teach"), POINT)
    sheet = worksheet.make(taught, seed=3)
    page = handout.render(taught, "html", sheet)
    assert page.count('<span class="blank"></span>') >= len(sheet.answers)
    assert handout.render_key(sheet, "markdown").count("\n| (") == len(sheet.answers)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), count=st.integers(1, 14),
       expr=st.sampled_from([REFERENCE, NEURON, "x*x*y + max(x, y)"]))
def test_every_line_exactly_once_for_any_seed_and_count(seed, count, expr):
    plan = build_plan(expr, profile="teach")
    point = {name: 0.5 + i for i, name in enumerate(plan.graph.inputs)}
    sheet = worksheet.make(lesson.build(plan, point), count=count, seed=seed)
    lines = Counter(backward_texts(plan))
    shown = code_spans(handout.render(sheet.lesson, "markdown", sheet))
    keyed = code_spans(handout.render_key(sheet, "markdown"))
    assert Counter(s for s in shown + keyed if s in lines) == lines
    assert len([s for s in keyed if s in lines]) == min(count, len(plan.backward_lines))


def test_worksheet_options_need_exercise():
    done = run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--seed", "3", "--blanks", "2",
                   check=False)
    assert done.returncode == 2 and "--blanks, --seed are worksheet options: add --exercise" \
        in done.stderr


def test_variant_sheets_are_labelled_variant_and_a_single_sheet_its_seed(tmp_path):
    sheet_path = tmp_path / "one.md"
    run_cli("handout", REFERENCE, "--at", "x=3,y=-4", "--exercise", "--seed", "2", "-o",
            str(sheet_path))
    assert "· seed 2 · fill in the blanks" in sheet_path.read_text()
    assert "· seed 2 · at" in (tmp_path / "one-key.md").read_text()
    run_cli("handout", REFERENCE, "--variants", "2", "-o", str(tmp_path / "many.md"))
    assert "· variant 2 · fill in the blanks" in (tmp_path / "many-2.md").read_text()
    assert "# Answer key, variant 2" in (tmp_path / "many-key.md").read_text()
