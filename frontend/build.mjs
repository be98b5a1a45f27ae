// The build (`npm run build`), with esbuild:
//   dist/index.html,   the page and the embed view, from index.html and embed.html with their
//   dist/embed.html    style sheets and modules replaced by these files:
//   dist/assets/       the page's and the embed view's modules (main-*.js, embed-*.js and the
//                      chunks they share; KaTeX and elkjs's API in chunks of their own, loaded
//                      when first needed), style sheets, KaTeX's style sheet and fonts, and
//                      elkjs's worker, every name content-hashed (served cached for a year);
//   dist/offline.html  the offline page: every script, style and font inlined, and a place
//                      for the answer (src/offline.js, chainrule/export.py fill it);
//   dist/widget.js     the notebook widget's ES module (anywidget), its styles inside.
// All are built from the same modules (src/player-view.js and the panels). The bundles keep
// elkjs's in-thread ELK (src/bundle-globals.js); the page runs ELK in a Web Worker (src/elk.js).

import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { STAGE_PARTS } from "./src/stage-markup.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, "dist");
const PLACEHOLDER = "__CHAINRULE_ANSWER__"; // as in src/offline.js

const ASSETS = join(DIST, "assets");

// `globalThis.ELK` in the modules (src/elk.js) becomes an import of elkjs's in-thread ELK.
const GLOBALS = {
  define: { "globalThis.ELK": "__chainrule_ELK" },
  inject: [join(HERE, "src", "bundle-globals.js")],
};

// KaTeX's fonts, woff2 only (every browser that runs ES modules reads it), as data URIs.
const woff2Only = {
  name: "woff2-only",
  setup(build) {
    build.onLoad({ filter: /katex(\.min)?\.css$/ }, async (args) => ({
      contents: (await readFile(args.path, "utf8"))
        .replace(/,\s*url\([^)]*\.woff\) format\("woff"\)/g, "")
        .replace(/,\s*url\([^)]*\.ttf\) format\("truetype"\)/g, ""),
      loader: "css",
    }));
  },
};

async function bundleCss() {
  const result = await esbuild.build({
    stdin: {
      contents: ['@import "katex/dist/katex.min.css";', '@import "./style.css";',
        '@import "./player-view.css";'].join("\n"),
      resolveDir: HERE, loader: "css",
    },
    bundle: true, minify: true, write: false, loader: { ".woff2": "dataurl" },
    plugins: [woff2Only], logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

async function bundleJs(entry, format) {
  const result = await esbuild.build({
    entryPoints: [join(HERE, "src", entry)], bundle: true, minify: true, write: false,
    format, target: "es2022", legalComments: "none", logLevel: "warning", ...GLOBALS,
  });
  return result.outputFiles[0].text;
}

// Inline text must not end its <script> or <style> element early.
function inlinable(text, tag) {
  if (new RegExp(`</${tag}`, "i").test(text) || /<!--/.test(text)) {
    throw new Error(`the bundled ${tag} holds "</${tag}" or "<!--" and cannot be inlined`);
  }
  return text;
}

function offlinePage(css, js) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>chainrule</title>
<link rel="icon" href="data:,">
<style>${inlinable(css, "style")}</style>
</head>
<body>
<main id="player-root" data-status="loading"></main>
<script type="application/json" id="chainrule-answer">${PLACEHOLDER}</script>
<script type="module">${inlinable(js, "script")}</script>
</body>
</html>
`;
}

// In a notebook the widget lives in a shadow root: the page's :root and body rules apply to
// its host instead, and the fonts are declared on the document (Chromium ignores @font-face
// inside a shadow root).
function widgetStyles(css) {
  const fonts = css.match(/@font-face\{[^}]*\}/g) ?? [];
  const scoped = css.replace(/@font-face\{[^}]*\}/g, "")
    .replace(/:root/g, ":host").replace(/(^|[{},])body(?=[{,.:\s])/g, "$1:host");
  return { fonts: fonts.join(""), css: scoped + notebookThemes(scoped) };
}

// The palette (style.css's variables) again under :host([data-theme=light|dark]), which the
// widget sets from JupyterLab's theme (widget.js): the notebook's theme, not the system's.
function notebookThemes(css) {
  const light = css.match(/:host\{(--bg:[^}]*)\}/);
  const dark = css.match(/@media\s*\(prefers-color-scheme:\s*dark\)\{:host\{(--bg:[^}]*)\}/);
  if (!light || !dark) throw new Error("style.css: no light and dark palettes found for the widget");
  return `:host([data-theme=light]){${light[1]};color-scheme:light}` +
    `:host([data-theme=dark]){${dark[1]};color-scheme:dark}`;
}

// dist/assets/: the page's style sheets (KaTeX's too, its fonts beside it), modules and ELK's
// worker, content-hashed. Returns the URL (relative to "/", where the pages are) of each entry's output, and
// of the chunks each imports at once (for <link rel="modulepreload">).
async function buildPageAssets() {
  await rm(ASSETS, { recursive: true, force: true });
  await mkdir(ASSETS, { recursive: true });
  const url = (file) => relative(HERE, file).split("\\").join("/");
  const outputsOf = (metafile) => Object.fromEntries(Object.entries(metafile.outputs)
    .filter(([, out]) => out.entryPoint).map(([file, out]) => [
      basename(out.entryPoint), { url: url(join(HERE, file)), preload: out.imports
        .filter((i) => i.kind === "import-statement").map((i) => url(join(HERE, i.path))) }]));
  const common = { bundle: true, minify: true, outdir: ASSETS, metafile: true,
    entryNames: "[name]-[hash]", assetNames: "[name]-[hash]", logLevel: "warning",
    absWorkingDir: HERE };
  const css = outputsOf((await esbuild.build({
    ...common, entryPoints: ["style.css", "player-view.css", "node_modules/katex/dist/katex.min.css"],
    loader: { ".woff2": "file" }, plugins: [woff2Only],
  })).metafile);
  const worker = await readFile(join(HERE, "node_modules/elkjs/lib/elk-worker.min.js"));
  const workerFile = join(ASSETS, `elk-worker-${createHash("sha256").update(worker)
    .digest("hex").slice(0, 8).toUpperCase()}.js`);
  await writeFile(workerFile, worker);
  const js = outputsOf((await esbuild.build({
    ...common, entryPoints: ["src/main.js", "src/standalone.js"], splitting: true,
    format: "esm", target: "es2022", chunkNames: "chunk-[hash]", legalComments: "none",
    define: { __CHAINRULE_ELK_WORKER__: JSON.stringify(url(workerFile)),
      __CHAINRULE_KATEX_CSS__: JSON.stringify(css["katex.min.css"].url) },
  })).metafile);
  return { ...css, ...js };
}

// dist/<name>: the page `name` with its style sheets and module replaced by their built files.
async function writePage(name, outputs) {
  let html = await readFile(join(HERE, name), "utf8");
  // The stage's markup, written once in src/stage-markup.js (the player views use it too).
  html = html.replace(/<!-- stage:(\w+) -->/g, (tag, part) => {
    if (!STAGE_PARTS[part]) throw new Error(`${name}: no stage part ${part}`);
    return STAGE_PARTS[part]();
  });
  html = html.replace(/<link rel="stylesheet" href="([^"]+)">/g, (tag, href) => {
    if (!outputs[href]) throw new Error(`${name}: no built file for ${href}`);
    return `<link rel="stylesheet" href="${outputs[href].url}">`;
  });
  html = html.replace(/<script type="module" src="src\/([^"]+)"><\/script>/, (tag, src) => {
    const out = outputs[src];
    if (!out) throw new Error(`${name}: no built module for ${src}`);
    const preload = out.preload.map((p) => `<link rel="modulepreload" href="${p}">\n  `).join("");
    return `${preload}<script type="module" src="${out.url}"></script>`;
  });
  if (/src="src\//.test(html)) throw new Error(`${name}: a module was left unbuilt`);
  await writeFile(join(DIST, name), html);
}

async function main() {
  await mkdir(DIST, { recursive: true });
  const assets = await buildPageAssets();
  await writePage("index.html", assets);
  await writePage("embed.html", assets);
  const css = await bundleCss();
  const offline = offlinePage(css, await bundleJs("standalone.js", "esm"));
  await writeFile(join(DIST, "offline.html"), offline);
  const styles = widgetStyles(css);
  const widget = await esbuild.build({
    entryPoints: [join(HERE, "src", "widget.js")], bundle: true, minify: true, write: false,
    format: "esm", target: "es2022", legalComments: "none", logLevel: "warning",
    define: { ...GLOBALS.define, __CHAINRULE_CSS__: JSON.stringify(styles.css),
      __CHAINRULE_FONTS__: JSON.stringify(styles.fonts) },
    inject: GLOBALS.inject,
  });
  await writeFile(join(DIST, "widget.js"), widget.outputFiles[0].text);
  const kb = (text) => `${Math.round(Buffer.byteLength(text) / 1024)} KB`;
  console.log(`dist/offline.html ${kb(offline)}, dist/widget.js ${kb(widget.outputFiles[0].text)}`);
}

await main();
