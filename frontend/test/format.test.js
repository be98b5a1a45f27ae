import { test } from "node:test";
import assert from "node:assert/strict";
import { decode, formatNumber, formatValue, groupDigits, shapeOf } from "../src/format.js";

test("formatNumber keeps four significant digits and drops trailing zeros", () => {
  assert.equal(formatNumber(0.5), "0.5");
  assert.equal(formatNumber(-1.9799849932), "−1.98");
  assert.equal(formatNumber(2), "2");
  assert.equal(formatNumber(1.23456e-7), "1.235e-7");
  assert.equal(formatNumber(123456789), "1.235e8");
});

test("non-finite values arrive as strings and are shown as symbols", () => {
  assert.equal(formatNumber("NaN"), "NaN");
  assert.equal(formatNumber("Infinity"), "∞");
  assert.equal(formatNumber("-Infinity"), "−∞");
  assert.deepEqual(decode([1, "NaN", ["-Infinity"]]), [1, NaN, [-Infinity]]);
});

test("arrays are described by their shape", () => {
  assert.deepEqual(shapeOf([[1, 2, 3], [4, 5, 6]]), [2, 3]);
  assert.deepEqual(shapeOf(3), []);
  assert.equal(formatValue([[1, 2, 3], [4, 5, 6]]), "2×3 array");
});

test("heatmap grids keep small arrays and average big ones by blocks", async () => {
  const { heatmapGrid } = await import("../src/format.js");
  assert.equal(heatmapGrid(3), null);
  const small = heatmapGrid([[1, -2], [3, 4]]);
  assert.deepEqual([small.rows, small.cols, small.cells, small.scale, small.sampled],
    [2, 2, [1, -2, 3, 4], 4, false]);
  const vector = heatmapGrid([1, 2, 3]);
  assert.deepEqual([vector.rows, vector.cols], [1, 3]);
  const big = heatmapGrid(Array.from({ length: 24 }, (_, i) => i), 8, 12);
  assert.deepEqual([big.rows, big.cols, big.sampled], [1, 12, true]);
  assert.equal(big.cells[0], 0.5);
  const nan = heatmapGrid(["NaN", 2]);
  assert.equal(nan.scale, 2);
});

test("numbers and values become LaTeX for the step panel", async () => {
  const { texNumber, texValue, texFactor, texPartial } = await import("../src/tex.js");
  assert.equal(texNumber(-0.5), "-0.5");
  assert.equal(texNumber(1.23456e-7), "1.235\\times10^{-7}");
  assert.equal(texNumber("Infinity"), "\\infty");
  assert.equal(texValue([1, 2]), "\\begin{bmatrix}1 & 2\\end{bmatrix}");
  assert.equal(texValue([[1, 2, 3], [4, 5, 6], [7, 8, 9]]), "\\text{(3×3 array)}");
  assert.equal(texValue(null), "\\text{(Jacobian)}");
  assert.equal(texFactor(-2), "\\left(-2\\right)");
  assert.equal(texPartial("x"), "\\frac{\\partial L}{\\partial x}");
  assert.equal(texPartial("x + y"), "\\frac{\\partial L}{\\partial \\left(x + y\\right)}");
  for (const symbol of ["x_{1}", "\\alpha", "\\mathrm{err}", "W_{1}"]) {
    assert.equal(texPartial(symbol), `\\frac{\\partial L}{\\partial ${symbol}}`);
  }
});

test("cards write short vectors out and give bigger arrays their shape", async () => {
  const { formatShort } = await import("../src/format.js");
  assert.equal(formatShort(0.5), "0.5");
  assert.equal(formatShort([1, -2.5, 0.33333]), "[1, −2.5, 0.333]");
  assert.equal(formatShort([1, 2, 3, 4]), "4 array");
  assert.equal(formatShort([[1], [2]]), "2×1 array");
});

test("groupDigits keeps every digit of a count past 2^53, grouped by thousands", () => {
  assert.equal(groupDigits("1099511627776"), "1,099,511,627,776");
  assert.equal(groupDigits(String(2n ** 64n)), "18,446,744,073,709,551,616");
  assert.equal(groupDigits("7"), "7");
  const huge = "9".repeat(120);
  assert.equal(groupDigits(huge), "999999… (120 digits)");
});

test("a card is spoken as its label, then its value and gradient once the player reaches them", async () => {
  const { cardOf, spokenCard } = await import("../src/cards.js");
  const x = cardOf({ id: "n0", name: "x", label: "x", op: "input", shape: [], value: 1.5, grad: 2.5 });
  assert.equal(spokenCard(x, { value: true, grad: true }), "x = 1.5, gradient 2.5");
  assert.equal(spokenCard(x, { value: true, grad: false }), "x = 1.5, gradient not computed yet");
  assert.equal(spokenCard(x, { value: false, grad: false }), "x, value not computed yet, gradient not computed yet");
  assert.equal(spokenCard(x, { value: true, grad: true }, "tangent"), "x = 1.5, tangent 2.5");
  const h = cardOf({ id: "n3", name: "h", label: "tanh", op: "tanh", symbol: "tanh", shape: [2],
    value: [0.5, -1], grad: null });
  assert.equal(spokenCard(h, { value: true, grad: false }), "h tanh 2 = [0.5, −1]");
});

test("a card's spoken name says each word once: loss of op loss, the group data of kind data", async () => {
  const { cardOf, spokenCard } = await import("../src/cards.js");
  const loss = cardOf({ id: "n9", name: "loss", label: "loss", op: "loss", symbol: "loss", shape: [],
    value: 0.5, grad: 1 });
  assert.equal(spokenCard(loss, { value: true, grad: true }), "loss = 0.5, gradient 1");
  const data = { box: true, title: "data", sub: "data", valueText: "100 samples", gradText: "‖∂L/∂θ‖ 0",
    gradMeaning: "the size of the gradient of L with respect to this group's parameters" };
  assert.equal(spokenCard(data, { value: true, grad: true }),
    "data: 100 samples, ‖∂L/∂θ‖ 0, the size of the gradient of L with respect to this group's parameters");
  const layer = { ...data, title: "layers[1]", sub: "layer", valueText: "16 neurons" };
  assert.equal(spokenCard(layer, { value: true, grad: false }), "layer layers[1]: 16 neurons, gradient not computed yet");
});
