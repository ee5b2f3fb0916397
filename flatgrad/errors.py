"""The one error type flatgrad raises for bad input, with a caret under the column."""
from __future__ import annotations


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
            parts = [f"{self.message} (at {where})" if len(lines) > 1 or self.col else self.message,
                     "  " + text, "  " + " " * self.col + "^" * self.width]
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


class FlatgradWarning(UserWarning):
    """Something flatgrad did differently from what was asked, and why."""
