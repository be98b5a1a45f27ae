// Small element builders shared by the panels.

import katex from "katex";

/** An <h3> with `text`. */
export function heading(text) {
  const h = document.createElement("h3");
  h.textContent = text;
  return h;
}

/** A <p> with `text` and an optional class. */
export function para(text, cls) {
  const p = document.createElement("p");
  p.textContent = text;
  if (cls) p.className = cls;
  return p;
}

/** A display-mode KaTeX block of `tex`, in a div of class `math cls`. */
export function math(tex, cls) {
  const div = document.createElement("div");
  div.className = `math ${cls ?? ""}`;
  katex.render(tex, div, { displayMode: true, throwOnError: false, output: "htmlAndMathml" });
  return div;
}

/** A button of type button with `text`. */
export function button(text, onClick, cls) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (cls) b.className = cls;
  b.addEventListener("click", onClick);
  return b;
}

/** The <div class="term"> of one edge of a step, tagged with the input it feeds. */
export function termElement(term) {
  const div = document.createElement("div");
  div.className = "term";
  div.dataset.input = term.input;
  return div;
}
