// The build (`npm run build`): the player's modules bundled with esbuild into
//   dist/offline.html  the offline page: every script, style and font inlined, and a place
//                      for the answer (src/offline.js, chainrule/export.py fill it);
//   dist/widget.js     the notebook widget's ES module (anywidget), its styles inside.
// Both are built from the same modules as the page (src/player-view.js and the panels); d3
// and elkjs, which the page loads as UMD globals, are imported from npm instead.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = join(HERE, "dist");
const PLACEHOLDER = "__CHAINRULE_ANSWER__"; // as in src/offline.js

// `globalThis.d3` and `globalThis.ELK` in the modules become imports of the npm packages.
const GLOBALS = {
  define: { "globalThis.d3": "__chainrule_d3", "globalThis.ELK": "__chainrule_ELK" },
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
  return { fonts: fonts.join(""), css: scoped };
}

async function main() {
  await mkdir(DIST, { recursive: true });
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
