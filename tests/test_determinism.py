"""The same input gives byte-identical output across runs, processes and hash seeds."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Everything flatgrad writes for a handful of formulas that exercise naming
# collisions, forks, helpers, the guard table, the three profiles and gate levels.
SCRIPT = r"""
import hashlib, sys
import flatgrad
from flatgrad import cli

FORMULAS = [
    "(x+σ(y))/(σ(x)+(x+y)²)",
    "a = log(x); b = a*y + softplus(a); error = b/a; STAGES = error*math; STAGES + f",
    "max(x, y, z) + logaddexp(x, z) * hypot(y, z) - abs(x - z)",
    " + ".join(f"sin(x{i % 7} * x{(i * 3) % 7})" for i in range(60)),
    # lean folds that would grow a line too long: printed by name, in their own order
    "(min(max(0, pi), min(1.0, x)) - max(2, 0.5) + sqrt(e)) * x + abs(σ(3) ** y)",
]
digest = hashlib.sha256()
for text in FORMULAS:
    for options in ({}, {"profile": "teach"}, {"profile": "lean"},
                    {"gates": "primitive", "names": "numbered"},
                    {"grad_prefix": "grad_", "name": "loss"}):
        compiled = flatgrad.compile(text, **options)
        digest.update(compiled.source.encode())
        point = {name: 0.5 + 0.1 * k for k, name in enumerate(compiled.inputs)}
        digest.update(compiled.source_at(**point).encode())
    digest.update(str(flatgrad.check(text)).encode())
print(digest.hexdigest())
"""


def run(seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=True)
    return done.stdout.strip()


def test_output_is_byte_identical_across_hash_seeds_and_processes():
    digests = {seed: run(seed) for seed in ("0", "1", "4242", "random")}
    assert len(set(digests.values())) == 1, digests
    assert len(next(iter(digests.values()))) == 64


def test_output_is_byte_identical_within_a_process():
    import flatgrad
    first = flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)").source
    again = flatgrad.compile("(x+σ(y))/(σ(x)+(x+y)²)").source
    assert first == again
    assert hashlib.sha256(first.encode()).hexdigest() == \
        hashlib.sha256(flatgrad.compile("(x + σ(y)) / (σ(x) + (x + y)**2)").source
                       .encode()).hexdigest()
