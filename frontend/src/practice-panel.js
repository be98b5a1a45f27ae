// Practice mode's step panel: a backward step with the local derivatives and contributions
// left for the learner to type. Draws from data; what the buttons do is the caller's.

import { button, math, para, termElement } from "./dom.js";
import { formatNumber } from "./format.js";
import { TOLERANCE_TEXT, termStatus } from "./practice.js";
import { localPartial, texFactor, texPartial, texValue } from "./tex.js";

const FIELDS = [["local", "Local derivative"], ["contribution", "Contribution"]];
const MARKS = { correct: "✓ right", wrong: "✗ wrong", invalid: "type a decimal number" };

/** Fill `el` (after its heading) for a backward step in practice mode. `practice`:
 * {questions, skipped, entry, onCheck(typed: {key: text}), onHint(), onReveal()}. */
export function renderPracticeStep(el, step, node, nodesById, practice) {
  const { questions, skipped, entry } = practice;
  const upstream = texPartial(node.expr.latex);
  el.append(math(`${upstream} = ${texValue(step.upstream)}`, "grad"));
  if (!questions.length) {
    el.append(para("Nothing to ask at this step: its terms are arrays, shown in full.", "practice-intro"));
    step.terms.forEach((term, t) => {
      const skip = skipped.find((s) => s.term === t);
      el.append(termBlock(term, t, step, node, nodesById, upstream, { ...practice, skip }));
    });
    return;
  }
  el.append(para(`Your turn: for each term, the local derivative and the contribution ` +
    `(upstream × local). Decimal numbers such as −1.98 or 2e-3; ${TOLERANCE_TEXT}.`, "practice-intro"));
  const form = document.createElement("form");
  form.className = "practice";
  form.noValidate = true;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    practice.onCheck(typedIn(form));
  });
  step.terms.forEach((term, t) => {
    const skip = skipped.find((s) => s.term === t);
    form.append(termBlock(term, t, step, node, nodesById, upstream, { ...practice, skip }));
  });
  const buttons = document.createElement("div");
  buttons.className = "buttons";
  const done = entry.revealed || questions.every((q) => entry.outcomes[q.key] === "correct");
  const checkButton = button("Check", () => {}, "primary");
  checkButton.type = "submit";
  checkButton.disabled = done;
  buttons.append(checkButton,
    button("Hint", () => practice.onHint(typedIn(form))),
    button("Reveal", () => practice.onReveal(typedIn(form))));
  buttons.lastChild.disabled = entry.revealed;
  form.append(buttons);
  el.append(form);
  el.append(para(summary(entry, questions, done), `practice-status${done ? " done" : ""}`));
}

function termBlock(term, t, step, node, nodesById, upstream, practice) {
  const { entry, questions, skip } = practice;
  const input = nodesById.get(term.input);
  const block = termElement(term);
  block.dataset.term = String(t);
  const status = termStatus(entry, questions, t);
  if (status) block.dataset.status = status;
  const local = localPartial(node, input);
  const name = input.name ?? input.expr.plain;
  if (skip) {
    block.append(math(term.latex, "formula"));
    block.append(math(`${upstream} \\cdot ${local} = ${texValue(term.contribution)}`, "chain"));
    block.append(para(`Into ${name}: ${skip.reason}.`, "note"));
    return block;
  }
  const shown = entry.revealed || entry.hinted;
  block.append(para(`Into ${name}:`, "term-title"));
  const answer = entry.revealed ? texValue(term.contribution) : "\\,?";
  block.append(math(term.local === null ? `${upstream} \\cdot ${local} = ${answer}`
    : `${upstream} \\cdot ${local} = ${texFactor(step.upstream)} \\times ` +
      `${entry.revealed ? texFactor(term.local) : "\\,?\\,"} = ${answer}`, "chain"));
  if (shown) block.append(math(term.latex, "formula hint-formula"));
  const fields = document.createElement("div");
  fields.className = "answers";
  for (const [field, label] of FIELDS) {
    const q = questions.find((x) => x.term === t && x.field === field);
    if (!q) {
      if (field === "local") fields.append(para("Local derivative: a Jacobian, not asked.", "note"));
      continue;
    }
    fields.append(answerField(q, label, entry));
  }
  block.append(fields);
  if (term.broadcast) block.append(para(term.broadcast.note, "note"));
  if (term.accumulated) {
    block.append(para(`${name} fans out: this contribution adds to what it already has.`, "note"));
  }
  return block;
}

function answerField(q, label, entry) {
  const id = `practice-${q.key.replace(":", "-")}`;
  const wrap = document.createElement("div");
  wrap.className = "answer";
  const lab = document.createElement("label");
  lab.htmlFor = id;
  lab.textContent = label;
  const input = document.createElement("input");
  input.type = "text";
  input.id = id;
  input.name = q.key;
  input.inputMode = "decimal";
  input.autocomplete = "off";
  input.spellcheck = false;
  const outcome = entry.outcomes[q.key];
  input.value = entry.revealed && outcome !== "correct" ? formatNumber(q.exact, 7)
    : entry.typed[q.key] ?? "";
  input.readOnly = entry.revealed || outcome === "correct";
  const mark = document.createElement("span");
  mark.className = "mark";
  mark.setAttribute("aria-live", "polite");
  if (outcome) {
    wrap.dataset.outcome = outcome;
    mark.textContent = MARKS[outcome];
  }
  if (entry.revealed && outcome !== "correct") {
    wrap.dataset.outcome = "revealed";
    mark.textContent = "revealed";
  }
  input.setAttribute("aria-describedby", `${id}-mark`);
  mark.id = `${id}-mark`;
  wrap.append(lab, input, mark);
  return wrap;
}

function typedIn(form) {
  const typed = {};
  for (const input of form.querySelectorAll("input[name]")) {
    if (!input.readOnly) typed[input.name] = input.value;
  }
  return typed;
}

function summary(entry, questions, done) {
  if (entry.revealed) return "Revealed: the answers are filled in. Go on to the next step.";
  if (done) return "✓ All right. Go on to the next step.";
  const outcomes = questions.map((q) => entry.outcomes[q.key]);
  if (outcomes.includes("wrong")) return "Some answers are wrong: try again, ask for a Hint, or Reveal.";
  if (outcomes.includes("invalid")) return "Type decimal numbers, such as −1.98 or 2e-3.";
  return "The player waits here until every answer is right (or revealed).";
}
