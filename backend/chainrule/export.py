"""The offline file: one HTML page that plays an answer's steps from `file://`, with no server
and no network request (`chainrule export-html`, and the page's Export HTML).

The page is the frontend's built `dist/offline.html` (`npm run build`, or the copy inside the
wheel): the same player modules as the web page, every script, style and font inlined, and a
place held for the answer, which is filled here as `frontend/src/offline.js` fills it.
"""

from __future__ import annotations

from pathlib import Path

from .answer.models import Answer
from .settings import FRONTEND_DIR

PLACEHOLDER = "__CHAINRULE_ANSWER__"  # as in frontend/src/offline.js


def template_path() -> Path:
    """Where the built offline page is."""
    return FRONTEND_DIR / "dist" / "offline.html"


def answer_json(result: Answer) -> str:
    """The compact answer as the API writes it (`POST /api/v2/backprop`), with "<" as \\u003c
    so that no text in it can close the <script> element that holds it."""
    return result.compact_json().decode().replace("<", "\\u003c")


def offline_html(result: Answer) -> str:
    """The self-contained page that plays `result` (a `backprop()` answer)."""
    path = template_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not built: run `npm run build` in frontend/ "
                                "(make run and make wheel do)")
    template = path.read_text(encoding="utf-8")
    if PLACEHOLDER not in template:
        raise ValueError(f"{path} holds no place for the answer")
    return template.replace(PLACEHOLDER, answer_json(result), 1)
