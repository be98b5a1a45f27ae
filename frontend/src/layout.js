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

/** Lay an answer out with `elk` (an ELK instance); resolves to fromElkGraph's positions. */
export async function layoutGraph(result, elk, sizeOf) {
  return fromElkGraph(await elk.layout(toElkGraph(result, sizeOf)));
}
