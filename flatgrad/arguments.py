"""The arguments of `flatgrad.compile` as a JAX user writes them, normalised once.

- `inputs` and `wrt` follow one spelling rule: a list or tuple of names, or a
  string of names separated by commas or spaces ("x,y", "x y").
- `wrt` may also give input positions, as JAX's argnums does: `0`, `(0, 1)`,
  `-1`, mixed with names if you like.
- One name or one position (`wrt="x"`, `wrt=0`) asks for the bare gradient, as
  `jax.grad(f, argnums=0)` returns it; a list or tuple (even of one), or a
  string listing several names, asks for a tuple. The generated module's own
  `f_and_grad` always returns a tuple; the bare form is the compiled
  callable's (api.Compiled).
- A Python function's default values apply when the compiled callable is
  called (`def f(x, y=2.0)` may be called as `g(3.0)`).
"""
from __future__ import annotations

import copy
import numbers
import re

from .errors import FlatgradError

_SEPARATORS = re.compile(r"[\s,]+")


def names(value, what: str = "inputs") -> tuple[str, ...] | None:
    """A list/tuple of names, or "x,y" / "x y", as a tuple of names; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        items = _split(value, what)
    elif isinstance(value, (list, tuple)):
        items = tuple(value)
    else:
        raise FlatgradError(f"{what} must be names, as a list such as ('x', 'y') or a "
                            f"string such as 'x,y'; not {value!r}")
    for item in items:
        _check_name(item, what)
    return items


def wrt(value) -> tuple[tuple | None, bool]:
    """`wrt` as (names and positions, bare): bare when one name or one position was
    given on its own, so that the gradient comes back without a tuple around it."""
    if value is None:
        return None, False
    if _is_position(value):
        return (value,), True
    if isinstance(value, str):
        items = _split(value, "wrt")
        for item in items:
            _check_name(item, "wrt")
        return items, len(items) == 1 and not _SEPARATORS.search(value.strip())
    if isinstance(value, (list, tuple)):
        for item in value:
            if not _is_position(item):
                _check_name(item, "wrt")
        return tuple(value), False
    raise FlatgradError(f"wrt must be input names or positions, e.g. 'x', 0, ('x', 'y') or "
                        f"(0, 1); not {value!r}")


def resolve_wrt(spec, inputs) -> tuple[str, ...] | None:
    """Input positions in `spec` replaced by the names of `inputs` (negative ones count
    from the end, as in JAX)."""
    if spec is None:
        return None
    inputs = tuple(inputs)
    resolved = []
    for item in spec:
        if _is_position(item):
            position = int(item)
            if not -len(inputs) <= position < len(inputs):
                raise FlatgradError(_out_of_range(position, inputs))
            item = inputs[position]
        resolved.append(item)
    return tuple(resolved)


def _out_of_range(position: int, inputs) -> str:
    if not inputs:
        return f"wrt={position} is out of range: the formula has no inputs"
    return (f"wrt={position} is out of range: the inputs are {', '.join(inputs)}, at "
            f"positions 0 to {len(inputs) - 1} (or -{len(inputs)} to -1 from the end)")


def with_tuples(compiled):
    """`compiled`, or where it returns a bare gradient a copy that returns the tuple,
    for code that reads the gradients in wrt order (the gradient check)."""
    if not getattr(compiled, "bare", False):
        return compiled
    tuples = copy.copy(compiled)
    tuples.value_and_grad = compiled.value_and_grads
    return tuples


def merged_point(texts) -> str:
    """Several `--at` texts as one point ('x=3', 'y=-4' -> 'x=3,y=-4'); a name given
    twice is an error rather than a silent choice."""
    seen: dict[str, str] = {}
    for text in texts:
        for part in filter(None, (p.strip() for p in _top_level(text))):
            name = part.partition("=")[0].strip()
            if name in seen:
                raise FlatgradError(f"--at gives {name} twice ({seen[name]} and {part}); "
                                    "a point has one value per input")
            seen[name] = part
    return ",".join(texts)


def _top_level(text: str) -> list[str]:
    """`text` split at the commas outside brackets (W=[[1,2],[3,4]],x=1 is two parts)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


def _split(text: str, what: str) -> tuple[str, ...]:
    items = tuple(p for p in _SEPARATORS.split(text.strip()) if p)
    if not items:
        raise FlatgradError(f"{what} {text!r} names nothing: write names such as x,y")
    return items


def _check_name(item, what: str) -> None:
    if not isinstance(item, str):
        kind = "names or positions" if what == "wrt" else "names"
        raise FlatgradError(f"{what} must be {kind}, not {item!r}")
    if not item.isidentifier():
        example = "x,y" if what.startswith("--") else "'x,y' or ('x', 'y')"
        raise FlatgradError(f"{item!r} in {what} is not a name: write names such as {example}")
    if item == "σ":
        raise FlatgradError(f"σ in {what} is the sigmoid gate, not a variable: choose "
                            "another name")


def _is_position(item) -> bool:
    return isinstance(item, numbers.Integral) and not isinstance(item, bool)
