"""How a compiled formula shows itself in Jupyter: its circuit and its code.

The circuit is drawn when Graphviz is installed and left out otherwise, so a
notebook without it still shows the code.
"""
from __future__ import annotations

from . import diagram
from .highlight import python_html
from ..core.plan import Plan

_STYLE = """<style>
.flatgrad-code .keyword { color: #7b2c9b; font-weight: 600; }
.flatgrad-code .function { color: #1f5fa8; font-weight: 600; }
.flatgrad-code .number { color: #a0522d; }
.flatgrad-code .string { color: #6a7d2a; }
.flatgrad-code .comment { color: #2e7d32; }
</style>"""


def circuit_svg(plan: Plan) -> str | None:
    """The circuit as inline SVG, or None when Graphviz cannot draw it here."""
    if not diagram.available():
        return None
    try:
        return diagram.inline_svg(diagram.dot_source(plan))
    except OSError:
        return None


def as_html(plan: Plan, source: str) -> str:
    svg = circuit_svg(plan)
    figure = f'<div class="flatgrad-circuit">{svg}</div>' if svg else ""
    return (f'{_STYLE}<div class="flatgrad">{figure}'
            f'<pre class="flatgrad-code">{python_html(source)}</pre></div>')


def as_markdown(plan: Plan, source: str) -> str:
    svg = circuit_svg(plan)
    figure = f"{svg}\n\n" if svg else ""
    return f"{figure}```python\n{source}```\n"


