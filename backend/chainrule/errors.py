"""The one exception type for mistakes a user can make."""

from __future__ import annotations

import time

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


class Deadline:
    """A wall-clock budget for one computation, checked between nodes by the long loops."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self) -> None:
        """Raise a `timeout` ChainruleError once the budget is spent."""
        if time.monotonic() > self.end:
            raise ChainruleError(
                f"the computation took longer than {self.seconds:g} s and was stopped; "
                "try a smaller graph or skip the finite-difference check", None, "timeout")


def warning(kind: str, message: str, node: str | None = None,
            span: Span | list[int] | None = None,
            kink: dict[str, object] | None = None) -> dict[str, object]:
    """Something worth knowing that did not stop the computation, as the answer's `warnings`
    hold it. `kind` is a short machine-readable name (`override`, `non_finite`, `kink`, ...);
    a `kink` warning also carries the convention's numbers (schemas.KinkOut)."""
    return {"kind": kind, "message": message, "node": node,
            "span": None if span is None else tuple(span), "kink": kink}
