import assert from "node:assert/strict";
import { test } from "node:test";

import { foldGraph, foldable, statementsOf } from "../src/statements.js";

// x0 = 0.5 / x1 = tanh(x0) * 2 / x1 + x0: an input, a statement of 3 nodes, an output line.
const node = (id, op, inputs = [], name = null) => ({ id, op, inputs, name, span: [0, 0] });
const answer = {
  output: { node: "n5" },
  nodes: [node("n0", "input", [], "x0"), node("n1", "tanh", ["n0"]), node("n2", "const"),
    node("n3", "mul", ["n1", "n2"], "x1"), node("n5", "add", ["n3", "n0"])],
  edges: [["n0", "n1"], ["n1", "n3"], ["n2", "n3"], ["n3", "n5"], ["n0", "n5"]]
    .map(([source, target], i) => ({ id: `e${i}`, source, target, position: 0 })),
};

test("a statement is its named node with the unnamed nodes and constants computed for it", () => {
  const s = statementsOf(answer);
  assert.deepEqual(s.list.map((t) => [t.name, t.root, [...t.nodes].sort()]),
    [["x1", "n3", ["n1", "n2", "n3"]], [null, "n5", ["n5"]]]);
  assert.equal(s.of.get("n0"), undefined, "inputs belong to no statement");
  assert.deepEqual(foldable(s), [0]);
});

test("a folded statement is its root: edges into it go to the root, edges inside vanish", () => {
  const s = statementsOf(answer);
  const g = foldGraph(answer, s, new Set([0]));
  assert.deepEqual(g.nodes.map((n) => n.id), ["n0", "n3", "n5"]);
  assert.deepEqual(g.edges.map((e) => [e.id, e.source, e.target]),
    [["e0", "n0", "n3"], ["e3", "n3", "n5"], ["e4", "n0", "n5"]]);
  assert.equal(g.hidden.get("n1"), "n3");
  assert.equal(foldGraph(answer, s, new Set()).edges.length, 5);
});
