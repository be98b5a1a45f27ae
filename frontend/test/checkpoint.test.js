import { test } from "node:test";
import assert from "node:assert/strict";
import { groupSteps, groupTitle, strategyName } from "../src/checkpoint-panel.js";
import { decodeHash, encodeHash } from "../src/url-state.js";

const KINDS = ["forward", "recompute", "backward"];

test("the steps are cut into runs of one kind, in order", () => {
  const steps = { kind: [0, 0, 2, 1, 1, 2, 2], node: [1, 2, 2, 1, 1, 2, 1] };
  assert.deepEqual(groupSteps(steps, KINDS), [
    { kind: "forward", from: 0, to: 2 }, { kind: "backward", from: 2, to: 3 },
    { kind: "recompute", from: 3, to: 5 }, { kind: "backward", from: 5, to: 7 }]);
});

test("a recomputed run is named before its backward steps", () => {
  assert.equal(groupTitle({ kind: "recompute", from: 3, to: 6 }, ["x3", "x4", "x5"]),
    "↻ Recompute x3..x5 before their backward steps (3 steps)");
  assert.equal(groupTitle({ kind: "backward", from: 0, to: 1 }, ["x1"]), "← Backward x1 (1 step)");
});

test("each strategy has a name in words", () => {
  assert.equal(strategyName({ strategy: "sqrt", k: 4 }), "√N segments (every 4)");
  assert.equal(strategyName({ strategy: "revolve", slots: 1 }), "revolve, 1 slot");
  assert.equal(strategyName({ strategy: "every_k", k: 3 }), "every 3rd");
  assert.equal(strategyName({ strategy: "every_k", k: 12 }), "every 12th");
  assert.equal(strategyName({ strategy: "none" }), "none (recompute from the inputs)");
});

test("the checkpointing choice round-trips through the link", () => {
  const checkpoint = { on: true, strategy: "revolve", slots: 2 };
  const hash = encodeHash({ source: "y = sin(x)", checkpoint });
  assert.match(hash, /checkpoint=revolve&slots=2/);
  assert.deepEqual(decodeHash(hash).checkpoint, checkpoint);
  assert.equal(encodeHash({ source: "y = sin(x)", checkpoint: { on: false, strategy: "sqrt" } }), "#source=y%20%3D%20sin(x)");
  assert.equal(decodeHash("#source=y&checkpoint=bogus").checkpoint, undefined);
});
