// Where the graph's ELK comes from. The page and the embed view (built by build.mjs with
// __CHAINRULE_ELK_WORKER__, the URL of elkjs's worker) load ELK only when a graph is first
// laid out, and run every layout in that Web Worker, off the page's thread. The bundles (the
// offline file, the widget) keep the in-thread ELK that bundle-globals.js imports from npm.

/** An ELK for one graph panel: `{ layout(graph, options) }`, as elkjs's own. */
export function createElk() {
  if (typeof __CHAINRULE_ELK_WORKER__ === "string") return workerElk(__CHAINRULE_ELK_WORKER__);
  return new globalThis.ELK();
}

/** An ELK whose API module and worker (`workerUrl`) are loaded at its first layout. */
export function workerElk(workerUrl) {
  let elk = null;
  return {
    async layout(graph, options) {
      elk ??= import("elkjs/lib/elk-api.js").then(({ default: ELK }) => new ELK({ workerUrl }));
      return (await elk).layout(graph, options);
    },
  };
}
