import assert from "node:assert/strict";
import test from "node:test";
import { checkSummary } from "../src/check-text.js";

const passes = { forward: 1, backward: 1 };

test("the check element by element says so, over every element, and why", () => {
  const s = checkSummary({ kind: "elements", reason: "2 input elements, at most 100: each is checked on its own",
    elements: 2, checked: 2, complete: true, evaluations: 4, evaluations_for_all: 4, backprop_passes: passes });
  assert.equal(s.title, "Checked element by element");
  assert.equal(s.over, "each of 2 input elements on its own.");
  assert.match(s.why, /^Why: 2 input elements, at most 100/);
  assert.match(s.cost, /2N = 4 function evaluations\. Backprop: 1 forward \+ 1 backward pass\./);
});

test("a sampled check says it is not complete", () => {
  const s = checkSummary({ kind: "elements", reason: "asked for", elements: 4009, checked: 1055,
    complete: false, evaluations: 2110, evaluations_for_all: 8018, backprop_passes: passes });
  assert.match(s.over, /^1,055 of 4,009 input elements, an even sample \(not all/);
  assert.match(s.cost, /2N = 8,018 .*this check: 2,110/);
});

test("the check by directions names the tensors covered and the ones followed up", () => {
  const inputs = [
    { input: "0.weight", directions: 2, elements_checked: 32 },
    { input: "0.bias", directions: 2, elements_checked: 0 },
  ];
  const s = checkSummary({ kind: "directions", reason: "48 input elements", elements: 48, checked: 48,
    complete: true, evaluations: 72, evaluations_for_all: 96, backprop_passes: passes, inputs });
  assert.equal(s.title, "Checked by random directions");
  assert.match(s.over, /^2 random directions v for each of 2 of 2 input tensors \(48 of 48 elements, all\)/);
  assert.match(s.over, /Then element by element: 0\.weight \(32\)\./);
  assert.match(s.cost, /^72 function evaluations \(2 per direction, 2 per element\); element by element would take 2N = 96/);
});

test("an answer from before the check had kinds reads as element by element", () => {
  const s = checkSummary({ elements: 1, checked: 1, complete: true, evaluations: 2, evaluations_for_all: 2 });
  assert.equal(s.title, "Checked element by element");
  assert.equal(s.why, "");
});

test("a tensor with fewer directions (a single number has one) makes it \"up to\"", () => {
  const inputs = [{ input: "W", directions: 2, elements_checked: 0 }, { input: "b", directions: 1, elements_checked: 0 }];
  const s = checkSummary({ kind: "directions", reason: "", elements: 17, checked: 17, complete: true,
    evaluations: 6, evaluations_for_all: 34, backprop_passes: passes, inputs });
  assert.match(s.over, /^up to 2 random directions v for each of 2 of 2 input tensors/);
});
