// The SVG renderer (d3): draws the laid-out graph once, then on each step updates the classes
// and texts of the few nodes that changed. Zoom, pan and "fit to screen".

import { CELL, PAD } from "./cards.js";
import { frameAt, nodeStateAt } from "./timeline.js";

const d3 = globalThis.d3; // the UMD bundle, loaded by index.html
const LINE_1 = 17;
const READABLE = 0.35; // the smallest zoom at which a card can be read
const LINE_2 = 36;

/** A graph view on an <svg>; emits "hover" (id or null) and "select" (id or null). */
export function createGraphView(svgElement) {
  const svg = d3.select(svgElement);
  const events = d3.dispatch("hover", "select");
  svg.selectAll("*").remove();
  svg.append("defs").html(`
    <marker id="arrow" viewBox="0 0 8 8" refX="7.5" refY="4" markerWidth="7" markerHeight="7"
      markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" class="arrowhead"/></marker>`);
  const viewport = svg.append("g").attr("class", "viewport");
  const edgeLayer = viewport.append("g").attr("class", "edges");
  const nodeLayer = viewport.append("g").attr("class", "nodes");
  const pulseLayer = viewport.append("g").attr("class", "pulses");
  const zoom = d3.zoom().scaleExtent([0.0001, 4])
    .on("zoom", (event) => viewport.attr("transform", event.transform));
  svg.call(zoom).on("dblclick.zoom", null);
  svg.on("click", (event) => { if (event.target === svgElement) events.call("select", null, null); });

  let graph = null; // {result, laid, cards, timeline, nodeEls: Map, edgeEls: Map}
  let shown = { current: null, edges: [] };

  const view = {
    /** Draw a whole graph: nodes at their laid-out places, nothing computed yet. */
    draw(result, laid, cards, timeline) {
      const nodeEls = new Map();
      const edgeEls = new Map();
      const incoming = new Map(); // target id -> [{source, el}]
      const line = d3.line().curve(laid.curve === "bump" ? d3.curveBumpX : d3.curveLinear);
      edgeLayer.selectAll("*").remove();
      nodeLayer.selectAll("*").remove();
      pulseLayer.selectAll("*").remove();
      edgeLayer.selectAll("path").data(result.edges).join("path")
        .attr("class", "edge")
        .attr("data-id", (e) => e.id)
        .attr("data-source", (e) => e.source)
        .attr("data-target", (e) => e.target)
        .attr("marker-end", "url(#arrow)")
        .attr("d", (e) => line(laid.edges.get(e.id) ?? []))
        .each(function (e) {
          edgeEls.set(`${e.target}:${e.position}`, this);
          if (!incoming.has(e.target)) incoming.set(e.target, []);
          incoming.get(e.target).push({ source: e.source, el: this });
        });
      const outputId = result.output.node;
      const groups = nodeLayer.selectAll("g.node").data(result.nodes).join("g")
        .attr("class", (n) => nodeClass(n, outputId))
        .attr("data-id", (n) => n.id)
        .attr("transform", (n) => { const p = laid.nodes.get(n.id); return `translate(${p.x},${p.y})`; })
        .each(function (n) { nodeEls.set(n.id, this); drawCard(d3.select(this), cards.get(n.id)); })
        .on("mouseenter", (_, n) => events.call("hover", null, n.id))
        .on("mouseleave", () => events.call("hover", null, null))
        .on("click", (event, n) => { event.stopPropagation(); events.call("select", null, n.id); });
      if (result.nodes.length <= 300) {
        groups.attr("tabindex", 0).attr("role", "button")
          .attr("aria-label", (n) => `node ${cards.get(n.id).title}`)
          .on("focus", (_, n) => events.call("hover", null, n.id))
          .on("blur", () => events.call("hover", null, null))
          .on("keydown", (event, n) => {
            if (event.key === "Enter") events.call("select", null, n.id);
          });
      }
      graph = { result, laid, cards, timeline, nodeEls, edgeEls, incoming };
      shown = { current: null, edges: [] };
      return view;
    },

    /** Show the graph at step `index`, touching only the nodes in `ids`. */
    update(ids, index, { pulseMs = 600 } = {}) {
      if (!graph) return view;
      const { timeline, cards, nodeEls } = graph;
      for (const id of ids) {
        const el = nodeEls.get(id);
        if (!el) continue;
        const state = nodeStateAt(timeline, id, index);
        const card = cards.get(id);
        el.classList.toggle("has-value", state.value);
        el.classList.toggle("has-grad", state.grad);
        setText(el.querySelector(".node-value"), state.value ? card.valueText : "");
        setText(el.querySelector(".node-grad"), state.grad ? card.gradText : "");
      }
      showCurrent(frameAt(timeline, index), pulseMs);
      return view;
    },

    /** Mark the nodes in `ids` as selected (and only those). */
    select(ids) {
      if (!graph) return view;
      const wanted = new Set(ids);
      for (const [id, el] of graph.nodeEls) el.classList.toggle("selected", wanted.has(id));
      return view;
    },

    /** Zoom and pan so the whole graph fits the view. */
    fit(duration = 0) {
      if (!graph) return view;
      const { width, height, gw, gh, k } = fitting();
      return moveTo(d3.zoomIdentity.translate((width - gw * k) / 2, (height - gh * k) / 2).scale(k), duration);
    },

    /** The first view of a graph: all of it if that is readable, else its left end (the
     * inputs) at a readable scale; stepping then follows the current node. */
    home() {
      if (!graph) return view;
      const { height, gh, k } = fitting();
      if (k >= READABLE) return view.fit();
      const kr = Math.max(READABLE, Math.min(1, (height - 24) / gh));
      return moveTo(d3.zoomIdentity.translate(12, Math.max(12, (height - gh * kr) / 2)).scale(kr), 0);
    },

    /** Forget the graph. */
    clear() {
      edgeLayer.selectAll("*").remove();
      nodeLayer.selectAll("*").remove();
      pulseLayer.selectAll("*").remove();
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

  // The view's size, the graph's, and the scale at which all of the graph fits the view.
  function fitting() {
    const { width, height } = svgElement.getBoundingClientRect();
    const gw = Math.max(graph.laid.width, 1);
    const gh = Math.max(graph.laid.height, 1);
    return { width, height, gw, gh, k: Math.min((width - 24) / gw, (height - 24) / gh, 1.6) };
  }

  function moveTo(transform, duration) {
    (duration ? svg.transition().duration(duration) : svg).call(zoom.transform, transform);
    return view;
  }

  // Pan (keeping the zoom) so that a node off screen comes into view, with room on the side
  // the pass is heading to (right going forward, left going backward).
  function follow(id, phase) {
    const box = graph.laid.nodes.get(id);
    if (!box) return;
    const t = d3.zoomTransform(svgElement);
    const { width, height } = svgElement.getBoundingClientRect();
    const [x0, y0] = t.apply([box.x, box.y]);
    const [x1, y1] = t.apply([box.x + box.width, box.y + box.height]);
    if (x0 >= 0 && y0 >= 0 && x1 <= width && y1 <= height) return;
    const cx = width * (phase === "backward" ? 0.7 : 0.3) - t.k * (box.x + box.width / 2);
    const cy = height / 2 - t.k * (box.y + box.height / 2);
    svg.interrupt().call(zoom.transform, d3.zoomIdentity.translate(cx, cy).scale(t.k));
  }

  // The current node, the edges its step runs along, and the pulses of a backward step.
  function showCurrent(frame, pulseMs) {
    const { nodeEls, edgeEls } = graph;
    if (shown.current) nodeEls.get(shown.current)?.classList.remove("current");
    for (const el of shown.edges) el.classList.remove("active", "active-forward", "active-tangent");
    pulseLayer.selectAll("*").interrupt().remove();
    shown = { current: frame.node, edges: [] };
    svgElement.classList.toggle("phase-forward", frame.phase === "forward");
    svgElement.classList.toggle("phase-backward", frame.phase === "backward");
    svgElement.classList.toggle("phase-tangent", frame.phase === "tangent");
    if (!frame.node) return;
    nodeEls.get(frame.node)?.classList.add("current");
    follow(frame.node, frame.phase);
    if (frame.phase === "forward") {
      frame.step.inputs.forEach((_, position) => {
        const el = edgeEls.get(`${frame.node}:${position}`);
        if (el) { el.classList.add("active-forward"); shown.edges.push(el); }
      });
      return;
    }
    if (frame.phase === "tangent") {
      // Forward mode: tangents flow along the arrows, from the operands into the node.
      const from = new Set(frame.step.terms.map((t) => t.input));
      for (const { source, el } of graph.incoming.get(frame.node) ?? []) {
        if (!from.has(source)) continue;
        el.classList.add("active-tangent");
        shown.edges.push(el);
        if (pulseMs > 0) pulse(el, pulseMs, "tangent");
      }
      return;
    }
    for (const term of frame.step.terms) {
      const el = edgeEls.get(`${frame.node}:${term.position}`);
      if (!el) continue;
      el.classList.add("active");
      shown.edges.push(el);
      if (pulseMs > 0) pulse(el, pulseMs);
    }
  }

  // A dot running along an edge: from the node back to its input (against the arrow) for a
  // gradient, from the input to the node (with the arrow) for a tangent.
  function pulse(pathEl, ms, kind = "grad") {
    const length = pathEl.getTotalLength();
    if (!length) return;
    const along = kind === "tangent";
    const start = pathEl.getPointAtLength(along ? 0 : length);
    pulseLayer.append("circle").attr("class", `pulse ${kind}`).attr("r", 5)
      .attr("cx", start.x).attr("cy", start.y)
      .transition().duration(ms).ease(d3.easeCubicInOut)
      .attrTween("transform", () => (t) => {
        const p = pathEl.getPointAtLength(length * (along ? t : 1 - t));
        return `translate(${p.x - start.x},${p.y - start.y})`;
      })
      .transition().duration(150).style("opacity", 0).remove();
  }

  return view;
}

function nodeClass(node, outputId) {
  const classes = ["node", `op-${node.op}`];
  if (node.op === "input") classes.push("input");
  if (node.op === "const") classes.push("const");
  if (node.id === outputId) classes.push("output");
  if (!node.requires_grad) classes.push("no-grad");
  if (node.shape.length) classes.push("array");
  return classes.join(" ");
}

function drawCard(g, card) {
  const mid = card.width / 2;
  g.append("rect").attr("class", "card").attr("width", card.width).attr("height", card.height)
    .attr("rx", 6);
  g.append("line").attr("class", "divider").attr("x1", 0).attr("x2", card.width)
    .attr("y1", LINE_1 + 5).attr("y2", LINE_1 + 5);
  const label = g.append("text").attr("class", "node-label").attr("x", PAD).attr("y", LINE_1)
    .text(card.title);
  if (card.sub) label.append("tspan").attr("class", "node-sub").attr("dx", 6).text(card.sub);
  if (card.isArray) {
    g.append("text").attr("class", "node-shape").attr("x", card.width - PAD).attr("y", LINE_1)
      .attr("text-anchor", "end").text(card.shape.join("×"));
  }
  g.append("text").attr("class", "node-value").attr("x", mid - 6).attr("y", LINE_2)
    .attr("text-anchor", "end");
  g.append("text").attr("class", "node-sep").attr("x", mid).attr("y", LINE_2)
    .attr("text-anchor", "middle").text("|");
  g.append("text").attr("class", "node-grad").attr("x", mid + 6).attr("y", LINE_2)
    .attr("text-anchor", "start");
  if (card.heat) {
    const y = LINE_2 + PAD / 2 + 2;
    drawHeat(g, card.heat.value, "heat-value", mid - 6 - card.heat.width, y);
    if (card.heat.grad) drawHeat(g, card.heat.grad, "heat-grad", mid + 6, y);
  }
}

/** A heatmap of a grid (format.heatmapGrid) as <rect>s; negative cells get class "neg". */
export function drawHeat(parent, grid, cls, x, y, cell = CELL) {
  const g = parent.append("g").attr("class", `heat ${cls}`).attr("transform", `translate(${x},${y})`);
  g.append("rect").attr("class", "heat-frame").attr("width", grid.cols * cell)
    .attr("height", grid.rows * cell);
  grid.cells.forEach((v, k) => {
    const magnitude = Number.isFinite(v) ? (grid.scale ? Math.abs(v) / grid.scale : 0) : 1;
    g.append("rect")
      .attr("class", Number.isNaN(v) ? "cell nan" : v < 0 ? "cell neg" : "cell pos")
      .attr("x", (k % grid.cols) * cell).attr("y", Math.floor(k / grid.cols) * cell)
      .attr("width", cell - 1).attr("height", cell - 1)
      .attr("fill-opacity", (0.12 + 0.88 * magnitude).toFixed(3));
  });
  return g;
}

function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}
