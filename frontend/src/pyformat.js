// Python's `format(x, ".<p>g")` for a float, digit for digit, so that the page writes the
// numbers of a step exactly as records.py does ("1.062", "1e-05", "-0", "nan", "inf"). Pure.
//
// JavaScript's toExponential rounds the exact binary value correctly, as Python does, except on
// an exact tie (1.0625 to 4 digits), which it rounds up and Python rounds to even: only that
// case is redone here.

const F64 = new Float64Array(1);
const BITS = new BigUint64Array(F64.buffer);

/** x (finite, >= 0) as [m, e]: x = m * 2**e exactly, m an integer (BigInt). */
function binary(x) {
  F64[0] = x;
  const bits = BITS[0];
  const field = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  return field === 0 ? [fraction, -1074] : [fraction | (1n << 52n), field - 1075];
}

/** Whether x (finite, >= 0) is exactly digits * 10**exp10. */
function isExactly(x, digits, exp10) {
  const [m, e2] = binary(x);
  let left = m;
  let right = digits;
  if (e2 >= 0) left <<= BigInt(e2); else right <<= BigInt(-e2);
  if (exp10 >= 0) right *= 10n ** BigInt(exp10); else left *= 10n ** BigInt(-exp10);
  return left === right;
}

/** x (finite, >= 0) to `p` significant digits, ties to even: [digits (p of them), exponent]. */
function roundedDigits(x, p) {
  const [mantissa, exponent] = x.toExponential(p - 1).split("e");
  const [longer, longExponent] = x.toExponential(p).split("e");
  const longDigits = longer.replace(".", "");
  if (longDigits.endsWith("5") && isExactly(x, BigInt(longDigits), Number(longExponent) - p)) {
    const down = longDigits.slice(0, p); // the tie: keep the even neighbour
    if (Number(down.at(-1)) % 2 === 0) return [down, Number(longExponent)];
  }
  return [mantissa.replace(".", ""), Number(exponent)];
}

const trimmed = (digits) => digits.replace(/0+$/, "");

/** `format(x, f".{p}g")` as Python writes it for a float. */
export function formatG(x, p) {
  if (Number.isNaN(x)) return "nan";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (!Number.isFinite(x)) return `${sign}inf`;
  p = Math.max(p, 1);
  const [digits, exp] = roundedDigits(Math.abs(x), p);
  if (exp >= -4 && exp < p) {
    const whole = exp >= 0 ? digits.slice(0, exp + 1) : "0";
    const fraction = trimmed(exp >= 0 ? digits.slice(exp + 1) : "0".repeat(-exp - 1) + digits);
    return sign + whole + (fraction ? `.${fraction}` : "");
  }
  const rest = trimmed(digits.slice(1));
  const power = String(Math.abs(exp)).padStart(2, "0");
  return `${sign}${digits[0]}${rest ? `.${rest}` : ""}e${exp < 0 ? "-" : "+"}${power}`;
}
