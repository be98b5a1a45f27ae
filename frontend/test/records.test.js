import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { inflate } from "../src/answer.js";
import { formatG } from "../src/pyformat.js";
import { createRenderer, decode, encode, fill, say, short, templateParts } from "../src/records.js";

// Answers of POST /api/v2/backprop (tests/test_records_js.py checks the renderer on many more).
const fixture = (name) => JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), "utf8"));

test("numbers are written as Python's format(x, '.4g') and '.6g' write them", () => {
  const cases = [[1.0625, 4, "1.062"], [1.5625, 4, "1.562"], [2.625, 4, "2.625"], [12345, 4, "1.234e+04"],
    [0.00001, 4, "1e-05"], [0.0001, 4, "0.0001"], [-0, 4, "-0"], [0, 4, "0"], [NaN, 4, "nan"],
    [Infinity, 4, "inf"], [-Infinity, 6, "-inf"], [1e16, 6, "1e+16"], [123456.5, 6, "123456"],
    [123457.5, 6, "123458"], [0.1, 6, "0.1"], [-1.98, 4, "-1.98"], [1e100, 4, "1e+100"],
    [5e-324, 4, "4.941e-324"], [999999.5, 6, "1e+06"], [2.5, 1, "2"], [0.5, 4, "0.5"]];
  for (const [x, p, text] of cases) assert.equal(formatG(x, p), text, `${x} to ${p}`);
});

test("values arrive with NaN and infinities as strings, and go back so", () => {
  assert.deepEqual(decode([1, "NaN", ["-Infinity", "Infinity"]]), [1, NaN, [-Infinity, Infinity]]);
  assert.ok(Number.isNaN(decode(null)), "no value reads as numpy reads None: NaN");
  assert.deepEqual(encode([1, NaN, [-Infinity]]), [1, "NaN", ["-Infinity"]]);
});

test("short writes numbers, vectors up to four, and the shape of anything bigger", () => {
  const array = "an array of shape {shape}";
  assert.equal(short(-0.9899924966004454, array), "-0.99");
  assert.equal(short([[2.5]], array), "2.5", "one element is a number");
  assert.equal(short([1, NaN, 1e-7, 2], array), "[1, nan, 1e-07, 2]");
  assert.equal(short([1, 2, 3, 4, 5], array), "an array of shape 5");
  assert.equal(short([[1, 2], [3, 4]], array), "an array of shape 2×2");
  assert.equal(short([], array), "[]");
});

test("templates fill their slots as narration.say does, lists as Python writes them", () => {
  assert.equal(say("from {from} to {to}, {kept}", { from: [2, 3], to: [] }), "from [2, 3] to [], {kept}");
  assert.equal(say("\\frac{\\partial {node}}{\\partial {input}}", { node: "y", input: "x" }),
    "\\frac{\\partial y}{\\partial x}");
});

test("a placeholder is enclosed inside brackets or a call's arguments, as templates.template_parts", () => {
  assert.deepEqual(templateParts("max($u, $v)"), [["max(", "u", true], [", ", "v", true], [")", "", false]]);
  assert.deepEqual(templateParts("$u * $v"), [["", "u", false], [" * ", "v", false], ["", "", false]]);
  assert.deepEqual(templateParts("\\left($u\\right)^2"), [["\\left(", "u", true], ["\\right)^2", "", false]]);
});

test("a template is filled with brackets only where precedence needs them, as templates.fill", () => {
  const sum = ["a + b", "a + b", 1];
  const difference = ["c - d", "c - d", 1];
  const name = ["x", "x", 9];
  const sub = { precedence: 1, tight: "v" };
  const subtraction = { plain: "$u - $v", latex: "$u - $v" };
  assert.deepEqual(fill(subtraction, { u: sum, v: difference }, 9, sub), ["a + b - (c - d)", "a + b - \\left(c - d\\right)"]);
  assert.deepEqual(fill(subtraction, { u: sum, v: name }, 9), ["(a + b) - x", "\\left(a + b\\right) - x"],
    "without an op, every compound operand is bracketed");
  assert.deepEqual(fill({ plain: "max($u, $v)", latex: "\\max($u, $v)" }, { u: sum, v: name }, 9),
    ["max(a + b, x)", "\\max(a + b, x)"], "an argument list encloses already");
});

test("steps are written with their sentences, formulas and running sums", () => {
  const r = createRenderer(fixture("fan-out")); // x * x + max(x, y) at a tie, x = y = 1.0625
  assert.equal(r.backwardCount, 5);
  const last = r.backward(3); // asked first: the running sums are found by walking back
  assert.equal(last.text, "At (x * x), the upstream gradient dL/d(x * x) = 1. " +
    "dL/dx += 1 × 1.062 = 1.062; fan-out, so it adds up: 0.5 + 1.062 = 1.562. " +
    "dL/dx += 1 × 1.062 = 1.062; fan-out, so it adds up: 1.562 + 1.062 = 2.625.");
  assert.deepEqual(last.terms.map((t) => [t.before, t.after, t.contribution_index]), [[0.5, 1.5625, 2], [1.5625, 2.625, 3]]);
  assert.equal(last.terms[0].latex, "\\frac{\\partial \\left(x \\cdot x\\right)}{\\partial x} = x");
  const kink = r.backward(1).terms[0];
  assert.match(kink.text, /on a kink: dmax\(x, y\)\/dx at a tie \(1\.0625\) is taken as 0\.5; from the left 0, from the right 1\.$/);
  assert.deepEqual([kink.before, kink.accumulated, kink.broadcast], [0, false, null]);
  assert.equal(r.forward(1).text, "mul: x * x = 1.129.");
  assert.deepEqual(r.edges().map((e) => [e.id, e.source, e.target, e.position]),
    [["e0", "n0", "n1", 0], ["e1", "n0", "n1", 1], ["e2", "n0", "n3", 0], ["e3", "n1", "n4", 0],
      ["e4", "n2", "n3", 1], ["e5", "n3", "n4", 1]]);
});

test("the inflated answer makes its node records once and keeps the steps asked for", () => {
  const answer = inflate(fixture("sin-xy"));
  assert.equal(answer.nodes, answer.nodes);
  assert.deepEqual(answer.nodes.map((n) => [n.id, n.label, n.symbol]), [["n0", "x", "x"], ["n1", "y", "y"],
    ["n2", "×", "×"], ["n3", "sin", "sin"]]);
  assert.equal(answer.backwardStep(0), answer.backwardStep(0));
  assert.equal(answer.backwardStep(0).seed, true);
  assert.equal(answer.backwardNode(1), "n2");
  assert.equal(answer.forwardStep(0).text, "Input x = 1.5.");
  assert.equal(answer.compact.version, 2);
});
