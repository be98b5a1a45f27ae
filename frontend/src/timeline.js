// The steps of one API answer as one timeline: one index per forward step, then one per
// backward step (index 0 is the first forward step). Pure: the renderer asks it what changed.

/** The timeline of a backprop answer. */
export function createTimeline(result) {
  const steps = [
    ...result.forward.map((step) => ({ phase: "forward", node: step.node, step })),
    ...result.backward.map((step) => ({ phase: "backward", node: step.node, step })),
  ];
  const valueAt = new Map();
  const gradAt = new Map();
  steps.forEach(({ phase, node }, i) => (phase === "forward" ? valueAt : gradAt).set(node, i));
  return { steps, total: steps.length, forwardCount: result.forward.length, valueAt, gradAt };
}

/** What the timeline shows at `index`: the phase, the current step and node. */
export function frameAt(timeline, index) {
  const entry = timeline.steps[index];
  if (!entry) return { index: 0, phase: "forward", node: null, step: null };
  return { index, phase: entry.phase, node: entry.node, step: entry.step };
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
  const others = phase === "backward" ? step.terms.map((t) => t.input) : step.inputs;
  return [node, ...others];
}

/** The index of the first backward step (the seed); total if there is none. */
export function backwardStart(timeline) {
  return timeline.forwardCount;
}
