// The app: one state object, wired to the editor, the player, the graph and the panels.
// Modules draw their own elements; this file only passes data between them.

import { ApiError, backprop, examples as fetchExamples } from "./api.js";
import { cardOf } from "./cards.js";
import { costTable } from "./cost.js";
import { download, pngBlob, svgText } from "./exports.js";
import { layoutGraph } from "./layout.js";
import { createOptimizerPanel } from "./optimizer.js";
import { markPendingGradients, renderCheck, renderCost, renderGradients, renderStepPanel } from "./panels.js";
import { atEnd, createPlayer, interval, reduce } from "./player.js";
import * as practice from "./practice.js";
import { createGraphView } from "./render.js";
import { createSourceView } from "./source-view.js";
import { nodesInside } from "./spans.js";
import {
  changedNodes, createTangentTimeline, createTimeline, frameAt, nodeStateAt, tangentsById,
} from "./timeline.js";
import { decodeHash, encodeHash } from "./url-state.js";
import { formatValues, parseValues } from "./values.js";

const $ = (id) => document.getElementById(id);
const el = {
  source: $("source"), values: $("values"), examples: $("examples"), run: $("run"),
  error: $("error"), mirror: $("source-mirror"), graph: $("graph"), fit: $("fit"),
  prev: $("prev"), next: $("next"), play: $("play"), speed: $("speed"), slider: $("step-slider"),
  count: $("step-count"), phase: $("phase"), narration: $("narration"), stepPanel: $("step-panel"),
  gradients: $("gradients"), check: $("check"), copyLink: $("copy-link"), status: $("share-status"),
  exportSvg: $("export-svg"), exportPng: $("export-png"), exportJson: $("export-json"),
  warnings: $("warnings"), wrt: $("wrt"), wrtField: $("wrt-field"), practice: $("practice"),
  practiceScore: $("practice-score"), practiceHelp: $("practice-help"), cost: $("cost"),
  costVerdict: $("cost-verdict"), modes: [...document.querySelectorAll('input[name="mode"]')],
};

// All the app's state, in one place.
const state = {
  result: null, timeline: null, nodesById: new Map(), valuesText: "",
  player: createPlayer(0), runToken: 0, loopToken: 0, selectedNode: null, hash: "",
  mode: "reverse", wrt: "", // forward mode differentiates with respect to the input `wrt`
  practiceOn: false, practice: practice.createPractice(), questions: [], // per timeline index
};

const elk = new globalThis.ELK();
const view = createGraphView(el.graph);
const sourceView = createSourceView(el.source, el.mirror, selectFromSource);
const optimizerPanel = createOptimizerPanel(() => ({ source: el.source.value, valuesText: el.values.value }));

/** Run the source with the values: fetch, lay out, draw; then stand at `step`. */
async function run(step = 0) {
  const token = ++state.runToken;
  const source = el.source.value;
  const valuesText = el.values.value;
  let values;
  try {
    values = parseValues(valuesText);
  } catch (err) {
    return showError(err.message, null);
  }
  document.body.dataset.status = "loading";
  el.run.disabled = true;
  try {
    const mode = state.mode;
    const wrt = mode === "forward" ? await chooseWrt(source, values) : null;
    if (token !== state.runToken) return;
    const result = await backprop(source, values, true, { mode, wrt });
    if (token !== state.runToken) return;
    if (mode === "forward" && !result.tangent) throw new Error("The server did not answer in forward mode.");
    const tangents = mode === "forward" ? tangentsById(result) : null;
    const cards = new Map(result.nodes.map((n) => [n.id,
      cardOf(tangents ? { ...n, grad: tangents.get(n.id) ?? zerosLike(n.shape) } : n)]));
    const laid = await layoutGraph(result, elk, (n) => cards.get(n.id));
    if (token !== state.runToken) return;
    showResult(result, cards, laid, valuesText, step);
  } catch (err) {
    if (token !== state.runToken) return;
    if (!(err instanceof ApiError)) console.error(err);
    showError(err.message, err.span ?? null);
  } finally {
    if (token === state.runToken) el.run.disabled = false;
  }
}

/** Forward mode needs one input to differentiate with respect to: the one chosen if the
 * source has it, else its first input (learning the inputs with a quick reverse run). */
async function chooseWrt(source, values) {
  let inputs = state.result?.source === source ? inputNames(state.result) : null;
  if (!inputs || !inputs.includes(state.wrt)) inputs = inputNames(await backprop(source, values, false));
  if (!inputs.length) throw new ApiError({ message: "Forward mode needs an input to differentiate with respect to." });
  return inputs.includes(state.wrt) ? state.wrt : inputs[0];
}

function inputNames(result) {
  return result.nodes.filter((n) => n.op === "input").map((n) => n.name);
}

function zerosLike(shape) {
  if (!shape.length) return 0;
  const [n, ...rest] = shape;
  return Array.from({ length: n }, () => zerosLike(rest));
}

function showResult(result, cards, laid, valuesText, step) {
  clearError();
  pause();
  state.result = result;
  state.valuesText = valuesText;
  state.mode = result.tangent ? "forward" : "reverse";
  if (result.tangent) state.wrt = result.tangent.wrt;
  state.timeline = result.tangent ? createTangentTimeline(result) : createTimeline(result);
  state.practice = practice.createPractice();
  state.questions = state.timeline.steps.map((s) => (s.phase === "backward"
    ? practice.questionsFor(s.step) : { questions: [], skipped: [] }));
  showWrtOptions(inputNames(result), state.wrt);
  optimizerPanel.setInputs(result.nodes.filter((n) => n.op === "input"));
  state.nodesById = new Map(result.nodes.map((n) => [n.id, n]));
  state.selectedNode = null;
  state.player = createPlayer(state.timeline.total, step, state.player.speed);
  sourceView.setRanSource(result.source).setNodeSpan(null);
  view.draw(result, laid, cards, state.timeline).home();
  view.update(result.nodes.map((n) => n.id), state.player.index, { pulseMs: 0 });
  el.slider.max = String(Math.max(state.timeline.total - 1, 0));
  renderGradients(el.gradients, result);
  renderCheck(el.check, result.check);
  renderCost(el.cost, el.costVerdict, costTable(result.cost, result.check), state.mode);
  el.warnings.textContent = result.warnings.map((w) => `⚠ ${w.message}`).join(" ");
  showIndex(state.player.index, { pulse: false });
  document.body.dataset.status = "ready";
}

function showError(message, span) {
  el.error.replaceChildren();
  const p = document.createElement("p");
  p.textContent = message;
  el.error.append(p);
  el.error.hidden = false;
  el.graph.classList.add("stale"); // the graph shown is the last good run's, not this source's
  sourceView.setError(span);
  document.body.dataset.status = "error";
}

function clearError() {
  el.graph.classList.remove("stale");
  el.error.replaceChildren();
  el.error.hidden = true;
  sourceView.setError(null);
}

/** Draw what changed between the last shown index and the player's index. */
let shownIndex = 0;
function showIndex(previous, { pulse = true } = {}) {
  const { timeline, player, result } = state;
  if (!timeline) return;
  const index = player.index;
  const ids = changedNodes(timeline, Math.min(previous, timeline.total - 1), index);
  view.update(ids, index, { pulseMs: pulse ? Math.min(700, interval(player) * 0.8) : 0 });
  const frame = frameAt(timeline, index);
  renderPanel(frame);
  el.narration.textContent = narration(frame);
  el.phase.textContent = { forward: "Forward pass", backward: "Backward pass", tangent: "Forward mode" }[frame.phase];
  el.phase.dataset.phase = frame.phase;
  el.slider.value = String(index);
  el.slider.setAttribute("aria-valuetext", `step ${index + 1} of ${timeline.total}`);
  el.count.textContent = `${index + 1} / ${timeline.total}`;
  el.prev.disabled = index === 0;
  el.next.disabled = atEnd(player);
  markPendingGradients(el.gradients, (id) => !id || (result.tangent
    ? atEnd(player) && state.nodesById.get(id)?.name === result.tangent.wrt
    : nodeStateAt(timeline, id, index).grad));
  el.gradients.classList.toggle("complete", atEnd(player) && !result.tangent);
  writeHash(result.source, state.valuesText, index);
  showScore();
  shownIndex = index;
}

/** The step panel of `frame`, with practice mode's questions where it asks any. */
function renderPanel(frame) {
  const { timeline, result } = state;
  const options = { tangent: result.tangent, last: frame.index === timeline.total - 1 };
  const asked = practiceAt(frame.index);
  if (asked) {
    const index = frame.index;
    const update = (record) => {
      state.practice = record;
      renderPanel(frame);
      el.narration.textContent = narration(frame);
      showScore();
    };
    options.practice = {
      ...asked, entry: practice.entryAt(state.practice, index),
      onCheck: (typed) => update(practice.check(state.practice, index, asked.questions, typed)),
      onHint: (typed) => update(practice.hint(state.practice, index, typed)),
      onReveal: () => update(practice.reveal(state.practice, index, asked.questions)),
    };
  }
  renderStepPanel(el.stepPanel, frame, state.nodesById, timeline.total, options);
}

/** Practice mode's questions at a timeline index, or null where it asks none. */
function practiceAt(index) {
  if (!state.practiceOn || state.result?.tangent) return null;
  const asked = state.questions[index];
  return asked && (asked.questions.length || asked.skipped.length) ? asked : null;
}

function narration(frame) {
  if (!frame.step) return "Nothing computed yet: press Next step to evaluate the graph forward.";
  const asked = practiceAt(frame.index);
  if (asked && !practice.isDone(state.practice, frame.index, asked.questions)) {
    return "Practice: work out this step's local derivatives and contributions, then Check.";
  }
  return frame.step.text;
}

function showScore() {
  const on = state.practiceOn && !state.result?.tangent;
  el.practiceScore.hidden = !on;
  el.practiceHelp.hidden = !state.practiceOn;
  document.body.classList.toggle("practice-on", on);
  if (!on) return;
  const { correct, attempted } = practice.score(state.practice);
  const end = state.timeline && atEnd(state.player) ? "Backward pass done. " : "";
  el.practiceScore.textContent = `${end}Score: ${correct} / ${attempted} correct at the first check.`;
  el.practiceScore.dataset.correct = String(correct);
  el.practiceScore.dataset.attempted = String(attempted);
}

function showWrtOptions(names, chosen) {
  el.wrt.replaceChildren(...names.map((name) => new Option(name, name, false, name === chosen)));
  el.wrtField.hidden = state.mode !== "forward";
}

/** Apply a player action; redraw what changed and keep the clock running while playing. */
function dispatch(action) {
  const before = state.player;
  state.player = reduce(before, action);
  if (state.practiceOn && state.timeline && !state.result?.tangent) {
    // Practice mode: the player does not pass a step whose answers are not in yet.
    const limit = practice.gate(state.practice, before.index, state.player.index,
      (i) => practiceAt(i)?.questions ?? []);
    if (limit < state.player.index) state.player = { ...state.player, index: limit, playing: false };
    el.slider.value = String(state.player.index);
  }
  if (state.player.index !== shownIndex) showIndex(shownIndex);
  if (state.player.playing !== before.playing || action.type === "speed") {
    setPlayButton(state.player.playing);
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

function setPlayButton(playing) {
  el.play.setAttribute("aria-label", playing ? "Pause" : "Play");
  el.play.querySelector(".text").textContent = playing ? "Pause" : "Play";
  el.play.querySelector(".icon").textContent = playing ? "⏸" : "▶";
  el.play.setAttribute("aria-pressed", String(playing));
}

// URL state: replace (not push) so stepping does not flood the history.
function writeHash(source, values, step) {
  const hash = encodeHash({ source, values, step, mode: state.mode, wrt: state.wrt });
  if (hash === state.hash) return;
  state.hash = hash;
  history.replaceState(null, "", hash || location.pathname + location.search);
}

function restoreFromHash() {
  const saved = decodeHash(location.hash);
  if (!saved) return false;
  state.hash = location.hash;
  el.source.value = saved.source;
  el.values.value = saved.values;
  setMode(saved.mode ?? "reverse");
  state.wrt = saved.wrt ?? "";
  sourceView.refresh();
  run(saved.step);
  return true;
}

// Hover or select a node: its span in the source. Select text: the nodes inside it.
function highlightNode(id) {
  const node = state.nodesById.get(id ?? state.selectedNode);
  sourceView.setNodeSpan(node ? node.span : null);
}

function selectNode(id) {
  state.selectedNode = id;
  view.select(id ? [id] : []);
  highlightNode(id);
}

function selectFromSource(start, end) {
  if (!state.result) return;
  view.select(nodesInside(state.result.nodes, start, end));
}

async function loadExamples() {
  try {
    const list = await fetchExamples();
    for (const [i, example] of list.entries()) {
      const option = new Option(example.title, String(i));
      option.title = example.description;
      el.examples.append(option);
    }
    el.examples.onchange = () => {
      const example = list[Number(el.examples.value)];
      if (!example) return;
      el.source.value = example.source;
      el.values.value = formatValues(example.values);
      el.examples.title = example.description;
      sourceView.refresh();
      run(0);
    };
    return list;
  } catch (err) {
    showError(`The examples could not be loaded: ${err.message}`, null);
    return [];
  }
}

function exportName(ext) {
  return `chainrule-step-${state.player.index}.${ext}`;
}

function themeBackground() {
  return getComputedStyle(document.body).getPropertyValue("--bg").trim() || "#ffffff";
}

function say(message) {
  el.status.textContent = message;
}

function setMode(mode) {
  state.mode = mode;
  for (const radio of el.modes) radio.checked = radio.value === mode;
  el.wrtField.hidden = mode !== "forward";
  el.practice.disabled = mode === "forward";
}

function bindControls() {
  el.run.addEventListener("click", () => run(0));
  for (const radio of el.modes) {
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      setMode(radio.value);
      run(0);
    });
  }
  el.wrt.addEventListener("change", () => {
    state.wrt = el.wrt.value;
    run(0);
  });
  el.practice.addEventListener("change", () => {
    state.practiceOn = el.practice.checked;
    if (state.timeline) showIndex(state.player.index, { pulse: false });
    else showScore();
  });
  for (const field of [el.source, el.values]) {
    // Once edited, the text is no longer the example the menu names.
    field.addEventListener("input", () => { el.examples.value = ""; });
    field.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        run(0);
      }
    });
  }
  el.values.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) run(0);
  });
  el.prev.addEventListener("click", () => dispatch({ type: "prev" }));
  el.next.addEventListener("click", () => dispatch({ type: "next" }));
  el.play.addEventListener("click", () => dispatch({ type: "toggle" }));
  el.speed.addEventListener("change", () => dispatch({ type: "speed", speed: Number(el.speed.value) }));
  el.slider.addEventListener("input", () => dispatch({ type: "seek", index: Number(el.slider.value) }));
  el.fit.addEventListener("click", () => view.fit(300));
  document.addEventListener("keydown", onKey);
  view.on("hover", highlightNode).on("select", selectNode);
  window.addEventListener("hashchange", () => {
    if (location.hash !== state.hash) restoreFromHash();
  });
  el.copyLink.addEventListener("click", copyLink);
  el.exportSvg.addEventListener("click", () => {
    const bounds = view.bounds();
    if (!bounds) return say("Run an expression first.");
    const text = svgText(el.graph, bounds, themeBackground());
    download(exportName("svg"), new Blob([text], { type: "image/svg+xml" }));
    say("SVG exported.");
  });
  el.exportPng.addEventListener("click", async () => {
    const bounds = view.bounds();
    if (!bounds) return say("Run an expression first.");
    try {
      const blob = await pngBlob(svgText(el.graph, bounds, themeBackground()));
      download(exportName("png"), blob);
      say("PNG exported.");
    } catch (err) {
      say(`PNG export failed: ${err.message}`);
    }
  });
  el.exportJson.addEventListener("click", () => {
    if (!state.result) return say("Run an expression first.");
    download("chainrule.json", new Blob([JSON.stringify(state.result, null, 2)],
      { type: "application/json" }));
    say("JSON exported.");
  });
}

const TEXT_INPUTS = new Set(["text", "search", "url", "email", "number", "range", "password"]);

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

function onKey(event) {
  if (inTextField(event.target) || ownKey(event.target, event.key)) return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const action = { ArrowLeft: "prev", ArrowRight: "next", " ": "toggle", Home: "start", End: "end" }[event.key];
  if (!action || !state.timeline) return;
  event.preventDefault();
  dispatch({ type: action });
}

async function copyLink() {
  const url = location.href;
  try {
    await navigator.clipboard.writeText(url);
    say("Link copied.");
  } catch {
    say(`Copy this link: ${url}`);
  }
}

async function start() {
  bindControls();
  el.speed.value = String(state.player.speed);
  setPlayButton(false);
  const loading = loadExamples();
  if (restoreFromHash()) return;
  const list = await loading;
  if (list.length && !el.source.value) {
    el.examples.value = "0";
    el.examples.dispatchEvent(new Event("change"));
  }
}

start();
