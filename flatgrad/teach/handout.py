"""Handouts: a lesson typeset as a self-contained HTML page or as Markdown.

Everything on the page is prepared here from one `Lesson` (the staged graph's
plan evaluated at a point): formulas typeset as MathML (HTML) or LaTeX
(Markdown), the generated module highlighted, the circuit laid out by
Graphviz. The templates in `templates/` only loop and fill in.

Over arrays every table gains a shape column, a small array is shown whole (a
little matrix in HTML), a larger one by its shape and mean, and each backward
line carries its notes: why a gradient is summed back over broadcast axes, and
the dimension analysis behind the VJP of a product.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jinja2
import numpy as np
from markupsafe import Markup

from .. import __version__
from . import diagram
from .highlight import python_html
from .lesson import BackwardRow, Lesson, Statement
from ..core.plan import chain
from ..core.shapes import describe
from ..emit import emitter, format_value, formula, mean_of, template_dir
from .typeset import LATEX, MATHML, TEXT, equation, too_deep, typeset
from .worksheet import Worksheet

FORMATS = ("html", "markdown")
PAPERS = ("A4", "Letter")
# The printable width of each paper inside the page margins, in millimetres.
PRINT_WIDTH = {"A4": 210 - 2 * 14, "Letter": 215.9 - 2 * 14}
# The circuit's text is 12 pt (circuit.dot.j2); on paper it shrinks to the page's width.
# A circuit that would print its text smaller than MIN_CIRCUIT_POINTS (a worksheet's
# boxes narrower than MIN_BOX_SCALE of their size, too small to write in) prints on a
# landscape page of its own.
CIRCUIT_POINTS = 12
MIN_CIRCUIT_POINTS = 7
MIN_BOX_SCALE = 0.85
BLANK = "___"
TITLE_LENGTH = 160
# The circuit's wires show this many digits unless --digits says otherwise (a wire has
# less room than a table cell).
WIRE_DIGITS = 3
TABLE_DIGITS = 6
# The advance of a DejaVu Sans Mono character, in ems: code is printed small enough that
# its longest line fits the page, never wrapped.
MONO_ADVANCE = 0.602
CODE_PRINT_POINTS = 8.5
# The local gradient and upstream gradient of a line are shown whole up to this many
# entries (each is a value the page shows whole elsewhere).
STEP_ENTRIES = 4
# A VJP longer than this (as text) is shown as code, which wraps, not as math.
LONG_VJP = 32
# An array of at most this many entries (and at most two axes) is shown whole.
MATRIX_ENTRIES = 12


@dataclass(frozen=True)
class Page:
    """How a handout is printed: its own title (else one made from the program), the
    significant digits of every number in its tables and circuit (else 6 in the tables
    and 3 on the wires), and the paper."""
    title: str | None = None
    digits: int | None = None
    paper: str = "A4"


@lru_cache(maxsize=None)
def _environment() -> jinja2.Environment:
    # HTML templates escape whatever they fill in; typeset math, the highlighted
    # code and the SVG arrive already marked safe.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())),
                              autoescape=jinja2.select_autoescape(["html.j2"]),
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)


def render(lesson: Lesson, fmt: str = "html", worksheet: Worksheet | None = None,
           diagram_image: str | None = None, page: Page = Page(),
           forward_mode: dict | None = None) -> str:
    """The handout (or, given a worksheet, the worksheet) as HTML or Markdown.

    Markdown cannot hold an SVG inline everywhere, so it links `diagram_image`
    when given (the caller writes that file) and shows the DOT text otherwise.
    """
    context = _context(lesson, fmt, worksheet, page=page)
    context["diagram_image"] = diagram_image
    # the forward-mode section (teach/forward_mode.py), its circuit drawn here
    context["forward_mode"] = forward_mode and {
        **forward_mode, "diagram_svg": Markup(diagram.inline_svg(forward_mode["dot_text"]))
        if forward_mode["dot_text"] and fmt == "html" and diagram.available() else None}
    return _environment().get_template(_template("handout", fmt)).render(context)


def render_booklet(lessons: list[Lesson], page: Page = Page()) -> str:
    """One HTML page per lesson, each starting on a new sheet, after a table of contents."""
    main = _environment().get_template("handout_main.html.j2")
    pages = []
    for number, taught in enumerate(lessons, 1):
        context = _context(taught, "html", None, page=Page(None, page.digits, page.paper))
        context["anchor"] = f"lesson-{number}-"
        pages.append({"anchor": context["anchor"] + "main", "title": context["title"],
                      "main": Markup(main.render(context))})
    context = _context(lessons[0], "html", None, draw=False, page=page)
    context.update(pages=pages, heading=page.title or "Backpropagation, staged: a booklet",
                   code_print_size=max(_code_print_size(p, page.paper) for p in lessons))
    return _environment().get_template("booklet.html.j2").render(context)


def circuit_dot(lesson: Lesson, worksheet: Worksheet | None = None,
                digits: int | None = None, gradients: bool | None = None) -> str:
    """The circuit as the page shows it: a worksheet's wires carry empty boxes for
    the gradients (the numbers would give the answers away), and, when it blanks the
    values, for the values the forward table blanks (the inputs' and the other stages'
    values stay, as the page prints them); an answer key's carry everything."""
    hide_gradients = worksheet is not None if gradients is None else not gradients
    text = diagram.dot_source(lesson.plan, lesson.point, digits or WIRE_DIGITS,
                              gradients=not hide_gradients,
                              boxes=worksheet is not None and hide_gradients)
    if hide_gradients and worksheet is not None and worksheet.hides_values:
        for row in lesson.forward:
            if row.blank:
                text = _value_boxed(text, row.name)
    return text


def _value_boxed(dot_text: str, name: str) -> str:
    """The circuit with the value on the wire of stage `name` replaced by a box."""
    value_row = (rf'(<font color="{diagram.NAME_COLOUR}">{re.escape(name)}(?: [^<]*)?'
                 rf'</font></td></tr>)<tr><td><font color="{diagram.VALUE_COLOUR}">[^<]*'
                 rf'</font></td></tr>')
    return re.sub(value_row, lambda match: match.group(1) + diagram.BOX_CELL, dot_text)


def render_key(worksheet: Worksheet | list[Worksheet], fmt: str = "html",
               page: Page = Page()) -> str:
    """The answer key: for each worksheet (variant), every blanked row with its answer,
    and the circuit with every value and gradient."""
    sheets = worksheet if isinstance(worksheet, list) else [worksheet]
    variants = []
    for sheet in sheets:
        context = _context(sheet.lesson, fmt, sheet, page=page, key=True)
        variants.append(context)
    context = dict(variants[0], variants=variants)
    return _environment().get_template(_template("key", fmt)).render(context)


def _template(stem: str, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown handout format {fmt!r}; choose one of {FORMATS}")
    return f"{stem}.html.j2" if fmt == "html" else f"{stem}.md.j2"


def _context(lesson: Lesson, fmt: str, worksheet: Worksheet | None, draw: bool = True,
             page: Page = Page(), key: bool = False) -> dict:
    plan = lesson.plan
    html = fmt == "html"
    blank = worksheet.blank if worksheet else ""
    digits = page.digits or TABLE_DIGITS

    def shown(value, entries=MATRIX_ENTRIES):
        return _shown(value, html, entries, page.digits)

    forward = _forward_rows(lesson, html, shown)
    backward = _backward_rows(lesson, blank, MATHML if html else LATEX, html, shown)
    output_name, output_value = lesson.output
    (output_row,) = [row for row in lesson.forward if row.name == output_name]
    drawn = draw and diagram.legible(plan)
    dot_text = circuit_dot(lesson, worksheet, page.digits, gradients=key or None) \
        if drawn else None
    svg = Markup(diagram.inline_svg(dot_text)) if drawn and html and diagram.available() \
        else None
    return {
        "header": f"Generated by flatgrad {__version__} from: "
                  f"{formula(plan).replace('--', '- -')}",
        "heading": page.title or ("Worksheet: backpropagation by hand" if worksheet
                                  else "Backpropagation, staged"),
        "title": _title(lesson),
        "page_title": page.title or ("Worksheet: " if worksheet else "") + _title(lesson),
        "anchor": "",
        "paper": page.paper,
        "digits": digits,
        "code_print_size": _code_print_size(lesson, page.paper),
        "worksheet": worksheet is not None,
        "hides_values": worksheet is not None and worksheet.hides_values,
        # a sheet of --variants is "variant 2"; a single sheet names the seed of its blanks
        "variant": (f"variant {worksheet.variant}" if worksheet.variant
                    else f"seed {worksheet.seed}") if worksheet else None,
        "equations": [_equation(statement, html) for statement in lesson.statements],
        "point": _point(lesson, html, shown),
        "arrays": lesson.arrays,
        # A worksheet shows no upstream or local-gradient numbers: each would give
        # a blank away (dsigx = 1 * dden prints dden's value); a symbolic one
        # shows no results either.
        "step_numbers": worksheet is None,
        "backward_numbers": blank not in ("lines", "local"),
        # a blanked local gradient is written in its line, not a second time beside it
        "local_in_code": blank == "local",
        "forward": forward,
        "backward": backward,
        "key_forward": [shown for shown, row in zip(forward, lesson.forward) if row.blank],
        "key_backward": [shown for shown, row in zip(backward, lesson.backward) if row.blank],
        "output_name": output_name,
        "output_value": None if output_row.blank else shown(output_value),
        "output_answer": shown(output_value),
        "gradients": [{"text": f"d{output_name}/d{name}",
                       "value": None if worksheet else shown(value),
                       "answer": shown(value)}
                      for name, grad, value in lesson.gradients],
        "code": _code(plan, html) if worksheet is None else None,
        "code_blocks": code_blocks(_code(plan, html)) if worksheet is None and html else [],
        "diagram_svg": svg,
        "diagram_dot": dot_text,
        "circuit_landscape": svg is not None and _landscape(
            svg, page.paper, boxes=worksheet is not None and not key),
        "gate_count": len(plan.graph.stages),
        # a worksheet states the rules but not where they apply: "x² has local
        # gradient 2x (here: xpysqr)" would fill in a blank
        "patterns": [{"notes": p.notes, "stages": "" if worksheet else ", ".join(p.stages)}
                     for p in lesson.patterns],
        "value_colour": diagram.VALUE_COLOUR,
        "gradient_colour": diagram.GRADIENT_COLOUR,
        "tangent_colour": diagram.TANGENT_COLOUR,
        "forward_mode": None,
    }


def _forward_rows(lesson: Lesson, html: bool, shown) -> list[dict]:
    cell = html and lesson.arrays   # a narrow cell of a table of arrays
    return [{"ref": row.ref, "code": breakable(f"{row.name} = {row.code}", cell),
             "gate": row.gate,
             "shape": _shape(row.shape, html),
             "value": None if row.blank else shown(row.value),
             "key_value": shown(row.value)} for row in lesson.forward]


def _backward_rows(lesson: Lesson, blank: str, backend, html: bool, shown) -> list[dict]:
    """Each backward line's cells; None marks a blank for the student to fill."""
    rows = []
    cell = html and lesson.arrays   # a narrow cell of a table of arrays
    for row in lesson.backward:
        local = _local(row, backend, html)
        code = row.code
        if row.blank and blank == "local":
            code = _without_local(row, lesson.plan.profile)
            if html:   # the one place to write the local gradient, a box big enough
                code = Markup('<span class="blank"></span>').join(
                    breakable(part, cell) for part in code.split(BLANK))
        notes = [note for note in (row.why, row.dimensions) if note]
        rows.append({
            "ref": row.ref, "target": row.target, "accumulate": row.accumulate,
            "reason": row.reason, "text": row.text, "vjp": row.vjp,
            "shape": _shape(row.shape, html) + (
                f", broadcasts to {_shape(row.full_shape, html)}"
                if row.shape != row.full_shape else ""),
            # how the line is worked out would give a blanked line away
            "notes": [] if row.blank and blank in ("lines", "local") else notes,
            "key_notes": notes,
            "rhs": None if row.blank and blank == "lines" else breakable(code, cell),
            "local": None if row.blank and blank in ("lines", "local") or not local else local,
            # a constant local gradient (1) needs no "= 1" after it
            # the steps' numbers: an array of more than STEP_ENTRIES entries is the
            # value of a row shown whole elsewhere, so here it is summed up
            "local_value": None if row.local_value is None or
            format_value(row.local_value) == row.local
            else shown(row.local_value, STEP_ENTRIES),
            "upstream": row.upstream or ("1" if row.local else ""),
            "upstream_value": shown(row.upstream_value, STEP_ENTRIES)
            if row.upstream else None,
            "value": None if row.blank else shown(row.value),
            "key_local": local,
            "key_value": shown(row.value)})
    return rows


def _local(row: BackwardRow, backend, html: bool) -> str:
    """The local gradient typeset; a long VJP (math does not wrap) as its code."""
    if not row.local:
        return ""
    if row.vjp and len(typeset(row.local, TEXT)) > LONG_VJP:
        return Markup("<code>{}</code>").format(breakable(row.local, html)) if html \
            else f"`{row.local}`"
    return _math(typeset(row.local, backend), html)


def _without_local(row: BackwardRow, profile: str) -> str:
    """The line's right-hand side with its local gradient (or its VJP) blanked, the
    rest kept: a sum back over broadcast axes stays, np.sum((___) * dup, axis=1)."""
    if row.vjp:
        given, blanked = row.local, BLANK
    else:
        given, blanked = chain(row.local, row.upstream, profile), \
            chain(BLANK, row.upstream, profile)
    if given in row.code:
        return row.code.replace(given, blanked, 1)
    return BLANK if row.vjp else chain(BLANK, row.upstream, profile)


def breakable(code: str, html: bool):
    """A line of code that a narrow table cell may break after an opening parenthesis as
    well as at its spaces, never inside a name: softmax_loss_grad( / scores, y)."""
    if isinstance(code, Markup) or not html:
        return code
    return Markup("(<wbr>").join(Markup.escape(part) for part in code.split("("))


def _shape(shape: tuple, html: bool) -> str:
    """[3 x 4]; in HTML a shape breaks across lines only between shapes."""
    text = describe(shape)
    return text.replace(" x ", "\u00a0x\u00a0") if html else text


def number_text(value, digits: int = TABLE_DIGITS) -> str:
    """A number to `digits` significant digits, as every table shows it (as the wires
    do: trailing zeros kept where the number was rounded); -0.0 is 0."""
    return diagram.significant(value, digits)


def value_text(value, digits: int | None = None) -> str:
    """A value as the tables print it, as plain text (what a worksheet must not show
    twice)."""
    return str(_shown(value, False, MATRIX_ENTRIES, digits))


def _shown(value, html: bool, entries: int = MATRIX_ENTRIES, digits: int | None = None):
    """A value as the page shows it: a number to 6 digits (or `digits`); an array of
    at most `entries` entries whole, to 4 digits (or `digits`; in HTML a small matrix,
    a vector as one row); a larger array as its shape and mean."""
    if np.ndim(value) == 0:
        return number_text(value, digits or TABLE_DIGITS)
    if np.ndim(value) > 2 or np.size(value) > entries:
        text = format_value(value) if digits is None else \
            f"{describe(np.shape(value))}, mean {number_text(mean_of(value), digits)}"
        if not html:
            return text
        # "[3 x 5], mean 0.25" breaks after the comma, if anywhere
        shape, comma, rest = text.partition(", ")
        return Markup('<span class="whole">{}</span> <span class="whole">{}</span>').format(
            shape + comma.strip(), rest)
    rows = np.atleast_2d(np.asarray(value, dtype=float))   # a relu mask as 0 and 1
    entries = [[_entry(v, digits or 4) for v in row] for row in rows]
    if not html:
        inner = [", ".join(row) for row in entries]
        return f"[{inner[0]}]" if np.ndim(value) == 1 else \
            "[" + ", ".join(f"[{row}]" for row in inner) + "]"
    cells = Markup("").join(Markup("<span>{}</span>").format(entry)
                            for row in entries for entry in row)
    return Markup('<span class="matrix" style="grid-template-columns: repeat({}, auto)">'
                  '{}</span>').format(len(entries[0]), cells)


def _entry(number: float, digits: int) -> str:
    return number_text(number, digits)


def _point(lesson: Lesson, html: bool, shown):
    """The point, each input's value shown as the tables show values."""
    if not html:
        return ", ".join(f"{name} = {shown(value)}" for name, value in lesson.point.items())
    # a name and its value stay on one line: the line breaks only after a comma
    return Markup(", ").join(Markup('<span class="whole">{} = {}</span>').format(name,
                                                                             shown(value))
                             for name, value in lesson.point.items())


def _equation(statement: Statement, html: bool) -> str:
    if too_deep(statement.tree):
        code = f"{statement.lhs} = {statement.text}"
        return Markup("<code>{}</code>").format(code) if html else f"`{code}`"
    return _math(equation(statement.lhs, statement.tree, MATHML if html else LATEX), html)


def _title(lesson: Lesson) -> str:
    """The whole program, its stages and then the function: q = x + y; f(x, y, z) = q × z."""
    parts = [f"{statement.lhs} = " + (statement.text if too_deep(statement.tree)
                                      else typeset(statement.tree, TEXT))
             for statement in lesson.statements]
    text = "; ".join(parts)
    if len(text) > TITLE_LENGTH:
        text = text[:TITLE_LENGTH - 1] + "…"
    return text


def _math(text: str, html: bool) -> str:
    return Markup(text) if html else f"${text}$"


def _code(plan, html: bool) -> str:
    source = emitter(plan.spelling).emit(
        plan, with_values=True).source
    if not html:
        return source
    # a line's comment ("dden becomes -0.79") takes the colour of what the line computes:
    # green for a value, red for a gradient, as on the circuit's wires
    gradients = {node.grad for node in plan.graph.nodes if node.grad}
    values = {node.name for node in plan.graph.nodes if node.kind == "stage"}
    lines = python_html(source).split("\n")
    for number, line in enumerate(source.split("\n")):
        target = line.strip().split(" ", 1)[0]
        kind = "gradient" if target in gradients else "value" if target in values else ""
        if kind and number < len(lines):
            lines[number] = lines[number].replace('class="comment"', f'class="comment {kind}"')
    return Markup("\n".join(lines))


def _landscape(svg: str, paper: str, boxes: bool) -> bool:
    """Whether the circuit prints on a landscape page: shrunk to the width of a portrait
    page, its text would be smaller than MIN_CIRCUIT_POINTS, or its boxes too small."""
    width = re.search(r'<svg style="width: ([\d.]+)pt', svg)
    if width is None:
        return False
    scale = PRINT_WIDTH.get(paper, PRINT_WIDTH["A4"]) / 25.4 * 72 / float(width.group(1))
    least = MIN_BOX_SCALE if boxes else MIN_CIRCUIT_POINTS / CIRCUIT_POINTS
    return scale < least


def code_blocks(code: str) -> list[str]:
    """The module's code cut before each top-level function (the blank lines between them
    dropped): each block is printed whole, so a page never ends a function's last lines
    away from it. A function starts outside any string or tag, so each block's markup is
    whole."""
    blocks: list[list[str]] = [[]]
    for line in code.split("\n"):
        if re.match(r"(<[^>]*>)*(def|class|async|@)\b", line) and any(
                kept.strip() for kept in blocks[-1]):
            blocks.append([])
        blocks[-1].append(line)
    return [Markup("\n".join(block).strip("\n")) for block in blocks]


def _code_print_size(lesson: Lesson, paper: str) -> str:
    """The print size of the code, in points: small enough that its longest line
    fits the paper's width (code never wraps inside a line), at most CODE_PRINT_POINTS."""
    source = emitter(lesson.plan.spelling).emit(lesson.plan, with_values=True).source
    longest = max(len(line) for line in source.splitlines()) + 3   # and the block's padding
    fits = PRINT_WIDTH.get(paper, PRINT_WIDTH["A4"]) / 25.4 * 72 / (MONO_ADVANCE * longest)
    return f"{min(CODE_PRINT_POINTS, fits):.2f}pt"
