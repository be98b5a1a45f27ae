// The steps of one API answer as one timeline: one index per forward step, then one per
// backward step (index 0 is the first forward step). Pure: the renderer asks it what changed.

/** The timeline of a backprop answer (answer.js's inflated answer). A constant is not a
 * step: its value is known from the start, shown on its card beside the node that uses it.
 * An entry holds its phase, its node and its step's index; the step's record is written when
 * the player stands on it (`stepAt`). */
export function createTimeline(result) {
  const steps = [];
  result.nodes.forEach((n, i) => { if (n.op !== "const") steps.push({ phase: "forward", node: n.id, index: i }); });
  const forwardCount = steps.length;
  for (let s = 0; s < result.backwardCount; s++) {
    steps.push({ phase: "backward", node: result.backwardNode(s), index: s });
  }
  const valueAt = new Map();
  for (const n of result.nodes) if (n.op === "const") valueAt.set(n.id, -1);
  const gradAt = new Map();
  steps.forEach(({ phase, node }, i) => (phase === "forward" ? valueAt : gradAt).set(node, i));
  const stepAt = (k) => (steps[k].phase === "forward" ? result.forwardStep(steps[k].index)
    : result.backwardStep(steps[k].index));
  return { steps, total: steps.length, forwardCount, valueAt, gradAt, stepAt };
}

/** The timeline of a forward-mode answer: one index per tangent step (phase "tangent"), in
 * which the node gets its value and its tangent d node / d wrt together. Nodes without a
 * step (if the answer leaves some out) count as known from the start. */
export function createTangentTimeline(result) {
  const steps = (result.tangent?.steps ?? []).map((step) => ({ phase: "tangent", node: step.node, step }));
  const known = new Map();
  for (const n of result.nodes) known.set(n.id, 0);
  steps.forEach(({ node }, i) => known.set(node, i));
  return { steps, total: steps.length, forwardCount: steps.length, valueAt: known, gradAt: known,
    stepAt: (k) => steps[k].step };
}

/** The tangent of every node, by id, from a forward-mode answer (null where none is given). */
export function tangentsById(result) {
  const byId = new Map(result.nodes.map((n) => [n.id, null]));
  for (const step of result.tangent?.steps ?? []) byId.set(step.node, step.tangent);
  return byId;
}

/** What the timeline shows at `index`: the phase, the current step and node. */
export function frameAt(timeline, index) {
  const entry = timeline.steps[index];
  if (!entry) return { index: 0, phase: "forward", node: null, step: null };
  return { index, phase: entry.phase, node: entry.node, step: timeline.stepAt(index) };
}

/** Whether `node` has its value / its (complete) gradient at `index`. */
export function nodeStateAt(timeline, node, index) {
  const v = timeline.valueAt.get(node);
  const g = timeline.gradAt.get(node);
  return { value: v !== undefined && v <= index, grad: g !== undefined && g <= index };
}

/** Ids of the nodes whose card may differ between two indexes: the nodes of the steps in
 * between, and the nodes current or receiving at either end. Stepping redraws only these. */
export function changedNodes(timeline, from, to) {
  const ids = new Set();
  const [lo, hi] = from < to ? [from, to] : [to, from];
  for (let i = lo + 1; i <= hi; i++) ids.add(timeline.steps[i].node);
  for (const index of [from, to]) for (const id of involvedAt(timeline, index)) ids.add(id);
  return ids;
}

/** The current node at `index` and the nodes its step sends to (inputs in a backward step). */
export function involvedAt(timeline, index) {
  const { node, step, phase } = frameAt(timeline, index);
  if (!node) return [];
  const others = phase === "forward" ? step.inputs : (step.terms ?? []).map((t) => t.input);
  return [node, ...others];
}

/** The index of the first backward step (the seed); total if there is none. */
export function backwardStart(timeline) {
  return timeline.forwardCount;
}
