// The graph renderer (d3 + a canvas): draws a laid-out graph, then on each step updates only
// what changed. Up to WHOLE_SVG nodes every card is an SVG element; beyond, only the cards in
// view are (created and dropped as the view moves), and when many nodes are in view or the
// zoom is far out they are drawn on a canvas as op symbols and colours (far-layer.js).
// Zoom and pan (d3-zoom), "fit to screen", following the current step, and the overview.

import * as d3 from "d3";
import { CELL, PAD, glyphOf, spokenCard } from "./cards.js";
import { formatShort } from "./format.js";
import { clearFar, drawFar } from "./far-layer.js";
import { createMinimap } from "./minimap.js";
import { frameAt, involvedAt, nodeStateAt } from "./timeline.js";
import {
  FAR_SCALE, fitScale, followTransform, homeTransform, intersects, visibleRect,
} from "./viewport.js";

const LINE_1 = 17;
const LINE_2 = 36;
/** Graphs up to this many nodes have every card in the SVG. */
export const WHOLE_SVG = 300;
/** More nodes than this in view: the canvas draws them. */
const MAX_SVG_CARDS = 500;
const VIEW_MARGIN = 160; // screen px around the view where cards are drawn ahead of a pan
const MOVE_MS = 320;

/** A graph view on an <svg>, with `canvas` (far-out drawing) and `minimap` canvases beside
 * it; emits "hover" (id or null), "select" (id or null), "fold" (the id of the card or frame
 * whose fold button was pressed: a statement's root, a box, a frame) and "view" ({overview}:
 * whether the overview is worth showing). `laid` may stand folded groups for their roots or
 * boxes: laid.hidden maps a hidden node to the id drawn for it, laid.edgeList gives the edges
 * drawn, laid.refs the far edges' stubs. */
export function createGraphView(svgElement, { canvas, minimap: minimapCanvas }) {
  const svg = d3.select(svgElement);
  const events = d3.dispatch("hover", "select", "view", "fold");
  svg.selectAll("*").remove();
  svg.append("defs").html(`
    <marker id="arrow" viewBox="0 0 8 8" refX="7.5" refY="4" markerWidth="7" markerHeight="7"
      markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" class="arrowhead"/></marker>`);
  const viewport = svg.append("g").attr("class", "viewport");
  const frameLayer = viewport.append("g").attr("class", "frames");
  const edgeLayer = viewport.append("g").attr("class", "edges");
  const nodeLayer = viewport.append("g").attr("class", "nodes");
  const pulseLayer = viewport.append("g").attr("class", "pulses");
  exposeLayers(edgeLayer, nodeLayer, pulseLayer);
  const zoom = d3.zoom().scaleExtent([0.0001, 4]).on("zoom", (event) => {
    viewport.attr("transform", event.transform);
    schedule();
  });
  svg.call(zoom).on("dblclick.zoom", null);
  svg.on("click", (event) => { if (event.target === svgElement) events.call("select", null, null); });
  const minimap = createMinimap(minimapCanvas, { onPan: (x, y) => {
    svg.interrupt().call(zoom.translateTo, x, y);
  } });

  let graph = null;
  let following = true;
  let selected = new Set();
  let onPath = { nodes: new Set(), edges: new Set() }; // a path highlighted (the Paths panel)
  let shown = { current: null, edges: [] };
  let scheduled = 0;

  const view = {
    /** Draw a whole graph: nodes at their laid-out places, nothing computed yet. */
    draw(result, laid, cards, timeline) {
      clearLayers();
      palette = new Map();
      const edges = (laid.edgeList ?? result.edges).filter((e) => laid.edges.has(e.id)).map((e) => {
        const points = laid.edges.get(e.id);
        const ref = laid.refs?.get(e.id);
        return { ...e, points, bbox: bboxOf(ref ? [...points, [ref[0] - 40, ref[1] - 12]] : points), ref };
      });
      // Keyed by the edge's own target, which a folded statement may hide behind its root.
      const edgeByKey = new Map(edges.map((e) => [`${e.to ?? e.target}:${e.position}`, e]));
      const incoming = new Map();
      for (const e of edges) {
        const target = e.to ?? e.target;
        if (!incoming.has(target)) incoming.set(target, []);
        incoming.get(target).push(e);
      }
      graph = {
        result, laid, cards, timeline, edges, edgeByKey, incoming, index: 0, frame: frameAt(timeline, 0),
        nodes: (laid.boxes?.length ? [...result.nodes, ...laid.boxes] : result.nodes).filter((n) => laid.nodes.has(n.id)),
        byId: new Map(result.nodes.map((n) => [n.id, n])),
        whole: false, focusable: laid.nodes.size <= 300,
        line: d3.line().curve(laid.curve === "bump" ? d3.curveBumpX : d3.curveLinear),
        nodeEls: new Map(), edgeEls: new Map(), far: false,
        hidden: laid.hidden ?? new Map(), foldedRoots: new Set((laid.hidden ?? new Map()).values()),
      };
      for (const box of laid.boxes ?? []) graph.byId.set(box.id, box);
      graph.whole = graph.nodes.length <= WHOLE_SVG;
      drawFrames(laid);
      shown = { current: null, edges: [] };
      selected = new Set();
      onPath = { nodes: new Set(), edges: new Set() };
      svgElement.classList.remove("has-path");
      svgElement.dataset.nodes = String(graph.nodes.length);
      if (graph.whole) {
        for (const e of edges) edgeEl(e);
        for (const n of graph.nodes) nodeEl(n);
      }
      minimap.setGraph({ boxes: laid.nodes.values(), width: laid.width, height: laid.height },
        cssVar("--border"));
      return view;
    },

    /** Show the graph at step `index`, touching only the nodes in `ids` that are drawn. */
    update(ids, index, { pulseMs = 600 } = {}) {
      if (!graph) return view;
      graph.index = index;
      graph.frame = frameAt(graph.timeline, index);
      // A box stands for thousands of the steps' nodes: each card drawn is redrawn once.
      const shownIds = new Set();
      for (const id of ids) shownIds.add(shownAs(id));
      for (const id of shownIds) {
        const el = graph.nodeEls.get(id);
        if (el) applyState(el, id);
      }
      showCurrent(graph.frame, reducedMotion() ? 0 : pulseMs);
      schedule();
      return view;
    },

    /** Mark the nodes whose forward value the tape holds at this step (a Set of ids): a class
     * and the word "kept" over the card; a card drawn later takes the mark as it is drawn. */
    markKept(ids) {
      if (!graph) return view;
      const before = graph.kept ?? new Set();
      graph.kept = ids;
      for (const id of before) if (!ids.has(id)) graph.nodeEls.get(id)?.classList.remove("kept");
      for (const id of ids) if (!before.has(id)) graph.nodeEls.get(id)?.classList.add("kept");
      return view;
    },

    /** Mark the nodes in `ids` as selected (and only those). */
    select(ids) {
      if (!graph) return view;
      for (const id of selected) graph.nodeEls.get(id)?.classList.remove("selected");
      selected = new Set(ids);
      for (const id of selected) {
        const n = graph.byId.get(id);
        const el = n && graph.laid.nodes.has(id) ? nodeEl(n) : null;
        el?.classList.add("selected");
      }
      return view;
    },

    /** Highlight one path ({nodes, edges}: ids from an input to the output), dimming the
     * rest of the graph; null clears it. */
    highlightPath(path) {
      if (!graph) return view;
      for (const id of onPath.nodes) graph.nodeEls.get(id)?.classList.remove("on-path");
      for (const id of onPath.edges) graph.edgeEls.get(id)?.classList.remove("on-path");
      onPath = { nodes: new Set(path?.nodes ?? []), edges: new Set(path?.edges ?? []) };
      svgElement.classList.toggle("has-path", Boolean(path));
      for (const id of onPath.nodes) {
        const n = graph.byId.get(id);
        if (n && graph.laid.nodes.has(id)) nodeEl(n).classList.add("on-path");
      }
      for (const e of graph.edges) if (onPath.edges.has(e.id)) edgeEl(e).classList.add("on-path");
      schedule();
      return view;
    },

    /** Zoom and pan so the whole graph fits the view. */
    fit(duration = 0) {
      if (!graph) return view;
      const { width, height } = size();
      const { width: gw, height: gh } = graph.laid;
      const k = fitScale(width, height, gw, gh);
      return moveTo({ x: (width - gw * k) / 2, y: (height - gh * k) / 2, k }, duration);
    },

    /** The first view of a graph: all of it where that is readable, else a readable scale
     * around node `focus` (or the graph's start), with the overview to find the rest. */
    home(focus = null) {
      if (!graph) return view;
      const { width, height } = size();
      const box = focus ? graph.laid.nodes.get(shownAs(focus)) : null;
      return moveTo(homeTransform(width, height, graph.laid.width, graph.laid.height, box ?? null), 0);
    },

    /** Whether the view follows the current step (on by default). */
    setFollow(on) {
      following = on;
      if (on && graph?.frame.node) follow(graph.frame.node, graph.frame.phase, MOVE_MS);
      return view;
    },

    /** Forget the graph. */
    clear() {
      clearLayers();
      graph = null;
      return view;
    },

    /** The laid-out size of the graph, for exports. */
    bounds() {
      return graph ? { width: graph.laid.width, height: graph.laid.height } : null;
    },

    on(type, listener) {
      events.on(type, listener);
      return view;
    },
  };

  function clearLayers() {
    svg.interrupt();
    frameLayer.selectAll("*").remove();
    edgeLayer.selectAll("*").remove();
    nodeLayer.selectAll("*").remove();
    pulseLayer.selectAll("*").remove();
    clearFar(canvas);
    if (graph) { graph.nodeEls.clear(); graph.edgeEls.clear(); }
  }

  // The view's size, kept by a ResizeObserver: reading it never forces a layout.
  let viewSize = null;
  new ResizeObserver(([entry]) => {
    viewSize = { width: entry.contentRect.width, height: entry.contentRect.height };
    // A view made smaller (a panel opened above it) keeps the current step in it.
    if (following && graph?.frame.node) follow(graph.frame.node, graph.frame.phase, 0);
    schedule();
  }).observe(svgElement);
  function size() {
    if (!viewSize) {
      const { width, height } = svgElement.getBoundingClientRect();
      viewSize = { width, height };
    }
    return viewSize;
  }

  function moveTo({ x, y, k }, duration) {
    const t = d3.zoomIdentity.translate(x, y).scale(k);
    svg.interrupt();
    (duration ? svg.transition().duration(duration).ease(d3.easeCubicOut) : svg).call(zoom.transform, t);
    return view;
  }

  // The card of node `n`, created if it is not drawn yet.
  function nodeEl(n) {
    const existing = graph.nodeEls.get(n.id);
    if (existing) return existing;
    const box = graph.laid.nodes.get(n.id);
    const card = graph.cards.get(n.id);
    const g = nodeLayer.append("g")
      .attr("class", nodeClass(n, graph.result.output.node))
      .attr("data-id", n.id)
      .attr("transform", `translate(${box.x},${box.y})`)
      .on("mouseenter", () => events.call("hover", null, n.id))
      .on("mouseleave", () => events.call("hover", null, null))
      .on("click", (event) => { event.stopPropagation(); events.call("select", null, n.id); });
    (card.box ? drawBox : drawCard)(g, card, glyphOf(n));
    if (card.fold) foldButton(g, n, card, graph.foldedRoots.has(n.id));
    exposeNode(g, n);
    const el = g.node();
    graph.nodeEls.set(n.id, el);
    applyState(el, n.id);
    if (selected.has(n.id)) el.classList.add("selected");
    if (graph.kept?.has(n.id)) el.classList.add("kept");
    if (onPath.nodes.has(n.id)) el.classList.add("on-path");
    return el;
  }

  function edgeEl(e) {
    const existing = graph.edgeEls.get(e.id);
    if (existing) return existing;
    const el = edgeLayer.append("path").attr("class", e.ref ? "edge ref" : "edge").attr("data-id", e.id)
      .attr("data-source", e.from ?? e.source).attr("data-target", e.to ?? e.target)
      .attr("marker-end", "url(#arrow)").attr("d", graph.line(e.points)).node();
    if (onPath.edges.has(e.id)) el.classList.add("on-path");
    // The edge that carries a wrong rule's local derivative (its target's card says so too).
    if (graph.cards.get(e.target)?.wrongRule?.includes(e.source)) el.classList.add("wrong-rule");
    if (e.count > 1 && !e.quiet) {
      // Edges between groups are drawn once, with how many they stand for: where the layout
      // made room for the count (ELK), else over the edge's middle segment.
      const placed = graph.laid.labels?.get(e.id);
      const [x, y] = e.points[Math.floor((e.points.length - 1) / 2)];
      const [x2, y2] = e.points[Math.floor((e.points.length - 1) / 2) + 1] ?? [x, y];
      const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
      label.setAttribute("class", "edge-count");
      label.setAttribute("x", placed ? placed.x + placed.width / 2 : (x + x2) / 2);
      label.setAttribute("y", placed ? placed.y + placed.height - 3 : (y + y2) / 2 - 4);
      label.setAttribute("text-anchor", "middle");
      label.textContent = `×${e.count}`;
      el.setAttribute("stroke-width", String(Math.min(6, 1.5 + Math.log10(e.count))));
      el.refLabel = label;
      edgeLayer.node().append(label);
    }
    if (e.ref) {
      // An edge from far away: a stub labelled with where it comes from.
      const label = document.createElementNS("http://www.w3.org/2000/svg", "text");
      label.setAttribute("class", "edge-ref");
      label.setAttribute("x", e.ref[0] - 3);
      label.setAttribute("y", e.ref[1] + 4);
      label.setAttribute("text-anchor", "end");
      label.textContent = graph.cards.get(e.source)?.title ?? "";
      el.refLabel = label;
      edgeLayer.node().append(label);
    }
    graph.edgeEls.set(e.id, el);
    return el;
  }

  // The open groups of a graph shown by levels: a frame around what each holds, its kind and
  // name at the top, and the button that closes it into one box again.
  function drawFrames(laid) {
    for (const f of laid.frameList ?? []) {
      const box = laid.frames.get(f.id);
      if (!box) continue;
      const g = frameLayer.append("g").attr("class", `frame kind-${f.kind}`).attr("data-id", f.id)
        .attr("transform", `translate(${box.x},${box.y})`);
      g.append("rect").attr("class", "frame-box").attr("width", box.width).attr("height", box.height).attr("rx", 8);
      const title = g.append("text").attr("class", "frame-title").attr("x", 10).attr("y", 19);
      title.append("tspan").attr("class", "frame-kind").text(f.kind);
      title.append("tspan").attr("dx", 6).text(f.name);
      if (f.pick) title.append("tspan").attr("class", "frame-pick").attr("dx", 6).text(`· ${f.pick}`);
      foldButton(g, { id: f.id }, { width: box.width, fold: { name: f.name, count: null } }, false);
    }
  }

  // A node for assistive technology: an item of the list of nodes whose card is a button (or,
  // in a graph too big to tab through, an image) named by what it shows; the fold toggle is a
  // button beside the card's, never inside it. Focus brings the card into view.
  function exposeNode(g, n) {
    g.attr("role", "listitem");
    const body = g.select(".node-body");
    if (!graph.focusable) return body.attr("role", "img");
    body.attr("role", "button").attr("tabindex", 0)
      .on("focus", (event) => {
        events.call("hover", null, n.id);
        if (event.target.matches(":focus-visible")) follow(n.id, "forward", 0); // not on a click
      })
      .on("blur", () => events.call("hover", null, null))
      .on("keydown", (event) => {
        if (event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault();
        event.stopPropagation(); // Space selects the focused card, not Play
        events.call("select", null, n.id);
      });
  }

  // The card's accessible name at the step shown: "x = 1.5, gradient 2.5".
  function nameNode(el, id, state) {
    const second = graph.result.tangent ? "tangent" : "gradient";
    el.querySelector(".node-body")?.setAttribute("aria-label", spokenCard(graph.cards.get(id), state, second));
  }

  // The button that folds or unfolds a statement or a group, at the top right of its card.
  function foldButton(g, n, card, folded) {
    const { name, count } = card.fold;
    g.classed("folded", folded);
    const size = count === null ? "" : ` (${count} nodes)`;
    const b = g.append("g").attr("class", "fold-toggle").attr("role", "button").attr("tabindex", 0)
      .attr("aria-expanded", String(!folded))
      .attr("aria-label", `${folded ? "Unfold" : "Fold"} ${name}${size}`)
      .attr("transform", `translate(${card.width - 20},4)`)
      .on("click", (event) => { event.stopPropagation(); events.call("fold", null, n.id); })
      .on("keydown", (event) => {
        if (event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault();
        event.stopPropagation();
        events.call("fold", null, n.id);
      });
    b.append("title").text(folded ? `Unfold ${name}${size}` : `Fold ${name} into one box`);
    b.append("rect").attr("class", "hit").attr("x", -4).attr("y", -4).attr("width", 24).attr("height", 24);
    b.append("rect").attr("class", "box").attr("width", 16).attr("height", 16).attr("rx", 3);
    b.append("text").attr("x", 8).attr("y", 12).attr("text-anchor", "middle").text(folded ? "+" : "−");
  }

  function shownAs(id) {
    return graph.hidden.get(id) ?? id;
  }

  function applyState(el, id) {
    const state = nodeStateAt(graph.timeline, id, graph.index);
    const card = graph.cards.get(id);
    el.classList.toggle("has-value", state.value);
    el.classList.toggle("has-grad", state.grad);
    setText(el.querySelector(".node-value"), state.value || card.box ? card.valueText : "");
    setText(el.querySelector(".node-grad"), state.grad ? card.gradText : "");
    nameNode(el, id, state);
  }

  // Redraw what depends on the view, once per frame at most.
  function schedule() {
    if (!scheduled) scheduled = requestAnimationFrame(() => { scheduled = 0; sync(); });
  }

  function sync() {
    if (!graph) return;
    const t = d3.zoomTransform(svgElement);
    const { width, height } = size();
    const far = t.k < FAR_SCALE;
    svgElement.classList.toggle("lod-far", far);
    svgElement.style.setProperty("--glyph-size", `${(13 / t.k).toFixed(1)}px`);
    if (!graph.whole) syncCards(t, width, height, far);
    const seen = visibleRect(t, width, height);
    const all = seen.x0 <= 0 && seen.y0 <= 0 && seen.x1 >= graph.laid.width && seen.y1 >= graph.laid.height;
    const current = graph.frame.node ? graph.laid.nodes.get(shownAs(graph.frame.node)) : null;
    minimap.show(seen, current, { view: cssVar("--select"), current: phaseColour() });
    events.call("view", null, { overview: !all });
  }

  // Big graphs: SVG cards for the nodes in view, or the canvas when there are too many.
  function syncCards(t, width, height, far) {
    const rect = visibleRect(t, width, height, VIEW_MARGIN);
    const inView = graph.nodes.filter((n) => intersects(graph.laid.nodes.get(n.id), rect));
    const pinned = pinnedIds();
    const useCanvas = far || inView.length > MAX_SVG_CARDS;
    const wanted = new Set(useCanvas ? pinned : [...inView.map((n) => n.id), ...pinned]);
    for (const [id, el] of graph.nodeEls) {
      if (!wanted.has(id)) { el.remove(); graph.nodeEls.delete(id); }
    }
    for (const id of wanted) nodeEl(graph.byId.get(id));
    const edgesWanted = new Set([...shown.edges.map((el) => el.dataset.id), ...onPath.edges]);
    if (!useCanvas) for (const e of graph.edges) if (intersects(e.bbox, rect)) edgesWanted.add(e.id);
    for (const [id, el] of graph.edgeEls) {
      if (!edgesWanted.has(id)) { el.remove(); el.refLabel?.remove(); graph.edgeEls.delete(id); }
    }
    for (const e of graph.edges) if (edgesWanted.has(e.id)) edgeEl(e);
    graph.far = useCanvas;
    if (!useCanvas) return clearFar(canvas);
    const visibleEdges = graph.edges.filter((e) => intersects(e.bbox, rect)).map((e) => e.points);
    drawFar(canvas, t, inView.map((n) => farNode(n)), visibleEdges, canvasColours());
  }

  function farNode(n) {
    const state = nodeStateAt(graph.timeline, n.id, graph.index);
    return { box: graph.laid.nodes.get(n.id), glyph: glyphOf(n), current: n.id === shownAs(graph.frame.node),
      state: state.grad ? "grad" : state.value ? "value" : "none" };
  }

  // Nodes always drawn as SVG cards: the current step's and the selected ones.
  function pinnedIds() {
    const ids = new Set([...selected, ...onPath.nodes].filter((id) => graph.laid.nodes.has(id)));
    for (const id of involvedAt(graph.timeline, graph.index)) ids.add(shownAs(id));
    return ids;
  }

  function canvasColours() {
    return {
      edge: cssVar("--edge"), panel: cssVar("--panel"), border: cssVar("--border"),
      value: cssVar("--value"), grad: cssVar("--grad"), valueSoft: cssVar("--value-soft"),
      gradSoft: cssVar("--grad-soft"), fg: cssVar("--fg"), currentStroke: phaseColour(),
      font: "system-ui, sans-serif",
    };
  }

  function phaseColour() {
    return cssVar({ backward: "--grad", tangent: "--tangent" }[graph.frame.phase] ?? "--value");
  }

  // The palette, read once per drawing (reading computed styles forces a style pass).
  let palette = new Map();
  function cssVar(name) {
    if (!palette.has(name)) {
      palette.set(name, getComputedStyle(svgElement).getPropertyValue(name).trim() || "#888");
    }
    return palette.get(name);
  }

  // Pan (keeping the zoom) so that the current node comes into view.
  function follow(id, phase, duration) {
    const box = graph.laid.nodes.get(shownAs(id));
    if (!box) return;
    const { width, height } = size();
    const t = d3.zoomTransform(svgElement);
    const next = followTransform(box, t, width, height, graph.laid.width, graph.laid.height, phase);
    if (next) moveTo(next, reducedMotion() ? 0 : duration);
  }

  // The current node, the edges its step runs along, and the pulses of a backward step.
  function showCurrent(frame, pulseMs) {
    const { nodeEls } = graph;
    if (shown.current) {
      const old = nodeEls.get(shown.current);
      old?.classList.remove("current");
      old?.removeAttribute("aria-current");
    }
    for (const el of shown.edges) el.classList.remove("active", "active-forward", "active-tangent");
    pulseLayer.selectAll("*").interrupt().remove();
    shown = { current: frame.node, edges: [] };
    svgElement.classList.toggle("phase-forward", frame.phase === "forward");
    svgElement.classList.toggle("phase-backward", frame.phase === "backward");
    svgElement.classList.toggle("phase-tangent", frame.phase === "tangent");
    if (!frame.node) return;
    const here = shownAs(frame.node); // a folded statement's box stands for its nodes
    const el = nodeEl(graph.byId.get(here));
    el.classList.add("current");
    el.setAttribute("aria-current", "step");
    shown.current = here;
    if (following) follow(here, frame.phase, Math.min(MOVE_MS, pulseMs || MOVE_MS));
    const mark = (edge, cls, kind) => {
      if (!edge) return;
      const path = edgeEl(edge);
      path.classList.add(cls);
      shown.edges.push(path);
      if (kind && pulseMs > 0) pulse(path, pulseMs, kind);
    };
    if (frame.phase === "forward") {
      frame.step.inputs.forEach((_, position) => mark(graph.edgeByKey.get(`${frame.node}:${position}`), "active-forward"));
    } else if (frame.phase === "tangent") {
      // Forward mode: tangents flow along the arrows, from the operands into the node.
      const from = new Set(frame.step.terms.map((t) => t.input));
      for (const e of graph.incoming.get(frame.node) ?? []) if (from.has(e.from ?? e.source)) mark(e, "active-tangent", "tangent");
    } else {
      for (const term of frame.step.terms) mark(graph.edgeByKey.get(`${frame.node}:${term.position}`), "active", "grad");
    }
  }

  // A dot running along an edge: from the node back to its input (against the arrow) for a
  // gradient, from the input to the node (with the arrow) for a tangent.
  function pulse(pathEl, ms, kind) {
    const length = pathEl.getTotalLength();
    if (!length) return;
    const along = kind === "tangent";
    const start = pathEl.getPointAtLength(along ? 0 : length);
    pulseLayer.append("circle").attr("class", `pulse ${kind}`).attr("r", 5)
      .attr("cx", start.x).attr("cy", start.y)
      .transition().duration(ms).ease(d3.easeCubicInOut)
      .attrTween("transform", () => (u) => {
        const p = pathEl.getPointAtLength(length * (along ? u : 1 - u));
        return `translate(${p.x - start.x},${p.y - start.y})`;
      })
      .transition().duration(150).style("opacity", 0).remove();
  }

  return view;
}

// The graph's layers for assistive technology: the nodes are a list; the edges and the pulses
// along them are drawing only (the step panel says what flows where).
function exposeLayers(edgeLayer, nodeLayer, pulseLayer) {
  nodeLayer.attr("role", "list").attr("aria-label", "Nodes");
  edgeLayer.attr("aria-hidden", "true");
  pulseLayer.attr("aria-hidden", "true");
}

function reducedMotion() {
  return window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;
}

function bboxOf(points) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of points) {
    x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

function nodeClass(node, outputId) {
  const classes = ["node", `op-${node.op}`];
  if (node.op === "group") classes.push("group-box");
  if (node.op === "input") classes.push("input");
  if (node.op === "const") classes.push("const");
  if (node.id === outputId) classes.push("output");
  if (!node.requires_grad) classes.push("no-grad");
  if (node.shape.length) classes.push("array");
  if (node.literal?.overridden) classes.push("overridden");
  return classes.join(" ");
}

// The card: its frame and label in `.node-body` (the part named for assistive technology),
// its numbers and heatmaps beside them (aria-hidden: the body's name says them).
function drawCard(g, card, glyph) {
  const mid = card.width / 2;
  const body = g.append("g").attr("class", "node-body");
  body.append("rect").attr("class", "focus-ring").attr("x", -5).attr("y", -5)
    .attr("width", card.width + 10).attr("height", card.height + 10).attr("rx", 9);
  body.append("rect").attr("class", "card").attr("width", card.width).attr("height", card.height)
    .attr("rx", 6);
  body.append("text").attr("class", "node-glyph").attr("x", mid).attr("y", card.height / 2)
    .attr("text-anchor", "middle").attr("dominant-baseline", "central").text(glyph);
  body.append("line").attr("class", "divider").attr("x1", 0).attr("x2", card.width)
    .attr("y1", LINE_1 + 5).attr("y2", LINE_1 + 5);
  // Over the card's top edge, shown while the tape holds its value (markKept).
  g.append("text").attr("class", "kept-mark").attr("x", card.width - 4).attr("y", -4)
    .attr("text-anchor", "end").attr("aria-hidden", "true").text("kept");
  const label = body.append("text").attr("class", "node-label").attr("x", PAD).attr("y", LINE_1)
    .text(card.title);
  // A space (not an offset) between the words, so that the card's text reads as its name does.
  if (card.sub) label.append("tspan").attr("class", "node-sub").text(` ${card.sub}`);
  if (card.note) body.append("title").text(card.note);
  for (const cls of card.marks ?? []) g.classed(cls, true);
  if (card.isArray) {
    body.append("text").attr("class", "node-shape").attr("x", card.width - PAD).attr("y", LINE_1)
      .attr("text-anchor", "end").text(` ${card.shape.join("×")}`);
  }
  const numbers = g.append("g").attr("class", "node-numbers").attr("aria-hidden", "true");
  numbers.append("text").attr("class", "node-value").attr("x", mid - 6).attr("y", LINE_2)
    .attr("text-anchor", "end");
  numbers.append("text").attr("class", "node-sep").attr("x", mid).attr("y", LINE_2)
    .attr("text-anchor", "middle").text("|");
  numbers.append("text").attr("class", "node-grad").attr("x", mid + 6).attr("y", LINE_2)
    .attr("text-anchor", "start");
  if (card.heat) {
    const y = LINE_2 + PAD / 2 + 2;
    drawHeat(numbers, card.heat.value, "heat-value", mid - 6 - card.heat.width, y);
    if (card.heat.grad) drawHeat(numbers, card.heat.grad, "heat-grad", mid + 6, y);
  }
  if (card.strip) {
    g.classed("batch-copy", true);
    drawStrip(numbers, card.strip, mid);
  }
}

// A batch's strips under a card (cards.withBatch): the values left of the middle, the
// gradients right of it, each copy a cell, the picked one ringed, the smallest and largest
// marked by a line under their cells, the range written under each strip.
function drawStrip(parent, strip, mid) {
  const { cell } = strip;
  const y = strip.top;
  const one = (grid, cls, x) => {
    const g = drawHeat(parent, grid, `strip ${cls}`, x, y, cell);
    const at = (k) => [(k % grid.cols) * cell, Math.floor(k / grid.cols) * cell];
    for (const [k, mark] of [[grid.min, "strip-min"], [grid.max, "strip-max"]]) {
      if (k < 0) continue;
      const [cx, cy] = at(k);
      g.append("line").attr("class", mark).attr("x1", cx).attr("x2", cx + cell - 1)
        .attr("y1", cy + cell).attr("y2", cy + cell);
    }
    const [px, py] = at(grid.pick);
    g.append("rect").attr("class", "strip-pick").attr("x", px - 1).attr("y", py - 1)
      .attr("width", cell + 1).attr("height", cell + 1);
    const left = cls === "heat-value";
    parent.append("text").attr("class", `strip-range ${cls}`).attr("x", left ? mid - 6 : mid + 6)
      .attr("text-anchor", left ? "end" : "start").attr("y", y + grid.rows * cell + 13).text(grid.text);
  };
  one(strip.value, "heat-value", mid - 6 - strip.value.cols * cell);
  if (strip.grad) one(strip.grad, "heat-grad", mid + 6);
}

// A closed group's box: its name and kind, then what it holds, then its gradient's norm.
function drawBox(g, card, glyph) {
  const body = g.append("g").attr("class", "node-body");
  body.append("rect").attr("class", "focus-ring").attr("x", -5).attr("y", -5)
    .attr("width", card.width + 10).attr("height", card.height + 10).attr("rx", 9);
  body.append("rect").attr("class", "card").attr("width", card.width).attr("height", card.height)
    .attr("rx", 6);
  body.append("text").attr("class", "node-glyph").attr("x", card.width / 2).attr("y", card.height / 2)
    .attr("text-anchor", "middle").attr("dominant-baseline", "central").text(glyph);
  body.append("line").attr("class", "divider").attr("x1", 0).attr("x2", card.width)
    .attr("y1", LINE_1 + 5).attr("y2", LINE_1 + 5);
  const label = body.append("text").attr("class", "node-label").attr("x", PAD).attr("y", LINE_1)
    .text(card.title);
  label.append("tspan").attr("class", "node-sub").text(` ${card.sub}`);
  body.append("title").text(card.note);
  const numbers = g.append("g").attr("class", "node-numbers").attr("aria-hidden", "true");
  numbers.append("text").attr("class", "node-value").attr("x", PAD).attr("y", LINE_2);
  numbers.append("text").attr("class", "node-grad").attr("x", PAD).attr("y", LINE_2 + 18);
}

/** A heatmap of a grid (format.heatmapGrid) as <rect>s; negative cells get class "neg". */
export function drawHeat(parent, grid, cls, x, y, cell = CELL) {
  const g = parent.append("g").attr("class", `heat ${cls}`).attr("transform", `translate(${x},${y})`);
  g.append("rect").attr("class", "heat-frame").attr("width", grid.cols * cell)
    .attr("height", grid.rows * cell);
  // Each cell's number on hover (a block's mean where the grid samples a big array).
  const say = grid.sampled ? (v) => `≈ ${formatShort(v)} (mean of a block)` : (v) => formatShort(v);
  grid.cells.forEach((v, k) => {
    const magnitude = Number.isFinite(v) ? (grid.scale ? Math.abs(v) / grid.scale : 0) : 1;
    g.append("rect")
      .attr("class", Number.isNaN(v) ? "cell nan" : v < 0 ? "cell neg" : "cell pos")
      .attr("x", (k % grid.cols) * cell).attr("y", Math.floor(k / grid.cols) * cell)
      .attr("width", cell - 1).attr("height", cell - 1)
      .attr("fill-opacity", (0.12 + 0.88 * magnitude).toFixed(3))
      .append("title").text(say(v));
  });
  return g;
}

function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}
