import { test } from "node:test";
import assert from "node:assert/strict";
import { markSegments, nodesInside } from "../src/spans.js";

test("a mark wraps exactly the characters of its span", () => {
  const pieces = markSegments("sin(x*", [{ start: 5, end: 6, cls: "error-span" }]);
  assert.deepEqual(pieces, [{ text: "sin(x", cls: null }, { text: "*", cls: "error-span" }]);
  assert.equal(pieces.map((p) => p.text).join(""), "sin(x*");
});

test("overlapping marks are clipped, spans past the end are cut, empty marks dropped", () => {
  const pieces = markSegments("abcdef", [{ start: 1, end: 4, cls: "a" }, { start: 3, end: 9, cls: "b" },
    { start: 2, end: 2, cls: "c" }]);
  assert.deepEqual(pieces, [{ text: "a", cls: null }, { text: "bcd", cls: "a" }, { text: "ef", cls: "b" }]);
  assert.deepEqual(markSegments("", []), [{ text: "", cls: null }]);
});

test("the nodes inside a selection are those whose whole span it covers", () => {
  const nodes = [{ id: "n0", span: [0, 1] }, { id: "n1", span: [2, 3] }, { id: "n2", span: [0, 3] }];
  assert.deepEqual(nodesInside(nodes, 0, 2), ["n0"]);
  assert.deepEqual(nodesInside(nodes, 0, 3), ["n0", "n1", "n2"]);
  assert.deepEqual(nodesInside(nodes, 1, 1), []);
});

test("a shade keeps only the parts outside the marks over it", async () => {
  const { outside } = await import("../src/spans.js");
  const shade = [{ start: 0, end: 10, cls: "folded-span" }];
  assert.deepEqual(outside(shade, [{ start: 2, end: 4 }, { start: 8, end: 12 }]).map((m) => [m.start, m.end]),
    [[0, 2], [4, 8]]);
  assert.deepEqual(outside(shade, []).map((m) => [m.start, m.end]), [[0, 10]]);
});
