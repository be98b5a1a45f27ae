// Geometry of the graph view, pure: which part of the graph a zoom transform shows, whether a
// node is inside it, and the transforms of the first view and of following the current step.
// A transform is d3-zoom's {x, y, k}: screen = graph * k + (x, y).

/** The zoom at which the cards' 12 px text is 12 px on screen: the smallest text (11 px)
 * stays at 11 px, so the default view is readable on a phone too. */
export const READABLE_SCALE = 1;
/** Below this zoom a card's text would be under about 6 px: a node is drawn as its op
 * symbol and its colour instead (level of detail). */
export const FAR_SCALE = 0.5;
const MARGIN = 12;
/** Room left above a graph taller than the view, for the Follow and Fit buttons over its top. */
const TOP = 48;

/** The graph rectangle {x0, y0, x1, y1} seen through transform `t` in a view of `width` ×
 * `height`, grown by `margin` screen pixels on every side. */
export function visibleRect(t, width, height, margin = 0) {
  return {
    x0: (-margin - t.x) / t.k, y0: (-margin - t.y) / t.k,
    x1: (width + margin - t.x) / t.k, y1: (height + margin - t.y) / t.k,
  };
}

/** Whether a box {x, y, width, height} meets a rectangle {x0, y0, x1, y1}. */
export function intersects(box, rect) {
  return box.x <= rect.x1 && box.x + box.width >= rect.x0 && box.y <= rect.y1 &&
    box.y + box.height >= rect.y0;
}

/** Whether all of `box` is on screen under `t`, `inset` pixels inside the view's edges. */
export function inView(box, t, width, height, inset = 0) {
  const x0 = box.x * t.k + t.x;
  const y0 = box.y * t.k + t.y;
  return x0 >= inset && y0 >= inset && x0 + box.width * t.k <= width - inset &&
    y0 + box.height * t.k <= height - inset;
}

/** The scale at which a graph of gw × gh fits a view of width × height (at most 1.6). */
export function fitScale(width, height, gw, gh) {
  return Math.min((width - 2 * MARGIN) / Math.max(gw, 1), (height - 2 * MARGIN) / Math.max(gh, 1), 1.6);
}

/** A translation that keeps the graph on screen: where the graph is wider (or taller) than
 * the view, no empty band wider than the margin on either side (above, room for the buttons);
 * where it is smaller, centred. */
export function clampTranslate({ x, y, k }, width, height, gw, gh) {
  const clampAxis = (t, view, size, lead) => {
    const extent = size * k;
    if (extent + 2 * MARGIN <= view) return (view - extent) / 2;
    return Math.min(lead, Math.max(view - MARGIN - extent, t));
  };
  return { x: clampAxis(x, width, gw, MARGIN), y: clampAxis(y, height, gh, TOP), k };
}

/** The first view of a graph: all of it if it fits at a readable scale, else the readable
 * scale around `focus` (the current node's box, or null for the graph's start). */
export function homeTransform(width, height, gw, gh, focus) {
  const k = fitScale(width, height, gw, gh);
  if (k >= READABLE_SCALE) return { x: (width - gw * k) / 2, y: (height - gh * k) / 2, k };
  if (!focus) return clampTranslate({ x: MARGIN, y: TOP, k: READABLE_SCALE }, width, height, gw, gh);
  return centreOn(focus, { k: READABLE_SCALE }, width, height, gw, gh, "forward");
}

/** The transform that brings `box` into view at the scale of `t`, with room on the side the
 * pass is heading to (right going forward, left going backward); null if it is in view. */
export function followTransform(box, t, width, height, gw, gh, phase) {
  const inset = Math.min(24, width / 10);
  if (inView(box, t, width, height, inset)) return null;
  return centreOn(box, t, width, height, gw, gh, phase);
}

function centreOn(box, t, width, height, gw, gh, phase) {
  const k = t.k;
  // A box wider than the view: its left end (forward) or right end (backward) in view.
  const along = phase === "backward" ? 0.7 : 0.3;
  const cx = box.width * k > width * 0.8 ? (phase === "backward" ? box.x + box.width : box.x)
    : box.x + box.width / 2;
  const aimed = width * (box.width * k > width * 0.8 ? (phase === "backward" ? 0.9 : 0.1) : along) - k * cx;
  // A box that fits is put wholly inside, a margin from the edges: aiming its middle at 30 %
  // of a narrow view would cut a wide card off at the left.
  const x = inside(aimed, box.x * k, box.width * k, width);
  const y = inside(height / 2 - k * (box.y + box.height / 2), box.y * k, box.height * k, height);
  const clamped = clampTranslate({ x, y, k }, width, height, gw, gh);
  // Clamping must never push the box itself out of view.
  return inView(box, clamped, width, height, 0) ? clamped : { x, y, k };
}

// The translation nearest `t` that keeps a span [start, start + size] (screen pixels at
// translation 0) a margin inside a view of `view` pixels, when it fits.
function inside(t, start, size, view) {
  const margin = Math.min(MARGIN, Math.max(0, (view - size) / 2));
  if (size + 2 * margin > view) return t;
  return Math.min(view - margin - start - size, Math.max(margin - start, t));
}
