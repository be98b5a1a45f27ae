import { test } from "node:test";
import assert from "node:assert/strict";
import {
  claimValues, formatValues, overridesFor, ownValues, parseValues, withoutValues,
} from "../src/values.js";

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

test("an example's values belong to the example's source, and to no other", () => {
  const owners = ownValues("x=1.5, y=2", "x*y + sin(x)");
  assert.deepEqual(overridesFor(owners, "x*y + sin(x)"), ["x", "y"]);
  assert.deepEqual(overridesFor(owners, "x = 1.5\ny = -2.0\nx*y"), []);
});

test("a value typed while the editor holds a source is typed for that source", () => {
  const old = "x*y + sin(x)";
  const now = "x = 1.5\ny = -2.0\nx*y";
  let owners = ownValues("x=1.5, y=2", old);
  owners = claimValues(owners, "x=1.5, y=2", "x=1.5, y=", now); // half typed: nothing changes
  assert.deepEqual(overridesFor(owners, now), []);
  owners = claimValues(owners, "x=1.5, y=2", "x=1.5, y=3", now);
  assert.deepEqual(overridesFor(owners, now), ["y"]); // x was not touched: still the example's
  assert.deepEqual(overridesFor(owners, old), ["x"]);
  owners = claimValues(owners, "x=1.5, y=3", "y=3, z=[1, 2]", now);
  assert.deepEqual([...owners.keys()].sort(), ["y", "z"]);
  assert.deepEqual(overridesFor(owners, now), ["y", "z"]);
  assert.deepEqual(overridesFor(owners, `${now} + 1`), []); // the source was edited since
});

test("values set aside leave the text, in its own notation", () => {
  assert.equal(withoutValues("x=1.5, y=2, W=[[1,2],[3,4]]", ["y"]), "x=1.5, W=[[1,2],[3,4]]");
  assert.equal(withoutValues('{"x": 1.5, "y": 2}', ["x"]), '{"y":2}');
  assert.equal(withoutValues("x=1.5, y=2", ["x", "y"]), "");
  assert.equal(withoutValues("x=[1, 2", ["x"]), "x=[1, 2"); // unreadable: left as typed
});
