"""The notebook widget: `chainrule.show("sin(x*y)", x=1.5, y=2)` plays the steps inline in
Jupyter and VS Code.

An anywidget whose module is the frontend's built `dist/widget.js` (`npm run build`, or the
copy inside the wheel): the page's own player (player-view.js) and panels bundled with their
styles and KaTeX's fonts, so nothing is fetched at run time. The widget's `answer` is the
compact answer of `backprop()` (as `POST /api/v2/backprop` writes it), its large float
columns as binary buffers (`widget_answer`); `step` is the step shown, kept in step both ways.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from .answer.models import Answer
from .answer.report import Report
from .differentiate import backprop
from .settings import FRONTEND_DIR

# The columns sent as float64 buffers where they can be: (table, field) of the answer's columns.
FLOAT_COLUMNS = (("nodes", "value"), ("nodes", "grad"), ("terms", "local"),
                 ("terms", "contribution"))


def float_buffer(column: list[Any]) -> memoryview | None:
    """A column of finite numbers and nulls as little-endian float64 bytes, null as NaN (no
    number is NaN then: the API writes a non-finite one as a string); None if it holds an
    array or a non-finite number, which stay JSON."""
    if not all(x is None or (type(x) in (float, int) and math.isfinite(x)) for x in column):
        return None
    return memoryview(np.array([math.nan if x is None else x for x in column],
                               dtype="<f8").tobytes())


def widget_answer(result: Answer) -> dict[str, Any]:
    """The widget's `answer`: the compact answer, each column of FLOAT_COLUMNS that is finite
    numbers and nulls as a binary buffer (Jupyter sends it beside the JSON, and the module gets
    a DataView there: frontend/src/widget.js reads it back)."""
    answer: dict[str, Any] = json.loads(result.compact_json())
    for table, field in FLOAT_COLUMNS:
        buffer = float_buffer(answer["columns"][table][field])
        if buffer is not None:
            answer["columns"][table][field] = buffer
    return answer


def esm_path() -> Path:
    """Where the widget's built ES module is."""
    return FRONTEND_DIR / "dist" / "widget.js"


@functools.cache
def esm_text() -> str:
    """The widget's ES module, read once."""
    path = esm_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not built: run `npm run build` in frontend/ "
                                "(make run and make wheel do)")
    return path.read_text(encoding="utf-8")


class StepsWidget(anywidget.AnyWidget):  # type: ignore[misc]
    """Every forward and backward step of one answer, played in the notebook."""

    answer = traitlets.Dict().tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)

    @property
    def _esm(self) -> str:
        # Read when the first widget is made (anywidget reads it then), not on import.
        return esm_text()


def show(source_or_result: str | Answer | Report, /, **values: Any) -> StepsWidget:
    """A widget that plays the steps: of a source with its values (`show("sin(x*y)", x=1.5,
    y=2)`, and `mode="forward", wrt="x"` as for `backprop`), or of a result already computed
    (`show(backprop(...))`, `show(trace(f, ...))`, `show(from_micrograd(loss))`,
    `show(from_torch(loss_fn, model))`, each with any of backprop's options, e.g.
    `show(trace(f, x=1.5, mode="forward", wrt="x"))`), or of a grade report (`show(grade(...))`:
    its answer, whose `grade` marks each tensor's verdict)."""
    if isinstance(source_or_result, Report):  # chainrule.grade's: its answer, graded
        source_or_result = source_or_result.answer
    if isinstance(source_or_result, Answer):
        if values:
            raise TypeError("show(result) takes no values: they are in the result already")
        result = source_or_result
    elif isinstance(source_or_result, str):
        result = backprop(source_or_result, **values)
    else:
        raise TypeError("show() takes a source (str) or a result of backprop(), trace(), "
                        "from_micrograd() or from_torch(), not "
                        f"{type(source_or_result).__name__}")
    return StepsWidget(answer=widget_answer(result))
