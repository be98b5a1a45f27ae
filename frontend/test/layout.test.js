import { test } from "node:test";
import assert from "node:assert/strict";
import ELK from "elkjs/lib/elk.bundled.js";
import { cardOf } from "../src/cards.js";
import { fromElkGraph, layoutGraph, toElkGraph } from "../src/layout.js";

const node = (id, extra = {}) => ({ id, op: "input", label: id, name: id, inputs: [], shape: [],
  value: 1.5, grad: 2, span: [0, 1], generation: 0, ...extra });
const result = {
  nodes: [node("n0"), node("n1"), node("n2", { op: "mul", name: null, label: "*", inputs: ["n0", "n1"], generation: 1 })],
  edges: [{ id: "e0", source: "n0", target: "n2", position: 0 },
    { id: "e1", source: "n1", target: "n2", position: 1 }],
};

test("API nodes and edges map to an ELK layered graph, direction RIGHT", () => {
  const g = toElkGraph(result, () => ({ width: 80, height: 40 }));
  assert.equal(g.layoutOptions["elk.algorithm"], "layered");
  assert.equal(g.layoutOptions["elk.direction"], "RIGHT");
  assert.deepEqual(g.children.map((c) => c.id), ["n0", "n1", "n2"]);
  assert.deepEqual(g.edges[1], { id: "e1", sources: ["n1"], targets: ["n2"] });
});

test("ELK's answer maps back to boxes and polylines", () => {
  const laid = fromElkGraph({ width: 200, height: 90,
    children: [{ id: "n0", x: 1, y: 2, width: 3, height: 4 }],
    edges: [{ id: "e0", sections: [{ startPoint: { x: 0, y: 0 }, bendPoints: [{ x: 5, y: 0 }],
      endPoint: { x: 5, y: 9 } }] }] });
  assert.deepEqual(laid.nodes.get("n0"), { x: 1, y: 2, width: 3, height: 4 });
  assert.deepEqual(laid.edges.get("e0"), [[0, 0], [5, 0], [5, 9]]);
  assert.equal(laid.width, 200);
});

test("a real ELK layout puts inputs left of the output", async () => {
  const laid = await layoutGraph(result, new ELK(), cardOf);
  const x = (id) => laid.nodes.get(id).x;
  assert.ok(x("n0") < x("n2") && x("n1") < x("n2"));
  const points = laid.edges.get("e0");
  assert.ok(points.length >= 2);
  assert.ok(points[0][0] < points[points.length - 1][0]);
});

test("cards size themselves from their texts and arrays get heatmaps", () => {
  const scalar = cardOf(node("n0"));
  assert.equal(scalar.valueText, "1.5");
  assert.equal(scalar.heat, null);
  const array = cardOf(node("n1", { shape: [2, 3], value: [[1, 2, 3], [4, 5, 6]], grad: null }));
  assert.deepEqual([array.heat.value.rows, array.heat.value.cols], [2, 3]);
  assert.equal(array.heat.grad, null);
  assert.ok(array.height > scalar.height);
});

test("graphs that would make ELK slow are laid out by columns that wrap", async () => {
  const { flowLayout, useElk } = await import("../src/layout.js");
  // x feeds every line of a chain: a{i} = sin(a{i-1}) * x, and each line has a constant.
  const nodes = [{ id: "x", inputs: [] }];
  const edges = [];
  for (let i = 1; i <= 1200; i++) {
    const prev = i === 1 ? "x" : `m${i - 1}`;
    nodes.push({ id: `s${i}`, inputs: [prev] }, { id: `c${i}`, inputs: [] },
      { id: `m${i}`, inputs: [`s${i}`, "x", `c${i}`] });
    edges.push({ id: `es${i}`, source: prev, target: `s${i}` },
      { id: `em${i}`, source: `s${i}`, target: `m${i}` }, { id: `ex${i}`, source: "x", target: `m${i}` },
      { id: `ec${i}`, source: `c${i}`, target: `m${i}` });
  }
  const big = { nodes, edges };
  assert.equal(useElk(big), false);
  assert.equal(useElk(result), true);
  const laid = flowLayout(big, () => ({ width: 80, height: 40 }), { wrapWidth: 1000 });
  assert.equal(laid.nodes.size, nodes.length);
  const box = (id) => laid.nodes.get(id);
  assert.ok(box("x").x < box("s1").x && box("s1").x < box("m1").x);
  assert.ok(laid.width <= 1000, "the columns wrap at the width asked for");
  assert.ok(box("m1200").y > box("m1").y + 1000, "a long chain goes down the page, not right");
  // A constant stands beside its sibling input, one column before its consumer.
  for (const i of [1, 600, 1200]) {
    assert.equal(box(`c${i}`).x, box(`s${i}`).x);
    assert.ok(Math.abs(box(`c${i}`).y - box(`s${i}`).y) <= 60);
  }
  // An edge from far away is a short labelled stub, not a line across the page.
  const far = laid.edges.get("ex1200");
  assert.ok(laid.refs.has("ex1200"));
  assert.ok(Math.abs(far[0][1] - box("m1200").y) < 100);
});
