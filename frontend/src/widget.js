// The notebook widget's ES module (anywidget): chainrule.show(...) in Jupyter or VS Code. The
// player is player-view.js, as on the page; it lives in a shadow root so that the page's
// styles and the notebook's do not meet. The model holds `answer` (the API's compact backprop
// answer, its large float columns as binary buffers: widget.py) and `step` (the step shown),
// kept in step both ways. Built by build.mjs, which
// defines __CHAINRULE_CSS__ and __CHAINRULE_FONTS__.

import { createPlayerView } from "./player-view.js";

const FONTS_ID = "chainrule-katex-fonts";

// Chromium ignores @font-face inside a shadow root: KaTeX's fonts go on the document, once.
function declareFonts(doc) {
  if (doc.getElementById(FONTS_ID)) return;
  const style = doc.createElement("style");
  style.id = FONTS_ID;
  style.textContent = __CHAINRULE_FONTS__;
  doc.head.append(style);
}

// The columns widget.py sends as float64 buffers (little-endian, null as NaN) where it can.
const FLOAT_COLUMNS = [["nodes", "value"], ["nodes", "grad"], ["terms", "local"], ["terms", "contribution"]];

/** The model's answer with its binary columns (a DataView, or any view of bytes) read back
 * into lists of numbers and nulls, as the API writes them. */
function answerOf(model) {
  const answer = model.get("answer");
  const columns = { ...answer.columns };
  for (const [table, field] of FLOAT_COLUMNS) {
    const column = columns[table][field];
    if (!ArrayBuffer.isView(column)) continue;
    const bytes = new DataView(column.buffer, column.byteOffset, column.byteLength);
    const numbers = Array.from({ length: bytes.byteLength / 8 }, (_, k) => bytes.getFloat64(8 * k, true));
    columns[table] = { ...columns[table], [field]: numbers.map((x) => (Number.isNaN(x) ? null : x)) };
  }
  return { ...answer, columns };
}

// JupyterLab says its theme on the body (`data-jp-theme-light`); the widget takes it, so that
// a light notebook on a dark system is not given a dark player (and the other way round).
// Elsewhere (no such attribute) the system's setting stands. Returns a stop function.
function followNotebookTheme(el) {
  const body = el.ownerDocument.body;
  const apply = () => {
    const light = body.dataset.jpThemeLight;
    if (light === undefined) delete el.dataset.theme;
    else el.dataset.theme = light === "false" ? "dark" : "light";
  };
  apply();
  const observer = new MutationObserver(apply);
  observer.observe(body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
  return () => observer.disconnect();
}

/** anywidget's render: draw the model's answer into `el`, follow and report its step. */
function render({ model, el }) {
  declareFonts(el.ownerDocument);
  const stopTheme = followNotebookTheme(el);
  const shadow = el.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = __CHAINRULE_CSS__;
  const root = document.createElement("div");
  root.tabIndex = 0; // focus it, then ← → Space Home End step the player
  shadow.append(style, root);
  let syncing = false;
  // False while the player is being built (laid out, drawn), when the model's step wins: Run
  // All in a notebook sets `w.step = 5` in the next cell while this view is still being built,
  // and the seek was dropped, then the new player's own step 0 written back over it.
  let ready = false;
  const report = (index) => {
    if (model.get("step") === index) return;
    model.set("step", index);
    model.save_changes();
  };
  const view = createPlayerView(root, {
    onStep: (index) => { if (ready && !syncing) report(index); },
  });
  const followStep = () => {
    // Its own report comes back as a change too (anywidget's model.set fires it): ignore it,
    // or the seek would stop a playing player after one step.
    if (!ready || model.get("step") === view.index) return;
    syncing = true;
    view.dispatch({ type: "seek", index: model.get("step") });
    syncing = false;
    report(view.index); // a step past the end shows the last one: the model learns which
  };
  const showAnswer = async () => {
    ready = false;
    try {
      await view.show(answerOf(model), model.get("step"));
    } catch (err) {
      view.showMessage(`The steps cannot be shown: ${err.message}`);
      return;
    } finally {
      ready = true;
    }
    followStep(); // the model's step now, which may have moved while the player was built
  };
  model.on("change:answer", showAnswer);
  model.on("change:step", followStep);
  showAnswer();
  return () => { // the view is removed: stop its clock and its listeners
    view.dispatch({ type: "pause" });
    stopTheme();
    model.off("change:answer", showAnswer);
    model.off("change:step", followStep);
  };
}

export default { render };
