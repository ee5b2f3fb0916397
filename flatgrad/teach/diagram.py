"""The circuit diagram: the staged graph as Graphviz DOT, laid out by `dot`.

Inputs on the left, the output on the right, one node per gate labelled with
its operation, as in the CS231n figures. At a point every edge carries the
value flowing forward (green, above) and the gradient flowing back (red,
below); at a fork each edge carries its own share of the gradient, and the
shares add up to the input's gradient. Constants are folded into their gate's
label (`+1`, `×2`), as the notes draw them.

Over arrays a gate over whole arrays is one node too (`@`, `xᵀ`, `sum`,
`softmax_loss`), every wire carries its shape, and at a point the values and
gradients of small arrays (up to `SMALL_ARRAY` entries); a larger array's wire
shows its shape alone.
"""
from __future__ import annotations

import ast
import html
import re
import shutil
import subprocess

import numpy as np

from .. import __version__
from ..core.graph import Graph, Node
from ..core.plan import Plan, build, evaluate
from ..core.shapes import describe
from ..emit import environment, formula
from ..atomic_write import MARK, mark_png
from .typeset import BINARY, TEXT, typeset

VALUE_COLOUR = "#2e7d32"
GRADIENT_COLOUR = "#c62828"
TANGENT_COLOUR = "#1565c0"      # forward mode's tangents
NAME_COLOUR = "#777777"
WIRE_COLOUR = "#555555"
FONT = "DejaVu Sans"
FORMATS = ("dot", "svg", "png")
INSTALL_HINT = ("the circuit diagram is laid out by Graphviz, and its `dot` program is not "
                "installed (or not on PATH); install it with `apt-get install graphviz` "
                "(Debian, Ubuntu), `brew install graphviz` (macOS) or `conda install graphviz`, "
                "or write the DOT text with -o FILE.dot")
LAYOUT_SECONDS = 120
# A handout draws circuits of up to this many gates; past it no page shows them legibly.
LEGIBLE_GATES = 150
# Lining many inputs up on the left makes Graphviz's network simplex slow beyond
# reason (minutes for 80 inputs); past this many nodes its iterations are limited.
LARGE_CIRCUIT = 100
# Operators whose operands can trade places, so a constant reads after them: +1, ×2.
_COMMUTATIVE = (ast.Add, ast.Mult)
# A gate's label up to this long fits a circle; a longer one (softmax_loss) an ellipse.
ROUND_LABEL = 6
# A wire shows the entries of an array this small; a larger one, its shape alone.
SMALL_ARRAY = 4
# What a fill-in circuit shows in place of a number: an empty box to write in.
BOX = "\u2610"
# A PNG's resolution: below 24 dpi text is unreadable; above 1200 a picture has tens of
# millions of pixels.
MIN_DPI, MAX_DPI = 24, 1200


def dot_source(plan: Plan, point: dict | None = None, digits: int = 3,
               values: bool = True, gradients: bool = True, boxes: bool = False,
               tangents=None) -> str:
    """The DOT text of the circuit; with `point`, the wires carry values and gradients
    (either can be left out, as a worksheet does). Over arrays every wire carries
    its shape, and the numbers of small arrays only. With `boxes`, a number left out
    is an empty box on its wire, for a student to fill in. `tangents` (a variable's
    name -> the text of its tangents) puts forward mode's tangents where the
    gradients go.

    Each labelled wire runs through its own label, the value above the line and
    the gradient below, so no label can stand nearer another wire than its own.
    A value used more than once runs to a fork point: its trunk carries the value
    and the total gradient, each branch its own share."""
    graph = plan.graph
    if len(plan.forward) < len(graph.stages) or plan.profile == "lean":
        # a plan that writes statements whole (core/fuse.py) or folds lines into
        # others (core/lean.py): the circuit is gate by gate
        plan = build(graph, plan.wrt, "fast" if plan.profile == "lean" else plan.profile,
                     plan.spelling)
    known: dict = evaluate(plan, point) if point is not None else {}
    shares = {(line.stage, line.operand): line.share for line in plan.backward_lines
              if line.stage >= 0}
    arrays = graph.has_arrays

    def number(value, like=None):
        """The value as the wire shows it; a gradient in broadcast form is spread
        to the shape of the value it belongs to."""
        if point is None or value is None:
            return None
        if like is not None and np.shape(value) != np.shape(like):
            value = np.broadcast_to(value, np.shape(like))
        return _number(value, digits)

    def shown(text, wanted: bool):
        """A number the wire shows, or the box that stands for one left out."""
        if wanted or text is None:
            return text
        return BOX if boxes else None

    consumers: dict[int, list] = {}
    for node in graph.stages:
        for i, arg in enumerate(node.args):
            if graph.nodes[arg].kind != "const":
                consumers.setdefault(arg, []).append((node, i))
    output = graph.nodes[graph.output]
    consumers.setdefault(output.index, []).append((None, 0))

    inputs = [{"id": _node_id(node), "label": _quoted(node.name)}
              for node in graph.nodes if node.kind == "input"]
    # each gate's tooltip is its forward line as the generated code spells it
    code = {line.node: line.text for line in plan.forward}
    gates = []
    for node in graph.stages:
        label = gate_label(graph, node)
        gates.append({"id": _node_id(node), "label": _html_label(label),
                      "shape": "circle" if len(label) <= ROUND_LABEL else "ellipse",
                      "tooltip": _quoted(code[node.index])})
    forks, wires = [], []

    def add_wire(tail: str, head: str, roles: list[str], label: str | None, arrow: bool):
        wires.append({"id": f"w{len(wires)}", "tail": tail, "head": head, "label": label,
                      "class": _quoted(" ".join(["wire"] + roles)), "arrow": arrow})

    for node in graph.nodes:
        uses = consumers.get(node.index, [])
        if not uses:
            continue
        value = known.get(node.name)
        name = node.name if node.kind == "stage" else ""
        shape = describe(node.shape) if arrays and node.shape else ""
        # the gradient the node receives, summed over its uses
        total = 1.0 if node.index == graph.output else known.get(node.grad)
        if tangents is not None:   # forward mode: the tangent flows with the value
            trunk_label = _edge_label(name, shape, number(value) if values else None,
                                      tangents.get(node.name, "0"), TANGENT_COLOUR)
        else:
            trunk_label = _edge_label(name, shape, shown(number(value), values),
                                      shown(number(total, like=value), gradients))
        heads = [(_node_id(stage), [f"i{stage.index}_{i}"],
                  number(shares.get((stage.index, i)), like=value))
                 if stage is not None else ("output", ["i_output"], number(1.0))
                 for stage, i in uses]
        if len(uses) == 1:
            head, roles, _ = heads[0]
            add_wire(_node_id(node), head, [f"o{node.index}"] + roles, trunk_label, True)
            continue
        fork = f"k{node.index}"
        forks.append({"id": fork})
        add_wire(_node_id(node), fork, [f"o{node.index}"], trunk_label, False)
        for head, roles, share in heads:
            share = None if tangents is not None else shown(share, gradients)
            add_wire(fork, head, roles, _edge_label("", "", None, share), True)
    sink = {"id": "output", "label": _quoted(output.name)}
    context = {"header": f"Generated by flatgrad {__version__} from: {formula(plan)}",
               "graph_id": _quoted(graph.function), "font": FONT, "inputs": inputs,
               "gates": gates, "forks": forks, "output": sink, "wires": wires,
               "large": len(graph.nodes) > LARGE_CIRCUIT, "wire_colour": WIRE_COLOUR}
    return environment().get_template("circuit.dot.j2").render(context)


def gate_label(graph: Graph, node: Node) -> str:
    """A gate's operation as the notes draw it, read off its forward template:
    the operator of an infix gate (+, ×), with a constant operand folded in
    (+1); the function of a call (exp, σ); the template itself otherwise (1/x, x²)."""
    gate = node.gate
    # a gate over whole arrays has no Python form: its numpy form says what it does
    template = gate.as_call if gate.grouped else gate.forward or gate.forward_form(
        spelling="numpy")
    template = re.sub(r"\{(a|b)\}", r"\1", template)
    tree = ast.parse(template, mode="eval").body
    operands = {letter: graph.nodes[arg] for letter, arg in zip("ab", node.args)}
    shown = {letter: operand.text if operand.kind == "const" else placeholder
             for (letter, operand), placeholder in zip(operands.items(), "xy")}
    constants = [letter for letter, operand in operands.items() if operand.kind == "const"]
    if isinstance(tree, ast.BinOp) and not isinstance(tree.op, ast.Pow) \
            and {_name(tree.left), _name(tree.right)} == {"a", "b"}:
        symbol = TEXT.op(BINARY[type(tree.op)][0]).strip()
        if not constants:
            return symbol
        constant = shown[constants[0]]
        if _name(tree.right) == constants[0] or isinstance(tree.op, _COMMUTATIVE):
            return symbol + constant
        return constant + symbol
    if isinstance(tree, ast.IfExp):
        if not constants:
            return gate.name
        return f"{gate.name}({', '.join(shown[letter] for letter in operands)})"
    text = typeset(tree, TEXT, shown).replace(" ", "")
    if isinstance(tree, ast.Call) and not constants:
        # a call of the operands alone is its function: exp, sum, softmax_loss, vdot
        text = re.sub(r"\([xy](,[xy])*\)$", "", text)
    elif isinstance(tree, ast.Call) and tree.keywords:
        # and of an operand and a keyword constant, the constant: sum(axis=1)
        text = re.sub(r"\([xy],", "(", text)
    return text


def legible(plan: Plan) -> bool:
    """Whether the circuit is small enough to read on a page."""
    return len(plan.graph.stages) <= LEGIBLE_GATES


def available() -> bool:
    return shutil.which("dot") is not None


def render(dot_text: str, fmt: str, dpi: int | None = None) -> bytes:
    """Lay the DOT text out with Graphviz's `dot` as svg or png (at `dpi` dots per
    inch; Graphviz's default is 96)."""
    if fmt not in FORMATS[1:]:
        raise ValueError(f"unknown diagram format {fmt!r}")
    program = shutil.which("dot")
    if program is None:
        raise FileNotFoundError(INSTALL_HINT)
    command = [program, f"-T{fmt}"] + ([f"-Gdpi={dpi}"] if dpi else [])
    try:
        done = subprocess.run(command, input=dot_text.encode("utf-8"),
                              capture_output=True, timeout=LAYOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise OSError(f"Graphviz took more than {LAYOUT_SECONDS} s to lay this circuit out; "
                      "write its DOT text with -o FILE.dot instead") from None
    if done.returncode != 0:
        raise OSError(f"Graphviz `dot` failed: {done.stderr.decode(errors='replace').strip()}")
    if fmt == "png":
        return mark_png(done.stdout)
    declaration, _, rest = done.stdout.partition(b"\n")
    return declaration + b"\n<!-- " + MARK + b" -->\n" + rest


def inline_svg(dot_text: str) -> str:
    """The SVG element alone, to place inside an HTML page, in a box that scrolls
    sideways when the circuit is wider than the page. The circuit keeps its own
    size: Graphviz measures in points, and 12 pt text is 16 px, the body text's
    size, so the page's stylesheet must not stretch or shrink it (hence the
    element's own style, which outranks the stylesheet's)."""
    svg = render(dot_text, "svg").decode("utf-8")
    svg = svg[svg.index("<svg"):].strip()
    size = re.match(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if size:
        width, height = size.groups()
        svg = svg.replace("<svg ", f'<svg style="width: {width}pt; height: {height}pt; '
                          'max-width: none; max-height: none" ', 1)
    return f'<div class="circuit" style="overflow-x: auto">{svg}</div>'


def _name(node) -> str:
    return node.id if isinstance(node, ast.Name) else ""


def _node_id(node: Node) -> str:
    return f"n{node.index}"


def _number(value, digits: int) -> str | None:
    """A number to `digits` significant digits; a small array entry by entry
    ([[1, -2], [0.5, 3]]); None for a larger array, whose wire shows its shape."""
    if np.ndim(value) == 0:
        return significant(value, digits)
    if np.size(value) > SMALL_ARRAY:
        return None
    return _nested(np.asarray(value, dtype=float).tolist(), digits)


def significant(value, digits: int) -> str:
    """A number to `digits` significant digits, as the wires and tables print it: a
    rounded number keeps its trailing zeros (σ(-4) = 0.0180 to 3 digits, its 3 digits
    all shown); an exact one is written short (3, not 3.00; 0.5, not 0.500), so a number
    shown with fewer digits is exact. Exact to 15 digits: 0.1 + 0.2 is 0.3, not 0.300000.
    -0.0 is 0."""
    number = float(value)
    text = f"{number:.{digits}g}"
    if text not in ("inf", "-inf", "nan") and float(text) != float(f"{number:.15g}"):
        text = f"{number:#.{digits}g}"
        mantissa, e, exponent = text.partition("e")
        text = mantissa.rstrip(".") + e + exponent     # 123. -> 123
    return "0" if text == "-0" else text


def _nested(value, digits: int) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_nested(item, digits) for item in value) + "]"
    return _number(value, digits)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _html_label(text: str) -> str:
    return f"<{html.escape(text, quote=False)}>"


# room to write -0.0358 by hand: about 21 x 7 mm at full size
BOX_CELL = ('<tr><td border="1" color="#444444" width="60" height="20" fixedsize="true">'
             '</td></tr>')


def _edge_label(name: str, shape: str, value: str | None, gradient: str | None,
                colour: str = GRADIENT_COLOUR) -> str | None:
    """A wire's label, a Graphviz HTML-like table the wire runs through: its stage's
    name (over arrays its name and shape) in grey, the value in green above the
    line, the gradient in red (a tangent in `colour`) below it; one above the other,
    so that a label is as narrow as its longest part. A number left out for a
    student is an empty box (BOX). None for a bare wire."""
    above = []
    words = " ".join(filter(None, [name, shape]))
    if words:
        above.append(f'<font color="{NAME_COLOUR}">{html.escape(words)}</font>')
    if value is not None and value != BOX:
        above.append(f'<font color="{VALUE_COLOUR}">{html.escape(value)}</font>')
    below = [f'<font color="{colour}">{html.escape(gradient)}</font>'] \
        if gradient is not None and gradient != BOX else []
    if not above and not below and BOX not in (value, gradient):
        return None
    rows = [f"<tr><td>{row}</td></tr>" for row in above]
    if value == BOX:
        rows.append(BOX_CELL)
    rows.append(f'<tr><td port="line" height="1" cellpadding="0" bgcolor="{WIRE_COLOUR}">'
                f'</td></tr>')
    if gradient == BOX:
        rows.append(BOX_CELL)
    rows += [f"<tr><td>{row}</td></tr>" for row in below]
    return ('<<table border="0" cellborder="0" cellspacing="0" cellpadding="1">'
            + "".join(rows) + "</table>>")
