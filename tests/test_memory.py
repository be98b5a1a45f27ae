"""The memory of reverse mode (issue 31): what the tape keeps, and checkpointing.

Oracles: each VJP of the table called with the values the tape says it does not read replaced
by NaN; the memory line recounted here from the graph by a plain reading of its rules; the
gradients of every strategy against backprop's and central differences; Griewank's count of
forward steps from a DP written here; torch's saved tensors through its saved-tensor hooks.
"""

from __future__ import annotations

import math
import time
from functools import cache

import numpy as np
import pytest
from chainrule import ChainruleError, backprop, memory
from chainrule.answer.schemas import MemoryResponse
from chainrule.core.ops import OPS
from chainrule.core.tape import OUTPUT, rule_reads
from fastapi.testclient import TestClient

from .oracles import assert_close, central_difference
from .test_ops import _args, _cases

STRATEGIES = ["all", "none", "every_k", "sqrt", "revolve"]


def chain(n: int, op: str = "sin") -> str:
    """x1 = op(x0), ..., a chain of n nodes (x0 the input), the last line its output."""
    return "".join(f"x{i} = {op}(x{i - 1})\n" for i in range(1, n)) + f"x{n - 1}"


# ---------------------------------------------------------------- what a backward step reads


@pytest.mark.parametrize(("name", "shapes", "params"), _cases())
def test_a_vjp_gives_the_same_numbers_without_the_values_the_tape_does_not_keep(
        name: str, shapes: tuple[tuple[int, ...], ...], params: dict[str, object]) -> None:
    op = OPS[name]
    args = _args(op, shapes)
    ans = op.forward(*(a[None] for a in args), **params)[0]
    g = np.random.normal(size=ans.shape)
    for i, rule in enumerate(op.vjps):
        reads = rule_reads(rule, op.arity)
        blind_ans = ans if OUTPUT in reads else np.full_like(ans, np.nan)
        blind = [a if j in reads else np.full_like(a, np.nan) for j, a in enumerate(args)]
        np.testing.assert_array_equal(np.asarray(rule(g, blind_ans, *blind, **params)),
                                      np.asarray(rule(g, ans, *args, **params)))


def test_the_tape_keeps_what_each_rule_reads_and_no_more() -> None:
    assert rule_reads(OPS["sin"].vjps[0], 1) == {0}  # cos(x): the input
    assert rule_reads(OPS["exp"].vjps[0], 1) == {OUTPUT}  # g * y: the output
    assert rule_reads(OPS["tanh"].vjps[0], 1) == {OUTPUT}
    assert rule_reads(OPS["add"].vjps[0], 2) == set()  # g passes through
    assert rule_reads(OPS["mul"].vjps[0], 2) == {1}  # d(ab)/da = b
    assert rule_reads(OPS["mul"].vjps[1], 2) == {0}


# ---------------------------------------------------------------- the memory line


PROGRAMS = [
    ("a = sin(x)\nb = exp(a)\nc = b * a\nd = c + x\nd", {"x": 0.7}),
    ("h = tanh(W @ x + b)\nL = sum(h * h)\nL", {"W": [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]],
                                                  "x": [1.0, -2.0], "b": [0.1, 0.2, 0.3]}),
    ("y = x * x + 3\nz = sin(y) * y\nw = z / (1 + y)\nw", {"x": 1.3}),
    (chain(12), {"x0": 0.5}),
]


def _recount(answer: dict) -> tuple[list[int], list[int]]:
    """Per step, the bytes and values held, counted plainly from the graph and the rules."""
    nodes, columns = answer["columns"]["nodes"], answer["columns"]
    inputs, shape = nodes["inputs"], nodes["shape"]
    size = [8 * math.prod(s) for s in shape]
    mem = answer["memory"]
    forward = [i for i in range(len(inputs)) if inputs[i]]
    backward = columns["steps"]["node"]
    reads = mem["reads"]
    steps = len(forward) + len(backward)
    out = int(answer["output"]["node"][1:])
    names = set(answer["gradients"])
    input_ids = {i for i, name in enumerate(nodes["name"]) if name in names and not inputs[i]}
    byts, counts = [], []
    for t in range(steps):
        held_bytes, held = 0, 0
        for i in range(len(inputs)):
            made = forward.index(i) if inputs[i] else 0
            uses = [s for s, j in enumerate(forward) if i in inputs[j]]
            uses += [len(forward) + s for s, r in enumerate(reads) if i in r]
            if i == out:
                uses.append(len(forward) - 1)
            if uses and made <= t <= max(uses):
                held_bytes += size[i]
                held += 1
            swept = i in backward
            if swept:
                given = [len(forward) + s for s, j in enumerate(backward) if i in inputs[j]]
                own = len(forward) + backward.index(i)
                first = own if i == out else min(given)
                last = steps - 1 if i in input_ids else own
                if first <= t <= last:
                    held_bytes += size[i]
        byts.append(held_bytes)
        counts.append(held)
    return byts, counts


@pytest.mark.parametrize(("source", "values"), PROGRAMS)
def test_memory_line_is_a_plain_count_of_what_is_held(source: str, values: dict) -> None:
    answer = backprop(source, values).model_dump(mode="json", by_alias=True)
    mem = answer["memory"]
    byts, counts = _recount(answer)
    assert mem["bytes_at"] == byts
    assert mem["values_at"] == counts
    assert mem["peak"]["bytes"] == max(byts) and byts[mem["peak"]["step"]] == max(byts)
    assert len(mem["reads"]) == len(answer["columns"]["steps"]["node"])


def test_keeping_everything_holds_every_value_of_a_chain_at_the_turn() -> None:
    answer = backprop(chain(12), x0=0.5).model_dump(mode="json")
    mem = answer["memory"]
    turn = mem["forward_steps"] - 1  # the last forward step: x0 ... x11 all held
    assert mem["values_at"][turn] == 12 == max(mem["values_at"])
    assert mem["values_at"][-1] == 0  # the end: only the input's gradient
    assert mem["bytes_at"][-1] == 8


# ---------------------------------------------------------------- checkpointing


@cache
def fewest_forward_steps(length: int, slots: int) -> int:
    """Forward steps beyond the first pass to reverse `length` steps with `slots` checkpoints
    besides the start: the right part with one slot fewer, then the left with all."""
    if length <= 1:
        return 0
    if slots == 0:
        return length * (length - 1) // 2
    return min(m + fewest_forward_steps(length - m, slots - 1) + fewest_forward_steps(m, slots)
               for m in range(1, length))


def griewank(length: int, slots: int) -> int:
    """The same count from Griewank's formula: with s = slots + 1 checkpoints and r the least
    with C(s + r, s) >= length, r·length − C(s + r, s + 1)."""
    s = slots + 1
    r = next(r for r in range(length + 1) if math.comb(s + r, s) >= length)
    return r * length - math.comb(s + r, s + 1)


def test_griewanks_formula_is_the_dp() -> None:
    for slots in range(5):
        for length in range(1, 80):
            assert griewank(length, slots) == fewest_forward_steps(length, slots)


@pytest.mark.parametrize("slots", [0, 1, 2, 3])
def test_revolve_takes_the_fewest_forward_steps_on_short_chains(slots: int) -> None:
    for n in (2, 3, 5, 8, 13, 21, 34):
        out = memory(chain(n), x0=0.5, strategy="revolve", slots=slots)
        row = next(r for r in out.summary if r.strategy == "revolve")
        assert row.recompute == fewest_forward_steps(n - 1, slots), (n, slots)
        assert row.forward == n - 1


def test_a_chain_of_ten_thousand_nodes() -> None:
    n = 10_000
    source = chain(n)
    start = time.perf_counter()
    out = memory(source, x0=0.5, strategy="sqrt", slots=4)
    seconds = time.perf_counter() - start
    rows = {r.strategy: r for r in out.summary}
    assert rows["all"].peak_values == n and rows["all"].recompute == 0
    root = math.sqrt(n)
    assert rows["sqrt"].peak_values is not None and rows["sqrt"].peak_values <= 2 * root + 3
    assert rows["sqrt"].recompute <= n
    assert rows["revolve"].recompute == griewank(n - 1, 4)
    assert rows["revolve"].peak_values is not None and rows["revolve"].peak_values <= 4 + 4
    assert rows["none"].recompute == (n - 1) * (n - 2) // 2 and not rows["none"].played
    assert len(out.steps.kind) == 20_000 and not out.complete  # listed steps are capped
    assert out.total_steps == rows["sqrt"].forward + rows["sqrt"].recompute + n - 1
    expected = backprop(source, x0=0.5, check=False).gradients["x0"]
    assert_close(out.gradients["x0"], expected, rtol=1e-12)
    assert seconds < 10, seconds


SAME_GRADIENTS = [
    *PROGRAMS,
    ("u = x * y\nv = exp(u) + u\nw = tanh(v) * v + sqrt(y)\nw", {"x": 0.4, "y": 1.7}),
    ("p = softmax(W @ x)\nL = -sum(log(p) * t)\nL", {
        "W": [[0.1, -0.3], [0.2, 0.5], [-0.4, 0.3]], "x": [0.5, 1.5], "t": [0, 1, 0]}),
]


@pytest.mark.parametrize(("source", "values"), SAME_GRADIENTS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_gives_the_same_gradients(source: str, values: dict,
                                                 strategy: str) -> None:
    for extra in ({"k": 2, "slots": 1}, {"k": 3, "slots": 0}, {"k": 1, "slots": 3}):
        out = memory(source, values, strategy=strategy, **extra)
        assert out.complete and out.gradients is not None
        expected = backprop(source, values, check=False).gradients
        for name, g in expected.items():
            assert_close(out.gradients[name], g, rtol=1e-12, atol=1e-14)


def test_the_schedules_gradient_is_the_central_difference() -> None:
    source = "u = x * y\nv = exp(u) + u\nw = tanh(v) * v + sqrt(y)\nw"
    out = memory(source, x=0.4, y=1.7, strategy="revolve", slots=1)

    def f(x: np.ndarray) -> float:
        return float(backprop(source, x=float(x), y=1.7, check=False).output.value)

    assert out.gradients is not None
    assert_close(out.gradients["x"], float(central_difference(f, np.array(0.4))), rtol=1e-6)


def test_sqrt_recomputes_each_segment_just_before_its_backward_steps() -> None:
    out = memory(chain(12), x0=0.5, strategy="sqrt")
    assert out.k == 4 and out.complete
    kinds = [out.kinds[k] for k in out.steps.kind]
    nodes = out.steps.node
    assert kinds[:11] == ["forward"] * 11
    assert kinds.count("recompute") == out.summary[3].recompute > 0
    # each run of recomputed nodes is followed by the backward steps of those same nodes
    t = 11
    while t < len(kinds):
        run = []
        while t < len(kinds) and kinds[t] == "recompute":
            run.append(nodes[t])
            t += 1
        back = []
        while t < len(kinds) and kinds[t] == "backward":
            back.append(nodes[t])
            t += 1
        assert set(run) <= set(back), (run, back)
    assert max(out.steps.values) < 12


def test_memory_refuses_an_unknown_strategy_and_an_array_output() -> None:
    with pytest.raises(ChainruleError, match="strategy"):
        memory("sin(x)", x=1.0, strategy="everything")
    with pytest.raises(ChainruleError, match="scalar"):
        memory("sin(x)", x=[1.0, 2.0])


def test_memory_endpoint_answers_the_schedule_and_the_table(client: TestClient) -> None:
    body = {"source": chain(6), "values": {"x0": 0.5}, "strategy": "revolve", "slots": 1}
    r = client.post("/api/v1/memory", json=body)
    assert r.status_code == 200, r.json()
    data = r.json()
    assert data == MemoryResponse.model_validate(data).model_dump(mode="json")
    assert [row["strategy"] for row in data["summary"]] == STRATEGIES
    assert data["kinds"] == ["forward", "recompute", "backward"]
    assert len(data["steps"]["kind"]) == data["total_steps"]
    assert data["memory"]["values_at"]
    bad = client.post("/api/v1/memory", json={**body, "strategy": "everything"})
    assert bad.status_code == 422
    assert client.post("/api/v1/memory", json={**body, "k": 0}).status_code == 422


# ---------------------------------------------------------------- a network, by layers


def _torch_mlp() -> tuple[object, object]:
    import torch
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(),
                          nn.Linear(8, 1)).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)
    return model, lambda: nn.functional.mse_loss(model(x), y)


def _saved_bytes_by_module(model, loss_fn) -> dict[str, int]:
    """The bytes of the tensors torch saves for backward, by the module running when it saves
    them (its pack hook counting them)."""
    import torch

    running, saved = ["(outside)"], {}
    hooks = []
    for name, module in model.named_modules():
        label = "model" + ("." + name if name else "")
        hooks.append(module.register_forward_pre_hook(
            lambda m, i, label=label: running.append(label) and None))
        hooks.append(module.register_forward_hook(lambda m, i, o: running.pop() and None))

    def pack(t):
        saved[running[-1]] = saved.get(running[-1], 0) + t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss_fn()
    for hook in hooks:
        hook.remove()
    return saved


def test_each_layer_keeps_the_bytes_torch_saves_for_it() -> None:
    """A Linear keeps its input (the weight's gradient reads it; the first layer's input needs
    no gradient, so its weight is not kept) and a Tanh its output, as torch saves them, byte
    for byte. The loss differs by design: torch's mse_loss is one op saving its input and
    target; chainrule reads it as its parts (a difference, its square, a mean), whose square
    keeps the difference and the exponent. So the network's total agrees to within the loss's."""
    model, loss_fn = _torch_mlp()
    out = memory(loss_fn, model=model, strategy="sqrt")
    assert out.layers is not None
    ours = dict(zip(out.layers.layers.name, out.layers.layers.kept_bytes))
    torch_saved = _saved_bytes_by_module(model, loss_fn)
    for layer in ("model.0", "model.1", "model.2", "model.3", "model.4"):
        assert ours[layer] == torch_saved[layer], layer
    assert 0 < ours["mse_loss"] <= torch_saved["(outside)"]
    ranking = sorted(ours, key=ours.get)[1:]  # the loss aside
    assert ranking == sorted((k for k in torch_saved if k != "(outside)"), key=torch_saved.get)


def test_checkpointing_a_networks_layers_recomputes_them_and_keeps_the_gradients() -> None:
    model, loss_fn = _torch_mlp()
    out = memory(loss_fn, model=model, strategy="sqrt", k=2)
    assert out.layers is not None and out.layers.runs == 6
    rows = {r.strategy: r for r in out.layers.strategies}
    assert rows["all"].recompute == 0 and rows["all"].checkpoints == 0
    # six runs (five modules and the loss): every one, or every ⌈√6⌉ = 3
    assert rows["every_layer"].checkpoints == 5 and rows["sqrt_layers"].checkpoints == 1
    assert 0 < rows["sqrt_layers"].recompute <= rows["every_layer"].recompute <= rows[
        "all"].forward
    model.zero_grad()
    loss_fn().backward()
    assert out.gradients is not None
    for name, p in model.named_parameters():
        np.testing.assert_allclose(out.gradients[name], p.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_micrograd_networks_layers_are_kept_sample_by_sample() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from moons import build_loss

    loss, model, _ = build_loss(4)
    out = memory(loss, inputs=model, strategy="sqrt")
    assert out.layers is not None
    assert out.layers.layers.name == ["layers[0]", "layers[1]", "layers[2]", "loss"]
    assert out.layers.runs >= len(out.layers.layers.name)
    assert all(b > 0 for b in out.layers.layers.kept_bytes)
    loss.backward()  # micrograd's own gradients, the oracle
    assert out.gradients is not None and len(out.gradients) == len(model.parameters())
    for i, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            prefix = f"layers[{i}].neurons[{j}]"
            for k, w in enumerate(neuron.w):
                assert_close(out.gradients[f"{prefix}.w[{k}]"], w.grad, rtol=1e-9, atol=1e-12)
            assert_close(out.gradients[f"{prefix}.b"], neuron.b.grad, rtol=1e-9, atol=1e-12)
    rows = {r.strategy: r for r in out.layers.strategies}
    assert rows["sqrt_layers"].peak_values < rows["all"].peak_values
