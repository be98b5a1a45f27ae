// The optimizer panel: gradient descent as its own loop around backprop. Reads its controls,
// asks the API for the iterations, and draws them (optimizer-charts.js). Newton's method runs
// beside gradient descent: both paths on the contours, the Hessian at the iterate chosen.

import { ApiError, optimize } from "./api.js";
import { drawContour, drawLoss, renderOptimizerTable } from "./optimizer-charts.js";
import { formatNumber } from "./format.js";
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
    panel: $("optimizer"), newton: $("newton-hessian"), iterate: $("newton-iterate"),
    iterateText: $("newton-iterate-text"), hessian: $("newton-hessian-table"), why: $("newton-why"),
  };
  let compare = null; // the method run beside Newton ({method, learning_rate}; default SGD)
  let token = 0;
  let last = null; // the last answer, redrawn when the panel changes width

  function showMethodFields() {
    el.betaField.hidden = el.method.value !== "momentum" && el.method.value !== "adam";
    el.beta2Field.hidden = el.method.value !== "adam";
    el.run.textContent = el.method.value === "newton" ? "Run Newton and gradient descent" : "Run gradient descent";
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
      const newton = options.method === "newton";
      // Newton beside gradient descent: the same start, steps and inputs; the rate typed.
      const [result, beside] = await Promise.all([optimize(source, values, options),
        newton ? optimize(source, values, { ...options, method: "sgd", learning_rate: learningRate, ...compare })
          : null]);
      if (mine !== token) return;
      showError("");
      last = { result, beside };
      draw(result, beside);
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

  function draw(result, beside = null) {
    drawLoss(el.loss, result.losses.map((output, k) => ({ k, output })),
      beside?.losses.map((output, k) => ({ k, output })));
    // The contours of the run that went wider, so that both paths are on them.
    const contour = beside && extent(beside.contour) > extent(result.contour) ? beside.contour : result.contour;
    el.contourFigure.hidden = !contour;
    const chosen = beside ? Number(el.iterate.value) : null;
    if (contour) {
      drawContour(el.contour, contour, result.iterations, { beside: beside?.iterations, chosen });
      el.contourCaption.textContent = beside
        ? `The output over ${contour.x} and ${contour.y}: Newton's path in squares, gradient descent's (learning rate ${beside.learning_rate}) in dots; the ring is the iterate whose Hessian is shown.`
        : contour.note ?? `The output over ${contour.x} and ${contour.y}; the dots are the iterations.`;
    }
    renderOptimizerTable(el.table, result);
    const warnings = (result.warnings ?? []).map((w) => `⚠ ${w.message ?? w}`);
    el.note.textContent = [result.note, result.thinned, ...warnings].filter(Boolean).join(" ");
    el.newton.hidden = !beside;
    if (beside) showHessian(result, beside);
  }

  // Newton's Hessian at the iterate the slider chooses, and how the two runs ended.
  function showHessian(result, beside) {
    const its = result.iterations;
    el.iterate.max = String(its.length - 1);
    const at = its[Math.min(Number(el.iterate.value), its.length - 1)];
    const names = hessianLabels(result, at);
    const matrix = at.hessian ?? [];
    const head = document.createElement("tr");
    head.append(cell("th", "H", "col"), ...names.map((n) => cell("th", n, "col")));
    const rows = matrix.map((row, i) => {
      const tr = document.createElement("tr");
      tr.append(cell("th", names[i], "row"), ...row.map((v) => cell("td", formatNumber(v))));
      return tr;
    });
    el.hessian.replaceChildren(head, ...rows);
    el.iterateText.textContent = `k = ${at.k}, output ${formatNumber(at.output)}` +
      (at.safeguarded ? `; not positive definite, shifted by λ = ${formatNumber(at.shift)}` : "");
    const end = (r) => r.iterations[r.iterations.length - 1];
    el.why.textContent = `After ${end(result).k} steps Newton's output is ${formatNumber(end(result).output)}, ` +
      `gradient descent's ${formatNumber(end(beside).output)}. Newton steps by −H⁻¹g: on a quadratic the ` +
      "gradient is H (x − x*), so one full step lands on the minimum; elsewhere it converges in few steps " +
      "near it, each step costing N Hessian-vector products.";
  }

  el.method.addEventListener("change", showMethodFields);
  el.iterate.addEventListener("input", () => { if (last?.beside) draw(last.result, last.beside); });
  el.run.addEventListener("click", runDescent);
  let width = 0;
  new ResizeObserver(([entry]) => {
    const w = Math.round(entry.contentRect.width);
    if (w === width) return;
    width = w;
    if (last) draw(last.result, last.beside);
  }).observe(el.loss.parentElement);
  showMethodFields();

  return {
    /** A gallery example's `optimize` settings ({method, learning_rate, steps, inputs,
     * compare}): set in the controls and run (null: leave the controls as they are). */
    preset(settings) {
      if (!settings) return;
      el.method.value = settings.method ?? el.method.value;
      if (settings.learning_rate) el.lr.value = String(settings.compare?.learning_rate ?? settings.learning_rate);
      if (settings.steps) el.steps.value = String(settings.steps);
      compare = settings.compare ?? null;
      el.iterate.value = "0";
      showMethodFields();
      runDescent();
    },

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

// The size of a contour's box (0 for none): the wider one holds both paths.
function extent(contour) {
  if (!contour) return 0;
  const span = (v) => Math.max(...v) - Math.min(...v);
  return span(contour.xs) * span(contour.ys);
}

// Newton's N names: each optimized input, with its element's index for an array.
function hessianLabels(result, at) {
  const names = [];
  for (const [name, value] of Object.entries(at.values)) {
    const flat = [value].flat(Infinity);
    if (!Array.isArray(value)) names.push(name);
    else flat.forEach((_, k) => names.push(`${name}[${k}]`));
  }
  return names;
}

function cell(tag, text, scope) {
  const c = document.createElement(tag);
  c.textContent = text;
  if (scope) c.scope = scope;
  return c;
}
