import { test } from "node:test";
import assert from "node:assert/strict";
import { columnLabels, rowLabels } from "../src/jacobian-panel.js";

test("columnLabels names each input element, flattened row-major, inputs one after the other", () => {
  const inputs = [{ name: "W", shape: [2, 2], offset: 0 }, { name: "b", shape: [], offset: 4 }];
  assert.deepEqual(columnLabels(inputs), ["W[0, 0]", "W[0, 1]", "W[1, 0]", "W[1, 1]", "b"]);
});

test("rowLabels names each output element row-major, and a scalar output once", () => {
  assert.deepEqual(rowLabels([3]), ["out[0]", "out[1]", "out[2]"]);
  assert.deepEqual(rowLabels([2, 3]).slice(2, 4), ["out[0, 2]", "out[1, 0]"]);
  assert.deepEqual(rowLabels([]), ["out"]);
});
