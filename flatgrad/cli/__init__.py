"""The `flatgrad` command line: compile, eval, handout and diagram."""
from __future__ import annotations

import argparse
import sys
import warnings

from .. import __version__, arguments
from ..api import compile as compile_formula
from ..api import write_module
from ..check import DEFAULT_TOLERANCE
from ..check import check as check_gradient
from ..core.graph import LEVELS, NAMINGS
from ..core.plan import PROFILES
from ..core.styles import STYLES
from ..core.shapes import parse_option
from ..emit import TARGETS
from ..errors import FlatgradError, FlatgradWarning
from ..modes import EXPORTS, MODES
from ..modes import source as mode_source
from ..points import RANDOM, point_for, show
from . import modes
from .teaching import (add_diagram_options, add_handout_options, booklet_hint, lessons_in,
                       write_booklet, write_diagram, write_handout)

EXIT_BAD_INPUT = 2
EXIT_GRADIENT_MISMATCH = 1
MODES_HELP = ("reverse: f and f_and_grad (default); forward: f_jvp, each line followed by its "
              "tangent; hvp: f_hvp, the Hessian times a direction; hessian: f_hvp and "
              "f_hessian; split: f_forward and f_backward(df, cache); layer: a class with "
              "forward and backward")


def _read_expression(args) -> str:
    if args.file == "-":
        return sys.stdin.read()
    if args.file:
        try:
            with open(args.file, encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError) as err:
            reason = getattr(err, "strerror", None) or "not UTF-8 text"
            raise FlatgradError(f"cannot read the formula from -f {args.file}: {reason}") \
                from None
    if args.expr is None:
        raise FlatgradError("give a formula, '-' to read it from standard input, or -f FILE")
    if args.expr == "-":
        return sys.stdin.read()
    return args.expr


def _add_formula_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("expr", nargs="?", help="the formula, or '-' for standard input")
    parser.add_argument("-f", "--file", help="read the formula from FILE ('-': standard input)")
    parser.add_argument("--inputs", help="the inputs in call order, e.g. x,y")
    parser.add_argument("--wrt", help="differentiate only these inputs, e.g. x,y")
    parser.add_argument("--names", choices=NAMINGS,
                        help="stage names: cs231n (sigy, num, den) or numbered (s0, s1)")
    parser.add_argument("--grad-prefix", help="gradient names: d (the default) gives dx")
    parser.add_argument("--name", default="f", help="the generated function's name")
    parser.add_argument("--profile", choices=PROFILES,
                        help="fast (the default) folds unit factors; teach writes (1) * dden "
                             "as the notes do; lean also folds copies and one-use lines "
                             "(the same numbers, faster on big formulas)")
    parser.add_argument("--style", choices=tuple(STYLES),
                        help="a listing of the notes: cs231n (dx = (1) * dxpy), plain "
                             "(dfdx = 1.0 * dfdq) or slides (grad_L = 1.0, s0 ... s3); a "
                             "preset of --names, --grad-prefix and --profile")
    parser.add_argument("--gates", choices=LEVELS, default="staged",
                        help="primitive splits grouped gates (sigmoid, division)")
    parser.add_argument("--shape", action="append", metavar="NAME=DIMS",
                        help="declare an array input, e.g. W=5x10 or X=DxN (repeatable); "
                             "gives numpy code")
    parser.add_argument("--target", choices=TARGETS,
                        help="python: scalars; numpy: whole arrays; numba: one compiled loop "
                             "over array elements (falls back to numpy without numba); c: C "
                             "source and header, compiled by the system C compiler to run")


def _compile(args, text: str | None = None, mode: str = "reverse"):
    # names always: the command line prints every gradient by name, never a bare one
    inputs = arguments.names(args.inputs, "--inputs")
    wrt = arguments.names(args.wrt, "--wrt")
    source = _read_expression(args) if text is None else text
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FlatgradWarning)
        compiled = compile_formula(source, wrt=wrt, inputs=inputs,
                                   names=args.names, grad_prefix=args.grad_prefix,
                                   name=args.name, profile=args.profile, gates=args.gates,
                                   style=args.style, mode=mode,
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
    split_kind = modes.split_kind(args)
    if split_kind:
        args.source_text, args.shapes = _read_expression(args), _shapes(args)
        return modes.cmd_modular(args, split_kind)
    # forward mode allows an array output (a JVP needs no seed): its Compiled is the Tangent's
    compiled = _compile(args, mode="forward").compiled if args.mode == "forward" \
        else _compile(args)
    source = mode_source(compiled, args.mode,
                         point_for(compiled, args.at, args.seed) if args.at else None)
    if args.output and args.output != "-":
        # a target's further files (C: the header beside the .c), then the module
        companions = getattr(compiled.emitted, "companions", lambda path: {})(args.output)
        for path, text in companions.items():
            write_module(path, text, force=args.force)
            print(f"wrote {path}", file=sys.stderr)
        write_module(args.output, source, force=args.force)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(source)
    return 0


def cmd_eval(args) -> int:
    compiled = _compile(args)
    if not args.at and compiled.inputs:
        raise FlatgradError("eval needs a point: --at " + ",".join(f"{n}=..." for n in
                                                                   compiled.inputs)
                            + " or --at random")
    point = point_for(compiled, args.at or "", args.seed)
    try:
        value, grads = compiled.value_and_grad(**point)
    except (ArithmeticError, ValueError) as err:  # the point is outside the domain
        raise FlatgradError(str(err)) from None
    if (args.at or "").strip() == RANDOM:
        print(f"random point (--seed {args.seed}):")
        for name, given in point.items():
            print(show(given, f"  {name} = "))
    output = compiled.graph.nodes[compiled.graph.output].name
    print(show(value, f"{output} = "))
    for name, grad in zip(compiled.wrt, grads):
        print(show(grad, f"d{output}/d{name} = "))
    return 0


def cmd_check(args) -> int:
    compiled = _compile(args)
    points = [text if text.strip() == RANDOM else _check_point(compiled, text, len(args.at))
              for text in args.at] if args.at else None
    report = check_gradient(compiled, points, args.tol, seed=args.seed)
    print(report.table())
    return 0 if report.ok else EXIT_GRADIENT_MISMATCH


def _check_point(compiled, text: str, count: int) -> dict:
    try:
        return point_for(compiled, text)
    except FlatgradError as err:
        if count > 1 and err.message.startswith("no value for"):
            raise FlatgradError(f"--at {text} gives {err.message}: check takes each --at as a "
                                "point of its own; write --at "
                                + ",".join(f"{n}=..." for n in compiled.inputs)) from None
        raise


def cmd_handout(args) -> int:
    text = _read_expression(args)
    formulas = lessons_in(text) if args.file else [text]
    if len(formulas) > 1:
        return write_booklet(formulas, lambda formula: _compile(args, formula), args)
    try:
        compiled = _compile(args, text)
    except FlatgradError as err:
        raise (booklet_hint(err, text) if args.file else err) from None
    return write_handout(compiled, args)


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
    compile_parser.add_argument("--at", action="append",
                                help="annotate every line with its value, e.g. x=3,y=-4, "
                                     "W=[[1,2],[3,4]] or random (or --at x=3 --at y=-4: one "
                                     "point)")
    compile_parser.add_argument("--seed", type=int, default=0, help="the seed of --at random")
    compile_parser.add_argument("--mode", choices=MODES, default="reverse", help=MODES_HELP)
    compile_parser.add_argument("--export", choices=EXPORTS,
                                help="a torch.autograd.Function or a jax.custom_vjp function")
    compile_parser.set_defaults(run=cmd_compile)

    eval_parser = commands.add_parser("eval", help="print the value and gradient at a point")
    _add_formula_options(eval_parser)
    eval_parser.add_argument("--at", action="append",
                             help="the point, e.g. x=3,y=-4, W=[[1,2],[3,4]] or random (or "
                                  "--at x=3 --at y=-4: one point)")
    eval_parser.add_argument("--seed", type=int, default=0, help="the seed of --at random")
    eval_parser.set_defaults(run=cmd_eval)

    check_parser = commands.add_parser(
        "check", help="compare the gradient with central differences and SymPy")
    _add_formula_options(check_parser)
    check_parser.add_argument("--at", action="append",
                              help="a point, e.g. x=3,y=-4, W=[[1,2],[3,4]] or random; unlike "
                                   "the other commands, each --at is another point (default: a "
                                   "few deterministic random points)")
    check_parser.add_argument("--seed", type=int, default=0,
                              help="the seed of random points (--at random, and the default "
                                   "points)")
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
    parser.commands = commands.choices
    return parser


def _formula_not_option(parser: argparse.ArgumentParser, argv: list[str]):
    """argv with a formula that starts with a minus (`-log(x)`, `-x*y`) protected from
    argparse, which would take it for an unknown option; and the formulas so protected,
    to be put back after parsing.

    After the command, a word that starts with '-' and is not an option (not '-', which
    is standard input, nor '--', -o, -f, --at ..., --at=VALUE or an abbreviation that
    argparse accepts, such as --inp) is the formula, if the formula is given nowhere
    else: no other word takes its place and no -f FILE. So `-ostaged.py x` is still -o
    with its value attached, as argparse reads it."""
    commands = parser.commands
    start = next((i for i, word in enumerate(argv) if word in commands), None)
    if start is None:
        return argv, {}
    options = {}
    for action in commands[argv[start]]._actions:
        for option in action.option_strings:
            options[option] = action.nargs != 0
    candidates, given_elsewhere, takes_value = [], False, False
    for i in range(start + 1, len(argv)):
        word = argv[i]
        if takes_value:
            takes_value = False
        elif word == "--" or not word.startswith("-") or word == "-":
            given_elsewhere = True   # an ordinary word, or argparse's own '--'
        else:
            option = _option(word, options)
            if option is None:
                candidates.append(i)
            else:
                takes_value = options[option] and "=" not in word
                given_elsewhere |= option in ("-f", "--file")
    if given_elsewhere or not candidates:
        return argv, {}
    argv = list(argv)
    word = argv[candidates[0]]
    argv[candidates[0]] = " " + word   # argparse reads a leading space as a positional
    return argv, {" " + word: word}


def _option(word: str, options: dict[str, bool]) -> str | None:
    """The option `word` names as argparse reads it (exactly, as --name=VALUE or as an
    unambiguous abbreviation of a long option), else None."""
    if word in options:
        return word
    if not word.startswith("--"):
        return None
    name = word.partition("=")[0]
    if name in options:
        return name
    matches = [option for option in options if option.startswith(name)]
    return matches[0] if len(matches) == 1 else None


def main(argv=None) -> int:
    parser = build_parser()
    argv, restored = _formula_not_option(parser, sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if getattr(args, "expr", None) in restored:
        args.expr = restored[args.expr]
    try:
        if args.command != "check" and args.at is not None:
            # --at x=3 --at y=-4 is one point (check takes each --at as a point of its own)
            args.at = arguments.merged_point(args.at)
        return args.run(args)
    except FlatgradError as err:
        print(f"flatgrad: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:
        print(f"flatgrad: error: {err}", file=sys.stderr)
        return 1
