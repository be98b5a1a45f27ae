// The player's controls: Previous / Play / Next, the Step slider and its count, Speed, the
// phase badge, and the keys ← → Space Home End. It draws what it is given and reports the
// user's actions as player actions (player.js); the player itself lives in main.js.

import { createMemoryLine } from "./memory-line.js";

const PHASE_NAMES = { forward: "Forward pass", backward: "Backward pass", tangent: "Forward mode" };

/** The controls on their elements `el` ({prev, next, play, speed, slider, count, phase, memory});
 * `onAction(action)` receives {type, index?, speed?} as player.reduce takes them; the keys
 * are listened to on `keyTarget` (the whole page by default). */
export function createPlayerPanel(el, { onAction, keyTarget = document }) {
  const memory = el.memory ? createMemoryLine(el.memory) : null;
  el.prev.addEventListener("click", () => onAction({ type: "prev" }));
  el.next.addEventListener("click", () => onAction({ type: "next" }));
  el.play.addEventListener("click", () => onAction({ type: "toggle" }));
  el.speed.addEventListener("change", () => onAction({ type: "speed", speed: Number(el.speed.value) }));
  el.slider.addEventListener("input", () => onAction({ type: "seek", index: Number(el.slider.value) }));
  let shownTotal = 0;
  keyTarget.addEventListener("keydown", (event) => {
    const type = keyAction(event);
    if (!type || !shownTotal) return; // nothing to step through before the first run
    event.preventDefault();
    onAction({ type });
  });

  const panel = {
    /** Show step `index` of `total` in `phase`; `where` (stage.whereAt) says it at the level
     * shown, a closed group's run of steps at once: "layers[1] · stop 3 of 12 · node steps
     * 8,049–16,096 of 130,828". */
    show(index, total, phase, where = null) {
      shownTotal = total;
      el.slider.max = String(Math.max(total - 1, 0));
      el.slider.value = String(index);
      const words = countWords(index, total, where);
      el.slider.setAttribute("aria-valuetext", words);
      el.count.textContent = where ? words : `${index + 1} / ${total}`;
      el.count.classList.toggle("words", Boolean(where));
      memory?.show(index);
      el.prev.disabled = index === 0;
      el.next.disabled = index >= total - 1;
      el.phase.textContent = PHASE_NAMES[phase];
      el.phase.dataset.phase = phase;
      return panel;
    },

    /** A new answer and its timeline: the memory line under the player (memory-line.js). */
    setAnswer(result, timeline) {
      memory?.reset(result, timeline);
      return panel;
    },

    /** Put the slider back at `index` (when the player refused to move). */
    setIndex(index) {
      el.slider.value = String(index);
      return panel;
    },

    /** The Play button as Play or Pause. */
    setPlaying(playing) {
      el.play.setAttribute("aria-label", playing ? "Pause" : "Play");
      el.play.querySelector(".text").textContent = playing ? "Pause" : "Play";
      el.play.querySelector(".icon").textContent = playing ? "⏸" : "▶";
      el.play.setAttribute("aria-pressed", String(playing));
      return panel;
    },

    setSpeed(speed) {
      el.speed.value = String(speed);
      return panel;
    },
  };
  return panel;
}

const number = (n) => n.toLocaleString("en");

// The counter in words: the stop of the level and the node steps it covers.
function countWords(index, total, where) {
  if (!where) return `step ${number(index + 1)} of ${number(total)}`;
  const steps = where.first === where.last ? `node step ${number(where.first + 1)}`
    : `node steps ${number(where.first + 1)}–${number(where.last + 1)}`;
  const stop = `stop ${number(where.stop + 1)} of ${number(where.stops)}`;
  return [where.name, stop, `${steps} of ${number(total)}`].filter(Boolean).join(" · ");
}

const KEY_ACTIONS = { ArrowLeft: "prev", ArrowRight: "next", " ": "toggle", Home: "start", End: "end" };
const TEXT_INPUTS = new Set(["text", "search", "url", "email", "number", "range", "password"]);

// The player action of a key pressed anywhere on the page, or null where the focused control
// handles the key itself.
function keyAction(event) {
  if (inTextField(event.target) || ownKey(event.target, event.key)) return null;
  if (event.altKey || event.ctrlKey || event.metaKey) return null;
  return KEY_ACTIONS[event.key] ?? null;
}

function inTextField(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  return target.tagName === "INPUT" && TEXT_INPUTS.has(target.type);
}

// Keys a focused control handles itself: Space presses a button or ticks a box, arrows move
// between radio buttons.
function ownKey(target, key) {
  if (!(target instanceof HTMLElement)) return false;
  if (key === " ") return ["BUTTON", "INPUT", "A", "SUMMARY"].includes(target.tagName);
  return target.tagName === "INPUT" && target.type === "radio";
}
