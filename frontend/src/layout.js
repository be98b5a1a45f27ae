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

/** The ELK graph of an answer; `sizeOf(node)` gives each card's {width, height}. */
export function toElkGraph(result, sizeOf) {
  const large = result.nodes.length > LARGE_GRAPH;
  return {
    id: "root",
    layoutOptions: large ? { ...BASE_OPTIONS, ...LARGE_OPTIONS } : { ...BASE_OPTIONS },
    children: result.nodes.map((node) => {
      const { width, height } = sizeOf(node);
      return { id: node.id, width, height };
    }),
    edges: result.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  };
}

/** Positions from a laid-out ELK graph: {nodes: Map id -> {x, y, width, height}, edges: Map
 * id -> [[x, y], ...] from source to target, width, height}. */
export function fromElkGraph(graph) {
  const nodes = new Map();
  for (const c of graph.children ?? []) {
    nodes.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, width: c.width, height: c.height });
  }
  const edges = new Map();
  for (const e of graph.edges ?? []) {
    const points = [];
    for (const s of e.sections ?? []) {
      points.push([s.startPoint.x, s.startPoint.y]);
      for (const b of s.bendPoints ?? []) points.push([b.x, b.y]);
      points.push([s.endPoint.x, s.endPoint.y]);
    }
    edges.set(e.id, points);
  }
  return { nodes, edges, width: graph.width ?? 0, height: graph.height ?? 0 };
}

/** Lay an answer out: with `elk` (an ELK instance) when it is small enough for ELK to be
 * quick, else by columns (columnLayout). Resolves to fromElkGraph's shape. */
export async function layoutGraph(result, elk, sizeOf) {
  if (!useElk(result)) return columnLayout(result, sizeOf);
  return fromElkGraph(await elk.layout(toElkGraph(result, sizeOf)));
}

// ELK's layered algorithm adds a dummy node per layer an edge crosses: a chain that reuses
// one input in every line (`a{i} = sin(a{i-1}) * x`) costs it quadratic time.
export const MAX_ELK_DUMMIES = 1500;

/** Whether ELK will lay this graph out quickly. */
export function useElk(result) {
  if (result.nodes.length > LARGE_GRAPH) return false;
  const generation = new Map(result.nodes.map((n) => [n.id, n.generation]));
  let dummies = 0;
  for (const e of result.edges) {
    dummies += Math.max(0, generation.get(e.target) - generation.get(e.source) - 1);
  }
  return dummies <= MAX_ELK_DUMMIES;
}

const COLUMN_GAP = 44;
const ROW_GAP = 16;
const BUS_GAP = 36;

/** A linear-time layered layout for big graphs: one column per generation (inputs left), each
 * column ordered by its inputs' places; edges that skip columns run along a bus above. */
export function columnLayout(result, sizeOf) {
  const columns = [];
  for (const node of result.nodes) (columns[node.generation] ??= []).push(node);
  const rank = new Map();
  const boxes = new Map();
  let x = 0;
  let height = 0;
  for (const column of columns.filter(Boolean)) {
    const order = column.map((n, i) => [barycenter(n, rank, i), n]).sort((a, b) => a[0] - b[0]);
    let y = 0;
    let width = 0;
    order.forEach(([, node], i) => {
      const { width: w, height: h } = sizeOf(node);
      boxes.set(node.id, { x, y, width: w, height: h });
      rank.set(node.id, i);
      y += h + ROW_GAP;
      width = Math.max(width, w);
    });
    height = Math.max(height, y - ROW_GAP);
    x += width + COLUMN_GAP;
  }
  const column = new Map(result.nodes.map((n) => [n.id, n.generation]));
  const long = result.edges.some((e) => column.get(e.target) - column.get(e.source) > 1);
  const top = long ? BUS_GAP : 0;
  for (const box of boxes.values()) box.y += top;
  const edges = new Map();
  for (const e of result.edges) {
    const s = boxes.get(e.source);
    const t = boxes.get(e.target);
    const start = [s.x + s.width, s.y + s.height / 2];
    const end = [t.x, t.y + t.height / 2];
    const skips = column.get(e.target) - column.get(e.source) > 1;
    edges.set(e.id, skips ? [start, [start[0] + COLUMN_GAP / 2, top / 2],
      [end[0] - COLUMN_GAP / 2, top / 2], end] : [start, end]);
  }
  return { nodes: boxes, edges, width: Math.max(0, x - COLUMN_GAP), height: height + top,
    curve: "bump" };
}

// The mean place of a node's inputs in their columns; leaves keep their order.
function barycenter(node, rank, fallback) {
  const places = node.inputs.map((id) => rank.get(id)).filter((r) => r !== undefined);
  if (!places.length) return fallback;
  return places.reduce((a, b) => a + b, 0) / places.length + fallback * 1e-6;
}
