"""micrograd's demo (bench/moons.py) through from_micrograd: gradients equal micrograd's own."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
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
