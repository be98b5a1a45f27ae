import { test } from "node:test";
import assert from "node:assert/strict";
import { changedNodes, createTimeline, frameAt, involvedAt, nodeStateAt } from "../src/timeline.js";

// a = x*y; sin(a): forward n0 n1 n2 n3, backward n3 (seed) n2 n1 n0.
const term = (input) => ({ input });
const result = {
  nodes: ["x", "y", "mul", "sin"].map((op, i) => ({ id: `n${i}`, op: i < 2 ? "input" : op })),
  forward: ["n0", "n1", "n2", "n3"].map((node, index) => ({
    index, node, inputs: node === "n2" ? ["n0", "n1"] : node === "n3" ? ["n2"] : [] })),
  backward: [
    { index: 0, node: "n3", seed: true, terms: [term("n2")] },
    { index: 1, node: "n2", seed: false, terms: [term("n0"), term("n1")] },
    { index: 2, node: "n1", seed: false, terms: [] },
    { index: 3, node: "n0", seed: false, terms: [] },
  ],
};

test("forward steps come first, then backward steps", () => {
  const t = createTimeline(result);
  assert.equal(t.total, 8);
  assert.equal(frameAt(t, 0).node, "n0");
  assert.equal(frameAt(t, 3).phase, "forward");
  assert.equal(frameAt(t, 4).phase, "backward");
  assert.equal(frameAt(t, 4).step.seed, true);
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
  const answer = {
    nodes: [{ id: "n0", op: "const" }, { id: "n1", op: "input" }, { id: "n2", op: "mul" }],
    forward: ["n0", "n1", "n2"].map((node, index) => ({ index, node, inputs: node === "n2" ? ["n0", "n1"] : [] })),
    backward: [{ index: 0, node: "n2", seed: true, terms: [term("n1")] }, { index: 1, node: "n1", terms: [] }],
  };
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
