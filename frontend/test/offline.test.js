import assert from "node:assert/strict";
import { test } from "node:test";
import { embeddedAnswer, offlineHtml, PLACEHOLDER } from "../src/offline.js";

const TEMPLATE = `<script type="application/json" id="chainrule-answer">${PLACEHOLDER}</script>`;

test("the answer goes where the template holds its place, and reads back the same", () => {
  const answer = { source: "x**2", columns: { nodes: { op: ["input"] } }, gradients: { x: 3 } };
  const html = offlineHtml(TEMPLATE, answer);
  assert.ok(!html.includes(PLACEHOLDER));
  const text = html.slice(html.indexOf(">") + 1, html.lastIndexOf("</script>"));
  assert.deepEqual(embeddedAnswer(text), answer);
});

test("no text of the answer can close the script element that holds it", () => {
  const answer = { source: "</script><script>alert(1)</script>", columns: { nodes: { op: [] } } };
  const html = offlineHtml(TEMPLATE, answer);
  assert.equal(html.match(/<\/script>/g).length, 1);
  const text = html.slice(html.indexOf(">") + 1, html.lastIndexOf("</script>"));
  assert.equal(embeddedAnswer(text).source, answer.source);
});

test("$ patterns in the answer are written as they are", () => {
  const answer = { source: "a$&b$'c", columns: { nodes: { op: [] } } };
  assert.ok(offlineHtml(TEMPLATE, answer).includes("a$&b$'c"));
});

test("a template without the place, or a page without a compact answer, is refused", () => {
  assert.throws(() => offlineHtml("<p>no place</p>", { columns: { nodes: { op: [] } } }), /no place/);
  assert.equal(embeddedAnswer(PLACEHOLDER), null);
  assert.equal(embeddedAnswer('{"source": "x"}'), null);
  assert.equal(embeddedAnswer('{"source": "x", "nodes": []}'), null, "v1 records are not the compact answer");
});
