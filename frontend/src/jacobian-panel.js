// The Jacobian panel: d output / d inputs of an array output as a heatmap, filled in the order
// each mode computes it: a row per backward pass (reverse mode, seeded with a one at one output
// element) or a column per forward pass (forward mode, seeded with a one at one input element).
// A stale animation stops by itself when the token moves on (the playground's trick).

import { decode, formatNumber } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const MAX_DRAWN = 48; // rows and columns drawn at most
const LABEL_W = 64;
const LABEL_H = 58; // room for the column labels, written at a slant
const PASS_MS = 260;

/** The panel on its elements `el` ({section, figure, caption, replay, orders: radios}). */
export function createJacobianPanel(el) {
  let token = 0;
  let jacobian = null;

  el.replay.addEventListener("click", () => animate());
  for (const radio of el.orders) radio.addEventListener("change", () => animate());

  function order() {
    return el.orders.find((r) => r.checked)?.value ?? "reverse";
  }

  function animate() {
    if (!jacobian) return;
    const mine = ++token;
    const mode = order();
    const cells = draw(el.figure, jacobian, mode);
    const passes = mode === "reverse" ? cells.rows : cells.columns;
    el.caption.textContent = caption(jacobian, mode);
    const reduced = globalThis.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
    const fill = (k) => {
      if (mine !== token) return;
      for (const cell of cells.byPass(mode, k)) cell.classList.add("filled");
      el.figure.dataset.filled = String(k + 1);
      if (k + 1 < passes) setTimeout(() => fill(k + 1), reduced ? 0 : PASS_MS);
      else el.figure.dataset.done = "true";
    };
    el.figure.dataset.filled = "0";
    el.figure.dataset.done = "false";
    el.figure.dataset.order = mode;
    if (passes) fill(0);
  }

  const panel = {
    /** A new answer: its Jacobian (hidden when there is none), filled in as computed. */
    show(result) {
      jacobian = result.jacobian ?? null;
      el.section.hidden = !jacobian;
      token++;
      if (jacobian) animate();
      return panel;
    },
  };
  return panel;
}

function caption(j, mode) {
  const { reverse_passes: m, forward_passes: n } = j.cost;
  const rows = `${m} output element${m === 1 ? "" : "s"} × ${n} input element${n === 1 ? "" : "s"}`;
  return mode === "reverse"
    ? `${rows}. Reverse mode: ${m} backward pass${m === 1 ? "" : "es"}, each seeded with a one at one output element, fill${m === 1 ? "s" : ""} a row each; forward mode would take ${n}.`
    : `${rows}. Forward mode: ${n} pass${n === 1 ? "" : "es"}, each seeded with a one at one input element, fill${n === 1 ? "s" : ""} a column each; reverse mode would take ${m}.`;
}

/** Column names: each input's name, with its element's index for an array. */
export function columnLabels(inputs) {
  const labels = [];
  for (const input of inputs) {
    const size = input.shape.reduce((a, b) => a * b, 1);
    for (let k = 0; k < size; k++) labels.push(input.shape.length ? `${input.name}[${unravel(k, input.shape)}]` : input.name);
  }
  return labels;
}

/** Output element names: out[i, j] for each element of the output, row-major. */
export function rowLabels(shape) {
  const size = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: size }, (_, k) => (shape.length ? `out[${unravel(k, shape)}]` : "out"));
}

function unravel(k, shape) {
  const index = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(k % shape[d]);
    k = Math.floor(k / shape[d]);
  }
  return index.join(", ");
}

// The empty grid, and a way to find the cells of pass k (a row, or a column).
function draw(figure, j, mode) {
  const matrix = decode(j.matrix);
  const rows = Math.min(j.rows, MAX_DRAWN);
  const columns = Math.min(j.columns, MAX_DRAWN);
  const width = Math.max(figure.clientWidth || 320, 200);
  const cell = Math.max(8, Math.min(44, Math.floor((width - LABEL_W - 4) / Math.max(columns, 1))));
  const big = Math.max(1e-300, ...matrix.slice(0, rows).flatMap((r) => r.slice(0, columns))
    .filter(Number.isFinite).map(Math.abs));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", `jacobian-heat ${mode}`);
  svg.setAttribute("width", String(LABEL_W + columns * cell + 2));
  svg.setAttribute("height", String(LABEL_H + rows * cell + 2));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Jacobian heatmap, ${j.rows} rows by ${j.columns} columns`);
  const cols = columnLabels(j.inputs);
  const outs = rowLabels(j.output_shape);
  const byRow = Array.from({ length: rows }, () => []);
  const byCol = Array.from({ length: columns }, () => []);
  const showNumbers = cell >= 40;
  for (let c = 0; c < columns; c++) {
    const x = LABEL_W + c * cell + cell / 2 + 3;
    const label = text(x, LABEL_H - 6, cell >= 11 ? cols[c] : "", "col-label", cols[c]);
    label.setAttribute("transform", `rotate(-50 ${x} ${LABEL_H - 6})`);
    svg.append(label);
  }
  for (let r = 0; r < rows; r++) {
    svg.append(text(LABEL_W - 6, LABEL_H + r * cell + cell / 2 + 4, outs[r], "row-label", outs[r]));
    for (let c = 0; c < columns; c++) {
      const v = matrix[r][c];
      const g = document.createElementNS(SVG, "g");
      g.setAttribute("class", `cell${v < 0 ? " neg" : ""}`);
      g.dataset.row = String(r);
      g.dataset.col = String(c);
      g.dataset.value = String(j.matrix[r][c]);
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(LABEL_W + c * cell + 1));
      rect.setAttribute("y", String(LABEL_H + r * cell + 1));
      rect.setAttribute("width", String(cell - 2));
      rect.setAttribute("height", String(cell - 2));
      rect.setAttribute("rx", "2");
      rect.style.setProperty("--strength", Number.isFinite(v) ? (0.12 + 0.88 * Math.abs(v) / big).toFixed(3) : "1");
      const title = document.createElementNS(SVG, "title");
      title.textContent = `∂${outs[r]}/∂${cols[c]} = ${formatNumber(v)}`;
      rect.append(title);
      g.append(rect);
      if (showNumbers) g.append(text(LABEL_W + c * cell + cell / 2, LABEL_H + r * cell + cell / 2 + 4, formatNumber(v, 2), "cell-value"));
      svg.append(g);
      byRow[r].push(g);
      byCol[c].push(g);
    }
  }
  const note = j.rows > rows || j.columns > columns
    ? `Showing the first ${rows} rows and ${columns} columns of ${j.rows} × ${j.columns}.` : "";
  figure.replaceChildren(svg);
  if (note) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = note;
    figure.append(p);
  }
  return { rows, columns, byPass: (m, k) => (m === "reverse" ? byRow[k] : byCol[k]) };
}

function text(x, y, content, cls, title) {
  const t = document.createElementNS(SVG, "text");
  t.setAttribute("x", String(x));
  t.setAttribute("y", String(y));
  t.setAttribute("class", cls);
  t.textContent = content;
  if (title) {
    const tip = document.createElementNS(SVG, "title");
    tip.textContent = title;
    t.append(tip);
  }
  return t;
}
