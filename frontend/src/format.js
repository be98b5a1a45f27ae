// Formatting numbers and values for cards, panels and narration. Pure: no DOM.

const NON_FINITE = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

/** A value of the API (number, "NaN"/"Infinity"/"-Infinity", or nested lists) as JS numbers. */
export function decode(value) {
  if (typeof value === "string") return NON_FINITE[value];
  if (Array.isArray(value)) return value.map(decode);
  return value;
}

/** A number with `digits` significant digits, without trailing zeros: 0.5, -1.98, 1.2e-7. */
export function formatNumber(x, digits = 4) {
  if (typeof x === "string") x = NON_FINITE[x];
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (x === 0) return "0";
  const abs = Math.abs(x);
  if (abs >= 1e5 || abs < 1e-4) {
    const [mantissa, exponent] = x.toExponential(digits - 1).split("e");
    return `${trimZeros(mantissa)}e${Number(exponent)}`;
  }
  return trimZeros(x.toPrecision(digits)).replace("-", "−");
}

function trimZeros(text) {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

/** The shape of a nested list: [] for a number. */
export function shapeOf(value) {
  const shape = [];
  for (let v = value; Array.isArray(v); v = v[0]) shape.push(v.length);
  return shape;
}

/** A short text for any value: the number, or "2×3 array". */
export function formatValue(value, digits = 4) {
  if (!Array.isArray(value)) return formatNumber(value, digits);
  return `${shapeOf(value).join("×")} array`;
}

/** A value as a small grid for a heatmap: at most maxRows × maxCols cells, larger arrays
 * averaged by blocks; n-d arrays as (leading dims) × last dim. Null for a number. */
export function heatmapGrid(value, maxRows = 8, maxCols = 12) {
  if (!Array.isArray(value)) return null;
  const shape = shapeOf(value);
  const flat = value.flat(Infinity).map((v) => (typeof v === "string" ? NON_FINITE[v] : v));
  const width = shape.length ? shape[shape.length - 1] : 1;
  const height = width ? flat.length / width : 0;
  const rows = Math.max(1, Math.min(height, maxRows));
  const cols = Math.max(1, Math.min(width, maxCols));
  const cells = new Array(rows * cols).fill(0);
  const counts = new Array(rows * cols).fill(0);
  for (let i = 0; i < flat.length; i++) {
    const r = Math.floor((Math.floor(i / width) * rows) / height);
    const c = Math.floor(((i % width) * cols) / width);
    cells[r * cols + c] += flat[i];
    counts[r * cols + c] += 1;
  }
  let scale = 0;
  for (let k = 0; k < cells.length; k++) {
    cells[k] = counts[k] ? cells[k] / counts[k] : 0;
    if (Number.isFinite(cells[k])) scale = Math.max(scale, Math.abs(cells[k]));
  }
  return { rows, cols, cells, scale, sampled: rows < height || cols < width };
}

/** A card's text: numbers, short vectors written out ([1, −2, 0.5]), else the shape. */
export function formatShort(value, digits = 4) {
  if (Array.isArray(value) && value.length <= 3 && value.every((v) => !Array.isArray(v))) {
    return `[${value.map((v) => formatNumber(v, 3)).join(", ")}]`;
  }
  return formatValue(value, digits);
}

/** An exact integer's decimal digits grouped by thousands: "1099511627776" ->
 * "1,099,511,627,776"; past 40 digits, the first six and the number of digits. */
export function groupDigits(text) {
  if (text.length > 40) return `${text.slice(0, 6)}… (${text.length} digits)`;
  return text.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A size in bytes as people read it: "48 B", "1.5 kB", "3.2 MB" (powers of 1000, as the
 * benchmarks' tables write them). */
export function formatBytes(bytes) {
  const units = ["B", "kB", "MB", "GB"];
  let size = bytes;
  let unit = 0;
  while (Math.abs(size) >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${unit ? Number(size.toPrecision(3)) : size} ${units[unit]}`;
}
