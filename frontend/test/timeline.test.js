import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { inflate } from "../src/answer.js";
import { changedNodes, createTimeline, frameAt, involvedAt, nodeStateAt } from "../src/timeline.js";

// sin(x*y): forward n0 n1 n2 n3, backward n3 (seed) n2 n1 n0 (POST /api/v2/backprop's answer).
const fixture = (name) => inflate(JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), "utf8")));
const result = fixture("sin-xy");

test("forward steps come first, then backward steps", () => {
  const t = createTimeline(result);
  assert.equal(t.total, 8);
  assert.equal(frameAt(t, 0).node, "n0");
  assert.equal(frameAt(t, 3).phase, "forward");
  assert.equal(frameAt(t, 4).phase, "backward");
  assert.equal(frameAt(t, 4).step.seed, true);
  assert.equal(frameAt(t, 5).step.text, "At (x * y), the upstream gradient dL/d(x * y) = -0.99. " +
    "dL/dx += -0.99 × 2 = -1.98. dL/dy += -0.99 × 1.5 = -1.485.", "written when asked for");
  assert.equal(frameAt(t, 1).step.text, "Input y = 2.");
  assert.equal(frameAt(t, 8).node, null);
});

test("a node has its value from its forward step and its gradient from its backward step", () => {
  const t = createTimeline(result);
  assert.deepEqual(nodeStateAt(t, "n2", 1), { value: false, grad: false });
  assert.deepEqual(nodeStateAt(t, "n2", 2), { value: true, grad: false });
  assert.deepEqual(nodeStateAt(t, "n2", 5), { value: true, grad: true });
  assert.deepEqual(nodeStateAt(t, "n9", 7), { value: false, grad: false });
});

test("a constant is not a step: its value is known from the start", () => {
  // 2 * x: n0 the constant 2, n1 the input x, n2 the product.
  const answer = fixture("const");
  const t = createTimeline(answer);
  assert.deepEqual(t.steps.map((s) => s.node), ["n1", "n2", "n2", "n1"]);
  assert.equal(t.forwardCount, 2);
  assert.deepEqual(nodeStateAt(t, "n0", 0), { value: true, grad: false });
});

test("stepping touches only the nodes of the steps in between and their neighbours", () => {
  const t = createTimeline(result);
  assert.deepEqual(involvedAt(t, 5), ["n2", "n0", "n1"]);
  assert.deepEqual([...changedNodes(t, 0, 1)].sort(), ["n0", "n1"]);
  assert.deepEqual([...changedNodes(t, 4, 5)].sort(), ["n0", "n1", "n2", "n3"]);
  assert.deepEqual([...changedNodes(t, 7, 0)].sort(), ["n0", "n1", "n2", "n3"]);
});

test("forward mode: one tangent step per node, value and tangent known together", async () => {
  const { createTangentTimeline, tangentsById } = await import("../src/timeline.js");
  const answer = {
    nodes: ["n0", "n1", "n2", "n3"].map((id) => ({ id })),
    tangent: { wrt: "x", steps: [
      { node: "n0", tangent: 1, terms: [] },
      { node: "n1", tangent: 0, terms: [] },
      { node: "n2", tangent: 2, terms: [{ input: "n0" }, { input: "n1" }] },
    ] },
  };
  const t = createTangentTimeline(answer);
  assert.equal(t.total, 3);
  assert.equal(frameAt(t, 2).phase, "tangent");
  assert.deepEqual(nodeStateAt(t, "n2", 1), { value: false, grad: false });
  assert.deepEqual(nodeStateAt(t, "n2", 2), { value: true, grad: true });
  assert.deepEqual(nodeStateAt(t, "n3", 0), { value: true, grad: true }, "no step: known from the start");
  assert.deepEqual(involvedAt(t, 2), ["n2", "n0", "n1"]);
  assert.deepEqual([...changedNodes(t, 0, 2)].sort(), ["n0", "n1", "n2"]);
  assert.equal(tangentsById(answer).get("n2"), 2);
  assert.equal(tangentsById(answer).get("n3"), null);
});
