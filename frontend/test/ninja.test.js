import assert from "node:assert/strict";
import { test } from "node:test";
import { namesFor, rowAt, shownGrade, spanParts, summary, typedAnswers } from "../src/ninja.js";

// Rows in backward order, as POST /api/v1/ninja gives them.
const rows = [
  { name: "logprobs", node: "n3", verdict: "exact" },
  { name: "probs", node: "n2", verdict: "wrong" },
  { name: "counts", node: "n1", verdict: "missing" },
  { name: "x", node: "n0", verdict: "error" },
];

test("the summary counts the right rows and names the first mistake", () => {
  assert.equal(summary(rows, "probs"),
    "1 / 4 right; first mistake: dprobs; 1 cannot be evaluated; 1 not answered yet");
  assert.equal(summary([{ verdict: "approx" }], null), "1 / 1 right");
  const cascade = [{ verdict: "wrong", given_your_upstream: { verdict: "wrong" } },
    { verdict: "wrong", given_your_upstream: { verdict: "exact" } }, { verdict: "exact" }];
  assert.equal(summary(cascade, "a"), "1 / 3 right (2 given your own upstream); first mistake: da");
  assert.equal(summary([], null), "");
});

test("the graph shows only the rows answered", () => {
  assert.deepEqual(shownGrade({ rows, first_wrong: "probs" }).rows.map((r) => r.name),
    ["logprobs", "probs", "x"]);
  assert.equal(shownGrade(null), null);
});

test("a row is asked at its node's backward step only", () => {
  assert.equal(rowAt(rows, { phase: "backward", node: "n2" }).name, "probs");
  assert.equal(rowAt(rows, { phase: "forward", node: "n2" }), null);
  assert.equal(rowAt(rows, { phase: "backward", node: "n9" }), null);
});

test("an answer reads the forward names and the d-names after it, the output's first", () => {
  const names = namesFor(rows, rows[2], "loss");
  assert.deepEqual(names.gradients, ["dloss", "dlogprobs", "dprobs"]);
  assert.deepEqual(names.forward, ["x", "counts", "probs", "logprobs"]);
});

test("an error's span cuts the learner's text; a span past the end marks a blank", () => {
  assert.deepEqual(spanParts("-a** * b", [4, 5]), { before: "-a**", at: " ", after: "* b" });
  assert.deepEqual(spanParts("dL / (a", [7, 7]), { before: "dL / (a", at: " ", after: "" });
  assert.deepEqual(spanParts("a", null), { before: "a", at: "", after: "" });
});

test("empty answers are left out", () => {
  assert.deepEqual(typedAnswers({ a: "dL * 2", b: "  ", c: "" }), { a: "dL * 2" });
});
