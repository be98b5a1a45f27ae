// The memory of reverse mode, traded for recomputation (POST /api/v1/memory): the same
// differentiation replayed under a checkpointing strategy (keep everything, none, every k-th,
// √N segments, revolve with c slots) as a list of steps, forward / recompute / backward, the
// recomputed segments grouped and named before their backward steps (a step selects its node
// on the graph); every strategy's extra forward steps and peak in a table and a plot.

import * as d3 from "d3";
import { newestRequest, memory as fetchMemory } from "./api.js";
import { headedTable, rowTitle, scrolling } from "./dom.js";
import { formatBytes } from "./format.js";

/** Each kind's icon and word: text and icons, not colour alone. */
export const KIND = {
  forward: { icon: "→", word: "forward" },
  recompute: { icon: "↻", word: "recompute" },
  backward: { icon: "←", word: "backward" },
};
const LIMIT = 400; // steps listed; the rest are counted

/** A strategy row's name in words ({strategy, k, slots} of the summary). */
export function strategyName({ strategy, k, slots }) {
  return {
    all: "keep everything",
    none: "none (recompute from the inputs)",
    every_k: `every ${ordinal(k)}`,
    sqrt: `√N segments (every ${k})`,
    revolve: `revolve, ${slots} slot${slots === 1 ? "" : "s"}`,
  }[strategy] ?? strategy;
}

/** A strategy's name in a few characters, for the plot. */
export function shortName({ strategy, k, slots }) {
  return { all: "keep all", none: "none", every_k: `every ${ordinal(k)}`, sqrt: `√N (every ${k})`,
    revolve: `revolve (c = ${slots})` }[strategy] ?? strategy;
}

/** 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st. */
export function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th";
  return `${n}${suffix}`;
}

/** The steps ({kind, node, values, bytes} columns, `kinds` their names) cut into runs of one
 * kind: [{kind, from, to}] (indices into the steps, `to` exclusive). */
export function groupSteps(steps, kinds) {
  const groups = [];
  for (let s = 0; s < steps.kind.length; s++) {
    const kind = kinds[steps.kind[s]];
    const last = groups[groups.length - 1];
    if (last && last.kind === kind) last.to = s + 1;
    else groups.push({ kind, from: s, to: s + 1 });
  }
  return groups;
}

/** A run's title: "↻ Recompute x5..x8 before their backward steps (4 steps)". */
export function groupTitle(group, names) {
  const first = names[0];
  const span = names.length > 1 ? `${first}..${names[names.length - 1]}` : first;
  const n = group.to - group.from;
  const count = `(${n} step${n === 1 ? "" : "s"})`;
  if (group.kind === "recompute") return `↻ Recompute ${span} before their backward steps ${count}`;
  if (group.kind === "backward") return `← Backward ${span} ${count}`;
  return `→ Forward ${span} ${count}`;
}

/** The panel on its elements `el` ({on (checkbox), strategies (radios), k, slots (number
 * inputs), body, status, error}); callbacks: onSelect(id or null: the node of the step
 * chosen), onChange({on, strategy, k, slots}: the choice moved). */
export function createCheckpointPanel(el, callbacks) {
  let ready = null; // the last run's {result, values, key}
  const requests = newestRequest();
  let answer = null;
  let chosen = null; // a step index

  const settings = () => ({
    on: el.on.checked,
    strategy: el.strategies.find((r) => r.checked)?.value ?? "sqrt",
    k: positive(el.k.value, 1),
    slots: positive(el.slots.value, 0),
  });

  for (const input of [el.on, ...el.strategies, el.k, el.slots]) {
    input.addEventListener("change", () => {
      callbacks.onChange(settings());
      load();
    });
  }

  async function load() {
    requests.cancel();
    const chosenSettings = settings();
    if (!ready || !chosenSettings.on) return clear("");
    const { strategy, k, slots } = chosenSettings;
    const request = JSON.stringify([ready.key, strategy, k, slots]);
    if (answer?.request === request) return render();
    clear("Replaying the backward pass under the strategy…");
    const got = await requests.run(() => fetchMemory(ready.result.source, ready.values,
      { strategy, k, slots })); // both numbers, so the table's rows are the fields' too
    if (!got) return;
    if (got.error) {
      clear("");
      el.error.textContent = got.error.message;
      el.error.hidden = false;
      return;
    }
    answer = { ...got.body, request };
    render();
  }

  function clear(status) {
    chosen = null;
    el.body.replaceChildren();
    el.body.hidden = true;
    el.status.textContent = status;
    el.error.hidden = true;
  }

  const nameOf = (i) => {
    const node = ready.result.nodes[i];
    return node ? node.name ?? node.label : `n${i}`;
  };

  function render() {
    if (!answer || !el.on.checked) return clear("");
    el.error.hidden = true;
    const row = answer.summary.find((r) => r.strategy === answer.strategy);
    el.status.textContent = `${strategyName(row)}: ${row.forward} forward, ${row.recompute} ` +
      `recomputed and ${row.backward} backward steps; at most ${row.peak_values ?? "?"} values ` +
      `held (${row.peak_bytes === null ? "not played" : formatBytes(row.peak_bytes)}).`;
    const plot = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    plot.setAttribute("class", "checkpoint-plot");
    const figure = document.createElement("figure");
    figure.className = "checkpoint-figure";
    const caption = document.createElement("figcaption");
    caption.textContent = "Peak memory against extra forward steps, one point per strategy" +
      " (the shown one ringed); ◇ the binomial bound's count of extra steps where there is one.";
    figure.append(plot, caption);
    el.body.replaceChildren(stepsView(), summaryTable(answer), figure);
    el.body.hidden = false;
    drawTradeoff(plot, answer.summary, answer.strategy, strategyName);
  }

  // The steps, in runs of one kind: each run a titled group, each step a button.
  function stepsView() {
    const section = document.createElement("section");
    section.className = "checkpoint-replay";
    const h = document.createElement("h3");
    h.textContent = "The replay, step by step";
    section.append(h);
    if (!answer.steps) {
      const p = document.createElement("p");
      p.className = "hint";
      p.textContent = `Too long to play step by step (${answer.total_steps} steps); the table counts them.`;
      section.append(p);
      return section;
    }
    const list = document.createElement("ol");
    list.className = "checkpoint-groups";
    list.setAttribute("aria-label", "Steps of the replay, in runs of one kind");
    const shown = Math.min(answer.steps.kind.length, LIMIT);
    for (const group of groupSteps(answer.steps, answer.kinds)) {
      if (group.from >= shown) break;
      list.append(groupItem({ ...group, to: Math.min(group.to, shown) }));
    }
    list.addEventListener("keydown", (event) => moveFocus(list, event));
    section.append(list);
    if (shown < answer.total_steps) {
      const more = document.createElement("p");
      more.className = "hint";
      more.textContent = `Steps 1 to ${shown} of ${answer.total_steps} listed.`;
      section.append(more);
    }
    return section;
  }

  function groupItem(group) {
    const li = document.createElement("li");
    li.className = `checkpoint-group checkpoint-${group.kind}`;
    li.dataset.kind = group.kind;
    const names = [];
    for (let s = group.from; s < group.to; s++) names.push(nameOf(answer.steps.node[s]));
    const title = document.createElement("p");
    title.className = "checkpoint-group-title";
    title.textContent = groupTitle(group, names);
    const steps = document.createElement("ol");
    steps.className = "checkpoint-steps";
    steps.start = group.from + 1;
    steps.setAttribute("aria-label", title.textContent);
    for (let s = group.from; s < group.to; s++) steps.append(stepItem(s, group.kind));
    li.append(title, steps);
    return li;
  }

  function stepItem(s, kind) {
    const { node, values, bytes } = answer.steps;
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "checkpoint-step";
    b.dataset.kind = kind;
    b.dataset.node = nameOf(node[s]);
    b.dataset.step = String(s);
    b.setAttribute("aria-pressed", String(chosen === s));
    const icon = document.createElement("span");
    icon.className = "checkpoint-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = KIND[kind]?.icon ?? "·";
    const what = document.createElement("span");
    what.className = "checkpoint-what";
    what.textContent = `${KIND[kind]?.word ?? kind} ${nameOf(node[s])}`;
    const held = document.createElement("span");
    held.className = "checkpoint-held";
    held.textContent = `holds ${values[s]} value${values[s] === 1 ? "" : "s"}, ${formatBytes(bytes[s])}`;
    b.append(icon, what, held);
    b.addEventListener("click", () => choose(s));
    li.append(b);
    return li;
  }

  function choose(s) {
    chosen = chosen === s ? null : s;
    for (const b of el.body.querySelectorAll("button.checkpoint-step")) {
      b.setAttribute("aria-pressed", String(Number(b.dataset.step) === chosen));
    }
    callbacks.onSelect(chosen === null ? null : `n${answer.steps.node[chosen]}`);
  }

  const panel = {
    /** A new run: replay it if the panel is on. */
    show(result, values) {
      ready = result.tangent ? null : { result, values, key: JSON.stringify([result.source, values]) };
      answer = null;
      requests.cancel();
      load();
      return panel;
    },

    /** Set the choice (from a link) without loading: the run that follows loads. */
    set({ on = false, strategy = "sqrt", k = null, slots = null } = {}) {
      el.on.checked = on;
      for (const r of el.strategies) r.checked = r.value === strategy;
      if (k) el.k.value = String(k);
      if (slots !== null && slots !== undefined) el.slots.value = String(slots);
      return panel;
    },

    settings,
  };
  return panel;
}

function positive(text, least) {
  const n = Number.parseInt(text, 10);
  return Number.isFinite(n) && n >= least ? n : least;
}

// Every strategy: extra forward steps, peaks, the bound; the one shown marked in words.
function summaryTable(answer) {
  const { table, body } = headedTable(
    ["strategy", "extra forward steps", "peak values", "peak bytes", "bound"], "checkpoint-table");
  table.createCaption().textContent = `Every strategy on these ${answer.positions} forward steps`;
  for (const row of answer.summary) {
    const tr = document.createElement("tr");
    tr.dataset.strategy = row.strategy;
    const th = rowTitle(shortName(row) + (row.strategy === answer.strategy ? " ◀ shown" : ""));
    th.title = strategyName(row);
    if (row.strategy === answer.strategy) tr.setAttribute("aria-current", "true");
    tr.append(th);
    const cells = [row.recompute, row.peak_values ?? "not played",
      row.peak_bytes === null ? "not played" : formatBytes(row.peak_bytes), row.bound ?? "—"];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = String(text);
      tr.append(td);
    }
    body.append(tr);
  }
  return scrolling(table, "Every strategy's cost");
}

function moveFocus(list, event) {
  const buttons = [...list.querySelectorAll("button.checkpoint-step")];
  const at = buttons.indexOf(document.activeElement);
  if (at < 0) return;
  const next = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  buttons[Math.max(0, Math.min(buttons.length - 1, next))].focus();
}

const MARGIN = { top: 24, right: 20, bottom: 36, left: 58 };

/** The plot on `svgEl`: each played strategy of `summary` a labelled point at (extra forward
 * steps, peak bytes), `shown`'s ringed; a ◇ at each binomial bound given (extra steps). */
export function drawTradeoff(svgEl, summary, shown, name = strategyName) {
  const svg = d3.select(svgEl);
  svg.selectAll("*").remove();
  const width = Math.max(svgEl.getBoundingClientRect().width || 320, 260);
  const height = Math.round(Math.min(Math.max(width * 0.62, 200), 320));
  svg.attr("viewBox", `0 0 ${width} ${height}`).attr("height", height).attr("role", "img")
    .attr("aria-label", "Peak memory against extra forward steps: " + summary.map((r) =>
      `${name(r)}: ${r.recompute} extra, ${r.peak_bytes === null ? "not played" : formatBytes(r.peak_bytes)}`).join("; "));
  const points = summary.filter((r) => r.peak_bytes !== null);
  const xMax = d3.max([...points.map((r) => r.recompute), ...summary.map((r) => r.bound ?? 0)]) || 1;
  const x = d3.scaleLinear([0, xMax], [MARGIN.left, width - MARGIN.right]).nice();
  const y = d3.scaleLinear([0, d3.max(points, (r) => r.peak_bytes) || 1], [height - MARGIN.bottom, MARGIN.top]).nice();
  svg.append("g").attr("class", "axis").attr("transform", `translate(0,${height - MARGIN.bottom})`)
    .call(d3.axisBottom(x).ticks(Math.max(2, Math.floor((width - MARGIN.left) / 70))));
  svg.append("g").attr("class", "axis").attr("transform", `translate(${MARGIN.left},0)`)
    .call(d3.axisLeft(y).ticks(5).tickFormat((b) => formatBytes(b)));
  svg.append("text").attr("class", "axis-label").attr("x", width - MARGIN.right).attr("y", height - 4)
    .attr("text-anchor", "end").text("extra forward steps (recomputed)");
  svg.append("text").attr("class", "axis-label").attr("x", 4).attr("y", 4).attr("dy", "0.7em")
    .text("peak memory (bytes held)");
  for (const r of summary.filter((row) => row.bound !== null && row.peak_bytes !== null)) {
    svg.append("path").attr("class", "checkpoint-bound")
      .attr("d", d3.symbol(d3.symbolDiamond, 90)())
      .attr("transform", `translate(${x(r.bound)},${y(r.peak_bytes)})`)
      .append("title").text(`${name(r)}: the binomial bound, ${r.bound} extra steps`);
  }
  // Short labels, right of their point (left near the right edge), moved apart vertically
  // where points crowd, a thin line back to the point when moved.
  const placed = points.map((r) => ({ r, px: x(r.recompute), py: y(r.peak_bytes) }))
    .map((p) => ({ ...p, right: p.px < width * 0.62, ly: p.py - 6 }));
  for (const side of [true, false]) {
    const column = placed.filter((p) => p.right === side).sort((a, b) => a.ly - b.ly);
    column.forEach((p, i) => {
      if (i) p.ly = Math.max(p.ly, column[i - 1].ly + 15);
    });
    const over = column.length ? column[column.length - 1].ly - (height - MARGIN.bottom - 4) : 0;
    if (over > 0) for (const p of column) p.ly -= over;
  }
  for (const p of placed) {
    const shownHere = p.r.strategy === shown;
    const g = svg.append("g").attr("class", "checkpoint-point" + (shownHere ? " shown" : ""))
      .attr("data-strategy", p.r.strategy);
    const lx = p.px + (p.right ? 12 : -12);
    if (Math.abs(p.ly - (p.py - 6)) > 4) {
      g.append("line").attr("class", "checkpoint-leader").attr("x1", p.px).attr("y1", p.py)
        .attr("x2", lx - (p.right ? 2 : -2)).attr("y2", p.ly - 4);
    }
    if (shownHere) g.append("circle").attr("class", "checkpoint-ring").attr("r", 9).attr("cx", p.px).attr("cy", p.py);
    g.append("circle").attr("r", 4.5).attr("cx", p.px).attr("cy", p.py);
    g.append("text").attr("x", lx).attr("y", p.ly).attr("text-anchor", p.right ? "start" : "end")
      .text(shortName(p.r) + (shownHere ? " ◀" : ""));
  }
}
