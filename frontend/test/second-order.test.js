// What a backward graph's cards say they stand for (the answer's stands_for, in words).

import assert from "node:assert/strict";
import { test } from "node:test";
import { standsForWords } from "../src/cards.js";

// sin(x) + x, its backward pass built as nodes: g = grad(L, x).
const node = (i, op, extra = {}) => ({ id: `n${i}`, op, name: null, inputs: [], symbol: op,
  expr: { plain: "" }, standsFor: null, ...extra });
const NODES = [
  node(0, "input", { name: "x" }),
  node(1, "sin", { inputs: ["n0"], expr: { plain: "sin(x)" } }),
  node(2, "add", { name: "L", inputs: ["n1", "n0"], symbol: "+" }),
  node(3, "const", { standsFor: { role: "seed", of: 2 } }),
  node(4, "cos", { inputs: ["n0"], standsFor: { role: "local", of: 1 } }),
  node(5, "mul", { inputs: ["n3", "n4"], symbol: "×", standsFor: { role: "product", of: 0 } }),
  node(6, "add", { inputs: ["n5", "n3"], symbol: "+", standsFor: { role: "sum", of: 0 } }),
  node(7, "add", { name: "g", inputs: ["n5", "n3"], symbol: "+", standsFor: { role: "gradient", of: 0 } }),
];

test("a backward graph's nodes say what they stand for, of the sweep's output", () => {
  const standsFor = Object.fromEntries(NODES.flatMap((n, i) => (n.standsFor ? [[String(i), n.standsFor]] : [])));
  const words = standsForWords(NODES, standsFor);
  assert.equal(words.get("n3"), "seed dL/dL");
  assert.equal(words.get("n4"), "local ∂sin/∂x");
  assert.equal(words.get("n5"), "upstream × local → x");
  assert.equal(words.get("n6"), "fan-out sum → dL/dx");
  assert.equal(words.get("n7"), "dL/dx");
  assert.equal(words.has("n1"), false); // a forward node stands for itself
});
