// What the gradient check said, as sentences: which check ran, over what, why and at what
// cost, from the answer's `check` (answer.py's `Check`). Pure; the panel draws them.

const plural = (n, word) => `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;

/** {title, over, why, cost}: the check's kind as a title, what it covered, the answer's reason,
 * and its evaluations against element by element's 2N and backprop's two passes. An answer
 * from before the check had kinds is element by element. */
export function checkSummary(check) {
  const kind = check.kind ?? "elements";
  const inputs = check.inputs ?? [];
  const n = check.elements;
  const { forward = 1, backward = 1 } = check.backprop_passes ?? {};
  const passes = `Backprop: ${forward} forward + ${backward} backward pass.`;
  const why = check.reason ? `Why: ${check.reason}.` : "";
  if (kind === "directions") {
    const covered = inputs.filter((i) => i.directions > 0);
    const per = Math.max(0, ...covered.map((i) => i.directions));
    const followed = inputs.filter((i) => i.elements_checked > 0);
    const fewer = covered.some((i) => i.directions < per) ? "up to " : "";
    const over = `${fewer}${plural(per, "random direction")} v for each of ${covered.length} of ` +
      `${plural(inputs.length, "input tensor")} (${check.checked.toLocaleString("en-US")} of ` +
      `${plural(n, "element")}${check.complete ? ", all" : ""}): ∇f · v against ` +
      "(f(x + hv) − f(x − hv)) / 2h." +
      (followed.length ? ` Then element by element: ${followed.map((i) =>
        `${i.input ?? i.node} (${i.elements_checked.toLocaleString("en-US")})`).join(", ")}.` : "");
    return {
      title: "Checked by random directions",
      over, why,
      cost: `${check.evaluations.toLocaleString("en-US")} function evaluations (2 per ` +
        `direction${followed.length ? ", 2 per element" : ""}); element by element would take ` +
        `2N = ${check.evaluations_for_all.toLocaleString("en-US")}. ${passes}`,
    };
  }
  const over = check.complete ? `each of ${plural(n, "input element")} on its own.`
    : `${check.checked.toLocaleString("en-US")} of ${plural(n, "input element")}, an even ` +
      "sample (not all: the work is bounded).";
  return {
    title: "Checked element by element",
    over, why,
    cost: check.complete
      ? `Finite differences: 2N = ${check.evaluations.toLocaleString("en-US")} function evaluations. ${passes}`
      : `Finite differences: 2N = ${check.evaluations_for_all.toLocaleString("en-US")} function ` +
        `evaluations (this check: ${check.evaluations.toLocaleString("en-US")}). ${passes}`,
  };
}
