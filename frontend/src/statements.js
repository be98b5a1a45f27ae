// The statements of a program (`name = expression` lines) as groups of graph nodes, and the
// graph with some statements folded into one box. Pure: the layout and the renderer use it.

/** The statements of an answer: [{index, root, name, nodes: [ids], span}] in source order,
 * `root` the node the statement assigns (or the output when the last line is an expression),
 * `nodes` the root and the unnamed nodes (constants included) computed for it. Inputs belong to
 * no statement. `of`: Map node id -> statement index. A single expression is one statement. */
export function statementsOf(result) {
  const byId = new Map(result.nodes.map((n) => [n.id, n]));
  const roots = result.nodes.filter((n) => n.op !== "input" && (n.name || n.id === result.output.node));
  const of = new Map();
  const list = roots.map((root, index) => {
    const nodes = [];
    const stack = [root.id];
    while (stack.length) {
      const id = stack.pop();
      if (of.has(id)) continue;
      of.set(id, index);
      nodes.push(id);
      for (const input of byId.get(id).inputs) {
        const n = byId.get(input);
        if (n.op !== "input" && !n.name && !of.has(input)) stack.push(input);
      }
    }
    return { index, root: root.id, name: root.name ?? null, nodes, span: root.span };
  });
  return { list, of };
}

/** The graph as drawn with the statements in `folded` (a Set of statement indexes) folded:
 * {nodes, edges, hidden}. A folded statement is its root's card alone; an edge into one of its
 * nodes from outside goes to the root, an edge inside it is not drawn. `hidden`: Map node id
 * -> the root standing for it. */
export function foldGraph(result, statements, folded) {
  const hidden = new Map();
  for (const index of folded) {
    const s = statements.list[index];
    if (!s) continue;
    for (const id of s.nodes) if (id !== s.root) hidden.set(id, s.root);
  }
  if (!hidden.size) return { nodes: result.nodes, edges: result.edges, hidden };
  const shown = (id) => hidden.get(id) ?? id;
  const edges = [];
  for (const e of result.edges) {
    const source = shown(e.source);
    const target = shown(e.target);
    if (source === target || hidden.has(e.target) && hidden.has(e.source)) continue;
    // `from` and `to` keep the edge's own ends, for the steps that run along it.
    edges.push(source === e.source && target === e.target ? e
      : { ...e, source, target, from: e.source, to: e.target });
  }
  return { nodes: result.nodes.filter((n) => !hidden.has(n.id)), edges, hidden };
}

/** Statements worth folding: those of more than one node. */
export function foldable(statements) {
  return statements.list.filter((s) => s.nodes.length > 1).map((s) => s.index);
}
