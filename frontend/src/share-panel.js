// The share and export panel: Copy link, Copy embed code (an iframe of /embed), and the graph as SVG or PNG, the answer as JSON,
// and the steps as one HTML file that plays offline (offline.js).

import { download, pngBlob, svgText } from "./exports.js";
import { offlineHtml } from "./offline.js";
import { embedCode } from "./url-state.js";

const OFFLINE_TEMPLATE = "dist/offline.html"; // built by build.mjs

/** The panel on its elements `el` ({copyLink, copyEmbed, exportSvg, exportPng, exportJson,
 * exportHtml, status, graph}); callbacks: bounds() (the graph's laid-out size or null), result() (the last
 * answer, inflated by answer.js, or null), step() (the index shown). */
export function createSharePanel(el, callbacks) {
  const say = (message) => { el.status.textContent = message; };
  const name = (ext) => `chainrule-step-${callbacks.step()}.${ext}`;
  const background = () => getComputedStyle(document.body).getPropertyValue("--bg").trim() || "#ffffff";

  const copy = async (text, done, what) => {
    try {
      await navigator.clipboard.writeText(text);
      say(done);
    } catch {
      say(`Copy this ${what}: ${text}`);
    }
  };
  el.copyLink.addEventListener("click", () => {
    callbacks.syncLink?.();
    copy(location.href, "Link copied.", "link");
  });
  el.copyEmbed.addEventListener("click", () => {
    if (!callbacks.result()) return say("Run an expression first.");
    callbacks.syncLink?.();
    copy(embedCode(location.href, location.hash), "Embed code copied: an iframe of the player, for course notes.",
      "embed code");
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
    // The compact answer, as the API sent it: columns, op entries and sentence templates.
    download("chainrule.json", new Blob([JSON.stringify(result.compact, null, 2)], { type: "application/json" }));
    say("JSON exported: the compact answer (API v2), columns and templates.");
  });
  el.exportHtml.addEventListener("click", async () => {
    const result = callbacks.result();
    if (!result) return say("Run an expression first.");
    try {
      const response = await fetch(OFFLINE_TEMPLATE);
      if (!response.ok) throw new Error(`the offline page is not built (${response.status})`);
      const html = offlineHtml(await response.text(), result.compact);
      download("chainrule-steps.html", new Blob([html], { type: "text/html" }));
      say("HTML exported: one file that plays the steps offline.");
    } catch (err) {
      say(`HTML export failed: ${err.message}`);
    }
  });
  return {};
}
