"""Emitters: one module per target renders a plan to source and a line map.

Every emitter has the same interface, `emit(plan, with_values=False) ->
Emitted`: the module's text and a map from its line numbers to the plan's
lines, which flatgrad keeps beside the code so that an error raised by a
generated line is named by its stage (the module itself holds no such table).
What every target prints alike lives here: the `# (k)` tags, the docstrings,
the line map. The forward and backward passes are laid out once, in
templates/passes.py.j2, which every target's template includes. Every line
keeps within LINE_LENGTH columns (wrap.py wraps the long ones; the templates
wrap theirs with the filters `code`, `prose` and `formulas`).
"""
from __future__ import annotations

import importlib
import re
import warnings
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import jinja2
import numpy as np

from ..core.parse import pretty_statements
from ..core.plan import Line, Plan
from ..core.shapes import describe
from ..errors import FlatgradError, FlatgradWarning
from .wrap import LINE_LENGTH, wrap_code, wrap_comment, wrap_text

TARGETS = ("python", "numpy", "numba", "c")
INSTALL_NUMBA = "pip install 'flatgrad[numba]'"
COMMENT_COLUMN_LIMIT = 48
FORMULA_LIMIT = 120
# A wrapped line's first physical line keeps at least this many columns for its
# code, however long its tag (a tag that leaves less runs past the line's end).
CODE_ROOM = 40


@dataclass
class Emitted:
    source: str
    lines: dict[int, Line]       # 1-based line number in `source` -> the plan line there


def emitter(target: str):
    """The emitter module of `target` (numba falls back to numpy, with a warning,
    where numba cannot be imported)."""
    if target not in TARGETS:
        raise FlatgradError(f"unknown target {target!r}; choose one of {TARGETS}")
    if target == "numba":
        try:
            import numba  # noqa: F401
        except ImportError as err:
            warnings.warn(f"numba is not installed ({err}), so target 'numba' falls back to "
                          f"'numpy': one pass over memory per stage instead of one in all. "
                          f"Install it with: {INSTALL_NUMBA}", FlatgradWarning, stacklevel=4)
            target = "numpy"
    return importlib.import_module(f".{target}", __name__)


def template_dir() -> Path:
    """The templates ship inside the package; a source checkout keeps them at the top."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "templates"
    return packaged if packaged.is_dir() else here.parent / "templates"


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True,
                             autoescape=False)
    env.filters.update(code=code_block, prose=prose_block, formulas=formulas_block)
    return env


def _blocks(text: str, each) -> str:
    """`each(indent, line)` on every line of a template block, as physical lines;
    blank lines and the block's final newline stay."""
    out = []
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        out.append(line if not stripped or len(line) <= LINE_LENGTH else
                   "\n".join(" " * indent + part for part in each(indent, stripped)))
    return "\n".join(out)


def code_block(text: str) -> str:
    """Template filter: every line a statement, wrapped inside its brackets."""
    return _blocks(text, lambda indent, line: wrap_code(line, LINE_LENGTH - indent))


def formulas_block(text: str) -> str:
    """Template filter: every line a formula (a docstring's steps), continued four
    columns further in."""
    def each(indent, line):
        first, *rest = wrap_text(line, LINE_LENGTH - indent - 4, LINE_LENGTH - indent)
        return [first] + ["    " + part for part in rest]
    return _blocks(text, each)


def prose_block(text: str) -> str:
    """Template filter: each paragraph (lines up to a blank one) kept as it is if
    every line fits, else refilled at its first line's indent."""
    paragraphs = text.split("\n\n")
    out = []
    for paragraph in paragraphs:
        lines = paragraph.split("\n")
        trailing = lines[-1] == ""
        lines = lines[:-1] if trailing else lines
        if all(len(line) <= LINE_LENGTH for line in lines):
            out.append(paragraph)
            continue
        indent = len(lines[0]) - len(lines[0].lstrip(" "))
        words = " ".join(line.strip() for line in lines)
        filled = [" " * indent + line for line in wrap_text(words, LINE_LENGTH - indent)]
        out.append("\n".join(filled) + ("\n" if trailing else ""))
    return "\n\n".join(out)


def format_value(value) -> str:
    if isinstance(value, list) and len(value) <= 4:   # a list input's gradient, dw
        return "[" + ", ".join(format_value(entry) for entry in value) + "]"
    if np.ndim(value) == 0:
        text = f"{float(value):.6g}"
        return "0" if text == "-0" else text
    if np.size(value) <= 4:   # on one line: it goes in a comment
        return re.sub(r"\s*\n\s*", " ", np.array2string(np.asarray(value), precision=4,
                                                        separator=", "))
    return f"{describe(np.shape(value))}, mean {mean_of(value):.4g}"


# A mean smaller than this fraction of the largest entry is rounding noise: the rows of
# dscores sum to 0, and their float mean prints as 6.939e-19 otherwise.
NEGLIGIBLE_MEAN = 1e-12


def mean_of(value) -> float:
    """The mean of an array as a page prints it: 0 where it is negligible beside its
    entries (float noise, not a number to teach)."""
    array = np.asarray(value, dtype=float)
    mean = float(np.mean(array))
    largest = float(np.max(np.abs(array))) if array.size else 0.0
    return 0.0 if abs(mean) <= NEGLIGIBLE_MEAN * largest else mean


def tagged(plan: Plan, lines: list[Line], with_values: bool = False,
           indent: int = 4) -> list[tuple]:
    """The lines as printed, as (line, text) pairs: aligned, each with its `# (k)`
    tag (and, over arrays, its shape), a comment above a line where one says why
    it sums (paired with None). Printed at `indent`, every line keeps within
    LINE_LENGTH: a longer one continues inside brackets, its tag on its first
    line, its further lines indented relative to the first (the text holds them
    after newlines). A line's value at a point (`with_values`) follows its tag
    and leaves the layout alone: it may run past the line's end."""
    shapes = plan.graph.has_arrays
    room = LINE_LENGTH - indent
    printed = []   # (line, tag, value, physical lines)
    widest = 0     # the longest first physical line
    for line in lines:
        tag = f"# ({line.ref})" if line.ref else "#"
        if shapes:
            held, whole = plan.shape(line), plan.graph.nodes[line.node].shape
            tag += " " + describe(held)
            if held != whole:
                tag += f", broadcasts to {describe(whole)}"
        if tag == "#":
            tag = ""
        value = f" {line.target} becomes {format_value(line.value)}" \
            if with_values and line.value is not None else ""
        physical = wrap_code(line.text, room, min(len(tag) + 2, room - CODE_ROOM) if tag else 0)
        printed.append((line, tag, value, physical))
        widest = max(widest, len(physical[0]))
    width = min(widest, COMMENT_COLUMN_LIMIT)
    out: list[tuple] = []
    for line, tag, value, (first, *rest) in printed:
        if line.why:
            out.append((None, wrap_comment(line.why, room)))
        if tag or value:   # aligned with the others' tags, unless that would run too far
            column = min(width, room - len(tag) - 2)
            first = f"{first.ljust(column)}  {tag or '#'}{value}"
        out.append((line, "\n".join([first, *rest]) if rest else first))
    return out


class Passes:
    """The forward and backward passes as printed, for a template, and the pairs
    (plan line, printed text) for the line map. `indent`: the deepest indent the
    template prints them at (a continuation line's indent is relative to it)."""

    def __init__(self, plan: Plan, with_values: bool = False, printer=None, indent: int = 4):
        printer = printer or (lambda lines: tagged(plan, lines, with_values, indent))
        # the printed plan lines and their texts side by side, not as one pair each: a
        # long plan's pairs, all alive till the end, would set off the garbage
        # collector's full passes over every object the compile holds
        self.lines: list[Line] = []
        self.texts: list[str] = []

        def texts(lines):
            pairs = printer(lines)
            for line, text in pairs:
                if line is not None:
                    self.lines.append(line)
                    self.texts.append(text)
            return [text for _, text in pairs]

        def header(group):
            if not group.header:
                return ""
            first, *rest = wrap_code(group.header, LINE_LENGTH - indent - len("# backprop "))
            return "\n".join([first] + ["#          " + part for part in rest])

        self.context = {
            "forward": texts(plan.forward),
            "seed": texts([plan.seed]) if plan.seed else [],
            "backward": [{"header": header(group), "lines": texts(group.lines)}
                         for group in plan.backward],
            "zeros": texts(plan.zeros),
        }

    @property
    def pairs(self) -> zip:
        """(plan line, printed text) for every printed plan line in order, as an
        iterator (read it once)."""
        return zip(self.lines, self.texts)

    @cached_property
    def code(self) -> str:
        """Every printed line, for the checks of what the module must import."""
        return "\n".join(self.texts)


def signature(plan: Plan) -> dict:
    """What every generated module's docstrings say: the call, the formula's steps,
    and the order the gradients come back in."""
    graph = plan.graph
    output = graph.nodes[graph.output].name
    return {
        "function": graph.function,
        "params": ", ".join(graph.inputs),
        "steps": steps(plan),
        "output": output,
        "grad_doc": "(" + ", ".join(f"d{output}/d{w}" for w in plan.wrt) + ")"
                    if plan.wrt else "(no inputs are differentiated)",
        "grad_order": "(" + ", ".join(plan.wrt) + ")",
        "grads": ", ".join(plan.grads) + ("," if len(plan.grads) == 1 else ""),
    }


def formula(plan: Plan) -> str:
    return "; ".join(_statements(plan.graph.program))


def _statements(program) -> list[str]:
    """pretty_statements(program), printed once for the header, the docstrings and
    the messages that all quote it (a 10,000-term formula takes a while to print).
    Kept on the program itself, which every plan and mode of one compile shares: no
    module-level slot for one compile to overwrite with another's program (a program
    is not changed once parsed)."""
    printed = program.__dict__.get("_printed_statements")
    if printed is None:
        printed = program.__dict__["_printed_statements"] = tuple(pretty_statements(program))
    return list(printed)


def header(plan: Plan, needs: str) -> list[str]:
    """The module's opening comment lines (the template puts '# ' before each): the
    formula quoted whole, continued on further lines, or a very long one by its two
    ends, short enough for the first line."""
    generated = f"Generated by flatgrad {_version()} from: "
    room = LINE_LENGTH - len("# ")
    text = formula(plan)
    if len(text) > FORMULA_LIMIT:
        quoted = [generated + abbreviate(text, room - len(generated), room - len(generated))]
    else:
        first, *rest = wrap_text(text, room - 4, room - len(generated))
        quoted = [generated + first] + ["    " + part for part in rest]
    return quoted + wrap_text(f"Standalone: needs nothing but {needs}.", room)


def _version() -> str:
    from .. import __version__
    return __version__


def abbreviate(text: str, limit: int = FORMULA_LIMIT, fit: int | None = None) -> str:
    """A formula short enough for a header or a message: the two ends of a long one
    (a 5,000-term sum would otherwise fill the module's docstrings). With `fit`, the
    whole abbreviation, count included, takes at most `fit` characters."""
    if len(text) <= limit:
        return text
    count = f" ({len(text):,} characters)"
    if fit is None:
        keep = limit // 2 - 3
        return f"{text[:keep]} ... {text[-keep:]}{count}"
    keep = max(8, (fit - len(count) - len(" ... ")) // 2)
    return f"{text[:keep].rstrip()} ... {text[-keep:].lstrip()}{count}"


def steps(plan: Plan) -> list[str]:
    """The program's statements for the docstring, the last one named as the output."""
    graph = plan.graph
    output = graph.nodes[graph.output].name
    listed = _statements(graph.program)
    if graph.program.statements[-1].target is not None:
        listed[-1] = listed[-1].split(" = ", 1)[1]
    if len(listed) == 1:
        return [abbreviate(f"{output}({', '.join(graph.inputs)}) = {listed[0]}")]
    listed[-1] = f"{output} = {listed[-1]}"
    return [abbreviate(step) for step in listed]


def imports_math(plan: Plan, code: str) -> bool:
    """Whether any line uses math (ruff would flag an unused import)."""
    return re.search(r"\b%s\." % plan.graph.globals["math"], code) is not None


def import_line(module: str, used: str) -> str:
    return f"import {module}" if used == module else f"import {module} as {used}"


def helpers(plan: Plan, code: str, spelling: str) -> list[str]:
    """The sources of the helpers `code` calls, under the module's own names."""
    from ..core.gates import helper_table, helpers_for
    from ..core.plan import _rename
    # only the globals this module renames: the sub over every printed line is the
    # slow part of a long plan's emit, and most modules rename nothing
    names = {used: name for name, used in plan.graph.globals.items() if used != name}
    unrenamed = re.sub(r"\b(%s)(?=\()" % "|".join(map(re.escape, names)),
                       lambda m: names[m.group(1)], code) if names else code
    table = helper_table(spelling)
    return [_rename(table[name], plan.graph) for name in helpers_for(unrenamed, spelling)]


def render(template: str, context: dict, passes: Passes) -> Emitted:
    source = environment().get_template(template).render({**context, **passes.context})
    return Emitted(source, line_map(source, passes.pairs))


def line_map(source: str, pairs) -> dict[int, Line]:
    """Source line number -> the plan line printed there, found by its printed text
    (every printed line carries its `# (k)` tag, so no docstring can pass for one).
    A line wrapped over several physical lines is found by its first, which holds
    the tag, and maps every one of them: a traceback names the physical line of
    the failing operation."""
    by_first: dict[str, Line] = {}
    continued: dict[str, list[str]] = {}   # a wrapped line's further physical lines
    for line, text in pairs:
        if "\n" in text:
            first, *rest = [part.strip() for part in text.split("\n")]
            if first not in by_first:
                continued[first] = rest
        else:
            first = text.strip()
        by_first.setdefault(first, line)
    physical = [text.strip() for text in source.split("\n")]
    mapped: dict[int, Line] = {}
    for index, text in enumerate(physical):
        line = by_first.get(text)
        if line is None or index + 1 in mapped:
            continue
        rest = continued.get(text, ())
        if not rest:
            mapped[index + 1] = line
        elif physical[index + 1:index + 1 + len(rest)] == rest:
            for offset in range(len(rest) + 1):
                mapped[index + 1 + offset] = line
    return mapped


def module_names(plan: Plan, wanted) -> dict[str, str]:
    """Module-level names of a target's own (numba, a kernel) that collide with no
    variable."""
    from ..core.graph import RESERVED, _fresh, _Taken
    graph = plan.graph
    taken = _Taken(set(RESERVED) | set(graph.inputs) | set(graph.globals.values()))
    taken |= {graph.function, graph.function + "_and_grad"}
    for node in graph.nodes:
        taken.update(n for n in (node.name, node.grad) if n)
    names = {}
    for name in wanted:
        names[name] = _fresh(name, taken)
        taken.add(names[name])
    return names
