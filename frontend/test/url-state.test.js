import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeHash, embedCode, encodeHash } from "../src/url-state.js";

test("source, values and step round-trip through the hash", () => {
  const state = { source: "a = x*y\nb = a + x & 1 # %\nsin(b)", values: "x=1.5, y=2", step: 12 };
  const hash = encodeHash(state);
  assert.match(hash, /^#source=.+&values=.+&step=12$/);
  assert.ok(!hash.includes("\n") && !hash.includes(" "));
  assert.deepEqual(decodeHash(hash), state);
});

test("JSON values and unicode survive the round trip", () => {
  const state = { source: "sum(W @ x) + π", values: '{"x": [1, 2], "W": [[1,2],[3,4]]}', step: 0 };
  assert.deepEqual(decodeHash(encodeHash(state)), state);
});

test("a hash without a source, or a malformed one, restores nothing", () => {
  assert.equal(decodeHash(""), null);
  assert.equal(decodeHash("#step=3"), null);
  assert.equal(decodeHash("#source=%E0%A4%A"), null);
  assert.deepEqual(decodeHash("#source=x&step=-2"), { source: "x", values: "", step: 0 });
  assert.equal(encodeHash({ source: "" }), "");
});

test("forward mode and its wrt round-trip; reverse mode is the default and left out", () => {
  const state = { source: "sin(x*y) + x**2", values: "x=1.5, y=2", step: 3, mode: "forward", wrt: "x" };
  const hash = encodeHash(state);
  assert.match(hash, /&mode=forward&wrt=x$/);
  assert.deepEqual(decodeHash(hash), state);
  assert.ok(!encodeHash({ ...state, mode: "reverse" }).includes("mode"));
  assert.equal(decodeHash("#source=x&mode=sideways").mode, undefined);
  assert.deepEqual(decodeHash("#source=x&mode=forward"), { source: "x", values: "", step: 0, mode: "forward", wrt: "" });
});

test("the embed code is an iframe of /embed beside the page, at the same state", () => {
  const hash = encodeHash({ source: "sin(x*y)", values: "x=1.5, y=2", step: 3 });
  const code = embedCode("https://example.org/course/chainrule/#old", hash);
  const src = code.match(/src="([^"]*)"/)[1];
  assert.equal(new URL(src).pathname, "/course/chainrule/embed");
  assert.deepEqual(decodeHash(new URL(src).hash), { source: "sin(x*y)", values: "x=1.5, y=2", step: 3 });
  assert.match(code, /^<iframe [^>]*><\/iframe>$/);
});

test("the output chosen round-trips; none chosen is left out", () => {
  const state = { source: "a = x*y\nh = sin(a) + x\nh * h", values: "x=1.5", step: 2, output: "h" };
  const hash = encodeHash(state);
  assert.match(hash, /&output=h$/);
  assert.deepEqual(decodeHash(hash), state);
  assert.ok(!encodeHash({ ...state, output: "" }).includes("output"));
  assert.deepEqual(decodeHash(encodeHash({ ...state, mode: "forward", wrt: "x" })),
    { ...state, mode: "forward", wrt: "x" });
});

test("the naive replay's switches round-trip; off and the default children are left out", () => {
  const state = { source: "a = x\nb = a + a\nc = b + b", values: "x=3", step: 0, naive: true, twice: true,
    children: "distinct" };
  const hash = encodeHash(state);
  assert.match(hash, /&naive=1&twice=1&children=distinct$/);
  assert.deepEqual(decodeHash(hash), state);
  assert.ok(!encodeHash({ ...state, naive: false, twice: false }).includes("children"));
  assert.ok(!encodeHash({ ...state, children: "operands" }).includes("children"));
  assert.equal(decodeHash("#source=x&children=tree").children, undefined);
  const { twice, ...once } = state;
  assert.equal(twice, true);
  assert.deepEqual(decodeHash(encodeHash({ ...state, twice: false })), once);
});

test("ninja mode and the answers typed round-trip; a malformed answers field is left out", () => {
  const state = { source: "a = x*y\nL = sin(a)", values: "x=1", step: 4, ninja: true,
    answers: { a: "dL * cos(a)", x: "da * y & b = 1" } };
  const hash = encodeHash(state);
  assert.match(hash, /&ninja=1&answers=/);
  assert.deepEqual(decodeHash(hash), state);
  assert.ok(!encodeHash({ ...state, answers: { a: "" } }).includes("answers"));
  const { ninja, ...off } = state;
  assert.equal(ninja, true);
  assert.deepEqual(decodeHash(encodeHash({ ...state, ninja: false })), off);
  assert.equal(decodeHash("#source=x&answers=%7Bnot").answers, undefined);
  assert.equal(decodeHash("#source=x&answers=%5B1%5D").answers, undefined);
});
