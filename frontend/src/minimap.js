// The overview (minimap): the whole graph in miniature on a <canvas>, the part in view as a
// rectangle, the current step as a dot. Pressing or dragging on it moves the view there.

/** A minimap on `canvas`; `onPan(x, y)` asks the view to centre on graph point (x, y). */
export function createMinimap(canvas, { onPan }) {
  const ctx = canvas.getContext("2d");
  let base = null; // the graph drawn once per layout: an offscreen canvas
  let scale = 1;
  let offset = { x: 0, y: 0 };
  let graph = null;
  let last = null; // {rect, current, colours}
  let colour = "#888";

  // The canvas's CSS size, kept by a ResizeObserver (no layout forced while stepping).
  let cssSize = { w: 0, h: 0 };
  new ResizeObserver(([entry]) => {
    cssSize = { w: entry.contentRect.width, h: entry.contentRect.height };
    if (graph && entry.contentRect.width) minimap.setGraph(graph, colour);
    if (last) minimap.show(last.rect, last.current, last.colours);
  }).observe(canvas);
  function size() {
    const dpr = window.devicePixelRatio || 1;
    const w = cssSize.w || 160;
    const h = cssSize.h || 100;
    if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
    if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
    return { w: canvas.width, h: canvas.height, dpr };
  }

  function toGraph(event) {
    const box = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const px = (event.clientX - box.left) * dpr;
    const py = (event.clientY - box.top) * dpr;
    return [(px - offset.x) / scale, (py - offset.y) / scale];
  }

  let dragging = false;
  canvas.addEventListener("pointerdown", (event) => {
    if (!graph) return;
    dragging = true;
    canvas.setPointerCapture(event.pointerId);
    onPan(...toGraph(event));
  });
  canvas.addEventListener("pointermove", (event) => { if (dragging) onPan(...toGraph(event)); });
  canvas.addEventListener("pointerup", () => { dragging = false; });
  canvas.addEventListener("pointercancel", () => { dragging = false; });

  const minimap = {
    /** A new layout: {boxes: iterable of {x, y, width, height}, width, height}; `colour`. */
    setGraph(laid, boxColour) {
      graph = { ...laid, boxes: [...laid.boxes] };
      colour = boxColour;
      laid = graph;
      const { w, h } = size();
      const pad = 4;
      scale = Math.min((w - 2 * pad) / Math.max(laid.width, 1), (h - 2 * pad) / Math.max(laid.height, 1));
      offset = { x: (w - laid.width * scale) / 2, y: (h - laid.height * scale) / 2 };
      base = document.createElement("canvas");
      base.width = w;
      base.height = h;
      const b = base.getContext("2d");
      b.fillStyle = colour;
      for (const box of laid.boxes) {
        b.fillRect(offset.x + box.x * scale, offset.y + box.y * scale,
          Math.max(1, box.width * scale), Math.max(1, box.height * scale));
      }
      return minimap;
    },

    /** Draw the part in view (a graph rectangle {x0, y0, x1, y1}) and the current box. */
    show(rect, current, colours) {
      if (!base) return minimap;
      last = { rect, current, colours };
      const { w, h } = size();
      ctx.clearRect(0, 0, w, h);
      ctx.drawImage(base, 0, 0);
      if (current) {
        ctx.fillStyle = colours.current;
        const cx = offset.x + (current.x + current.width / 2) * scale;
        const cy = offset.y + (current.y + current.height / 2) * scale;
        ctx.beginPath();
        ctx.arc(cx, cy, 3.5 * (window.devicePixelRatio || 1), 0, 2 * Math.PI);
        ctx.fill();
      }
      ctx.strokeStyle = colours.view;
      ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
      const x = offset.x + rect.x0 * scale;
      const y = offset.y + rect.y0 * scale;
      ctx.strokeRect(x, y, (rect.x1 - rect.x0) * scale, (rect.y1 - rect.y0) * scale);
      return minimap;
    },

    /** The last view drawn ({rect, current}), for tests of what it shows. */
    shown() {
      return last;
    },
  };
  return minimap;
}
