// The API client: the only module that talks to the backend.

const BASE = "api";

/** A user mistake reported by the API: message, kind and source span [start, end) or null. */
export class ApiError extends Error {
  constructor({ message, kind = "error", span = null }) {
    super(message);
    this.kind = kind;
    this.span = span;
  }
}

async function request(path, options) {
  let response;
  try {
    response = await fetch(`${BASE}/${path}`, options);
  } catch (err) {
    throw new ApiError({ message: `The server cannot be reached (${err.message}).`, kind: "network" });
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(body?.error ?? { message: `The server answered ${response.status}.`,
      kind: "http" });
  }
  return body;
}

function post(path, body) {
  return request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** A panel's requests, the newest winning: `run(fetch)` (a function returning a promise of
 * the body) resolves to {body}, or to {error} (logged unless it is the API's own refusal, an
 * ApiError, which the panel shows), or to null when a newer request started meanwhile, or
 * `cancel()` was called: that answer is stale and drawn nowhere. */
export function newestRequest() {
  let token = 0;
  return {
    cancel() {
      token++;
    },
    async run(fetch) {
      const mine = ++token;
      try {
        const body = await fetch();
        return mine === token ? { body } : null;
      } catch (error) {
        if (mine !== token) return null;
        if (!(error instanceof ApiError)) console.error(error);
        return { error };
      }
    },
  };
}

/** One forward and one backward sweep of `source`: the compact answer (API v2, answer.py's
 * `Answer`: columns, op entries and sentence templates; answer.js reads it); with
 * {mode: "forward", wrt}, also forward mode's tangent steps for the input `wrt`; with
 * {overrides: [names]}, only those values may override a literal of the source; with
 * {output: name}, the backward pass starts from that statement instead of the last. `check`:
 * "auto" (element by element for a few input elements, by random directions above),
 * "elements", "directions", or false. */
export function backprop(source, values = {}, check = "auto",
  { mode = "reverse", wrt = null, overrides = null, output = null } = {}) {
  const body = { source, values, check };
  if (mode === "forward") Object.assign(body, { mode, wrt });
  if (overrides) body.overrides = overrides;
  if (output) body.output = output;
  return post("v2/backprop", body);
}

/** The sum over paths from input `wrt` to the output: {count_text, gradient, complete,
 * paths: [{nodes, edges, factors, product}], labels, ...}, the `limit` largest paths. */
export function paths(source, values, wrt, limit = 20) {
  return post("v1/paths", { source, values, wrt, limit });
}

/** The backward pass replayed the naive way (recursive, each node passing its gradient on as
 * soon as it gets one) and twice without zeroing, beside the right one: {labels, right, naive,
 * twice}, each pass {steps, gradients, node_gradients, note}, the wrong ones with {parts,
 * differs}. `children`: "operands" (one child per operand) or "distinct" (micrograd's set). */
export function naive(source, values, children = "operands") {
  return post("v1/naive", { source, values, children });
}

/** Backprop ninja: the learner's gradients of the program's tensors, each an expression of
 * the language ({probs: "dlogprobs / probs"}), evaluated and graded: {rows, first_wrong,
 * tolerance, answer} (`answer` the compact answer, with the grade). */
export function ninja(source, values, answers, check = "auto") {
  return post("v1/ninja", { source, values, answers, check });
}

/** Second order: the Hessian of the scalar program by N Hessian-vector products, forward
 * over reverse and reverse over reverse, and H v both ways for a direction `v` ({wrt, v,
 * output}, each optional): {wrt, size, hessian, columns, cost, kinks, hvp, ...}. */
export function hessian(source, values, { wrt = null, v = null, output = null } = {}) {
  const body = { source, values };
  if (wrt) body.wrt = wrt;
  if (v) body.v = v;
  if (output) body.output = output;
  return post("v1/hessian", body);
}

/** Gradient descent on `source` from `values`: {inputs, method, learning_rate, steps, beta,
 * beta2, contour} -> {losses, iterations, thinned, contour, note, warnings, ...}. */
export function optimize(source, values, options) {
  return post("v1/optimize", { source, values, ...options });
}

/** The op table: [{name, arity, symbol, syntax, expr: {plain, latex}, description, ...}]. */
export function ops() {
  return request("v1/ops");
}

/** The gallery: [{title, source, values, description}]. */
export function examples() {
  return request("v1/examples");
}

/** Three ways to differentiate `source` at `values`: {inputs: [{name, backprop, symbolic,
 * finite_differences}], graph_operations, cost}. */
export function methods(source, values) {
  return post("v1/methods", { source, values });
}

/** The differentiation replayed under a checkpointing strategy ({strategy, k, slots}), and
 * every strategy's cost: {kinds, steps, summary, ...}. */
export function memory(source, values, { strategy = "sqrt", k = null, slots = null } = {}) {
  const body = { source, values, strategy };
  if (k !== null) body.k = k;
  if (slots !== null) body.slots = slots;
  return post("v1/memory", body);
}
