import assert from "node:assert/strict";
import { test } from "node:test";

import { boxSummary, foldTree, hasLevels, pathTo, rootOf, runAt, stopsOf, treeOf } from "../src/levels.js";
import { createPlayer, reduce } from "../src/player.js";

// A layer of two neurons, each a weight times the input x, and a loss summing them:
// groups 0 layer (1 neuron a, 2 neuron b), 3 loss. Node 0 (x) is in no group.
const node = (id, op, grad = 1, inputs = []) => ({ id, op, grad, inputs });
const answer = {
  output: { node: "n5" },
  nodes: [node("n0", "input", 2), node("n1", "input", 3), node("n2", "mul", 1, ["n0", "n1"]),
    node("n3", "input", 4), node("n4", "mul", 1, ["n0", "n3"]), node("n5", "add", 1, ["n2", "n4"])],
  // As the answer numbers its edges: by source, then target and position.
  edges: [["n0", "n2", 0], ["n0", "n4", 0], ["n1", "n2", 1], ["n2", "n5", 0], ["n3", "n4", 1], ["n4", "n5", 1]]
    .map(([source, target, position], i) => ({ id: `e${i}`, source, target, position })),
  groups: {
    kind: ["layer", "neuron", "neuron", "loss"], name: ["layer", "layer.a", "layer.b", "loss"],
    parent: [-1, 0, 0, -1], span: [null, null, null, null], node_group: [-1, 1, 1, 2, 2, 3],
  },
};

test("the tree counts every node under a group and its parameters", () => {
  const tree = treeOf(answer);
  assert.deepEqual(tree.top, [0, 3]);
  assert.deepEqual(tree.groups.map((g) => g.size), [4, 2, 2, 1]);
  // x is in no group, but the layer and both its neurons use it: it counts for each.
  assert.deepEqual(tree.groups[0].params, ["n0", "n1", "n3"]);
  assert.deepEqual(tree.groups[1].params, ["n0", "n1"]);
  assert.deepEqual(tree.groups[2].params, ["n0", "n3"]);
  assert.deepEqual(tree.groups[3].params, []);
  assert.deepEqual(tree.groups[0].children, [1, 2]);
  assert.deepEqual(pathTo(tree, 4), [0, 2]);
  assert.ok(hasLevels(tree));
  assert.equal(hasLevels(treeOf({ ...answer, groups: { ...answer.groups, kind: Array(4).fill("statement") } })), false);
  const none = treeOf({ ...answer, groups: null });
  assert.deepEqual([none.groups, none.top, [...none.of]], [[], [], [-1, -1, -1, -1, -1, -1]]);
});

test("at the top level a closed group is one box and its edges are counted", () => {
  const tree = treeOf(answer);
  const g = foldTree(answer, tree, new Set());
  assert.deepEqual(g.nodes.map((n) => n.id), ["n0", "g0", "g3"]);
  assert.deepEqual(g.edges.map((e) => [e.source, e.target, e.count]), [["n0", "g0", 2], ["g0", "g3", 2]]);
  assert.equal(g.hidden.get("n4"), "g0");
  assert.deepEqual(g.frames, []);
});

test("an open group is a frame around its children, closed ones boxes inside it", () => {
  const tree = treeOf(answer);
  const g = foldTree(answer, tree, new Set([0]));
  assert.deepEqual(g.nodes.map((n) => n.id), ["n0", "g1", "g2", "g3"]);
  assert.deepEqual(g.frames.map((f) => [f.id, f.members]), [["f0", ["g1", "g2"]]]);
  const all = foldTree(answer, tree, new Set([0, 1, 2, 3]));
  assert.equal(all.hidden.size, 0);
  assert.deepEqual(all.edges.map((e) => [e.id, e.source, e.target, e.position]).sort(),
    answer.edges.map((e) => [e.id, e.source, e.target, e.position]), "every edge is itself when all is open");
  assert.deepEqual(all.frames.map((f) => [f.id, f.parent, f.members]),
    [["f0", -1, []], ["f1", 0, ["n1", "n2"]], ["f2", 0, ["n3", "n4"]], ["f3", -1, ["n5"]]]);
});

// x0 = 0.5 / x1 = tanh(x0) * 2 / x1 + x0: an input, a statement of 3 nodes (group 0), an
// output line of one node (no group).
const statementNode = (id, op, inputs = [], name = null) => ({ id, op, inputs, name, span: [0, 0] });
const program = {
  output: { node: "n4" },
  nodes: [statementNode("n0", "input", [], "x0"), statementNode("n1", "tanh", ["n0"]), statementNode("n2", "const"),
    statementNode("n3", "mul", ["n1", "n2"], "x1"), statementNode("n4", "add", ["n3", "n0"])],
  edges: [["n0", "n1", 0], ["n0", "n4", 1], ["n1", "n3", 0], ["n2", "n3", 1], ["n3", "n4", 0]]
    .map(([source, target, position], i) => ({ id: `e${i}`, source, target, position })),
  groups: { kind: ["statement"], name: ["x1"], parent: [-1], span: [[0, 0]], node_group: [-1, 0, 0, 0, -1] },
};

test("a statement's root is the node it assigns, the last of its group", () => {
  const tree = treeOf(program);
  assert.equal(hasLevels(tree), false);
  assert.equal(rootOf(tree, 0), 3);
  assert.deepEqual(tree.groups[0].nodes, ["n1", "n2", "n3"]);
});

test("a closed statement is its root's card: edges into it go to the root, edges inside vanish", () => {
  const tree = treeOf(program);
  const g = foldTree(program, tree, new Set(), { roots: true });
  assert.deepEqual(g.nodes.map((n) => n.id), ["n0", "n3", "n4"]);
  assert.deepEqual(g.edges.map((e) => [e.id, e.source, e.target, e.from ?? null]),
    [["e0", "n0", "n3", "n0"], ["e1", "n0", "n4", null], ["e4", "n3", "n4", null]]);
  assert.equal(g.hidden.get("n1"), "n3");
  assert.deepEqual([...g.hidden.values()], ["n3"]);
  assert.deepEqual([g.boxes, g.frames], [[], []]);
  const open = foldTree(program, tree, new Set([0]), { roots: true });
  assert.deepEqual(open.edges.map((e) => e.id), ["e0", "e1", "e2", "e3", "e4"]);
  assert.deepEqual(open.frames, [], "an open statement has no frame");
});

test("a box's gradient norm is over its parameters, else over what leaves it", () => {
  const tree = treeOf(answer);
  const grads = (id) => answer.nodes.find((n) => n.id === id).grad;
  const layer = boxSummary(tree, 0, answer, grads);
  assert.equal(layer.of, "θ");
  assert.ok(Math.abs(layer.norm - Math.sqrt(29)) < 1e-12, "sqrt(2² + 3² + 4²)");
  assert.equal(layer.text, "2 neurons");
  const loss = boxSummary(tree, 3, answer, grads);
  assert.equal(loss.of, "out");
  assert.equal(loss.text, "1 node");
});

// h = w * x / y = tanh(h * w) + 0 * c: w is shared by both statements (in no group), c is the
// second statement's alone and gets no gradient (0 * c). The folded second statement's norm is
// over every input it uses, w too: gradient flows through it, so it is not 0.
const shared = {
  output: { node: "n8" },
  nodes: [node("n0", "input", 0.5, []), node("n1", "input", 2, []), node("n2", "mul", 0.25, ["n0", "n1"]),
    node("n3", "mul", 0.5, ["n2", "n0"]), node("n4", "tanh", 1, ["n3"]), node("n5", "const", null, []),
    node("n6", "input", 0, []), node("n7", "mul", 1, ["n5", "n6"]), node("n8", "add", 1, ["n4", "n7"])],
  groups: { kind: ["statement", "statement"], name: ["h", "y"], parent: [-1, -1], span: [null, null],
    node_group: [-1, -1, 0, 1, 1, 1, -1, 1, 1] },
};

test("a folded statement's ‖∂L/∂θ‖ is over the inputs it uses, wherever they stand", () => {
  const tree = treeOf(shared);
  assert.deepEqual(tree.groups[1].params, ["n0", "n6"], "w (shared, outside the box) and c");
  assert.deepEqual(tree.groups[0].params, ["n0", "n1"]);
  const grads = (id) => shared.nodes.find((n) => n.id === id).grad;
  const y = boxSummary(tree, 1, shared, grads);
  assert.equal(y.of, "θ");
  assert.ok(Math.abs(y.norm - 0.5) < 1e-12, `sqrt(0.5² + 0²), not ${y.norm}`);
});

test("the player stands on the last step of each box's run, and steps box by box", () => {
  const steps = ["n0", "n1", "n2", "n3", "n4", "n5", "n5", "n4", "n2"].map((node, i) => ({
    node, phase: i < 6 ? "forward" : "backward" }));
  const tree = treeOf(answer);
  const { hidden } = foldTree(answer, tree, new Set());
  const stops = stopsOf({ steps }, (id) => hidden.get(id) ?? id);
  assert.deepEqual([...stops], [0, 4, 5, 6, 8]);
  assert.deepEqual(runAt(stops, 2), [1, 4]);
  let player = reduce(createPlayer(steps.length, 2), { type: "stops", stops });
  assert.equal(player.index, 4, "the index moves to the end of its run");
  player = reduce(player, { type: "next" });
  assert.equal(player.index, 5);
  player = reduce(reduce(player, { type: "prev" }), { type: "prev" });
  assert.equal(player.index, 0);
  player = reduce(player, { type: "stops", stops: null });
  assert.equal(reduce(player, { type: "next" }).index, 1, "without stops every step is one");
});
