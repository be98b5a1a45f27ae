import assert from "node:assert/strict";
import { test } from "node:test";

import {
  READABLE_SCALE, clampTranslate, followTransform, homeTransform, inView, visibleRect,
} from "../src/viewport.js";

const box = (x, y, width = 100, height = 40) => ({ x, y, width, height });

test("the visible rectangle is the view mapped back through the transform", () => {
  assert.deepEqual(visibleRect({ x: -100, y: 50, k: 2 }, 800, 600), { x0: 50, y0: -25, x1: 450, y1: 275 });
});

test("a graph that fits at a readable scale is shown whole and centred", () => {
  const t = homeTransform(1000, 600, 400, 200, null);
  assert.ok(t.k >= READABLE_SCALE);
  assert.ok(inView(box(0, 0, 400, 200), t, 1000, 600));
});

test("a graph too big to fit opens at the readable scale around the focus", () => {
  const focus = box(5000, 3000);
  const t = homeTransform(1000, 600, 10000, 6000, focus);
  assert.equal(t.k, READABLE_SCALE);
  assert.ok(inView(focus, t, 1000, 600));
});

test("following leaves a node in view alone and brings one out of view into it", () => {
  const t = { x: 0, y: 0, k: 1 };
  assert.equal(followTransform(box(100, 100), t, 800, 600, 5000, 5000, "forward"), null);
  for (const phase of ["forward", "backward"]) {
    const far = box(4000, 4500);
    const next = followTransform(far, t, 800, 600, 5000, 5000, phase);
    assert.ok(inView(far, next, 800, 600), phase);
    assert.equal(next.k, 1);
  }
});

test("clamping keeps a big graph filling the view and centres a small one", () => {
  assert.deepEqual(clampTranslate({ x: 500, y: -9000, k: 1 }, 800, 600, 2000, 2000), { x: 12, y: -1412, k: 1 });
  assert.deepEqual(clampTranslate({ x: 500, y: 0, k: 1 }, 800, 600, 200, 100), { x: 300, y: 250, k: 1 });
});

test("a graph taller than the view starts below the Follow and Fit buttons", () => {
  const home = homeTransform(800, 600, 5000, 3000, null);
  assert.ok(home.y >= 40, `first card at ${home.y} px from the top, under the buttons`);
  assert.equal(clampTranslate({ x: 0, y: 500, k: 1 }, 800, 600, 2000, 2000).y, home.y);
});

test("a card that fits the view is brought wholly into it, never cut at an edge", () => {
  // A wide card (388 px) in a narrow view (608 px): its middle at 30 % would start it at -12.
  const wide = box(0, 100, 388, 70);
  const home = homeTransform(608, 318, 2400, 300, wide);
  assert.ok(inView(wide, home, 608, 318), JSON.stringify(home));
  for (const phase of ["forward", "backward"]) {
    const far = box(1800, 100, 388, 70);
    const next = followTransform(far, { x: 0, y: 0, k: 1 }, 608, 318, 2400, 300, phase);
    assert.ok(inView(far, next, 608, 318, 12), `${phase}: ${JSON.stringify(next)}`);
  }
});
