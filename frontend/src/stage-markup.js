// The stage's markup, written once: the step player's controls, the graph's area and the
// narration line, as the page (index.html, filled in by build.mjs), the embed view, the
// offline file and the notebook widget (player-view.js) all show them, with the same ids and
// classes so that style.css draws them alike. Pure strings: no DOM, so the build reads it too.

import { SPEEDS } from "./player.js";

/** The step player: Previous, Play, Next, the step slider and count, the speed, the phase. */
export function playerMarkup() {
  const speeds = SPEEDS.map((s) => `<option value="${s}">${s} step${s === 1 ? "" : "s"}/s</option>`);
  return `<div class="player" id="player" tabindex="-1" role="group" aria-label="Step player">
  <div class="buttons">
    <button id="prev" type="button"><span class="icon" aria-hidden="true">‹</span> Previous step</button>
    <button id="play" type="button" aria-label="Play"><span class="icon" aria-hidden="true">▶</span> <span class="text">Play</span></button>
    <button id="next" type="button">Next step <span class="icon" aria-hidden="true">›</span></button>
  </div>
  <div class="slider">
    <label for="step-slider">Step</label>
    <input id="step-slider" type="range" min="0" max="0" value="0" step="1">
    <output id="step-count" for="step-slider">0 / 0</output>
  </div>
  <div class="speed">
    <label for="speed">Speed</label>
    <select id="speed">${speeds.join("")}</select>
  </div>
  <p id="phase" data-phase="forward">Forward pass</p>
</div>`;
}

/** The graph's area: a bar with the overview, Follow and Fit, over the far-out canvas and
 * the SVG. The bar is a row of its own, not laid over the drawing, so that no card is ever
 * drawn under a button or under the overview; it comes after the SVG in the markup (drawn
 * above it by style.css), so Tab reaches the cards first and Shift+Tab from Fit goes back to
 * them, as before. */
export function graphMarkup() {
  return `<div class="graph-wrap">
  <div class="graph-area">
    <canvas id="graph-far" aria-hidden="true"></canvas>
    <svg id="graph" role="group" aria-label="Computation graph: inputs on the left, output on the right"></svg>
  </div>
  <div class="graph-bar">
    <canvas id="minimap" class="minimap" role="img" hidden
      aria-label="Overview of the whole graph; the part in view is framed. Press to move there."></canvas>
    <div class="graph-tools">
      <button id="follow" type="button" aria-pressed="true"
        title="Keep the current step in view; off: explore freely"><span class="tick" aria-hidden="true">✓</span> Follow</button>
      <button id="fit" type="button">Fit to screen</button>
    </div>
  </div>
</div>`;
}

/** The narration line, read by screen readers as the player moves. */
export function narrationMarkup() {
  return `<div id="narration" aria-live="polite"></div>`;
}

/** What build.mjs puts in place of each `<!-- stage:name -->` of a page's template. */
export const STAGE_PARTS = { player: playerMarkup, graph: graphMarkup, narration: narrationMarkup };
