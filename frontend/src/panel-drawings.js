// The drawings of the panels beside the graph (their controllers: step-panel.js,
// results-panel.js): the chain-rule step (KaTeX), the gradients and the
// finite-difference check. Each function draws its own element from data.

import { checkSummary } from "./check-text.js";
import { NORM_MEANING } from "./levels.js";
import { headedTable, heading, math, para, rowTitle, scrolling, termElement } from "./dom.js";
import { formatNumber, formatShort, formatValue, heatmapGrid } from "./format.js";
import { renderPracticeStep } from "./practice-panel.js";
import { localPartial, texFactor, texPartial, texValue, texWrap as wrapTex } from "./tex.js";

export const SEED_SENTENCE = "This is just the chain rule, applied once per edge.";

const PHASE_TITLES = { forward: "Forward pass", backward: "Backward pass", tangent: "Forward mode" };

/** Fill the step panel for a frame of the timeline (timeline.frameAt). Options: `tangent`
 * (forward mode's {wrt, seed_note, derivative}), `practice` (the questions of a backward
 * step and their handlers, see practice-panel.js), `last` (the frame is the last one). */
export function renderStepPanel(el, frame, nodesById, total, options = {}) {
  el.replaceChildren();
  if (options.level) {
    renderLevel(el, options.level, total);
    return;
  }
  if (!frame.node) {
    el.append(para("Nothing computed yet. Step forward to evaluate the graph node by node, " +
      "then backward to apply the chain rule from the output to the inputs.", "hint"));
    return;
  }
  const node = nodesById.get(frame.node);
  el.append(heading(`${PHASE_TITLES[frame.phase]}, step ${frame.index + 1} of ${total}`));
  if (frame.phase === "forward") renderForward(el, frame.step, node, nodesById);
  else if (frame.phase === "tangent") renderTangent(el, frame.step, node, nodesById, options);
  else if (options.practice) renderPracticeStep(el, frame.step, node, nodesById, options.practice);
  else renderBackward(el, frame.step, node, nodesById);
}

// A closed group's whole run of steps (levels.js): what it holds, and once the backward
// pass has been through it, the norm of its gradient. Opening its box steps inside it.
function renderLevel(el, level, total) {
  const [first, last] = level.steps;
  el.append(heading(`${PHASE_TITLES[level.phase]}, steps ${first + 1}–${last + 1} of ${total}`));
  el.append(para(levelText(level), "level-summary"));
  if (level.phase === "backward") {
    const of = level.of === "θ" ? "\\theta" : "\\text{out}";
    el.append(math(`\\lVert \\partial L / \\partial ${of}_{\\text{${texName(level.name)}}} \\rVert = ${texValue(level.norm)}`, "grad"));
    el.append(para(normDefinition(level.of), "note norm-definition"));
  }
  el.append(para(`Open the ${level.kind} (its + button) to step through its nodes one by one.`, "hint"));
}

/** The sentence for a closed group's run of steps: "Backward through layers[1]: 16 neurons,
 * 2912 nodes. ‖∂L/∂θ‖ = 0.0123 over its 272 parameters." */
export function levelText(level) {
  const through = `${PHASE_TITLES[level.phase].replace(" pass", "")} through ${level.kind} ${level.name}: ${level.text}.`;
  if (level.phase !== "backward") return through;
  const norm = `‖∂L/∂${level.of}‖ = ${formatShort(level.norm)}`;
  return `${through} ${level.of === "θ" ? `${norm} over its parameters.` : `${norm} at its outputs.`}`;
}

/** What ‖∂L/∂θ‖ (of "θ") or ‖∂L/∂out‖ (of "out") means, in words. */
export function normDefinition(of) {
  return `‖∂L/∂${of}‖ is ${NORM_MEANING[of]}: the square root of the sum of their gradients' squares.`;
}

function texName(name) {
  return name.replace(/[\\{}$&#^_%~]/g, (c) => `\\${c}`);
}

// Forward mode: the node's value, then its tangent as the sum over its operands of
// local derivative × incoming tangent.
function renderTangent(el, step, node, nodesById, { tangent, last }) {
  const wrtNode = [...nodesById.values()].find((n) => n.op === "input" && n.name === tangent.wrt);
  const wrt = wrtNode ? wrtNode.expr.latex : tangent.wrt;
  const dot = (latex) => `\\frac{\\partial ${wrapTex(latex)}}{\\partial ${wrt}}`;
  el.append(math(`${node.expr.latex} = ${texValue(node.value)}`, "value"));
  if (!step.terms.length) {
    el.append(para(tangent.seed_note, "seed tangent-seed"));
    el.append(math(`${dot(node.expr.latex)} = ${texValue(step.tangent)}`, "tangent"));
    return;
  }
  el.append(para("tangent = Σ local derivative × incoming tangent", "legend-line"));
  const sum = step.terms.map((t) => `${localPartial(node, nodesById.get(t.input))}\\,` +
    `${dot(nodesById.get(t.input).expr.latex)}`);
  if (sum.length > 1) el.append(math(`${dot(node.expr.latex)} = ${sum.join(" + ")}`, "tangent"));
  for (const term of step.terms) {
    const input = nodesById.get(term.input);
    const block = termElement(term);
    block.append(math(term.latex, "formula"));
    const local = localOf(term);
    block.append(math(`${localPartial(node, input)} \\cdot ${dot(input.expr.latex)} = ` +
      `${local === null ? "\\cdots" : texFactor(local)} \\times ` +
      `${texFactor(term.tangent_in)} = ${texValue(term.contribution)}`, "tangent"));
    el.append(block);
  }
  if (step.terms.length > 1) {
    el.append(math(`${dot(node.expr.latex)} = ${step.terms.map((t) => texFactor(t.contribution))
      .join(" + ")} = ${texValue(step.tangent)}`, "tangent sum"));
  }
  if (last) {
    const done = para(`d output / d ${tangent.wrt} = ${formatValue(tangent.derivative)}: one forward ` +
      `pass gave the derivative for ${tangent.wrt} alone; the other inputs need a pass each.`,
    "derivative");
    done.dataset.value = JSON.stringify(tangent.derivative);
    el.append(done);
  }
}

// The local derivative as a number: the contribution over the incoming tangent (scalars).
function localOf(term) {
  const { contribution: c, tangent_in: t } = term;
  return typeof c === "number" && typeof t === "number" && t !== 0 ? c / t : null;
}

function renderForward(el, step, node, nodesById) {
  const value = texValue(step.value);
  if (!step.inputs.length) {
    el.append(math(`${node.expr.latex} = ${value}`, "value"));
    el.append(node.op === "input" ? inputOrigin(node) : para("A constant."));
    return;
  }
  const args = step.inputs.map((id) => nodesById.get(id).expr.latex).join(",\\ ");
  const named = node.name ? `${node.name} = ` : "";
  el.append(math(`${named}\\operatorname{${node.op}}\\left(${args}\\right) = ${value}`, "value"));
  const inputs = step.inputs.map((id) => nodesById.get(id)).filter((n) => n.op !== "const")
    .map((n) => `${n.name ?? n.expr.plain} = ${formatValue(n.value)}`);
  if (inputs.length) el.append(para(`from ${inputs.join(", ")}`, "value"));
}

// Where an input's value comes from: Values, or the source's literal, or Values over it.
function inputOrigin(node) {
  const literal = node.literal;
  if (!literal) return para("An input: its value is given in Values.");
  if (!literal.overridden) return para(`An input: line ${literal.line} of the source assigns it.`);
  return para(`An input: its value comes from Values, overriding the literal ${literal.text} ` +
    `of line ${literal.line} of the source.`, "override");
}

function renderBackward(el, step, node, nodesById) {
  const upstream = texPartial(node.expr.latex);
  if (step.seed) {
    el.append(para(SEED_SENTENCE, "seed"));
    el.append(math(node.shape.length
      ? `\\bar{s} = ${texValue(step.upstream)} \\qquad L = \\textstyle\\sum \\bar{s} \\odot ${wrapTex(node.expr.latex)}`
      : `\\frac{\\partial L}{\\partial L} = 1 \\qquad L = ${node.expr.latex}`, "grad"));
    if (node.shape.length) {
      el.append(para("The output is an array: the backward pass starts from this cotangent " +
        "seed (ones unless the request gives one), and each input's gradient is seedᵀ J.", "note"));
    }
  } else {
    el.append(math(`${upstream} = ${texValue(step.upstream)}`, "grad"));
  }
  if (!step.terms.length) {
    el.append(para(node.op === "input"
      ? `${node.name} is an input: every contribution has arrived, so this is its gradient.`
      : "No operands to pass the gradient on to."));
    return;
  }
  el.append(para("upstream gradient × local derivative = contribution", "legend-line"));
  for (const term of step.terms) el.append(termBlock(term, node, upstream, step.upstream, nodesById));
}

function termBlock(term, node, upstream, upstreamValue, nodesById) {
  const input = nodesById.get(term.input);
  const block = termElement(term);
  block.append(math(term.latex, "formula"));
  const local = localPartial(node, input);
  block.append(math(`${upstream} \\cdot ${local} = ${texFactor(upstreamValue)} \\times ` +
    `${texFactor(term.local)} = ${texValue(term.contribution)}`, "chain"));
  if (term.wrong_rule) block.append(...wrongRuleLines(term.wrong_rule, local));
  if (term.broadcast) block.append(para(term.broadcast.note, "note"));
  if (term.accumulated) {
    block.append(para(`${input.name ?? input.expr.plain} fans out: contribution ` +
      `${term.contribution_index} of ${term.consumers}, so the running sum grows:`, "note"));
    block.append(math(`${texPartial(input.expr.latex)}: \\quad ${texValue(term.before)} + ` +
      `${texFactor(term.contribution)} = ${texValue(term.after)}`, "sum"));
  }
  return block;
}

// A term that applies a rule the check found wrong: a marked line in words, and the local
// derivative as the learner's rule gives it against central differences.
function wrongRuleLines(wrong, local) {
  const where = wrong.index.length ? ` at element [${wrong.index.join(", ")}]` : "";
  const line = para(`✗ Your rule is wrong here${where}: your d ${wrong.primitive}/d${wrong.argument} ` +
    `gives ${formatShort(wrong.rule)}; finite differences give ${formatShort(wrong.numeric)}.`, "wrong-rule");
  return [line, math(`\\begin{aligned} ${local}\\Big|_{\\text{your rule}} &= ${texFactor(wrong.rule)} \\\\ ` +
    `${local}\\Big|_{\\text{finite differences}} &= ${texFactor(wrong.numeric)} \\end{aligned}`, "wrong-rule-formula")];
}

/** Fill the gradients table: one row per input, with the API's exact value in data-value. */
export function renderGradients(table, result) {
  const body = table.tBodies[0] ?? table.createTBody();
  body.replaceChildren();
  const inputs = new Map(result.nodes.filter((n) => n.op === "input").map((n) => [n.name, n]));
  for (const [name, grad] of Object.entries(result.gradients)) {
    const row = body.insertRow();
    row.dataset.input = name;
    row.dataset.value = JSON.stringify(grad);
    if (inputs.has(name)) row.dataset.node = inputs.get(name).id;
    row.append(rowTitle(name));
    const valueCell = row.insertCell();
    valueCell.className = "value";
    fillValueCell(valueCell, inputs.get(name)?.value, "heat-value");
    const gradCell = row.insertCell();
    gradCell.className = "grad";
    fillValueCell(gradCell, grad, "heat-grad");
  }
}

/** Mark the rows whose input's backward step has not been reached yet. */
export function markPendingGradients(table, isDone) {
  for (const row of table.tBodies[0]?.rows ?? []) {
    row.classList.toggle("pending", !isDone(row.dataset.node));
  }
}

function fillValueCell(cell, value, heatClass) {
  cell.replaceChildren();
  if (value === undefined) return;
  const text = document.createElement("span");
  text.className = "num";
  text.textContent = Array.isArray(value) ? formatValue(value) : formatNumber(value, 6);
  cell.append(text);
  const grid = heatmapGrid(value);
  if (grid) cell.append(heatSvg(grid, heatClass));
  cell.title = Array.isArray(value) ? JSON.stringify(value).slice(0, 500) : String(value);
}

/** A small standalone SVG heatmap (used in the tables). */
export function heatSvg(grid, cls, cell = 10) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", `heat ${cls}`);
  svg.setAttribute("width", grid.cols * cell);
  svg.setAttribute("height", grid.rows * cell);
  svg.setAttribute("aria-hidden", "true");
  grid.cells.forEach((v, k) => {
    const r = document.createElementNS(ns, "rect");
    const magnitude = Number.isFinite(v) ? (grid.scale ? Math.abs(v) / grid.scale : 0) : 1;
    r.setAttribute("class", Number.isNaN(v) ? "cell nan" : v < 0 ? "cell neg" : "cell pos");
    r.setAttribute("x", (k % grid.cols) * cell);
    r.setAttribute("y", Math.floor(k / grid.cols) * cell);
    r.setAttribute("width", cell - 1);
    r.setAttribute("height", cell - 1);
    r.setAttribute("fill-opacity", (0.12 + 0.88 * magnitude).toFixed(3));
    svg.append(r);
  });
  return svg;
}

const MAX_CHECK_ROWS = 200;

/** Fill the gradient-check panel: which check ran, over what and why; the verdict on each
 * derivative rule of the program's own (`onRule(rule)` as one is pointed at or focused,
 * `onRule(null)` as it is left); for the check by directions a row per input tensor and one per
 * direction; a row per element checked one by one; and what it cost. */
export function renderCheck(el, check, onRule = () => {}) {
  el.querySelector(".check-body")?.remove();
  const body = document.createElement("div");
  body.className = "check-body";
  el.append(body);
  if (!check) {
    body.append(para("The check was not run."));
    return;
  }
  const summary = checkSummary(check);
  const verdict = para(check.ok ? "✓ Backprop agrees with finite differences."
    : "✗ Backprop and finite differences disagree somewhere.", check.ok ? "ok" : "bad");
  verdict.classList.add("verdict");
  body.append(verdict);
  const what = document.createElement("p");
  what.className = "check-kind";
  what.dataset.kind = check.kind ?? "elements";
  const title = document.createElement("strong");
  title.textContent = `${summary.title}: `;
  what.append(title, summary.over);
  body.append(what);
  if (summary.why) body.append(para(summary.why, "check-why hint"));
  if (check.rules?.length) body.append(ruleList(check.rules, onRule));
  if (check.kind === "directions") {
    body.append(scrolling(checkTable("Input tensors covered",
      ["tensor", "shape", "directions", "one by one", "ok"], check.inputs ?? [], (row, input) => {
        row.dataset.input = input.input ?? input.node;
        cellText(row, input.input ?? input.node, "name");
        cellText(row, `[${input.shape.join("×")}]`, "shape");
        cellText(row, String(input.directions), "count");
        cellText(row, input.elements_checked ? String(input.elements_checked) : "–", "count");
        return input.ok;
      }), "Input tensors the check covered"));
    body.append(scrolling(checkTable(`${check.method}; ok when ${check.tolerance}`,
      ["tensor, v", "∇f · v", "central diff.", "rel. error", "ok"], check.directions ?? [],
      (row, d) => {
        row.dataset.input = d.input ?? d.node;
        cellText(row, `${d.input ?? d.node}, v${d.direction + 1}`, "name");
        cellText(row, formatNumber(d.backprop, 7), "grad");
        cellText(row, formatNumber(d.numeric, 7), "numeric");
        cellText(row, formatNumber(d.rel_error, 2), "rel");
        return d.ok;
      }), "Gradient check by directions"));
  }
  if (check.kind !== "directions" || check.entries.length) {
    const caption = check.kind === "directions"
      ? "The tensors that disagreed, element by element" : `${check.method}; ok when ${check.tolerance}`;
    body.append(scrolling(checkTable(caption, ["element", "backprop", "central diff.", "rel. error", "ok"],
      check.entries.slice(0, MAX_CHECK_ROWS), (row, entry) => {
        row.dataset.input = entry.input ?? entry.node;
        const index = entry.index.length ? `[${entry.index.join(",")}]` : "";
        cellText(row, `${entry.input ?? entry.node}${index}`, "name");
        cellText(row, formatNumber(entry.backprop, 7), "grad");
        cellText(row, formatNumber(entry.numeric, 7), "numeric");
        cellText(row, formatNumber(entry.rel_error, 2), "rel");
        return entry.ok;
      }), "Gradient check table"));
  }
  if (check.entries.length > MAX_CHECK_ROWS) {
    body.append(para(`… and ${check.entries.length - MAX_CHECK_ROWS} more elements (all in Export JSON).`, "hint"));
  }
  body.append(para(summary.cost, "cost"));
}

/** A check table: a caption, column titles, and a row per item drawn by `fill(row, item)`,
 * which returns whether the item agrees (the row's last cell says it). */
function checkTable(caption, titles, items, fill) {
  const { table, body: tbody } = headedTable(titles, "check-table");
  table.createCaption().textContent = caption;
  for (const item of items) {
    const row = tbody.insertRow();
    const ok = fill(row, item);
    row.classList.toggle("bad", !ok);
    cellText(row, ok ? "✓" : "✗", ok ? "ok" : "bad");
  }
  return table;
}

/** The verdicts on the program's own derivative rules, each a focusable item that points at
 * its rule and its node. */
function ruleList(rules, onRule) {
  const list = document.createElement("ul");
  list.className = "rule-checks";
  list.setAttribute("aria-label", "Your own derivative rules against finite differences");
  for (const rule of rules) {
    const item = document.createElement("li");
    item.className = rule.ok ? "ok" : "bad";
    item.tabIndex = 0;
    item.dataset.node = rule.node;
    item.textContent = `${rule.ok ? "✓" : "✗"} ${rule.message}`;
    item.title = "Shows the rule's line and the node in the source";
    for (const type of ["mouseenter", "focus"]) item.addEventListener(type, () => onRule(rule));
    for (const type of ["mouseleave", "blur"]) item.addEventListener(type, () => onRule(null));
    list.append(item);
  }
  return list;
}

/** Fill the "Cost of each method" table from a costTable (cost.js); the verdict below it. */
export function renderCost(table, verdictEl, cost, mode) {
  const body = table.tBodies[0];
  body.replaceChildren();
  verdictEl.textContent = cost ? cost.sentence : "";
  if (!cost) return;
  for (const row of cost.rows) {
    const tr = body.insertRow();
    tr.dataset.method = row.method;
    tr.classList.toggle("current", row.method === mode);
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = row.name;
    tr.append(th);
    cellText(tr, row.formula, "formula");
    const here = row.method === "reverse" ? `1 + ${row.passes}`
      : `${row.passes} ${row.method === "finite_differences" ? "evaluations" : "passes"}`;
    cellText(tr, here, "passes");
    tr.title = row.note;
  }
}

function cellText(row, text, cls) {
  const cell = row.insertCell();
  cell.textContent = text;
  cell.className = cls;
}
