// The step panel: "This step" (the chain rule typeset with KaTeX, panel-drawings.js), the
// narration line read by screen readers, and practice mode, which asks the learner for each
// backward step's local derivatives and contributions and holds the player until they are in.

import { gradeRows, gradeWords } from "./cards.js";
import { namesFor, rowAt } from "./ninja.js";
import { renderNinjaStep } from "./ninja-panel.js";
import { levelText, renderStepPanel } from "./panel-drawings.js";
import * as practice from "./practice.js";

/** The panel on its elements `el` ({stepPanel, narration, practiceScore, practiceHelp}). */
export function createStepPanel(el) {
  let result = null;
  let timeline = null;
  let nodesById = new Map();
  let practiceOn = false;
  let record = practice.createPractice();
  let questions = new Map(); // per timeline index, asked for when the player gets there
  let shown = null; // {frame, atEnd}
  let grades = new Map(); // node id -> its grade row (cards.gradeRows)
  // Ninja mode: the rows of the last ninja answer (every tensor's, `missing` ones too), the
  // answers typed, whether a check is under way, and onCheck(name, text).
  let ninja = { on: false, rows: [], answers: {}, busy: false, onCheck: null };
  let drafts = new Map(); // ninja mode: what is typed and not checked yet, by tensor name

  // Practice mode's questions at a timeline index, or null where it asks none.
  function askedAt(index) {
    if (!practiceOn || ninja.on || !result || result.tangent) return null;
    const asked = questionsAt(index);
    return asked && (asked.questions.length || asked.skipped.length) ? asked : null;
  }

  function questionsAt(index) {
    if (!questions.has(index)) {
      questions.set(index, timeline.steps[index]?.phase === "backward"
        ? practice.questionsFor(timeline.stepAt(index)) : { questions: [], skipped: [] });
    }
    return questions.get(index);
  }

  function narration(frame) {
    if (shown?.level) {
      const row = ninjaRow(frame);
      return levelText(shown.level) + (row && grades.has(row.node) ? ` ${gradeWords(grades.get(row.node))}.` : "");
    }
    if (!frame.step) return "Nothing computed yet: press Next step to evaluate the graph forward.";
    const asked = askedAt(frame.index);
    if (asked && !practice.isDone(record, frame.index, asked.questions)) {
      return "Practice: work out this step's local derivatives and contributions, then Check.";
    }
    const row = ninjaRow(frame);
    if (row && !grades.has(frame.node)) {
      return `${frame.step.text} Ninja: type d${row.name} in the step panel, then Check.`;
    }
    return frame.step.text + graded(frame);
  }

  // At a backward step of a node the learner gave the gradient of (a grade's row): the verdict.
  function graded(frame) {
    if (frame.phase !== "backward" || !grades.has(frame.node)) return "";
    return ` ${gradeWords(grades.get(frame.node))}.`;
  }

  function render(frame) {
    // A redraw keeps the keyboard in ninja mode's field (Check redraws the panel twice).
    const refocus = el.stepPanel.querySelector(".ninja")?.contains(document.activeElement);
    const options = { tangent: result.tangent, last: frame.index === timeline.total - 1,
      level: shown?.level ?? null };
    const asked = askedAt(frame.index);
    if (asked) {
      const index = frame.index;
      const update = (next) => {
        record = next;
        render(frame);
        el.narration.textContent = narration(frame);
        showScore();
      };
      options.practice = {
        ...asked, entry: practice.entryAt(record, index),
        onCheck: (typed) => update(practice.check(record, index, asked.questions, typed)),
        onHint: (typed) => update(practice.hint(record, index, typed)),
        onReveal: () => update(practice.reveal(record, index, asked.questions)),
      };
    }
    renderStepPanel(el.stepPanel, frame, nodesById, timeline.total, options);
    const row = ninjaRow(frame);
    if (row) {
      renderNinjaStep(el.stepPanel, row, {
        text: drafts.get(row.name) ?? ninja.answers[row.name] ?? "", busy: ninja.busy,
        names: namesFor(ninja.rows, row, nodesById.get(result.output)?.name),
        onCheck: (text) => { drafts.delete(row.name); ninja.onCheck?.(row.name, text); },
        onDraft: (text) => drafts.set(row.name, text),
      });
      if (refocus) el.stepPanel.querySelector("#ninja-answer")?.focus({ preventScroll: true });
      return;
    }
    const verdict = graded(frame);
    if (verdict) {
      const line = document.createElement("p");
      line.className = `grade-line grade-${grades.get(frame.node).given_your_upstream?.verdict ?? grades.get(frame.node).verdict}`;
      line.textContent = verdict.trim();
      el.stepPanel.append(line);
    }
  }

  // Ninja mode's row at a frame (the backward step of a tensor the learner may answer; for a
  // folded statement, its whole backward run).
  function ninjaRow(frame) {
    if (!ninja.on || !result || result.tangent) return null;
    const level = shown?.level;
    if (level) return level.phase === "backward" ? ninja.rows.find((r) => r.name === level.name) ?? null : null;
    return rowAt(ninja.rows, frame);
  }

  function showScore() {
    const on = practiceOn && !result?.tangent;
    el.practiceScore.hidden = !on;
    el.practiceHelp.hidden = !practiceOn;
    document.body.classList.toggle("practice-on", on);
    if (!on) return;
    const { correct, attempted } = practice.score(record);
    const end = shown?.atEnd ? "Backward pass done. " : "";
    el.practiceScore.textContent = `${end}Score: ${correct} / ${attempted} correct at the first check.`;
    el.practiceScore.dataset.correct = String(correct);
    el.practiceScore.dataset.attempted = String(attempted);
  }

  const panel = {
    /** A new answer and its timeline: practice starts over. */
    reset(answer, steps, byId) {
      if (answer.source !== result?.source) drafts = new Map();
      result = answer;
      grades = gradeRows(answer);
      timeline = steps;
      nodesById = byId;
      record = practice.createPractice();
      questions = new Map();
      shown = null;
      return panel;
    },

    /** Show a frame of the timeline (timeline.frameAt); `atEnd` whether it is the last;
     * `level` (graph-panel's levelAt) when the step is a closed group's whole run. */
    show(frame, { atEnd, level = null }) {
      shown = { frame, atEnd, level };
      render(frame);
      el.narration.textContent = narration(frame);
      showScore();
      return panel;
    },

    /** Switch practice mode on or off, redrawing the frame shown. */
    setPractice(on) {
      practiceOn = on;
      if (shown) panel.show(shown.frame, shown);
      else showScore();
      return panel;
    },

    /** Ninja mode: on or off, the rows of the last ninja answer, the answers typed, whether a
     * check is under way, and onCheck(name, text) (Check at a tensor's step); redraws unless
     * `redraw` is false. */
    setNinja(settings, redraw = true) {
      ninja = { ...ninja, ...settings };
      if (redraw && shown && timeline) panel.show(shown.frame, shown);
      return panel;
    },

    /** How far the player may go from `from` towards `to`: in practice mode it stops at the
     * first step whose answers are not in yet. */
    limit(from, to) {
      if (!practiceOn || !timeline || result?.tangent) return to;
      return practice.gate(record, from, to, (i) => askedAt(i)?.questions ?? []);
    },
  };
  return panel;
}
