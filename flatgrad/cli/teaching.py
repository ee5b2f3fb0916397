"""The `handout` and `diagram` commands: their options, and the documents they write.

Every target is checked before anything is written, and each file is written
whole (atomic_write.write), so a refused or failed run leaves no half of a worksheet
behind. A worksheet's key goes beside it (`staged.html` -> `staged-key.html`);
a Markdown handout's circuit goes beside it as an SVG the page links to; a PDF
is the HTML page printed by headless Chromium. `--variants N` writes N worksheets
(NAME-1.html ...) at different nice points and one key; a file of several formulas
(`-f lessons.txt`) becomes a booklet, each formula's handout starting on a new page
after a table of contents.
"""
from __future__ import annotations

import sys
import re
from pathlib import Path

from .. import atomic_write, points
from ..api import Compiled
from ..errors import FlatgradError
from ..teach import diagram, forward_mode, handout, lesson, pdf, step, worksheet
from ..teach.nice_points import nice_points

HANDOUT_SUFFIXES = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown",
                    ".pdf": "pdf"}
# A lesson in a booklet may give its own point in a comment: `# at x=3, y=-4`.
_POINT_COMMENT = re.compile(r"#\s*at:?\s+(.+?)\s*$", re.M)
# A line that names a stage or declares a shape belongs to a program of several lines.
_PROGRAM_LINE = re.compile(r"^\s*[^\W\d]\w*\s*(=(?!=)|:)", re.M)


def add_handout_options(parser) -> None:
    parser.add_argument("--at", action="append",
                        help="the point the numbers are computed at, e.g. x=3,y=-4 "
                             "(or --at x=3 --at y=-4: one point)")
    parser.add_argument("-o", "--output", help="write to FILE (.html, .md or .pdf); default "
                                               "stdout")
    parser.add_argument("--format", choices=handout.FORMATS + ("pdf",),
                        help="html, markdown or pdf (default: from the -o suffix, else html)")
    parser.add_argument("--paper", choices=handout.PAPERS, default="A4",
                        help="the paper the page prints on (default A4)")
    parser.add_argument("--title", help="the page's heading (default: Backpropagation, "
                                        "staged; the program is the subtitle)")
    parser.add_argument("--digits", type=int,
                        help="significant digits of every number in the tables and on the "
                             "circuit (default: 6 in the tables, 3 on the wires)")
    parser.add_argument("--variants", type=int, metavar="N",
                        help="write N worksheets at different points with small whole or half "
                             "numbers (NAME-1.html ...) and one answer key for them all")
    parser.add_argument("--exercise", action="store_true",
                        help="write a worksheet with blanks, and its answer key beside it")
    parser.add_argument("--blank", choices=worksheet.BLANKS,
                        help="what the worksheet blanks: whole backward lines (default), "
                             "the local gradients, or the values")
    parser.add_argument("--blanks", type=int, metavar="N",
                        help="how many rows to blank (default: half of them)")
    parser.add_argument("--seed", type=int,
                        help="the seed of --at random, and of which rows a worksheet blanks: "
                             "each seed is another variant (default 0)")
    parser.add_argument("--key", help="write the answer key here (default: beside -o, "
                                      "as NAME-key.html)")
    parser.add_argument("--step", action="store_true",
                        help="write a page to step through with the space bar and arrow "
                             "keys: the forward pass stage by stage, then the backward pass "
                             "line by line (HTML)")
    parser.add_argument("--force", action="store_true",
                        help="replace output files flatgrad did not generate")
    parser.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                        help="forward adds forward mode: one tangent pass per input, the "
                             "circuit with tangents, the cost of each mode")


def add_diagram_options(parser) -> None:
    parser.add_argument("--at", action="append",
                        help="label the wires with values and gradients at this point, e.g. "
                             "x=3,y=-4, W=[[1,2],[3,4]] or random (or --at x=3 --at y=-4: "
                             "one point)")
    parser.add_argument("-o", "--output", help="write to FILE (.dot, .svg or .png); "
                                               "default: DOT on stdout")
    parser.add_argument("--format", choices=diagram.FORMATS,
                        help="dot, svg or png (default: from the -o suffix, else dot)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of --at random")
    parser.add_argument("--digits", type=int, default=3,
                        help="significant digits on the wires (default 3)")
    parser.add_argument("--dpi", type=int,
                        help="the resolution of a PNG in dots per inch (default 96; "
                             "300 for print)")
    parser.add_argument("--force", action="store_true",
                        help="replace an output file flatgrad did not generate")


def lessons_in(text: str) -> list[str]:
    """The formulas of a lessons file: blocks separated by blank lines; a block that
    starts by naming a stage on a line of its own (q = x + y) or declaring a shape is
    one program, any other block a formula a line. A line that holds a whole staged
    program joined by `;` (q = x + y; f = q * z) is a formula of its own."""
    formulas = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if line.strip()]
        code = [line for line in lines if not line.lstrip().startswith("#")]
        if not code:
            continue
        if _PROGRAM_LINE.match(code[0]) and ";" not in _without_comment(code[0]) \
                or len(code) == 1:
            formulas.append("\n".join(lines))
        else:
            formulas.extend(line for line in lines if not line.lstrip().startswith("#"))
    return formulas


def _without_comment(line: str) -> str:
    return line.split("#", 1)[0]


def booklet_hint(err: FlatgradError, text: str) -> FlatgradError:
    """`err`, raised by a lessons file read as one program of several lines, with a hint
    at the booklet's format: the lines may have been meant as formulas of their own.
    Only an error past the first line: there a booklet read as one program fails."""
    code = [line for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    if len(code) < 2 or err.source is None or err.line == 0:
        return err
    booklet = ("this file was read as one program of several lines. For a booklet, put one "
               "formula on each line (q = x + y; f = q * z is one formula); blank lines "
               "separate programs of several lines, each starting with a stage on a line of "
               "its own (q = x + y)")
    hint = f"{err.hint}\nhint: {booklet}" if err.hint else booklet
    return FlatgradError(err.message, err.source, err.line, err.col, err.width, hint)


def _page(args) -> handout.Page:
    if args.digits is not None and not 1 <= args.digits <= 17:
        raise FlatgradError(f"--digits must be between 1 and 17, not {args.digits}")
    return handout.Page(args.title, args.digits, args.paper)


def write_booklet(formulas: list[str], compile_one, args) -> int:
    """A handout per formula, each on new pages, at its own `# at` point, else at --at, else at a
    nice point; HTML or PDF."""
    fmt = args.format or _format_of(args.output, HANDOUT_SUFFIXES, "html", "a handout")
    if fmt == "markdown" or args.exercise or args.variants:
        raise FlatgradError("a booklet of several formulas is an HTML or PDF handout: "
                            "-o booklet.html or -o booklet.pdf, without --exercise")
    page = _page(args)
    lessons = []
    for number, text in enumerate(formulas, 1):
        try:
            compiled = compile_one(text)
            given = _POINT_COMMENT.search(text)
            if given:
                point = _point(compiled, given.group(1), args.seed or 0)
            elif args.at and set(compiled.inputs) <= _named(args.at):
                point = _point(compiled, _only(args.at, compiled.inputs), args.seed or 0)
            else:
                (point,) = nice_points(compiled, 1, args.seed or 0)
        except FlatgradError as err:
            raise FlatgradError(f"in formula {number} of the booklet: {err}") from None
        lessons.append(lesson.build(compiled.plan, point))
    document = handout.render_booklet(lessons, page)
    if fmt == "pdf":
        document = _printed(document, args.output)
    if _is_file(args.output):
        return _write_all({Path(args.output): document}, args.force, None)
    return _write_all({}, args.force, document)


def _named(point_text: str) -> set[str]:
    return {part.split("=", 1)[0].strip() for part in re.split(r",(?![^\[]*\])", point_text)
            if "=" in part}


def _only(point_text: str, inputs) -> str:
    """The parts of --at that name these inputs (a booklet's formulas differ in inputs)."""
    parts = re.split(r",(?![^\[]*\])", point_text)
    return ",".join(part for part in parts if part.split("=", 1)[0].strip() in inputs)


def _printed(document: str, output: str | None) -> bytes:
    if not _is_file(output):
        raise FlatgradError("a PDF is not for the terminal: write it with -o FILE.pdf")
    if not pdf.available():
        raise FlatgradError(pdf.INSTALL_HINT)
    return pdf.print_pdf(document)


def write_handout(compiled: Compiled, args) -> int:
    # the step page and the worksheets teach reverse mode alone: refused, not dropped
    for option, given, writes in (("--step", args.step, "a page stepping through"),
                                  ("--variants", args.variants is not None, "worksheets on")):
        if args.mode == "forward" and given:
            raise FlatgradError(f"{option} writes {writes} reverse mode only; --mode forward "
                                f"writes a handout: leave out {option} or --mode forward")
    if args.variants is not None:
        return _write_variants(compiled, args)
    if not args.at and compiled.inputs:
        raise FlatgradError("a handout needs a point: --at " +
                            ",".join(f"{n}=..." for n in compiled.inputs))
    point = _point(compiled, args.at or "", args.seed or 0)
    fmt = args.format or _format_of(args.output, HANDOUT_SUFFIXES, "html", "a handout")
    page = _page(args)
    if fmt == "pdf" and not pdf.available():
        raise FlatgradError(pdf.INSTALL_HINT)
    taught = lesson.build(compiled.plan, point)
    sheet = None
    targets: dict[Path, str | bytes] = {}
    exercise_options = {"--blank": args.blank, "--blanks": args.blanks, "--key": args.key,
                        # with --at random, --seed seeds the point
                        "--seed": None if points.RANDOM == (args.at or "").strip() else args.seed}
    given = [option for option, value in exercise_options.items() if value is not None]
    if given and not args.exercise:
        verb = "is a worksheet option" if len(given) == 1 else "are worksheet options"
        raise FlatgradError(f"{', '.join(given)} {verb}: add --exercise")
    if args.step:
        return _write_step(taught, fmt, args)
    if args.exercise:
        sheet = worksheet.make(taught, args.blank or "lines", args.blanks, args.seed or 0,
                               shown=lambda value: handout.value_text(value, page.digits))
        key_path = args.key or (_beside(args.output, "-key") if _is_file(args.output) else None)
        if key_path is None:
            raise FlatgradError("a worksheet needs somewhere to put its answer key: "
                                "-o FILE (the key goes beside it) or --key FILE")
        if _is_file(args.output) and Path(key_path).resolve() == Path(args.output).resolve():
            raise FlatgradError("the answer key cannot go in the worksheet's own file")
        key = handout.render_key(sheet, "html" if fmt == "pdf" else fmt, page)
        targets[Path(key_path)] = _printed(key, key_path) if fmt == "pdf" else key
    image = None
    drawn = diagram.legible(compiled.plan)
    if drawn and fmt == "markdown" and _is_file(args.output) and diagram.available():
        image_path = Path(_beside(args.output, "", ".svg"))
        targets[image_path] = diagram.render(handout.circuit_dot(taught, sheet, page.digits),
                                             "svg")
        image = image_path.name
    elif drawn and not diagram.available():
        print("flatgrad: note: " + diagram.INSTALL_HINT + "; the handout shows the DOT text "
              "instead of the circuit", file=sys.stderr)
    if args.mode == "forward" and sheet is not None:
        raise FlatgradError("--mode forward writes a handout, not a worksheet: leave out "
                            "--exercise")
    tangents = forward_mode.build(compiled.plan, point, diagram.legible(compiled.plan)) \
        if args.mode == "forward" else None
    document = handout.render(taught, "html" if fmt == "pdf" else fmt, sheet, image, page,
                              tangents)
    if fmt == "pdf":
        document = _printed(document, args.output)
    if _is_file(args.output):
        targets[Path(args.output)] = document
    return _write_all(targets, args.force, document if not _is_file(args.output) else None)


def _write_variants(compiled: Compiled, args) -> int:
    """N worksheets, the same rows blanked at N different nice points, and one key."""
    if args.variants < 1:
        raise FlatgradError(f"--variants needs at least 1 worksheet, not {args.variants}")
    if args.at and args.at.strip() != points.RANDOM:
        raise FlatgradError("--variants chooses each worksheet's point itself: leave out --at")
    if not _is_file(args.output):
        raise FlatgradError("--variants writes several files: give -o NAME.html "
                            "(the worksheets are NAME-1.html ... and the key NAME-key.html)")
    fmt = args.format or _format_of(args.output, HANDOUT_SUFFIXES, "html", "a handout")
    page = _page(args)
    if fmt == "pdf" and not pdf.available():
        raise FlatgradError(pdf.INSTALL_HINT)
    shown_fmt = "html" if fmt == "pdf" else fmt
    sheets, targets = [], {}
    for number, point in enumerate(nice_points(compiled, args.variants, args.seed or 0), 1):
        taught = lesson.build(compiled.plan, point)
        sheet = worksheet.make(taught, args.blank or "lines", args.blanks, args.seed or 0,
                               shown=lambda value: handout.value_text(value, page.digits),
                               variant=str(number))
        sheets.append(sheet)
        image = None
        if fmt == "markdown" and diagram.legible(compiled.plan) and diagram.available():
            image_path = Path(_beside(args.output, f"-{number}", ".svg"))
            targets[image_path] = diagram.render(handout.circuit_dot(taught, sheet,
                                                                     page.digits), "svg")
            image = image_path.name
        document = handout.render(taught, shown_fmt, sheet, image, page)
        path = _beside(args.output, f"-{number}")
        targets[Path(path)] = _printed(document, path) if fmt == "pdf" else document
    key_path = args.key or _beside(args.output, "-key")
    key = handout.render_key(sheets, shown_fmt, page)
    targets[Path(key_path)] = _printed(key, key_path) if fmt == "pdf" else key
    return _write_all(targets, args.force, None)


def _write_step(taught: lesson.Lesson, fmt: str, args) -> int:
    if args.exercise:
        raise FlatgradError("--step writes a page to step through, --exercise a worksheet: "
                            "choose one")
    if fmt != "html":
        raise FlatgradError("--step writes an HTML page (its keys need a browser): "
                            "-o FILE.html")
    document = step.render(taught)
    if _is_file(args.output):
        return _write_all({Path(args.output): document}, args.force, None)
    return _write_all({}, args.force, document)


def write_diagram(compiled: Compiled, args) -> int:
    point = _point(compiled, args.at, args.seed) if args.at else None
    if args.digits < 1 or args.digits > 17:
        raise FlatgradError(f"--digits must be between 1 and 17, not {args.digits}")
    fmt = args.format or _format_of(args.output, {"." + f: f for f in diagram.FORMATS}, "dot",
                                    "a diagram")
    if args.dpi is not None and fmt != "png":
        raise FlatgradError(f"--dpi sets the resolution of a PNG; {fmt.upper()} is drawn "
                            "to scale at any size")
    if args.dpi is not None and not diagram.MIN_DPI <= args.dpi <= diagram.MAX_DPI:
        raise FlatgradError(f"--dpi must be between {diagram.MIN_DPI} and {diagram.MAX_DPI}, "
                            f"not {args.dpi}")
    dot_text = diagram.dot_source(compiled.plan, point, args.digits)
    data = dot_text if fmt == "dot" else diagram.render(dot_text, fmt, args.dpi)
    if _is_file(args.output):
        return _write_all({Path(args.output): data}, args.force, None)
    if isinstance(data, bytes):
        if sys.stdout.isatty():
            raise FlatgradError("a PNG is not for the terminal: write it with -o FILE.png")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        sys.stdout.write(data)
    return 0


def _point(compiled: Compiled, text: str, seed: int) -> dict:
    """The point of --at (or `random`, seeded), each array input checked against its
    declared shape."""
    return points.point_for(compiled, text, seed)


def _write_all(targets: dict[Path, str | bytes], force: bool, stdout: str | None) -> int:
    for path in targets:
        atomic_write.check(path, force)
    for path, data in targets.items():
        atomic_write.write(path, data, force)
        print(f"wrote {path}", file=sys.stderr)
    if stdout is not None:
        sys.stdout.write(stdout)
    return 0


def _format_of(name: str | None, suffixes: dict[str, str], default: str, what: str) -> str:
    """The format the -o name asks for by its extension; an extension flatgrad does not
    write is an error, never a file whose contents do not match its name."""
    if not _is_file(name):
        return default
    suffix = Path(name).suffix.lower()
    if suffix in suffixes:
        return suffixes[suffix]
    if not suffix and atomic_write.is_stream(name):   # -o /dev/stdout, a pipe
        return default
    *most, last = suffixes
    formats = "|".join(dict.fromkeys(suffixes.values()))
    hint = None
    if suffix == ".pdf" and what == "a diagram":
        dot = Path(name).with_suffix(".dot")
        hint = f"for a PDF, write {dot} and run Graphviz: dot -Tpdf {dot} -o {name}"
    raise FlatgradError(f"cannot write {what} to {name}: "
                        + (f"flatgrad does not write {suffix} files" if suffix else
                           "its name has no extension")
                        + f"; use {', '.join(most)} or {last}, or give --format {formats}",
                        hint=hint)


def _is_file(name: str | None) -> bool:
    return bool(name) and name != "-"


def _beside(name: str, tag: str, suffix: str | None = None) -> str:
    path = Path(name)
    return str(path.with_name(path.stem + tag + (suffix or path.suffix)))
