"""Styles: the listings of the course material, each a preset of options.

A style presets the stage names, the gradient prefix and the profile that one
listing of the notes uses, and adds the two things only a listing's layout
decides: the order of the factors in a chain-rule product, and whether the
output's own gradient gets a line (`grad_L = 1.0`). Options given beside a
style override its presets.

Factor orders:
- `local`: the local gradient first, in parentheses, `dx = (1) * dxpy` (the
  notes' staged computation; the profile's own spelling);
- `plain`: the local gradient first, bare where it binds tighter than `*`, a
  unit factor written `1.0`: `dfdx = 1.0 * dfdq`, `dx = w[0] * ddot` (the
  notes' first examples);
- `upstream`: the upstream gradient first and a unit factor dropped,
  `grad_x1 = grad_s1 * w1`, `grad_s2 = grad_s3` (the slides' flat code).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import FlatgradError

FACTOR_ORDERS = ("local", "plain", "upstream")


@dataclass(frozen=True)
class Style:
    name: str
    names: str              # stage naming: cs231n or numbered
    grad_prefix: str
    profile: str
    factors: str = "local"  # one of FACTOR_ORDERS
    seed: bool = False      # a line for the output's own gradient, d<out> = 1.0
    calls: bool = False     # a grouped gate written as a call of its name: sigmoid(s3)
    fuse: bool = False      # a named statement one line where it can be (core/fuse.py)
    listing: str = ""       # the listing it reproduces

    def chain(self, local: str, upstream: str) -> str | None:
        """The chain-rule product in this style's factor order (None: the profile's own)."""
        if self.factors == "local":
            return None
        if self.factors == "upstream":
            if local == "1":
                return upstream
            if local == "-1":
                return f"-{upstream}"
            return f"{upstream} * {_bare(local) or f'({local})'}"
        if local.lstrip("-").isdigit():
            return f"{local}.0 * {upstream}"
        return f"{_bare(local) or f'({local})'} * {upstream}"


def _bare(local: str) -> str:
    """`local` as it may stand beside a `*` without parentheses ("" if it may not)."""
    from .plan import _binds_tighter_than_times
    return local if _binds_tighter_than_times(local) else ""


STYLES = {style.name: style for style in (
    Style("cs231n", "cs231n", "d", "teach",
          listing="the notes' staged computation: sigy, num ... with dx = (1) * dxpy"),
    Style("plain", "cs231n", "d", "teach", factors="plain", fuse=True,
          listing="the notes' first examples: dfdx = 1.0 * dfdq, dx = [w[0] * ddot, ...]"),
    Style("slides", "numbered", "grad_", "teach", factors="upstream", seed=True, calls=True,
          listing="the slides' flat code: s0 ... s3, grad_L = 1.0, grad_x1 = grad_s1 * w1"),
)}


def resolve(style: Style | None, names, grad_prefix, profile) -> tuple[str, str, str]:
    """The naming, prefix and profile to use: each as given, else the style's, else
    the default."""
    return (names or (style.names if style else "cs231n"),
            grad_prefix if grad_prefix is not None else (style.grad_prefix if style else "d"),
            profile or (style.profile if style else "fast"))


def style_named(name: str | None) -> Style | None:
    if name is None:
        return None
    if name not in STYLES:
        raise FlatgradError(f"unknown style {name!r}; choose one of {tuple(STYLES)}")
    return STYLES[name]
