// Far-out level of detail on a <canvas>: when the graph is zoomed out (or too many nodes are
// in view for SVG cards), each node is a rounded box in its state's colour with its op symbol,
// and each edge a line. Thousands of nodes draw in a few milliseconds.

/** Draw `nodes` ([{box, glyph, state: "none" | "value" | "grad", current}]) and `edges`
 * ([points]) through transform `t` ({x, y, k}); `colours` from the page's CSS variables. */
export function drawFar(canvas, t, nodes, edges, colours) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * dpr);
  const h = Math.round(canvas.clientHeight * dpr);
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.setTransform(dpr * t.k, 0, 0, dpr * t.k, dpr * t.x, dpr * t.y);
  ctx.strokeStyle = colours.edge;
  ctx.lineWidth = Math.max(1, 1.2 / t.k);
  ctx.beginPath();
  for (const points of edges) {
    if (points.length < 2) continue;
    ctx.moveTo(points[0][0], points[0][1]);
    for (let i = 1; i < points.length; i++) ctx.lineTo(points[i][0], points[i][1]);
  }
  ctx.stroke();
  const fills = { none: colours.panel, value: colours.valueSoft, grad: colours.gradSoft };
  const lines = { none: colours.border, value: colours.value, grad: colours.grad };
  for (const state of ["none", "value", "grad"]) {
    ctx.fillStyle = fills[state];
    ctx.strokeStyle = lines[state];
    ctx.lineWidth = Math.max(1, 1.5 / t.k);
    ctx.beginPath();
    for (const n of nodes) if (n.state === state) ctx.rect(n.box.x, n.box.y, n.box.width, n.box.height);
    ctx.fill();
    ctx.stroke();
  }
  const current = nodes.find((n) => n.current);
  if (current) {
    ctx.lineWidth = Math.max(3, 4 / t.k);
    ctx.strokeStyle = colours.currentStroke;
    ctx.strokeRect(current.box.x, current.box.y, current.box.width, current.box.height);
  }
  // The op symbol, where it can be read (11 px or more on screen).
  const font = 11 / t.k;
  ctx.fillStyle = colours.fg;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.font = `600 ${font}px ${colours.font}`;
  for (const n of nodes) {
    if (n.box.height * t.k < 13 || n.box.width * t.k < 14) continue;
    ctx.fillText(n.glyph, n.box.x + n.box.width / 2, n.box.y + n.box.height / 2, n.box.width * 0.92);
  }
}

/** Clear the canvas (SVG cards are drawn instead). */
export function clearFar(canvas) {
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
}
