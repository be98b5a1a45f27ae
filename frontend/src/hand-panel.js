// Build by hand: a palette of the op table (plus input and constant), the hand model's nodes as
// cards in columns by depth, each op card with a slot per operand. Drag a card onto another's
// slot to wire it; or, by keyboard, select a card and "Connect to…" a slot from a list. Every
// edit hands the program text (hand.js's toSource) to the page, which runs it and shows the
// model read back from the answer: the text and the cards never disagree.

import {
  addNode, connect, depths, label, opTable, remove, rename, setValue, targets, toSource,
} from "./hand.js";
import { button as domButton } from "./dom.js";

const COLUMN = 170; // px between columns of the hand view
const ROW = 88;
const CARD_WIDTH = 140;
const PAD = 12;

/** The panel on its elements `el` ({toggle, section, palette, canvas, tools, status});
 * callbacks: onToggle(on), onEdit(source) (an edit's program text, to put in the editor and
 * run). */
export function createHandPanel(el, callbacks) {
  let ops = new Map();
  let model = { nodes: [] };
  let selected = null; // the selected node's name (or id when unnamed)
  let connecting = false; // the "Connect to…" list is open
  let on = false;

  el.toggle.addEventListener("click", () => panel.setOn(!on));

  const keyOf = (n) => n.name ?? n.id;
  const selectedNode = () => model.nodes.find((n) => keyOf(n) === selected) ?? null;

  /** Apply an edit (a function of the model to the next model); say its refusal if any. */
  function edit(change, select = selected) {
    let next;
    try {
      next = change(model);
    } catch (err) {
      say(err.message);
      return;
    }
    say("");
    model = next;
    selected = select;
    connecting = false;
    draw();
    callbacks.onEdit(toSource(model, ops));
  }

  function say(text) {
    el.status.textContent = text;
  }

  function drawPalette() {
    const entries = [["input", "input", "An input: a number the derivatives are taken with respect to"],
      ["const", "constant", "A constant: a number written into the expression"],
      ...[...ops].map(([name, op]) => [name, op.symbol.length > 2 ? name : `${op.symbol} ${name}`,
        op.description])];
    el.palette.replaceChildren(...entries.map(([op, text, title]) => {
      const b = button(text, "hand-add", () => {
        const { model: next, id } = addNode(model, op, ops);
        const n = next.nodes.find((m) => m.id === id);
        edit(() => next, keyOf(n));
      });
      b.title = title ?? "";
      b.setAttribute("aria-label", `Add ${op === "const" ? "constant" : op}`);
      b.dataset.op = op;
      return b;
    }));
  }

  function draw() {
    const focused = document.activeElement?.dataset?.key ?? null;
    drawCanvas();
    drawTools();
    const again = focused && el.section.querySelector(`[data-key="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }

  function drawCanvas() {
    const depth = depths(model);
    const rows = new Map();
    const place = new Map();
    for (const n of model.nodes) {
      const d = depth.get(n.id);
      const row = rows.get(d) ?? 0;
      rows.set(d, row + 1);
      place.set(n.id, { x: PAD + d * COLUMN, y: PAD + row * ROW });
    }
    const width = PAD * 2 + (Math.max(0, ...depth.values()) * COLUMN) + CARD_WIDTH;
    const height = PAD * 2 + Math.max(1, ...rows.values()) * ROW;
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "hand-edges");
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("aria-hidden", "true");
    const cards = model.nodes.map((n) => card(n, place.get(n.id)));
    el.canvas.replaceChildren(svg, ...cards);
    el.canvas.style.width = `${width}px`;
    el.canvas.style.height = `${height}px`;
    if (!model.nodes.length) {
      const hint = document.createElement("p");
      hint.className = "hint hand-empty";
      hint.textContent = "Add an input from the palette to start.";
      el.canvas.append(hint);
    }
    // Edges: from an operand's card (its right side) to the slot it fills.
    const box = el.canvas.getBoundingClientRect();
    for (const slot of el.canvas.querySelectorAll(".hand-slot[data-from]")) {
      const from = place.get(slot.dataset.from);
      if (!from) continue;
      const s = slot.getBoundingClientRect();
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      const x1 = from.x + CARD_WIDTH;
      const y1 = from.y + 24;
      const x2 = s.left - box.left;
      const y2 = s.top - box.top + s.height / 2;
      path.setAttribute("d", `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`);
      svg.append(path);
    }
  }

  function card(n, at) {
    const div = document.createElement("div");
    div.className = "hand-card";
    div.classList.toggle("selected", keyOf(n) === selected);
    div.dataset.name = n.name ?? "";
    div.dataset.op = n.op;
    div.style.left = `${at.x}px`;
    div.style.top = `${at.y}px`;
    const op = ops.get(n.op);
    const what = n.op === "input" ? `input = ${n.value}` : n.op === "const" ? `constant ${n.value}`
      : op && op.symbol.length <= 2 ? `${op.symbol} ${n.op}` : n.op;
    const head = button("", "hand-node", () => select(keyOf(n)));
    head.dataset.key = `node:${keyOf(n)}`;
    head.setAttribute("aria-pressed", String(keyOf(n) === selected));
    head.setAttribute("aria-label", `${n.name ?? "unnamed"}: ${what}`);
    const name = document.createElement("span");
    name.className = "hand-name";
    name.textContent = n.name ?? "·";
    const kind = document.createElement("span");
    kind.className = "hand-op";
    kind.textContent = what;
    head.append(name, kind);
    head.addEventListener("pointerdown", (event) => startDrag(event, n, head));
    div.append(head);
    if (n.operands.length) {
      const slots = document.createElement("div");
      slots.className = "hand-slots";
      n.operands.forEach((from, position) => {
        const text = from === null ? "?" : label(model, from);
        const slot = button(`${position + 1}: ${text}`, "hand-slot", () => select(keyOf(n)));
        slot.dataset.key = `slot:${keyOf(n)}:${position}`;
        slot.dataset.id = n.id;
        slot.dataset.position = position;
        if (from !== null) slot.dataset.from = from;
        slot.classList.toggle("empty", from === null);
        slot.setAttribute("aria-label", `operand ${position + 1} of ${n.name ?? n.op}: ${from === null ? "not wired" : text}`);
        slots.append(slot);
      });
      div.append(slots);
    }
    if (n.operands.some((o) => o === null)) div.classList.add("unwired");
    return div;
  }

  // Dragging a card: a line follows the pointer; let go over another card's slot to wire it.
  function startDrag(event, n, head) {
    if (event.button !== 0) return;
    const box = el.canvas.getBoundingClientRect();
    const start = { x: event.clientX, y: event.clientY };
    let line = null;
    const move = (e) => {
      if (!line && Math.hypot(e.clientX - start.x, e.clientY - start.y) < 6) return;
      if (!line) {
        line = document.createElementNS("http://www.w3.org/2000/svg", "line");
        line.setAttribute("class", "hand-drag");
        const r = head.getBoundingClientRect();
        line.setAttribute("x1", r.right - box.left);
        line.setAttribute("y1", r.top - box.top + r.height / 2);
        el.canvas.querySelector("svg.hand-edges").append(line);
        el.canvas.classList.add("dragging");
      }
      line.setAttribute("x2", e.clientX - box.left);
      line.setAttribute("y2", e.clientY - box.top);
    };
    const up = (e) => {
      removeEventListener("pointermove", move);
      removeEventListener("pointerup", up);
      el.canvas.classList.remove("dragging");
      if (!line) return; // a click: the button's own handler selects
      line.remove();
      const slot = document.elementFromPoint(e.clientX, e.clientY)?.closest(".hand-slot");
      if (!slot) return say("Let go over an operand slot (the small boxes under a card) to wire it.");
      const suppress = (c) => { c.stopPropagation(); c.preventDefault(); };
      addEventListener("click", suppress, { capture: true, once: true });
      setTimeout(() => removeEventListener("click", suppress, { capture: true }), 0);
      edit((m) => connect(m, n.id, slot.dataset.id, Number(slot.dataset.position)));
    };
    addEventListener("pointermove", move);
    addEventListener("pointerup", up);
  }

  function select(key) {
    selected = selected === key ? null : key;
    connecting = false;
    draw();
  }

  // The selected node's actions: connect to a slot (a list of buttons), rename, value, delete.
  function drawTools() {
    const n = selectedNode();
    if (!n) {
      el.tools.replaceChildren();
      el.tools.hidden = true;
      return;
    }
    el.tools.hidden = false;
    const title = document.createElement("h3");
    title.textContent = `${n.name ?? "unnamed node"} (${n.op === "const" ? "constant" : n.op})`;
    const parts = [title];
    const row = document.createElement("div");
    row.className = "hand-actions";
    const connectButton = button("Connect to…", "hand-connect", () => {
      connecting = !connecting;
      draw();
    });
    connectButton.dataset.key = "connect";
    connectButton.setAttribute("aria-expanded", String(connecting));
    const del = button("Delete", "hand-delete", () => edit((m) => remove(m, n.id), null));
    row.append(connectButton, del);
    parts.push(row);
    if (connecting) {
      const list = document.createElement("ul");
      list.className = "hand-targets";
      list.setAttribute("aria-label", `Operand slots ${label(model, n.id)} can feed`);
      const slots = targets(model, n.id);
      for (const { id, position } of slots) {
        const to = model.nodes.find((m) => m.id === id);
        const filled = to.operands[position];
        const li = document.createElement("li");
        const b = button(`operand ${position + 1} of ${to.name ?? to.op} (${to.op})${filled === null ? "" : `, replacing ${label(model, filled)}`}`,
          "hand-target", () => edit((m) => connect(m, n.id, id, position)));
        b.dataset.key = `target:${id}:${position}`;
        li.append(b);
        list.append(li);
      }
      if (!slots.length) {
        const li = document.createElement("li");
        li.textContent = "No operand slot can take it: add an op first.";
        list.append(li);
      }
      parts.push(list);
    }
    parts.push(field("Name", n.name ?? "", "Rename", (text) => edit((m) => rename(m, n.id, text, ops), text.trim())));
    if (n.op === "input" || n.op === "const") {
      parts.push(field("Value", String(n.value), "Set value", (text) => edit((m) => setValue(m, n.id, Number(text)))));
    }
    el.tools.replaceChildren(...parts);
  }

  function field(name, value, action, apply) {
    const form = document.createElement("form");
    form.className = "hand-field";
    const labelEl = document.createElement("label");
    const input = document.createElement("input");
    input.type = "text";
    input.value = value;
    input.spellcheck = false;
    input.autocomplete = "off";
    input.dataset.key = `field:${name}`;
    labelEl.append(`${name} `, input);
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.textContent = action;
    submit.dataset.key = `submit:${name}`;
    form.append(labelEl, submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      apply(input.value);
    });
    return form;
  }

  const panel = {
    /** The op table (GET /api/v1/ops) the palette offers. */
    setOps(list) {
      ops = opTable(list);
      drawPalette();
      return panel;
    },

    /** Whether the hand view is on. */
    get on() {
      return on;
    },

    /** Turn the hand view on or off. */
    setOn(value) {
      on = value;
      el.toggle.setAttribute("aria-pressed", String(on));
      el.section.hidden = !on;
      callbacks.onToggle(on);
      return panel;
    },

    /** Show a model read back from the program (hand.js's fromAnswer); `editable` false when
     * the program is more than nodes (functions of its own): then say so. */
    show(next, { editable = true } = {}) {
      model = next;
      el.section.classList.remove("stale");
      el.section.classList.toggle("locked", !editable);
      if (!editable) say("This program defines functions: edit it as text.");
      if (selected !== null && !selectedNode()) selected = null;
      draw();
      return panel;
    },

    /** The program in the editor does not run: the cards are the last good program's. */
    setStale(stale) {
      el.section.classList.toggle("stale", stale);
      return panel;
    },
  };
  return panel;
}

// dom.js's button, its class named before its action (as these panels read best).
function button(text, className, onClick) {
  return domButton(text, onClick, className);
}
