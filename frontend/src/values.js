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
