// The optimizer panel's drawings (d3): the output over the iterations, the contours of the
// output over two inputs with the path the descent took, and the last iteration's values.

import * as d3 from "d3";
import { formatNumber, formatValue } from "./format.js";

const MARGIN = { top: 22, right: 14, bottom: 34, left: 56 };

/** The size an svg is drawn at: its CSS width, and a height that suits it. */
function sizeOf(svgEl, aspect) {
  const width = Math.max(svgEl.getBoundingClientRect().width || 320, 200);
  return { width, height: Math.round(Math.min(Math.max(width * aspect, 180), 360)) };
}

/** Draw the output of each iteration ({k, output}) as a line over k; `beside` another
 * method's ({k, output}), dashed, on the same axes (Newton beside gradient descent). */
export function drawLoss(svgEl, iterations, beside = null) {
  const svg = d3.select(svgEl);
  svg.selectAll("*").remove();
  const { width, height } = sizeOf(svgEl, 0.62);
  svg.attr("viewBox", `0 0 ${width} ${height}`).attr("height", height);
  const points = iterations.filter((it) => Number.isFinite(it.output));
  const other = (beside ?? []).filter((it) => Number.isFinite(it.output));
  if (!points.length) return;
  const all = [...points, ...other];
  const x = d3.scaleLinear().domain(d3.extent(all, (d) => d.k)).range([MARGIN.left, width - MARGIN.right]);
  if (all.length === 1) x.domain([points[0].k - 1, points[0].k + 1]);
  const y = d3.scaleLinear().domain(d3.extent(all, (d) => d.output)).nice()
    .range([height - MARGIN.bottom, MARGIN.top]);
  axes(svg, x, y, width, height, "iteration k", "output");
  const line = d3.line().x((d) => x(d.k)).y((d) => y(d.output));
  if (other.length) svg.append("path").attr("class", "loss-line beside").datum(other).attr("d", line);
  svg.append("path").attr("class", "loss-line").datum(points).attr("d", line);
  const last = points[points.length - 1];
  svg.append("circle").attr("class", "loss-end").attr("r", 3.5).attr("cx", x(last.k)).attr("cy", y(last.output));
}

/** Draw the contours of `contour` (z[i][j] at ys[i], xs[j]) and the path of the two inputs;
 * `beside` another method's iterations, a second path (Newton's, squares, beside gradient
 * descent's dots), `chosen` the k of an iterate to ring. */
export function drawContour(svgEl, contour, iterations, { beside = null, chosen = null } = {}) {
  const svg = d3.select(svgEl);
  svg.selectAll("*").remove();
  const { width, height } = sizeOf(svgEl, 0.8);
  svg.attr("viewBox", `0 0 ${width} ${height}`).attr("height", height);
  const { xs, ys, z } = contour;
  const nx = xs.length;
  const ny = ys.length;
  const x = d3.scaleLinear().domain(d3.extent(xs)).range([MARGIN.left, width - MARGIN.right]);
  const y = d3.scaleLinear().domain(d3.extent(ys)).range([height - MARGIN.bottom, MARGIN.top]);
  // d3.contours puts value j of a row at grid coordinate j + 0.5.
  const gx = d3.scaleLinear().domain([0.5, nx - 0.5]).range(d3.extent(xs).map(x));
  const gy = d3.scaleLinear().domain([0.5, ny - 0.5]).range([y(ys[0]), y(ys[ny - 1])]);
  const flat = z.flat().map((v) => (Number.isFinite(v) ? v : NaN));
  const thresholds = levels(flat);
  const color = d3.scaleSequential(d3.interpolateYlGnBu).domain([thresholds.length, 0]);
  const path = d3.geoPath(d3.geoTransform({
    point(px, py) { this.stream.point(gx(px), gy(py)); },
  }));
  const clipId = `${svgEl.id}-clip`;
  svg.append("clipPath").attr("id", clipId).append("rect")
    .attr("x", MARGIN.left).attr("y", MARGIN.top)
    .attr("width", width - MARGIN.left - MARGIN.right).attr("height", height - MARGIN.top - MARGIN.bottom);
  svg.append("g").attr("class", "contours").attr("clip-path", `url(#${clipId})`)
    .selectAll("path").data(d3.contours().size([nx, ny]).thresholds(thresholds)(flat)).join("path")
    .attr("d", path).attr("fill", (_, i) => color(i)).attr("data-value", (d) => d.value);
  axes(svg, x, y, width, height, contour.x, contour.y);
  const point = (it) => ({ k: it.k, x: it.values[contour.x], y: it.values[contour.y] });
  const finite = (p) => Number.isFinite(p.x) && Number.isFinite(p.y);
  if (beside) drawPath(svg, clipId, beside.map(point).filter(finite), x, y, contour, "descent-path");
  const steps = iterations.map(point).filter(finite);
  drawPath(svg, clipId, steps, x, y, contour, beside ? "newton-path" : "descent-path");
  const ring = steps.find((p) => p.k === chosen);
  if (ring) {
    svg.append("circle").attr("class", "chosen-iterate").attr("r", 9).attr("cx", x(ring.x)).attr("cy", y(ring.y))
      .attr("clip-path", `url(#${clipId})`);
  }
}

// One path: a line through the iterates, a mark at each (a square on Newton's), start and end larger.
function drawPath(svg, clipId, steps, x, y, contour, cls) {
  const route = svg.append("g").attr("class", cls).attr("clip-path", `url(#${clipId})`);
  route.append("path").datum(steps).attr("d", d3.line().x((p) => x(p.x)).y((p) => y(p.y)));
  const size = (i) => (i === 0 || i === steps.length - 1 ? 5 : 2.5);
  const marks = cls === "newton-path"
    ? route.selectAll("rect").data(steps).join("rect").attr("width", (_, i) => 2 * size(i)).attr("height", (_, i) => 2 * size(i))
      .attr("x", (p, i) => x(p.x) - size(i)).attr("y", (p, i) => y(p.y) - size(i))
    : route.selectAll("circle").data(steps).join("circle").attr("r", (_, i) => size(i))
      .attr("cx", (p) => x(p.x)).attr("cy", (p) => y(p.y));
  marks.attr("class", (_, i) => (i === 0 ? "start" : i === steps.length - 1 ? "end" : "step"))
    .attr("data-x", (p) => p.x).attr("data-y", (p) => p.y)
    .append("title").text((p) => `k = ${p.k}: ${contour.x} = ${formatNumber(p.x)}, ${contour.y} = ${formatNumber(p.y)}`);
}

// About a dozen levels, denser near the minimum (quantiles of the sampled values).
function levels(values) {
  const finite = values.filter(Number.isFinite).sort(d3.ascending);
  if (!finite.length) return [];
  // The minimum itself first, so that the lowest region is filled too.
  const qs = d3.range(0, 14).map((i) => d3.quantileSorted(finite, (i / 14) ** 1.6));
  return [...new Set(qs)].sort(d3.ascending);
}

function axes(svg, x, y, width, height, xLabel, yLabel) {
  const ticksX = Math.max(2, Math.floor((width - MARGIN.left) / 70));
  svg.append("g").attr("class", "axis").attr("transform", `translate(0,${height - MARGIN.bottom})`)
    .call(d3.axisBottom(x).ticks(ticksX));
  svg.append("g").attr("class", "axis").attr("transform", `translate(${MARGIN.left},0)`)
    .call(d3.axisLeft(y).ticks(5));
  svg.append("text").attr("class", "axis-label").attr("x", width - MARGIN.right).attr("y", height - 4)
    .attr("text-anchor", "end").text(xLabel);
  svg.append("text").attr("class", "axis-label").attr("x", 4).attr("y", 4)
    .attr("dy", "0.7em").text(yLabel);
}

/** Fill the table of the inputs: start, last iteration and gradient there. */
export function renderOptimizerTable(table, result) {
  const body = table.tBodies[0];
  body.replaceChildren();
  const first = result.iterations[0]?.k === 0 ? result.iterations[0] : null; // kept when thinned
  const last = result.iterations[result.iterations.length - 1];
  table.hidden = !last;
  if (!last) return;
  table.caption.textContent = `After ${last.k} iteration${last.k === 1 ? "" : "s"} of ` +
    `${result.method}, learning rate ${result.learning_rate}: output ${formatNumber(last.output, 7)}.`;
  for (const name of Object.keys(last.values)) {
    const row = body.insertRow();
    row.dataset.input = name;
    row.dataset.value = JSON.stringify(last.values[name]);
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = name;
    row.append(th);
    for (const [value, cls] of [[first?.values[name], "value"], [last.values[name], "value last"],
      [last.gradients?.[name], "grad"]]) {
      const cell = row.insertCell();
      cell.className = cls;
      cell.textContent = value === undefined ? "" : formatValue(value);
    }
  }
}
