// The shareable state in the URL hash: `#source=...&values=...&step=12&mode=forward&wrt=x`,
// `&output=h` when a statement other than the last is differentiated, `&naive=1&twice=1&children=distinct`
// when the naive replay's switches are on, `&ninja=1&answers={"probs":"dlogprobs / probs"}` in
// `&checkpoint=revolve&slots=2` (or `=every_k&k=3`, `=sqrt`, ...) when the checkpointing replay is on, `&ninja=1&answers={"probs":"dlogprobs / probs"}` in
// ninja mode (the answers typed, a JSON object, kept with ninja mode off too). Pure. The default mode (reverse) is left out, so reverse-mode links read as before.

const MODES = new Set(["reverse", "forward"]);
const CHILDREN = new Set(["operands", "distinct"]);
const STRATEGIES = new Set(["all", "none", "every_k", "sqrt", "revolve"]);

/** The hash for a state {source, values, step, mode, wrt, output, naive, twice, children}:
 * URI-encoded fields, empty and default ones left out. */
export function encodeHash({ source = "", values = "", step = 0, mode = "reverse", wrt = "",
  output = "", naive = false, twice = false, children = "operands", checkpoint = null, ninja = false, answers = {} }) {
  const parts = [];
  if (source) parts.push(`source=${encodeURIComponent(source)}`);
  if (values) parts.push(`values=${encodeURIComponent(values)}`);
  if (step) parts.push(`step=${step}`);
  if (source && mode === "forward") {
    parts.push("mode=forward");
    if (wrt) parts.push(`wrt=${encodeURIComponent(wrt)}`);
  }
  if (source && output) parts.push(`output=${encodeURIComponent(output)}`);
  if (source && naive) parts.push("naive=1");
  if (source && twice) parts.push("twice=1");
  if (source && (naive || twice) && CHILDREN.has(children) && children !== "operands") {
    parts.push(`children=${children}`);
  }
  if (source && checkpoint?.on && STRATEGIES.has(checkpoint.strategy)) {
    parts.push(`checkpoint=${checkpoint.strategy}`);
    if (checkpoint.strategy === "every_k" && checkpoint.k) parts.push(`k=${checkpoint.k}`);
    if (checkpoint.strategy === "revolve" && Number.isInteger(checkpoint.slots)) parts.push(`slots=${checkpoint.slots}`);
  }
  if (source && ninja) parts.push("ninja=1");
  const typed = Object.entries(answers ?? {}).filter(([, text]) => typeof text === "string" && text);
  if (source && typed.length) {
    parts.push(`answers=${encodeURIComponent(JSON.stringify(Object.fromEntries(typed)))}`);
  }
  return parts.length ? `#${parts.join("&")}` : "";
}

/** The state held by a hash ("#..." or "..."); null when it holds no source. `mode` and `wrt`
 * are there only for a forward-mode link, `output` only when one was chosen, `naive`,
 * `twice`, `children`, `checkpoint` ({on, strategy, k, slots}), `ninja` and `answers` only when set. */
export function decodeHash(hash) {
  const text = (hash || "").replace(/^#/, "");
  if (!text) return null;
  const fields = {};
  for (const part of text.split("&")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    try {
      fields[part.slice(0, eq)] = decodeURIComponent(part.slice(eq + 1));
    } catch {
      return null; // a malformed escape: ignore the whole hash
    }
  }
  if (!fields.source) return null;
  const step = Number.parseInt(fields.step ?? "0", 10);
  const state = { source: fields.source, values: fields.values ?? "", step: step > 0 ? step : 0 };
  if (MODES.has(fields.mode) && fields.mode !== "reverse") {
    state.mode = fields.mode;
    state.wrt = fields.wrt ?? "";
  }
  if (fields.output) state.output = fields.output;
  if (fields.naive === "1") state.naive = true;
  if (fields.twice === "1") state.twice = true;
  if (CHILDREN.has(fields.children)) state.children = fields.children;
  if (STRATEGIES.has(fields.checkpoint)) state.checkpoint = checkpointOf(fields);
  if (fields.ninja === "1") state.ninja = true;
  const answers = answersOf(fields.answers);
  if (answers) state.answers = answers;
  return state;
}

// The checkpointing choice of a link: its strategy, and k or slots where they are numbers.
function checkpointOf(fields) {
  const number = (text, least) => (/^\d+$/.test(text ?? "") && Number(text) >= least ? Number(text) : null);
  const checkpoint = { on: true, strategy: fields.checkpoint };
  const k = number(fields.k, 1);
  const slots = number(fields.slots, 0);
  if (k !== null) checkpoint.k = k;
  if (slots !== null) checkpoint.slots = slots;
  return checkpoint;
}

// The answers of a link: a JSON object of strings; anything else is left out.
function answersOf(text) {
  if (!text) return null;
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return null;
  const answers = Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === "string" && v));
  return Object.keys(answers).length ? answers : null;
}

/** An <iframe> of the embed view (/embed: the player alone) at the state in `hash`, for the
 * page at `href`. */
export function embedCode(href, hash) {
  const src = new URL(`embed${hash}`, href).href.replaceAll('"', "%22");
  return `<iframe src="${src}" title="chainrule" width="900" height="720" style="border: 0"></iframe>`;
}
