"""`chainrule.grade` and `POST /api/v1/grade`: the learner's gradients of every named tensor,
graded against chainrule's and given the learner's own upstream.

makemore part 4 ("Becoming a backprop ninja", karpathy/nn-zero-to-hero,
lectures/makemore/makemore_part4_backprop.ipynb): its chunked forward pass (test_makemore's),
and its exercises' manual gradients written here in torch as the notebook writes them (cells
11, 13 and 20). Torch autograd (`retain_grad`, as the notebook compares with `cmp`) is the
oracle that they are right; a program of the language is checked by central differences.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chainrule import ChainruleError, grade
from chainrule.answer.models import GradeResponse
from fastapi.testclient import TestClient

from .oracles import assert_close, central_difference
from .test_makemore import (
    FIRST_USE,
    INTERMEDIATES,
    chunked,
    notebook_parameters,
    run_keeping_locals,
    torchs_gradients,
)

n = 32
VERDICTS = {"exact", "approx", "wrong", "shape", "missing"}
RIGHT = {"exact", "approx"}


def forward_tensors(p: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The chunked pass's local tensors, computed by torch (the notebook's variables)."""
    _, local = run_keeping_locals(chunked(p))
    return {**p, **local}


@torch.no_grad()
def exercise1(t: dict[str, Any], bessel: float = n - 1) -> dict[str, torch.Tensor]:
    """Cell 11, as written: backprop through every variable of the chunked pass, one by one.
    `bessel` is the divisor of dbndiff2 (the notebook's n-1; a learner's mistake: n)."""
    logprobs, probs, counts, counts_sum, counts_sum_inv = (
        t[k] for k in ["logprobs", "probs", "counts", "counts_sum", "counts_sum_inv"])
    logits, h, W2, bnraw, bngain, bndiff, bndiff2, bnvar, bnvar_inv = (
        t[k] for k in ["logits", "h", "W2", "bnraw", "bngain", "bndiff", "bndiff2", "bnvar",
                       "bnvar_inv"])
    hprebn, embcat, W1, emb, C, Xb, Yb = (
        t[k] for k in ["hprebn", "embcat", "W1", "emb", "C", "Xb", "Yb"])
    dlogprobs = torch.zeros_like(logprobs)
    dlogprobs[range(n), Yb] = -1.0/n
    dprobs = (1.0 / probs) * dlogprobs
    dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
    dcounts = counts_sum_inv * dprobs
    dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv
    dcounts += torch.ones_like(counts) * dcounts_sum
    dnorm_logits = counts * dcounts
    dlogits = dnorm_logits.clone()
    dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
    dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - h**2) * dh
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnraw = bngain * dhpreact
    dbnbias = dhpreact.sum(0, keepdim=True)
    dbndiff = bnvar_inv * dbnraw
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    dbnvar = (-0.5*(bnvar + 1e-5)**-1.5) * dbnvar_inv
    dbndiff2 = (1.0/bessel)*torch.ones_like(bndiff2) * dbnvar
    dbndiff += (2*bndiff) * dbndiff2
    dhprebn = dbndiff.clone()
    dbnmeani = (-dbndiff).sum(0)
    dhprebn += 1.0/n * (torch.ones_like(hprebn) * dbnmeani)
    dembcat = dhprebn @ W1.T
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = dembcat.view(emb.shape)
    dC = notebook_dC(C, Xb, demb)
    return {"logprobs": dlogprobs, "probs": dprobs, "counts_sum_inv": dcounts_sum_inv,
            "counts_sum": dcounts_sum, "counts": dcounts, "norm_logits": dnorm_logits,
            "logit_maxes": dlogit_maxes, "logits": dlogits, "h": dh, "W2": dW2, "b2": db2,
            "hpreact": dhpreact, "bngain": dbngain, "bnbias": dbnbias, "bnraw": dbnraw,
            "bnvar_inv": dbnvar_inv, "bnvar": dbnvar, "bndiff2": dbndiff2, "bndiff": dbndiff,
            "bnmeani": dbnmeani, "hprebn": dhprebn, "embcat": dembcat, "W1": dW1, "b1": db1,
            "emb": demb, "C": dC}


def notebook_dC(C: torch.Tensor, Xb: torch.Tensor, demb: torch.Tensor) -> torch.Tensor:
    """dC as the notebook adds it up, the rows of demb back into the rows of C they read."""
    dC = torch.zeros_like(C)
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            ix = Xb[k,j]
            dC[ix] += demb[k,j]
    return dC


@torch.no_grad()
def fused(t: dict[str, Any], bessel: float = n - 1) -> dict[str, torch.Tensor]:
    """Exercise 4's backward pass: cell 13's dlogits (the cross entropy in one go) and cell
    20's dhprebn (the batchnorm in one go, `n/bessel` the notebook's n/(n-1)), then the rest."""
    logits, h, W2, bnraw, bngain, bnvar_inv, embcat, W1, emb, C, Xb, Yb = (
        t[k] for k in ["logits", "h", "W2", "bnraw", "bngain", "bnvar_inv", "embcat", "W1",
                       "emb", "C", "Xb", "Yb"])
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - h**2) * dh
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnbias = dhpreact.sum(0, keepdim=True)
    dhprebn = bngain*bnvar_inv/n * (n*dhpreact - dhpreact.sum(0) - n/bessel*bnraw*(dhpreact*bnraw).sum(0))
    dembcat = dhprebn @ W1.T
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = dembcat.view(emb.shape)
    dC = notebook_dC(C, Xb, demb)
    return {"logits": dlogits, "h": dh, "W2": dW2, "b2": db2, "hpreact": dhpreact,
            "bngain": dbngain, "bnbias": dbnbias, "hprebn": dhprebn, "embcat": dembcat,
            "W1": dW1, "b1": db1, "emb": demb, "C": dC}


@pytest.fixture(scope="module")
def notebook() -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, np.ndarray]]:
    """The parameters (float64), the forward pass's tensors, and torch autograd's gradient of
    every one of them (the oracle)."""
    p = notebook_parameters(torch.float64)
    _, expected = torchs_gradients(p, chunked(p), INTERMEDIATES)
    return p, forward_tensors(p), expected


def assert_right_by_torch(grads: dict[str, torch.Tensor], expected: dict[str, np.ndarray]
                          ) -> None:
    """The test's own gradients agree with torch autograd (the oracle: they are right)."""
    for name, grad in grads.items():
        assert_close(np.broadcast_to(grad.numpy(), expected[name].shape), expected[name],
                     rtol=1e-7, atol=1e-12)


# ---- makemore part 4


def test_the_notebooks_right_gradients_are_all_right(notebook: Any) -> None:
    p, t, expected = notebook
    grads = exercise1(t)
    assert_right_by_torch(grads, expected)
    report = grade(chunked(p), grads)
    assert report.first_wrong is None
    assert {row["name"] for row in report.rows} == set(grads)
    for row in report.rows:
        assert row["verdict"] in RIGHT, row
        assert row["given_your_upstream"]["verdict"] in RIGHT, row
    assert report["bnmeani"]["given_shape"] == [64]  # (-dbndiff).sum(0): read as (1, 64)
    assert "read as [1, 64]" in report["bnmeani"]["hint"]
    assert report.tolerance["precision"] == "float64"


def test_rows_come_in_backward_order_each_with_its_node(notebook: Any) -> None:
    p, t, _ = notebook
    report = grade(chunked(p), exercise1(t))
    names = [row["name"] for row in report.rows]
    # The notebook's order, but for the leaves: each comes as soon as its gradient is
    # complete (b2 when logits' add has sent its share, before h and W2).
    assert names[:8] == INTERMEDIATES[::-1][:8]
    assert names.index("b2") < names.index("h") < names.index("W2") < names.index("hpreact")
    assert names.index("bndiff2") < names.index("bndiff") < names.index("bnmeani") \
        < names.index("hprebn") < names.index("embcat") < names.index("emb") < names.index("C")
    nodes = {node.id: node for node in report.answer.nodes}
    for row in report.rows:
        node = nodes[row["node"]]
        assert node.name == row["name"] or node.expr.plain == row["name"]
        assert list(node.shape) == row["shape"]


def test_one_mistake_is_named_once_and_the_rows_after_it_are_right_from_it(notebook: Any
                                                                            ) -> None:
    p, t, expected = notebook
    grads = exercise1(t, bessel=n)  # dbndiff2 with 1/n instead of 1/(n-1)
    report = grade(chunked(p), grads)
    assert report.first_wrong == "bndiff2"
    names = [row["name"] for row in report.rows]
    at = names.index("bndiff2")
    for row in report.rows[:at]:  # before the mistake: right
        assert row["verdict"] in RIGHT, row
    mistake = report["bndiff2"]
    assert mistake["verdict"] == "wrong" and mistake["given_your_upstream"]["verdict"] == "wrong"
    assert mistake["given_your_upstream"]["from"] == ["bnvar"]
    k = tuple(mistake["index"])
    assert_close(mistake["expected"], expected["bndiff2"][k], rtol=1e-9)
    assert_close(mistake["yours"], grads["bndiff2"][k].item(), rtol=1e-12)
    assert "dbnvar" in mistake["hint"]
    after = report.rows[at + 1:]
    assert after
    for row in after:
        assert row["given_your_upstream"]["verdict"] in RIGHT, row
    for name in ["bndiff", "hprebn", "W1", "C"]:
        assert report[name]["verdict"] == "wrong"
        assert report[name]["hint"].startswith("right, from your d"), report[name]["hint"]
        assert report[name]["hint"].endswith("the mistake is further up, at bndiff2")
    # 2 bndiff dbndiff2 sums to zero over the batch (bndiff does): dbnmeani is still right.
    assert report["bnmeani"]["verdict"] in RIGHT
    assert "dbndiff2" in report["bndiff"]["hint"]
    # Torch agrees that they are wrong: the learner's dbndiff against autograd's.
    assert not np.allclose(grads["bndiff"].numpy(), expected["bndiff"], rtol=1e-6)


def test_a_gradient_of_the_wrong_shape_names_the_sum_it_missed(notebook: Any) -> None:
    p, t, _ = notebook
    grads = exercise1(t)
    grads["bnmeani"] = -grads["bndiff"]  # not summed over the batch: (32, 64)
    grads["b2"] = grads["logits"].sum(1)  # summed along the wrong axis: (32,)
    report = grade(chunked(p), grads)
    row = report["bnmeani"]
    assert row["verdict"] == "shape" and row["given_your_upstream"]["verdict"] == "shape"
    assert row["given_shape"] == [32, 64] and row["shape"] == [1, 64]
    assert "broadcast along axis 0 in bndiff" in row["hint"]
    assert "summed over axis 0" in row["hint"]
    assert row["hint"].endswith("expected (1, 64), got (32, 64)")
    assert "summed over axis 0" in report["b2"]["hint"]
    assert report["b2"]["hint"].endswith("expected (27,), got (32,)")
    assert report.first_wrong == "b2"  # the first in backward order
    # hprebn's upstream passes through bnmeani with chainrule's rule: right from there.
    assert report["hprebn"]["given_your_upstream"]["verdict"] in RIGHT
    assert "bnmeani" in report["hprebn"]["given_your_upstream"]["through"]


def test_a_reduction_missed_going_back_is_a_broadcast_in_the_hint(notebook: Any) -> None:
    p, t, _ = notebook
    grads = exercise1(t)
    grads["hprebn"] = grads["hprebn"].sum(0, keepdim=True)  # (1, 64), not broadcast back
    row = grade(chunked(p), grads)["hprebn"]
    assert row["verdict"] == "shape"
    assert "reduced hprebn with sum over axis 0" in row["hint"]
    assert "broadcast back along axis 0" in row["hint"]


def test_the_fused_cross_entropy_and_batchnorm_are_graded_as_one_rule(notebook: Any) -> None:
    p, t, expected = notebook
    grads = fused(t)
    assert_right_by_torch(grads, expected)
    report = grade(chunked(p), grads)
    assert report.first_wrong is None
    for name in grads:
        assert report[name]["verdict"] in RIGHT
        assert report[name]["given_your_upstream"]["verdict"] in RIGHT
    logits = report["logits"]["given_your_upstream"]
    assert logits["seed"] and logits["from"] == []
    assert {"probs", "logprobs", "counts"} <= set(logits["through"])
    hprebn = report["hprebn"]["given_your_upstream"]
    assert hprebn["from"] == ["hpreact"] and "bnraw" in hprebn["through"]
    for name in ["probs", "bnvar", "bndiff2", "bnmeani"]:
        assert report[name]["verdict"] == "missing"


def test_a_wrong_fused_batchnorm_is_the_first_mistake(notebook: Any) -> None:
    p, t, _ = notebook
    report = grade(chunked(p), fused(t, bessel=n))  # n/n instead of n/(n-1)
    assert report.first_wrong == "hprebn"
    assert report["hprebn"]["given_your_upstream"]["verdict"] == "wrong"
    for name in ["embcat", "W1", "b1", "emb", "C"]:
        assert report[name]["given_your_upstream"]["verdict"] in RIGHT


def test_the_notebook_in_float32_is_graded_at_float32s_precision() -> None:
    p = notebook_parameters(torch.float32)
    report = grade(chunked(p), exercise1(forward_tensors(p)))
    assert report.tolerance["precision"] == "float32"
    assert report.first_wrong is None
    assert all(row["verdict"] in RIGHT for row in report.rows)
    wrong = grade(chunked(p), exercise1(forward_tensors(p), bessel=n))
    assert wrong.first_wrong == "bndiff2"


def test_only_the_parameters_grades_each_from_the_seed(notebook: Any) -> None:
    p, _, expected = notebook
    grads = {name: torch.from_numpy(expected[name]) for name in FIRST_USE}
    report = grade(chunked(p), grads)
    assert report.first_wrong is None
    assert [r["name"] for r in report.rows if r["verdict"] != "missing"] == [
        "b2", "W2", "bnbias", "bngain", "b1", "W1", "C"]


def test_a_name_the_forward_pass_lacks_is_refused_with_the_closest(notebook: Any) -> None:
    p, t, _ = notebook
    with pytest.raises(ChainruleError, match="bndif2.*did you mean bndiff2"):
        grade(chunked(p), {"bndif2": exercise1(t)["bndiff2"]})


def test_the_tables_say_each_verdict_in_words(notebook: Any) -> None:
    p, t, _ = notebook
    grads = exercise1(t, bessel=n)
    grads["bnmeani"] = -grads["bndiff"]
    del grads["probs"]
    report = grade(chunked(p), grads)
    text, page = str(report), report._repr_html_()
    for word in ["approx", "wrong", "shape", "missing", "first mistake: bndiff2"]:
        assert word in text and word in page
    assert "<table" in page and "bndiff2" in page and "(first mistake)" in page
    data = json.loads(report.to_json())
    GradeResponse.model_validate(data)
    assert data["answer"]["grade"]["first_wrong"] == "bndiff2"


# ---- a numpy function and a program


def test_a_numpy_function_is_graded_by_its_local_names() -> None:
    rng = np.random.default_rng(1)
    W, x = rng.normal(size=(3, 4)), rng.normal(size=4)

    def f(W: np.ndarray, x: np.ndarray) -> Any:
        pre = W @ x
        h = np.tanh(pre)
        return np.sum(h * h)

    h = np.tanh(W @ x)
    dh = 2 * h
    dpre = (1 - h**2) * dh
    dW = np.outer(dpre, x)
    loss = lambda w: float(np.sum(np.tanh(w.reshape(3, 4) @ x) ** 2))
    assert_close(dW, central_difference(loss, W).reshape(3, 4), rtol=1e-6)
    report = grade(f, {"h": dh, "pre": dpre, "W": dW, "x": W.T @ dpre}, {"W": W, "x": x})
    assert report.first_wrong is None and set(report.verdicts.values()) <= RIGHT
    wrong = grade(f, {"h": dh, "pre": dh, "W": np.outer(dh, x)}, W=W, x=x)
    assert wrong.first_wrong == "pre"
    assert wrong["W"]["given_your_upstream"]["verdict"] in RIGHT
    assert wrong["x"]["verdict"] == "missing"


PROGRAM = "pre = W @ x + b\nh = tanh(pre)\nL = sum(h * h) / 2"


def program_gradients(W: np.ndarray, x: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """The program's gradients by hand, checked against central differences."""
    h = np.tanh(W @ x + b)
    dpre = (1 - h**2) * h
    grads = {"h": h, "pre": dpre, "W": np.outer(dpre, x), "x": W.T @ dpre, "b": dpre}
    loss = lambda W_, x_, b_: float(np.sum(np.tanh(W_ @ x_ + b_) ** 2) / 2)
    assert_close(grads["W"], central_difference(lambda w: loss(w.reshape(W.shape), x, b), W
                                                ).reshape(W.shape), rtol=1e-6)
    assert_close(grads["x"], central_difference(lambda v: loss(W, v, b), x), rtol=1e-6)
    assert_close(grads["b"], central_difference(lambda v: loss(W, x, v), b), rtol=1e-6)
    return grads


def test_a_program_is_graded_through_the_api(client: TestClient) -> None:
    rng = np.random.default_rng(2)
    W, x, b = rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=2)
    grads = program_gradients(W, x, b)
    values = {"W": W.tolist(), "x": x.tolist(), "b": b.tolist()}
    r = client.post("/api/v1/grade", json={"source": PROGRAM, "values": values,
                                           "grads": {k: v.tolist() for k, v in grads.items()}})
    assert r.status_code == 200, r.text
    body = r.json()
    GradeResponse.model_validate(body)
    assert body["first_wrong"] is None
    assert [row["name"] for row in body["rows"]] == ["h", "pre", "b", "W", "x"]
    assert all(row["verdict"] in RIGHT for row in body["rows"])
    assert body["answer"]["grade"]["rows"] == body["rows"]
    ids = body["answer"]["columns"]["nodes"]["name"]
    for row in body["rows"]:
        assert ids[int(row["node"][1:])] == row["name"] or row["name"] in values


def test_a_wrong_rule_in_a_program_is_the_first_wrong_with_both_numbers(
        client: TestClient) -> None:
    rng = np.random.default_rng(3)
    W, x, b = rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=2)
    grads = program_gradients(W, x, b)
    h = np.tanh(W @ x + b)
    grads["pre"] = (1 - h) * h  # tanh's derivative without the square
    grads["W"] = np.outer(grads["pre"], x)
    body = client.post("/api/v1/grade", json={
        "source": PROGRAM, "values": {"W": W.tolist(), "x": x.tolist(), "b": b.tolist()},
        "grads": {k: v.tolist() for k, v in grads.items()}}).json()
    rows = {row["name"]: row for row in body["rows"]}
    assert body["first_wrong"] == "pre"
    row = rows["pre"]
    k = row["index"][0]
    assert_close(row["expected"], (1 - h[k] ** 2) * h[k], rtol=1e-12)
    assert_close(row["yours"], grads["pre"][k], rtol=1e-12)
    assert rows["W"]["verdict"] == "wrong"
    assert rows["W"]["given_your_upstream"]["verdict"] in RIGHT
    assert rows["W"]["hint"] == "right, from your dpre: the mistake is further up, at pre"


@pytest.mark.parametrize(("grads", "words"), [
    ({"hh": [1, 2]}, "'hh'.*did you mean h"),
    ({"h": [[1, 2], [3]]}, "rectangular"),
])
def test_bad_gradients_are_a_4xx_with_a_message(client: TestClient, grads: dict[str, Any],
                                                words: str) -> None:
    r = client.post("/api/v1/grade", json={"source": PROGRAM, "values": {
        "W": [[1, 2, 3], [4, 5, 6]], "x": [1, 0, 1], "b": [0, 0]}, "grads": grads})
    assert r.status_code == 422
    assert re.search(words, r.json()["error"]["message"])


def test_a_non_finite_gradient_is_a_4xx(client: TestClient) -> None:
    body = ('{"source": "h = tanh(x)\\nL = h * h", "values": {"x": 0.5}, '
            '"grads": {"h": NaN}}')
    r = client.post("/api/v1/grade", content=body,
                    headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert "NaN" in r.json()["error"]["message"] or "finite" in json.dumps(r.json())


def test_a_gradient_of_a_program_shaped_wrong_is_a_shape_row(client: TestClient) -> None:
    grads = {"W": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]}  # transposed
    body = client.post("/api/v1/grade", json={"source": PROGRAM, "values": {
        "W": [[1, 2, 3], [4, 5, 6]], "x": [1, 0, 1], "b": [0, 0]}, "grads": grads}).json()
    row = next(r for r in body["rows"] if r["name"] == "W")
    assert row["verdict"] == "shape" and "transposed?" in row["hint"]
    assert body["first_wrong"] == "W"
    assert math.isfinite(body["tolerance"]["scale"])


def test_show_plays_a_reports_answer_with_its_grade(monkeypatch: pytest.MonkeyPatch) -> None:
    import chainrule.widget
    from chainrule import show

    monkeypatch.setattr(chainrule.widget, "esm_text", lambda: "")  # no built frontend needed
    report = grade("h = tanh(x)\nL = h * h", {"h": 2 * math.tanh(0.5), "x": 1.0}, x=0.5)
    widget = show(report)
    graded = widget.answer["grade"]
    assert graded["first_wrong"] == "x"
    assert [row["name"] for row in graded["rows"]] == ["h", "x"]
    assert graded["rows"][0]["verdict"] in RIGHT and graded["rows"][1]["verdict"] == "wrong"
    names = widget.answer["columns"]["nodes"]["name"]
    assert names[int(graded["rows"][0]["node"][1:])] == "h"


def test_a_programs_rename_is_a_name_of_the_node_it_renames() -> None:
    source = "a = x\nb = sin(a)\nL = b * a"
    x = 0.7
    loss = lambda v: float(np.sin(v[0]) * v[0])
    dx = central_difference(loss, np.array([x]))[0]
    report = grade(source, {"b": x, "a": dx}, x=x)
    assert report.first_wrong is None
    assert [row["name"] for row in report.rows] == ["b", "a"]
    wrong = grade(source, {"b": x, "a": dx + 1}, x=x)
    assert wrong.first_wrong == "a" and " at " not in wrong["a"]["hint"]


def test_a_models_parameters_are_graded_by_their_paths() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                torch.nn.Linear(4, 1)).double()
    x = torch.randn(5, 3, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        out = model(x)
        return (out ** 2).mean()

    model.zero_grad()
    loss_fn().backward()  # torch autograd: the oracle
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    report = grade(loss_fn, grads, model=model)
    assert report.first_wrong is None
    assert set(report.verdicts) == {*grads, "out"}
    assert report.verdicts["out"] == "missing"
    grads["0.weight"] = grads["0.weight"].T
    row = grade(loss_fn, grads, model=model)["0.weight"]
    assert row["verdict"] == "shape" and "transposed?" in row["hint"]
    assert "d(0.weight)" not in row["hint"]
