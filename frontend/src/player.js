// The step player: a pure state machine over `total` steps, indexes 0 .. total - 1.
// No DOM and no timers: the caller dispatches actions and runs the clock (see main.js).

/** Speeds offered, in steps per second. */
export const SPEEDS = [0.5, 1, 2, 4, 8, 16];

/** A fresh player over `total` steps, at `index`, paused. */
export function createPlayer(total, index = 0, speed = 2) {
  return { total, index: clamp(index, total), playing: false, speed, stops: null };
}

/** The state after `action` ({type: "next" | "prev" | "seek" | "play" | "pause" | "toggle" |
 * "tick" | "speed" | "start" | "end", index?, speed?}). Never mutates `state`. */
export function reduce(state, action) {
  const handler = HANDLERS[action.type];
  if (!handler) throw new Error(`unknown player action: ${action.type}`);
  return handler(state, action);
}

const HANDLERS = {
  next: (s) => ({ ...s, index: after(s), playing: false }),
  prev: (s) => ({ ...s, index: before(s), playing: false }),
  seek: (s, a) => ({ ...s, index: clamp(a.index, s.total), playing: false }),
  start: (s) => ({ ...s, index: s.stops ? clamp(s.stops[0], s.total) : 0, playing: false }),
  end: (s) => ({ ...s, index: last(s.total), playing: false }),
  // Playing from the end starts over, as a video player does.
  play: (s) => (s.total === 0 ? s : { ...s, playing: true, index: atEnd(s) ? 0 : s.index }),
  pause: (s) => ({ ...s, playing: false }),
  toggle: (s) => reduce(s, { type: s.playing ? "pause" : "play" }),
  // One clock tick while playing: advance, and stop on the last step.
  tick: (s) => {
    if (!s.playing) return s;
    const index = after(s);
    return { ...s, index, playing: index < last(s.total) };
  },
  speed: (s, a) => ({ ...s, speed: a.speed > 0 ? a.speed : s.speed }),
  // The steps Next, Previous and Play stand on (a sorted Int32Array; null: every step): the
  // graph shown by levels steps a closed group's whole run at once (levels.stopsOf).
  // The index moves to the stop that ends its run.
  stops: (s, a) => {
    const stops = a.stops?.length ? a.stops : null;
    const k = stops ? firstAbove(stops, s.index - 1) : 0;
    return { ...s, stops, index: stops && k < stops.length ? clamp(stops[k], s.total) : s.index };
  },
};

// The next step Next stands on: the first stop after the index (or the next index).
function after(s) {
  if (!s.stops) return clamp(s.index + 1, s.total);
  const k = firstAbove(s.stops, s.index);
  return k < s.stops.length ? clamp(s.stops[k], s.total) : last(s.total);
}

// The step Previous stands on: the last stop before the index.
function before(s) {
  if (!s.stops) return clamp(s.index - 1, s.total);
  const k = firstAbove(s.stops, s.index - 1) - 1;
  return k >= 0 ? clamp(s.stops[k], s.total) : 0;
}

// The position of the first element of `sorted` greater than `x`.
function firstAbove(sorted, x) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Whether the player stands on its last step. */
export function atEnd(state) {
  return state.index >= last(state.total);
}

/** Milliseconds between two ticks at the state's speed. */
export function interval(state) {
  return 1000 / state.speed;
}

function last(total) {
  return Math.max(total - 1, 0);
}

function clamp(index, total) {
  const i = Math.round(Number(index));
  if (!Number.isFinite(i)) return 0;
  return Math.min(Math.max(i, 0), last(total));
}
