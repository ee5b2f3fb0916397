"""Generated C, compiled by the system C compiler and loaded through ctypes.

The shared library is cached in a directory keyed by a hash of the source, the
compiler and its flags, so the same formula compiles once per machine; it is
written under a temporary name and renamed into place, so a reader never sees
half a file. The flags, and why none changes a result:

- `-O3` (`-O1` for a very long function, see BIG): optimisation that keeps IEEE
  semantics (no `-ffast-math`: it would reorder sums, assume no inf or nan, and
  break the sigmoid's overflow branch);
- `-ffp-contract=off`: no fused multiply-adds, so every `a * b + c` rounds twice,
  as Python rounds it, and the scalar call returns the Python target's floats;
- `-fno-math-errno`: the math functions need not set `errno`, which the code
  never reads; this only lets the compiler call them without a side effect;
- `-march=native`: the machine's own vector width (the library is built for the
  machine that runs it, and the cache key holds the machine);
- `-DFLATGRAD_LIBMVEC -lmvec` (x86-64 Linux with glibc's libmvec): the loop over
  arrays calls libmvec's SIMD `exp`, `log`, ... four or eight points at a time.
  These are glibc's vector variants, accurate to 4 ulp (glibc's manual), so over
  arrays a result may differ from the scalar call in the last few bits.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import FlatgradError

INSTALL_CC = ("install a C compiler (Debian/Ubuntu: apt-get install gcc; Fedora: dnf install "
              "gcc; macOS: xcode-select --install), or set CC to one")
FLAGS = ("-ffp-contract=off", "-fno-math-errno", "-fno-semantic-interposition",
         "-fPIC", "-shared")
LIBMVEC = ("/usr/lib/x86_64-linux-gnu/libmvec.so", "/usr/lib64/libmvec.so", "/lib64/libmvec.so")


def compiler() -> list[str]:
    """The C compiler's command: $CC (which may hold flags), else cc or gcc."""
    named = os.environ.get("CC", "").split()
    candidates = [named] if named else [["cc"], ["gcc"]]
    for command in candidates:
        found = shutil.which(command[0])
        if found:
            return [found] + command[1:]
    name = named[0] if named else "cc"
    raise FlatgradError(f"target 'c' needs a C compiler, and {name!r} was not found: "
                        f"{INSTALL_CC}")


# GCC's register allocation takes time that grows faster than a function's length:
# at N = 1,000 terms of the benchmark family (30,000 lines, on a busy machine), -O3
# took 48 s and -O1 10 s, for about the same call. Above this many lines, -O1, and
# with GCC without the passes that cost the most time for the least gain there
# (measured at N = 1,000: 23% less compile time, the same call time). None of them
# changes a result.
BIG = 3000
BIG_GCC = ("-fdisable-rtl-combine", "-fno-dse", "-fno-forward-propagate", "-fno-tree-pta",
           "-fno-ipa-modref")


@lru_cache(maxsize=None)
def _is_gcc(command: tuple) -> bool:
    try:
        done = subprocess.run(list(command) + ["--version"], capture_output=True, text=True)
    except OSError:
        return False
    return "Free Software Foundation" in done.stdout and "clang" not in done.stdout


def flags(source: str, command: tuple = ()) -> list[str]:
    extra = ["-O3"]
    if source.count("\n") > BIG:
        extra = ["-O1"] + (list(BIG_GCC) if command and _is_gcc(command) else [])
    if platform.machine() in ("x86_64", "AMD64"):
        extra.append("-march=native")
    if sys.platform.startswith("linux") and platform.machine() == "x86_64" \
            and any(Path(p).exists() for p in LIBMVEC):
        extra += ["-DFLATGRAD_LIBMVEC"]
    return list(FLAGS) + extra


def cache_dir() -> Path:
    root = os.environ.get("FLATGRAD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "flatgrad")
    return Path(root) / "c"


def build(source: str) -> Path:
    """The shared library of `source`: from the cache, or compiled into it."""
    command = compiler()
    options = flags(source, tuple(command))
    key = hashlib.sha256("\0".join([source, *command, *options, platform.machine(),
                                    platform.platform()]).encode()).hexdigest()[:24]
    directory = cache_dir()
    library = directory / f"{key}.so"
    if library.exists():
        return library
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FlatgradError(f"cannot create the cache directory {directory}: "
                            f"{err.strerror}; set FLATGRAD_CACHE to a writable one") from None
    libraries = ["-lmvec"] if "-DFLATGRAD_LIBMVEC" in options else []
    with tempfile.TemporaryDirectory(dir=directory, prefix=".build-") as work:
        c_file, built = Path(work) / f"{key}.c", Path(work) / f"{key}.so"
        c_file.write_text(source, encoding="utf-8")
        try:
            done = subprocess.run(command + options + [str(c_file), "-o", str(built)]
                                  + libraries + ["-lm"], capture_output=True, text=True)
        except OSError as err:
            raise FlatgradError(f"cannot run the C compiler {command[0]}: {err.strerror}; "
                                f"{INSTALL_CC}") from None
        if done.returncode != 0:
            raise FlatgradError(f"the C compiler {command[0]} failed on the generated code:\n"
                                + done.stderr.strip()[-2000:])
        os.replace(built, library)   # atomic: another process sees all of it or none
    return library


class Library:
    """The three functions of a compiled module, called from Python: scalars in,
    floats out; or arrays that broadcast together in, arrays out. The source is
    compiled on the first call (writing the C source out needs no compiler)."""

    def __init__(self, source: str, function: str, value_and_grad: str, array_function: str,
                 arity: int, grads: int):
        self.source, self.names = source, (function, value_and_grad, array_function)
        self.arity, self.count = arity, grads
        self.buffer = ctypes.c_double * max(grads, 1)
        self.value = self.both = self.array = None

    def load(self) -> None:
        handle = ctypes.CDLL(str(build(self.source)))
        function, value_and_grad, array_function = self.names
        value = getattr(handle, function)
        value.restype = ctypes.c_double
        value.argtypes = [ctypes.c_double] * self.arity
        both = getattr(handle, value_and_grad)
        both.restype = ctypes.c_double
        both.argtypes = [ctypes.c_double] * self.arity + [ctypes.POINTER(ctypes.c_double)]
        if self.arity:
            self.array = getattr(handle, array_function)
            self.array.restype = None
            self.array.argtypes = [ctypes.c_long] + [ctypes.c_void_p] * (self.arity + 1
                                                                          + self.count)
        self.value, self.both = value, both

    def functions(self, name: str, value_doc: str, gradient_doc: str):
        """Python functions `name` and `name_and_grad` calling the library."""
        buffer, count, over_arrays = self.buffer, self.count, self.over_arrays
        value = both = None

        def loaded():
            nonlocal value, both
            if self.value is None:
                self.load()
            value, both = self.value, self.both

        def value_function(*args):
            if value is None:
                loaded()
            if _any_array(args):
                return over_arrays(args)[0]
            try:
                return value(*args)
            except ctypes.ArgumentError:   # a numpy scalar or a 0-d array
                return value(*[float(a) for a in args])

        def gradient_function(*args):
            if both is None:
                loaded()
            if _any_array(args):
                return over_arrays(args)
            grad = buffer()
            try:
                result = both(*args, grad)
            except ctypes.ArgumentError:
                result = both(*[float(a) for a in args], grad)
            return result, tuple(grad[:count])

        for function, called, doc in ((value_function, name, value_doc),
                                       (gradient_function, name + "_and_grad", gradient_doc)):
            function.__name__ = function.__qualname__ = called
            function.__doc__ = doc
        return value_function, gradient_function

    def over_arrays(self, args):
        inputs = [np.ascontiguousarray(a) for a in
                  np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in args])]
        shape = inputs[0].shape
        outs = [np.empty(shape) for _ in range(1 + self.count)]
        self.array(inputs[0].size, *[a.ctypes.data for a in inputs],
                   *[o.ctypes.data for o in outs])
        return outs[0], tuple(outs[1:])


def _any_array(args) -> bool:
    for arg in args:
        if type(arg) is not float and np.ndim(arg):
            return True
    return False
