import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { SPEEDS } from "../src/player.js";
import { STAGE_PARTS, graphMarkup, playerMarkup } from "../src/stage-markup.js";

const template = readFileSync(new URL("../index.html", import.meta.url), "utf8");
const playerView = readFileSync(new URL("../src/player-view.js", import.meta.url), "utf8");

test("the stage's markup is written once: the page's template and the player view take it", () => {
  for (const part of Object.keys(STAGE_PARTS)) assert.match(template, new RegExp(`<!-- stage:${part} -->`));
  for (const id of ["step-slider", "graph-far", "minimap", "narration", "phase"]) {
    assert.doesNotMatch(template, new RegExp(`id="${id}"`), `index.html writes #${id} itself`);
    assert.doesNotMatch(playerView, new RegExp(`id="${id}"`), `player-view.js writes #${id} itself`);
  }
});

test("the player offers every speed and names its controls", () => {
  const html = playerMarkup();
  for (const s of SPEEDS) assert.match(html, new RegExp(`<option value="${s}">`));
  assert.match(html, /<label for="step-slider">Step<\/label>/);
  assert.match(graphMarkup(), /<svg id="graph" role="group" aria-label="Computation graph/);
});
