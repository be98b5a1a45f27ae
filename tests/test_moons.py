"""micrograd's demo (bench/moons.py) through from_micrograd: gradients equal micrograd's own."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from chainrule import from_micrograd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from moons import build_loss, moons  # the benchmark's own demo

POINTS = 8


def test_moons_are_two_labelled_half_circles_with_noise() -> None:
    points, labels = moons(POINTS)
    assert points.shape == (POINTS, 2)
    assert sorted(set(labels.tolist())) == [-1, 1]
    assert np.array_equal(points, moons(POINTS)[0])  # the seed fixes them


def test_the_demo_losss_gradients_are_micrograds_own() -> None:
    loss, model, values = build_loss(POINTS)
    parameters = model.parameters()
    result = from_micrograd(loss, parameters)
    loss.backward()  # the independent oracle: micrograd's own backward sweep
    assert len(result.nodes) == values and len(parameters) == 337
    assert abs(result.output.value - loss.data) <= 1e-12 * abs(loss.data)
    assert len(result.gradients) == len(parameters)
    ours = [result.gradients[f"p{k}"] for k in range(len(parameters))]
    np.testing.assert_allclose(ours, [p.grad for p in parameters], rtol=1e-9, atol=0)
    assert any(p.grad != 0 for p in parameters)


NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "moons.ipynb"


def notebook_code(path: Path) -> list[str]:
    """The code cells of a notebook, in order."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def test_the_moons_notebook_runs_and_shows_the_demos_answer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # docs/moons.ipynb's code cells run as a notebook runs them, in one namespace, at a few
    # points (its MOONS_POINTS): they build the same loss as the benchmark, and show its answer.
    monkeypatch.setenv("MOONS_POINTS", str(POINTS))
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for code in notebook_code(NOTEBOOK):
        exec(compile(code, str(NOTEBOOK), "exec"), namespace)  # noqa: S102
    loss, _, values = build_loss(POINTS)
    assert namespace["total_loss"].data == loss.data, "the notebook's demo is the benchmark's"
    answer, widget = namespace["answer"], namespace["w"]
    assert len(answer.nodes) == values
    assert widget.answer["version"] == 2 and widget.step == 0
    namespace["total_loss"].backward()
    for name, parameter in [("layers[0].neurons[0].w[0]", namespace["model"].layers[0]
                             .neurons[0].w[0]), ("layers[2].neurons[0].b",
                                                 namespace["model"].layers[2].neurons[0].b)]:
        assert abs(answer.gradients[name] - parameter.grad) <= 1e-12 * max(1, abs(parameter.grad))
