"""Python syntax highlighting as HTML spans, done when the page is written.

Python's own tokenizer splits the generated module; each token that deserves a
colour is wrapped in a span whose class the handout's stylesheet colours, so
the page needs no script to show highlighted code.
"""
from __future__ import annotations

import html
import io
import keyword
import tokenize

_CLASSES = {tokenize.COMMENT: "comment", tokenize.STRING: "string", tokenize.NUMBER: "number",
            tokenize.OP: "operator"}


def python_html(source: str) -> str:
    """`source` as HTML, each keyword, number, string, comment and operator in a span."""
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return html.escape(source)   # not Python after all: shown as it is, uncoloured
    out, position = [], 0
    previous = None
    for token in tokens:
        css = _css_class(token, previous)
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                              tokenize.DEDENT, tokenize.ENDMARKER):
            previous = token
        if css is None:
            continue
        start = offsets[token.start[0] - 1] + token.start[1]
        end = offsets[token.end[0] - 1] + token.end[1]
        out.append(html.escape(source[position:start]))
        out.append(f'<span class="{css}">{html.escape(source[start:end])}</span>')
        position = end
    out.append(html.escape(source[position:]))
    return "".join(out)


def _css_class(token, previous) -> str | None:
    if token.type == tokenize.NAME:
        if keyword.iskeyword(token.string):
            return "keyword"
        if previous is not None and previous.string == "def":
            return "function"
        return None
    return _CLASSES.get(token.type)
