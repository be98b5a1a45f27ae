// Differentiate from any node: for the node selected, "Differentiate from here" makes its
// statement the output (the backward pass, the check and the cost are redone from it); while
// one is chosen, "Output: h (click to reset)" says so and goes back to the last line.

import { button as domButton } from "./dom.js";

/** Whether node `n` (a page's node record) can be the output: a named statement, not an input. */
export function canBeOutput(n) {
  return Boolean(n && n.name && n.op !== "input" && n.op !== "const");
}

/** The panel on its element `el` ({bar}); callbacks: onOutput(name or "" for the last line). */
export function createOutputPanel(el, callbacks) {
  const panel = {
    /** Show the choice for the node selected (a node record or null) and the output chosen
     * (a name, "" for none). */
    show(selected, output) {
      const buttons = [];
      if (output) {
        buttons.push(button(`Output: ${output} (click to reset)`, "output-reset",
          () => callbacks.onOutput("")));
      }
      if (canBeOutput(selected) && selected.name !== output) {
        buttons.push(button(`Differentiate from here (${selected.name})`, "output-here",
          () => callbacks.onOutput(selected.name)));
      }
      el.bar.replaceChildren(...buttons);
      el.bar.hidden = !buttons.length;
      return panel;
    },
  };
  return panel;
}

// dom.js's button, its class named before its action (as this panel reads best).
function button(text, className, onClick) {
  return domButton(text, onClick, className);
}
