"""flatgrad: a formula in, flat and readable reverse-mode gradient code out."""
__version__ = "0.1.0"

from .api import Compiled, check, compile, parse_point  # noqa: E402
from .errors import FlatgradError, FlatgradWarning  # noqa: E402
from .points import random_point  # noqa: E402

__all__ = ["Compiled", "FlatgradError", "FlatgradWarning", "check", "compile", "parse_point",
           "random_point", "__version__"]
