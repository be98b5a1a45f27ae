import { test } from "node:test";
import assert from "node:assert/strict";
import { formatValues, parseValues } from "../src/values.js";

test("name=value pairs separated by commas, semicolons or newlines", () => {
  assert.deepEqual(parseValues("x=1.5, y=2"), { x: 1.5, y: 2 });
  assert.deepEqual(parseValues("x = -.5; y=1e3\nz=3."), { x: -0.5, y: 1000, z: 3 });
  assert.deepEqual(parseValues("W=[[1,2],[3,4]], b=[0.1, 0.2]"),
    { W: [[1, 2], [3, 4]], b: [0.1, 0.2] });
  assert.deepEqual(parseValues("  "), {});
});

test("a JSON object is taken as is", () => {
  assert.deepEqual(parseValues('{"x": 1.5, "W": [[1,2],[3,4]]}'), { x: 1.5, W: [[1, 2], [3, 4]] });
});

test("bad values say what is wrong", () => {
  assert.throws(() => parseValues("x"), /expected name=value/);
  assert.throws(() => parseValues("1x=2"), /not a name/);
  assert.throws(() => parseValues("x=[1, 2"), /unbalanced/);
  assert.throws(() => parseValues("x=abc"), /cannot read x/);
  assert.throws(() => parseValues('{"x": "a"}'), /number or nested lists/);
  assert.throws(() => parseValues("[1, 2]"), /expected name=value|cannot read/);
});

test("formatValues writes what parseValues reads", () => {
  const values = { x: 1.5, W: [[1, 2], [3, 4]] };
  assert.deepEqual(parseValues(formatValues(values)), values);
});
