// The results beside the graph: the Gradients table (rows filling in as the backward pass
// reaches each input), the finite-difference check and the cost of each method.

import { costTable } from "./cost.js";
import { markPendingGradients, renderCheck, renderCost, renderGradients } from "./panels.js";

/** The panels on their elements `el` ({gradients, check, cost, costVerdict}). */
export function createResultsPanel(el) {
  const panel = {
    /** Fill every table from an answer, computed in `mode` ("reverse" or "forward"). */
    show(result, mode) {
      renderGradients(el.gradients, result);
      renderCheck(el.check, result.check);
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
