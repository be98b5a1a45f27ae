"""The grade report (`chainrule.grade`): a table for a notebook (HTML), one for a terminal
(text), and the same as JSON (`POST /api/v1/grade`), with the forward pass's answer."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import orjson

from .models import Answer

# Each verdict's mark beside its word (never colour alone).
ICONS = {"exact": "✓", "approx": "≈", "wrong": "✗", "shape": "⚠", "missing": "·", "error": "!"}


@dataclass(frozen=True)
class Report:
    """The learner's gradients graded: `rows` in backward order (each a dict: `name`, `node`,
    `verdict`, `max_diff`, `hint`, `given_your_upstream`, and for `wrong` the worst element's
    `index`, `yours` and `expected`), `first_wrong` (the name of the first row wrong given its
    own upstream, or None), `tolerance`, and `answer`: the forward pass's compact answer, whose
    `grade` holds the same (so `show(report)` marks each tensor's card)."""

    rows: list[dict[str, Any]]
    first_wrong: str | None
    tolerance: dict[str, Any]
    answer: Answer

    def __getitem__(self, name: str) -> dict[str, Any]:
        """The row of the tensor `name`."""
        for row in self.rows:
            if row["name"] == name:
                return row
        raise KeyError(name)

    @property
    def verdicts(self) -> dict[str, str]:
        """Each row's verdict by name, in backward order."""
        return {row["name"]: row["verdict"] for row in self.rows}

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (`POST /api/v1/grade`'s answer)."""
        return {"rows": self.rows, "first_wrong": self.first_wrong,
                "tolerance": self.tolerance, "answer": self.answer._json}

    def to_json(self) -> bytes:
        """The report as JSON bytes."""
        return orjson.dumps(self.to_dict())

    def _table(self) -> list[tuple[str, str, str, str, str]]:
        """(name, verdict, given your upstream, max diff, hint) per row, as text."""
        return [(row["name"], _mark(row["verdict"]), _mark(row["given_your_upstream"]["verdict"]),
                 _diff(row["max_diff"]), row["hint"]) for row in self.rows]

    def summary(self) -> str:
        """One sentence: how many rows are right, and where the first mistake is."""
        right = sum(row["verdict"] in ("exact", "approx") for row in self.rows)
        given = sum(row["verdict"] != "missing" for row in self.rows)
        where = (f"first mistake: {self.first_wrong}" if self.first_wrong else
                 "no rule is wrong given its upstream")
        return f"{right} of {given} gradients given are right; {where}"

    def __str__(self) -> str:
        head = ("tensor", "verdict", "given your upstream", "max diff", "hint")
        table = [head, *self._table()]
        widths = [max(len(r[k]) for r in table) for k in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4]
                 for r in table]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  ----")
        return "\n".join([*lines, "", self.summary()])

    def _repr_html_(self) -> str:
        cells = []
        for row, (name, verdict, mine, diff, hint) in zip(self.rows, self._table()):
            first = row["name"] == self.first_wrong
            mark = " <strong>(first mistake)</strong>" if first else ""
            cells.append(
                f"<tr data-verdict=\"{row['verdict']}\"><th scope=\"row\"><code>"
                f"{html.escape(name)}</code></th><td>{html.escape(verdict)}</td>"
                f"<td>{html.escape(mine)}</td><td>{html.escape(diff)}</td>"
                f"<td>{html.escape(hint)}{mark}</td></tr>")
        return ("<table class=\"chainrule-grade\"><caption>" + html.escape(self.summary())
                + "</caption><thead><tr><th scope=\"col\">tensor</th><th scope=\"col\">verdict"
                "</th><th scope=\"col\">given your upstream</th><th scope=\"col\">max diff</th>"
                "<th scope=\"col\">hint</th></tr></thead><tbody>" + "".join(cells)
                + "</tbody></table>")


def _mark(verdict: str) -> str:
    return f"{ICONS[verdict]} {verdict}"


def _diff(value: object) -> str:
    if value is None:
        return ""
    return f"{value:.2e}" if isinstance(value, float) else str(value)
