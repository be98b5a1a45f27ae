// Build a graph by hand: a small model of the program's nodes, {nodes: [{id, name, op,
// operands, value}]}, read from the answer for the text in the editor (fromAnswer) and written
// back as that text (toSource), so the graph built and the program never disagree. An op node
// whose operands are not all wired yet is written as a comment, `# unwired: b = sin(?)`, and
// read back from it. Pure: every edit returns a new model.

const UNWIRED = /^#\s*unwired:\s*([A-Za-z_]\w*)\s*=\s*([A-Za-z_]\w*)\((.*)\)\s*$/;
const NAME = /^[A-Za-z_]\w*$/;
const INPUT_NAMES = ["x", "y", "z", "w", "u", "v"];
const NODE_NAMES = ["a", "b", "c", "d", "f", "g", "h", "k", "m", "n", "p", "q", "r", "s", "t"];
const INPUT_VALUES = [1.5, 2, 0.5, -1, 3, 0.25];
const KEYWORDS = new Set(["def", "return", "lambda", "if", "else", "for", "in", "and", "or",
  "not", "True", "False", "None", "pi", "e"]);

/** The op table (GET /api/v1/ops) as the hand model reads it: name -> {arity, syntax, symbol,
 * template} (`template` the plain expression, `$u` and `$v` its operands). */
export function opTable(list) {
  return new Map(list.map((op) => [op.name, { arity: op.arity, syntax: op.syntax,
    symbol: op.symbol, template: op.expr.plain, description: op.description }]));
}

/** An empty model. */
export function emptyModel() {
  return { nodes: [] };
}

/** The model of the program `source` from its answer (the page's inflated answer: nodes with
 * id, op, name, inputs, value; null when the source had nothing to run), with the unwired
 * nodes its comments hold. */
export function fromAnswer(answer, source = answer?.source ?? "") {
  const nodes = (answer?.nodes ?? []).map((n) => ({
    id: n.id, name: n.name ?? null, op: n.op, operands: [...n.inputs],
    value: n.op === "input" || n.op === "const" ? n.value : null,
  }));
  const ids = new Map(nodes.filter((n) => n.name).map((n) => [n.name, n.id]));
  const unwired = [];
  for (const line of source.split("\n")) {
    const match = line.trim().match(UNWIRED);
    if (!match || ids.has(match[1])) continue;
    ids.set(match[1], `u:${match[1]}`);
    unwired.push(match);
  }
  for (const [, name, op, args] of unwired) {
    const id = ids.get(name);
    if (op === "const") {
      nodes.push({ id, name, op, operands: [], value: Number(args) });
      continue;
    }
    const operands = args.split(",").map((arg, k) => {
      const text = arg.trim();
      if (ids.has(text)) return ids.get(text);
      if (text === "" || text === "?" || !Number.isFinite(Number(text))) return null;
      const constant = { id: `${id}#${k}`, name: null, op: "const", operands: [], value: Number(text) };
      nodes.push(constant);
      return constant.id;
    });
    nodes.push({ id, name, op, operands, value: null });
  }
  return normalise({ nodes });
}

/** The program the model stands for: inputs first (`x = 1.5`), then one `name = expression`
 * line per named node, its unnamed operands written inside it, in an order where each name is
 * assigned before it is used; the last line is the output. Nodes not fully wired follow as
 * `# unwired:` comments. */
export function toSource(model, ops) {
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  const complete = completeness(model);
  const ordered = order(model);
  const lines = [];
  for (const n of ordered) {
    if (!n.name) continue;
    if (n.op === "input") lines.push(`${n.name} = ${literal(n.value)}`);
    else if (n.op !== "const" && complete.get(n.id)) lines.push(`${n.name} = ${expression(n, byId, ops, true)}`);
  }
  const used = new Set(model.nodes.flatMap((n) => n.operands));
  for (const n of ordered) {
    if (!n.name || n.op === "input" || (n.op === "const" ? used.has(n.id) : complete.get(n.id))) continue;
    const args = n.op === "const" ? [literal(n.value)]
      : n.operands.map((id) => (id === null ? "?" : reference(byId.get(id))));
    lines.push(`# unwired: ${n.name} = ${n.op}(${args.join(", ")})`);
  }
  return lines.join("\n");
}

/** Add a node of `op` ("input", "const" or an op of the table), named and valued by default;
 * returns {model, id}. */
export function addNode(model, op, ops) {
  const isInput = op === "input";
  if (!isInput && op !== "const" && !ops.has(op)) throw new Error(`There is no op ${op}.`);
  const name = freshName(model, isInput ? INPUT_NAMES : NODE_NAMES);
  const inputs = model.nodes.filter((n) => n.op === "input").length;
  const value = isInput ? INPUT_VALUES[inputs % INPUT_VALUES.length] : op === "const" ? 2 : null;
  const operands = isInput || op === "const" ? [] : Array(ops.get(op).arity).fill(null);
  const node = { id: `u:${name}`, name, op, operands, value };
  return { model: normalise({ nodes: [...model.nodes, node] }), id: node.id };
}

/** Wire node `from` into operand `position` of node `to` (replacing what was there);
 * refused when `to` feeds `from` already (a cycle). */
export function connect(model, from, to, position) {
  if (from === to || feeds(model, to, from)) {
    throw new Error(`${label(model, from)} cannot feed ${label(model, to)}: ${label(model, to)} already feeds it.`);
  }
  const nodes = model.nodes.map((n) => (n.id !== to ? n
    : { ...n, operands: n.operands.map((id, k) => (k === position ? from : id)) }));
  return normalise({ nodes }, from);
}

/** Unwire operand `position` of node `to`. */
export function disconnect(model, to, position) {
  return normalise({ nodes: model.nodes.map((n) => (n.id !== to ? n
    : { ...n, operands: n.operands.map((id, k) => (k === position ? null : id)) })) });
}

/** Delete node `id`; the operands it filled become unwired. */
export function remove(model, id) {
  return normalise({ nodes: model.nodes.filter((n) => n.id !== id)
    .map((n) => ({ ...n, operands: n.operands.map((o) => (o === id ? null : o)) })) });
}

/** Rename node `id`; refused when `name` is not a name or is taken. */
export function rename(model, id, name, ops) {
  const clean = name.trim();
  if (!NAME.test(clean) || KEYWORDS.has(clean) || ops.has(clean)) {
    throw new Error(`${JSON.stringify(clean)} cannot be a name: letters, digits and _, not an op's name.`);
  }
  if (model.nodes.some((n) => n.name === clean && n.id !== id)) throw new Error(`${clean} is taken.`);
  return normalise({ nodes: model.nodes.map((n) => (n.id === id ? { ...n, name: clean } : n)) });
}

/** Set the value of an input or a constant. */
export function setValue(model, id, value) {
  if (!Number.isFinite(value)) throw new Error("A value is a number.");
  return { nodes: model.nodes.map((n) => (n.id === id ? { ...n, value } : n)) };
}

/** The operand slots node `from` may be wired into: [{id, position}] of every op node's
 * operands, but not the ones that would make a cycle or that hold `from` already. */
export function targets(model, from) {
  return model.nodes.flatMap((n) => (n.id === from || feeds(model, n.id, from) ? []
    : n.operands.flatMap((id, position) => (id === from ? [] : [{ id: n.id, position }]))));
}

/** A node's name, else its op's symbol or its value (an unnamed constant). */
export function label(model, id) {
  const n = model.nodes.find((m) => m.id === id);
  if (!n) return "?";
  return n.name ?? (n.op === "const" ? literal(n.value) : n.op);
}

/** How deep each node stands: 0 for inputs and constants, 1 for an op with no operand wired,
 * else one more than its deepest operand (the columns of the hand view). */
export function depths(model) {
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  const depth = new Map();
  const visit = (n) => {
    if (depth.has(n.id)) return depth.get(n.id);
    depth.set(n.id, 0); // cycles cannot be built, but a text's mistakes must not hang us
    const wired = n.operands.filter((o) => o !== null && byId.has(o));
    const base = n.operands.length ? 1 : 0; // an op stands right of the inputs, wired or not
    const d = wired.length ? 1 + Math.max(...wired.map((o) => visit(byId.get(o)))) : base;
    depth.set(n.id, d);
    return d;
  };
  model.nodes.forEach(visit);
  return depth;
}

// Whether node `a` feeds node `b` (b depends on a), through any number of ops.
function feeds(model, a, b) {
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  const seen = new Set();
  const stack = [b];
  while (stack.length) {
    const id = stack.pop();
    if (id === a) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const o of byId.get(id)?.operands ?? []) if (o !== null) stack.push(o);
  }
  return false;
}

// Every unnamed op node that is not written inside exactly one complete consumer gets a name
// (the program's bare last line, a node wired a second time); `named` is always named, and
// unnamed constants no longer used go.
function normalise(model, named = null) {
  const uses = new Map();
  for (const n of model.nodes) for (const o of n.operands) if (o !== null) uses.set(o, (uses.get(o) ?? 0) + 1);
  let nodes = model.nodes.filter((n) => n.name || n.op !== "const" || uses.get(n.id));
  const complete = completeness({ nodes });
  const consumer = new Map();
  for (const n of nodes) for (const o of n.operands) if (o !== null) consumer.set(o, n);
  nodes = nodes.map((n) => {
    if (n.name || n.op === "const") return n;
    const inside = uses.get(n.id) === 1 && complete.get(consumer.get(n.id).id) && n.id !== named;
    return inside ? n : { ...n, name: null, pendingName: true };
  });
  const result = { nodes: [] };
  for (const n of nodes) {
    if (!n.pendingName) { result.nodes.push(n); continue; }
    const { pendingName, ...rest } = n;
    result.nodes.push({ ...rest, name: freshName({ nodes: [...result.nodes, ...nodes] }, NODE_NAMES) });
  }
  return result;
}

// Which nodes can be written as a statement: inputs, constants, and ops whose operands are all
// wired to complete nodes.
function completeness(model) {
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  const complete = new Map();
  const visit = (n) => {
    if (complete.has(n.id)) return complete.get(n.id);
    complete.set(n.id, false);
    const ok = n.operands.every((o) => o !== null && byId.has(o) && visit(byId.get(o)));
    complete.set(n.id, ok);
    return ok;
  };
  model.nodes.forEach(visit);
  return complete;
}

// Inputs first, then every other node after its operands, in the model's order otherwise.
function order(model) {
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  const out = [];
  const placed = new Set();
  const place = (n) => {
    if (placed.has(n.id)) return;
    placed.add(n.id);
    for (const o of n.operands) if (o !== null && byId.has(o)) place(byId.get(o));
    out.push(n);
  };
  model.nodes.filter((n) => n.op === "input").forEach(place);
  model.nodes.forEach(place);
  return out;
}

function expression(n, byId, ops, top = false) {
  if (n.op === "const") return literal(n.value); // a constant is its number, named or not
  if (!top && n.name) return n.name;
  const op = ops.get(n.op);
  if (!op) throw new Error(`There is no op ${n.op}.`);
  const [u, v] = n.operands.map((id) => {
    const child = byId.get(id);
    const text = expression(child, byId, ops);
    const atomic = (child.name && child.op !== "const") || ops.get(child.op)?.syntax === "function"
      || (child.op === "const" && !text.startsWith("-"));
    return op.syntax === "function" || atomic ? text : `(${text})`;
  });
  return op.template.replaceAll("$u", u).replaceAll("$v", v ?? "");
}

function reference(n) {
  return n.op === "const" ? literal(n.value) : n.name ?? "?";
}

function literal(value) {
  return Array.isArray(value) ? JSON.stringify(value) : String(value);
}

function freshName(model, names) {
  const taken = new Set(model.nodes.map((n) => n.name));
  const free = names.find((name) => !taken.has(name));
  if (free) return free;
  for (let k = 1; ; k++) {
    const name = `${names[0]}${k}`;
    if (!taken.has(name)) return name;
  }
}
