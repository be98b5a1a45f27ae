// Practice mode: the learner does the backward pass. What to ask at each backward step, how a
// typed answer is read and checked, which steps block the player, and the score. Pure: no DOM.

/** An answer is right when |typed − exact| ≤ max(ABS, REL·|exact|). */
export const TOLERANCE = { rel: 1e-3, abs: 1e-6 };

/** The tolerance in words, for the screen. */
export const TOLERANCE_TEXT = "right within 1e-3 relative or 1e-6 absolute";

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** A typed decimal number ("−1.98", "2e-3", " .5 ") as a number; null if it is not one. */
export function parseAnswer(text) {
  const clean = String(text ?? "").trim()
    .replace(/[\u2212\u2012\u2013\u2014]/g, "-") // typographic minus and dashes
    .replace(/\s+/g, "");
  if (!DECIMAL.test(clean)) return null;
  const x = Number(clean);
  return Number.isFinite(x) ? x : null;
}

/** Whether `answer` stands for `exact` within TOLERANCE. */
export function isClose(answer, exact, tolerance = TOLERANCE) {
  if (!Number.isFinite(answer) || !Number.isFinite(exact)) return false;
  return Math.abs(answer - exact) <= Math.max(tolerance.abs, tolerance.rel * Math.abs(exact));
}

/** Check a typed answer against the exact number: "correct", "wrong" or "invalid" (not a
 * decimal number: it does not count as an attempt). */
export function checkAnswer(text, exact) {
  const answer = parseAnswer(text);
  if (answer === null) return "invalid";
  return isClose(answer, exact) ? "correct" : "wrong";
}

const scalar = (v) => typeof v === "number" && Number.isFinite(v);

/** The questions of a backward step: for each term, its local derivative and its
 * contribution when both are plain numbers; the contribution alone when the local derivative
 * is a full Jacobian (null) but the contribution is a number; otherwise the term is skipped,
 * with the reason. The seed step asks nothing. */
export function questionsFor(step) {
  const questions = [];
  const skipped = [];
  if (!step || step.seed) return { questions, skipped };
  step.terms.forEach((term, t) => {
    if (scalar(term.contribution) && scalar(term.local)) {
      questions.push({ key: `${t}:local`, term: t, field: "local", exact: term.local });
      questions.push({ key: `${t}:contribution`, term: t, field: "contribution", exact: term.contribution });
    } else if (scalar(term.contribution) && term.local === null) {
      questions.push({ key: `${t}:contribution`, term: t, field: "contribution", exact: term.contribution });
    } else {
      skipped.push({ term: t, reason: term.local === null
        ? "a full Jacobian into an array: shown, not asked"
        : "an array (or non-finite) value: shown, not asked" });
    }
  });
  return { questions, skipped };
}

/** A fresh practice record: answers by step index (of the timeline). */
export function createPractice() {
  return { steps: new Map() };
}

function entryOf(practice, index) {
  return practice.steps.get(index) ?? { outcomes: {}, first: {}, typed: {}, revealed: false, hinted: false };
}

function withEntry(practice, index, entry) {
  const steps = new Map(practice.steps);
  steps.set(index, entry);
  return { ...practice, steps };
}

/** The record after checking the typed answers ({key: text}) of step `index` against its
 * questions. An answer's first check (right or wrong) is the one the score counts. */
export function check(practice, index, questions, typed) {
  const old = entryOf(practice, index);
  const entry = { ...old, outcomes: { ...old.outcomes }, first: { ...old.first }, typed: { ...old.typed, ...typed } };
  for (const q of questions) {
    if (old.revealed || old.outcomes[q.key] === "correct") continue;
    const outcome = checkAnswer(typed[q.key], q.exact);
    entry.outcomes[q.key] = outcome;
    if (outcome !== "invalid" && !(q.key in entry.first)) entry.first[q.key] = outcome;
  }
  return withEntry(practice, index, entry);
}

/** The record after revealing step `index`'s answers: unanswered questions count as missed. */
export function reveal(practice, index, questions) {
  const old = entryOf(practice, index);
  const first = { ...old.first };
  for (const q of questions) if (!(q.key in first)) first[q.key] = "revealed";
  return withEntry(practice, index, { ...old, first, revealed: true });
}

/** The record after asking for step `index`'s hint (keeping what was typed so far). */
export function hint(practice, index, typed = {}) {
  const old = entryOf(practice, index);
  return withEntry(practice, index, { ...old, typed: { ...old.typed, ...typed }, hinted: true });
}

/** What the panel shows of step `index`: outcomes, typed texts, revealed, hinted. */
export function entryAt(practice, index) {
  return entryOf(practice, index);
}

/** Whether step `index` lets the player go on: every question right, or revealed. */
export function isDone(practice, index, questions) {
  const entry = entryOf(practice, index);
  return entry.revealed || questions.every((q) => entry.outcomes[q.key] === "correct");
}

/** How far the player may go from `from` towards `to`: not past the first step (after
 * `from`... or at it) that asks questions and is not done. `questionsAt(i)` lists step i's. */
export function gate(practice, from, to, questionsAt) {
  if (to <= from) return to;
  for (let i = Math.max(from, 0); i < to; i++) {
    const questions = questionsAt(i);
    if (questions.length && !isDone(practice, i, questions)) return i;
  }
  return to;
}

/** The score: questions right at their first check, out of those checked or revealed. */
export function score(practice) {
  let correct = 0;
  let attempted = 0;
  for (const entry of practice.steps.values()) {
    for (const outcome of Object.values(entry.first)) {
      attempted += 1;
      if (outcome === "correct") correct += 1;
    }
  }
  return { correct, attempted };
}

/** A term's mark: "correct" when all its questions are right, "wrong" when one is wrong,
 * "revealed", or "" while unanswered. */
export function termStatus(entry, questions, term) {
  const own = questions.filter((q) => q.term === term);
  if (!own.length) return "";
  if (own.every((q) => entry.outcomes[q.key] === "correct")) return "correct";
  if (entry.revealed) return "revealed";
  if (own.some((q) => entry.outcomes[q.key] === "wrong")) return "wrong";
  return "";
}
