"""The `flatgrad` command line: compile, eval, handout and diagram."""
from __future__ import annotations

import argparse
import sys
import warnings

from . import __version__
from .api import compile as compile_formula
from .api import complete_point, parse_point, write_module
from .check import DEFAULT_TOLERANCE
from .documents import add_diagram_options, add_handout_options, write_diagram, write_handout
from .errors import FlatgradError, FlatgradWarning
from .graph import LEVELS, NAMINGS
from .plan import PROFILES
from .render import format_value
from .shapes import parse_option
from .targets import TARGETS

EXIT_BAD_INPUT = 2
EXIT_GRADIENT_MISMATCH = 1


def _read_expression(args) -> str:
    if args.file:
        with open(args.file, encoding="utf-8") as handle:
            return handle.read()
    if args.expr is None:
        raise FlatgradError("give a formula, '-' to read it from standard input, or -f FILE")
    if args.expr == "-":
        return sys.stdin.read()
    return args.expr


def _add_formula_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("expr", nargs="?", help="the formula, or '-' for standard input")
    parser.add_argument("-f", "--file", help="read the formula from FILE")
    parser.add_argument("--inputs", help="the inputs in call order, e.g. x,y")
    parser.add_argument("--wrt", help="differentiate only these inputs, e.g. x,y")
    parser.add_argument("--names", choices=NAMINGS, default="cs231n",
                        help="stage names: cs231n (sigy, num, den) or numbered (s0, s1)")
    parser.add_argument("--grad-prefix", default="d", help="gradient names: d gives dx")
    parser.add_argument("--name", default="f", help="the generated function's name")
    parser.add_argument("--profile", choices=PROFILES, default="fast",
                        help="fast folds unit factors; teach writes (1) * dden as the notes do")
    parser.add_argument("--gates", choices=LEVELS, default="staged",
                        help="primitive splits grouped gates (sigmoid, division)")
    parser.add_argument("--shape", action="append", metavar="NAME=DIMS",
                        help="declare an array input, e.g. W=5x10 or X=DxN (repeatable); "
                             "gives numpy code")
    parser.add_argument("--target", choices=TARGETS, default="python",
                        help="python: scalars; numpy: whole arrays; numba: one compiled loop "
                             "over array elements (falls back to numpy without numba)")


def _compile(args):
    inputs = [s.strip() for s in args.inputs.split(",") if s.strip()] if args.inputs else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FlatgradWarning)
        compiled = compile_formula(_read_expression(args), wrt=args.wrt, inputs=inputs,
                                   names=args.names, grad_prefix=args.grad_prefix,
                                   name=args.name, profile=args.profile, gates=args.gates,
                                   shapes=_shapes(args), target=args.target)
    for warning in caught:
        print(f"flatgrad: note: {warning.message}", file=sys.stderr)
    return compiled


def _shapes(args):
    if not args.shape:
        return None
    shapes = {}
    for option in args.shape:
        name, dims = parse_option(option)
        if name in shapes:
            raise FlatgradError(f"--shape gives {name} twice")
        shapes[name] = dims
    return shapes


def cmd_compile(args) -> int:
    compiled = _compile(args)
    source = compiled.source_at(**parse_point(args.at)) if args.at else compiled.source
    if args.output and args.output != "-":
        write_module(args.output, source, force=args.force)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(source)
    return 0


def cmd_eval(args) -> int:
    compiled = _compile(args)
    if not args.at and compiled.inputs:
        raise FlatgradError("eval needs a point: --at " + ",".join(f"{n}=..." for n in
                                                                   compiled.inputs))
    point = complete_point(compiled.inputs, parse_point(args.at or ""))
    try:
        value, grads = compiled.value_and_grad(**point)
    except (ArithmeticError, ValueError) as err:  # the point is outside the domain
        raise FlatgradError(str(err)) from None
    print(f"{compiled.graph.nodes[compiled.graph.output].name} = {format_value(value)}")
    for name, grad in zip(compiled.wrt, grads):
        print(f"d{compiled.graph.nodes[compiled.graph.output].name}/d{name} = "
              f"{format_value(grad)}")
    return 0


def cmd_check(args) -> int:
    compiled = _compile(args)
    points = [parse_point(text) for text in args.at] if args.at else None
    report = compiled.check(points, args.tol)
    print(report.table())
    return 0 if report.ok else EXIT_GRADIENT_MISMATCH


def cmd_handout(args) -> int:
    return write_handout(_compile(args), args)


def cmd_diagram(args) -> int:
    return write_diagram(_compile(args), args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flatgrad", description="Compile a formula into flat reverse-mode gradient code.")
    parser.add_argument("--version", action="version", version=f"flatgrad {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    compile_parser = commands.add_parser("compile", help="print or write the gradient module")
    _add_formula_options(compile_parser)
    compile_parser.add_argument("-o", "--output", help="write the module to this file")
    compile_parser.add_argument("--force", action="store_true",
                                help="replace an output file flatgrad did not generate")
    compile_parser.add_argument("--at", help="annotate every line with its value, e.g. x=3,y=-4")
    compile_parser.set_defaults(run=cmd_compile)

    eval_parser = commands.add_parser("eval", help="print the value and gradient at a point")
    _add_formula_options(eval_parser)
    eval_parser.add_argument("--at", help="the point, e.g. x=3,y=-4")
    eval_parser.set_defaults(run=cmd_eval)

    check_parser = commands.add_parser(
        "check", help="compare the gradient with central differences and SymPy")
    _add_formula_options(check_parser)
    check_parser.add_argument("--at", action="append",
                              help="a point, e.g. x=3,y=-4 (repeat for more; default: a few "
                                   "deterministic random points)")
    check_parser.add_argument("--tol", type=float, default=DEFAULT_TOLERANCE,
                              help="largest relative error that passes (default %(default)g)")
    check_parser.set_defaults(run=cmd_check)

    handout_parser = commands.add_parser(
        "handout", help="write a teaching handout (HTML or Markdown) or a worksheet")
    _add_formula_options(handout_parser)
    add_handout_options(handout_parser)
    handout_parser.set_defaults(run=cmd_handout, profile="teach")

    diagram_parser = commands.add_parser("diagram", help="draw the circuit (DOT, SVG or PNG)")
    _add_formula_options(diagram_parser)
    add_diagram_options(diagram_parser)
    diagram_parser.set_defaults(run=cmd_diagram)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except FlatgradError as err:
        print(f"flatgrad: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:
        print(f"flatgrad: error: {err}", file=sys.stderr)
        return 1
