"""What the handout, diagram and worksheet tests share: running the command line,
the seed examples, reading the wires of a DOT circuit."""
from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "(x+σ(y))/(σ(x)+(x+y)²)"
REFERENCE_POINT = "x=3,y=-4"
NEURON = "dot = w0*x0 + w1*x1 + w2; f = σ(dot)"
NEURON_POINT = "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"


def run_cli(*args, cwd=None, env=None, check=True) -> subprocess.CompletedProcess:
    environment = dict(os.environ if env is None else env)
    environment["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "flatgrad", *args], cwd=cwd or ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def eval_numbers(expr: str, point: str) -> dict[str, str]:
    """`flatgrad eval`'s printed numbers, by name (f, df/dx, ...)."""
    out = run_cli("eval", expr, "--at", point).stdout
    return dict(line.split(" = ") for line in out.strip().splitlines())


def dot_edges(dot_text: str) -> list[dict]:
    """Each edge of flatgrad's DOT: tail and head labels, the stage name it carries,
    its green value and red gradient."""
    labels = {node: html.unescape(angled or quoted) for node, angled, quoted in re.findall(
        r"^\s*(\w+) \[shape=\w+, .*?label=(?:<(.*?)>|\"(.*?)\")", dot_text, re.M)}
    edges = []
    for tail, head, label in re.findall(r"^\s*(\w+) -> (\w+) \[label=(.*)\];$", dot_text, re.M):
        green = re.findall(r'<font color="#2e7d32">(.*?)</font>', label)
        red = re.findall(r'<font color="#c62828">(.*?)</font>', label)
        name = re.findall(r'<font color="#777777">(.*?) </font>', label)
        edges.append({"tail": labels[tail], "head": labels[head], "name": name[0] if name else "",
                      "value": float(green[0]) if green else None,
                      "grad": float(red[0]) if red else None})
    return edges
