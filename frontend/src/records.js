// The JS renderer: any record of a compact answer (API v2), written exactly as
// backend/chainrule/answer/records.py writes it (the v1 answer's nodes, edges, forward and
// backward steps), from the answer's own sentence templates and op entries. It decides nothing:
// each term's kind (which templates it fills) and the brackets' precedences come with the
// answer; it fills them. Pure: no DOM.
//
// Lazy: loading an answer is one pass over its term column (each term's previous term into
// the same operand, and its count); a step's terms, formulas and sentences are written when
// that step is asked for. tests/test_records_js.py checks it against records.py.

import { formatG } from "./pyformat.js";

const SHORT_VECTOR = 4; // vectors up to this length are written out in sentences
const NON_FINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
const SLOT = /\{(\w+)\}/g;
const PLACEHOLDER = /\$([uvy])/g;

/** A value as the API writes it (NaN as a string, arrays as nested lists) as JS numbers;
 * null (no value) is NaN, as numpy reads it. */
export function decode(value) {
  if (typeof value === "string") return NON_FINITE[value];
  if (Array.isArray(value)) return value.map(decode);
  return value ?? NaN;
}

/** The inverse of decode: non-finite numbers as the strings the API uses. */
export function encode(value) {
  if (Array.isArray(value)) return value.map(encode);
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

function shapeOf(value) {
  const shape = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}

const zeros = (shape) => (shape.length ? Array.from({ length: shape[0] }, () => zeros(shape.slice(1))) : 0);
const add = (a, b) => (Array.isArray(a) || Array.isArray(b)
  ? (Array.isArray(a) ? a : b).map((_, k) => add(Array.isArray(a) ? a[k] : a, Array.isArray(b) ? b[k] : b))
  : a + b);

/** Python's str() of what a template slot gets: a number, a string, or a list such as [2, 3]. */
const pyStr = (v) => (Array.isArray(v) ? `[${v.map(pyStr).join(", ")}]` : String(v));

/** A template with its `{slot}`s filled (a slot not given stays as it is), as narration.say. */
export function say(template, fields) {
  return template.replace(SLOT, (whole, slot) => (slot in fields ? pyStr(fields[slot]) : whole));
}

/** A number for a sentence (records.short): 4 significant digits as Python writes them; a
 * vector of up to 4 written out; else the `array` template with its shape. */
export function short(value, arrayTemplate) {
  const shape = shapeOf(value);
  const flat = shape.length ? value.flat(Infinity) : [value];
  if (flat.length === 1) return formatG(flat[0], 4);
  if (shape.length === 1 && flat.length <= SHORT_VECTOR) return `[${flat.map((x) => formatG(x, 4)).join(", ")}]`;
  return say(arrayTemplate, { shape: shape.join("×") });
}

const compiled = new Map();

/** A formula template cut at its placeholders, as templates.template_parts: [text before, slot,
 * already enclosed (by brackets or a call's argument list)], then [the rest, "", false]. */
export function templateParts(text) {
  let parts = compiled.get(text);
  if (parts) return parts;
  parts = [];
  let start = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const before = text.slice(0, m.index);
    const after = text.slice(m.index + m[0].length);
    const enclosed = (["(", "{", ", ", "["].some((s) => before.endsWith(s))
        && [")", "}", ",", "]"].some((s) => after.startsWith(s)))
      || (before.endsWith("\\left(") && after.startsWith("\\right)"));
    parts.push([text.slice(start, m.index), m[1], enclosed]);
    start = m.index + m[0].length;
  }
  parts.push([text.slice(start), "", false]);
  compiled.set(text, parts);
  return parts;
}

/** A formula template's $u, $v (operands) and $y (node) filled, as templates.fill: `operands`
 * by slot, each [plain, latex, precedence]; [plain, latex] back. `op` (an entry of the answer's
 * `ops`) is the op whose own formula the template writes: operands binding at least as tightly
 * go without brackets. Without it, every operand binding less tightly than `atom` gets them. */
export function fill(template, operands, atom, op = null) {
  const outer = op ? op.precedence : atom;
  return ["plain", "latex"].map((key, which) => templateParts(template[key]).map(([text, slot, enclosed]) => {
    if (!slot) return text;
    const [formula, precedence] = [operands[slot][which], operands[slot][2]];
    const wrap = !enclosed && (precedence < outer || (precedence === outer && op?.tight === slot));
    return text + (!wrap ? formula : which ? `\\left(${formula}\\right)` : `(${formula})`);
  }).join(""));
}

/** The renderer of one compact answer: node, edge, forward and backward step records. */
export function createRenderer(answer) {
  const nodes = answer.columns.nodes;
  const { steps, terms } = answer.columns;
  const kinds = answer.term_kinds;
  const { ops, templates } = answer;
  const { atom, partial: pow } = answer.binding;
  const output = Number(answer.output.node.slice(1));
  const tell = (key, fields) => say(templates[key], fields);
  const shortly = (value) => short(value, templates.array);
  const { previous, received } = runningSums(terms.input, nodes.op.length);
  const afters = new Map(); // term -> its operand's gradient after it (decoded), once computed
  const wrongs = wrongRules(answer);

  function ref(i, wrapped) {
    const plain = nodes.expr[i];
    const latex = nodes.expr_latex[i];
    if (!wrapped || nodes.precedence[i] >= atom) return [plain, latex];
    return [`(${plain})`, `\\left(${latex}\\right)`];
  }

  const operand = (i) => [nodes.expr[i], nodes.expr_latex[i], nodes.precedence[i]];

  function derivative(i, pos, rules) {
    const inputs = nodes.inputs[i];
    const op = ops[nodes.op[i]];
    const operands = { y: operand(i), u: operand(inputs[0]), v: inputs.length > 1 ? operand(inputs[1]) : null };
    const [rulePlain, ruleLatex] = fill(rules === "kink" ? op.kink.rules[pos] : op.derivs[pos], operands, atom);
    const src = inputs[pos];
    const partial = tell("partial", { node: ref(i, true)[0], input: ref(src, true)[0] });
    const partialLatex = tell("partial_latex", { node: ref(i, nodes.precedence[i] < pow)[1],
      input: ref(src, nodes.precedence[src] < pow)[1] });
    return { formula: tell("equation", { partial, rule: rulePlain }),
      latex: tell("equation", { partial: partialLatex, rule: ruleLatex }),
      partial: { plain: partial, latex: partialLatex }, rule: { plain: rulePlain, latex: ruleLatex } };
  }

  function symbol(i) {
    const op = nodes.op[i];
    if (op === "input") return nodes.name[i] || nodes.expr[i];
    if (op === "const") return nodes.expr[i];
    return ops[op].symbol;
  }

  function forwardText(i) {
    const op = nodes.op[i];
    const name = ref(i, false)[0];
    if (op === "const") return tell("forward_const", { name });
    const value = shortly(decode(nodes.value[i]));
    if (op === "input") {
      const literal = nodes.literal[String(i)];
      const override = literal?.overridden ? tell("override", { literal: literal.text, line: literal.line }) : "";
      return tell("forward_input", { name, value, override });
    }
    return tell("forward_op", { op: ops[op].name, name, value });
  }

  // The operand's gradient after term t: the running sum of its contributions, term order.
  function after(t) {
    const chain = [];
    let k = t;
    for (; k >= 0 && !afters.has(k); k = previous[k]) chain.push(k);
    let sum = k >= 0 ? afters.get(k) : null;
    for (const j of chain.reverse()) {
      const c = decode(terms.contribution[j]);
      sum = sum === null ? c : add(sum, c);
      afters.set(j, sum);
    }
    return afters.get(t);
  }

  function stepText(i, g) {
    const name = ref(i, true)[0];
    if (i === output) return tell(nodes.shape[i].length ? "seed_array" : "seed", { g, name });
    return tell(nodes.op[i] === "input" ? "step_input" : "step", { name, g });
  }

  function kinkSentence(i, pos) {
    const op = ops[nodes.op[i]];
    const kink = op.kink;
    // A node's own numbers where its params or point set them (leaky_relu's slope, clip's bound).
    const [taken, left, right] = (nodes.kink_sides || {})[String(i)] || [kink.taken, kink.left, kink.right];
    const sides = tell("kink_sides", { taken: formatG(taken[pos], 6), left: formatG(left[pos], 6),
      right: formatG(right[pos], 6) });
    const point = formatG(decode(nodes.kink_point[String(i)]), 6);
    if (kink.taken.length === 1) return tell("kink_unary", { op: op.name, point, sides });
    return tell("kink_binary", { node: ref(i, true)[0], where: kink.point, point, sides,
      input: ref(nodes.inputs[i][pos], true)[0] });
  }

  // How node i's VJP for operand pos reads in words: its op's note (a reduction's axes filled
  // in), or the generic phrase (records.py's `how`).
  function how(i, pos) {
    const op = ops[nodes.op[i]];
    const notes = op.backward || [];
    if (pos >= notes.length) return tell("vjp_generic", { op: op.name });
    const axis = ((nodes.params || {})[String(i)] || {}).axis;
    const along = axis === undefined || axis === null ? tell("along_all", {})
      : typeof axis === "number" ? tell("along_axis", { axis })
        : tell("along_axes", { axes: axis.join(", ") });
    return notes[pos].replace("{along}", along);
  }

  // The places of node i's operand read more than once (a gather's), in words; "" if none was
  // (records.py's `rereads`).
  function rereads(i, operand) {
    const reads = (nodes.rereads || {})[String(i)];
    if (!reads) return "";
    const places = reads.places.map((place, k) => tell("reread_place",
      { unit: reads.unit, place: Array.isArray(place) ? `[${place.join(", ")}]` : place,
        count: reads.counts[k] })).join(", ");
    const more = reads.more ? tell("reread_more", { more: reads.more }) : "";
    return tell("rereads", { places, input: operand, more });
  }

  function term(i, t, g) {
    const src = terms.input[t];
    const pos = terms.position[t];
    const contributionJson = terms.contribution[t];
    const localJson = terms.local[t];
    const contribution = decode(contributionJson);
    const before = previous[t] >= 0 ? after(previous[t]) : null;
    const sum = after(t);
    const kind = kinds[terms.kind[t]];
    const d = derivative(i, pos, kind.rule);
    const nodeShape = nodes.shape[i];
    const srcShape = nodes.shape[src];
    const fields = { input: ref(src, true)[0], g, contribution: shortly(contribution), rule: d.rule.plain,
      op: ops[nodes.op[i]].name };
    if (localJson !== null) fields.local = shortly(decode(localJson));
    if (kind.text.includes("term_vjp")) fields.how = how(i, pos);
    if (kind.text.includes("term_kink")) fields.sentence = kinkSentence(i, pos);
    if (kind.text.includes("term_rereads")) fields.rereads = rereads(i, fields.input);
    if (before !== null) Object.assign(fields, { before: shortly(before), after: shortly(sum) });
    const wrong = wrongs.get(`${i}:${pos}`) ?? null;
    let text = kind.text.map((key) => tell(key, fields)).join("");
    if (wrong) {
      const where = wrong.index.length ? tell("rule_where", { index: `[${wrong.index.join(", ")}]` }) : "";
      text += tell("term_rule_wrong", { rule: shortly(decode(wrong.rule)), where, numeric: shortly(decode(wrong.numeric)) });
    }
    return {
      input: `n${src}`, position: pos, ...d, local: localJson, contribution: contributionJson,
      before: encode(before === null ? zeros(srcShape) : before), after: encode(sum),
      accumulated: before !== null, contribution_index: received[t], consumers: nodes.consumers[src],
      broadcast: kind.broadcast ? { from: nodeShape, to: srcShape,
        note: tell("broadcast_note", { from: nodeShape, to: srcShape }) } : null,
      wrong_rule: wrong, text: `${text}.`,
    };
  }

  return {
    /** How many nodes (and forward steps), and how many backward steps. */
    nodeCount: nodes.op.length,
    backwardCount: steps.node.length,

    /** The node that backward step s visits, by index. */
    backwardNode: (s) => steps.node[s],

    /** The terms of backward step s: [first, end) into the term columns. */
    termRange: (s) => [steps.term_start[s], steps.term_start[s + 1]],

    /** Node i as v1's `nodes` holds it. */
    node(i) {
      return { id: `n${i}`, op: nodes.op[i], label: nodes.name[i] || symbol(i), symbol: symbol(i),
        name: nodes.name[i], inputs: nodes.inputs[i].map((j) => `n${j}`),
        expr: { plain: nodes.expr[i], latex: nodes.expr_latex[i] }, span: nodes.span[i],
        shape: nodes.shape[i], value: nodes.value[i], grad: nodes.grad[i],
        requires_grad: nodes.requires_grad[i], generation: nodes.generation[i],
        consumers: nodes.consumers[i], literal: nodes.literal[String(i)] ?? null,
        params: nodes.params?.[String(i)] ?? null };
    },

    /** Every edge, grouped by source node, then by target and position (as records.py). */
    edges() {
      const outgoing = nodes.inputs.map(() => []);
      nodes.inputs.forEach((inputs, dst) => inputs.forEach((src, pos) => outgoing[src].push([dst, pos])));
      const edges = [];
      outgoing.forEach((out, src) => out.forEach(([dst, pos]) => edges.push(
        { id: `e${edges.length}`, source: `n${src}`, target: `n${dst}`, position: pos })));
      return edges;
    },

    /** Node i's forward step, with its sentence. */
    forward(i) {
      return { index: i, node: `n${i}`, op: nodes.op[i], inputs: nodes.inputs[i].map((j) => `n${j}`),
        value: nodes.value[i], text: forwardText(i) };
    },

    /** Backward step s, with its terms, formulas and sentences. */
    backward(s) {
      const i = steps.node[s];
      const g = shortly(decode(nodes.grad[i]));
      const stepTerms = [];
      for (let t = steps.term_start[s]; t < steps.term_start[s + 1]; t++) stepTerms.push(term(i, t, g));
      return { index: s, node: `n${i}`, seed: i === output, upstream: nodes.grad[i], terms: stepTerms,
        text: [stepText(i, g), ...stepTerms.map((x) => x.text)].join(" ") };
    },
  };
}

/** The terms that apply a rule the gradient check found wrong, by "node index:position", from
 * the check's `rules[].wrong_nodes` (records.py's `wrong_rules`): each term's `wrong_rule`. */
export function wrongRules(answer) {
  const out = new Map();
  for (const rule of answer.check?.rules ?? []) {
    for (const at of rule.wrong_nodes ?? []) {
      out.set(`${Number(at.node.slice(1))}:${rule.position}`, { primitive: rule.primitive,
        argument: rule.argument, index: at.index, rule: at.rule, numeric: at.numeric });
    }
  }
  return out;
}

/** Per term, in one pass: the previous term into the same operand (-1 if none) and how many
 * contributions that operand has received with this one. */
function runningSums(input, nodeCount) {
  const previous = new Int32Array(input.length);
  const received = new Int32Array(input.length);
  const last = new Int32Array(nodeCount).fill(-1);
  const count = new Int32Array(nodeCount);
  for (let t = 0; t < input.length; t++) {
    const src = input[t];
    previous[t] = last[src];
    last[src] = t;
    received[t] = ++count[src];
  }
  return { previous, received };
}
