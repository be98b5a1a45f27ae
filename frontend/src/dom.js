// Small element builders shared by the panels.

let katex = null; // KaTeX, once loaded by the first formula shown
let loading = null;

// KaTeX's module and, on the page and the embed view (build.mjs's __CHAINRULE_KATEX_CSS__),
// its style sheet, loaded when the first formula is shown; the bundles carry the styles.
function loadKatex() {
  loading ??= Promise.all([import("katex"), katexStyles()]).then(([module]) => {
    katex = module.default;
  });
  return loading;
}

function katexStyles() {
  if (typeof __CHAINRULE_KATEX_CSS__ !== "string") return null;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = __CHAINRULE_KATEX_CSS__;
  const loaded = new Promise((resolve) => {
    link.onload = resolve;
    link.onerror = resolve; // the formula is still drawn, unstyled
  });
  document.head.append(link);
  return loaded;
}

/** An <h3> with `text`. */
export function heading(text) {
  const h = document.createElement("h3");
  h.textContent = text;
  return h;
}

/** A <table> of class `cls` with its column titles (`titles`) in a head row and an empty
 * body: {table, body}. */
export function headedTable(titles, cls) {
  const table = document.createElement("table");
  if (cls) table.className = cls;
  const head = table.createTHead().insertRow();
  for (const title of titles) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = title;
    head.append(th);
  }
  return { table, body: table.createTBody() };
}

/** A row's title cell: a <th scope="row"> with `text`. */
export function rowTitle(text) {
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = text;
  return th;
}

/** A table in a box that scrolls sideways on a narrow screen (by keyboard too), named `label`. */
export function scrolling(table, label) {
  const wrap = document.createElement("div");
  wrap.className = "table-scroll";
  wrap.tabIndex = 0;
  wrap.setAttribute("role", "group");
  wrap.setAttribute("aria-label", label);
  wrap.append(table);
  return wrap;
}

/** A <p> with `text` and an optional class. */
export function para(text, cls) {
  const p = document.createElement("p");
  p.textContent = text;
  if (cls) p.className = cls;
  return p;
}

/** A display-mode KaTeX block of `tex`, in a div of class `math cls` (drawn once KaTeX is
 * loaded: at once after the first formula). */
export function math(tex, cls) {
  const div = document.createElement("div");
  div.className = `math ${cls ?? ""}`;
  const draw = () => katex.render(tex, div,
    { displayMode: true, throwOnError: false, output: "htmlAndMathml" });
  if (katex) draw();
  else loadKatex().then(draw);
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
  if (term.wrong_rule) div.dataset.wrongRule = "true";
  return div;
}
