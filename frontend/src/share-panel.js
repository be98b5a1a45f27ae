// The share and export panel: Copy link, and the graph as SVG or PNG, the answer as JSON,
// and the steps as one HTML file that plays offline (offline.js).

import { download, pngBlob, svgText } from "./exports.js";
import { offlineHtml } from "./offline.js";

const OFFLINE_TEMPLATE = "dist/offline.html"; // built by build.mjs

/** The panel on its elements `el` ({copyLink, exportSvg, exportPng, exportJson, exportHtml,
 * status, graph}); callbacks: bounds() (the graph's laid-out size or null), result() (the last
 * answer or null), step() (the index shown). */
export function createSharePanel(el, callbacks) {
  const say = (message) => { el.status.textContent = message; };
  const name = (ext) => `chainrule-step-${callbacks.step()}.${ext}`;
  const background = () => getComputedStyle(document.body).getPropertyValue("--bg").trim() || "#ffffff";

  el.copyLink.addEventListener("click", async () => {
    const url = location.href;
    try {
      await navigator.clipboard.writeText(url);
      say("Link copied.");
    } catch {
      say(`Copy this link: ${url}`);
    }
  });
  el.exportSvg.addEventListener("click", () => {
    const bounds = callbacks.bounds();
    if (!bounds) return say("Run an expression first.");
    const text = svgText(el.graph, bounds, background());
    download(name("svg"), new Blob([text], { type: "image/svg+xml" }));
    say("SVG exported.");
  });
  el.exportPng.addEventListener("click", async () => {
    const bounds = callbacks.bounds();
    if (!bounds) return say("Run an expression first.");
    try {
      download(name("png"), await pngBlob(svgText(el.graph, bounds, background())));
      say("PNG exported.");
    } catch (err) {
      say(`PNG export failed: ${err.message}`);
    }
  });
  el.exportJson.addEventListener("click", () => {
    const result = callbacks.result();
    if (!result) return say("Run an expression first.");
    download("chainrule.json", new Blob([JSON.stringify(result, null, 2)], { type: "application/json" }));
    say("JSON exported.");
  });
  el.exportHtml.addEventListener("click", async () => {
    const result = callbacks.result();
    if (!result) return say("Run an expression first.");
    try {
      const response = await fetch(OFFLINE_TEMPLATE);
      if (!response.ok) throw new Error(`the offline page is not built (${response.status})`);
      const html = offlineHtml(await response.text(), result);
      download("chainrule-steps.html", new Blob([html], { type: "text/html" }));
      say("HTML exported: one file that plays the steps offline.");
    } catch (err) {
      say(`HTML export failed: ${err.message}`);
    }
  });
  return {};
}
