// One step drawn on the stage's panels (graph, step, controls, results): shared by the page
// (main.js) and the player alone (player-view.js: embed, widget, offline file).

import { keptAt, memoryStep } from "./memory-line.js";
import { atEnd, interval } from "./player.js";
import { changedNodes, frameAt, nodeStateAt } from "./timeline.js";

/** Draw what changed between index `previous` and the player's index on `panels`
 * ({graph, stepPanel, controls, results}), for `result` and its `timeline`. */
export function showStep(panels, { result, timeline, player }, previous, { pulse = true } = {}) {
  const { graph, stepPanel, controls, results } = panels;
  const index = player.index;
  const ids = changedNodes(timeline, Math.min(previous, timeline.total - 1), index);
  graph.update(ids, index, { pulseMs: pulse ? Math.min(700, interval(player) * 0.8) : 0 });
  graph.markKept?.(keptAt(result, memoryStep(result, timeline, index)));
  const frame = frameAt(timeline, index);
  const level = graph.levelAt?.(index) ?? null;
  stepPanel.show(frame, { atEnd: atEnd(player), level });
  controls.show(index, timeline.total, frame.phase, whereAt(player, level));
  const done = atEnd(player);
  // Forward mode gives one derivative, d(output)/d(wrt): its row fills in at the end.
  const wrtId = result.tangent && result.nodes.find((n) => n.name === result.tangent.wrt)?.id;
  results.showProgress((id) => !id || (result.tangent
    ? done && id === wrtId
    : nodeStateAt(timeline, id, index).grad), done && !result.tangent);
}

/** Where the player stands at the level shown, for the counter: null when it stops on every
 * step; else {stop, stops: how many, first, last: the node steps the stop covers, name: the
 * closed group's (null on a node of its own)}. */
export function whereAt(player, level) {
  const { stops, index } = player;
  if (!stops) return null;
  let stop = 0; // the first stop at or after the index
  let hi = stops.length - 1;
  while (stop < hi) {
    const mid = (stop + hi) >> 1;
    if (stops[mid] < index) stop = mid + 1; else hi = mid;
  }
  const first = stop > 0 ? stops[stop - 1] + 1 : 0;
  return { stop, stops: stops.length, first: level ? first : index, last: level ? stops[stop] : index,
    name: level?.name ?? null };
}
