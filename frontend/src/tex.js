// Numbers and values as LaTeX for the step panel. Pure.

import { formatNumber, shapeOf } from "./format.js";

/** A number as LaTeX: -1.98, 1.2\times10^{-7}, \infty, \mathrm{NaN}. */
export function texNumber(x) {
  const text = formatNumber(x).replace("−", "-");
  if (text === "NaN") return "\\mathrm{NaN}";
  if (text === "∞") return "\\infty";
  if (text === "-∞" || text === "−∞") return "-\\infty";
  const m = text.match(/^(-?[\d.]+)e(-?\d+)$/);
  return m ? `${m[1]}\\times10^{${m[2]}}` : text;
}

/** A value as LaTeX: a number, a small matrix (up to `limit` elements), or its shape. */
export function texValue(value, limit = 6) {
  if (value === null || value === undefined) return "\\text{(Jacobian)}";
  if (!Array.isArray(value)) return texNumber(value);
  const shape = shapeOf(value);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > limit || shape.length > 2 || size === 0) {
    return `\\text{(${shape.join("×")} array)}`;
  }
  const rows = shape.length === 1 ? [value] : value;
  return `\\begin{bmatrix}${rows.map((r) => r.map(texNumber).join(" & ")).join(" \\\\ ")}\\end{bmatrix}`;
}

/** A value in parentheses when it is a negative number, so `× (-2)` reads well. */
export function texFactor(value) {
  const tex = texValue(value);
  return tex.startsWith("-") ? `\\left(${tex}\\right)` : tex;
}

/** ∂L/∂(expr), with the expression's LaTeX. */
export function texPartial(exprLatex, of = "L") {
  return `\\frac{\\partial ${of}}{\\partial ${texWrap(exprLatex)}}`;
}

/** The local derivative ∂node/∂input of a step, from the two nodes' LaTeX. */
export function localPartial(node, input) {
  return texPartial(input.expr.latex, texWrap(node.expr.latex));
}

// One symbol: x, x_{1}, \alpha, \mathrm{err}, W_{1}, 2.5.
const SYMBOL = /^(?:[A-Za-z]|\\[a-zA-Z]+|\\mathrm\{\w+\}|[\d.]+)(?:_\{?\w+\}?)?$/;

/** An expression in parentheses unless it is one symbol (x, w_1, \mu). */
export function texWrap(latex) {
  return SYMBOL.test(latex) ? latex : `\\left(${latex}\\right)`;
}
