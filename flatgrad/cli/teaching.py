"""The `handout` and `diagram` commands: their options, and the documents they write.

Every target is checked before anything is written, and each file is written
whole (atomic_write.write), so a refused or failed run leaves no half of a worksheet
behind. A worksheet's key goes beside it (`staged.html` -> `staged-key.html`);
a Markdown handout's circuit goes beside it as an SVG the page links to.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .. import atomic_write, points
from ..api import Compiled
from ..errors import FlatgradError
from ..teach import diagram, handout, lesson, step, worksheet

HANDOUT_SUFFIXES = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}


def add_handout_options(parser) -> None:
    parser.add_argument("--at", action="append",
                        help="the point the numbers are computed at, e.g. x=3,y=-4 "
                             "(or --at x=3 --at y=-4: one point)")
    parser.add_argument("-o", "--output", help="write to FILE (.html or .md); default stdout")
    parser.add_argument("--format", choices=handout.FORMATS,
                        help="html or markdown (default: from the -o suffix, else html)")
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


def write_handout(compiled: Compiled, args) -> int:
    if not args.at and compiled.inputs:
        raise FlatgradError("a handout needs a point: --at " +
                            ",".join(f"{n}=..." for n in compiled.inputs))
    point = _point(compiled, args.at or "", args.seed or 0)
    fmt = args.format or _format_of(args.output, HANDOUT_SUFFIXES, "html", "a handout")
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
        sheet = worksheet.make(taught, args.blank or "lines", args.blanks, args.seed or 0)
        key_path = args.key or (_beside(args.output, "-key") if _is_file(args.output) else None)
        if key_path is None:
            raise FlatgradError("a worksheet needs somewhere to put its answer key: "
                                "-o FILE (the key goes beside it) or --key FILE")
        if _is_file(args.output) and Path(key_path).resolve() == Path(args.output).resolve():
            raise FlatgradError("the answer key cannot go in the worksheet's own file")
        targets[Path(key_path)] = handout.render_key(sheet, fmt)
    image = None
    drawn = diagram.legible(compiled.plan)
    if drawn and fmt == "markdown" and _is_file(args.output) and diagram.available():
        image_path = Path(_beside(args.output, "", ".svg"))
        targets[image_path] = diagram.render(handout.circuit_dot(taught, sheet), "svg")
        image = image_path.name
    elif drawn and not diagram.available():
        print("flatgrad: note: " + diagram.INSTALL_HINT + "; the handout shows the DOT text "
              "instead of the circuit", file=sys.stderr)
    document = handout.render(taught, fmt, sheet, image)
    if _is_file(args.output):
        targets[Path(args.output)] = document
    return _write_all(targets, args.force, document if not _is_file(args.output) else None)


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
