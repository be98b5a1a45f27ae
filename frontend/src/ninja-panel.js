// Ninja mode's part of the step panel: at a tensor's backward step, a field for the learner's
// `d<name> = ...`, Check and Reveal, and the verdict (the worst element, both numbers, the
// hint), or the error with its span underlined in the learner's own text. Drawn from data;
// what the buttons do is the caller's.

import { button, para } from "./dom.js";
import { gradeWords } from "./cards.js";
import { spanParts } from "./ninja.js";

/** Put in `el` (after its heading) the ninja form of `row` (a row of the ninja answer's grade). `ninja`:
 * {text (what is typed), names: {forward, gradients}, busy, onCheck(text), onDraft(text)}. Reveal fills the
 * field with chainrule's own rule (`row.reveal`), for Check to grade. */
export function renderNinjaStep(el, row, ninja) {
  const form = document.createElement("form");
  form.className = "ninja";
  form.noValidate = true;
  const id = "ninja-answer";
  const label = document.createElement("label");
  label.htmlFor = id;
  label.className = "ninja-label";
  label.textContent = `d${row.name} =`;
  const input = document.createElement("input");
  input.type = "text";
  input.id = id;
  input.name = row.name;
  input.autocomplete = "off";
  input.spellcheck = false;
  input.value = ninja.text ?? "";
  input.addEventListener("input", () => ninja.onDraft?.(input.value));
  input.setAttribute("aria-describedby", "ninja-verdict");
  const line = document.createElement("div");
  line.className = "ninja-line";
  line.append(label, input);
  form.append(para(`Your turn: d${row.name}, the loss's gradient with respect to ${row.name} ` +
    `(${shapeText(row.shape)}), as an expression.`, "practice-intro"));
  form.append(line);
  const verdict = document.createElement("div");
  verdict.id = "ninja-verdict";
  verdict.setAttribute("aria-live", "polite");
  const buttons = document.createElement("div");
  buttons.className = "buttons";
  const check = button(ninja.busy ? "Checking…" : "Check", () => {}, "primary");
  check.type = "submit";
  check.disabled = Boolean(ninja.busy);
  const reveal = button("Reveal", () => {
    input.value = row.reveal;
    ninja.onDraft?.(input.value);
    input.focus();
    verdict.replaceChildren(para(`Revealed: chainrule's own rule. Check grades it.`, "hint"));
  });
  reveal.disabled = !row.reveal;
  if (!row.reveal) reveal.title = "chainrule does not write this rule as a line of the language";
  buttons.append(check, reveal);
  form.append(buttons);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ninja.onCheck(input.value);
  });
  // First after the step's heading: the question before the step's own formulas.
  const head = el.querySelector(":scope > h3");
  if (head) head.after(form, verdict, namesOf(ninja.names));
  else el.prepend(form, verdict, namesOf(ninja.names));
  if (row.answer !== null && row.answer !== undefined) verdict.append(...verdictOf(row));
}

function verdictOf(row) {
  const given = row.given_your_upstream?.verdict ?? row.verdict;
  const out = [];
  if (row.error) {
    const p = para(`✗ error: ${row.error.message}`, "grade-line grade-error");
    const { before, at, after } = spanParts(row.answer, row.error.span);
    const code = document.createElement("code");
    code.className = "ninja-typed";
    const mark = document.createElement("mark");
    mark.className = "ninja-error-span";
    mark.textContent = at;
    code.append(before, mark, after);
    const where = document.createElement("p");
    where.className = "ninja-where";
    where.append("In your answer: ", code);
    out.push(p, where);
    return out;
  }
  out.push(para(gradeWords(row), `grade-line grade-${given}`));
  if (row.stand_ins?.length) {
    out.push(para(`Evaluated with chainrule's own ${row.stand_ins.join(", ")} (not answered yet, or not evaluable).`, "hint"));
  }
  return out;
}

// The names an answer may read, folded away: the forward names, then the d-names known here.
function namesOf(names) {
  const details = document.createElement("details");
  details.className = "ninja-names";
  const summary = document.createElement("summary");
  summary.textContent = "Names you can use";
  const body = para(`${names.forward.join(", ")}; ` +
    `${names.gradients.length ? names.gradients.join(", ") : "no d-name yet"}.`, "hint");
  body.id = "ninja-names";
  details.append(summary, body);
  return details;
}

function shapeText(shape) {
  return shape?.length ? `shape ${shape.join("×")}` : "a number";
}
