"""The tree of groups: a program's statements, a traced function's calls, a micrograd network's
layers, neurons, samples, loss and regularization; checked through the public entry points."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any, get_args

import numpy as np
from chainrule import backprop, from_micrograd, trace
from chainrule.answer.schemas import BackpropResponse, GroupKind, Groups
from chainrule.core.graph import GROUP_KINDS
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from micrograd.engine import Value
from micrograd.nn import MLP, Layer

from .oracles import assert_close
from .test_properties import deterministic, points, scalar_programs

# ----------------------------------------------------------------------------- helpers


def members(groups: Groups, index: int) -> list[int]:
    """The nodes whose innermost group is `index`."""
    return [k for k, g in enumerate(groups.node_group) if g == index]


def descendants(groups: Groups, index: int) -> set[int]:
    """`index` and every group inside it."""
    found = {index}
    for k, parent in enumerate(groups.parent):  # parents come first: one pass suffices
        if parent in found:
            found.add(k)
    return found


def nodes_under(groups: Groups, index: int) -> list[int]:
    """The nodes of a group and of the groups inside it."""
    inside = descendants(groups, index)
    return [k for k, g in enumerate(groups.node_group) if g in inside]


def children(groups: Groups, index: int) -> list[int]:
    return [k for k, parent in enumerate(groups.parent) if parent == index]


def find(groups: Groups, name: str, parent: int = -1) -> int:
    matches = [k for k, n in enumerate(groups.name) if n == name and groups.parent[k] == parent]
    assert len(matches) == 1, (name, parent, matches)
    return matches[0]


def assert_a_tree(groups: Groups, n_nodes: int) -> None:
    """Columns of one length, each parent made before its child, each node in one group."""
    size = len(groups.kind)
    assert len(groups.name) == len(groups.parent) == len(groups.span) == size
    assert all(-1 <= parent < k for k, parent in enumerate(groups.parent))
    assert len(groups.node_group) == n_nodes
    assert all(-1 <= g < size for g in groups.node_group)
    assert set(groups.kind) <= set(GROUP_KINDS)


# ------------------------------------------------------------------------ programs


def test_a_programs_statements_of_more_than_one_node_are_groups() -> None:
    source = "a = x*y + 1\nb = sin(a)\nc = a*b*2\nc + x"
    result = backprop(source, x=1.5, y=2.0)
    groups = result.groups
    assert groups is not None
    assert groups.kind == ["statement", "statement"]
    assert groups.name == ["a", "c"]  # b = sin(a) is one node, the last line one add
    assert groups.parent == [-1, -1]
    assert [source[s[0]:s[1]] for s in groups.span if s] == ["a = x*y + 1", "c = a*b*2"]
    ops = [[result.nodes[k].op for k in members(groups, g)] for g in range(2)]
    assert ops == [["mul", "const", "add"], ["mul", "const", "mul"]]
    for node, g in zip(result.nodes, groups.node_group, strict=True):
        if node.op == "input" or node.op in ("sin",) or node.id == result.output.node:
            assert g == -1  # inputs are every statement's; one-node lines fold nothing


def test_an_expression_alone_is_one_statement_named_output() -> None:
    result = backprop("sin(x*y) + x**2", x=1.5, y=2.0)
    assert result.groups is not None
    assert result.groups.name == ["output"]
    assert result.groups.span == [(0, 15)]
    inputs = [k for k, n in enumerate(result.nodes) if n.op == "input"]
    assert set(members(result.groups, 0)) == set(range(len(result.nodes))) - set(inputs)


def test_the_api_answers_the_tree_as_columns(client: TestClient) -> None:
    r = client.post("/api/v1/backprop", json={"source": "h = tanh(w*x + b)\nl = (h - 1)**2\nl",
                                              "values": {"w": 0.5, "x": 2, "b": -1}})
    assert r.status_code == 200
    groups = r.json()["groups"]
    assert set(groups) == {"kind", "name", "parent", "span", "node_group"}
    assert groups["name"] == ["h", "l"]
    assert groups["parent"] == [-1, -1]
    assert len(groups["node_group"]) == len(r.json()["nodes"])
    BackpropResponse.model_validate(r.json())


def test_the_schema_knows_every_kind_of_group() -> None:
    assert set(get_args(GroupKind)) == set(GROUP_KINDS)


@deterministic(25)
@given(scalar_programs(), points)
def test_any_programs_groups_form_a_tree_over_its_nodes(program: Any, point: Any) -> None:
    source, _ = program
    result = backprop(source, point, check=False)
    assert result.groups is not None
    assert_a_tree(result.groups, len(result.nodes))
    for g in range(len(result.groups.kind)):
        inside = [result.nodes[k] for k in members(result.groups, g)]
        assert len(inside) >= 2 and not any(n.op == "input" for n in inside)


# ------------------------------------------------------------------------- tracing


def dense(x: Any, W: Any) -> Any:
    return np.tanh(W @ x)


def block(x: Any, W: Any) -> Any:
    return dense(dense(x, W), W) + 1.0


def three_layers(x: Any, W1: Any, W2: Any, W3: Any) -> Any:
    h = dense(x, W1)
    h = dense(h, W2)
    h = dense(h, W3)
    return np.sum(h * h)


def nested(x: Any, W: Any) -> Any:
    h = dense(x, W)
    return np.sum(block(h, W))


def test_a_helper_called_three_times_is_three_function_groups_of_its_own_nodes() -> None:
    weights = {f"W{k}": np.eye(3) * 0.5 + 0.1 * k for k in (1, 2, 3)}
    result = trace(three_layers, x=np.ones(3), **weights)
    groups = result.groups
    assert groups is not None
    assert groups.kind == ["function"] * 3
    assert groups.name == ["dense#1", "dense#2", "dense#3"]
    assert groups.parent == [-1, -1, -1]
    assert [result.source[s[0]:s[1]] for s in groups.span if s] == [
        "dense(x, W1)", "dense(h, W2)", "dense(h, W3)"]
    previous = result.nodes[0].id  # x
    for g in range(3):
        matmul, tanh = (result.nodes[k] for k in members(groups, g))
        assert (matmul.op, tanh.op) == ("matmul", "tanh")
        assert matmul.inputs == [f"n{1 + g}", previous]  # W_g @ (x or the last call's tanh)
        assert tanh.inputs == [matmul.id]
        previous = tanh.id
    outside = [result.nodes[k].op for k, g in enumerate(groups.node_group) if g == -1]
    assert outside == ["input"] * 4 + ["mul", "sum"]
    assert_close(result.output.value, float(np.sum(np.tanh(
        weights["W3"] @ np.tanh(weights["W2"] @ np.tanh(weights["W1"] @ np.ones(3)))) ** 2)))


def test_calls_inside_calls_nest() -> None:
    result = trace(nested, x=np.array([0.5, -1.0]), W=np.array([[1.0, 2.0], [0.5, -1.0]]))
    groups = result.groups
    assert groups is not None
    assert groups.name == ["dense#1", "block#1", "dense#2", "dense#3"]
    assert groups.parent == [-1, -1, 1, 1]
    assert [result.source[s[0]:s[1]] for s in groups.span[:2] if s] == ["dense(x, W)",
                                                                         "block(h, W)"]
    assert groups.span[2:] == [None, None]  # called from block, whose lines are not the source
    block_ops = sorted(result.nodes[k].op for k in nodes_under(groups, 1))
    assert block_ops == sorted(["matmul", "tanh"] * 2 + ["const", "add"])
    assert [result.nodes[k].op for k in members(groups, 1)] == ["const", "add"]


def test_generator_expressions_are_no_groups_but_the_calls_inside_them_are() -> None:
    def f(x: Any, W: Any) -> Any:
        return sum(np.sum(dense(x, W * k)) for k in (1.0, 2.0))

    result = trace(f, x=np.ones(2), W=np.eye(2))
    assert result.groups is not None
    assert result.groups.name == ["dense#1", "dense#2"]
    assert result.groups.parent == [-1, -1]


def test_a_function_with_no_helpers_has_no_groups() -> None:
    result = trace(lambda x: np.sum(np.sin(x) * x), x=np.ones(2))
    assert result.groups is not None
    assert result.groups.kind == [] and set(result.groups.node_group) == {-1}


# ----------------------------------------------------------------------- micrograd


def moons_loss(model: Any, n: int, seed: int = 0) -> Any:
    """micrograd's demo.ipynb loss on n random points: the SVM max-margin loss + L2."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(model, inputs))
    losses = [(1 + -float(yi) * score).relu() for yi, score in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def place_names(model: Any) -> list[str]:
    """The parameters' places, in model.parameters() order, written out from the model."""
    return [f"layers[{i}].neurons[{j}].{p}" for i, layer in enumerate(model.layers)
            for j, neuron in enumerate(layer.neurons)
            for p in [*(f"w[{k}]" for k in range(len(neuron.w))), "b"]]


def micrograd_demo(n: int = 6, sizes: tuple[int, ...] = (4, 4, 1), check: bool = False
                   ) -> tuple[Any, Any, Any]:
    random.seed(1)
    model = MLP(2, list(sizes))
    loss = moons_loss(model, n)
    result = from_micrograd(loss, model, check=check)
    loss.backward()
    return model, loss, result


def test_an_mlps_parameters_are_named_by_their_place_with_micrograds_gradients() -> None:
    model, loss, result = micrograd_demo(check=True)
    names = place_names(model)
    assert list(result.gradients) == names
    for name, parameter in zip(names, model.parameters(), strict=True):
        assert abs(result.gradients[name] - parameter.grad) <= 1e-9
    assert abs(result.output.value - loss.data) <= 1e-9
    assert result.check is not None and result.check.ok
    assert {entry.input for entry in result.check.entries} == set(names)


def test_an_mlp_is_grouped_data_layers_loss_regularization() -> None:
    model, _, result = micrograd_demo(n=6)
    groups = result.groups
    assert groups is not None
    assert_a_tree(groups, len(result.nodes))
    top = children(groups, -1)
    assert [groups.name[g] for g in top] == ["data", "layers[0]", "layers[1]", "layers[2]",
                                            "loss", "regularization"]
    assert [groups.kind[g] for g in top] == ["data", "layer", "layer", "layer", "loss",
                                            "regularization"]
    for i, layer in enumerate(model.layers):
        neurons = children(groups, top[1 + i])
        assert [groups.name[g] for g in neurons] == [
            f"layers[{i}].neurons[{j}]" for j in range(len(layer.neurons))]
        assert {groups.kind[g] for g in neurons} == {"neuron"}
    counts = Counter(groups.kind)
    assert counts == {"data": 1, "layer": 3, "neuron": 9, "loss": 1, "regularization": 1,
                      "sample": 6 * (1 + 9 + 1)}
    assert groups.node_group[int(result.output.node[1:])] == top[4]  # the total is the loss's


def test_a_neuron_holds_its_parameters_and_per_sample_sum_and_activation() -> None:
    model, _, result = micrograd_demo(n=5)
    groups = result.groups
    assert groups is not None
    by_id = {n.id: n for n in result.nodes}
    for i, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            name = f"layers[{i}].neurons[{j}]"
            g = find(groups, name, find(groups, f"layers[{i}]"))
            own = {result.nodes[k].name for k in members(groups, g)}
            assert own == {f"{name}.w[{k}]" for k in range(len(neuron.w))} | {f"{name}.b"}
            samples = children(groups, g)
            assert [groups.name[s] for s in samples] == [f"sample[{k}]" for k in range(5)]
            for s in samples:
                ops = Counter(result.nodes[k].op for k in members(groups, s))
                nin = len(neuron.w)
                assert ops == Counter({"mul": nin, "add": nin, **({"relu": 1} if neuron.nonlin
                                                                  else {})})
                for k in members(groups, s):  # reads only this neuron's parameters
                    read = {by_id[i].name for i in result.nodes[k].inputs
                            if by_id[i].op == "input"}
                    assert all(p.startswith(name + ".") for p in read)


def test_a_group_spans_the_listings_lines_of_its_nodes() -> None:
    _, _, result = micrograd_demo(n=3)
    groups = result.groups
    assert groups is not None
    for g, name in enumerate(groups.name):
        if groups.kind[g] == "neuron":
            span = groups.span[g]
            assert span is not None
            text = result.source[span[0]:span[1]]
            assert text.startswith(f"{name}.w[0] = ") and not text.endswith("\n")
            for k in nodes_under(groups, g):
                start, end = result.nodes[k].span
                assert span[0] <= start <= end <= span[1]
    assert groups.span[find(groups, "data")] is None  # its points are written inline


def test_each_sample_is_one_points_forward_pass() -> None:
    _, _, result = micrograd_demo(n=4)
    groups = result.groups
    assert groups is not None
    data = find(groups, "data")
    sample_of = {}
    for s in children(groups, data):
        for k in members(groups, s):
            sample_of[result.nodes[k].id] = groups.name[s]
    assert Counter(sample_of.values()) == {f"sample[{k}]": 2 for k in range(4)}  # x0 and x1
    for k, node in enumerate(result.nodes):  # an edge never joins two samples' groups
        g = groups.node_group[k]
        if g < 0 or groups.kind[g] != "sample":
            continue
        sample_of.setdefault(node.id, groups.name[g])
        for i in node.inputs:
            if i in sample_of:
                assert sample_of[i] == groups.name[g], (node.id, i)


def test_the_regularization_is_the_sum_of_squares_of_every_parameter() -> None:
    model, _, result = micrograd_demo(n=4)
    groups = result.groups
    assert groups is not None
    reg = [result.nodes[k] for k in nodes_under(groups, find(groups, "regularization"))]
    by_id = {n.id: n for n in result.nodes}
    squared = [by_id[n.inputs[0]].name for n in reg
               if n.op == "mul" and n.inputs[0] == n.inputs[1]]
    assert sorted(squared) == sorted(place_names(model))
    assert Counter(n.op for n in reg) == {"mul": len(squared) + 1, "add": len(squared),
                                          "const": 2}  # the sum starts at 0; alpha


def test_a_layer_as_the_model_is_the_top_group() -> None:
    random.seed(2)
    layer = Layer(3, 2)
    x = [Value(0.5), Value(-1.0), Value(2.0)]
    out = layer(x)
    loss = out[0] * out[1] + out[0]
    result = from_micrograd(loss, layer, check=False)
    loss.backward()
    assert list(result.gradients)[:4] == ["neurons[0].w[0]", "neurons[0].w[1]",
                                          "neurons[0].w[2]", "neurons[0].b"]
    for name, p in zip(result.gradients, layer.parameters(), strict=True):
        assert abs(result.gradients[name] - p.grad) <= 1e-9
    groups = result.groups
    assert groups is not None
    top = children(groups, -1)
    assert [groups.name[g] for g in top] == ["data", "Layer", "loss"]
    assert [groups.kind[g] for g in top] == ["data", "layer", "loss"]
    assert [groups.name[g] for g in children(groups, top[1])] == ["neurons[0]", "neurons[1]"]
    assert "sample" not in groups.kind  # one sample: no sample groups
    assert sorted(result.nodes[k].value for k in members(groups, top[0])) == [-1.0, 0.5, 2.0]


def test_the_parameter_list_and_mapping_forms_keep_their_names_and_no_groups() -> None:
    random.seed(1)
    model = MLP(2, [3, 1])
    loss = moons_loss(model, 3)
    listed = from_micrograd(loss, model.parameters(), check=False)
    assert sorted(listed.gradients) == sorted(f"p{k}" for k in range(13))
    assert listed.groups is not None and listed.groups.kind == []
    b = model.layers[1].neurons[0].b
    mapped = from_micrograd(loss, {"b": b}, check=False)
    loss.backward()
    assert_close(mapped.gradients["b"], b.grad)


@deterministic(25)
@given(st.integers(1, 3), st.lists(st.integers(2, 3), max_size=2), st.integers(1, 2),
       st.integers(1, 4), st.integers(0, 10_000))
def test_any_mlps_tree_is_a_tree_and_its_gradients_micrograds(
        nin: int, hidden: list[int], outputs: int, n: int, seed: int) -> None:
    sizes = [*hidden, outputs]  # micrograd's hidden layer of one neuron gives no list
    random.seed(seed)
    model = MLP(nin, sizes)
    rng = np.random.default_rng(seed)
    scores = [model([Value(float(v)) for v in rng.normal(size=nin)]) for _ in range(n)]
    loss: Any = sum((s - 0.5) ** 2 for s in (x if isinstance(x, list) else [x] for x in scores)
                    for s in s) + 1e-3 * sum(p * p for p in model.parameters())
    result = from_micrograd(loss, model, check=False)
    loss.backward()
    groups = result.groups
    assert groups is not None
    assert_a_tree(groups, len(result.nodes))
    assert Counter(groups.kind)["layer"] == len(sizes)
    assert Counter(groups.kind)["neuron"] == sum(sizes)
    assert [groups.kind[g] for g in children(groups, -1)][-2:] == ["loss", "regularization"]
    for name, p in zip(result.gradients, model.parameters(), strict=True):
        assert abs(result.gradients[name] - p.grad) <= 1e-9


# ----------------------------------------------------------------- a program's functions


def test_the_moons_program_groups_each_call_of_its_functions_in_its_line(
        client: TestClient) -> None:
    from chainrule.examples import MOONS

    body = client.post("/api/v1/backprop", json={"source": MOONS}).json()
    groups = Groups.model_validate(body["groups"])
    calls = [(name, groups.name[parent], MOONS[slice(*span)]) for name, kind, parent, span in zip(
        groups.name, groups.kind, groups.parent, groups.span) if kind == "function"]
    assert calls == [("layer#1", "h1", "layer(W1, X, b1)"), ("layer#2", "h2", "layer(W2, h1, b2)"),
                     ("margin#1", "loss", "margin(scores, y)")]
    layer1 = groups.name.index("layer#1")
    ops = [body["nodes"][k]["op"] for k in members(groups, layer1)]
    assert ops == ["matmul", "add", "relu"]
    assert body["check"]["ok"]


def test_a_primitive_call_is_one_node_in_its_line_not_a_group() -> None:
    source = ("@derivative(lambda x: sigmoid(x))\ndef softplus(x):\n    return log(1 + exp(x))\n"
              "y = softplus(x * w)")
    groups = backprop(source, {"x": 0.5, "w": 2.0}).groups
    assert groups is not None and groups.kind == ["statement"] and groups.name == ["y"]
