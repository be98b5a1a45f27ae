// The graph panel: lays the answer out (layout.js) with its statements folded or not
// (statements.js), draws it (render.js) with the controls over it (Follow, Fit to screen, the
// overview), and dims a graph that no longer matches the source. Programs of more than
// FOLD_ABOVE nodes open folded, except the statement of the current step, which unfolds as the
// player reaches it; a click on a statement's fold button folds or unfolds it for good.

import { createElk } from "./elk.js";
import { formatShort } from "./format.js";
import { CHAR, LABEL_CHAR, PAD } from "./cards.js";
import { layoutGraph } from "./layout.js";
import { boxSummary, foldTree, hasLevels, runAt, shortName, stopsOf, treeOf } from "./levels.js";
import { createGraphView } from "./render.js";
import { foldGraph, foldable, statementsOf } from "./statements.js";
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
    .on("fold", (root) => toggle(root));
  el.fit.addEventListener("click", () => view.fit(300));
  el.follow.addEventListener("click", () => {
    const on = el.follow.getAttribute("aria-pressed") !== "true";
    el.follow.setAttribute("aria-pressed", String(on));
    view.setFollow(on);
  });

  let shown = null; // {result, cards, statements, folded, auto, user, timeline, index, big}
  const bar = levelsBar(el.graph.parentElement, (id) => toggle(id));
  let token = 0;

  // The layout of the graph with `folded` statements folded.
  async function lay(plan, folded) {
    if (plan.levels) return layLevels(plan, folded);
    const graph = foldGraph(plan.result, plan.statements, folded);
    const wrapWidth = Math.max(360, el.graph.getBoundingClientRect().width / READABLE_SCALE - 24);
    const sizeOf = (n) => plan.cards.get(n.id);
    // Big programs re-lay out as the player unfolds statements: the linear flow layout keeps
    // that well under a frame's budget, where ELK could take a long task.
    const laid = await layoutGraph(graph, elk, sizeOf, { wrapWidth, flow: plan.big });
    laid.hidden = graph.hidden;
    laid.edgeList = graph.edges;
    return laid;
  }

  // The layout by levels, with the groups in `open` open: ELK, frames nested, while the
  // graph shown is small; the flow layout (no frames) beyond.
  async function layLevels(plan, open) {
    const graph = foldTree(plan.result, plan.levels.tree, open);
    for (const box of graph.boxes) if (!plan.cards.has(box.id)) plan.cards.set(box.id, boxCard(plan, box.group));
    const wrapWidth = Math.max(360, el.graph.getBoundingClientRect().width / READABLE_SCALE - 24);
    const laid = await layoutGraph(graph, elk, (n) => plan.cards.get(n.id), { wrapWidth });
    laid.hidden = graph.hidden;
    laid.edgeList = graph.edges;
    laid.boxes = graph.boxes;
    laid.frameList = laid.frames?.size ? graph.frames : [];
    return laid;
  }

  // A closed group's card: its name and kind, then its size | the norm of its gradient.
  function boxCard(plan, k) {
    const { tree } = plan.levels;
    const g = tree.groups[k];
    // Node ids are `n<index>`: the answer's own list finds a node, no map of 66,000 beside it.
    const summary = boxSummary(tree, k, plan.result,
      (id) => plan.result.nodes[Number(id.slice(1))]?.grad ?? null);
    plan.levels.summaries.set(k, summary);
    const gradText = `‖∂L/∂${summary.of}‖ ${formatShort(summary.norm)}`;
    const title = shortName(tree, k);
    const width = Math.max((title.length + g.kind.length + 1) * LABEL_CHAR + FOLD_BUTTON,
      Math.max(summary.text.length, gradText.length) * CHAR) + 2 * PAD;
    return { id: `g${k}`, title, sub: g.kind, note: `${g.kind} ${g.name}: ${summary.text}`,
      isArray: false, shape: [], valueText: summary.text, gradText, heat: null, box: true,
      width: Math.ceil(width), height: 64, fold: { count: g.size, name: g.name } };
  }

  // Draw the plan's current layout, keeping the view where it is (or at its home); the step
  // is shown with `options` (pulses).
  function draw(plan, laid, home, options = { pulseMs: 0 }) {
    plan.laid = laid;
    view.draw(plan.result, laid, plan.cards, plan.timeline);
    if (home) view.home(plan.timeline.steps[plan.index]?.node ?? null);
    view.update(plan.levels ? laid.nodes.keys() : plan.result.nodes.map((n) => n.id), plan.index, options);
    if (plan.levels) {
      bar.show(plan.levels.tree, plan.folded, plan.result.nodes.length);
      plan.stops = laid.hidden.size ? stopsOf(plan.timeline, (id) => laid.hidden.get(id) ?? id) : null;
      callbacks.onStops?.(plan.stops);
      return;
    }
    const spans = (indexes) => indexes.map((i) => plan.statements.list[i].span);
    const open = plan.statements.list.map((t) => t.index).filter((i) => !plan.folded.has(i));
    const key = `${plan.folded.size}:${open.join(",")}`;
    if (key === plan.foldKey) return;
    plan.foldKey = key;
    callbacks.onFold?.({ folded: spans([...plan.folded]), open: spans(open) });
  }

  // The folded statements once the player stands at `index`: the statement of its step
  // unfolded (unless the user folded it), the one the player unfolded before folded again
  // (unless the user unfolded it). Null if nothing changes. Updates plan.auto.
  function foldsAt(plan, index) {
    if (!plan.big) return null;
    const node = plan.timeline.steps[index]?.node;
    const s = node === undefined ? undefined : plan.statements.of.get(node);
    const folded = new Set(plan.folded);
    let auto = plan.auto;
    if (auto !== null && auto !== s && !plan.user.has(auto)) folded.add(auto);
    if (auto !== s) auto = null;
    if (s !== undefined && folded.has(s) && !plan.userClosed.has(s)) {
      folded.delete(s);
      auto = s;
    }
    plan.auto = auto;
    return sameSet(folded, plan.folded) ? null : folded;
  }

  // Lay the plan out again with `folded`, then draw it (the newest request wins).
  async function relayout(plan, folded, options) {
    plan.folded = folded;
    const mine = ++token;
    const laid = await lay(plan, folded);
    if (mine !== token || shown !== plan) return;
    draw(plan, laid, false, options);
  }

  function toggle(root) {
    const plan = shown;
    if (plan?.levels) {
      const k = Number(root.slice(1)); // a box `g<k>` opens, a frame `f<k>` closes
      let open = new Set(plan.folded);
      if (root === "top") open = new Set();
      else if (root === "all") open = new Set(plan.levels.tree.groups.map((g) => g.index));
      else if (root.startsWith("g")) open.add(k);
      else for (const d of [k, ...descendants(plan.levels.tree, k)]) open.delete(d);
      relayout(plan, open, { pulseMs: 0 });
      return;
    }
    const s = plan?.statements.of.get(root);
    if (s === undefined) return;
    const folded = new Set(plan.folded);
    if (folded.has(s)) {
      folded.delete(s);
      plan.user.add(s);
      plan.userClosed.delete(s);
    } else {
      folded.add(s);
      plan.user.delete(s);
      plan.userClosed.add(s);
    }
    if (plan.auto === s) plan.auto = null;
    relayout(plan, folded, { pulseMs: 0 });
  }

  const panel = {
    /** Lay a new answer out with its cards (Map id -> cards.cardOf), the statement of
     * `currentNode` unfolded; resolves to the plan that show() draws. */
    async prepare(result, cards, currentNode = null) {
      bar.show(null);
      const tree = treeOf(result);
      if (hasLevels(tree)) {
        const all = new Set(tree.groups.map((g) => g.index));
        const plan = { result, cards, timeline: null, index: 0,
          levels: { tree, summaries: new Map() }, folded: result.nodes.length > FOLD_ABOVE ? new Set() : all };
        plan.laid = await lay(plan, plan.folded);
        return plan;
      }
      const statements = statementsOf(result);
      const canFold = new Set(foldable(statements));
      const roots = new Map(statements.list.filter((s) => canFold.has(s.index)).map((s) => [s.root, s]));
      const withButtons = new Map(cards);
      for (const [id, s] of roots) {
        withButtons.set(id, { ...cards.get(id), width: cards.get(id).width + FOLD_BUTTON,
          fold: { count: s.nodes.length, name: s.name ?? "the output" } });
      }
      const big = result.nodes.length > FOLD_ABOVE && statements.list.length > 1;
      const plan = { result, cards: withButtons, statements, big, rootsOf: roots,
        folded: big ? canFold : new Set(), auto: null, user: new Set(), userClosed: new Set(),
        timeline: null, index: 0 };
      const current = statements.of.get(currentNode);
      if (big && current !== undefined && plan.folded.has(current)) {
        plan.folded = new Set(canFold);
        plan.folded.delete(current);
        plan.auto = current;
      }
      plan.laid = await lay(plan, plan.folded);
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
      if (plan.levels) boxTimes(plan.levels.tree, timeline);
      draw(plan, plan.laid, true);
      return panel;
    },

    /** Show step `index`, redrawing the nodes in `ids` (timeline.changedNodes); unfolds the
     * statement the step is in if it was folded. */
    update(ids, index, options) {
      if (!shown) return panel;
      shown.index = index;
      if (shown.levels) {
        view.update(ids, index, options);
        return panel;
      }
      const folded = foldsAt(shown, index);
      if (folded) relayout(shown, folded, options);
      else view.update(ids, index, options);
      return panel;
    },

    /** What the player stands on at `index` when it is a closed group's run of steps:
     * {phase, name, kind, text, norm, of, steps: [first, last]}; else null. */
    levelAt(index) {
      const plan = shown;
      if (!plan?.levels || !plan.stops) return null;
      const step = plan.timeline.steps[index];
      const box = step && plan.laid.hidden.get(step.node);
      if (!box) return null;
      const k = Number(box.slice(1));
      const g = plan.levels.tree.groups[k];
      const summary = plan.levels.summaries.get(k);
      return { phase: step.phase, name: g.name, kind: g.kind, text: summary.text, norm: summary.norm,
        of: summary.of, steps: runAt(plan.stops, index) };
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
// none), and "Fold all" back to the top level. An element of the graph's own area.
function levelsBar(parent, onFold) {
  const bar = document.createElement("div");
  bar.className = "levels-bar";
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", "Open groups");
  bar.hidden = true;
  parent.append(bar);
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
  return {
    show(tree, open, nodeCount = 0) {
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

function sameSet(a, b) {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
