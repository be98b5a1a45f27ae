// Render compact answers (API v2) whole with the page's renderer (frontend/src/records.js):
//   node tools/records.mjs answers.json > records.json
// reads a JSON list of compact answers and writes, for each, the v1 records records.py writes
// ({nodes, edges, forward, backward}), and the backward steps once more asked last to first
// (`backward_reversed`, listed in step order: each step's running sums found by walking back).
// tests/test_records_js.py compares them with records.py's. A negative
// zero is written "-0.0" (JSON.stringify would write 0), so that the test sees its sign.

import { readFileSync } from "node:fs";
import { createRenderer } from "../frontend/src/records.js";

const NEGATIVE_ZERO = "-0.0";

function spelledOut(answer) {
  const r = createRenderer(answer);
  const every = (count, f) => Array.from({ length: count }, (_, k) => f(k));
  return {
    nodes: every(r.nodeCount, r.node), edges: r.edges(), forward: every(r.nodeCount, r.forward),
    backward: every(r.backwardCount, r.backward),
    backward_reversed: every(r.backwardCount, (k) => k).reverse()
      .map(createRenderer(answer).backward).reverse(),
  };
}

const answers = JSON.parse(readFileSync(process.argv[2], "utf8"));
const replacer = (key, value) => (Object.is(value, -0) ? NEGATIVE_ZERO : value);
process.stdout.write(JSON.stringify(answers.map(spelledOut), replacer));
