import assert from "node:assert/strict";
import { test } from "node:test";
import { headingOf, TITLE_LINES } from "../src/heading.js";

test("a short source is the title, with no panel", () => {
  assert.deepEqual(headingOf("sin(x*y) + x**2", 6), { title: "sin(x*y) + x**2", listing: null });
  const five = Array.from({ length: TITLE_LINES }, (_, k) => `a${k} = ${k}`).join("\n");
  assert.equal(headingOf(`${five}\n`, 5).listing, null);
});

test("a long listing is summed up in one title line, its text a panel", () => {
  const source = Array.from({ length: 27_000 }, (_, k) => `v${k} = v${k - 1} + 1`).join("\n");
  const { title, listing } = headingOf(source, 26_938, { value: 0.8982 });
  assert.equal(title, "27,000 lines · 26,938 nodes · output 0.8982");
  assert.ok(!title.includes("\n"));
  assert.equal(listing.summary, "Source (27,000 lines)");
  assert.equal(listing.text, source);
});

test("one very long line is no title either", () => {
  const { title, listing } = headingOf("x + ".repeat(200) + "x", 1, null);
  assert.equal(title, "1 line · 1 node");
  assert.equal(listing.summary, "Source (1 line)");
});
