"""Handouts a teacher prints without editing: paper, titles, digits, colours, PDF through
headless Chromium (read back with pypdf), worksheet variants and booklets."""
from __future__ import annotations

import html
import io
import os
import re

import pytest

from flatgrad.cli.teaching import lessons_in
from flatgrad.api import build_plan
from flatgrad.atomic_write import MARK
from flatgrad.teach import diagram, handout, lesson, pdf
from teaching_support import NEURON, NEURON_POINT, REFERENCE, REFERENCE_POINT, run_cli

needs_pdf = pytest.mark.skipif(not pdf.available() or not diagram.available(),
                               reason="PDF needs Chromium (apt-get install chromium) and "
                                      "the circuit Graphviz; CI installs both")
HEADINGS = ("The expression", "Forward pass", "Backward pass", "The circuit",
            "The generated code", "Patterns in this circuit", "Rules you will need")


def page_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# -- the page ----------------------------------------------------------------------------

@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_page_size_is_set_for_print(tmp_path, paper):
    target = tmp_path / "h.html"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--paper", paper, "-o", str(target))
    page = target.read_text()
    assert f"@page {{ size: {paper}; margin: 14mm; }}" in page
    # headings stay with their tables; code never wraps inside a line
    assert "break-after: avoid" in page and "section.keep { break-inside: avoid" in page
    assert "white-space: pre; overflow: visible" in page


def test_code_is_printed_small_enough_to_fit_the_paper():
    taught = lesson.build(build_plan(REFERENCE, profile="teach"), {"x": 3.0, "y": -4.0})
    page = handout.render(taught, "html")
    size = float(re.search(r"font-size: ([\d.]+)pt;\s+line-height: 1.3", page).group(1))
    code = "\n".join(re.findall(r'<pre class="code">(.*?)</pre>', page, re.S))
    longest = max(len(html.unescape(re.sub(r"<[^>]+>", "", line)))
                  for line in code.split("\n"))
    width_points = (210 - 28) / 25.4 * 72
    assert (longest + 3) * handout.MONO_ADVANCE * size <= width_points + 1e-9
    assert size <= handout.CODE_PRINT_POINTS


def test_the_subtitle_is_the_whole_program_and_the_title_is_the_teachers(tmp_path):
    target = tmp_path / "h.html"
    run_cli("handout", "q = x + y; f = q * z", "--at", "x=-2,y=5,z=-4", "--title",
            "Lecture 4: a first circuit", "-o", str(target))
    page = target.read_text()
    assert "<h1>Lecture 4: a first circuit</h1>" in page
    assert "<title>Lecture 4: a first circuit</title>" in page
    assert '<p class="meta">q = x + y; f(x, y, z) = q × z</p>' in page
    markdown = run_cli("handout", "q = x + y; f = q * z", "--at", "x=-2,y=5,z=-4",
                       "--format", "markdown").stdout
    assert "# Backpropagation, staged\n\nq = x + y; f(x, y, z) = q × z\n" in markdown


def test_digits_are_the_same_in_the_tables_and_on_the_circuit(tmp_path):
    target = tmp_path / "h.html"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--digits", "3", "-o", str(target))
    page = target.read_text()
    cells = re.findall(r'<td class="num value">(.*?)</td>', page)
    # 3 significant digits: the rounded σ(y) keeps its trailing zero, the exact -1 stays short
    assert cells == ["0.0180", "3.02", "0.953", "-1", "1", "1.95", "0.512", "1.55"]
    assert "df/dx = 2.06" in page
    assert "2.05957" not in page_text(page).split("The generated code")[0]
    wires = " ".join(re.findall(r"<text[^>]*>(.*?)</text>", page))
    if diagram.available():
        assert "1.55" in wires and "1.58" in wires and "1.545" not in wires
    done = run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--digits", "0",
                   check=False)
    assert done.returncode == 2 and "--digits must be between 1 and 17" in done.stderr


def test_minus_zero_is_printed_as_zero(tmp_path):
    target = tmp_path / "h.html"
    run_cli("handout", "x*y + z", "--at", "x=0,y=-1,z=1", "-o", str(target))
    page = target.read_text()
    numbers = re.findall(r'<td class="num[^"]*">(.*?)</td>', page)
    assert "-0" not in numbers and "0" in numbers
    assert "xy becomes 0" in page_text(page) and "becomes -0 " not in page_text(page)
    assert "-0<" not in page


def test_comments_in_the_code_are_green_for_values_and_red_for_gradients():
    taught = lesson.build(build_plan(REFERENCE, profile="teach"), {"x": 3.0, "y": -4.0})
    page = handout.render(taught, "html")
    assert re.search(r'dden</span>\s*=.*<span class="comment gradient"># \(7\) dden becomes '
                     r'-0.791593</span>', page) or \
        '<span class="comment gradient"># (7) dden becomes -0.791593</span>' in page
    assert '<span class="comment value"># (2) num becomes 3.01799</span>' in page
    assert "pre.code .comment.value { color: var(--value); }" in page
    assert "pre.code .comment.gradient { color: var(--gradient); }" in page
    assert f"--value: {diagram.VALUE_COLOUR}; --gradient: {diagram.GRADIENT_COLOUR}" in page


# -- PDF ---------------------------------------------------------------------------------

def pdf_pages(path) -> list[list[tuple[float, str]]]:
    """Each page's text runs, (height on the page, text), top first."""
    import pypdf
    pages = []
    for page in pypdf.PdfReader(io.BytesIO(path.read_bytes())).pages:
        runs = []

        def visit(text, cm, tm, font, size, runs=runs):
            if text.strip():
                runs.append((cm[3] * tm[5] + cm[5], text.strip()))
        page.extract_text(visitor_text=visit)
        pages.append(sorted(runs, key=lambda run: -run[0]))
    return pages


def squeezed(runs) -> str:
    return "".join("".join(text.split()) for _, text in runs)


def pages_holding(pages, needles) -> set[int]:
    return {i for i, runs in enumerate(pages) for needle in needles
            if "".join(needle.split()) in squeezed(runs)}


@needs_pdf
def test_the_staged_handout_prints_on_a4_with_each_table_on_one_page(tmp_path):
    import pypdf
    target = tmp_path / "staged.pdf"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "-o", str(target))
    reader = pypdf.PdfReader(str(target))
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
    pages = pdf_pages(target)
    assert 3 <= len(pages) <= 5
    # the tables and the circuit come before the code, which starts a page of its own
    (code_page,) = pages_holding(pages, ["The generated code"])
    code = pages[code_page:]
    # as the README says: four pages, the code whole on the third, the patterns on the fourth
    assert len(pages) == 4 and code_page == 2
    assert pages_holding(pages, ["Patterns in this circuit"]) == {3}
    for needle in ("# Generated by flatgrad", "return f, (dx, dy)"):   # its first and last
        assert pages_holding(pages, [needle]) == {2}
    pages = pages[:code_page]
    plan = build_plan(REFERENCE, profile="teach")
    forward = [f"{line.target} = {line.text.split(' = ', 1)[1]}" for line in plan.forward]
    backward = [line.text for line in plan.backward_lines]
    assert len(pages_holding(pages, forward + ["Forward pass"])) == 1
    assert len(pages_holding(pages, backward + ["Backward pass"])) == 1
    assert len(pages_holding(pages, ["The circuit", "invden 0.512", "each wire carries"])) == 1
    for runs in pages + code:      # no heading is the last thing on a page
        assert runs[-1][1] not in HEADINGS
    assert MARK in target.read_bytes()[-4096:]


@needs_pdf
def test_a_worksheet_pdf_takes_at_most_three_pages_and_letter_is_letter(tmp_path):
    import pypdf
    target = tmp_path / "sheet.pdf"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--exercise", "--seed", "2",
            "--paper", "Letter", "-o", str(target))
    reader = pypdf.PdfReader(str(target))
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [612, 792]
    # the tables on two pages; the circuit, kept whole, on the third where it does not
    # fit below the backward table
    assert len(reader.pages) <= 3
    pages = pdf_pages(target)
    assert sum("The circuit" in "".join(text for _, text in runs) for runs in pages) == 1
    for runs in pages:
        assert runs[-1][1] not in HEADINGS
    key = tmp_path / "sheet-key.pdf"
    assert len(pypdf.PdfReader(str(key)).pages) == 1


@needs_pdf
def test_a_pdf_is_replaced_only_if_flatgrad_wrote_it(tmp_path):
    target = tmp_path / "staged.pdf"
    run_cli("handout", "x*y", "--at", "x=1,y=2", "-o", str(target))
    run_cli("handout", "x*y", "--at", "x=1,y=3", "-o", str(target))     # its own: replaced
    own = tmp_path / "mine.pdf"
    own.write_bytes(b"%PDF-1.4\n% a user's own document\n%%EOF\n")
    done = run_cli("handout", "x*y", "--at", "x=1,y=2", "-o", str(own), check=False)
    assert done.returncode == 2 and "not generated by flatgrad" in done.stderr
    assert own.read_bytes().startswith(b"%PDF-1.4\n% a user's")


def test_without_chromium_a_pdf_is_a_clear_error_and_nothing_is_written(tmp_path):
    python_only = tmp_path / "bin"
    python_only.mkdir()
    env = dict(os.environ, PATH=str(python_only))
    target = tmp_path / "staged.pdf"
    done = run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "-o", str(target), env=env,
                   check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "chromium" in done.stderr and "apt-get install chromium" in done.stderr
    assert not target.exists() and list(tmp_path.iterdir()) == [python_only]


def test_pdf_mark_keeps_every_offset():
    document = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\nxref\n0 1\ntrailer\n<<>>\nstartxref\n9\n%%EOF\n"
    marked = pdf.mark(document)
    assert marked.index(b"1 0 obj") == document.index(b"1 0 obj")
    assert marked.index(b"xref") == document.index(b"xref")
    assert marked.endswith(b"%" + MARK + b"\nstartxref\n9\n%%EOF\n")
    with pytest.raises(ValueError):
        pdf.mark(b"<html>")


# -- variants ----------------------------------------------------------------------------

def test_variants_are_worksheets_at_different_nice_points_with_one_key(tmp_path):
    target = tmp_path / "sheet.html"
    run_cli("handout", "log(x) * y + σ(x*y)", "--variants", "4", "--seed", "1", "-o",
            str(target))
    sheets = [tmp_path / f"sheet-{k}.html" for k in range(1, 5)]
    assert all(path.exists() for path in sheets) and not target.exists()
    points = [re.sub(r"<[^>]+>", "", re.search(r"evaluated at (.*?)</p>",
                                                path.read_text()).group(1))
              for path in sheets]
    assert len(set(points)) == 4
    for text in points:
        values = dict(part.split(" = ") for part in text.split(", "))
        numbers = [float(v) for v in values.values()]
        assert all(n != 0 and (2 * n).is_integer() and abs(n) <= 4 for n in numbers)
        assert float(values["x"]) > 0            # inside log's domain
    key = (tmp_path / "sheet-key.html").read_text()
    assert [f"Answer key, variant {k}" in key for k in range(1, 5)] == [True] * 4
    for text in points:
        assert f"at {text}" in re.sub(r"</?span[^>]*>", "", key)
    # the same seed, the same variants
    again = tmp_path / "again.html"
    run_cli("handout", "log(x) * y + σ(x*y)", "--variants", "4", "--seed", "1", "-o",
            str(again))
    assert (tmp_path / "again-3.html").read_text() == sheets[2].read_text()
    done = run_cli("handout", "x*y", "--variants", "2", "--at", "x=1,y=2", "-o",
                   str(target), check=False)
    assert done.returncode == 2 and "leave out --at" in done.stderr


def test_variant_worksheets_carry_fill_in_circuits(tmp_path):
    if not diagram.available():
        pytest.skip("Graphviz is not installed")
    target = tmp_path / "sheet.html"
    run_cli("handout", NEURON, "--variants", "2", "-o", str(target))
    page = (tmp_path / "sheet-1.html").read_text()
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert diagram.GRADIENT_COLOUR not in svg
    assert svg.count('<polygon fill="none" stroke="#444444"') >= 8    # a box on each wire


# -- booklets ----------------------------------------------------------------------------

LESSONS = """\
(x+σ(y))/(σ(x)+(x+y)²)   # at x=3, y=-4
x * y + z

# the neuron of the notes
dot = w0*x0 + w1*x1 + w2
f = σ(dot)
# at w0=2, x0=-1, w1=-3, x1=-2, w2=-3
"""


def test_a_lessons_file_becomes_a_booklet_with_contents(tmp_path):
    lessons = tmp_path / "lessons.txt"
    lessons.write_text(LESSONS)
    target = tmp_path / "booklet.html"
    run_cli("handout", "-f", str(lessons), "--at", "x=1,y=2,z=3", "-o", str(target))
    page = target.read_text()
    contents = re.findall(r'<li><a href="#(lesson-\d-main)">(.*?)</a></li>', page)
    assert [anchor for anchor, _ in contents] == ["lesson-1-main", "lesson-2-main",
                                                  "lesson-3-main"]
    for anchor, title in contents:
        assert f'<main id="{anchor}">' in page
    assert html.unescape(contents[2][1]).startswith("dot = w0 × x0")
    text = page_text(page).replace(" , ", ", ")     # each name = value is a span
    assert "evaluated at x = 3, y = -4" in text                       # its own point
    assert "evaluated at x = 1, y = 2, z = 3" in text                 # --at
    assert "evaluated at w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3" in text
    assert "f = 1.54564" in text and "df/dw0 = -0.196612" in text
    assert "main + main { break-before: page; }" in page


def test_a_booklet_formula_that_is_wrong_names_itself_and_writes_nothing(tmp_path):
    lessons = tmp_path / "lessons.txt"
    lessons.write_text("x * y\nsigmod(x)\n")
    target = tmp_path / "booklet.html"
    done = run_cli("handout", "-f", str(lessons), "-o", str(target), check=False)
    assert done.returncode == 2 and "in formula 2 of the booklet" in done.stderr
    assert "did you mean 'sigmoid'" in done.stderr and "Traceback" not in done.stderr
    assert not target.exists()


def test_a_file_of_one_program_is_one_handout(tmp_path):
    program = tmp_path / "neuron.txt"
    program.write_text("dot = w0*x0 + w1*x1 + w2\nf = σ(dot)\n")
    done = run_cli("handout", "-f", str(program), "--at", NEURON_POINT)
    assert "Contents" not in done.stdout and "df/dw0 = -0.196612" in page_text(done.stdout)


def test_digits_reach_the_arrays_summed_up_by_their_mean():
    import numpy as np
    plan = build_plan("sum(W @ x)", shapes={"W": (5, 4), "x": (4,)})
    point = {"W": np.arange(20.0).reshape(5, 4) / 7, "x": np.array([1.0, -2.0, 0.5, 3.0])}
    page = handout.render(lesson.build(plan, point), "html", page=handout.Page(digits=3))
    means = re.findall(r"mean (-?[\d.]+)", page)
    assert means and all(len(m.replace("-", "").replace(".", "").lstrip("0")) <= 3
                         for m in means)
    assert f"mean {handout.number_text(np.mean(point['W']), 3)}" in page


def test_a_one_line_staged_program_is_a_lesson_of_its_own(tmp_path):
    # the first line's `q = ...` made the whole file one program ("this line has no effect")
    lessons = tmp_path / "lessons.txt"
    lessons.write_text("q = x + y; f = q * z   # at x=-2, y=5, z=-4\nx*y + z\nσ(a)*b\n")
    assert lessons_in(lessons.read_text()) == [
        "q = x + y; f = q * z   # at x=-2, y=5, z=-4", "x*y + z", "σ(a)*b"]
    target = tmp_path / "booklet.html"
    run_cli("handout", "-f", str(lessons), "-o", str(target))
    page = target.read_text()
    contents = re.findall(r'<li><a href="#lesson-\d-main">(.*?)</a></li>', page)
    assert [html.unescape(title) for title in contents] == [
        "q = x + y; f(x, y, z) = q × z", "f(x, y, z) = x × y + z", "f(a, b) = σ(a) × b"]
    assert "3 formulas, each starting on a new page" in page and "one to a page" not in page
    assert "evaluated at x = -2, y = 5, z = -4" in page_text(page).replace(" , ", ", ")
    # a program of several lines keeps its block
    assert lessons_in("q = x + y\nf = q * z\n") == ["q = x + y\nf = q * z"]


def test_a_file_misread_as_one_program_names_the_booklet_format(tmp_path):
    lessons = tmp_path / "lessons.txt"
    lessons.write_text("q = x + y\nx*y + z\nσ(a)*b\n")
    done = run_cli("handout", "-f", str(lessons), "-o", str(tmp_path / "b.html"), check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "this line has no effect" in done.stderr
    assert "hint: this file was read as one program of several lines. For a booklet, put " \
        "one formula on each line" in done.stderr
    assert "blank lines separate programs of several lines" in done.stderr
    assert not (tmp_path / "b.html").exists()


# -- layout measured in Chromium (print: the A4 text width, 182 mm = 688 px) -----------

NET_FILE = os.path.join(os.path.dirname(__file__), "..", "examples", "two_layer_net.txt")
A4_TEXT_PX = 688


@pytest.fixture(scope="module")
def chromium_page():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    from teaching_support import CHROMIUM
    if CHROMIUM is None or not diagram.available():
        pytest.skip("needs Chromium and Graphviz")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM,
                                         args=["--no-sandbox", "--disable-gpu"])

        def open_page(path, width, media="screen", height=900):
            page = browser.new_page(viewport={"width": width, "height": height})
            page.emulate_media(media=media)
            page.goto(path.as_uri())
            return page
        yield open_page
        browser.close()


# Every box of the page that sticks out past the right edge of the page (or the window).
STICKING_OUT = """() => {
  const right = document.documentElement.clientWidth;
  return [...document.querySelectorAll('main *')].filter(el => {
    if (el.closest('pre.code') || el.closest('svg')) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > right + 1;
  }).map(el => el.tagName + ' ' + el.textContent.slice(0, 30));
}"""

# Where a line of code in a table cell breaks: the characters either side of each break.
CODE_BREAKS = """() => {
  const breaks = [];
  for (const code of document.querySelectorAll('td code')) {
    const text = [...code.childNodes].filter(n => n.nodeType === 3);
    let top = null, before = '';
    for (const node of text) for (let i = 0; i < node.length; i++) {
      const range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (box.width === 0) continue;
      if (top !== null && box.top > top + 2) breaks.push(before + '|' + node.data[i]);
      top = box.top; before = node.data[i];
    }
  }
  return breaks;
}"""


@needs_pdf
def test_the_net_handout_fits_the_paper_and_a_1000px_window(tmp_path, chromium_page):
    target = tmp_path / "net.html"
    run_cli("handout", "-f", NET_FILE, "--at", "random", "--seed", "0", "-o", str(target))
    printed = chromium_page(target, A4_TEXT_PX, "print")
    assert printed.evaluate(STICKING_OUT) == []
    # the long formula wraps at a + (a math element per term), nothing scrolls
    formula = printed.locator("p.formula")
    assert formula.evaluate("el => getComputedStyle(el).overflowX") == "visible"
    assert formula.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert printed.locator("p.formula math.continued").count() >= 1
    # each name = value of the point stays on one line
    pairs = printed.locator("p.point .whole")
    assert pairs.count() == 7     # W1, X, b1, W2, b2, y, reg
    assert pairs.evaluate_all("els => els.map(el => el.getClientRects().length)") == [1] * 7
    # code in the tables breaks after a space or a parenthesis, never inside a name
    breaks = printed.evaluate(CODE_BREAKS)
    assert breaks and not [b for b in breaks if re.fullmatch(r"[\w.]\|[\w.]", b)], breaks
    screen = chromium_page(target, 1000)
    assert screen.evaluate(STICKING_OUT) == []


@needs_pdf
def test_an_exponent_sits_on_its_group_and_a_fraction_in_a_cell_stays_whole(tmp_path,
                                                                              chromium_page):
    target = tmp_path / "staged.html"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "-o", str(target))
    for media in ("screen", "print"):
        page = chromium_page(target, A4_TEXT_PX, media)
        # (x + y)²: the 2 is below the fraction bar, by the closing parenthesis
        bar = page.evaluate("""() => document.querySelector('p.formula mfrac > :first-child')
                                 .getBoundingClientRect().bottom""")
        exponent = page.locator("p.formula msup").last
        assert exponent.evaluate("el => el.firstElementChild.textContent") == ")"
        assert exponent.evaluate("el => el.lastElementChild.getBoundingClientRect().top") > bar
        # −1/den² in row (7): den under −1, the 2 beside den, all on one line
        fraction = page.locator("table.backward mfrac").first
        top, bottom = fraction.evaluate("""el => [...el.children].map(
            child => child.getBoundingClientRect())""")
        assert bottom["top"] >= top["bottom"] - 1
        assert fraction.evaluate("el => el.closest('math').getClientRects().length") == 1
        assert fraction.evaluate("""el => { const sup = el.querySelector('msup');
            const [base, two] = [...sup.children].map(c => c.getBoundingClientRect());
            return two.left >= base.right - 1 && two.top < base.bottom; }""")


def test_a_subscripted_name_squared_is_one_script_pair():
    from flatgrad.teach.typeset import typeset
    assert typeset("W1**2") == ('<math display="inline"><msubsup><mi>W</mi><mn>1</mn>'
                                '<mn>2</mn></msubsup></math>')
    assert typeset("W2.T") == ('<math display="inline"><msubsup><mi>W</mi><mn>2</mn>'
                               '<mi mathvariant="normal">T</mi></msubsup></math>')


@needs_pdf
@pytest.mark.parametrize("formula, point, options", [
    (REFERENCE, REFERENCE_POINT, ["--paper", "Letter"]),
    (NEURON, NEURON_POINT, ["--gates", "primitive"])])
def test_a_function_is_printed_on_one_page(tmp_path, formula, point, options):
    target = tmp_path / "h.pdf"
    run_cli("handout", formula, "--at", point, *options, "-o", str(target))
    pages = pdf_pages(target)
    (start,) = pages_holding(pages, ["def f_and_grad("])
    (end,) = pages_holding(pages, ["return f, (d"])
    assert start == end


@needs_pdf
@pytest.mark.parametrize("formula, point, options", [
    (REFERENCE, REFERENCE_POINT, []),
    (REFERENCE, REFERENCE_POINT, ["--exercise"]),
    (NEURON, NEURON_POINT, ["--gates", "primitive"])])
def test_the_whole_circuit_is_seen_at_any_window_width(tmp_path, chromium_page, formula, point,
                                                       options):
    target = tmp_path / "h.html"
    run_cli("handout", formula, "--at", point, *options, "-o", str(target))
    pages = [target] + ([tmp_path / "h-key.html"] if options == ["--exercise"] else [])
    for path in pages:
        for width in (1000, 640):
            page = chromium_page(path, width)
            for box in page.locator("figure svg").evaluate_all(
                    "els => els.map(el => el.getBoundingClientRect().toJSON())"):
                assert box["left"] >= 0 and box["right"] <= width, (path.name, width, box)


def pdf_text_sizes(path, number: int) -> list[tuple[float, str]]:
    """Page `number`'s text runs with the size they print at, in points."""
    import pypdf
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            runs.append((size * abs(cm[3] * tm[3]), text.strip()))
    pypdf.PdfReader(str(path)).pages[number].extract_text(visitor_text=visit)
    return runs


@needs_pdf
def test_a_wide_circuit_prints_legibly_on_a_landscape_page_of_its_own(tmp_path):
    import pypdf
    target = tmp_path / "net.pdf"
    run_cli("handout", "-f", NET_FILE, "--at", "random", "--seed", "0", "-o", str(target))
    pages = pdf_pages(target)
    (circuit,) = pages_holding(pages, ["each wire carries"])
    sizes = [float(v) for v in pypdf.PdfReader(str(target)).pages[circuit].mediabox[2:]]
    assert sizes[0] > sizes[1]                    # landscape
    assert {i for i, page in enumerate(pypdf.PdfReader(str(target)).pages)
            if float(page.mediabox[2]) > float(page.mediabox[3])} == {circuit}
    labels = pdf_text_sizes(target, circuit)
    assert len(labels) > 30 and min(size for size, _ in labels) >= 7, labels
    # the final gradients stay with the end of the backward table, before the circuit
    (results,) = pages_holding(pages, ["dloss/dreg ="])
    last_row = min(pages_holding(pages, ["dX = W1.T @ dW1X"]))    # then in the code
    assert results == last_row < circuit


@needs_pdf
def test_a_worksheets_boxes_are_big_enough_to_write_in(tmp_path, chromium_page):
    import pypdf
    target = tmp_path / "sheet.pdf"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--exercise", "-o", str(target))
    pages = pdf_pages(target)
    (circuit,) = pages_holding(pages, ["each wire carries"])
    width, height = (float(v) for v in pypdf.PdfReader(str(target)).pages[circuit].mediabox[2:])
    assert width > height
    # the page as printed: the landscape A4 text width, 269 mm, in CSS px
    page_html = tmp_path / "sheet.html"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--exercise", "-o", str(page_html))
    printed = chromium_page(page_html, round((297 - 28) / 25.4 * 96), "print")
    boxes = printed.locator("figure svg polygon[fill='none'][stroke='#444444']").evaluate_all(
        "els => els.map(el => el.getBoundingClientRect().toJSON())")
    assert len(boxes) >= 10
    millimetres = [(box["width"] * 25.4 / 96, box["height"] * 25.4 / 96) for box in boxes]
    assert min(w for w, _ in millimetres) >= 18 and min(h for _, h in millimetres) >= 6, \
        millimetres


@needs_pdf
def test_a_blanked_local_gradient_has_one_blank_big_enough_to_write_in(tmp_path,
                                                                        chromium_page):
    target = tmp_path / "sheetl.html"
    run_cli("handout", REFERENCE, "--at", REFERENCE_POINT, "--exercise", "--blank", "local",
            "-o", str(target))
    page = target.read_text()
    assert "___" not in page_text(page)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.split("Backward pass")[1].split("</table>")[0])
    blanked = [row for row in rows if "blank" in row]
    assert blanked
    for row in blanked:       # the one blank is in the line; the local-gradient cell is empty
        assert row.count('<span class="blank">') == 1
        assert re.search(r"<code>((?!</code>).)*<span class=\"blank\"></span>", row)
        assert "<td></td>" in row
    printed = chromium_page(target, A4_TEXT_PX, "print")
    sizes = printed.locator("table.backward .blank").evaluate_all(
        "els => els.map(el => [el.getBoundingClientRect().width, el.getClientRects().length])")
    assert len(sizes) == len(blanked)
    assert all(width * 25.4 / 96 >= 30 and lines == 1 for width, lines in sizes), sizes
    assert printed.evaluate(STICKING_OUT) == []
