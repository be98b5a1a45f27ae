// The memory of reverse mode (the answer's `memory`, analyses/memory.py): the bytes the tape
// holds after every step of both passes, drawn as a line under the player, its peak marked, the
// current step's place on it and, in words, what is held now. Reverse mode is cheap in time
// and pays in memory: each forward value a backward step reads is kept until that step.

import * as d3 from "d3";
import { formatBytes } from "./format.js";

const WIDTH = 220;
const HEIGHT = 30;

/** The memory step standing for timeline index `index`: the forward steps of nodes with
 * operands come first (an input's step stands at the op step before it, or the first), then
 * one per backward step. Null when the answer carries no memory (forward mode). */
export function memoryStep(result, timeline, index) {
  const memory = result.memory;
  if (!memory || !timeline.steps.length) return null;
  const step = timeline.steps[Math.min(index, timeline.steps.length - 1)];
  if (step.phase === "backward") return Math.min(memory.forward_steps + step.index, memory.bytes_at.length - 1);
  if (step.phase !== "forward") return null;
  const ops = opStepsBefore(result, timeline);
  return Math.max(0, ops[index] - 1);
}

// For each forward timeline index, how many steps of nodes with operands come up to it; kept
// on the timeline.
function opStepsBefore(result, timeline) {
  if (!timeline.opSteps) {
    const counts = new Int32Array(timeline.forwardCount);
    let n = 0;
    for (let i = 0; i < timeline.forwardCount; i++) {
      if (result.nodes[timeline.steps[i].index].inputs.length) n++;
      counts[i] = n;
    }
    timeline.opSteps = counts;
  }
  return timeline.opSteps;
}

/** The ids of the nodes whose forward value the tape holds at memory step `t`. */
export function keptAt(result, t) {
  const kept = new Set();
  if (t === null || !result.memory) return kept;
  result.memory.kept_at.forEach((range, i) => {
    if (range && range[0] <= t && t <= range[1]) kept.add(`n${i}`);
  });
  return kept;
}

/** What the line says at memory step `t`: "40 B held, 5 kept · peak 56 B at step 5" (the
 * bytes of the values and gradients held; how many forward values are kept for the backward
 * pass). */
export function memoryWords(memory, t) {
  const peak = `peak ${formatBytes(memory.peak.bytes)} at step ${memory.peak.step + 1}`;
  if (t === null) return peak;
  return `${formatBytes(memory.bytes_at[t])} held, ${memory.values_at[t]} kept · ${peak}`;
}

/** The line on its element `el` (an <div class="memory-line">): reset(result, timeline) for a new
 * answer, show(index) at each step. */
export function createMemoryLine(el) {
  let result = null;
  let timeline = null;
  let marker = null;
  const svg = d3.select(el).append("svg").attr("class", "memory-chart").attr("width", WIDTH)
    .attr("viewBox", `0 0 ${WIDTH} ${HEIGHT}`).attr("preserveAspectRatio", "none")
    .attr("height", HEIGHT).attr("aria-hidden", "true");
  const words = d3.select(el).append("span").attr("class", "memory-words")
    .attr("title", "The tape: the bytes held after this step (the forward values the backward pass " +
      "will read, and the gradients being summed), how many forward values are kept, and the peak.");

  const line = {
    reset(answer, steps) {
      result = answer;
      timeline = steps;
      svg.selectAll("*").remove();
      el.hidden = !answer?.memory || !answer.memory.bytes_at.length;
      if (el.hidden) return line;
      const { bytes_at: bytes, forward_steps: forward, peak } = answer.memory;
      const x = d3.scaleLinear([0, Math.max(1, bytes.length - 1)], [2, WIDTH - 2]);
      const y = d3.scaleLinear([0, Math.max(1, peak.bytes)], [HEIGHT - 2, 3]);
      svg.append("line").attr("class", "memory-divide").attr("x1", x(forward - 0.5)).attr("x2", x(forward - 0.5))
        .attr("y1", 0).attr("y2", HEIGHT);
      svg.append("path").attr("class", "memory-area")
        .attr("d", d3.area().x((_, i) => x(i)).y0(HEIGHT - 2).y1((b) => y(b))(bytes));
      svg.append("circle").attr("class", "memory-peak").attr("r", 3).attr("cx", x(peak.step)).attr("cy", y(peak.bytes));
      marker = svg.append("line").attr("class", "memory-now").attr("y1", 0).attr("y2", HEIGHT);
      line.x = x;
      return line;
    },

    show(index) {
      if (!result?.memory || el.hidden) return line;
      const t = memoryStep(result, timeline, index);
      if (t !== null) marker.attr("x1", line.x(t)).attr("x2", line.x(t));
      words.text(`Tape: ${memoryWords(result.memory, t)}`);
      return line;
    },
  };
  return line;
}
