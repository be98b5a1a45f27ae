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
  <div class="memory-line" id="memory-line" hidden></div>
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
      ${cardKeyMarkup()}
      <button id="follow" type="button" aria-pressed="true"
        title="Keep the current step in view; off: explore freely"><span class="tick" aria-hidden="true">✓</span> Follow</button>
      <button id="fit" type="button">Fit to screen</button>
    </div>
  </div>
</div>`;
}

/** How to read a card, opened from the graph's bar: every mark a card can carry, drawn as
 * the graph draws it (the same classes), in words beside it. */
export function cardKeyMarkup() {
  const card = (cls, label, value, grad, extra = "") => `<svg class="key-card" width="128" height="46" aria-hidden="true">
      <g class="node ${cls} has-value${grad ? " has-grad" : ""}"><rect class="card" x="1" y="1" width="126" height="44" rx="6"></rect>
      <line class="divider" x1="1" x2="127" y1="22" y2="22"></line>
      <text class="node-label" x="10" y="17">${label}</text>
      <text class="node-value" x="58" y="38" text-anchor="end">${value}</text><text class="node-sep" x="64" y="38" text-anchor="middle">|</text>
      <text class="node-grad" x="70" y="38">${grad}</text>${extra}</g></svg>`;
  return `<details class="card-key">
        <summary>Key</summary>
        <div class="card-key-body" role="group" aria-label="How to read a card" tabindex="0">
          <dl>
            <div>${card("", "w*x <tspan class='node-sub'>×</tspan>", "1.5", "2.07")}
              <dt>A card</dt><dd>its name and op, then <span class="value-word">value</span> | <span class="grad-word">gradient ∂L/∂node</span>; as micrograd's draw_dot writes "data 1.5 | grad 2.07".</dd></div>
            <div>${card("input", "x", "0.5", "")}
              <dt>Dashed border</dt><dd>an input: a parameter or a datum, a leaf of the graph.</dd></div>
            <div>${card("", "tanh", "0.76", "")}
              <dt>An empty half</dt><dd>not reached yet: the value fills in when the forward pass reaches the node, the gradient when the backward pass does. In the Gradients table a gradient still adding up is in <i>italics</i> with "…".</dd></div>
            <div><svg class="key-card" width="128" height="30" aria-hidden="true"><g class="node has-value"><g class="heat heat-value">
              <rect class="cell pos" x="2" y="4" width="14" height="14" fill-opacity="1"></rect><rect class="cell pos" x="18" y="4" width="14" height="14" fill-opacity="0.4"></rect>
              <rect class="cell neg" x="34" y="4" width="14" height="14" fill-opacity="0.6"></rect><rect class="cell neg" x="50" y="4" width="14" height="14" fill-opacity="0.15"></rect></g></g></svg>
              <dt>A heatmap</dt><dd>an array, a cell per element (or per block of a big one): the colour is the sign, the strength |element| over the largest |element|. Hover a cell for its number; a focused card says its range.</dd></div>
            <div><dt>A strip</dt><dd>a batch (micrograd's samples): the same node in every sample, the one shown ringed, the smallest and largest underlined, their numbers under it.</dd></div>
            <div><dt>A group's box</dt><dd>what it holds and ‖∂L/∂θ‖: the size of the gradient of L with respect to the group's parameters (every input it uses, wherever it stands); ‖∂L/∂out‖ where it uses none.</dd></div>
            <div><dt>✗ your rule · kink</dt><dd>a derivative rule of yours the check found wrong at this node; a point where the derivative jumps (relu(0)) and a convention was used.</dd></div>
            <div><dt>×16 on an edge</dt><dd>one line standing for 16 edges between two groups.</dd></div>
          </dl>
        </div>
      </details>`;
}

/** The narration line, read by screen readers as the player moves. */
export function narrationMarkup() {
  return `<div id="narration" aria-live="polite" tabindex="0"></div>`;
}

/** What build.mjs puts in place of each `<!-- stage:name -->` of a page's template. */
export const STAGE_PARTS = { player: playerMarkup, graph: graphMarkup, narration: narrationMarkup };
