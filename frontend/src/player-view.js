// The player alone: the step controls, the graph, the narration, the step panel and the
// results of one answer, without the editor. The embed view, the offline file and the
// notebook widget each make one on their own root element; it is drawn by the same panels
// (player-panel, graph-panel, step-panel, results-panel) as the page.

import { inflate } from "./answer.js";
import { cardsOf } from "./cards.js";
import { createGraphPanel } from "./graph-panel.js";
import { headingOf } from "./heading.js";
import { createPlayer, interval, reduce } from "./player.js";
import { createPlayerPanel } from "./player-panel.js";
import { createResultsPanel } from "./results-panel.js";
import { createStepPanel } from "./step-panel.js";
import { showStep } from "./stage.js";
import { graphMarkup, narrationMarkup, playerMarkup } from "./stage-markup.js";
import { createTangentTimeline, createTimeline } from "./timeline.js";

// The stage (stage-markup.js) is the page's own; the title line and the panels are this view's.
// The title line is the page's heading where the player is a page of its own.
const markup = (titleTag) => `
  <header class="pv-head">
    <${titleTag} class="pv-title"><span class="pv-brand">chainrule</span> <code class="pv-source"></code></${titleTag}>
    <a class="pv-open" target="_blank" rel="noopener" hidden>Open in chainrule ↗</a>
  </header>
  <details class="pv-listing" hidden><summary></summary><pre class="pv-listing-text"></pre></details>
  <p class="pv-message" role="alert" hidden></p>
  ${playerMarkup()}
  ${graphMarkup()}
  ${narrationMarkup()}
  <div class="pv-panels">
    <section class="panel step" aria-label="This step">
      <h2>This step</h2>
      <div id="step-panel"></div>
      <p id="practice-score" hidden></p><p id="practice-help" hidden></p>
    </section>
    <section class="panel" aria-label="Gradients">
      <h2>Gradients</h2>
      <div class="table-scroll" tabindex="0" role="group" aria-label="Gradients table">
        <table id="gradients">
          <thead><tr><th scope="col">input</th><th scope="col">value</th><th scope="col">∂L/∂input</th></tr></thead>
          <tbody></tbody>
        </table>
      </div>
      <details class="pv-more">
        <summary>Gradient check and cost</summary>
        <section id="check"></section>
        <div class="table-scroll" tabindex="0" role="group" aria-label="Cost table">
          <table id="cost">
            <thead><tr><th scope="col">method</th><th scope="col">passes</th><th scope="col">here</th></tr></thead>
            <tbody></tbody>
          </table>
        </div>
        <p id="cost-verdict" class="cost-verdict"></p>
      </details>
    </section>
  </div>`;

/** A player on `root` (an element or a shadow root's container). Options: `elk` (an ELK
 * instance; default: elk.js's), `keyTarget` (where ← → Space Home End step it; default `root`), `onStep(index)`
 * (called when the step shown changes), `page` (whether the player is the whole page, as the
 * embed view and the offline file are: its title line is then the page's h1). */
export function createPlayerView(root, { elk, keyTarget = root, onStep = () => {}, page = false }) {
  root.classList.add("player-view");
  root.innerHTML = markup(page ? "h1" : "p");
  const $ = (id) => root.querySelector(`#${id}`);
  const controls = createPlayerPanel({
    prev: $("prev"), next: $("next"), play: $("play"), speed: $("speed"), slider: $("step-slider"),
    count: $("step-count"), phase: $("phase"), memory: $("memory-line"),
  }, { onAction: (action) => { if (timeline) dispatch(action); }, keyTarget });
  const graph = createGraphPanel({
    graph: $("graph"), far: $("graph-far"), minimap: $("minimap"), fit: $("fit"), follow: $("follow"),
  },
    { onHover: () => {}, onSelect: (id) => graph.select(id ? [id] : []),
      onStops: (stops) => {
        player = reduce(player, { type: "stops", stops });
        if (timeline) showIndex(player.index); // the step panel at the new level
      } }, { elk });
  const stepPanel = createStepPanel({
    stepPanel: $("step-panel"), narration: $("narration"), practiceScore: $("practice-score"),
    practiceHelp: $("practice-help"),
  });
  const results = createResultsPanel({
    gradients: $("gradients"), check: $("check"), cost: $("cost"), costVerdict: $("cost-verdict"),
  });
  let result = null;
  let timeline = null;
  let player = createPlayer(0);
  let shownIndex = 0;
  let heading = "";
  let loopToken = 0;
  controls.setSpeed(player.speed).setPlaying(false);

  // The title line; a long source's text goes into its closed panel when first opened.
  function showHeading({ title, listing }) {
    heading = title;
    root.querySelector(".pv-source").textContent = title;
    const panel = root.querySelector(".pv-listing");
    const text = panel.querySelector(".pv-listing-text");
    panel.open = false;
    panel.hidden = !listing;
    panel.querySelector("summary").textContent = listing?.summary ?? "";
    text.textContent = "";
    panel.ontoggle = () => { if (panel.open && listing && !text.textContent) text.textContent = listing.text; };
  }

  function showIndex(previous, { pulse = true } = {}) {
    showStep({ graph, stepPanel, controls, results }, { result, timeline, player }, previous, { pulse });
    shownIndex = player.index;
    onStep(player.index);
  }

  function dispatch(action) {
    const before = player;
    player = reduce(before, action);
    if (player.index !== shownIndex) showIndex(shownIndex);
    if (player.playing !== before.playing || action.type === "speed") {
      controls.setPlaying(player.playing);
      if (player.playing) startClock();
    }
  }

  // A stale loop sees that the token moved on and stops by itself (as main.js's does).
  function startClock() {
    const token = ++loopToken;
    const tick = () => {
      if (token !== loopToken || !player.playing) return;
      dispatch({ type: "tick" });
      if (player.playing) setTimeout(tick, interval(player));
    };
    setTimeout(tick, interval(player));
  }

  const view = {
    /** Lay out and draw an answer (the API's compact backprop answer), standing at `step`;
     * `link` is where "Open in chainrule" goes (hidden without one). */
    async show(compact, step = 0, { link = null } = {}) {
      loopToken++;
      const answer = inflate(compact);
      const cards = cardsOf(answer);
      await sized($("graph"));
      const steps = answer.tangent ? createTangentTimeline(answer) : createTimeline(answer);
      const plan = await graph.prepare(answer, cards, steps.steps[step]?.node ?? null);
      result = answer;
      timeline = steps;
      player = createPlayer(timeline.total, step, player.speed);
      const nodesById = new Map(answer.nodes.map((n) => [n.id, n]));
      stepPanel.reset(answer, timeline, nodesById);
      controls.setAnswer(answer, timeline);
      graph.show(plan, timeline, player.index);
      results.show(answer, answer.tangent ? "forward" : "reverse");
      showHeading(headingOf(answer.source, answer.forwardCount, answer.output));
      const open = root.querySelector(".pv-open");
      open.hidden = !link;
      if (link) open.href = link;
      view.showMessage(null);
      controls.setPlaying(false);
      showIndex(player.index, { pulse: false });
      root.dataset.status = "ready";
      return view;
    },

    /** A message instead of (or above) the player: an error, or null to hide it. */
    showMessage(message) {
      const el = root.querySelector(".pv-message");
      el.hidden = !message;
      el.textContent = message ?? "";
      if (message) root.dataset.status = "error";
      return view;
    },

    /** Apply a player action ({type: "next" | "prev" | "seek" | ..., index?}). */
    dispatch(action) {
      if (timeline) dispatch(action);
      return view;
    },

    /** The answer's title line (a long source summed up): for the page's title. */
    get title() {
      return heading;
    },

    /** The step shown. */
    get index() {
      return player.index;
    },
  };
  return view;
}

// Resolves once the element has a size (a notebook may draw a widget before showing it).
function sized(el) {
  if (el.getBoundingClientRect().width > 0) return Promise.resolve();
  return new Promise((resolve) => {
    const observer = new ResizeObserver(() => {
      if (el.getBoundingClientRect().width <= 0) return;
      observer.disconnect();
      resolve();
    });
    observer.observe(el);
  });
}
