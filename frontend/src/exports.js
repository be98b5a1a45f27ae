// Exports: the graph as a standalone SVG (styles inlined) or PNG, and the API answer as JSON.

const STYLE_PROPS = ["fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray",
  "opacity", "font-family", "font-size", "font-weight", "font-style", "visibility", "display"];

/** The graph <svg> as standalone SVG text of the whole graph (not just the visible part). */
export function svgText(svgElement, { width, height }, background) {
  const clone = svgElement.cloneNode(true);
  inlineStyles(svgElement, clone);
  const margin = 16;
  clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  clone.setAttribute("width", Math.ceil(width + 2 * margin));
  clone.setAttribute("height", Math.ceil(height + 2 * margin));
  clone.setAttribute("viewBox", `${-margin} ${-margin} ${width + 2 * margin} ${height + 2 * margin}`);
  clone.removeAttribute("style");
  clone.removeAttribute("class");
  clone.querySelector(".viewport")?.removeAttribute("transform");
  clone.querySelector(".pulses")?.remove();
  const bg = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  for (const [k, v] of Object.entries({ x: -margin, y: -margin, width: "100%", height: "100%", fill: background })) {
    bg.setAttribute(k, v);
  }
  bg.setAttribute("width", width + 2 * margin);
  bg.setAttribute("height", height + 2 * margin);
  clone.insertBefore(bg, clone.firstChild);
  return new XMLSerializer().serializeToString(clone);
}

// Computed styles of the original, written as attributes of the clone (CSS variables and
// classes do not travel with an exported file).
function inlineStyles(source, target) {
  const sources = source.querySelectorAll("*");
  const targets = target.querySelectorAll("*");
  for (let i = 0; i < sources.length; i++) {
    const computed = getComputedStyle(sources[i]);
    const style = STYLE_PROPS.map((p) => `${p}:${computed.getPropertyValue(p)}`).join(";");
    targets[i].style.cssText = style; // CSSOM, not an attribute: allowed by the page's CSP
  }
}

/** A PNG blob of SVG text, at `scale` × its size. */
export function pngBlob(text, scale = 2) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      // Browsers cap canvas sides (about 16k to 32k pixels): shrink very wide graphs.
      scale = Math.min(scale, 16000 / Math.max(image.width, image.height, 1));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(image.width * scale));
      canvas.height = Math.max(1, Math.round(image.height * scale));
      const context = canvas.getContext("2d");
      context.scale(scale, scale);
      context.drawImage(image, 0, 0);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG export failed"))), "image/png");
    };
    image.onerror = () => reject(new Error("the SVG could not be rasterized"));
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(text)}`;
  });
}

/** Offer a blob as a download named `filename`. */
export function download(filename, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
