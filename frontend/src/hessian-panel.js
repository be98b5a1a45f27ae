// The second-order panel: for a scalar program, a Hessian-vector product both ways side by
// side (forward over reverse: tangents pushed through the backward graph; reverse over
// reverse: grad of grad · v) with their cost, and the Hessian as a heatmap that fills in a
// column per HVP, each cell's number on hover or focus and in a table for screen readers.
// A stale animation stops by itself when the token moves on (the playground's trick).

import * as d3 from "d3";
import { hessian as fetchHessian } from "./api.js";
import { decode, formatNumber } from "./format.js";
import { columnLabels } from "./jacobian-panel.js";

const MAX_DRAWN = 24; // rows and columns drawn at most
const COLUMN_MS = 650;
const LABEL_W = 56;
const LABEL_H = 26;

/** The panel on its elements `el` ({section, v, run, next, status, error, ways, figure,
 * readout, table, kinks}). */
export function createHessianPanel(el) {
  let context = null; // {source, values, wrt, output, v}: the program shown
  let answer = null;
  let filled = 0;
  let token = 0;
  let grid = null;

  el.run.addEventListener("click", () => compute());
  el.v.addEventListener("keydown", (event) => { if (event.key === "Enter") compute(); });
  el.next.addEventListener("click", () => {
    token++; // stepping by hand stops the animation
    fillTo(filled + 1);
  });

  async function compute() {
    if (!context) return;
    const mine = ++token;
    let v;
    try {
      v = parseVector(el.v.value);
    } catch (err) {
      return fail(err.message);
    }
    el.error.hidden = true;
    el.run.disabled = true;
    el.section.dataset.status = "loading";
    el.status.textContent = "Computing the Hessian, one Hessian-vector product per column…";
    try {
      const body = await fetchHessian(context.source, context.values,
        { wrt: context.wrt, v, output: context.output });
      if (mine !== token) return;
      answer = body;
      drawAnswer();
    } catch (err) {
      if (mine === token) fail(err.message);
    } finally {
      if (mine === token) el.run.disabled = false;
    }
  }

  function fail(message) {
    el.error.textContent = message;
    el.error.hidden = false;
    el.status.textContent = "";
    el.section.dataset.status = "error";
  }

  function drawAnswer() {
    const labels = columnLabels(answer.wrt);
    el.ways.replaceChildren(...waysOf(answer, labels));
    el.kinks.replaceChildren(...kinksOf(answer));
    el.kinks.hidden = !answer.kinks.length;
    fillTable(el.table, answer, labels);
    grid = drawGrid(el.figure, answer, labels, (text) => { el.readout.textContent = text; });
    el.section.dataset.status = "ready";
    filled = 0;
    fillTo(0);
    const reduced = globalThis.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
    if (reduced) return fillTo(grid.columns); // no animation: every column at once
    const mine = token;
    const tick = () => {
      if (mine !== token || filled >= grid.columns) return;
      fillTo(filled + 1);
      setTimeout(tick, COLUMN_MS);
    };
    setTimeout(tick, COLUMN_MS / 2);
  }

  // Show the first k columns of the Hessian (k HVPs) and say so.
  function fillTo(k) {
    if (!grid) return;
    filled = Math.min(k, grid.columns);
    grid.fill(filled);
    const n = answer.size;
    el.next.disabled = filled >= grid.columns;
    el.figure.dataset.filled = String(filled);
    el.figure.dataset.done = String(filled >= grid.columns);
    el.status.textContent = filled >= grid.columns
      ? `The Hessian of ${answer.output}: ${n} × ${n}, from ${n} Hessian-vector product${n === 1 ? "" : "s"}` +
        `${answer.symmetric ? ", symmetric as it should be" : ", not symmetric"}.`
      : `${filled} of ${n} columns: column j is H e_j, one Hessian-vector product.`;
  }

  const panel = {
    /** A new answer of the page: the program the panel differentiates (`output` the line
     * chosen, or null for the last); `preset` a gallery example's `hessian` ({wrt, v,
     * output}): its Hessian is computed as it is shown. What was shown is cleared. */
    show(result, values, output = null, preset = null) {
      token++;
      const same = context?.source === result.source;
      context = { source: result.source, values, wrt: preset?.wrt ?? null,
        output: preset?.output ?? output ?? null };
      if (!same) el.v.value = preset?.v ? preset.v.join(", ") : "";
      answer = null;
      grid = null;
      el.figure.replaceChildren();
      el.ways.replaceChildren();
      el.kinks.replaceChildren();
      el.kinks.hidden = true;
      el.table.hidden = true;
      el.error.hidden = true;
      el.next.disabled = true;
      el.readout.textContent = "";
      el.status.textContent = "";
      el.section.dataset.status = "idle";
      if (preset && !same) compute();
      return panel;
    },
  };
  return panel;
}

/** The direction typed ("1, 2" or "[1, 2]"): a list of numbers, or null when empty. */
export function parseVector(text) {
  const trimmed = text.trim().replace(/^\[|\]$/g, "");
  if (!trimmed) return null;
  const numbers = trimmed.split(/[\s,]+/).filter(Boolean).map(Number);
  if (numbers.some((x) => !Number.isFinite(x))) throw new Error(`v: "${text}" is not a list of numbers.`);
  return numbers;
}

// The Hessian-vector product both ways, side by side, with their cost; then their difference.
// Without a v, the first column's (v = e_1).
function waysOf(answer, labels) {
  const hvp = answer.hvp ?? { v: answer.columns[0] ? unit(answer.size, 0) : [],
    forward_over_reverse: answer.columns[0]?.forward_over_reverse ?? [],
    reverse_over_reverse: answer.columns[0]?.reverse_over_reverse ?? [] };
  const v = decode(hvp.v);
  const ways = [
    ["forward_over_reverse", "Forward over reverse", "tangents v pushed through the backward graph"],
    ["reverse_over_reverse", "Reverse over reverse", "grad of (grad · v): a second backward pass"],
  ].map(([key, title, how]) => {
    const cost = answer.cost[key];
    const box = h("div", { class: `hessian-way ${key.replaceAll("_", "-")}` });
    box.append(h("h3", {}, title), h("p", { class: "hint" }, how),
      h("p", { class: "hessian-hv" }, `H v = [${decode(hvp[key]).map((x) => formatNumber(x)).join(", ")}]`));
    const dl = h("dl", { class: "hessian-cost" });
    for (const [term, value] of [["passes", cost.passes], ["nodes swept", cost.nodes],
      ["nodes alive at the peak", cost.peak_alive]]) {
      dl.append(h("dt", {}, term), h("dd", { "data-cost": term }, String(value)));
    }
    box.append(dl, h("p", { class: "hint hessian-note" }, cost.note));
    return box;
  });
  const fwd = decode(hvp.forward_over_reverse);
  const rev = decode(hvp.reverse_over_reverse);
  const difference = Math.max(0, ...fwd.map((x, k) => Math.abs(x - rev[k])));
  const g = answer.cost.graph;
  const vText = v.map((x, k) => (labels.length === v.length ? `${labels[k]}: ${formatNumber(x)}` : formatNumber(x)));
  return [
    h("p", { class: "hessian-v" }, `${answer.hvp ? "v" : "v = e₁"} = [${vText.join(", ")}]${answer.hvp ? "" : " (type a v for your own)"}`),
    h("div", { class: "hessian-ways" }, ...ways),
    h("p", { class: "hessian-difference" }, `The two ways differ by at most ${formatNumber(difference, 3)}` +
      ` (rounding). The graph: ${g.forward_nodes} forward nodes, ${g.backward_nodes} backward nodes.`),
  ];
}

function kinksOf(answer) {
  return answer.kinks.map((k) => h("li", {},
    `${k.op} (${k.node}) sits on its kink ${k.point}${k.elements > 1 ? ` in ${k.elements} elements` : ""}: ` +
    "the second derivatives jump there, so the Hessian holds one side's."));
}

// The table for screen readers: a row per x_i, a column per x_j, d²L/dx_i dx_j.
function fillTable(table, answer, labels) {
  const matrix = decode(answer.hessian);
  const head = h("tr", {}, h("th", { scope: "col" }, "∂²L / ∂row ∂column"),
    ...labels.map((l) => h("th", { scope: "col" }, l)));
  const rows = matrix.map((row, i) => h("tr", {}, h("th", { scope: "row" }, labels[i]),
    ...row.map((x, j) => h("td", { "data-row": String(i), "data-col": String(j), "data-value": String(answer.hessian[i][j]) }, formatNumber(x, 6)))));
  table.replaceChildren(h("caption", {}, `The Hessian of ${answer.output}`), h("thead", {}, head), h("tbody", {}, ...rows));
  table.hidden = false;
}

// The heatmap (d3): a cell per entry, blank until its column's HVP is in; a cell's number on
// hover or focus (arrow keys move between cells). Returns {columns, fill(k)}.
function drawGrid(figure, answer, labels, say) {
  const matrix = decode(answer.hessian);
  const n = Math.min(answer.size, MAX_DRAWN);
  const width = Math.max(figure.clientWidth || 300, 200);
  const cell = Math.max(14, Math.min(56, Math.floor((width - LABEL_W - 4) / Math.max(n, 1))));
  const big = Math.max(1e-300, ...matrix.slice(0, n).flatMap((r) => r.slice(0, n)).filter(Number.isFinite).map(Math.abs));
  const entries = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) entries.push({ i, j, v: matrix[i][j] });
  const words = (d) => `∂²${answer.output}/∂${labels[d.i]}∂${labels[d.j]} = ${formatNumber(d.v, 6)}`;
  const svg = d3.create("svg").attr("class", "hessian-heat").attr("role", "group")
    .attr("aria-label", `Hessian heatmap, ${answer.size} by ${answer.size}; arrow keys move between cells`)
    .attr("width", LABEL_W + n * cell + 2).attr("height", LABEL_H + n * cell + 2);
  svg.selectAll("text.col-label").data(labels.slice(0, n)).join("text").attr("class", "col-label")
    .attr("x", (_, j) => LABEL_W + j * cell + cell / 2).attr("y", LABEL_H - 8).text((d) => d);
  svg.selectAll("text.row-label").data(labels.slice(0, n)).join("text").attr("class", "row-label")
    .attr("x", LABEL_W - 6).attr("y", (_, i) => LABEL_H + i * cell + cell / 2 + 4).text((d) => d);
  const cells = svg.selectAll("g.cell").data(entries).join("g")
    .attr("class", (d) => `cell${d.v < 0 ? " neg" : ""}`)
    .attr("data-row", (d) => d.i).attr("data-col", (d) => d.j)
    .attr("role", "img").attr("aria-label", words)
    .attr("tabindex", (d) => (d.i === 0 && d.j === 0 ? 0 : -1))
    .on("mouseenter focus", (_, d) => say(words(d)))
    .on("keydown", (event, d) => {
      const move = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] }[event.key];
      if (!move) return;
      event.preventDefault();
      const i = Math.max(0, Math.min(n - 1, d.i + move[0]));
      const j = Math.max(0, Math.min(n - 1, d.j + move[1]));
      const target = cells.filter((e) => e.i === i && e.j === j).node();
      cells.attr("tabindex", -1);
      target.setAttribute("tabindex", "0");
      target.focus();
    });
  cells.append("rect").attr("x", (d) => LABEL_W + d.j * cell + 1).attr("y", (d) => LABEL_H + d.i * cell + 1)
    .attr("width", cell - 2).attr("height", cell - 2).attr("rx", 2)
    .style("--strength", (d) => (Number.isFinite(d.v) ? (0.12 + 0.88 * Math.abs(d.v) / big).toFixed(3) : "1"));
  if (cell >= 44) {
    cells.append("text").attr("class", (d) => `cell-value${Math.abs(d.v) / big > 0.5 ? " strong" : ""}`).attr("x", (d) => LABEL_W + d.j * cell + cell / 2)
      .attr("y", (d) => LABEL_H + d.i * cell + cell / 2 + 4).attr("aria-hidden", "true").text((d) => formatNumber(d.v, 3));
  }
  figure.replaceChildren(svg.node());
  if (answer.size > n) {
    figure.append(h("p", { class: "hint" }, `Showing the first ${n} rows and columns of ${answer.size}; the table holds them all.`));
  }
  return { columns: n, fill: (k) => cells.classed("filled", (d) => d.j < k) };
}

function unit(n, k) {
  return Array.from({ length: n }, (_, i) => (i === k ? 1 : 0));
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}
