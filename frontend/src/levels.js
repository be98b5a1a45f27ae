// The answer's tree of groups (statements, layers, neurons, samples, function calls, modules)
// as levels of the picture: a closed group is one box with its name, its size and, once the
// backward pass has been through it, the norm of its gradient; an open group shows its
// children in a frame. A program of statements alone folds by the same tree, a closed
// statement drawn as its root's card. Pure: graph-panel.js lays the result out, render.js
// draws it, the player steps by it.

/** The tree of `result.groups` (the answer's columns: kind, name, parent, span, node_group):
 * {groups: [{index, kind, name, parent, span, children, nodes, size, params}], top, of} where
 * `nodes` are a group's own node ids (not its children's), `size` counts every node under it,
 * `params` its inputs under it (weights and biases), `top` the groups without a parent and
 * `of` the innermost group of each node index (-1 for none). Without groups, a tree of none. */
export function treeOf(result) {
  const columns = result.groups;
  if (!columns || !columns.kind.length) {
    return { groups: [], top: [], of: new Int32Array(result.nodes.length).fill(-1) };
  }
  const groups = columns.kind.map((kind, index) => ({
    index, kind, name: columns.name[index], parent: columns.parent[index], span: columns.span[index],
    children: [], nodes: [], size: 0, params: [],
  }));
  const top = [];
  for (const g of groups) (g.parent >= 0 ? groups[g.parent].children : top).push(g.index);
  const of = Int32Array.from(columns.node_group);
  const ops = result.compact?.columns?.nodes?.op;
  const isInput = (i) => (ops ? ops[i] : result.nodes[i].op) === "input";
  result.nodes.forEach((n, i) => {
    for (let k = of[i]; k >= 0; k = groups[k].parent) groups[k].size++;
  });
  // A group's parameters: the inputs it uses, wherever they stand (inside it, in another
  // statement, in no group as torch's weights are), and any input inside it.
  const inputs = inputsOf(result);
  const sets = groups.map(() => new Set());
  const add = (src, k) => { // every addition walks to the root: a group holding it ends the walk
    for (; k >= 0 && !sets[k].has(src); k = groups[k].parent) sets[k].add(src);
  };
  inputs.forEach((srcs, dst) => {
    if (isInput(dst)) add(dst, of[dst]);
    if (of[dst] < 0) return;
    for (const src of srcs) if (isInput(src)) add(src, of[dst]);
  });
  for (const [k, set] of sets.entries()) {
    groups[k].params = [...set].sort((a, b) => a - b).map((i) => result.nodes[i].id);
  }
  result.nodes.forEach((n, i) => { if (of[i] >= 0) groups[of[i]].nodes.push(n.id); });
  return { groups, top, of };
}

/** Whether the tree is more than the program's statements (which fold as their root cards):
 * a layer, a neuron, a call, a module... */
export function hasLevels(tree) {
  return Boolean(tree?.groups.some((g) => g.kind !== "statement"));
}

/** A statement's root: the node index it assigns (or the output, for a last line that is an
 * expression alone), made after the others of its group. */
export function rootOf(tree, k) {
  return Number(tree.groups[k].nodes.at(-1).slice(1));
}

/** The graph at the level where the groups in `open` (a Set of group indexes) are open:
 * {nodes, edges, hidden, boxes, frames}. A node inside a closed group is hidden behind that
 * group's box (`hidden`: node id -> box id `g<k>`); the edges between two boxes, or a box and
 * a node, are one edge with their `count`; `frames` are the open groups, each with the ids
 * shown inside it (`members`) and its parent frame, for a layout that draws them nested.
 * With `roots` (a tree of statements alone), a closed group is its root's card instead
 * (`hidden`: node id -> root id), each edge into it kept, in the answer's order, and an open
 * one has no frame. Linear in the answer's size, over its columns: a 66,000-node network
 * folds in a few ms. */
export function foldTree(result, tree, open, { roots = false, picks = new Map() } = {}) {
  const shownAs = new Int32Array(tree.groups.length); // the closed group standing for a group, or -1
  const batches = roots ? new Map() : batchesOf(result, tree);
  const shownBatches = [];
  const copyShownAs = new Map(); // a copy of an open batch: -1 (the picked one), or the box of the rest
  for (const g of tree.groups) {
    const above = g.parent >= 0 ? shownAs[g.parent] : -1;
    shownAs[g.index] = above >= 0 ? above : copyShownAs.get(g.index) ?? (open.has(g.index) ? -1 : g.index);
    // An open batch shows its picked copy open, the others as one box (the first of them).
    const batch = batches.get(g.index);
    if (!batch || shownAs[g.index] >= 0) continue;
    const pick = pickOf(batch, picks);
    const rest = batch.copies.find((c) => c !== batch.copies[pick]);
    for (const c of batch.copies) copyShownAs.set(c, c === batch.copies[pick] ? -1 : rest);
    shownBatches.push({ group: g.index, pick, rest });
  }
  const isOpen = (k) => open.has(k) || shownAs[k] < 0;
  const inputs = inputsOf(result);
  const count = inputs.length;
  const box = new Int32Array(count); // the box a node is hidden in, or -1
  for (let i = 0; i < count; i++) box[i] = tree.of[i] >= 0 ? shownAs[tree.of[i]] : -1;
  // The id drawn for a closed group's nodes: its box, or its root's card (the root shown).
  const standIn = tree.groups.map((g) => (roots ? `n${rootOf(tree, g.index)}` : `g${g.index}`));
  if (roots) for (const g of tree.groups) if (shownAs[g.index] === g.index) box[rootOf(tree, g.index)] = -1;
  const hidden = new Hidden(box, standIn);
  const nodes = [];
  const boxes = [];
  const placed = new Uint8Array(tree.groups.length);
  const frameOf = new Map(); // shown id -> the open group it is drawn in
  const visibleParent = (k) => (k >= 0 && shownAs[k] < 0 ? k : -1);
  const records = box.some((k) => k < 0) ? result.nodes : null;
  for (let i = 0; i < count; i++) {
    const k = box[i];
    if (k < 0) {
      const n = records[i];
      nodes.push(n);
      if (tree.of[i] >= 0) frameOf.set(n.id, tree.of[i]);
      continue;
    }
    if (roots || placed[k]) continue;
    placed[k] = 1;
    const batch = shownBatches.find((b) => b.rest === k);
    const record = batch ? restRecord(tree, batches.get(batch.group), batch) : boxRecord(tree, k);
    boxes.push(record);
    nodes.push(record);
    const parent = visibleParent(tree.groups[k].parent);
    if (parent >= 0) frameOf.set(record.id, parent);
  }
  const edges = edgesOf(inputs, box, standIn, roots);
  if (roots) return { nodes, edges, hidden, boxes, frames: [] };
  const picked = new Map(shownBatches.map((b) => [batches.get(b.group).copies[b.pick], b]));
  const frames = tree.groups.filter((g) => shownAs[g.index] < 0 && isOpen(g.index)).map((g) => ({
    group: g.index, id: `f${g.index}`, name: g.name, kind: g.kind, parent: visibleParent(g.parent),
    members: [], ...(picked.has(g.index) ? { pick: pickText(batches.get(picked.get(g.index).group), picked.get(g.index).pick) } : {}),
  }));
  const byGroup = new Map(frames.map((f) => [f.group, f]));
  for (const [id, k] of frameOf) byGroup.get(k)?.members.push(id);
  // The box of a batch's other copies is drawn as a plate is: the weights its copies share with
  // the one shown (the batch's own nodes) feed the one shown, not the box as well; an edge
  // between the box and another node stands for one per copy, as the box's name says, and its
  // count goes unwritten.
  const drop = new Set();
  for (const b of shownBatches) {
    const count = batches.get(b.group).copies.length - 1;
    const rest = `g${b.rest}`;
    const own = new Set(tree.groups[b.group].nodes);
    for (const e of edges) {
      if (e.source !== rest && e.target !== rest) continue;
      if (own.has(e.source) || own.has(e.target)) drop.add(e);
      else if (e.count === count) e.quiet = true;
    }
  }
  const kept = drop.size ? edges.filter((e) => !drop.has(e)) : edges;
  return { nodes, edges: kept, hidden, boxes, frames: frames.filter((f) => f.members.length || hasChildFrame(f, frames)),
    batches: shownBatches.map((b) => ({ ...b, ...batches.get(b.group) })) };
}

/** Copies below this many are drawn each as its own box. */
export const MIN_BATCH = 4;

/** The groups whose children are copies of one computation (micrograd's samples: a neuron run
 * on each point of the data): at least MIN_BATCH children of one kind, none with children of
 * its own, whose nodes compute the same thing (nodes matched by `shapeKeys`, whatever the order
 * they were made in). Map group index -> {group, copies: child group indexes, kind, nodes:
 * each copy's node indexes, matched place by place}; kept on the tree. */
export function batchesOf(result, tree) {
  if (tree.batches) return tree.batches;
  tree.batches = new Map();
  let keys = null;
  for (const g of tree.groups) {
    if (g.children.length < MIN_BATCH) continue;
    const copies = g.children.map((c) => tree.groups[c]);
    const kind = copies[0].kind;
    if (copies.some((c) => c.kind !== kind || c.children.length || c.nodes.length !== copies[0].nodes.length)) continue;
    keys ??= shapeKeys(result, tree);
    const lists = copies.map((c) => c.nodes.map((id) => Number(id.slice(1))));
    const order = lists[0].map((i) => keys[i]);
    const nodes = lists.map((list) => matched(list, order, keys));
    if (nodes.every(Boolean)) tree.batches.set(g.index, { group: g.index, copies: g.children, kind, nodes });
  }
  return tree.batches;
}

// Node indexes `list` put in the order of `order` (a list of keys) by their keys, or null
// where the keys differ; nodes of one key keep the order they come in.
function matched(list, order, keys) {
  const byKey = new Map();
  for (const i of list) (byKey.get(keys[i]) ?? byKey.set(keys[i], []).get(keys[i])).push(i);
  const out = [];
  for (const key of order) {
    const same = byKey.get(key);
    if (!same?.length) return null;
    out.push(same.shift());
  }
  return out;
}

/** What each node computes, as a number equal for two nodes when they apply the same op to
 * inputs that compute the same: the same input (a weight two copies share, an input in no
 * group), or inputs at the same place of groups of one kind and parent (each sample's own x0).
 * Operands count in any order: micrograd builds `w * x` on one sample and `x * w` on another
 * (a copy computing `a - b` where another computes `b - a` would match too: the price). Nodes
 * come in topological order; linear in the answer's size. */
export function shapeKeys(result, tree) {
  const ops = result.compact?.columns?.nodes?.op ?? result.nodes.map((n) => n.op);
  const inputs = inputsOf(result);
  const interned = new Map();
  const keys = new Int32Array(inputs.length);
  const intern = (text) => interned.get(text) ?? interned.set(text, interned.size).get(text);
  // An input is known by its place: the kind and parent of its group and its rank in it (a
  // sample's x0 in the data, a neuron's w1), so that each copy's own data matches.
  const rank = new Map();
  const seen = new Int32Array(tree.groups.length);
  inputs.forEach((srcs, i) => {
    const k = tree.of[i];
    if (k >= 0 && ops[i] === "input") rank.set(i, seen[k]++);
  });
  inputs.forEach((srcs, i) => {
    const k = tree.of[i];
    if (ops[i] === "input") {
      keys[i] = intern(k < 0 ? `#${i}` : `in:${tree.groups[k].kind}:${tree.groups[k].parent}:${rank.get(i)}`);
      return;
    }
    keys[i] = intern(`${ops[i]}(${srcs.map((src) => keys[src]).sort((a, b) => a - b).join()})`);
  });
  return keys;
}

// The copy picked in a batch (`picks`: group index -> position among its copies; 0 unless picked).
function pickOf(batch, picks) {
  const pick = picks.get(batch.group) ?? 0;
  return Math.min(Math.max(0, pick), batch.copies.length - 1);
}

/** The batch a group is shown from, by its group index: each copy's node standing at the
 * same place as node index `i` of the picked copy, or null when `i` is in no copy. */
export function batchColumn(batch, i) {
  const position = batch.nodes[batch.pick].indexOf(i);
  return position < 0 ? null : batch.nodes.map((list) => list[position]);
}

function pickText(batch, pick) {
  return `${pick + 1} of ${batch.copies.length} ${plural(batch.kind, batch.copies.length)}`;
}

// The box standing for a batch's copies but the picked one.
function restRecord(tree, batch, shown) {
  const count = batch.copies.length - 1;
  const label = `${count} other ${plural(batch.kind, count)}`;
  return { id: `g${shown.rest}`, op: "group", group: shown.rest, label, name: label, symbol: label,
    batch: { parent: shown.group, count, kind: batch.kind },
    inputs: [], shape: [], requires_grad: true, value: null, grad: null };
}

// The edges drawn when each node index i is hidden in closed group box[i] (-1: shown), drawn
// as standIn[box[i]]: an edge between two shown nodes is itself; those a box gathers are one
// edge with their count, unless the groups stand as their `roots` (then each is kept, and
// all are in the answer's order).
function edgesOf(inputs, box, standIn, roots) {
  const count = inputs.length;
  const edges = [];
  const merged = new Map();
  // Edge ids as the answer's edge list numbers them: by source, then target and position.
  const offset = new Int32Array(count + 1);
  for (let dst = 0; dst < count; dst++) for (const src of inputs[dst]) offset[src + 1]++;
  for (let i = 0; i < count; i++) offset[i + 1] += offset[i];
  for (let dst = 0; dst < count; dst++) {
    inputs[dst].forEach((src, position) => {
      const id = offset[src]++;
      const s = box[src];
      const t = box[dst];
      if (s >= 0 && s === t) return;
      const source = s >= 0 ? standIn[s] : `n${src}`;
      const target = t >= 0 ? standIn[t] : `n${dst}`;
      if (source === target) return; // into its own root
      if (s < 0 && t < 0) {
        edges.push({ id: `e${id}`, source, target, position });
        return;
      }
      // `from` and `to` keep the edge's own ends, for the steps that run along it.
      if (roots) {
        edges.push({ id: `e${id}`, source, target, position, from: `n${src}`, to: `n${dst}` });
        return;
      }
      const key = `${source}>${target}`;
      const seen = merged.get(key);
      if (seen) { seen.count++; return; }
      const edge = { id: `a${key}`, source, target, position, from: `n${src}`, to: `n${dst}`, count: 1 };
      merged.set(key, edge);
      edges.push(edge);
    });
  }
  if (roots) edges.sort((a, b) => a.id.slice(1) - b.id.slice(1));
  return edges;
}

// Each node's inputs by index: the answer's column, or its records' ids.
function inputsOf(result) {
  return result.compact?.columns?.nodes?.inputs
    ?? result.nodes.map((n) => n.inputs.map((id) => Number(id.slice(1))));
}

/** Which nodes a closed group hides, as a Map from node id to the id drawn for them would say
 * it, over an array: `box` the closed group of each node index (-1: shown), `standIn` the id
 * drawn for each group's hidden nodes. */
class Hidden {
  constructor(box, standIn) {
    this.box = box;
    this.standIn = standIn;
    this.size = box.reduce((n, k) => n + (k >= 0 ? 1 : 0), 0);
  }

  get(id) {
    const k = this.box[Number(id.slice(1))];
    return id[0] === "n" && k >= 0 ? this.standIn[k] : undefined;
  }

  has(id) {
    return this.get(id) !== undefined;
  }

  /** The ids of the boxes, once each. */
  values() {
    return new Set([...this.box].filter((k) => k >= 0).map((k) => this.standIn[k])).values();
  }
}

function hasChildFrame(frame, frames) {
  return frames.some((f) => f.parent === frame.group);
}

function boxRecord(tree, k) {
  const group = tree.groups[k];
  return { id: `g${k}`, op: "group", group: k, label: group.name, name: group.name,
    symbol: shortName(tree, k), inputs: [], shape: [], requires_grad: true, value: null, grad: null };
}

/** A group's name where its parent's frame already says the rest: `neurons[3]` inside
 * `layers[1]` for `layers[1].neurons[3]`. */
export function shortName(tree, k) {
  const g = tree.groups[k];
  const parent = g.parent >= 0 ? tree.groups[g.parent].name : "";
  return parent && g.name.startsWith(`${parent}.`) ? g.name.slice(parent.length + 1) : g.name;
}

/** The groups to open so that the one holding node index `i` is shown: its ancestors. */
export function pathTo(tree, i) {
  const path = [];
  for (let k = tree.of[i]; k >= 0; k = tree.groups[k].parent) path.push(k);
  return path.reverse();
}

/** What ‖∂L/∂θ‖ and ‖∂L/∂out‖ measure, in words, by a box summary's `of`. */
export const NORM_MEANING = {
  "θ": "the size of the gradient of L with respect to this group's parameters (every input it " +
    "uses, wherever it stands)",
  out: "the size of the gradient of L with respect to the values leaving this group (it uses no " +
    "parameters)",
};

/** What a closed group's box says: its kind and size, and the norm of the gradient of its
 * parameters (of its nodes whose gradient leaves it, where it has none), by node index:
 * `grads` gives a node's gradient (a number or nested arrays) by id. */
export function boxSummary(tree, k, result, grads) {
  const g = tree.groups[k];
  const childKinds = new Map();
  for (const c of g.children) {
    const kind = tree.groups[c].kind;
    childKinds.set(kind, (childKinds.get(kind) ?? 0) + 1);
  }
  const parts = [...childKinds].map(([kind, n]) => `${n} ${plural(kind, n)}`);
  if (!parts.length || g.nodes.length) parts.push(`${g.size} ${plural("node", g.size)}`);
  const ids = g.params.length ? g.params : outputsOf(tree, k, result);
  let sum = 0;
  for (const id of ids) sum += squares(grads(id));
  return { text: parts.join(", "), norm: Math.sqrt(sum), of: g.params.length ? "θ" : "out",
    params: g.params.length };
}

// The nodes whose value leaves group k (to a node outside it), and the output if it is in
// k; all groups' computed in one pass over the answer's inputs, kept on the tree.
function outputsOf(tree, k, result) {
  if (!tree.outputs) {
    tree.outputs = tree.groups.map(() => new Set());
    const inputs = inputsOf(result);
    const chain = (i) => {
      const out = [];
      for (let j = tree.of[i]; j >= 0; j = tree.groups[j].parent) out.push(j);
      return out;
    };
    inputs.forEach((srcs, dst) => {
      if (!srcs.length) return;
      const to = chain(dst);
      for (const src of srcs) {
        if (tree.of[src] === tree.of[dst]) continue;
        for (const j of chain(src)) if (!to.includes(j)) tree.outputs[j].add(`n${src}`);
      }
    });
    const out = result.output?.node;
    if (out) for (const j of chain(Number(out.slice(1)))) tree.outputs[j].add(out);
  }
  return [...tree.outputs[k]];
}

function squares(v) {
  if (v === null || v === undefined) return 0;
  if (Array.isArray(v)) return v.reduce((s, x) => s + squares(x), 0);
  return Number.isFinite(v) ? v * v : 0;
}

/** "neuron" -> "neurons" for n != 1 (kinds are English nouns). */
export function plural(word, n) {
  return n === 1 ? word : word.endsWith("s") ? word : `${word}s`;
}

/** The steps the player stands on at this level: the last step of each run of consecutive
 * steps whose node is shown as the same card or box (so a box's run is one step, and a node
 * shown as itself is its own step). `shownAs(node id)` -> the id drawn for it. */
export function stopsOf(timeline, shownAs) {
  const stops = [];
  let previous = null;
  timeline.steps.forEach((step, k) => {
    const id = shownAs(step.node);
    if (k > 0 && (id !== previous || timeline.steps[k - 1].phase !== step.phase)) stops.push(k - 1);
    previous = id;
  });
  if (timeline.steps.length) stops.push(timeline.steps.length - 1);
  return Int32Array.from(stops);
}

/** The run of steps a stop closes: [first, last] indexes of the steps shown as the same box. */
export function runAt(stops, index) {
  let lo = 0;
  let hi = stops.length - 1;
  while (lo < hi) { // the first stop >= index
    const mid = (lo + hi) >> 1;
    if (stops[mid] < index) lo = mid + 1; else hi = mid;
  }
  return [lo > 0 ? stops[lo - 1] + 1 : 0, stops[lo] ?? index];
}
