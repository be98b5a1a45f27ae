import { test } from "node:test";
import assert from "node:assert/strict";
import { atEnd, createPlayer, interval, reduce } from "../src/player.js";

test("next and prev move one step and stay within 0 .. total - 1", () => {
  let s = createPlayer(4);
  s = reduce(s, { type: "next" });
  assert.equal(s.index, 1);
  s = reduce(reduce(reduce(s, { type: "next" }), { type: "next" }), { type: "next" });
  assert.equal(s.index, 3);
  assert.ok(atEnd(s));
  s = reduce(reduce(reduce(reduce(s, { type: "prev" }), { type: "prev" }), { type: "prev" }),
    { type: "prev" });
  assert.equal(s.index, 0);
});

test("seek clamps and rounds, and a bad index goes to the start", () => {
  const s = createPlayer(11);
  assert.equal(reduce(s, { type: "seek", index: 7 }).index, 7);
  assert.equal(reduce(s, { type: "seek", index: 99 }).index, 10);
  assert.equal(reduce(s, { type: "seek", index: -4 }).index, 0);
  assert.equal(reduce(s, { type: "seek", index: "4" }).index, 4);
  assert.equal(reduce(s, { type: "seek", index: "nope" }).index, 0);
  assert.equal(reduce(s, { type: "end" }).index, 10);
  assert.equal(reduce(reduce(s, { type: "end" }), { type: "start" }).index, 0);
});

test("play ticks forward and stops by itself at the end", () => {
  let s = reduce(createPlayer(3), { type: "play" });
  assert.equal(s.playing, true);
  s = reduce(s, { type: "tick" });
  assert.deepEqual([s.index, s.playing], [1, true]);
  s = reduce(s, { type: "tick" });
  assert.deepEqual([s.index, s.playing], [2, false]);
  assert.equal(reduce(s, { type: "tick" }).index, 2);
});

test("pause stops, a tick while paused does nothing, and manual steps pause", () => {
  let s = reduce(createPlayer(5), { type: "play" });
  s = reduce(s, { type: "pause" });
  assert.equal(s.playing, false);
  assert.equal(reduce(s, { type: "tick" }).index, 0);
  s = reduce(reduce(s, { type: "play" }), { type: "next" });
  assert.equal(s.playing, false);
});

test("toggle alternates, and playing from the end starts over", () => {
  let s = createPlayer(5, 4);
  s = reduce(s, { type: "toggle" });
  assert.deepEqual([s.index, s.playing], [0, true]);
  assert.equal(reduce(s, { type: "toggle" }).playing, false);
  assert.equal(reduce(createPlayer(0), { type: "play" }).playing, false);
});

test("speed sets the tick interval and rejects non-positive speeds", () => {
  let s = reduce(createPlayer(4), { type: "speed", speed: 4 });
  assert.equal(interval(s), 250);
  s = reduce(s, { type: "speed", speed: 0 });
  assert.equal(s.speed, 4);
});

test("the reducer never mutates the state it is given", () => {
  const s = Object.freeze(createPlayer(3));
  reduce(s, { type: "next" });
  reduce(s, { type: "play" });
  assert.equal(s.index, 0);
  assert.throws(() => reduce(s, { type: "rewind" }), /unknown player action/);
});
