"""`flatgrad compile --mode split|layer` and `--export torch|jax`."""
from __future__ import annotations

import sys

from .. import arguments
from ..api import compile as compile_formula
from ..api import write_module
from ..errors import FlatgradError
from ..modes import split


def split_kind(args) -> str | None:
    """The split mode or export asked for (None for neither: reverse mode, or a
    mode of tangents)."""
    if args.export and args.mode != "reverse":
        raise FlatgradError(f"--export {args.export} writes its own forward and backward: "
                            f"give it without --mode {args.mode}")
    return args.export or (args.mode if args.mode in split.MODES else None)


def cmd_modular(args, kind: str) -> int:
    if args.at:
        raise FlatgradError(f"--at annotates the reverse-mode module; {kind} writes "
                            "functions without a point: leave out --at")
    if args.target:
        raise FlatgradError(f"--target chooses reverse mode's code; {kind} writes Python for "
                            "a scalar formula and numpy for an array program")
    modular = compile_formula(args.source_text, wrt=arguments.names(args.wrt, "--wrt"),
                              inputs=arguments.names(args.inputs, "--inputs"),
                              names=args.names, grad_prefix=args.grad_prefix, name=args.name,
                              profile=args.profile, gates=args.gates, shapes=args.shapes,
                              style=args.style, mode=kind)
    if args.output and args.output != "-":
        write_module(args.output, modular.source, force=args.force)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(modular.source)
    return 0
