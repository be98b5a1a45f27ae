// The results beside the graph: the Gradients table (rows filling in as the backward pass
// reaches each input), the finite-difference check (with the verdict on each derivative rule
// of the program's own) and the cost of each method.

import { costTable } from "./cost.js";
import { markPendingGradients, renderCheck, renderCost, renderGradients } from "./panel-drawings.js";

/** The spans a rule's verdict points at: its `@derivative` line and its node. */
export function ruleSpans(rule) {
  return [rule.decorator_span, rule.span];
}

/** The panels on their elements `el` ({gradients, check, cost, costVerdict}); callbacks:
 * onRule(rule | null) as a rule's verdict is pointed at or left, onWrongRules(rules) with the
 * rules the check found wrong (none: []) each time an answer is shown. */
export function createResultsPanel(el, callbacks = {}) {
  const { onRule = () => {}, onWrongRules = () => {} } = callbacks;
  const panel = {
    /** Fill every table from an answer, computed in `mode` ("reverse" or "forward"). */
    show(result, mode) {
      renderGradients(el.gradients, result);
      renderCheck(el.check, result.check, onRule);
      onWrongRules((result.check?.rules ?? []).filter((rule) => !rule.ok));
      renderCost(el.cost, el.costVerdict, costTable(result.cost, result.check), mode);
      return panel;
    },

    /** Mark the gradient rows not reached yet: `isDone(nodeId)`; `complete` at the end. */
    showProgress(isDone, complete) {
      markPendingGradients(el.gradients, isDone);
      el.gradients.classList.toggle("complete", complete);
      return panel;
    },
  };
  return panel;
}
