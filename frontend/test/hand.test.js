import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  addNode, connect, depths, emptyModel, fromAnswer, opTable, remove, rename, setValue, targets,
  toSource,
} from "../src/hand.js";

const ops = opTable(JSON.parse(readFileSync(new URL("./fixtures/ops.json", import.meta.url))));

// The answer's nodes as the page reads them, for a few programs.
const node = (id, op, name, inputs = [], value = null) => ({ id, op, name, inputs, value });
const SIN_XY = {
  source: "L = sin(x*y) + x",
  nodes: [node("n0", "input", "x", [], 1.5), node("n1", "input", "y", [], 2),
    node("n2", "mul", null, ["n0", "n1"]), node("n3", "sin", null, ["n2"]),
    node("n4", "add", "L", ["n3", "n0"])],
};

function add(model, op) {
  return addNode(model, op, ops);
}

test("sin(x * y) + x built node by node reads as one line per node", () => {
  let m = emptyModel();
  let x; let y; let a; let b; let c;
  ({ model: m, id: x } = add(m, "input"));
  ({ model: m, id: y } = add(m, "input"));
  ({ model: m, id: a } = add(m, "mul"));
  assert.equal(toSource(m, ops), "x = 1.5\ny = 2\n# unwired: a = mul(?, ?)");
  assert.deepEqual([...depths(m).values()], [0, 0, 1]);
  m = connect(m, x, a, 0);
  m = connect(m, y, a, 1);
  ({ model: m, id: b } = add(m, "sin"));
  ({ model: m, id: c } = add(m, "add"));
  m = connect(m, b, c, 0);
  assert.equal(toSource(m, ops), "x = 1.5\ny = 2\na = x * y\n# unwired: b = sin(?)\n# unwired: c = add(b, ?)");
  m = connect(m, a, b, 0);
  m = connect(m, x, c, 1);
  assert.equal(toSource(m, ops), "x = 1.5\ny = 2\na = x * y\nb = sin(a)\nc = b + x");
  assert.deepEqual([...depths(m).values()], [0, 0, 1, 2, 3]);
});

test("a typed program's unnamed nodes stay inside their statement; a bare last line gets a name", () => {
  assert.equal(toSource(fromAnswer(SIN_XY), ops), "x = 1.5\ny = 2\nL = sin(x * y) + x");
  const bare = { source: "sin(x)", nodes: [node("n0", "input", "x", [], 1), node("n1", "sin", null, ["n0"])] };
  assert.equal(toSource(fromAnswer(bare), ops), "x = 1\na = sin(x)");
});

test("unwired comments are read back into the model, numbers as constants", () => {
  const source = "x = 1.5\n# unwired: a = mul(x, ?)\n# unwired: b = add(a, 2)\n# unwired: k = const(3)";
  const answer = { source, nodes: [node("n0", "input", "x", [], 1.5)] };
  const m = fromAnswer(answer);
  assert.deepEqual(m.nodes.map((n) => [n.name, n.op]),
    [["x", "input"], ["a", "mul"], [null, "const"], ["b", "add"], ["k", "const"]]);
  assert.equal(toSource(m, ops), source);
  assert.equal(toSource(fromAnswer(null, "# unwired: a = sin(?)"), ops), "# unwired: a = sin(?)");
});

test("wiring an inline node a second time names it; a cycle is refused", () => {
  let m = fromAnswer(SIN_XY);
  let d;
  ({ model: m, id: d } = add(m, "cos"));
  m = connect(m, "n2", d, 0);
  assert.equal(toSource(m, ops), "x = 1.5\ny = 2\nb = x * y\nL = sin(b) + x\na = cos(b)");
  assert.throws(() => connect(m, "n4", "n2", 0), /cannot feed/);
  assert.deepEqual(targets(m, "n4"), [{ id: d, position: 0 }]); // replacing a there
  assert.deepEqual(targets(m, "n0").map((t) => `${t.id}:${t.position}`), ["n2:1", "n3:0", "n4:0", `${d}:0`]);
});

test("delete unwires its consumers; rename and values are checked", () => {
  let m = fromAnswer(SIN_XY);
  m = remove(m, "n3");
  assert.equal(toSource(m, ops), "x = 1.5\ny = 2\na = x * y\n# unwired: L = add(?, x)");
  m = rename(m, "n0", "t", ops);
  m = setValue(m, "n0", -0.5);
  assert.equal(toSource(m, ops), "t = -0.5\ny = 2\na = t * y\n# unwired: L = add(?, t)");
  assert.throws(() => rename(m, "n0", "y", ops), /taken/);
  assert.throws(() => rename(m, "n0", "sin", ops), /cannot be a name/);
  assert.throws(() => rename(m, "n0", "2x", ops), /cannot be a name/);
  assert.throws(() => setValue(m, "n0", Number.NaN), /number/);
});

test("a negative constant is bracketed inside an infix op", () => {
  const answer = { source: "y = x * -2", nodes: [node("n0", "input", "x", [], 1),
    node("n1", "const", null, [], -2), node("n2", "mul", "y", ["n0", "n1"])] };
  assert.equal(toSource(fromAnswer(answer), ops), "x = 1\ny = x * (-2)");
});
