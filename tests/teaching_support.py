"""What the handout, diagram and worksheet tests share: running the command line,
the seed examples, reading the wires of a DOT circuit."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "(x+σ(y))/(σ(x)+(x+y)²)"
REFERENCE_POINT = "x=3,y=-4"
NEURON = "dot = w0*x0 + w1*x1 + w2; f = σ(dot)"
NEURON_POINT = "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") \
    or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                    "(apt-get install chromium); CI installs it")


def chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    """Headless Chromium, with the flags this closed network needs."""
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run(flags + list(args), capture_output=True, text=True, timeout=120,
                          check=True)


def layout(tmp_path, page: Path, script: str, *flags) -> dict:
    """What Chromium laid out in `page`: `script`, JavaScript that sets `report` (with
    `box(el)` for an element's bounding box), run in a copy of the page and its report
    read back from the DOM, where --dump-dom shows it."""
    probe = ("<script>\nconst box = el => el.getBoundingClientRect();\n" + script +
             "\nconst out = document.createElement('pre');\nout.id = 'layout';\n"
             "out.textContent = JSON.stringify(report);\ndocument.body.appendChild(out);\n"
             "</script>")
    probed = page.with_name(page.stem + "-probed.html")
    probed.write_text(page.read_text().replace("</body>", probe + "</body>"))
    dom = chromium(tmp_path, *flags, "--dump-dom", probed.as_uri()).stdout
    return json.loads(html.unescape(re.search(r'<pre id="layout">(.*?)</pre>', dom).group(1)))


class _WellFormed(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []

    def handle_starttag(self, tag, attrs):
        if tag not in ("meta", "br", "wbr"):
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def assert_well_formed(page: str) -> None:
    """Every tag of an HTML page closed, in order (void tags aside)."""
    checker = _WellFormed()
    checker.feed(page)
    assert checker.stack == []


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


def _circuit_wires(dot_text: str) -> list[dict]:
    """The wires of flatgrad's DOT circuit, each from the node it leaves to the node it
    enters (a branch of a fork from the forked node), with its label's HTML text (""
    for a bare wire) and its kind: "wire", "trunk" (into a fork) or "branch"."""
    nodes = {}
    for node, kind, rest in re.findall(r'^\s*(\w+) \[id="\w+", class="([^"]*)", (.*)\];$',
                                       dot_text, re.M):
        angled = re.search(r"label=<(.*)>(?:, |$)", rest)
        quoted = re.search(r'label="(.*?)"', rest)
        nodes[node] = (kind.split()[0], angled.group(1) if angled else
                       quoted.group(1) if quoted else "")
    into, out_of = {}, {}
    bare = []
    for tail, head, attributes in re.findall(r"^\s*(\w+)(?::\w+:\w)? -> (\w+)(?::\w+:\w)? "
                                             r"\[(.*)\];$", dot_text, re.M):
        if 'class="wire' not in attributes:
            continue
        if nodes.get(head, ("",))[0] == "wire":
            into[head] = tail
        elif nodes.get(tail, ("",))[0] == "wire":
            out_of[tail] = head
        else:
            bare.append((tail, head, ""))
    runs = bare + [(into[w], out_of[w], nodes[w][1]) for w in into]
    source = {head: tail for tail, head, _ in runs if nodes[head][0] == "fork"}
    wires = []
    for tail, head, label in runs:
        kind = "branch" if nodes[tail][0] == "fork" else \
            "trunk" if nodes[head][0] == "fork" else "wire"
        named = source[tail] if kind == "branch" else tail
        wires.append({"tail": html.unescape(nodes[named][1]),
                      "head": "fork" if kind == "trunk" else html.unescape(nodes[head][1]),
                      "kind": kind, "label": label})
    return wires


def dot_edges(dot_text: str) -> list[dict]:
    """Each wire of flatgrad's DOT: tail and head labels, the stage name it carries,
    its green value and red gradient (and its kind: wire, trunk or branch)."""
    edges = []
    for wire in _circuit_wires(dot_text):
        label = wire["label"]
        green = re.findall(r'<font color="#2e7d32">(.*?)</font>', label)
        red = re.findall(r'<font color="#c62828">(.*?)</font>', label)
        name = re.findall(r'<font color="#777777">(.*?)</font>', label)
        edges.append({"tail": wire["tail"], "head": wire["head"], "kind": wire["kind"],
                      "name": name[0] if name else "",
                      "value": float(green[0]) if green else None,
                      "grad": float(red[0]) if red else None})
    return edges


def dot_wires(dot_text: str) -> list[dict]:
    """Each wire of flatgrad's DOT as text: tail and head labels, and the grey, green
    and red rows of its label (over arrays the grey row is the name and shape)."""
    wires = []
    for wire in _circuit_wires(dot_text):
        def rows(colour):
            return [html.unescape(text) for text in
                    re.findall(rf'<font color="{colour}">(.*?)</font>', wire["label"])]
        grey, green, red = rows("#777777"), rows("#2e7d32"), rows("#c62828")
        wires.append({"tail": wire["tail"], "head": wire["head"], "kind": wire["kind"],
                      "grey": grey[0].strip() if grey else "",
                      "value": green[0] if green else None, "grad": red[0] if red else None})
    return wires
