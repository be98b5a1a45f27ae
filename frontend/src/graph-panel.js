// The graph panel: lays the answer out (layout.js) folded by its tree of groups (levels.js),
// draws it (render.js) with the controls over it (Follow, Fit to screen, the overview), and
// dims a graph that no longer matches the source. A program of statements alone folds them
// as their root cards: over FOLD_ABOVE nodes it opens folded, except the statement of the
// current step, which unfolds as the player reaches it; a click on a statement's fold button
// folds or unfolds it for good. A tree with more levels (layers, neurons, calls, modules)
// folds each group into a box the player steps over at once.

import { createElk } from "./elk.js";
import { formatShort } from "./format.js";
import { CHAR, LABEL_CHAR, PAD, saidOnce, withBatch, withMark, withinFrame } from "./cards.js";
import { layoutGraph } from "./layout.js";
import { NORM_MEANING, boxSummary, foldTree, hasLevels, plural, rootOf, runAt, shortName, stopsOf, treeOf } from "./levels.js";
import { createGraphView } from "./render.js";
import { READABLE_SCALE } from "./viewport.js";

/** Beyond this many nodes, a graph unfolded whole says how it is drawn. */
const CANVAS_NOTE = 2000;
/** Programs with more nodes than this open with their statements folded. */
export const FOLD_ABOVE = 300;
const FOLD_BUTTON = 22; // px added to a statement's card for its fold button

/** The panel on its elements `el` ({graph, far, minimap, fit, follow}); callbacks:
 * onHover(id or null), onSelect(id or null), onFold({folded, open}: the [start, end) spans of
 * the folded and the unfolded statements; optional), onStops(stops: the steps the player
 * stands on at the level shown, levels.stopsOf, or null for every step; optional).
 * An answer with a tree of groups beyond its statements (layers, neurons, calls, modules) is
 * shown by levels (levels.js): over FOLD_ABOVE nodes it opens at its top level, each group
 * one box; a box's button opens it in place, in a frame whose button closes it again.
 * Options: `elk` (an ELK instance; default: elk.js's, loaded at the first layout). */
export function createGraphPanel(el, callbacks, { elk = createElk() } = {}) {
  const view = createGraphView(el.graph, { canvas: el.far, minimap: el.minimap });
  view.on("hover", callbacks.onHover).on("select", callbacks.onSelect)
    .on("view", ({ overview }) => { el.minimap.hidden = !overview; })
    .on("fold", (id) => toggle(id));
  el.fit.addEventListener("click", () => view.fit(300));
  el.follow.addEventListener("click", () => {
    const on = el.follow.getAttribute("aria-pressed") !== "true";
    el.follow.setAttribute("aria-pressed", String(on));
    view.setFollow(on);
  });

  // The plan shown: {result, tree, cards, open (the open groups), follow (statements alone:
  // closed ones are their root cards, opened as the player reaches them), big, auto (the
  // group the player opened), chosen (group -> open, as the user left it), statements
  // (follow: their spans), summaries, timeline, index, laid, stops}.
  let shown = null;
  // In the graph's bar (the overview's parent, stage-markup.js), not over the drawing.
  const bar = levelsBar(el.minimap.parentElement, (id) => toggle(id), (group, pick) => {
    if (!shown) return;
    shown.picks.set(group, pick);
    relayout(shown, shown.open, { pulseMs: 0 });
  });
  let token = 0;
  // Marks on cards from outside the answer (the naive replay's "✗ parts here"): id ->
  // {text, note, cls} (cards.withMark); cleared by a new answer.
  let marks = new Map();

  // The layout of the graph with the groups in `open` open: ELK, frames nested, while the
  // graph shown is small; the flow layout (no frames) beyond. Big programs of statements
  // always take the flow layout: they re-lay out as the player unfolds statements, and the
  // linear flow layout keeps that well under a frame's budget, where ELK could take a long task.
  async function lay(plan, open) {
    const graph = foldTree(plan.result, plan.tree, open, { roots: plan.follow, picks: plan.picks });
    for (const box of graph.boxes) {
      if (box.batch) plan.cards.set(box.id, restCard(plan, box));
      else if (!plan.cards.has(box.id)) plan.cards.set(box.id, boxCard(plan, box.group));
    }
    plan.batches = graph.batches ?? [];
    const cards = new Map(plan.cards);
    for (const [id, mark] of marks) if (cards.has(id)) cards.set(id, withMark(cards.get(id), mark));
    for (const batch of plan.batches) withStrips(plan.result, batch, cards);
    for (const f of graph.frames) {
      for (const id of f.members) if (id[0] === "n") cards.set(id, withinFrame(cards.get(id), f.name));
    }
    const wrapWidth = Math.max(360, el.graph.getBoundingClientRect().width / READABLE_SCALE - 24);
    const laid = await layoutGraph(graph, elk, (n) => cards.get(n.id),
      { wrapWidth, flow: plan.follow && plan.big });
    laid.cards = cards;
    laid.hidden = graph.hidden;
    laid.edgeList = graph.edges;
    laid.boxes = graph.boxes;
    laid.frameList = laid.frames?.size ? graph.frames : [];
    return laid;
  }

  // A closed group's card: its name and kind, then its size | the norm of its gradient.
  function boxCard(plan, k) {
    const { tree } = plan;
    const g = tree.groups[k];
    // Node ids are `n<index>`: the answer's own list finds a node, no map of 66,000 beside it.
    const summary = boxSummary(tree, k, plan.result,
      (id) => plan.result.nodes[Number(id.slice(1))]?.grad ?? null);
    plan.summaries.set(k, summary);
    const gradText = `‖∂L/∂${summary.of}‖ ${formatShort(summary.norm)}`;
    const title = shortName(tree, k);
    const width = Math.max((title.length + g.kind.length + 1) * LABEL_CHAR + FOLD_BUTTON,
      Math.max(summary.text.length, gradText.length) * CHAR) + 2 * PAD;
    return { id: `g${k}`, title, sub: g.kind,
      note: `${saidOnce(g.kind, g.name)}: ${summary.text}. ‖∂L/∂${summary.of}‖: ${NORM_MEANING[summary.of]}.`,
      isArray: false, shape: [], valueText: summary.text, gradText, gradMeaning: NORM_MEANING[summary.of],
      heat: null, box: true,
      width: Math.ceil(width), height: 64, fold: { count: g.size, name: g.name } };
  }

  // The box standing for the copies of a batch but the one picked: how many, and the norm of
  // the gradient leaving them.
  function restCard(plan, box) {
    const { tree, result } = plan;
    const batch = tree.batches.get(box.batch.parent);
    let sum = 0;
    for (const c of batch.copies) {
      if (c === batch.copies[plan.picks.get(box.batch.parent) ?? 0]) continue;
      sum += boxSummary(tree, c, result, (id) => result.nodes[Number(id.slice(1))]?.grad ?? null).norm ** 2;
    }
    const norm = Math.sqrt(sum);
    const each = tree.groups[batch.copies[0]].size;
    const text = `${each} ${plural("node", each)} each`;
    const gradText = `‖∂L/∂out‖ ${formatShort(norm)}`;
    plan.summaries.set(box.group, { text, norm, of: "out", params: 0 });
    const width = Math.max(box.label.length * LABEL_CHAR, text.length * CHAR, gradText.length * CHAR) + 2 * PAD;
    return { id: box.id, title: box.label, sub: "", isArray: false, shape: [], valueText: text, gradText,
      note: `${box.label}, each the same computation as the ${box.batch.kind} shown: ${text}. ` +
        `‖∂L/∂out‖: ${NORM_MEANING.out}. Pick another ${box.batch.kind} to step its own numbers.`,
      gradMeaning: NORM_MEANING.out, heat: null, box: true, width: Math.ceil(width), height: 64 };
  }

  // Draw the plan's current layout, keeping the view where it is (or at its home); the step
  // is shown with `options` (pulses). Statements tell the source which of them are folded;
  // levels show the open groups' bar and step over the closed boxes.
  function draw(plan, laid, home, options = { pulseMs: 0 }) {
    plan.laid = laid;
    view.draw(plan.result, laid, laid.cards ?? plan.cards, plan.timeline);
    if (home) view.home(plan.timeline.steps[plan.index]?.node ?? null);
    view.update(laid.nodes.keys(), plan.index, options);
    if (plan.follow) {
      const folded = plan.statements.filter((t) => t.group >= 0 && !plan.open.has(t.group));
      const open = plan.statements.filter((t) => t.group < 0 || plan.open.has(t.group));
      const key = `${folded.length}:${open.map((t) => t.root).join(",")}`;
      if (key === plan.foldKey) return;
      plan.foldKey = key;
      callbacks.onFold?.({ folded: folded.map((t) => t.span), open: open.map((t) => t.span) });
      return;
    }
    bar.show(plan.tree, plan.open, plan.result.nodes.length, plan.batches);
    plan.stops = laid.hidden.size ? stopsOf(plan.timeline, (id) => laid.hidden.get(id) ?? id) : null;
    callbacks.onStops?.(plan.stops);
  }

  // The open groups once the player stands on node `id` (a statement's own, big programs of
  // statements alone): its group opened (unless the user folded it), the one the player
  // opened before closed again (unless the user opened it). Null if nothing changes.
  // Updates plan.auto.
  function opensAt(plan, id) {
    if (!plan.follow || !plan.big) return null;
    const k = id ? plan.tree.of[Number(id.slice(1))] : -1;
    const open = new Set(plan.open);
    if (plan.auto !== null && plan.auto !== k && plan.chosen.get(plan.auto) !== true) open.delete(plan.auto);
    if (plan.auto !== k) plan.auto = null;
    if (k >= 0 && !open.has(k) && plan.chosen.get(k) !== false) {
      open.add(k);
      plan.auto = k;
    }
    return sameSet(open, plan.open) ? null : open;
  }

  // Lay the plan out again with `open`, then draw it (the newest request wins).
  async function relayout(plan, open, options) {
    plan.open = open;
    const mine = ++token;
    const laid = await lay(plan, open);
    if (mine !== token || shown !== plan) return;
    draw(plan, laid, false, options);
  }

  // A fold button: a box `g<k>` opens, a frame `f<k>` closes, a statement's root `n<i>`
  // folds or unfolds its statement for good; "top" folds every group, "all" opens them.
  function toggle(id) {
    const plan = shown;
    if (!plan) return;
    const { tree } = plan;
    let open = new Set(plan.open);
    if (id === "top") open = new Set();
    else if (id === "all") open = new Set(tree.groups.map((g) => g.index));
    else {
      let k = id[0] === "n" ? tree.of[Number(id.slice(1))] : Number(id.slice(1));
      if (!(k >= 0)) return;
      // The picked copy of a batch folds with its batch: the copies are one level.
      if (id[0] === "f" && plan.batches?.some((b) => b.copies[b.pick] === k)) k = tree.groups[k].parent;
      const opening = id[0] === "g" || id[0] === "n" && !open.has(k);
      if (opening) open.add(k);
      else for (const d of [k, ...descendants(tree, k)]) open.delete(d);
      plan.chosen.set(k, opening);
      if (plan.auto === k) plan.auto = null;
    }
    relayout(plan, open, { pulseMs: 0 });
  }

  const panel = {
    /** Lay a new answer out with its cards (Map id -> cards.cardOf), the statement of
     * `currentNode` unfolded; resolves to the plan that show() draws. */
    async prepare(result, cards, currentNode = null) {
      bar.show(null);
      marks = new Map();
      const tree = treeOf(result);
      const follow = !hasLevels(tree);
      const statements = follow ? statementsOf(result, tree) : null;
      const big = result.nodes.length > FOLD_ABOVE && (!follow || statements.length > 1);
      const drawn = follow ? withFoldButtons(cards, result, tree) : cards;
      const plan = { result, tree, follow, big, cards: drawn, statements, auto: null, chosen: new Map(), picks: new Map(),
        open: big ? new Set() : new Set(tree.groups.map((g) => g.index)), summaries: new Map(),
        timeline: null, index: 0 };
      plan.open = opensAt(plan, currentNode) ?? plan.open;
      plan.laid = await lay(plan, plan.open);
      return plan;
    },

    /** Draw a prepared answer with its timeline, at step `index`: all of it where readable,
     * else a readable part around that step. */
    show(plan, timeline, index) {
      token++;
      el.graph.classList.remove("stale");
      shown = plan;
      plan.timeline = timeline;
      plan.index = index;
      boxTimes(plan.tree, timeline);
      draw(plan, plan.laid, true);
      return panel;
    },

    /** Show step `index`, redrawing the nodes in `ids` (timeline.changedNodes); unfolds the
     * statement the step is in if it was folded. */
    update(ids, index, options) {
      if (!shown) return panel;
      shown.index = index;
      const open = opensAt(shown, shown.timeline.steps[index]?.node);
      if (open) relayout(shown, open, options);
      else view.update(ids, index, options);
      return panel;
    },

    /** What the player stands on at `index` when it is a closed group's run of steps:
     * {phase, name, kind, text, norm, of, steps: [first, last]}; else null. */
    levelAt(index) {
      const plan = shown;
      if (!plan?.stops) return null;
      const step = plan.timeline.steps[index];
      const box = step && plan.laid.hidden.get(step.node);
      if (!box) return null;
      const k = Number(box.slice(1));
      const rest = plan.batches.find((b) => b.rest === k);
      const g = plan.tree.groups[k];
      const summary = plan.summaries.get(k);
      const name = rest ? plan.laid.cards.get(box).title : g.name;
      return { phase: step.phase, name, kind: rest ? "" : g.kind, text: summary.text, norm: summary.norm,
        of: summary.of, steps: runAt(plan.stops, index), stop: stopIndex(plan.stops, index),
        stopCount: plan.stops.length, copy: rest ? plan.tree.groups[plan.tree.of[Number(step.node.slice(1))]].name : null };
    },

    /** Mark cards: `next` a Map id -> {text, note, cls} (cards.withMark: the words and icon
     * on the card, its description, a class on its drawing), replacing the marks before; an
     * empty Map removes them. The graph is laid out again (a mark widens its card). */
    mark(next) {
      const same = next.size === marks.size && [...next].every(([id, m]) => marks.get(id)?.text === m.text);
      marks = new Map(next);
      if (shown && !same) relayout(shown, shown.open, { pulseMs: 0 });
      return panel;
    },

    /** Mark the nodes whose forward value the tape holds now (a Set of ids; memory-line.js). */
    markKept(ids) {
      view.markKept(ids);
      return panel;
    },

    /** Mark the nodes in `ids` as selected. */
    select(ids) {
      view.select(ids);
      return panel;
    },

    /** Highlight a path of ids {nodes, edges} on the graph, or none (null). */
    highlightPath(path) {
      view.highlightPath(path);
      return panel;
    },

    /** Dim the graph: it is the last good run's, not the source's. */
    setStale(stale) {
      el.graph.classList.toggle("stale", stale);
      return panel;
    },

    /** The laid-out size of the graph (for exports), or null before the first run. */
    bounds() {
      return view.bounds();
    },
  };
  return panel;
}

// The open groups, outermost first, each with a button that folds it back into its box (the
// frames' own buttons do the same where ELK drew frames; the flow layout of a big level draws
// none), and "Fold all" back to the top level. An element of the graph's bar, beside the
// overview and Follow / Fit, so that no card is drawn under it.
function levelsBar(parent, onFold, onPick) {
  const bar = document.createElement("div");
  bar.className = "levels-bar";
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", "Open groups");
  bar.hidden = true;
  parent.prepend(bar); // first in the bar's markup: Tab meets it before Follow and Fit
  // A group's button is named by what it shows, the sign aside: "Fold layers[1]".
  const button = (text, title, id, { group = false } = {}) => {
    const b = document.createElement("button");
    b.type = "button";
    b.title = title;
    if (group) {
      const sign = document.createElement("span");
      sign.setAttribute("aria-hidden", "true");
      sign.textContent = "− ";
      const verb = document.createElement("span");
      verb.className = "visually-hidden";
      verb.textContent = "Fold ";
      b.append(sign, verb);
    }
    b.append(text);
    b.addEventListener("click", () => onFold(id));
    return b;
  };
  // A batch's picker: which copy's numbers the open group shows and steps.
  const picker = (tree, batch) => {
    const label = document.createElement("label");
    label.className = "batch-pick";
    const parent = tree.groups[batch.group];
    label.append(`${batch.kind} `);
    const input = document.createElement("input");
    input.type = "number";
    input.min = "0";
    input.max = String(batch.copies.length - 1);
    input.value = String(batch.pick);
    input.title = `Which of the ${batch.copies.length} ${plural(batch.kind, batch.copies.length)} to show and step (0 to ${batch.copies.length - 1})`;
    input.setAttribute("aria-label", `${batch.kind} of ${parent.name}, 0 to ${batch.copies.length - 1}`);
    input.addEventListener("change", () => {
      const n = Math.round(Number(input.value));
      if (Number.isFinite(n)) onPick(batch.group, Math.min(Math.max(n, 0), batch.copies.length - 1));
    });
    label.append(input, ` of ${batch.copies.length}`);
    return label;
  };
  return {
    show(tree, open, nodeCount = 0, batches = []) {
      const outer = tree ? [...open].sort((a, b) => a - b)
        .filter((k) => !open.has(tree.groups[k].parent)) : [];
      bar.hidden = !tree;
      if (!tree) return bar.replaceChildren();
      const shown = outer.slice(0, 4).map((k) => {
        const g = tree.groups[k];
        return button(g.name, `Fold ${g.kind} ${g.name} into one box`, `f${k}`, { group: true });
      });
      const more = outer.length > shown.length ? [document.createTextNode(`+${outer.length - shown.length} more`)] : [];
      const parts = [...shown, ...more];
      if (open.size) parts.push(button("Fold all", "Fold every group: back to the top level", "top"));
      if (open.size < tree.groups.length) {
        parts.push(button("Open all", `Every one of the ${nodeCount} nodes, each its own card`, "all"));
      } else if (nodeCount > CANVAS_NOTE) {
        parts.push(note(`All ${nodeCount.toLocaleString("en")} nodes: drawn as dots on a canvas when many are in view; zoom in to read them.`));
      }
      for (const batch of batches) parts.push(picker(tree, batch));
      bar.replaceChildren(...parts);
    },
  };
}

function note(text) {
  const span = document.createElement("span");
  span.className = "levels-note";
  span.textContent = text;
  return span;
}

// Every group under group k.
function descendants(tree, k) {
  const out = [];
  const stack = [...tree.groups[k].children];
  while (stack.length) {
    const c = stack.pop();
    out.push(c);
    stack.push(...tree.groups[c].children);
  }
  return out;
}

// The statements of a program without levels, in source order: {group (-1: a one-node
// statement, in no group, never folded), root (the id of the node it assigns), span (the
// root's)}.
function statementsOf(result, tree) {
  const groupOf = new Map(tree.groups.map((g) => [rootOf(tree, g.index), g.index]));
  const out = [];
  result.nodes.forEach((n, i) => {
    const group = groupOf.get(i) ?? -1;
    const alone = tree.of[i] < 0 && n.op !== "input" && (n.name || n.id === result.output.node);
    if (group >= 0 || alone) out.push({ group, root: n.id, span: n.span });
  });
  return out;
}

// The cards with a fold button on each statement's root: its name (or "the output") and size.
function withFoldButtons(cards, result, tree) {
  const out = new Map(cards);
  for (const g of tree.groups) {
    const root = result.nodes[rootOf(tree, g.index)];
    out.set(root.id, { ...cards.get(root.id), width: cards.get(root.id).width + FOLD_BUTTON,
      fold: { count: g.size, name: root.name ?? "the output" } });
  }
  return out;
}

// A box has its value once the forward pass has been through all of its nodes, and its
// gradient once the backward pass has: the steps of its last node of each, kept in the
// timeline's maps under the box's id (`g<k>`), which the renderer reads as a node's.
function boxTimes(tree, timeline) {
  if (timeline.valueAt.has("g0")) return;
  const value = new Array(tree.groups.length).fill(-1);
  const grad = new Array(tree.groups.length).fill(-1);
  tree.of.forEach((k0, i) => {
    const v = timeline.valueAt.get(`n${i}`) ?? -1;
    const d = timeline.gradAt.get(`n${i}`) ?? -1;
    for (let k = k0; k >= 0; k = tree.groups[k].parent) {
      if (v > value[k]) value[k] = v;
      if (d > grad[k]) grad[k] = d;
    }
  });
  tree.groups.forEach((g) => {
    timeline.valueAt.set(`g${g.index}`, value[g.index]);
    if (grad[g.index] >= 0) timeline.gradAt.set(`g${g.index}`, grad[g.index]);
  });
}

// The cards of a batch's picked copy, each carrying the same node's numbers in every copy
// (scalars: a copy's arrays are its own heatmaps).
function withStrips(result, batch, cards) {
  batch.nodes[batch.pick].forEach((i, place) => {
    const column = batch.nodes.map((list) => result.nodes[list[place]]);
    if (column.some((n) => n.shape.length)) return;
    const id = `n${i}`;
    cards.set(id, withBatch(cards.get(id), column.map((n) => n.value), column.map((n) => n.grad),
      batch.pick, batch.kind));
  });
}

// The position of the stop that ends the run holding step `index`.
function stopIndex(stops, index) {
  let lo = 0;
  let hi = stops.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (stops[mid] < index) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function sameSet(a, b) {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
