// One step drawn on the stage's panels (graph, step, controls, results): shared by the page
// (main.js) and the player alone (player-view.js: embed, widget, offline file).

import { atEnd, interval } from "./player.js";
import { changedNodes, frameAt, nodeStateAt } from "./timeline.js";

/** Draw what changed between index `previous` and the player's index on `panels`
 * ({graph, stepPanel, controls, results}), for `result` and its `timeline`. */
export function showStep(panels, { result, timeline, player }, previous, { pulse = true } = {}) {
  const { graph, stepPanel, controls, results } = panels;
  const index = player.index;
  const ids = changedNodes(timeline, Math.min(previous, timeline.total - 1), index);
  graph.update(ids, index, { pulseMs: pulse ? Math.min(700, interval(player) * 0.8) : 0 });
  const frame = frameAt(timeline, index);
  stepPanel.show(frame, { atEnd: atEnd(player), level: graph.levelAt?.(index) ?? null });
  controls.show(index, timeline.total, frame.phase);
  const done = atEnd(player);
  // Forward mode gives one derivative, d(output)/d(wrt): its row fills in at the end.
  const wrtId = result.tangent && result.nodes.find((n) => n.name === result.tangent.wrt)?.id;
  results.showProgress((id) => !id || (result.tangent
    ? done && id === wrtId
    : nodeStateAt(timeline, id, index).grad), done && !result.tangent);
}
