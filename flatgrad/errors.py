"""The one error type flatgrad raises for bad input, with a caret under the column."""
from __future__ import annotations

import unicodedata


class FlatgradError(ValueError):
    """Bad input: says what is wrong and, when it knows, where (line, column)."""

    def __init__(self, message: str, source: str | None = None, line: int = 0, col: int = 0,
                 width: int = 1, hint: str | None = None):
        self.message = message
        self.source = source
        self.line = line      # 0-based line of `source`
        self.col = col        # 0-based column, in characters (not UTF-8 bytes)
        self.width = max(1, width)
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        parts = [self.message]
        if self.source is not None:
            lines = self.source.split("\n") or [""]
            text = lines[min(self.line, len(lines) - 1)].expandtabs(1)
            where = f"line {self.line + 1}, column {self.col + 1}"
            before, under = text[:self.col], text[self.col:self.col + self.width]
            parts = [f"{self.message} (at {where})" if len(lines) > 1 or self.col else self.message,
                     "  " + text,
                     "  " + " " * _display_width(before) + "^" * max(1, _display_width(under))]
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


def _display_width(text: str) -> int:
    """Terminal columns: a combining accent takes none, a wide (CJK) character two,
    so that the caret lands under the character that `col` counts to."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


class FlatgradWarning(UserWarning):
    """Something flatgrad did differently from what was asked, and why."""
