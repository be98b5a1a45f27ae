// The optimizer panel: gradient descent as its own loop around backprop. Reads its controls,
// asks the API for the iterations, and draws them (optimizer-charts.js).

import { ApiError, optimize } from "./api.js";
import { drawContour, drawLoss, renderOptimizerTable } from "./optimizer-charts.js";
import { parseValues } from "./values.js";

const $ = (id) => document.getElementById(id);

/** The panel, wired to its elements; `currentInput()` gives {source, valuesText, overrides}
 * to start from. setInputs(nodes) lists the inputs to optimize (the last run's). */
export function createOptimizerPanel(currentInput) {
  const el = {
    inputs: $("optimizer-inputs"), method: $("opt-method"), lr: $("opt-lr"), steps: $("opt-steps"),
    beta: $("opt-beta"), beta2: $("opt-beta2"), betaField: $("opt-beta-field"),
    beta2Field: $("opt-beta2-field"), run: $("opt-run"), error: $("optimizer-error"),
    loss: $("loss-plot"), contour: $("contour-plot"), contourFigure: $("contour-figure"),
    contourCaption: $("contour-caption"), note: $("optimizer-note"), table: $("optimizer-values"),
    panel: $("optimizer"),
  };
  let token = 0;
  let last = null; // the last answer, redrawn when the panel changes width

  function showMethodFields() {
    el.betaField.hidden = el.method.value !== "momentum" && el.method.value !== "adam";
    el.beta2Field.hidden = el.method.value !== "adam";
  }

  function showError(message) {
    el.error.textContent = message;
    el.error.hidden = !message;
  }

  function checkedInputs() {
    return [...el.inputs.querySelectorAll("input[type=checkbox]:checked")].map((c) => c.value);
  }

  async function runDescent() {
    const mine = ++token;
    const { source, valuesText, overrides } = currentInput();
    const learningRate = Number(el.lr.value);
    const steps = Number(el.steps.value);
    const inputs = checkedInputs();
    let values;
    try {
      values = parseValues(valuesText);
      if (!(learningRate > 0)) throw new Error("The learning rate must be a number above 0.");
      if (!Number.isInteger(steps) || steps < 1 || steps > 1000) {
        throw new Error("Iterations: a whole number from 1 to 1000.");
      }
      if (el.inputs.querySelector("input[type=checkbox]") && !inputs.length) {
        throw new Error("Choose at least one input to optimize.");
      }
    } catch (err) {
      return showError(err.message);
    }
    const options = { method: el.method.value, learning_rate: learningRate, steps, contour: true };
    if (overrides) options.overrides = overrides;
    if (inputs.length) options.inputs = inputs;
    if (!el.betaField.hidden) options.beta = Number(el.beta.value);
    if (!el.beta2Field.hidden) options.beta2 = Number(el.beta2.value);
    el.run.disabled = true;
    el.panel.dataset.status = "loading";
    try {
      const result = await optimize(source, values, options);
      if (mine !== token) return;
      showError("");
      last = result;
      draw(result);
      el.panel.dataset.status = "ready";
    } catch (err) {
      if (mine !== token) return;
      if (!(err instanceof ApiError)) console.error(err);
      showError(err.message);
      el.panel.dataset.status = "error";
    } finally {
      if (mine === token) el.run.disabled = false;
    }
  }

  function draw(result) {
    drawLoss(el.loss, result.losses.map((output, k) => ({ k, output })));
    el.contourFigure.hidden = !result.contour;
    if (result.contour) {
      drawContour(el.contour, result.contour, result.iterations);
      el.contourCaption.textContent = result.contour.note ??
        `The output over ${result.contour.x} and ${result.contour.y}; the dots are the iterations.`;
    }
    renderOptimizerTable(el.table, result);
    const warnings = (result.warnings ?? []).map((w) => `⚠ ${w.message ?? w}`);
    el.note.textContent = [result.note, result.thinned, ...warnings].filter(Boolean).join(" ");
  }

  el.method.addEventListener("change", showMethodFields);
  el.run.addEventListener("click", runDescent);
  let width = 0;
  new ResizeObserver(([entry]) => {
    const w = Math.round(entry.contentRect.width);
    if (w === width) return;
    width = w;
    if (last) draw(last);
  }).observe(el.loss.parentElement);
  showMethodFields();

  return {
    /** List the input nodes as checkboxes, keeping the choices made for names seen before. */
    setInputs(nodes) {
      const before = new Map([...el.inputs.querySelectorAll("input[type=checkbox]")]
        .map((c) => [c.value, c.checked]));
      el.inputs.replaceChildren(...nodes.map((node) => {
        const label = document.createElement("label");
        label.className = "choice";
        const box = document.createElement("input");
        box.type = "checkbox";
        box.value = node.name;
        box.checked = before.get(node.name) ?? true;
        label.append(box, ` ${node.name}`);
        return label;
      }));
    },
  };
}
