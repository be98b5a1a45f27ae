import { test } from "node:test";
import assert from "node:assert/strict";
import {
  check, checkAnswer, createPractice, entryAt, gate, isClose, isDone, parseAnswer,
  questionsFor, reveal, score, termStatus,
} from "../src/practice.js";

// The backward step at x*y of sin(x*y) + x**2 at x = 1.5, y = 2 (as the API answers it).
const MUL_STEP = {
  index: 3, node: "n2", seed: false, upstream: -0.9899924966004454,
  terms: [
    { input: "n0", local: 2.0, contribution: -1.9799849932008908, latex: "y", formula: "y" },
    { input: "n1", local: 1.5, contribution: -1.4849887449006682, latex: "x", formula: "x" },
  ],
};

test("typed decimals parse, with a typographic minus, exponents and spaces", () => {
  assert.equal(parseAnswer("−1.98"), -1.98);
  assert.equal(parseAnswer(" 2e-3 "), 0.002);
  assert.equal(parseAnswer("+.5"), 0.5);
  assert.equal(parseAnswer("3."), 3);
  assert.equal(parseAnswer("1E3"), 1000);
  assert.equal(parseAnswer("- 2"), -2);
});

test("anything but a decimal number is not an answer", () => {
  for (const text of ["", "  ", "1/2", "abc", "1,5", "1e", "--1", "NaN", "Infinity", "0x10", "1e999"]) {
    assert.equal(parseAnswer(text), null, text);
  }
});

test("the tolerance is 1e-3 relative or 1e-6 absolute", () => {
  assert.ok(isClose(-1.98, -1.9799849932008908));
  assert.ok(isClose(1.001, 1));
  assert.ok(!isClose(1.0011, 1));
  assert.ok(isClose(5e-7, 0));
  assert.ok(!isClose(2e-6, 0));
  assert.ok(!isClose(1.98, -1.98), "the sign matters");
  assert.ok(!isClose(NaN, 1));
});

test("checkAnswer says correct, wrong or invalid", () => {
  assert.equal(checkAnswer("−1.98", -1.9799849932008908), "correct");
  assert.equal(checkAnswer("-1.9", -1.9799849932008908), "wrong");
  assert.equal(checkAnswer("1/2", 0.5), "invalid");
});

test("a backward step asks the local derivative and the contribution of each term", () => {
  const { questions, skipped } = questionsFor(MUL_STEP);
  assert.deepEqual(questions.map((q) => q.key), ["0:local", "0:contribution", "1:local", "1:contribution"]);
  assert.equal(questions[1].exact, -1.9799849932008908);
  assert.deepEqual(skipped, []);
});

test("the seed asks nothing; Jacobians ask only a scalar contribution; arrays are skipped", () => {
  assert.deepEqual(questionsFor({ seed: true, terms: MUL_STEP.terms }).questions, []);
  const step = { seed: false, terms: [
    { local: null, contribution: 0.25 },
    { local: null, contribution: [1, 2] },
    { local: [1, 2], contribution: [3, 4] },
  ] };
  const { questions, skipped } = questionsFor(step);
  assert.deepEqual(questions.map((q) => q.key), ["0:contribution"]);
  assert.deepEqual(skipped.map((s) => s.term), [1, 2]);
});

test("right answers mark the term correct and let the player past the step", () => {
  const { questions } = questionsFor(MUL_STEP);
  let p = createPractice();
  assert.ok(!isDone(p, 7, questions));
  p = check(p, 7, questions, { "0:local": "2", "0:contribution": "−1.98", "1:local": "1.5", "1:contribution": "9" });
  const entry = entryAt(p, 7);
  assert.equal(termStatus(entry, questions, 0), "correct");
  assert.equal(termStatus(entry, questions, 1), "wrong");
  assert.ok(!isDone(p, 7, questions));
  assert.deepEqual(score(p), { correct: 3, attempted: 4 });
  p = check(p, 7, questions, { "1:contribution": "-1.485" });
  assert.ok(isDone(p, 7, questions));
  assert.deepEqual(score(p), { correct: 3, attempted: 4 }, "the first check is the one that counts");
});

test("an invalid or empty answer is not an attempt", () => {
  const { questions } = questionsFor(MUL_STEP);
  const p = check(createPractice(), 7, questions, { "0:local": "1/2" });
  assert.equal(entryAt(p, 7).outcomes["0:local"], "invalid");
  assert.deepEqual(score(p), { correct: 0, attempted: 0 });
});

test("revealing lets the player on and counts the unanswered questions as missed", () => {
  const { questions } = questionsFor(MUL_STEP);
  let p = check(createPractice(), 7, questions, { "0:local": "2" });
  p = reveal(p, 7, questions);
  assert.ok(isDone(p, 7, questions));
  assert.equal(termStatus(entryAt(p, 7), questions, 1), "revealed");
  assert.deepEqual(score(p), { correct: 1, attempted: 4 });
});

test("the gate stops the player at the first unanswered step, and never holds it back", () => {
  const { questions } = questionsFor(MUL_STEP);
  const at = (i) => (i === 5 ? questions : []);
  let p = createPractice();
  assert.equal(gate(p, 0, 9, at), 5);
  assert.equal(gate(p, 4, 5, at), 5, "the step itself can be reached");
  assert.equal(gate(p, 5, 6, at), 5);
  assert.equal(gate(p, 8, 2, at), 2, "going back is free");
  p = reveal(p, 5, questions);
  assert.equal(gate(p, 5, 9, at), 9);
});
