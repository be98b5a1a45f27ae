// Source spans: cutting the source into plain and marked pieces, and finding the nodes a
// selection covers. Pure.

/** The source cut into pieces [{text, cls}] where each mark {start, end, cls} wraps exactly
 * the characters [start, end); overlapping marks are clipped to the earlier one. */
export function markSegments(source, marks) {
  const pieces = [];
  let at = 0;
  const sorted = marks.filter((m) => m && m.end > m.start).sort((a, b) => a.start - b.start);
  for (const { start, end, cls } of sorted) {
    const s = Math.max(Math.min(start, source.length), at);
    const e = Math.min(end, source.length);
    if (e <= s) continue;
    if (s > at) pieces.push({ text: source.slice(at, s), cls: null });
    pieces.push({ text: source.slice(s, e), cls });
    at = e;
  }
  if (at < source.length || pieces.length === 0) pieces.push({ text: source.slice(at), cls: null });
  return pieces;
}

/** Ids of the nodes whose span lies inside [start, end); none for an empty selection. */
export function nodesInside(nodes, start, end) {
  if (end <= start) return [];
  return nodes.filter((n) => n.span[0] >= start && n.span[1] <= end && n.span[1] > n.span[0])
    .map((n) => n.id);
}

/** The parts of `marks` that lie outside every mark of `cover` (so that they never overlap). */
export function outside(marks, cover) {
  const blocks = cover.filter((c) => c && c.end > c.start).sort((a, b) => a.start - b.start);
  const parts = [];
  for (const mark of marks) {
    let at = mark.start;
    for (const block of blocks) {
      if (block.end <= at || block.start >= mark.end) continue;
      if (block.start > at) parts.push({ ...mark, start: at, end: block.start });
      at = Math.max(at, block.end);
    }
    if (at < mark.end) parts.push({ ...mark, start: at });
  }
  return parts;
}
