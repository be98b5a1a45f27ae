// What a player view shows above its graph (player-view.js: the offline file, the embed view,
// the notebook widget): one title line. A short source is the title itself; a long one (a
// micrograd or traced listing runs to 27,000 lines) is summed up in the title, and its text is
// a panel of its own, closed, so that the first screen shows the player and the graph. Pure.

import { formatValue, groupDigits } from "./format.js";

/** Past this many lines, or this many characters, a source is no title. */
export const TITLE_LINES = 5;
export const TITLE_CHARS = 240;

/** The heading of an answer's view: `{title, listing}`, where `title` is one line of text and
 * `listing` is null when the source is the title, else `{summary, text}` for its panel.
 * `nodes` is the number of nodes, `output` the answer's output ({value}) or null. */
export function headingOf(source, nodes, output = null) {
  const text = source.replace(/\n+$/, "");
  const lines = text.split("\n").length;
  if (lines <= TITLE_LINES && text.length <= TITLE_CHARS) return { title: text, listing: null };
  const count = (n, noun) => `${groupDigits(String(n))} ${noun}${n === 1 ? "" : "s"}`;
  const parts = [count(lines, "line"), count(nodes, "node")];
  if (output && output.value !== undefined) parts.push(`output ${formatValue(output.value)}`);
  return { title: parts.join(" · "), listing: { summary: `Source (${count(lines, "line")})`, text } };
}
