// The graph panel: the graph view (render.js) and the controls drawn over it (Follow, Fit to
// screen, the overview), and the dimming of a graph that no longer matches the source.

import { createGraphView } from "./render.js";

/** The panel on its elements `el` ({graph, far, minimap, fit, follow}); callbacks:
 * onHover(id or null), onSelect(id or null). */
export function createGraphPanel(el, callbacks) {
  const view = createGraphView(el.graph, { canvas: el.far, minimap: el.minimap });
  view.on("hover", callbacks.onHover).on("select", callbacks.onSelect)
    .on("view", ({ overview }) => { el.minimap.hidden = !overview; });
  el.fit.addEventListener("click", () => view.fit(300));
  el.follow.addEventListener("click", () => {
    const on = el.follow.getAttribute("aria-pressed") !== "true";
    el.follow.setAttribute("aria-pressed", String(on));
    view.setFollow(on);
  });

  const panel = {
    /** Draw a new answer laid out (layout.js) with its cards and timeline, and show it at
     * step `index`: all of it where readable, else a readable part around that step. */
    show(result, laid, cards, timeline, index) {
      el.graph.classList.remove("stale");
      view.draw(result, laid, cards, timeline);
      view.home(timeline.steps[index]?.node ?? null);
      view.update(result.nodes.map((n) => n.id), index, { pulseMs: 0 });
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

    /** Highlight a path of ids {nodes, edges} on the graph, or none (null). */
    highlightPath(path) {
      view.highlightPath(path);
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
