// The Three ways panel: symbolic differentiation (sympy), finite differences and backprop,
// side by side for the last run (POST /api/v1/methods). Plots the finite differences' error
// against h on log-log axes (d3): truncation falls with h, rounding grows as h shrinks, a V;
// and sets each symbolic formula's size (its swell) beside backprop's one pass over the graph.

import * as d3 from "d3";
import { newestRequest, methods as fetchMethods } from "./api.js";
import { formatNumber } from "./format.js";

const MAX_WIDTH = 520; // drawn at the figure's own width, so its text keeps its size
const HEIGHT = 220;
const MARGIN = { top: 10, right: 12, bottom: 36, left: 52 };

/** The panel on its elements `el` ({run, wrt, figure, table, summary, error}). */
export function createMethodsPanel(el) {
  const requests = newestRequest();
  let ready = null; // the last run's {source, values}
  let answer = null;

  el.run.addEventListener("click", () => load());
  el.wrt.addEventListener("change", () => { if (answer) draw(answer); });

  async function load() {
    requests.cancel();
    if (!ready) return;
    el.error.hidden = true;
    el.summary.textContent = "Differentiating three ways…";
    const got = await requests.run(() => fetchMethods(ready.source, ready.values));
    if (!got) return;
    if (got.error) {
      answer = null;
      el.summary.textContent = "";
      el.error.textContent = got.error.message;
      el.error.hidden = false;
      return;
    }
    answer = got.body;
    el.wrt.replaceChildren(...answer.inputs.map((i) => new Option(i.name, i.name)));
    draw(answer);
  }

  function draw(body) {
    const input = body.inputs.find((i) => i.name === el.wrt.value) ?? body.inputs[0];
    if (!input) return;
    renderTable(el.table, body);
    plotV(el.figure, input);
    const best = Math.min(...input.finite_differences.central_error.map(Number));
    el.summary.textContent = `Backprop: one forward and one backward pass over ` +
      `${body.graph_operations} operations gave every derivative. The best central difference ` +
      `for ${input.name} is off by ${formatNumber(best, 2)}; the formula for d output/d` +
      `${input.name} has ${input.symbolic.size} nodes written out ` +
      `(${input.symbolic.size_cse ?? "?"} with shared subexpressions).`;
  }

  const panel = {
    /** A new run: the comparison waits for the button (sympy takes its time). */
    show(result, values) {
      ready = { source: result.source, values };
      answer = null;
      requests.cancel();
      el.figure.replaceChildren();
      el.table.tBodies[0]?.replaceChildren();
      el.summary.textContent = "";
      el.error.hidden = true;
      return panel;
    },
  };
  return panel;
}

function renderTable(table, body) {
  const tbody = table.tBodies[0] ?? table.createTBody();
  tbody.replaceChildren();
  for (const input of body.inputs) {
    const row = tbody.insertRow();
    row.dataset.input = input.name;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = input.name;
    row.append(th);
    for (const [text, cls] of [
      [formatNumber(input.backprop, 7), "grad"],
      [input.symbolic.value === null ? "undefined" : formatNumber(input.symbolic.value, 7), "symbolic"],
      [String(input.symbolic.size), "size"],
      [String(input.symbolic.size_cse ?? "—"), "size-cse"],
      [String(body.graph_operations), "graph"],
    ]) {
      const cell = row.insertCell();
      cell.className = cls;
      cell.textContent = text;
    }
    row.title = input.symbolic.derivative;
  }
}

// Error against h on log-log axes: forward differences and central differences.
function plotV(figure, input) {
  figure.replaceChildren();
  const WIDTH = Math.max(280, Math.min(MAX_WIDTH, figure.clientWidth || MAX_WIDTH));
  const fd = input.finite_differences;
  const series = [["forward", fd.forward_error], ["central", fd.central_error]].map(([name, errors]) =>
    ({ name, points: fd.h.map((h, k) => [h, Math.max(Number(errors[k]), 1e-17)]) }));
  const all = series.flatMap((s) => s.points.map((p) => p[1]));
  const x = d3.scaleLog().domain(d3.extent(fd.h)).range([WIDTH - MARGIN.right, MARGIN.left]);
  const y = d3.scaleLog().domain([d3.min(all), d3.max(all)]).nice()
    .range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  const svg = d3.create("svg").attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`).attr("class", "methods-plot")
    .attr("role", "img")
    .attr("aria-label", `Error of finite differences for ${input.name} against the step h, log-log`);
  svg.append("g").attr("transform", `translate(0,${HEIGHT - MARGIN.bottom})`)
    .call(d3.axisBottom(x).ticks(6, ".0e"));
  svg.append("g").attr("transform", `translate(${MARGIN.left},0)`).call(d3.axisLeft(y).ticks(5, ".0e"));
  svg.append("text").attr("class", "axis-title").attr("x", (WIDTH + MARGIN.left) / 2)
    .attr("y", HEIGHT - 4).attr("text-anchor", "middle").text("step h (smaller to the right)");
  const line = d3.line().x((p) => x(p[0])).y((p) => y(p[1]));
  for (const s of series) {
    svg.append("path").attr("class", `v-line ${s.name}`).attr("d", line(s.points))
      .attr("data-method", s.name);
    svg.append("g").selectAll("circle").data(s.points).join("circle")
      .attr("class", `v-dot ${s.name}`).attr("r", 2.5).attr("cx", (p) => x(p[0])).attr("cy", (p) => y(p[1]));
  }
  const legend = document.createElement("p");
  legend.className = "hint methods-legend";
  legend.innerHTML = '<span class="key forward"></span> forward (f(x+h) − f(x))/h &nbsp; ' +
    '<span class="key central"></span> central (f(x+h) − f(x−h))/2h';
  figure.append(svg.node(), legend);
}
