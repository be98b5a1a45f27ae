"""The gradient check: element by element for small inputs, by random directions per input tensor
above, and which one ran, over what and why, through every surface (Python, API, CLI).

Oracles: torch's own autograd (the network's gradients), and gradients corrupted on purpose
(the check must catch them, on the tensor corrupted and no other).
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chainrule import backprop, from_torch
from chainrule.analyses.check import gradient_check
from chainrule.core.sweeps import backward, forward
from chainrule.errors import ChainruleError, Deadline
from chainrule.readers.parsing import parse
from chainrule.readers.program import build_graph
from chainrule.settings import LIMITS
from fastapi.testclient import TestClient
from torch import nn

from .oracles import assert_close

URL = "/api/v2/backprop"
LAYER = "sum(tanh(W @ x + b) * w)"
WRONG_RULE = ("@derivative(lambda x: sigmoid(x))\ndef act(x):\n    return 1 / (1 + exp(-x))\n\n"
              "sum(act(W @ x + b) * w)")


def _layer(rows: int = 12, cols: int = 10) -> dict[str, object]:
    rng = np.random.default_rng(1)
    return {"W": rng.standard_normal((rows, cols)).tolist(),
            "x": rng.standard_normal(cols).tolist(), "b": rng.standard_normal(rows).tolist(),
            "w": rng.standard_normal(rows).tolist()}


def _makemore_like() -> tuple[nn.Module, object]:
    """makemore part 4's MLP as from_torch reads it today (no embedding lookup): 32 contexts
    of 3 characters x 10 dimensions, a tanh layer of 68 and logits over 27 characters, cross
    entropy: 3,971 parameters in 4 tensors."""
    torch.manual_seed(42)
    model = nn.Sequential(nn.Linear(30, 68), nn.Tanh(), nn.Linear(68, 27)).double()
    x = torch.randn(32, 30, dtype=torch.float64)
    y = torch.randint(0, 27, (32,))
    return model, lambda: F.cross_entropy(model(x), y)


def test_small_inputs_get_the_check_element_by_element_by_default() -> None:
    check = backprop("sin(x*y) + x**2", x=1.5, y=2).check
    assert check is not None
    assert check.kind == "elements" and check.complete and check.ok
    assert [(e.input, e.ok) for e in check.entries] == [("x", True), ("y", True)]
    assert "2 input elements" in check.reason
    assert check.evaluations == 4 and check.directions == []


def test_large_inputs_get_directions_that_cover_every_tensor() -> None:
    values = _layer()
    check = backprop(LAYER, values).check
    assert check is not None
    n = 12 * 10 + 10 + 12 + 12
    assert check.kind == "directions" and check.elements == n > LIMITS.check_elements_up_to
    assert check.complete and check.ok and check.checked == n
    assert str(LIMITS.check_elements_up_to) in check.reason
    per = LIMITS.check_directions
    assert [(i.input, i.size, i.directions, i.ok) for i in check.inputs] == [
        ("W", 120, per, True), ("x", 10, per, True), ("b", 12, per, True), ("w", 12, per, True)]
    assert len(check.directions) == 4 * per and check.entries == []
    assert check.evaluations == 2 * 4 * per < check.evaluations_for_all == 2 * n


@pytest.mark.parametrize("kind", ["elements", "directions"])
def test_either_check_can_be_asked_for(kind: str) -> None:
    check = backprop("sin(x*y) + x**2" if kind == "directions" else LAYER,
                     {"x": 1.5, "y": 2} if kind == "directions" else _layer(), check=kind).check
    assert check is not None and check.kind == kind and check.reason == "asked for"
    assert check.ok and check.complete


def test_an_unknown_check_is_refused() -> None:
    with pytest.raises(ChainruleError, match="`check` must be"):
        backprop("x * 2", x=1, check="everything")


@pytest.mark.parametrize("corrupt", ["W", "b", "w"])
def test_a_corrupted_gradient_is_caught_and_pinned_to_its_tensor(corrupt: str) -> None:
    values = _layer()
    graph = build_graph(parse(LAYER, LIMITS), values, LIMITS, Deadline(30))
    order = graph.order()
    node_values = forward(graph)
    grads = dict(backward(graph, node_values, record=False).grads)
    target = graph.inputs[corrupt]
    wrong = grads[target].copy()
    wrong.reshape(-1)[3] += 0.5  # one element off: the directions still see it
    grads[target] = wrong
    loss = float(node_values[graph.output])
    check = gradient_check(graph, order, grads, loss, kind="directions")
    assert not check["ok"]
    inputs = {i["input"]: i for i in check["inputs"]}  # type: ignore[attr-defined]
    assert [name for name, i in inputs.items() if not i["ok"]] == [corrupt]
    failing = {d["input"] for d in check["directions"] if not d["ok"]}  # type: ignore[attr-defined]
    assert failing == {corrupt}
    # Its elements were then checked one by one: exactly the corrupted one disagrees.
    assert inputs[corrupt]["elements_checked"] == graph.node(target).size
    bad = [(e["input"], e["index"]) for e in check["entries"] if not e["ok"]]  # type: ignore[attr-defined]
    index = np.unravel_index(3, graph.node(target).shape)
    assert bad == [(corrupt, [int(i) for i in index])]
    assert corrupt in str(check["reason"])


def test_a_wrong_derivative_rule_fails_the_directions_of_the_tensors_behind_it() -> None:
    check = backprop(WRONG_RULE, _layer()).check
    assert check is not None and check.kind == "directions" and not check.ok
    verdicts = {i.input: i.ok for i in check.inputs}
    # w multiplies act(...) after it: its gradient does not go through the wrong rule.
    assert verdicts == {"W": False, "x": False, "b": False, "w": True}
    assert [(r.primitive, r.ok) for r in check.rules] == [("act", False)]


def test_a_correct_mlp_passes_the_directional_check_with_every_tensor_covered() -> None:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for fan_in, fan_out in pairwise([2, 16, 16, 1]):
        layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
    model = nn.Sequential(*layers[:-1]).double()
    x = torch.randn(100, 2, dtype=torch.float64)
    y = torch.sin(x[:, :1] * 2) + x[:, 1:] ** 2

    def loss_fn() -> torch.Tensor:
        return F.mse_loss(model(x), y)

    result = from_torch(loss_fn, model)
    check = result.check
    assert check is not None and check.kind == "directions" and check.ok and check.complete
    names = [name for name, _ in model.named_parameters()]
    assert [i.input for i in check.inputs] == names
    assert all(i.directions == min(LIMITS.check_directions, i.size) for i in check.inputs)
    model.zero_grad()
    loss_fn().backward()
    for name, p in model.named_parameters():
        assert_close(result.gradients[name], p.grad.numpy(), rtol=1e-6, atol=1e-12)


def test_the_makemore_like_model_is_checked_over_every_parameter_tensor() -> None:
    model, loss_fn = _makemore_like()
    result = from_torch(loss_fn, model)  # type: ignore[arg-type]
    check = result.check
    assert check is not None
    assert check.elements == sum(p.numel() for p in model.parameters()) == 3971
    assert check.kind == "directions" and check.complete and check.ok
    assert check.checked == check.elements
    assert {i.input for i in check.inputs if i.directions} == {
        name for name, _ in model.named_parameters()}
    assert check.evaluations == 2 * 4 * LIMITS.check_directions


def test_the_per_element_check_of_a_large_input_says_it_sampled() -> None:
    model, loss_fn = _makemore_like()
    limits = LIMITS.__class__(**{**LIMITS.__dict__, "max_check_work": 2_000_000})
    check = from_torch(loss_fn, model, check="elements", limits=limits).check  # type: ignore[arg-type]
    assert check is not None and check.kind == "elements" and not check.complete
    assert 0 < check.checked < check.elements


def test_the_api_says_which_check_ran_and_why(client: TestClient) -> None:
    small = client.post(URL, json={"source": "x * y", "values": {"x": 1, "y": 2}})
    assert small.status_code == 200
    assert small.json()["check"]["kind"] == "elements"
    big = client.post(URL, json={"source": LAYER, "values": _layer(), "check": "auto"})
    assert big.status_code == 200
    check = big.json()["check"]
    assert check["kind"] == "directions" and check["complete"] and check["ok"]
    assert "over 100" in check["reason"]
    assert {i["input"] for i in check["inputs"]} == {"W", "x", "b", "w"}
    asked = client.post(URL, json={"source": LAYER, "values": _layer(), "check": "elements"})
    assert asked.json()["check"]["kind"] == "elements"
    assert asked.json()["check"]["reason"] == "asked for"
    v1 = client.post("/api/v1/backprop", json={"source": "x * y", "values": {"x": 1, "y": 2},
                                               "check": True})
    assert v1.status_code == 200 and v1.json()["check"]["kind"] == "elements"
    off = client.post(URL, json={"source": "x * y", "values": {"x": 1, "y": 2}, "check": False})
    assert off.json()["check"] is None
    bad = client.post(URL, json={"source": "x * y", "values": {"x": 1}, "check": "all"})
    assert bad.status_code == 422


def test_the_cli_says_which_check_ran(tmp_path: object) -> None:
    values = _layer(4, 3)
    args = [f"{k}={json.dumps(v)}" for k, v in values.items()]
    run = subprocess.run([sys.executable, "-m", "chainrule", LAYER, *args, "--check",
                          "directions"], capture_output=True, text=True, check=True)
    assert "Gradient check, by random directions: asked for" in run.stdout
    assert "2 of 4 input tensors" not in run.stdout and "4 of 4 input tensors" in run.stdout
    small = subprocess.run([sys.executable, "-m", "chainrule", "x * y", "x=1", "y=2"],
                           capture_output=True, text=True, check=True)
    assert "Gradient check, element by element: 2 input elements" in small.stdout


def test_directions_past_the_work_budget_say_which_tensors_were_left_out() -> None:
    values = _layer()
    graph = build_graph(parse(LAYER, LIMITS), values, LIMITS, Deadline(30))
    work = sum(graph.work(n) for n in graph.order())  # numbers one evaluation computes
    limits = LIMITS.__class__(**{**LIMITS.__dict__, "max_check_work": 2 * work * 3})
    check = backprop(LAYER, values, check="directions", limits=limits).check
    assert check is not None and not check.complete
    assert [(i.input, i.directions) for i in check.inputs] == [
        ("W", 1), ("x", 1), ("b", 1), ("w", 0)]
    assert check.checked == 120 + 10 + 12 and check.evaluations == 6
    assert "covered 3 of 4 input tensors" in check.reason


def test_inputs_of_one_number_each_are_checked_element_by_element() -> None:
    names = [f"p{k}" for k in range(120)]
    source = " + ".join(f"sin({n}) * {n}" for n in names)
    check = backprop(source, {n: 0.01 * k for k, n in enumerate(names)}).check
    assert check is not None and check.kind == "elements" and check.complete and check.ok
    assert "random directions would take as many evaluations" in check.reason
    asked = backprop(source, {n: 0.01 * k for k, n in enumerate(names)},
                     check="directions").check
    assert asked is not None and asked.evaluations == 2 * 120  # one direction a number
    assert all(i.directions == 1 for i in asked.inputs) and asked.ok
