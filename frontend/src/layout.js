// The layout adapter: API nodes and edges to an ELK graph (layered, inputs left, output
// right), and ELK's answer back to positions and edge polylines. The ELK instance is passed in.

const BASE_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.spacing.nodeNode": "18",
  "elk.layered.spacing.nodeNodeBetweenLayers": "36",
  "elk.layered.spacing.edgeNodeBetweenLayers": "14",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
};

// Cheaper strategies for big graphs, so 1,000 nodes lay out well within a second.
const LARGE_OPTIONS = {
  "elk.layered.nodePlacement.strategy": "SIMPLE",
  "elk.layered.crossingMinimization.strategy": "NONE",
};
export const LARGE_GRAPH = 400;

/** The ELK graph of an answer; `sizeOf(node)` gives each card's {width, height}. With
 * `graph.frames` (levels.foldTree's open groups), the nodes shown inside an open group are
 * the children of its frame, nested as the groups are, and ELK lays the levels out together. */
export function toElkGraph(result, sizeOf) {
  const large = result.nodes.length > LARGE_GRAPH;
  const frames = result.frames ?? [];
  const options = large ? { ...BASE_OPTIONS, ...LARGE_OPTIONS } : { ...BASE_OPTIONS };
  if (frames.length) {
    options["elk.hierarchyHandling"] = "INCLUDE_CHILDREN";
    // A layer's sixteen neurons fed by one box: one trunk that branches, not sixteen lines.
    options["elk.layered.mergeEdges"] = "true";
  }
  const elkNodes = new Map(result.nodes.map((node) => {
    const { width, height } = sizeOf(node);
    return [node.id, { id: node.id, width, height }];
  }));
  // Each frame stands where its first member comes, so ELK keeps the answer's order.
  const root = [];
  const frameOf = new Map();
  for (const f of frames) for (const id of f.members) frameOf.set(id, f);
  const byGroup = new Map(frames.map((f) => [f.group, f]));
  const made = new Map();
  const place = (f) => {
    if (made.has(f.group)) return made.get(f.group);
    const node = { id: f.id, children: [], layoutOptions: {
      "elk.padding": `[top=${FRAME_TOP},left=12,bottom=12,right=12]`,
      "elk.nodeSize.constraints": "MINIMUM_SIZE",
      "elk.nodeSize.minimum": `(${frameTitleWidth(f)}, 0)`,
    } };
    made.set(f.group, node);
    (byGroup.has(f.parent) ? place(byGroup.get(f.parent)).children : root).push(node);
    return node;
  };
  for (const node of result.nodes) {
    const f = frameOf.get(node.id);
    (f ? place(f).children : root).push(elkNodes.get(node.id));
  }
  return {
    id: "root",
    layoutOptions: options,
    children: root,
    edges: result.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target],
      ...(e.count > 1 && !e.quiet ? { labels: [countLabel(e)] } : {}) })),
  };
}

const COUNT_CHAR = 6.6; // px per character of an edge's 11px count
/** An edge standing for `count` edges is labelled ×count: a label ELK makes room for, so that it
 * is never under a box or another label. */
function countLabel(e) {
  const text = `×${e.count}`;
  return { id: `${e.id}:count`, text, width: Math.ceil(text.length * COUNT_CHAR) + 4, height: 14 };
}

/** Room at the top of an open group's frame for its name and its close button. */
export const FRAME_TOP = 30;
const FRAME_CHAR = 7.5; // px per character of a frame's 12px title

/** The width an open group's frame needs for its title ("layer layers[1]") and its button. */
export function frameTitleWidth(frame) {
  const pick = frame.pick ? frame.pick.length + 3 : 0; // "· 4 of 20 samples"
  return Math.ceil((frame.kind.length + frame.name.length + 1 + pick) * FRAME_CHAR + 56);
}

/** Positions from a laid-out ELK graph: {nodes: Map id -> {x, y, width, height}, edges: Map
 * id -> [[x, y], ...] from source to target, frames: Map id -> box of an open group, width,
 * height}. Nested children and the edges ELK put inside a frame are made absolute. */
export function fromElkGraph(graph) {
  const nodes = new Map();
  const frames = new Map();
  const origin = new Map([["root", [0, 0]]]);
  const walk = (children, dx, dy) => {
    for (const c of children ?? []) {
      const box = { x: (c.x ?? 0) + dx, y: (c.y ?? 0) + dy, width: c.width, height: c.height };
      if (c.children) {
        frames.set(c.id, box);
        origin.set(c.id, [box.x, box.y]);
        walk(c.children, box.x, box.y);
      } else {
        nodes.set(c.id, box);
      }
    }
  };
  walk(graph.children, 0, 0);
  const edges = new Map();
  const labels = new Map(); // edge id -> {x, y, width, height} of its count, where ELK placed it
  for (const e of graph.edges ?? []) {
    const [dx, dy] = origin.get(e.container ?? "root") ?? [0, 0];
    const label = e.labels?.[0];
    if (label?.x !== undefined) {
      labels.set(e.id, { x: label.x + dx, y: label.y + dy, width: label.width, height: label.height });
    }
    const points = [];
    for (const s of e.sections ?? []) {
      points.push([s.startPoint.x + dx, s.startPoint.y + dy]);
      for (const b of s.bendPoints ?? []) points.push([b.x + dx, b.y + dy]);
      points.push([s.endPoint.x + dx, s.endPoint.y + dy]);
    }
    edges.set(e.id, points);
  }
  return { nodes, edges, frames, labels, width: graph.width ?? 0, height: graph.height ?? 0 };
}

/** Lay a graph ({nodes, edges}: an answer, or levels.foldTree's) out: with `elk` (an
 * ELK instance) when it is small enough for ELK to be quick, else by columns that wrap at
 * `wrapWidth` (flowLayout; always with `flow`). Resolves to fromElkGraph's shape. */
export async function layoutGraph(graph, elk, sizeOf, { wrapWidth = Infinity, flow = false } = {}) {
  if (flow || !useElk(graph)) return flowLayout(graph, sizeOf, { wrapWidth });
  return fromElkGraph(await elk.layout(toElkGraph(graph, sizeOf)));
}

// ELK's layered algorithm adds a dummy node per layer an edge crosses: a chain that reuses
// one input in every line (`a{i} = sin(a{i-1}) * x`) costs it quadratic time.
export const MAX_ELK_DUMMIES = 1500;
/** The most edges and nodes of a level that ELK lays out with its open groups framed. */
export const MAX_FRAMED_EDGES = 120;
export const MAX_FRAMED_NODES = 100;

/** Whether ELK will lay this graph out quickly. */
export function useElk(graph) {
  if (graph.nodes.length > LARGE_GRAPH) return false;
  // Frames make ELK lay every level out together, which grows fast with the edges that cross
  // them (42 boxes and 400 edges: seconds): a bigger level takes the flow layout, unframed.
  if (graph.frames?.length && (graph.edges.length > MAX_FRAMED_EDGES || graph.nodes.length > MAX_FRAMED_NODES)) return false;
  const layer = layersOf(graph);
  let dummies = 0;
  for (const e of graph.edges) dummies += Math.max(0, layer.get(e.target) - layer.get(e.source) - 1);
  return dummies <= MAX_ELK_DUMMIES;
}

/** Each node's layer: one more than its inputs' deepest, then moved as late as its first
 * consumer allows, so that a constant, an input or a side computation (`x0 * 0.1`) stands
 * beside where it is used rather than at the start. */
export function layersOf({ nodes, edges }) {
  const incoming = new Map();
  const outgoing = new Map();
  for (const e of edges) {
    (incoming.get(e.target) ?? incoming.set(e.target, []).get(e.target)).push(e.source);
    (outgoing.get(e.source) ?? outgoing.set(e.source, []).get(e.source)).push(e.target);
  }
  const layer = new Map();
  for (const n of nodes) { // nodes come in topological order
    let deepest = -1;
    for (const source of incoming.get(n.id) ?? []) deepest = Math.max(deepest, layer.get(source) ?? 0);
    layer.set(n.id, deepest + 1);
  }
  for (let i = nodes.length - 1; i >= 0; i--) { // as late as its first consumer allows
    const id = nodes[i].id;
    if (!outgoing.has(id)) continue;
    let first = Infinity;
    for (const target of outgoing.get(id)) first = Math.min(first, layer.get(target));
    layer.set(id, Math.max(layer.get(id), first - 1));
  }
  return layer;
}

const COLUMN_GAP = 44;
const ROW_GAP = 16;
const BAND_GAP = 48; // between two bands of a wrapped layout: room for the edges crossing it
const BUS = 18; // above a band: edges that skip columns run along it
const REF = 34; // length of the stub that stands for an edge from a far band

/** A linear-time layered layout for big graphs: one column per layer (layersOf), each column
 * ordered by its inputs' places, a node without inputs beside the other input of its consumer;
 * the columns wrap into bands `wrapWidth` wide, read left to right then down, as text is.
 * Edges between neighbouring columns are curves; an edge that skips columns runs along the
 * band's bus; an edge from a band before the previous one is a short stub from the gap above
 * its target, labelled with its source (`ref`), instead of a line across the page. */
export function flowLayout(graph, sizeOf, { wrapWidth = Infinity } = {}) {
  const layer = layersOf(graph);
  const columns = [];
  for (const node of graph.nodes) (columns[layer.get(node.id)] ??= []).push(node);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const consumers = new Map();
  for (const e of graph.edges) {
    if (!consumers.has(e.source)) consumers.set(e.source, []);
    consumers.get(e.source).push(e.target);
  }
  const inputsOf = new Map();
  for (const e of graph.edges) {
    if (!inputsOf.has(e.target)) inputsOf.set(e.target, []);
    inputsOf.get(e.target).push(e.source);
  }
  const rank = new Map();
  const boxes = new Map();
  const bandOf = new Map();
  const columnOf = new Map();
  const bands = []; // {top, height}
  let x = 0;
  let band = { top: BUS, height: 0 };
  bands.push(band);
  let width = 0;
  columns.forEach((column, c) => {
    if (!column) return;
    const order = orderColumn(column, rank, inputsOf, consumers);
    const sizes = order.map((n) => sizeOf(byId.get(n.id) ?? n));
    const columnWidth = Math.max(...sizes.map((z) => z.width));
    if (x > 0 && x + columnWidth > wrapWidth) {
      band = { top: band.top + band.height + BAND_GAP + BUS, height: 0 };
      bands.push(band);
      x = 0;
    }
    let y = 0;
    order.forEach((node, i) => {
      boxes.set(node.id, { x, y, width: sizes[i].width, height: sizes[i].height });
      rank.set(node.id, i);
      bandOf.set(node.id, bands.length - 1);
      columnOf.set(node.id, c);
      y += sizes[i].height + ROW_GAP;
    });
    band.height = Math.max(band.height, y - ROW_GAP);
    for (const node of order) boxes.get(node.id).y += band.top;
    x += columnWidth + COLUMN_GAP;
    width = Math.max(width, x - COLUMN_GAP);
  });
  const edges = new Map();
  const refs = new Map();
  for (const e of graph.edges) {
    const s = boxes.get(e.source);
    const t = boxes.get(e.target);
    if (!s || !t) continue;
    const start = [s.x + s.width, s.y + s.height / 2];
    const end = [t.x, t.y + t.height / 2];
    const sb = bandOf.get(e.source);
    const tb = bandOf.get(e.target);
    const inBus = bands[tb].top - BUS / 2;
    if (sb === tb && columnOf.get(e.target) - columnOf.get(e.source) <= 1) {
      edges.set(e.id, curve(start, end));
    } else if (sb === tb) {
      edges.set(e.id, [start, [start[0] + COLUMN_GAP / 3, start[1]], [start[0] + COLUMN_GAP / 3, inBus],
        [end[0] - COLUMN_GAP / 3, inBus], [end[0] - COLUMN_GAP / 3, end[1]], end]);
    } else if (tb - sb === 1) {
      const gap = bands[tb].top - BUS - BAND_GAP / 2;
      edges.set(e.id, [start, [start[0] + COLUMN_GAP / 3, start[1]], [start[0] + COLUMN_GAP / 3, gap],
        [end[0] - COLUMN_GAP / 3, gap], [end[0] - COLUMN_GAP / 3, end[1]], end]);
    } else {
      const from = [Math.max(0, end[0] - COLUMN_GAP / 3 - REF), inBus];
      edges.set(e.id, [from, [end[0] - COLUMN_GAP / 3, inBus], [end[0] - COLUMN_GAP / 3, end[1]], end]);
      refs.set(e.id, from);
    }
  }
  const last = bands[bands.length - 1];
  // d3's bump curve: an S between neighbours, straight along the buses' orthogonal segments.
  return { nodes: boxes, edges, refs, width, height: last.top + last.height, curve: "bump" };
}

// Neighbouring columns: a straight segment, drawn as a smooth S (curve "bump").
function curve(start, end) {
  return [start, end];
}

// A column in the order of its inputs' places (barycentre); a node without inputs goes just
// after the other inputs of its first consumer, so that a constant sits beside its sibling.
function orderColumn(column, rank, inputsOf, consumers) {
  const keyed = [];
  const leaves = [];
  column.forEach((n, i) => {
    const inputs = inputsOf.get(n.id) ?? [];
    if (!inputs.length) { leaves.push([n, i]); return; }
    const places = inputs.map((id) => rank.get(id)).filter((r) => r !== undefined);
    keyed.push([places.length ? places.reduce((a, b) => a + b, 0) / places.length + i * 1e-6 : i, n]);
  });
  keyed.sort((a, b) => a[0] - b[0]);
  const order = keyed.map(([, n]) => n);
  const at = new Map(order.map((n, i) => [n.id, i]));
  const placed = [];
  for (const [leaf, i] of leaves) {
    const consumer = (consumers.get(leaf.id) ?? [])[0];
    const sibling = (inputsOf.get(consumer) ?? []).find((id) => at.has(id));
    placed.push([sibling !== undefined ? at.get(sibling) + 0.5 : order.length + i, leaf]);
  }
  const merged = order.map((n, i) => [i, n]).concat(placed).sort((a, b) => a[0] - b[0]);
  return merged.map(([, n]) => n);
}
