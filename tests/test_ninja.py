"""`chainrule.ninja` and `POST /api/v1/ninja`: backprop ninja in the language. The learner
types each tensor's gradient as an expression (`dprobs = dlogprobs / probs`); chainrule
evaluates and grades them.

The exercise is the gallery's small makemore part 4 (a batch of 8, a vocabulary of 5, 6
hidden units), its answers the notebook's manual gradients (cell 11) typed in the language.
The oracle is torch autograd on the same forward pass written in torch (`retain_grad` on every
tensor, as the notebook's `cmp`); the new vocabulary (onehot, argmax, zeros_like, ones_like) is
checked against torch's own functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chainrule import backprop, grade, ninja
from chainrule.answer.models import GradeResponse
from chainrule.errors import ChainruleError
from chainrule.examples import EXAMPLES, NINJA, NINJA_VALUES
from fastapi.testclient import TestClient

RIGHT = ("exact", "approx")
n, vocab = 8, 5

# The notebook's answers (cell 11), in the language: dlogprobs[range(n), Yb] = -1.0/n is
# -onehot(Yb, 5) / n; a `+=` of the notebook is a sum of the two terms.
ANSWERS = {
    "logprobs": "-onehot(Yb, 5) / 8",
    "probs": "dprobs = dlogprobs / probs",
    "counts_sum_inv": "sum(counts * dprobs, axis=1, keepdims=True)",
    "counts_sum": "-counts_sum**-2 * dcounts_sum_inv",
    "counts": "counts_sum_inv * dprobs + ones_like(counts) * dcounts_sum",
    "norm_logits": "counts * dcounts",
    "logit_maxes": "sum(-dnorm_logits, axis=1, keepdims=True)",
    "logits": "dnorm_logits + onehot(argmax(logits, 1), 5) * dlogit_maxes",
    "h": "dlogits @ W2.T",
    "W2": "h.T @ dlogits",
    "b2": "sum(dlogits, axis=0)",
    "hpreact": "(1 - h**2) * dh",
    "bngain": "sum(bnraw * dhpreact, axis=0, keepdims=True)",
    "bnraw": "bngain * dhpreact",
    "bnbias": "sum(dhpreact, axis=0, keepdims=True)",
    "bndiff": "bnvar_inv * dbnraw + 2 * bndiff * dbndiff2",
    "bnvar_inv": "sum(bndiff * dbnraw, axis=0, keepdims=True)",
    "bnvar": "-0.5 * (bnvar + 1e-5)**-1.5 * dbnvar_inv",
    "bndiff2": "1/7 * ones_like(bndiff2) * dbnvar",
    "hprebn": "dbndiff + 1/8 * ones_like(hprebn) * dbnmeani",
    "bnmeani": "sum(-dbndiff, axis=0, keepdims=True)",
    "embcat": "dhprebn @ W1.T",
    "W1": "embcat.T @ dhprebn",
    "b1": "sum(dhprebn, axis=0)",
    "emb": "demb = reshape(dembcat, emb)",
    "C": "sum(permute(onehot(Xb, 5), [1, 2, 0]) @ permute(demb, [1, 0, 2]), axis=0)",
}
# After bndiff2, backward: the rows its gradient flows into.
AFTER_BNDIFF2 = ["bndiff", "bnmeani", "hprebn", "b1", "embcat", "W1", "emb", "C"]


def torch_gradients() -> dict[str, np.ndarray]:
    """torch autograd's gradient of every tensor of the exercise: the notebook's chunked
    forward pass, on the gallery's values, each tensor's `retain_grad()`."""
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in NINJA_VALUES.items() if k not in ("Xb", "Yb")}
    Xb, Yb = torch.tensor(NINJA_VALUES["Xb"]), torch.tensor(NINJA_VALUES["Yb"])
    C, W1, b1, W2, b2, bngain, bnbias = (t[k] for k in ["C", "W1", "b1", "W2", "b2", "bngain",
                                                         "bnbias"])
    s: dict[str, torch.Tensor] = {}
    s["emb"] = C[Xb]
    s["embcat"] = s["emb"].view(s["emb"].shape[0], -1)
    s["hprebn"] = s["embcat"] @ W1 + b1
    s["bnmeani"] = 1/n*s["hprebn"].sum(0, keepdim=True)
    s["bndiff"] = s["hprebn"] - s["bnmeani"]
    s["bndiff2"] = s["bndiff"]**2
    s["bnvar"] = 1/(n-1)*(s["bndiff2"]).sum(0, keepdim=True)
    s["bnvar_inv"] = (s["bnvar"] + 1e-5)**-0.5
    s["bnraw"] = s["bndiff"] * s["bnvar_inv"]
    s["hpreact"] = bngain * s["bnraw"] + bnbias
    s["h"] = torch.tanh(s["hpreact"])
    s["logits"] = s["h"] @ W2 + b2
    s["logit_maxes"] = s["logits"].max(1, keepdim=True).values
    s["norm_logits"] = s["logits"] - s["logit_maxes"]
    s["counts"] = s["norm_logits"].exp()
    s["counts_sum"] = s["counts"].sum(1, keepdims=True)
    s["counts_sum_inv"] = s["counts_sum"]**-1
    s["probs"] = s["counts"] * s["counts_sum_inv"]
    s["logprobs"] = s["probs"].log()
    loss = -s["logprobs"][range(n), Yb].mean()
    for tensor in s.values():
        tensor.retain_grad()
    loss.backward()
    return {k: v.grad.numpy() for k, v in {**t, **s}.items()}  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def oracle() -> dict[str, np.ndarray]:
    return torch_gradients()


def test_the_exercise_is_in_the_gallery() -> None:
    example = next(e for e in EXAMPLES if e.get("ninja"))
    assert example["title"] == "Backprop ninja: makemore part 4"
    assert example["source"] == NINJA and example["values"] == NINJA_VALUES


def test_torchs_gradients_are_chainrules(oracle: dict[str, np.ndarray]) -> None:
    # The oracle graded as the learner's gradients: chainrule's reference agrees with torch.
    report = grade(NINJA, oracle, NINJA_VALUES)
    assert {row["name"] for row in report.rows} == set(oracle)
    assert all(row["verdict"] in RIGHT for row in report.rows), str(report)


def test_the_notebooks_answers_typed_in_the_language_are_all_right(
        oracle: dict[str, np.ndarray]) -> None:
    report = ninja(NINJA, ANSWERS, NINJA_VALUES)
    assert report.first_wrong is None
    assert {row["name"] for row in report.rows} == set(ANSWERS) == set(oracle)
    for row in report.rows:
        assert row["verdict"] in RIGHT, row
        assert row["given_your_upstream"]["verdict"] in RIGHT, row
        assert row["answer"] == ANSWERS[row["name"]] and row["error"] is None
    assert report.answer.grade is not None
    assert report.answer.grade.rows[0].answer == ANSWERS[report.rows[0]["name"]]


def test_a_wrong_rule_is_named_and_the_rows_after_it_are_right_given_their_upstream(
        oracle: dict[str, np.ndarray]) -> None:
    answers = {**ANSWERS, "bndiff2": "1/8 * ones_like(bndiff2) * dbnvar"}  # 1/n, not 1/(n-1)
    report = ninja(NINJA, answers, NINJA_VALUES)
    assert report.first_wrong == "bndiff2"
    row = report["bndiff2"]
    assert row["verdict"] == "wrong" and row["given_your_upstream"]["verdict"] == "wrong"
    # the expected number is torch's, the learner's is 7/8 of it
    assert row["expected"] == pytest.approx(oracle["bndiff2"][tuple(row["index"])], rel=1e-9)
    assert row["yours"] == pytest.approx(row["expected"] * 7 / 8, rel=1e-9)
    for name in AFTER_BNDIFF2:
        assert report[name]["given_your_upstream"]["verdict"] in RIGHT, report[name]
    assert report["bndiff"]["verdict"] == "wrong"  # a cascade, marked as one
    before = [r["name"] for r in report.rows][:[r["name"] for r in report.rows].index("bndiff2")]
    assert all(report[name]["verdict"] in RIGHT for name in before)


def test_a_syntax_error_is_its_rows_own_with_its_span_and_the_rest_is_graded() -> None:
    answers = {**ANSWERS, "counts_sum": "-counts_sum** * dcounts_sum_inv"}
    report = ninja(NINJA, answers, NINJA_VALUES)
    row = report["counts_sum"]
    assert row["verdict"] == "error" and row["error"]["kind"] == "syntax"
    start, end = row["error"]["span"]
    assert answers["counts_sum"][start:end] == "*"
    assert row["answer"] == answers["counts_sum"]
    # dcounts reads dcounts_sum: it is evaluated with chainrule's own, and right
    assert report["counts"]["verdict"] in RIGHT
    assert report["counts"]["stand_ins"] == ["dcounts_sum"]
    assert "chainrule's own dcounts_sum" in report["counts"]["hint"]
    others = [r for r in report.rows if r["name"] != "counts_sum"]
    assert all(r["verdict"] in RIGHT for r in others)
    assert report.first_wrong is None


def test_an_unknown_name_in_an_answer_is_its_rows_error_with_the_span() -> None:
    answers = {**ANSWERS, "h": "dlogits @ W3.T"}
    row = ninja(NINJA, answers, NINJA_VALUES)["h"]
    assert row["verdict"] == "error" and row["error"]["kind"] == "unknown_name"
    start, end = row["error"]["span"]
    assert answers["h"][start:end] == "W3"


def test_a_line_assigning_another_name_is_an_error_at_its_target() -> None:
    row = ninja(NINJA, {**ANSWERS, "probs": "dprob = dlogprobs / probs"}, NINJA_VALUES)["probs"]
    assert row["error"]["kind"] == "target"
    assert "dprob = dlogprobs / probs"[slice(*row["error"]["span"])] == "dprob"


def test_answers_that_read_each_other_in_a_circle_are_errors() -> None:
    report = ninja("a = x * y\nb = sin(a)\nL = b * x", {"a": "db * 2", "b": "da * 2"},
                   {"x": 1.0, "y": 2.0})
    assert report["a"]["error"]["kind"] == report["b"]["error"]["kind"] == "cycle"


def test_a_gradient_not_answered_is_chainrules_own_and_a_fused_rule_is_graded() -> None:
    # Exercise 2's fused cross entropy: dlogits from probs alone, the rest not answered.
    report = ninja(NINJA, {"logits": "(probs - onehot(Yb, 5)) / 8", "h": "dlogits @ W2.T"},
                   NINJA_VALUES)
    assert report["logits"]["verdict"] in RIGHT and report["h"]["verdict"] in RIGHT
    assert report["probs"]["verdict"] == "missing"
    assert report["h"]["stand_ins"] == []
    seeded = ninja("a = x * y\nL = sin(a)", {"a": "dL * cos(a)"}, {"x": 0.3, "y": 2.0})
    assert seeded["a"]["verdict"] in RIGHT and seeded["a"]["stand_ins"] == ["dL"]


def test_a_non_finite_answer_is_an_error() -> None:
    row = ninja("a = x * y\nL = sin(a)", {"a": "dL * cos(a) / 0"}, {"x": 0.3, "y": 2.0})["a"]
    assert row["verdict"] == "error" and row["error"]["kind"] == "value"


@pytest.mark.parametrize("answers", [{"prob": "dlogprobs / probs"}, {"probs": 3}])
def test_an_unknown_tensor_or_an_answer_not_text_is_refused(answers: dict[str, Any]) -> None:
    with pytest.raises(ChainruleError):
        ninja(NINJA, answers, NINJA_VALUES)


def test_the_exercise_through_the_api(client: TestClient) -> None:
    answers = {**ANSWERS, "bndiff2": "1/8 * ones_like(bndiff2) * dbnvar",
               "probs": "dlogprobs / (probs"}
    r = client.post("/api/v1/ninja", json={"source": NINJA, "values": NINJA_VALUES,
                                           "answers": answers})
    assert r.status_code == 200, r.text
    body = r.json()
    GradeResponse.model_validate(body)
    assert body["first_wrong"] == "bndiff2"
    rows = {row["name"]: row for row in body["rows"]}
    assert rows["probs"]["verdict"] == "error" and rows["probs"]["error"]["span"] is not None
    assert rows["bndiff2"]["answer"] == answers["bndiff2"]
    assert body["answer"]["grade"]["rows"] == body["rows"]


def test_an_unknown_tensor_through_the_api_is_a_4xx(client: TestClient) -> None:
    r = client.post("/api/v1/ninja", json={"source": NINJA, "values": NINJA_VALUES,
                                           "answers": {"prob": "dlogprobs / probs"}})
    assert r.status_code == 422
    assert "probs" in r.json()["error"]["message"]


# ---------------------------------------------------------------- the vocabulary, against torch


def test_onehot_and_argmax_are_torchs() -> None:
    x = np.random.normal(size=(6, 5))
    y = np.array([4, 0, 2, 2, 1, 3])
    picked = backprop("sum(onehot(argmax(x, 1), 5) * x) + sum(onehot(Yb, 5) * x)", x=x, Yb=y)
    tx = torch.tensor(x, requires_grad=True)
    expected = (F.one_hot(tx.argmax(1), 5) * tx).sum() + (F.one_hot(torch.tensor(y), 5) * tx).sum()
    expected.backward()
    assert picked.output.value == pytest.approx(float(expected.detach()), rel=1e-12)
    assert np.array_equal(picked.gradients["x"], tx.grad.numpy())  # type: ignore[union-attr]


def test_zeros_like_and_ones_like_are_torchs() -> None:
    x = np.random.normal(size=(3, 4))
    result = backprop("sum(ones_like(x) * x**2 + zeros_like(x) * x)", x=x)
    tx = torch.tensor(x, requires_grad=True)
    (torch.ones_like(tx) * tx**2 + torch.zeros_like(tx) * tx).sum().backward()
    assert np.allclose(result.gradients["x"], tx.grad.numpy(), rtol=1e-12)  # type: ignore[union-attr]


# ---------------------------------------------------------------- reveal


def test_reveal_writes_chainrules_rule_as_a_line_that_grades_right() -> None:
    report = ninja(NINJA, {}, NINJA_VALUES)
    rules = {row["name"]: row["reveal"] for row in report.rows}
    assert rules["probs"] == "dprobs = dlogprobs * 1/probs"
    assert rules["h"] == "dh = dlogits @ W2.T"
    assert rules["bnbias"] == "dbnbias = sum(dhpreact, axis=0, keepdims=True)"
    # indexing's scatter-add is not written (C[Xb], emb[:, k], logprobs[arange(8), Yb])
    assert {name for name, rule in rules.items() if rule is None} == {"logprobs", "emb", "C"}
    typed = {name: rule for name, rule in rules.items() if rule is not None}
    typed["logprobs"], typed["emb"] = ANSWERS["logprobs"], ANSWERS["emb"]
    again = ninja(NINJA, typed, NINJA_VALUES)
    assert again.first_wrong is None
    assert all(row["verdict"] in RIGHT for row in again.rows if row["name"] != "C")
