// What a node's card shows and how big it is, from data alone (no DOM measuring), so the
// layout can run before anything is drawn. A card reads like micrograd's: name or op, then
// `value | grad`.

import { formatShort, heatmapGrid } from "./format.js";
import { tangentsById } from "./timeline.js";

export const CHAR = 7.3; // px per character of the 12px monospace font
export const LABEL_CHAR = 8; // px per character of the 13px label font
export const CELL = 9; // px per heatmap cell
export const PAD = 10;
const LINE = 18;

/** The card of an API node: its texts, heatmap grids and size. */
export function cardOf(node) {
  const title = node.name ?? node.label;
  // A named operation shows its op's symbol beside the name (h  relu, z  ×); an input whose
  // literal a typed value overrode says so (y  overrides -2.0).
  const overridden = node.literal?.overridden ? node.literal : null;
  const sub = overridden ? `overrides ${overridden.text}`
    : node.name && node.op !== "input" ? node.symbol : node.op === "const" ? "const" : "";
  const note = overridden ? `${title} = ${formatShort(node.value)} from Values, overriding the ` +
    `literal ${overridden.text} of line ${overridden.line}` : "";
  const isArray = node.shape.length > 0;
  const valueText = formatShort(node.value);
  const gradText = node.grad === null ? "" : formatShort(node.grad);
  const half = Math.max(valueText.length, gradText.length, 1) * CHAR;
  let width = Math.max((title.length + sub.length + 1) * LABEL_CHAR, 2 * half + 3 * CHAR) + 2 * PAD;
  let height = 2 * LINE + PAD;
  let heat = null;
  if (isArray) {
    const value = heatmapGrid(node.value);
    const grad = node.grad === null ? null : heatmapGrid(node.grad);
    heat = { value, grad, width: value.cols * CELL, height: value.rows * CELL,
      range: { value: rangeOf(node.value), grad: node.grad === null ? "" : rangeOf(node.grad) } };
    width = Math.max(width, 2 * heat.width + 3 * PAD);
    height += heat.height + PAD / 2;
  }
  return { id: node.id, title, sub, note, isArray, shape: node.shape, valueText, gradText, heat,
    width: Math.ceil(width), height: Math.ceil(height) };
}

// An array's smallest and largest elements, "from −0.93 to 0.99", for the words of its card
// (none for a short vector the card writes out).
function rangeOf(value) {
  if (value.length <= 3 && !value.some(Array.isArray)) return ""; // written out on the card
  let low = Infinity;
  let high = -Infinity;
  for (const v of [value].flat(Infinity)) {
    if (typeof v !== "number" || !Number.isFinite(v)) continue;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return low > high ? "" : `from ${formatShort(low)} to ${formatShort(high)}`;
}

/** What a screen reader says for a card at a step: the card's label as drawn (name, op or
 * note, shape), then its numbers in words, "x = 1.5, gradient 2.5"; a number the player has
 * not reached yet says so. `state` is timeline.nodeStateAt's {value, grad}; `second` names the
 * second number ("gradient", or "tangent" in forward mode). The label comes first and whole,
 * so that a voice user can say what they see (WCAG 2.5.3, label in name). */
export function spokenCard(card, state, second = "gradient") {
  if (card.box) { // a closed group: "layer layers[1]: 16 neurons, ‖∂L/∂θ‖ 0.12, the size of..."
    const norm = state.grad ? `${card.gradText}, ${card.gradMeaning ?? "gradient norm"}` : "gradient not computed yet";
    return `${saidOnce(card.sub, card.title)}: ${card.valueText}, ${norm}`;
  }
  const label = saidOnce(card.title, card.sub, card.isArray ? card.shape.join("×") : "");
  const range = (text) => (text ? ` (${text})` : "");
  const value = state.value ? ` = ${card.valueText}${range(card.heat?.range.value)}` : ", value not computed yet";
  if (!card.gradText) return label + value;
  return `${label}${value}, ${second} ${state.grad ? card.gradText + range(card.heat?.range.grad) : "not computed yet"}`;
}

/** Words of a spoken name, each said once: a group named for its kind (the group "data" of
 * kind data) or a node named for its op (loss, of op loss) would read "data data". */
export function saidOnce(...parts) {
  const said = [];
  for (const part of parts.filter(Boolean)) {
    if (!said.some((s) => s.toLowerCase() === String(part).toLowerCase())) said.push(part);
  }
  return said.join(" ");
}

/** What a node is when zoomed far out: its op symbol (the op table's short symbol where the
 * answer carries one, else the op's name), an input's name, a constant's value. */
export function glyphOf(node) {
  if (node.op === "input") return node.name ?? node.label;
  if (node.op === "const") return node.label;
  return node.symbol ?? node.op;
}

/** The cards of an answer's nodes, by id. In forward mode a card's second number is the
 * node's tangent d node / d wrt instead of its gradient. */
export function cardsOf(result) {
  const tangents = result.tangent ? tangentsById(result) : null;
  const kinks = new Map(result.warnings.filter((w) => w.kind === "kink").map((w) => [w.node, w]));
  const wrong = wrongRuleNodes(result);
  const graded = gradeRows(result);
  const roles = standsForWords(result.nodes, result.compact?.columns?.nodes?.stands_for ?? {});
  return new Map(result.nodes.map((n) => [n.id, withGrade(withWrongRule(withKink(withStandsFor(
    cardOf(tangents ? { ...n, grad: tangents.get(n.id) ?? zerosLike(n.shape) } : n),
    roles.get(n.id)), kinks.get(n.id)), wrong.get(n.id), n), graded.get(n.id))]));
}

/** What each node of a backward graph built by `grad(L, x)` stands for (the answer's column
 * `stands_for`: node index -> a role and the forward node it is of), in a few words, by node
 * id: "seed dL/dL", "local ∂sin/∂x", "upstream × local → x", "fan-out sum → dL/dz", "dL/dx".
 * L is the output of the sweep the node belongs to: the last seed built before it. */
export function standsForWords(nodes, standsFor) {
  const words = new Map();
  let out = "L";
  for (const [i, node] of nodes.entries()) {
    const role = standsFor[String(i)];
    if (!role) continue;
    const of = nodes[role.of];
    const name = shortName(of);
    if (role.role === "seed") out = name;
    const operands = (of?.inputs ?? []).map((id) => nodes[Number(id.slice(1))]).filter((x) => x.op !== "const");
    const operand = operands.length === 1 ? wrapped(shortName(operands[0])) : "";
    const text = {
      seed: `seed d${name}/d${name}`,
      local: operand ? `local ∂${opName(of)}/∂${operand}` : `local of ${wrapped(name)}`,
      product: `upstream × local → ${name}`,
      sum: `fan-out sum → d${out}/d${name}`,
      gradient: `d${out}/d${name}`,
    }[role.role];
    if (text) words.set(node.id ?? `n${i}`, text);
  }
  return words;
}

// A forward node as a mark names it: its name, else its expression if short, else its symbol.
function shortName(node) {
  if (!node) return "?";
  if (node.name) return node.name;
  const expr = node.expr?.plain ?? "";
  return expr && expr.length <= 10 ? expr : node.symbol ?? node.label;
}

// A forward node in ∂f/∂x: its name, a function's name (sin), else its short expression.
function opName(node) {
  if (node.name) return node.name;
  if (/^[a-z_]+$/i.test(node.symbol ?? "")) return node.symbol;
  return wrapped(shortName(node));
}

const wrapped = (text) => (text.includes(" ") ? `(${text})` : text);

// A node of a backward graph says what it stands for on its card (a small text mark).
function withStandsFor(card, words) {
  if (!words) return card;
  return { ...withMark(card, { text: words, cls: "stands-for",
    note: `In the backward graph: ${words}` }), standsFor: words };
}

/** A grade's verdicts (chainrule.grade, ninja mode) as a card says them: an icon and a word. */
export const GRADE_MARKS = { exact: "✓ exact", approx: "≈ approx", wrong: "✗ wrong", shape: "⚠ shape",
  missing: "· missing", error: "✗ error" };

/** The rows of the answer's grade (`grade.rows`: the learner's gradient of each named tensor,
 * judged), by node id. */
export function gradeRows(result) {
  return new Map((result.grade?.rows ?? []).filter((r) => r.node).map((r) => [r.node, r]));
}

/** What a grade row says in words: its verdict against chainrule's gradient, then given the
 * learner's own upstream, the worst element and the hint. */
export function gradeWords(row) {
  const given = row.given_your_upstream;
  const at = (v) => (v.index?.length ? ` at [${v.index.join(", ")}]` : "");
  const numbers = (v) => (v.verdict === "wrong" && v.yours !== null && v.yours !== undefined
    ? `: yours ${formatShort(v.yours)}, expected ${formatShort(v.expected)}${at(v)}` : "");
  const parts = [`Your d${row.name}: ${GRADE_MARKS[row.verdict] ?? row.verdict}${numbers(row)}`];
  if (given && given.verdict !== row.verdict && row.verdict !== "error") { // an error is not graded
    parts.push(`given your own upstream ${GRADE_MARKS[given.verdict] ?? given.verdict}${numbers(given)}`);
  }
  if (row.hint) parts.push(row.hint);
  return parts.join("; ");
}

// A node the learner graded says the verdict of its gradient given the learner's own upstream
// (so one mistake marks one card: the rows after it are right from what they were given),
// an icon and a word, and the rest in its note.
function withGrade(card, row) {
  if (!row) return card;
  const given = row.given_your_upstream;
  const verdict = row.verdict === "error" ? "error" : given?.verdict ?? row.verdict;
  const ok = (v) => v === "exact" || v === "approx";
  // Right from what it was given, wrong against chainrule's: the mistake is further up.
  const from = ok(verdict) && !ok(row.verdict) && given.from?.length ? ` from your d${given.from[0]}` : "";
  const mark = `d${row.name} ${from ? "✓" : GRADE_MARKS[verdict] ?? verdict}${from}`;
  return { ...withMark(card, { text: mark, note: gradeWords(row), cls: `grade-${verdict}` }), grade: verdict };
}

/** A card inside a frame that names what its name starts with (`w[3]` inside the frame of
 * `layers[2].neurons[0]`): the shorter title, the card as wide as it then needs. */
export function withinFrame(card, frameName) {
  if (!card || card.box || !card.title.startsWith(`${frameName}.`)) return card;
  const title = card.title.slice(frameName.length + 1);
  const saved = (card.title.length - title.length) * LABEL_CHAR;
  const half = Math.max(card.valueText.length, card.gradText.length, 1) * CHAR;
  const least = Math.max((title.length + card.sub.length + 1) * LABEL_CHAR, 2 * half + 3 * CHAR) + 2 * PAD;
  return { ...card, title, note: card.note ? `${card.title}. ${card.note}` : card.title,
    width: Math.ceil(Math.max(least, card.width - saved)) };
}

/** Cells per row of a batch strip, and px per cell. */
const STRIP_COLS = 25;
const STRIP_CELL = 5;
const STRIP_TEXT = 16; // px for the strip's line of numbers

/** A card of one copy of a batch (micrograd's sample 3 of a neuron) carrying the whole batch:
 * `values` and `grads` the same node's numbers in every copy, `pick` the copy shown. Two
 * strips of cells (values | gradients), a row per STRIP_COLS copies, the picked cell and the
 * smallest and largest marked; the minimum and maximum written under them. */
export function withBatch(card, values, grads, pick, kind = "sample") {
  const grid = (numbers) => {
    const cols = Math.min(STRIP_COLS, numbers.length);
    const rows = Math.ceil(numbers.length / cols);
    const cells = numbers.map((v) => (typeof v === "number" ? v : NaN));
    let scale = 0;
    for (const v of cells) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    const finite = cells.map((v, k) => [v, k]).filter(([v]) => Number.isFinite(v));
    const low = finite.reduce((a, b) => (b[0] < a[0] ? b : a), finite[0] ?? [NaN, -1]);
    const high = finite.reduce((a, b) => (b[0] > a[0] ? b : a), finite[0] ?? [NaN, -1]);
    return { rows, cols, cells, scale, pick, min: low[1], max: high[1],
      text: `${formatShort(low[0], 3)} … ${formatShort(high[0], 3)}` };
  };
  const value = grid(values);
  const grad = grads.some((g) => g !== null) ? grid(grads) : null;
  const stripWidth = value.cols * STRIP_CELL;
  const textWidth = Math.max(value.text.length, grad?.text.length ?? 0) * CHAR * 0.92;
  const half = Math.max(stripWidth, textWidth);
  const height = value.rows * STRIP_CELL + STRIP_TEXT + PAD / 2;
  const n = values.length;
  const words = `Across the ${n} ${kind}s: values ${value.text}` + (grad ? `, gradients ${grad.text}` : "") +
    `; this is ${kind} ${pick + 1} of ${n}`;
  return { ...card, strip: { value, grad, cell: STRIP_CELL, half, top: card.height - PAD / 2, words },
    note: card.note ? `${card.note}. ${words}` : words,
    width: Math.ceil(Math.max(card.width, 2 * half + 3 * PAD)), height: Math.ceil(card.height + height) };
}

export const WRONG_RULE_MARK = "✗ your rule";

/** The nodes whose backward step applies a derivative rule of the program's own that the
 * gradient check found wrong there (its `rules[].wrong_nodes`), by id: {positions, message}. */
export function wrongRuleNodes(result) {
  const out = new Map();
  for (const rule of result.check?.rules ?? []) {
    for (const at of rule.wrong_nodes ?? []) {
      const entry = out.get(at.node) ?? { positions: [], message: "" };
      entry.positions.push(rule.position);
      entry.message = [entry.message, rule.message].filter(Boolean).join("; ");
      out.set(at.node, entry);
    }
  }
  return out;
}

// A node whose rule the check found wrong says so on its card (an icon and words, not colour
// alone), and names the operands whose edges carry the wrong local derivative.
function withWrongRule(card, wrong, node) {
  if (!wrong) return card;
  return { ...withMark(card, { text: WRONG_RULE_MARK, cls: "wrong-rule",
    note: `Your derivative rule is wrong here: ${wrong.message}` }),
  wrongRule: wrong.positions.map((pos) => node.inputs[pos]) };
}

/** A card with a mark: `text` (an icon and words, not colour alone) after its op, `note` added
 * to its description, and `cls` a class on its drawing (render.js), e.g. "wrong-rule". */
export function withMark(card, { text, note = "", cls }) {
  const sub = card.sub ? `${card.sub} · ${text}` : text;
  const width = Math.max(card.width, Math.ceil((card.title.length + sub.length + 1) * LABEL_CHAR + 2 * PAD));
  return { ...card, sub, width, note: [card.note, note].filter(Boolean).join(". "),
    marks: [...(card.marks ?? []), cls] };
}

// A node on a kink (relu(0), a tie of max) says so on its card: the derivative there is a
// convention, which the warning's message states with the one-sided derivatives.
function withKink(card, warning) {
  if (!warning) return card;
  return { ...withMark(card, { text: "kink", note: card.note ? "" : warning.message, cls: "kink" }),
    kink: warning.message };
}

function zerosLike(shape) {
  if (!shape.length) return 0;
  const [n, ...rest] = shape;
  return Array.from({ length: n }, () => zerosLike(rest));
}
