// The app: one state object and the step player, wired to the panels. Each panel draws its
// own elements (editor, player controls, graph, step, results, share, optimizer); this file
// only passes data between them.

import { inflate } from "./answer.js";
import { ApiError, backprop, ninja as gradeNinja, ops as fetchOps } from "./api.js";
import { cardsOf } from "./cards.js";
import { createEditorPanel } from "./editor-panel.js";
import { createGraphPanel } from "./graph-panel.js";
import { createHandPanel } from "./hand-panel.js";
import { createHessianPanel } from "./hessian-panel.js";
import { fromAnswer } from "./hand.js";
import { createJacobianPanel } from "./jacobian-panel.js";
import { createMethodsPanel } from "./methods-panel.js";
import { createNaivePanel } from "./naive-panel.js";
import { createCheckpointPanel } from "./checkpoint-panel.js";
import { shownGrade, summary as ninjaSummary, typedAnswers } from "./ninja.js";
import { createOptimizerPanel } from "./optimizer-panel.js";
import { createOutputPanel } from "./output-panel.js";
import { createPathsPanel } from "./paths-panel.js";
import { createPlayer, interval, reduce } from "./player.js";
import { createPlayerPanel } from "./player-panel.js";
import { createResultsPanel, ruleSpans } from "./results-panel.js";
import { createSharePanel } from "./share-panel.js";
import { nodesInside } from "./spans.js";
import { createStepPanel } from "./step-panel.js";
import { showStep } from "./stage.js";
import { createTangentTimeline, createTimeline } from "./timeline.js";
import { decodeHash, encodeHash } from "./url-state.js";
import { parseValues } from "./values.js";

const $ = (id) => document.getElementById(id);

// All the app's state, in one place.
const state = {
  result: null, timeline: null, nodesById: new Map(), valuesText: "",
  player: createPlayer(0), runToken: 0, loopToken: 0, selectedNode: null, hash: "", shownIndex: 0,
  mode: "reverse", wrt: "", // forward mode differentiates with respect to the input `wrt`
  output: "", // the statement differentiated ("": the last line)
  wrongRuleSpans: [], // the lines and nodes of the derivative rules the check found wrong
  naive: { naive: false, twice: false, children: "operands" }, // the naive replay's switches
  checkpoint: { on: false, strategy: "sqrt" }, // the checkpointing replay's choice
  // Ninja mode: on or off, and the answers typed per program (source -> {name: text}).
  ninja: { on: false, answers: new Map() },
};

const editor = createEditorPanel({
  source: $("source"), mirror: $("source-mirror"), ruleNote: $("source-rules"), values: $("values"), valuesNote: $("values-note"),
  examples: $("examples"),
  run: $("run"), error: $("error"), warnings: $("warnings"), wrt: $("wrt"), wrtField: $("wrt-field"),
  practice: $("practice"), ninja: $("ninja"), modes: [...document.querySelectorAll('input[name="mode"]')],
}, {
  onRun: () => run(0).then(revealStage),
  onMode: (mode) => { state.mode = mode; run(0); },
  onWrt: (name) => { state.wrt = name; run(0); },
  onPractice: (on) => stepPanel.setPractice(on),
  onNinja: (on) => { state.ninja.on = on; run(state.player.index); },
  onSelectSource: selectFromSource,
  onSourceInput: () => { if (hand.on) syncHandSoon(); },
});
const hand = createHandPanel({
  toggle: $("hand-toggle"), section: $("hand"), palette: $("hand-palette"), canvas: $("hand-canvas"),
  tools: $("hand-tools"), status: $("hand-status"),
}, {
  onToggle: (on) => { if (on) { syncHand(); revealStage(); } }, // its palette is on the stage
  onEdit: (source) => { editor.setInput(source, ""); syncHand(); },
});
const outputPanel = createOutputPanel({ bar: $("output-bar") }, {
  onOutput: (name) => { state.output = name; run(0); },
});
const controls = createPlayerPanel({
  prev: $("prev"), next: $("next"), play: $("play"), speed: $("speed"), slider: $("step-slider"),
  count: $("step-count"), phase: $("phase"), memory: $("memory-line"),
}, { onAction: (action) => { if (state.timeline) dispatch(action); } });
const graph = createGraphPanel({
  graph: $("graph"), far: $("graph-far"), minimap: $("minimap"), fit: $("fit"), follow: $("follow"),
},
  { onHover: highlightNode, onSelect: selectNode, onFold: (spans) => editor.setFolded(spans),
    onStops: (stops) => {
      state.player = reduce(state.player, { type: "stops", stops });
      if (state.timeline) showIndex(state.player.index); // the step panel at the new level
    } });
const stepPanel = createStepPanel({
  stepPanel: $("step-panel"), narration: $("narration"), practiceScore: $("practice-score"),
  practiceHelp: $("practice-help"),
});
stepPanel.setNinja({ onCheck: checkNinja });
const results = createResultsPanel({
  gradients: $("gradients"), check: $("check"), cost: $("cost"), costVerdict: $("cost-verdict"),
}, {
  onRule: (rule) => {
    editor.markRules(rule ? ruleSpans(rule) : state.wrongRuleSpans);
    graph.select(rule ? [rule.node] : []);
  },
  onWrongRules: (rules) => {
    state.wrongRuleSpans = rules.flatMap(ruleSpans);
    editor.markRules(state.wrongRuleSpans).sayWrongRules(rules);
  },
});
createSharePanel({
  copyLink: $("copy-link"), copyEmbed: $("copy-embed"), exportSvg: $("export-svg"),
  exportPng: $("export-png"), exportJson: $("export-json"), exportHtml: $("export-html"),
  status: $("share-status"), graph: $("graph"),
}, { bounds: () => graph.bounds(), result: () => state.result, step: () => state.player.index,
  syncLink: flushHash });
addEventListener("pagehide", flushHash);
const optimizerPanel = createOptimizerPanel(() => editor.input());
const jacobianPanel = createJacobianPanel({
  section: $("jacobian"), figure: $("jacobian-figure"), caption: $("jacobian-caption"),
  replay: $("jacobian-replay"), orders: [...document.querySelectorAll('input[name="jacobian-order"]')],
});
const pathsPanel = createPathsPanel({
  wrt: $("paths-wrt"), list: $("paths-list"), summary: $("paths-summary"), more: $("paths-run"),
  error: $("paths-error"),
}, { onHighlight: (path) => graph.highlightPath(path) });

// The gallery's examples (as loaded): one may carry presets for a panel (`hessian`, `optimize`).
let examples = [];
const exampleOf = (source) => examples.find((e) => e.source === source) ?? null;
let shownSource = null; // a panel preset is applied once per source shown

const hessianPanel = createHessianPanel({
  section: $("hessian"), v: $("hessian-v"), run: $("hessian-run"), next: $("hessian-next"),
  status: $("hessian-status"), error: $("hessian-error"), ways: $("hessian-ways"),
  figure: $("hessian-figure"), readout: $("hessian-readout"), table: $("hessian-table"), kinks: $("hessian-kinks"),
});

const methodsPanel = createMethodsPanel({
  run: $("methods-run"), wrt: $("methods-wrt"), figure: $("methods-figure"),
  table: $("methods-table"), summary: $("methods-summary"), error: $("methods-error"),
});

const naivePanel = createNaivePanel({
  naive: $("naive-on"), twice: $("naive-twice"), children: [...document.querySelectorAll('input[name="naive-children"]')],
  body: $("naive-body"), status: $("naive-status"), error: $("naive-error"),
}, {
  onMark: (marks) => graph.mark(marks),
  onSelect: (id) => selectNode(id),
  onChange: (settings) => {
    state.naive = settings;
    if (state.result) writeHash(state.result.source, state.valuesText, state.player.index);
  },
});

const checkpointPanel = createCheckpointPanel({
  on: $("checkpoint-on"), strategies: [...document.querySelectorAll('input[name="checkpoint-strategy"]')],
  k: $("checkpoint-k"), slots: $("checkpoint-slots"),
  body: $("checkpoint-body"), status: $("checkpoint-status"), error: $("checkpoint-error"),
}, {
  onSelect: (id) => selectNode(id),
  onChange: (settings) => {
    state.checkpoint = settings;
    if (state.result) writeHash(state.result.source, state.valuesText, state.player.index);
  },
});

/** Run the source with the values: fetch, lay out, draw; then stand at `step`. */
async function run(step = 0) {
  const token = ++state.runToken;
  const { source, valuesText, overrides } = editor.input();
  let values;
  try {
    values = parseValues(valuesText);
  } catch (err) {
    return showError(err.message, null);
  }
  document.body.dataset.status = "loading";
  editor.setBusy(true);
  try {
    const mode = state.mode;
    const wrt = mode === "forward" ? await chooseWrt(source, values, overrides) : null;
    if (token !== state.runToken) return;
    const output = mode === "reverse" && assigns(source, state.output) ? state.output : null;
    const ninja = state.ninja.on && mode === "reverse"
      ? await gradeNinja(source, values, answersOf(source), "auto") : null;
    const result = inflate(ninja ? { ...ninja.answer, grade: shownGrade(ninja.answer.grade) }
      : await backprop(source, values, "auto", { mode, wrt, overrides, output }));
    if (token !== state.runToken) return;
    if (mode === "forward" && !result.tangent) throw new Error("The server did not answer in forward mode.");
    const cards = cardsOf(result);
    const timeline = result.tangent ? createTangentTimeline(result) : createTimeline(result);
    const plan = await graph.prepare(result, cards, timeline.steps[step]?.node ?? null);
    if (token !== state.runToken) return;
    editor.setAside(setAside(result, overrides));
    showNinja(ninja, source);
    showResult(result, timeline, plan, editor.input().valuesText, step);
  } catch (err) {
    if (token !== state.runToken) return;
    if (!(err instanceof ApiError)) console.error(err);
    showError(err.message, err.span ?? null);
  } finally {
    if (token === state.runToken) {
      editor.setBusy(false);
      stepPanel.setNinja({ busy: false });
    }
  }
}

// Ninja mode: the answers typed for `source` ({name: text}, the empty ones left out).
function answersOf(source) {
  return typedAnswers(state.ninja.answers.get(source));
}

// The ninja answer's rows to the step panel (before the graph is shown), its summary by the
// Mode box; `ninja` null: ninja mode is off (or in forward mode).
function showNinja(ninja, source) {
  const score = $("ninja-score");
  $("ninja-help").hidden = !state.ninja.on;
  score.hidden = !ninja;
  score.textContent = ninja ? ninjaSummary(ninja.rows, ninja.first_wrong) : "";
  stepPanel.setNinja({ on: Boolean(ninja), rows: ninja?.rows ?? [], answers: answersOf(source) }, false);
}

// Check at a tensor's step: keep the answer, grade all of them, stay at the step.
function checkNinja(name, text) {
  const source = state.result.source;
  const answers = { ...state.ninja.answers.get(source), [name]: text.trim() };
  state.ninja.answers.set(source, typedAnswers(answers));
  stepPanel.setNinja({ busy: true, answers: answersOf(source) });
  run(state.player.index);
}

/** Forward mode needs one input to differentiate with respect to: the one chosen if the
 * source has it, else its first input (learning the inputs with a quick reverse run). */
async function chooseWrt(source, values, overrides) {
  let inputs = state.result?.source === source ? inputNames(state.result) : null;
  if (!inputs || !inputs.includes(state.wrt)) {
    inputs = inputNames(inflate(await backprop(source, values, false, { overrides })));
  }
  if (!inputs.length) throw new ApiError({ message: "Forward mode needs an input to differentiate with respect to." });
  return inputs.includes(state.wrt) ? state.wrt : inputs[0];
}

/** The values the answer set aside because they were not typed for this source (the
 * source's literals stood): {name, given, literal}, those equal to their literal included. */
function setAside(result, overrides) {
  return result.nodes.filter((n) => n.literal && n.literal.given !== null && !n.literal.overridden
    && !overrides.includes(n.name))
    .map((n) => ({ name: n.name, given: n.literal.given, literal: n.literal,
      agrees: JSON.stringify(n.literal.given) === JSON.stringify(n.value) }));
}

/** Whether `source` assigns `name` on a line of its own (a statement that can be the output). */
function assigns(source, name) {
  return Boolean(name) && new RegExp(`^\\s*${name}\\s*=[^=]`, "m").test(source);
}

// Build by hand: the hand view shows the program in the editor, read back from its answer
// (a run if the answer shown is not this text's), or from its unwired comments alone.
function syncHand() {
  const { source } = editor.input();
  const statements = source.split("\n").some((line) => line.trim() && !line.trim().startsWith("#"));
  if (!statements) {
    hand.show(fromAnswer(null, source));
    writeHash(source, "", 0);
  } else if (state.result?.source === source && document.body.dataset.status === "ready") {
    hand.show(fromAnswer(state.result, source), { editable: !/^\s*def\s/m.test(source) });
  } else {
    run(0);
  }
}

let handTimer = 0;
function syncHandSoon() {
  clearTimeout(handTimer);
  handTimer = setTimeout(syncHand, 400);
}

function inputNames(result) {
  return result.nodes.filter((n) => n.op === "input").map((n) => n.name);
}

function showResult(result, timeline, plan, valuesText, step) {
  editor.clearError();
  pause();
  state.result = result;
  state.valuesText = valuesText;
  state.mode = result.tangent ? "forward" : "reverse";
  if (result.tangent) state.wrt = result.tangent.wrt;
  state.timeline = timeline;
  state.nodesById = new Map(result.nodes.map((n) => [n.id, n]));
  state.selectedNode = null;
  if (!assigns(result.source, state.output)) state.output = "";
  outputPanel.show(null, state.output);
  state.player = createPlayer(state.timeline.total, step, state.player.speed);
  stepPanel.reset(result, state.timeline, state.nodesById);
  controls.setAnswer(result, state.timeline);
  editor.setWrtOptions(inputNames(result), state.wrt, state.mode === "forward")
    .setRanSource(result.source).highlight(null).setWarnings(result.warnings);
  optimizerPanel.setInputs(result.nodes.filter((n) => n.op === "input"));
  if (result.source !== shownSource) optimizerPanel.preset(exampleOf(result.source)?.optimize);
  graph.show(plan, timeline, state.player.index);
  results.show(result, state.mode);
  pathsPanel.show(result, parseValues(valuesText));
  methodsPanel.show(result, parseValues(valuesText));
  hessianPanel.show(result, parseValues(valuesText), state.output || null, exampleOf(result.source)?.hessian);
  shownSource = result.source;
  jacobianPanel.show(result);
  naivePanel.show(result, parseValues(valuesText));
  checkpointPanel.show(result, parseValues(valuesText));
  showIndex(state.player.index, { pulse: false });
  document.body.dataset.status = "ready";
  if (hand.on) hand.show(fromAnswer(result, result.source), { editable: !/^\s*def\s/m.test(result.source) });
}

function showError(message, span) {
  editor.showError(message, span);
  graph.setStale(true); // the graph shown is the last good run's, not this source's
  hand.setStale(true);
  document.body.dataset.status = "error";
}

/** Draw what changed between the last shown index and the player's index. */
function showIndex(previous, { pulse = true } = {}) {
  const { timeline, player, result } = state;
  if (!timeline) return;
  showStep({ graph, stepPanel, controls, results }, state, previous, { pulse });
  writeHash(result.source, state.valuesText, player.index);
  state.shownIndex = player.index;
}

/** Apply a player action; redraw what changed and keep the clock running while playing. */
function dispatch(action) {
  const before = state.player;
  state.player = reduce(before, action);
  // Practice mode: the player does not pass a step whose answers are not in yet.
  const limit = stepPanel.limit(before.index, state.player.index);
  if (limit < state.player.index) {
    state.player = { ...state.player, index: limit, playing: false };
    controls.setIndex(limit);
  }
  if (state.player.index !== state.shownIndex) showIndex(state.shownIndex);
  if (state.player.playing !== before.playing || action.type === "speed") {
    controls.setPlaying(state.player.playing);
    if (state.player.playing) startClock();
  }
}

// The playground's trick: a stale loop sees that the token moved on and stops by itself.
function startClock() {
  const token = ++state.loopToken;
  const tick = () => {
    if (token !== state.loopToken || !state.player.playing) return;
    dispatch({ type: "tick" });
    if (state.player.playing) setTimeout(tick, interval(state.player));
  };
  setTimeout(tick, interval(state.player));
}

function pause() {
  state.loopToken++;
  if (state.player.playing) dispatch({ type: "pause" });
}

// URL state: replace (not push) so stepping does not flood the history.
// A long source makes a long URL, too slow to replace at every step (a long task): then the
// URL is written when a link is asked for (Copy link, Copy embed code) or the page is left.
const LONG_SOURCE = 4000;
let pendingHash = null;
function writeHash(source, values, step) {
  pendingHash = { source, values, step, mode: state.mode, wrt: state.wrt, output: state.output,
    ...state.naive, checkpoint: state.checkpoint, ninja: state.ninja.on, answers: answersOf(source) };
  if (source.length <= LONG_SOURCE) flushHash();
}

function flushHash() {
  if (!pendingHash) return;
  const hash = encodeHash(pendingHash);
  pendingHash = null;
  if (hash === state.hash) return;
  state.hash = hash;
  history.replaceState(null, "", hash || location.pathname + location.search);
}

function restoreFromHash() {
  const saved = decodeHash(location.hash);
  if (!saved) return false;
  state.hash = location.hash;
  state.mode = saved.mode ?? "reverse";
  state.wrt = saved.wrt ?? "";
  state.output = saved.output ?? "";
  state.naive = { naive: saved.naive ?? false, twice: saved.twice ?? false, children: saved.children ?? "operands" };
  naivePanel.set(state.naive);
  state.checkpoint = saved.checkpoint ?? { on: false, strategy: "sqrt" };
  checkpointPanel.set(state.checkpoint);
  state.ninja.on = saved.ninja ?? false;
  if (saved.answers) state.ninja.answers.set(saved.source, saved.answers);
  editor.setNinja(state.ninja.on);
  editor.setInput(saved.source, saved.values).setMode(state.mode);
  run(saved.step);
  return true;
}

// Hover or select a node: its span in the source. Select text: the nodes inside it.
function highlightNode(id) {
  const node = state.nodesById.get(id ?? state.selectedNode);
  editor.highlight(node ? node.span : null);
}

function selectNode(id) {
  state.selectedNode = id;
  graph.select(id ? [id] : []);
  highlightNode(id);
  outputPanel.show(state.nodesById.get(id) ?? null, state.output);
}

function selectFromSource(start, end) {
  if (!state.result) return;
  graph.select(nodesInside(state.result.nodes, start, end));
}

// The skip link moves focus to the player without touching the URL's hash, which holds the
// page's state (a "#player" there would be read as a link with no source).
function skipToPlayer(event) {
  event.preventDefault();
  $("player").focus();
}

// One column (a phone): the form sits below the stage, so Edit goes to it and Run comes back
// to the graph, the current card and the formula.
const ONE_COLUMN = "(max-width: 820px)";

function editSource() {
  $("editor").scrollIntoView({ block: "start" });
  $("source").focus({ preventScroll: true });
}

function revealStage() {
  if (!matchMedia(ONE_COLUMN).matches) return;
  const stage = document.querySelector(".layout > .stage");
  const box = stage.getBoundingClientRect();
  if (box.top < -1 || box.top > innerHeight / 3) stage.scrollIntoView({ block: "start" });
}

async function start() {
  controls.setSpeed(state.player.speed).setPlaying(false);
  document.querySelector(".skip-link").addEventListener("click", skipToPlayer);
  $("edit-jump").addEventListener("click", editSource);
  window.addEventListener("hashchange", () => {
    if (location.hash !== state.hash) restoreFromHash();
  });
  const loading = editor.loadExamples()
    .then((list) => { examples = list; return list; })
    .catch((err) => showError(`The examples could not be loaded: ${err.message}`, null));
  fetchOps().then((list) => hand.setOps(list))
    .catch((err) => showError(`The op table could not be loaded: ${err.message}`, null));
  if (restoreFromHash()) return;
  await loading;
  // Unless the reader has typed or run something while the examples were on their way.
  if (state.runToken === 0 && !editor.input().source) editor.chooseFirstExample();
}

start();
