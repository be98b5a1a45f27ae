// The source editor's mirror: a copy of the text behind the <textarea> in which spans are
// wrapped in <mark>: the error's characters (class "error-span"), the hovered node's
// source (class "node-span"), a wrong derivative rule's line and node (class "rule-span"),
// and shading the statements folded in the graph (class
// "folded-span"). It owns the textarea's selection events too, and the note that says in
// words what a wrong rule's red underline marks (shown while the text is the one that ran).

import { markSegments, outside } from "./spans.js";

const MANY_FOLDS = 200; // more folded statements than this: shade all, clear the open ones

/** The line (1-based) of character `at` in `text`. */
export function lineOf(text, at) {
  let line = 1;
  for (let k = text.indexOf("\n"); k >= 0 && k < at; k = text.indexOf("\n", k + 1)) line++;
  return line;
}

/** What the note under the source says of a wrong rule (a `check.rules` entry) of `source`. */
export function ruleNoteText(rule, source) {
  const line = lineOf(source, rule.decorator_span[0]);
  return `✗ Underlined in red, line ${line}: your derivative rule for ${rule.primitive} is wrong — ` +
    `${rule.message}.`;
}

/** A mirror for `textarea` drawn into `mirror`; `onSelect(start, end)` on selection changes;
 * `note` (optional) says in words what the wrong rules' underlines mark. */
export function createSourceView(textarea, mirror, onSelect, note = null) {
  let ruleNotes = []; // the wrong rules (check.rules entries) of the source that ran
  let errorSpan = null;
  let nodeSpan = null;
  let ruleSpans = []; // of the source that ran: wrong rules' lines and their nodes
  let ranSource = null; // the source node spans refer to
  let folds = { folded: [], open: [] }; // spans of the statements folded and not, in the graph

  function render() {
    if (pending) pending = (cancelAnimationFrame(pending), 0);
    const text = textarea.value;
    const marks = [];
    if (errorSpan) marks.push({ start: errorSpan[0], end: errorSpan[1], cls: "error-span" });
    if (nodeSpan && text === ranSource) marks.push({ start: nodeSpan[0], end: nodeSpan[1], cls: "node-span" });
    if (text === ranSource) {
      marks.push(...outside(ruleSpans.map(([start, end]) => ({ start, end, cls: "rule-span" })), marks));
    }
    // Folded statements shaded; where most are folded (a long program), the whole text is
    // shaded and the few unfolded ones marked clear, so that the marks stay few.
    const mostly = text === ranSource && folds.folded.length > MANY_FOLDS;
    mirror.classList.toggle("mostly-folded", mostly);
    if (text === ranSource) {
      const shades = (mostly ? folds.open : folds.folded)
        .map(([start, end]) => ({ start, end, cls: mostly ? "open-span" : "folded-span" }));
      marks.push(...outside(shades, marks));
    }
    if (note) {
      note.hidden = !(ruleNotes.length && text === ranSource);
      note.textContent = note.hidden ? "" : ruleNotes.map((r) => ruleNoteText(r, text)).join(" ");
    }
    const pieces = markSegments(text, marks);
    mirror.replaceChildren(...pieces.map(({ text: t, cls }) => {
      if (!cls) return document.createTextNode(t);
      const mark = document.createElement("mark");
      mark.className = cls;
      mark.textContent = t;
      return mark;
    }));
    // A trailing newline needs one more character to take its line's height.
    mirror.append(document.createTextNode("\u200b"));
    syncScroll();
  }

  function syncScroll() {
    mirror.scrollTop = textarea.scrollTop;
    mirror.scrollLeft = textarea.scrollLeft;
  }

  let lastSelection = "";
  function selectionChanged() {
    const key = `${textarea.selectionStart}:${textarea.selectionEnd}`;
    if (key === lastSelection) return;
    lastSelection = key;
    if (textarea.value === ranSource) onSelect(textarea.selectionStart, textarea.selectionEnd);
  }

  // Typing (or pasting a long program) redraws the mirror once per frame, not per event.
  let pending = 0;
  textarea.addEventListener("input", () => {
    errorSpan = null;
    if (!pending) pending = requestAnimationFrame(() => { pending = 0; render(); });
  });
  textarea.addEventListener("scroll", syncScroll);
  for (const type of ["select", "keyup", "mouseup"]) textarea.addEventListener(type, selectionChanged);
  document.addEventListener("selectionchange", () => {
    if (document.activeElement === textarea) selectionChanged();
  });

  const view = {
    /** Underline the characters of an error (null: none). */
    setError(span) { errorSpan = span; render(); return view; },
    /** Highlight a node's span (null: none); only while the text is the one that ran. */
    setNodeSpan(span) { nodeSpan = span; render(); return view; },
    /** The wrong rules (check.rules entries) of the source that ran, said under it; [] none. */
    setRuleNotes(rules) { ruleNotes = rules; render(); return view; },
    /** Mark spans of the source that ran as a wrong rule's (its line, its node); [] none. */
    setRuleSpans(spans) { ruleSpans = spans; render(); return view; },
    /** Shade the statements folded in the graph ({folded, open}: [start, end) spans of the
     * source that ran); redrawn at the next frame. */
    setFolded(spans) {
      folds = spans;
      if (!pending) pending = requestAnimationFrame(() => { pending = 0; render(); });
      return view;
    },
    /** Remember which source the graph was computed from. */
    setRanSource(source) { ranSource = source; return view; },
    /** Redraw after the text was set from code. */
    refresh() { render(); return view; },
  };
  render();
  return view;
}
