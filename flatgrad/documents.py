"""The `handout` and `diagram` commands: their options, and the files they write.

Every target is checked before anything is written, and each file is written
whole (output.write), so a refused or failed run leaves no half of a worksheet
behind. A worksheet's key goes beside it (`staged.html` -> `staged-key.html`);
a Markdown handout's circuit goes beside it as an SVG the page links to.
"""
from __future__ import annotations

import sys
from pathlib import Path

from . import diagram, handout, lesson, output, worksheet
from .api import Compiled, complete_point, parse_point
from .errors import FlatgradError

MARKDOWN_SUFFIXES = (".md", ".markdown")


def add_handout_options(parser) -> None:
    parser.add_argument("--at", help="the point the numbers are computed at, e.g. x=3,y=-4")
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
                        help="which rows are blanked: each seed is another variant "
                             "(default 0)")
    parser.add_argument("--key", help="write the answer key here (default: beside -o, "
                                      "as NAME-key.html)")
    parser.add_argument("--force", action="store_true",
                        help="replace output files flatgrad did not generate")


def add_diagram_options(parser) -> None:
    parser.add_argument("--at", help="label the wires with values and gradients at this point")
    parser.add_argument("-o", "--output", help="write to FILE (.dot, .svg or .png); "
                                               "default: DOT on stdout")
    parser.add_argument("--format", choices=diagram.FORMATS,
                        help="dot, svg or png (default: from the -o suffix, else dot)")
    parser.add_argument("--digits", type=int, default=3,
                        help="significant digits on the wires (default 3)")
    parser.add_argument("--force", action="store_true",
                        help="replace an output file flatgrad did not generate")


def write_handout(compiled: Compiled, args) -> int:
    if not args.at and compiled.inputs:
        raise FlatgradError("a handout needs a point: --at " +
                            ",".join(f"{n}=..." for n in compiled.inputs))
    point = complete_point(compiled.inputs, parse_point(args.at or ""))
    fmt = args.format or ("markdown" if args.output and
                          Path(args.output).suffix.lower() in MARKDOWN_SUFFIXES else "html")
    taught = lesson.build(compiled.plan, point)
    sheet = None
    targets: dict[Path, str | bytes] = {}
    exercise_options = {"--blank": args.blank, "--blanks": args.blanks, "--seed": args.seed,
                        "--key": args.key}
    given = [option for option, value in exercise_options.items() if value is not None]
    if given and not args.exercise:
        verb = "is a worksheet option" if len(given) == 1 else "are worksheet options"
        raise FlatgradError(f"{', '.join(given)} {verb}: add --exercise")
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


def write_diagram(compiled: Compiled, args) -> int:
    point = complete_point(compiled.inputs, parse_point(args.at)) if args.at else None
    if args.digits < 1 or args.digits > 17:
        raise FlatgradError(f"--digits must be between 1 and 17, not {args.digits}")
    suffix = Path(args.output).suffix.lower().lstrip(".") if _is_file(args.output) else ""
    fmt = args.format or (suffix if suffix in diagram.FORMATS else "dot")
    dot_text = diagram.dot_source(compiled.plan, point, args.digits)
    data = dot_text if fmt == "dot" else diagram.render(dot_text, fmt)
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


def _write_all(targets: dict[Path, str | bytes], force: bool, stdout: str | None) -> int:
    for path in targets:
        output.check(path, force)
    for path, data in targets.items():
        output.write(path, data, force)
        print(f"wrote {path}", file=sys.stderr)
    if stdout is not None:
        sys.stdout.write(stdout)
    return 0


def _is_file(name: str | None) -> bool:
    return bool(name) and name != "-"


def _beside(name: str, tag: str, suffix: str | None = None) -> str:
    path = Path(name)
    return str(path.with_name(path.stem + tag + (suffix or path.suffix)))
