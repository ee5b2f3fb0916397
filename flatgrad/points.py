"""Points: the values a formula is evaluated, annotated or checked at.

`--at` text is read by a small tokenizer of its own (names, `=`, commas, square
brackets and numbers), never by `eval` or `json`: `W=[[1,2],[3,4]],x=[1,-1],r=0.5`.
Commas inside brackets separate entries, `−` is a minus sign, and a bad
character is named with a caret under it. `--at random` makes a point of its
own: standard normal floats of every input's declared shape, integer labels in
range for the scores they label, each scalar of an array program (a hyperparameter:
reg, a learning rate) uniform in 0.05 .. 0.5, and each symbolic size (H, N, ...)
bound to one small size everywhere.
"""
from __future__ import annotations

import itertools
import math
import re
import unicodedata

import numpy as np

from .core.graph import shapes_under
from .core.shapes import describe
from .errors import FlatgradError

RANDOM = "random"
# Symbolic sizes are bound to small distinct sizes from here up, in order of
# first appearance: small enough for SymPy to differentiate every entry.
FIRST_SIZE = 2
MAX_DIMS = 32           # numpy 1's limit on dimensions (numpy 2 allows 64)
POSITIVE_FLOOR = 0.1    # `positive=True` points are |normal| + this (inside log, sqrt)
# --at random draws an array program's scalars (its hyperparameters) uniformly from here
HYPERPARAMETER_LOW, HYPERPARAMETER_HIGH = 0.05, 0.5

_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)",
                     re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?\d+")
_NAME = re.compile(r"[^\W\d]\w*")
_SEPARATORS = ",=[]"
_EXAMPLE = "write a point as x=3,y=-4 or W=[[1,2],[3,4]]"


# -- reading --at text ------------------------------------------------------------

def parse_point(text: str) -> dict:
    """'x=3,y=-4' -> {'x': 3.0, 'y': -4.0}; 'W=[[1,2],[3,4]]' -> {'W': array(...)}.

    Scalars become floats, lists numpy arrays (of ints where every entry is
    written as an integer, as numpy reads them; of floats otherwise). Nothing in
    the text is ever executed."""
    if not isinstance(text, str):
        raise FlatgradError(f"a point is text such as 'x=3,y=-4', not {type(text).__name__}")
    return _PointReader(text).read()


class _PointReader:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self, message: str, col: int, width: int = 1, hint: str | None = None):
        raise FlatgradError(message, self.text, 0, col, width, hint)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def word(self) -> tuple[str, int]:
        """The run of characters up to the next separator or space, and where it starts."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _SEPARATORS \
                and not self.text[self.pos].isspace():
            self.pos += 1
        return self.text[start:self.pos], start

    def read(self) -> dict:
        point: dict = {}
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                return point
            if self.text[self.pos] == ",":       # empty items are let pass: x=1,,y=2,
                self.pos += 1
                continue
            start = self.pos
            match = _NAME.match(self.text, start)
            self.pos = match.end() if match else start
            # as Python and the formula's tokenizer do: full-width ｘ is x
            name = unicodedata.normalize("NFKC", self.text[start:self.pos])
            if not name.isidentifier():
                self.pos = start
                word, _ = self.word()
                self.fail(f"expected an input name, found {word or self.text[start]!r}", start,
                          max(1, len(word)), hint=_EXAMPLE)
            self.skip_space()
            if self.pos >= len(self.text) or self.text[self.pos] != "=":
                found = "the end" if self.pos >= len(self.text) else repr(self.text[self.pos])
                self.fail(f"expected '=' after {name}, found {found}",
                          min(self.pos, len(self.text)), hint=_EXAMPLE)
            self.pos += 1
            if name in point:
                self.fail(f"{name} is given twice", start, len(name))
            point[name] = self.value(name)
            self.skip_space()
            if self.pos < len(self.text) and self.text[self.pos] == "]":
                self.fail(f"unmatched ']' after {name}", self.pos)
            if self.pos < len(self.text) and self.text[self.pos] != ",":
                self.fail(f"expected ',' before the next input, found "
                          f"{self.text[self.pos]!r}", self.pos, hint=_EXAMPLE)

    def value(self, name: str):
        """A number, or nested lists of numbers, read with an explicit stack."""
        # Each open list: [start column, entries, the shape of its first entry]
        stack: list[list] = []
        integral = True
        while True:
            self.skip_space()
            if self.pos >= len(self.text) or self.text[self.pos] in ",]=":
                found = "the end" if self.pos >= len(self.text) else repr(self.text[self.pos])
                self.fail(f"expected a number or '[' for {name}, found {found}",
                          min(self.pos, len(self.text)), hint=_EXAMPLE)
            if self.text[self.pos] == "[":
                if len(stack) == MAX_DIMS:
                    self.fail(f"{name} nests lists more than {MAX_DIMS} deep: numpy arrays "
                              f"have at most {MAX_DIMS} dimensions", self.pos)
                stack.append([self.pos, [], None])
                self.pos += 1
                self.skip_space()
                if self.pos < len(self.text) and self.text[self.pos] == "]":
                    self.fail(f"an empty list in {name}: every dimension needs an entry",
                              stack[-1][0], self.pos - stack[-1][0] + 1)
                continue
            word, start = self.word()
            number = word.replace("−", "-")
            if not _NUMBER.fullmatch(number):
                hint = "write arrays with square brackets, e.g. [1, 2]" if "(" in word else None
                self.fail(f"{word!r} is not a number (in {name})", start, len(word), hint)
            integral = integral and bool(_INTEGER.fullmatch(number)) and abs(int(number)) < 2**53
            entry, shape = float(number), ()
            if entry in (float("inf"), float("-inf")) and "inf" not in number.lower():
                self.fail(f"{word} is too large for a float (in {name})", start, len(word))
            # close every list this entry ends, and go on to the next entry
            while True:
                if not stack:
                    return _as_array(entry, shape, integral)
                self.add(stack[-1], entry, shape, start, name)
                self.skip_space()
                if self.pos < len(self.text) and self.text[self.pos] == ",":
                    self.pos += 1
                    self.skip_space()
                    if self.pos < len(self.text) and self.text[self.pos] == "]":
                        pass                     # a trailing comma: [1, 2,]
                    else:
                        break
                if self.pos >= len(self.text):
                    self.fail(f"'[' is never closed (in {name})", stack[-1][0])
                if self.text[self.pos] != "]":
                    self.fail(f"expected ',' or ']' in {name}, found {self.text[self.pos]!r}",
                              self.pos)
                self.pos += 1
                opened, entries, inner = stack.pop()
                entry, shape, start = entries, (len(entries),) + inner, opened

    def add(self, frame: list, entry, shape: tuple, start: int, name: str) -> None:
        if frame[2] is None:
            frame[2] = shape
        elif frame[2] != shape:
            if not shape or not frame[2]:
                message = f"{name} mixes numbers and lists in one list"
            else:
                message = (f"the rows of {name} have different shapes: {describe(frame[2])} "
                           f"and {describe(shape)}")
            self.fail(message, start, max(1, self.pos - start),
                      hint="every row of an array needs the same number of entries")
        frame[1].append(entry)


def _as_array(entry, shape: tuple, integral: bool):
    if not shape:
        return entry
    array = np.array(entry, dtype=np.float64)
    return array.astype(np.int64) if integral else array


# -- completing a point for a compiled program ---------------------------------------

def complete_point(inputs, point, shapes=None, integer=None) -> dict:
    """Every input's value: scalars as floats and arrays as numpy arrays. With
    `shapes` (the declared shapes) a list given for a scalar is refused; with
    `integer` (the inputs that hold class labels) labels become ints and every other
    array floats; without it, arrays keep their dtype."""
    if not isinstance(point, dict):
        raise FlatgradError(f"a point is a dict of input values, not {type(point).__name__}")
    missing = [n for n in inputs if n not in point]
    extra = [n for n in point if n not in inputs]
    if missing or extra:
        problems = []
        if missing:
            problems.append("no value for " + ", ".join(missing))
        if extra:
            problems.append(", ".join(map(str, extra)) + " is not an input")
        raise FlatgradError("; ".join(problems) + f" (the inputs are {', '.join(inputs)})")
    return {n: _typed(n, point[n], None if shapes is None else shapes.get(n, ()),
                      None if integer is None else n in integer) for n in inputs}


def _typed(name: str, value, shape: tuple | None, label: bool | None):
    """The value as the generated code takes it; `shape` None: not known."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):     # ragged nested lists
        raise FlatgradError(f"the value of {name} is not an array of numbers") from None
    if array.dtype.kind not in "biuf":
        raise FlatgradError(f"the value of {name} is not a number or an array of numbers "
                            f"(got {type(value).__name__})")
    if shape == () and array.ndim:
        raise FlatgradError(f"{name} should be a scalar, got {describe(array.shape)}")
    if label:
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise FlatgradError(f"{name} holds class labels and must be integers")
        return int(array) if not shape and not array.ndim else array.astype(np.int64)
    if not array.ndim and not shape:
        return float(array)
    return array.astype(np.float64) if label is not None else array


def point_for(compiled, text: str, seed: int = 0) -> dict:
    """The complete point `--at TEXT` names for `compiled` ('random': a random one),
    typed and checked against the declared shapes."""
    if text.strip() == RANDOM:
        point = random_point(compiled.graph, seed)
    else:
        point = parse_point(text)
    point = complete_point(compiled.inputs, point, compiled.shapes, compiled.graph.integer)
    compiled.check_shapes(*[point[name] for name in compiled.inputs])
    check_labels(compiled.graph, point)
    for name in compiled.graph.lists:   # a list input is a Python list of floats
        point[name] = [float(entry) for entry in point[name]]
    return point


def check_labels(graph, point: dict) -> None:
    """Raise FlatgradError unless every class label lies in [0, C), C the number of
    classes of the scores it labels (numpy would index from the end with -1)."""
    graph = getattr(graph, "graph", graph)
    if not graph.integer:
        return
    try:
        of = shapes_under(graph, {name: np.shape(point[name]) for name in graph.inputs})
    except FlatgradError:
        return   # the shapes are wrong: check_shapes says how
    for name, classes in _class_counts(graph, of).items():
        labels = np.asarray(point[name])
        bad = np.argwhere((labels < 0) | (labels >= classes))
        if len(bad):
            entry = tuple(int(i) for i in bad[0])
            where = f"{name}[{','.join(map(str, entry))}]" if entry else name
            raise FlatgradError(f"{where} is {labels[entry]}, but a class label must lie in "
                                f"[0, {classes}): the scores it labels have {classes} classes "
                                "down axis 0")


# -- random points ----------------------------------------------------------------------

def random_point(graph, seed: int = 0, positive: bool = False) -> dict:
    """A point for every input of `graph` (or of a Compiled): standard normal floats
    of each declared shape (|normal| + 0.1 with `positive`), a scalar beside arrays
    uniform in [0.05, 0.5] (a hyperparameter, never negative), integer labels in
    [0, C) where C is the number of classes of the scores they label, and every
    symbolic size bound to a small size (the same symbol the same size everywhere,
    deterministically, whatever the seed)."""
    graph = getattr(graph, "graph", graph)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise FlatgradError(f"the seed must be an integer, not {seed!r}")
    concrete, of = bind_sizes(graph)
    classes = _class_counts(graph, of)
    rng = np.random.default_rng(seed)
    point: dict = {}
    for name in graph.inputs:
        shape = concrete[name]
        if name in graph.integer:
            labels = rng.integers(0, classes.get(name, 1), size=shape)
            point[name] = int(labels) if not shape else labels
            continue
        values = rng.standard_normal(shape)
        if not shape and graph.has_arrays:
            # a scalar beside arrays is a hyperparameter (reg, a learning rate): a negative
            # one would turn the regulariser around. The normal draw is mapped through its
            # own distribution function, so every other input keeps its value.
            uniform = 0.5 * (1.0 + math.erf(float(values) / math.sqrt(2.0)))
            low, high = HYPERPARAMETER_LOW, HYPERPARAMETER_HIGH
            point[name] = low + (high - low) * uniform
            continue
        if positive:
            values = np.abs(values) + POSITIVE_FLOOR
        point[name] = float(values) if not shape else values
    return point


def symbols_of(graph) -> list[str]:
    """The symbolic sizes of the inputs' shapes, in order of first appearance."""
    graph = getattr(graph, "graph", graph)
    seen: dict[str, None] = {}
    for name in graph.inputs:
        for dim in graph.shape_of(name):
            if isinstance(dim, str):
                seen.setdefault(dim, None)
    return list(seen)


def bind_sizes(graph) -> tuple[dict[str, tuple], dict[int, tuple]]:
    """Concrete shapes for every input (each symbol one small size) under which the
    whole program's shapes work out, and the shape of every node under them."""
    graph = getattr(graph, "graph", graph)
    names = symbols_of(graph)
    declared = {name: graph.shape_of(name) for name in graph.inputs}
    tried = 0
    # distinct small sizes in order of first appearance; where a kernel must fit
    # inside an image (conv2d) another order, or larger sizes, may be needed
    for offset in range(8):
        sizes = list(range(FIRST_SIZE + offset, FIRST_SIZE + offset + len(names)))
        for order in itertools.islice(itertools.permutations(sizes), 120):
            tried += 1
            binding = dict(zip(names, order))
            concrete = {name: tuple(binding.get(d, d) for d in shape)
                        for name, shape in declared.items()}
            try:
                return concrete, shapes_under(graph, concrete)
            except FlatgradError:
                continue
    raise FlatgradError(f"found no small sizes for {', '.join(names)} under which the shapes "
                        "of this program fit; give a point with --at")


def sizes_of(graph) -> dict[str, int]:
    """The size `random_point` binds each symbol to."""
    graph = getattr(graph, "graph", graph)
    concrete, _ = bind_sizes(graph)
    out: dict[str, int] = {}
    for name in graph.inputs:
        for dim, size in zip(graph.shape_of(name), concrete[name]):
            if isinstance(dim, str):
                out.setdefault(dim, size)
    return out


def _class_counts(graph, of: dict[int, tuple]) -> dict[str, int]:
    """For each label input, the number of classes of the scores it labels (axis 0 of
    the gate's other operand; the fewest if it labels several)."""
    counts: dict[str, int] = {}
    for node in graph.nodes:
        if node.kind != "stage" or not node.gate.labels:
            continue
        others = [a for i, a in enumerate(node.args) if i not in node.gate.labels]
        scores = of[others[0]] if others else ()
        classes = int(scores[0]) if scores and isinstance(scores[0], int) else 1
        for i in node.gate.labels:
            label = graph.nodes[node.args[i]]
            if label.kind == "input":
                counts[label.name] = min(counts.get(label.name, classes), classes)
    return counts


# -- printing -------------------------------------------------------------------------

def show(value, prefix: str = "") -> str:
    """`prefix` and the value: scalars to 6 significant digits, arrays by numpy's
    own printing with 6 decimals (continuation lines aligned under the first), and
    a Python list (a list input or its gradient) as the notes print one,
    [0.393224, -0.589836]."""
    if isinstance(value, list):
        return prefix + "[" + ", ".join(show(entry) for entry in value) + "]"
    if np.ndim(value) == 0:
        return f"{prefix}{float(value) + 0.0:.6g}"
    array = np.asarray(value)
    if array.dtype.kind == "f":
        array = array + 0.0     # -0.0 prints as 0.
    text = np.array2string(array, precision=6, separator=", ", prefix=prefix,
                           max_line_width=100)
    return prefix + text
