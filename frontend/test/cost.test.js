import { test } from "node:test";
import assert from "node:assert/strict";
import { costTable } from "../src/cost.js";

const COST = {
  input_elements: 2, outputs: 1,
  reverse: { passes: 1, note: "r" }, forward: { passes: 2, note: "f" },
  finite_differences: { passes: 4, note: "d" },
};

test("the API's cost gives one row per method: 1, N and 2N passes", () => {
  const table = costTable(COST);
  assert.equal(table.n, 2);
  assert.deepEqual(table.rows.map((r) => [r.formula, r.passes, r.note]),
    [["1 forward + 1 backward, for all N", 1, "r"], ["N: one per input element", 2, "f"], ["2N evaluations", 4, "d"]]);
  assert.match(table.sentence, /one output and many inputs/);
});

test("without `cost`, N comes from the check; without either, no table", () => {
  const table = costTable(undefined, { elements: 5 });
  assert.deepEqual(table.rows.map((r) => r.passes), [1, 5, 10]);
  assert.equal(costTable(undefined, null), null);
});

test("with one input the sentence says the modes cost the same", () => {
  assert.match(costTable({ ...COST, input_elements: 1 }).sentence, /cost the same/);
});
