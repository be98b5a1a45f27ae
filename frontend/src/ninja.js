// Ninja mode (backprop ninja, issue 29): the learner types each tensor's gradient as an
// expression of the language; POST /api/v1/ninja grades them. What the page keeps of it (the
// answers typed, per program), what it asks at a step, the summary. Pure: no DOM.

const RIGHT = new Set(["exact", "approx"]);

/** Whether a verdict counts as right. */
export const isRight = (verdict) => RIGHT.has(verdict);

/** The answers without the empty ones: {name: text}. */
export function typedAnswers(answers) {
  return Object.fromEntries(Object.entries(answers ?? {})
    .filter(([name, text]) => name && typeof text === "string" && text.trim()));
}

/** A grade as the graph draws it: the rows not answered (`missing`) left out, so a card says
 * a verdict only where the learner wrote something. */
export function shownGrade(grade) {
  if (!grade) return null;
  return { ...grade, rows: grade.rows.filter((row) => row.verdict !== "missing") };
}

/** The row asked at a frame of the timeline: the backward step of the row's node. */
export function rowAt(rows, frame) {
  if (!frame || frame.phase !== "backward" || !frame.node) return null;
  return rows.find((row) => row.node === frame.node) ?? null;
}

/** What an answer at `row` may read: the forward names, and the d<name> of the rows graded
 * before it (the tensors after it in the forward pass) with the output's own (`outputName`). */
export function namesFor(rows, row, outputName) {
  const at = rows.indexOf(row);
  const later = rows.slice(0, Math.max(at, 0)).map((r) => `d${r.name}`);
  const upstream = outputName ? [`d${outputName}`, ...later] : later;
  return { forward: rows.map((r) => r.name).reverse(), gradients: upstream };
}

/** The summary near the Mode box: "19 / 26 right (25 given your own upstream); first mistake:
 * dbndiff2", with how many cannot be evaluated and how many are not answered. */
export function summary(rows, firstWrong) {
  if (!rows.length) return "";
  const right = rows.filter((r) => isRight(r.verdict)).length;
  const missing = rows.filter((r) => r.verdict === "missing").length;
  const errors = rows.filter((r) => r.verdict === "error").length;
  // A mistake's cascade: the rows after it right from the learner's own upstream.
  const given = rows.filter((r) => isRight(r.given_your_upstream?.verdict ?? r.verdict)).length;
  const parts = [`${right} / ${rows.length} right${given > right ? ` (${given} given your own upstream)` : ""}`];
  if (firstWrong) parts.push(`first mistake: d${firstWrong}`);
  if (errors) parts.push(`${errors} cannot be evaluated`);
  if (missing) parts.push(`${missing} not answered yet`);
  return parts.join("; ");
}

/** A text cut around an error's span [start, end): {before, at, after}; the span past the end
 * (an answer cut short) marks one blank at the end. */
export function spanParts(text, span) {
  if (!span) return { before: text, at: "", after: "" };
  const start = Math.max(0, Math.min(span[0], text.length));
  const end = Math.max(start, Math.min(span[1], text.length));
  return { before: text.slice(0, start), at: text.slice(start, end) || " ", after: text.slice(end) };
}
