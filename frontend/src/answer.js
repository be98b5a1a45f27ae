// The compact answer (API v2) as the page reads it: the nodes and edges as record arrays
// (made on first use, once), the steps as records made when asked for (records.js), and the
// answer's other fields as they are. Every reader (the page, the embed view, the offline file,
// the notebook widget) inflates the answer it holds with this, and nothing else reads columns.

import { createRenderer } from "./records.js";

const CACHED_STEPS = 256; // step records kept, the most recently asked for

/** The answer as the page reads it; `compact` is the answer itself (for Export JSON and the
 * offline file). */
export function inflate(compact) {
  const renderer = createRenderer(compact);
  const { steps } = compact.columns;
  const cache = new Map();
  let nodes = null;
  let edges = null;

  const cached = (key, make) => {
    let record = cache.get(key);
    if (record === undefined) {
      record = make();
      if (cache.size >= CACHED_STEPS) cache.delete(cache.keys().next().value);
      cache.set(key, record);
    }
    return record;
  };

  return {
    compact,
    source: compact.source,
    output: compact.output,
    seed: compact.seed,
    gradients: compact.gradients,
    check: compact.check,
    warnings: compact.warnings,
    cost: compact.cost,
    tangent: compact.tangent,
    jacobian: compact.jacobian,
    groups: compact.groups ?? null,
    grade: compact.grade ?? null,
    memory: compact.memory ?? null,

    /** Every node as a record ({id, op, label, symbol, name, inputs, expr, value, grad, ...}). */
    get nodes() {
      return (nodes ??= Array.from({ length: renderer.nodeCount }, (_, i) => renderer.node(i)));
    },

    /** Every edge as a record ({id, source, target, position}). */
    get edges() {
      return (edges ??= renderer.edges());
    },

    /** How many forward steps (one per node, constants included) and backward steps. */
    forwardCount: renderer.nodeCount,
    backwardCount: renderer.backwardCount,

    /** The id of the node backward step s visits. */
    backwardNode: (s) => `n${steps.node[s]}`,

    /** Node i's forward step and backward step s, written when first asked for. */
    forwardStep: (i) => cached(`f${i}`, () => renderer.forward(i)),
    backwardStep: (s) => cached(`b${s}`, () => renderer.backward(s)),
  };
}
