// The editor panel: the examples menu, the source (with its mirror of marked spans), the
// values, the mode, practice mode's switch, Run, and the error and warnings of the last run.

import { examples as fetchExamples } from "./api.js";
import { formatValue } from "./format.js";
import { createSourceView } from "./source-view.js";
import { claimValues, formatValues, overridesFor, ownValues, withoutValues } from "./values.js";

/** The editor on its elements `el` ({source, mirror, ruleNote, values, valuesNote, examples, run, error,
 * warnings, modes, wrt, wrtField, practice, ninja}); callbacks: onRun(), onMode(mode), onWrt(name),
 * onPractice(on), onNinja(on), onSelectSource(start, end), onSourceInput() (the source typed in). */
export function createEditorPanel(el, callbacks) {
  const sourceView = createSourceView(el.source, el.mirror, callbacks.onSelectSource, el.ruleNote);
  // Which source each value was typed for (values.js): only those typed for the source in
  // the editor may override its literals.
  let owners = new Map();
  let valuesText = el.values.value;
  el.values.addEventListener("input", () => {
    owners = claimValues(owners, valuesText, el.values.value, el.source.value);
    valuesText = el.values.value;
  });

  for (const radio of el.modes) {
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      panel.setMode(radio.value);
      callbacks.onMode(radio.value);
    });
  }
  el.run.addEventListener("click", () => callbacks.onRun());
  el.source.addEventListener("input", () => callbacks.onSourceInput?.());
  el.wrt.addEventListener("change", () => callbacks.onWrt(el.wrt.value));
  // Practice mode and ninja mode both ask at the backward steps: one at a time.
  el.practice.addEventListener("change", () => {
    if (el.practice.checked && el.ninja.checked) {
      el.ninja.checked = false;
      callbacks.onNinja(false);
    }
    callbacks.onPractice(el.practice.checked);
  });
  el.ninja.addEventListener("change", () => {
    if (el.ninja.checked && el.practice.checked) {
      el.practice.checked = false;
      callbacks.onPractice(false);
    }
    callbacks.onNinja(el.ninja.checked);
  });
  for (const field of [el.source, el.values]) {
    // Once edited, the text is no longer the example the menu names.
    field.addEventListener("input", () => { el.examples.value = ""; });
    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        callbacks.onRun();
      }
    });
  }
  el.values.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) callbacks.onRun();
  });

  const panel = {
    /** The text typed: {source, valuesText, overrides}, `overrides` naming the values typed
     * for this source (the only ones that may override a literal it assigns). */
    input() {
      const source = el.source.value;
      return { source, valuesText: el.values.value, overrides: overridesFor(owners, source) };
    },

    /** Put a source and values into the fields (from a link or an example): the values are
     * the source's own. */
    setInput(source, text) {
      el.source.value = source;
      el.values.value = valuesText = text;
      owners = ownValues(text, source);
      sourceView.refresh();
      return panel;
    },

    /** Take values the last run set aside out of the Values field (they were not typed for
     * this source, whose literals stand), and say so: `setAside` lists {name, given, literal,
     * agrees}. */
    setAside(setAside) {
      const names = setAside.map((s) => s.name);
      el.values.value = valuesText = withoutValues(el.values.value, names);
      owners = new Map([...owners].filter(([name]) => !names.includes(name)));
      const told = setAside.filter((s) => !s.agrees); // one equal to its literal goes quietly
      el.valuesNote.textContent = told.length ? `${told.map(({ name, given, literal }) =>
        `${name}=${formatValue(given)} left Values: line ${literal.line} of the source assigns ` +
        `${name} = ${literal.text}, which stands`).join("; ")}. To override a literal, type ` +
        "its value in Values for this source." : "";
      return panel;
    },

    /** Check the mode's radio button; forward mode shows its input menu and has no practice. */
    setMode(mode) {
      for (const radio of el.modes) radio.checked = radio.value === mode;
      el.wrtField.hidden = mode !== "forward";
      el.practice.disabled = mode === "forward";
      el.ninja.disabled = mode === "forward";
      return panel;
    },

    /** Check or clear Ninja mode's box (from a link). */
    setNinja(on) {
      el.ninja.checked = on;
      return panel;
    },

    /** The inputs forward mode can differentiate with respect to, `chosen` selected. */
    setWrtOptions(names, chosen, shown) {
      el.wrt.replaceChildren(...names.map((name) => new Option(name, name, false, name === chosen)));
      el.wrtField.hidden = !shown;
      return panel;
    },

    /** While a run is under way, Run is disabled. */
    setBusy(busy) {
      el.run.disabled = busy;
      return panel;
    },

    /** Show an error, its characters underlined in the source (span null: none). */
    showError(message, span) {
      const p = document.createElement("p");
      p.textContent = message;
      el.error.replaceChildren(p);
      el.error.hidden = false;
      sourceView.setError(span);
      return panel;
    },

    clearError() {
      el.error.replaceChildren();
      el.error.hidden = true;
      sourceView.setError(null);
      return panel;
    },

    /** The answer's warnings under Run (a value set aside is said by setAside instead). */
    setWarnings(warnings) {
      el.warnings.textContent = warnings.filter((w) => w.kind !== "set_aside")
        .map((w) => `⚠ ${w.message}`).join(" ");
      return panel;
    },

    /** The source the graph's node spans refer to. */
    setRanSource(source) {
      sourceView.setRanSource(source);
      return panel;
    },

    /** Shade the statements folded in the graph ({folded, open}: [start, end) spans). */
    setFolded(spans) {
      sourceView.setFolded(spans);
      return panel;
    },

    /** Highlight a node's characters in the source (null: none). */
    highlight(span) {
      sourceView.setNodeSpan(span);
      return panel;
    },

    /** Say in words, by the source, what its red underlines mark: the rules the check found
     * wrong (the answer's `check.rules` entries; [] none). */
    sayWrongRules(rules) {
      sourceView.setRuleNotes(rules);
      return panel;
    },

    /** Mark the spans of wrong derivative rules in the source: their lines and nodes. */
    markRules(spans) {
      sourceView.setRuleSpans(spans);
      return panel;
    },

    /** Fill the Examples menu from the API; choosing one puts it in the fields and runs it.
     * Resolves to the list; rejects if it could not be loaded. */
    async loadExamples() {
      const list = await fetchExamples();
      for (const [i, example] of list.entries()) {
        const option = new Option(example.title, String(i));
        option.title = example.description;
        el.examples.append(option);
      }
      el.examples.onchange = () => {
        const example = list[Number(el.examples.value)];
        if (!example) return;
        panel.setInput(example.source, formatValues(example.values));
        el.examples.title = example.description;
        callbacks.onRun();
      };
      return list;
    },

    /** Choose the first example, as a user would (when nothing else is in the editor). */
    chooseFirstExample() {
      if (el.source.value || el.examples.options.length < 2) return panel;
      el.examples.value = "0";
      el.examples.dispatchEvent(new Event("change"));
      return panel;
    },
  };
  return panel;
}
