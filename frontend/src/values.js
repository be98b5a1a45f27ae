// The "Values" field: `x=1.5, y=2`, `W=[[1,2],[3,4]]`, or a JSON object. Pure.

/** The values object of the field's text; throws an Error whose message says what is wrong. */
export function parseValues(text) {
  const trimmed = (text || "").trim();
  if (!trimmed) return {};
  if (trimmed.startsWith("{")) return checkObject(parseJson(trimmed, "the JSON object"));
  const values = {};
  for (const part of splitTopLevel(trimmed)) {
    const eq = part.indexOf("=");
    if (eq < 0) throw new Error(`Values: expected name=value, got "${part}"`);
    const name = part.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`Values: "${name}" is not a name`);
    values[name] = checkValue(parseJson(part.slice(eq + 1).trim(), name), name);
  }
  return values;
}

/** The values as the field shows them: `x=1.5, W=[[1,2],[3,4]]`. */
export function formatValues(values) {
  return Object.entries(values || {})
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(", ");
}

// Split on commas, semicolons and newlines that are not inside brackets.
function splitTopLevel(text) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === "[") depth++;
    else if (c === "]") depth--;
    else if (i === text.length || (depth === 0 && (c === "," || c === ";" || c === "\n"))) {
      const part = text.slice(start, i).trim();
      if (part) parts.push(part);
      start = i + 1;
    }
  }
  if (depth !== 0) throw new Error("Values: unbalanced brackets");
  return parts;
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch {
    const number = Number(text);
    if (text !== "" && Number.isFinite(number)) return number; // 1., .5, 1e3
    throw new Error(`Values: cannot read ${what} ("${text}")`);
  }
}

function checkObject(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    throw new Error("Values: the JSON must be an object such as {\"x\": 1.5}");
  }
  for (const [name, value] of Object.entries(object)) checkValue(value, name);
  return object;
}

function checkValue(value, name) {
  const ok = Array.isArray(value) ? value.every((v) => checkValue(v, name) !== undefined)
    : typeof value === "number" && Number.isFinite(value);
  if (!ok) throw new Error(`Values: ${name} must be a number or nested lists of numbers`);
  return value;
}

// Which source each value was typed for. A value overrides a literal of the source (`y = -2.0`)
// only when the user typed it for that very source: values left over from an example or from
// before the source was edited never override one silently.

/** Owners for a Values text that came with its source (an example, a shared link): every
 * name belongs to `source`. Unreadable text owns nothing. */
export function ownValues(text, source) {
  return new Map(Object.keys(readable(text) ?? {}).map((name) => [name, source]));
}

/** The owners after the Values text went from `before` to `after` while the editor held
 * `source`: a name whose value changed, or that is new, now belongs to `source`; the others
 * keep their owner; names gone are dropped. While the text is unreadable, nothing changes. */
export function claimValues(owners, before, after, source) {
  const next = readable(after);
  if (next === null) return owners;
  const previous = readable(before) ?? {};
  return new Map(Object.keys(next).map((name) => [name,
    name in previous && JSON.stringify(previous[name]) === JSON.stringify(next[name])
      ? owners.get(name) ?? null : source]));
}

/** The names whose values were typed for `source`: the ones that may override its literals. */
export function overridesFor(owners, source) {
  return [...owners].filter(([, owner]) => owner === source).map(([name]) => name).sort();
}

/** The Values text without `names` (written again as `name=value`, or as JSON if it was). */
export function withoutValues(text, names) {
  const values = readable(text);
  if (values === null) return text;
  const kept = Object.fromEntries(Object.entries(values).filter(([name]) => !names.includes(name)));
  if (!Object.keys(kept).length) return "";
  return text.trim().startsWith("{") ? JSON.stringify(kept) : formatValues(kept);
}

function readable(text) {
  try {
    return parseValues(text);
  } catch {
    return null;
  }
}
