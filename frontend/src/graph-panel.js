// The graph panel: the graph view (render.js) and the controls drawn over it (Fit to screen),
// and the dimming of a graph that no longer matches the source after an error.

import { createGraphView } from "./render.js";

/** The panel on its elements `el` ({graph, fit}); callbacks: onHover(id or null),
 * onSelect(id or null). */
export function createGraphPanel(el, callbacks) {
  const view = createGraphView(el.graph);
  view.on("hover", callbacks.onHover).on("select", callbacks.onSelect);
  el.fit.addEventListener("click", () => view.fit(300));

  const panel = {
    /** Draw a new answer laid out (layout.js) with its cards and timeline, at its first view. */
    show(result, laid, cards, timeline) {
      el.graph.classList.remove("stale");
      view.draw(result, laid, cards, timeline).home();
      return panel;
    },

    /** Show step `index`, redrawing the nodes in `ids` (timeline.changedNodes). */
    update(ids, index, options) {
      view.update(ids, index, options);
      return panel;
    },

    /** Mark the nodes in `ids` as selected. */
    select(ids) {
      view.select(ids);
      return panel;
    },

    /** Dim the graph: it is the last good run's, not the source's. */
    setStale(stale) {
      el.graph.classList.toggle("stale", stale);
      return panel;
    },

    /** The laid-out size of the graph (for exports), or null before the first run. */
    bounds() {
      return view.bounds();
    },
  };
  return panel;
}
