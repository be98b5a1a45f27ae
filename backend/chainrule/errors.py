"""The one exception type for mistakes a user can make."""

from __future__ import annotations

Span = tuple[int, int]


class ChainruleError(Exception):
    """A user's mistake: a message a student understands and, where it lies in the source, a span.

    `span` is a half-open range of character offsets `[start, end)` into the source text.
    `kind` is a short machine-readable name (`syntax`, `unknown_name`, `shape`, `limit`, ...).
    """

    def __init__(self, message: str, span: Span | None = None, kind: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.kind = kind
