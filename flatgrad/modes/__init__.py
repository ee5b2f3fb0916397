"""The modes beside plain reverse mode, each a plan transformation with its own
emitter: forward mode and second derivatives (tangent.py: f_jvp, f_hvp,
f_hessian) and the reverse plan split at the output's gradient (split.py: f_forward
and f_backward, a layer class, the torch and jax exports)."""
from __future__ import annotations

from . import split, tangent
from .split import EXPORTS, Modular, Split
from .tangent import Tangent, call, source

MODES = ("reverse",) + tangent.MODES + split.MODES

__all__ = ["EXPORTS", "MODES", "Modular", "Split", "Tangent", "call", "source", "split", "tangent"]
