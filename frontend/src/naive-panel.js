// The two classic mistakes, played: the backward pass replayed the naive way (recursive, each
// node passing its gradient on as soon as it gets one: micrograd's issues #21, #64, #68) and
// twice without zeroing (#2, PR #102), beside the right pass (POST /api/v1/naive). Lists each
// pass's steps (a step selects its node on the graph), marks the step where it parts from the
// right pass with its reason, and sets the final gradients side by side.

import { newestRequest, naive as fetchNaive } from "./api.js";
import { headedTable, rowTitle, scrolling } from "./dom.js";
import { formatShort } from "./format.js";

export const PARTS_MARK = "✗ parts here";
const LIMIT = 200; // steps listed per pass; a window around the parting step beyond
const SAID = 5; // inputs named in a pass's summary

/** The wrong passes and their names, in the order shown. */
const PASSES = [
  { key: "naive", title: "Naive: recursive", short: "naive",
    says: "each node passes its gradient on as soon as it gets one" },
  { key: "twice", title: "backward() twice, not zeroed", short: "twice",
    says: "the second pass, onto the gradients the first one left" },
];

/** The panel on its elements `el` ({naive, twice (checkboxes), children (radios), body, status,
 * error}); callbacks: onMark(Map id -> {text, note, cls}: the cards to mark), onSelect(id or
 * null: the node of the step chosen), onChange({naive, twice, children}: the switches moved). */
export function createNaivePanel(el, callbacks) {
  let ready = null; // the last run's {source, values}
  const requests = newestRequest();
  let answer = null;
  let chosen = null; // {pass, index}

  const settings = () => ({ naive: el.naive.checked, twice: el.twice.checked,
    children: el.children.find((r) => r.checked)?.value ?? "operands" });
  const on = () => el.naive.checked || el.twice.checked;

  for (const input of [el.naive, el.twice, ...el.children]) {
    input.addEventListener("change", () => {
      callbacks.onChange(settings());
      load();
    });
  }

  async function load() {
    requests.cancel();
    if (!ready || !on()) return clear("");
    if (answer && answer.source === ready.source && answer.children === settings().children
      && answer.valuesKey === ready.valuesKey) return render();
    clear("Replaying the backward pass…");
    const { valuesKey } = ready;
    const got = await requests.run(() => fetchNaive(ready.source, ready.values, settings().children));
    if (!got) return;
    if (got.error) return failed(got.error);
    answer = { ...got.body, valuesKey };
    render();
  }

  function failed(error) {
    clear("");
    el.error.textContent = error.message;
    el.error.hidden = false;
  }

  function clear(status) {
    chosen = null;
    el.body.replaceChildren();
    el.body.hidden = true;
    el.status.textContent = status;
    el.error.hidden = true;
    callbacks.onMark(new Map());
  }

  function render() {
    if (!answer || !on()) return clear("");
    const passes = PASSES.filter((p) => el[p.key].checked);
    el.error.hidden = true;
    el.status.textContent = passes.map((p) => summary(answer, p)).join(" ");
    el.body.replaceChildren(gradientTable(answer, passes),
      ...[{ key: "right", title: "Right: reverse topological order", says: answer.right.note }, ...passes]
        .map((p) => passView(p)));
    el.body.hidden = false;
    // Each list opens at its parting step (its list scrolls, the page does not).
    for (const list of el.body.querySelectorAll(".naive-steps")) {
      const parts = list.querySelector("button.parts")?.closest("li");
      if (parts) list.scrollTop = Math.max(0, parts.offsetTop - list.clientHeight / 3);
    }
    callbacks.onMark(marksOf(answer, passes));
  }

  // A pass: its heading, where it parts and why (an icon and words), then its steps.
  function passView(p) {
    const pass = answer[p.key];
    const section = document.createElement("section");
    section.className = `naive-pass naive-${p.key}`;
    const h = document.createElement("h3");
    h.textContent = p.title;
    section.append(h);
    if (pass.parts) {
      const why = document.createElement("p");
      why.className = "naive-reason";
      const icon = document.createElement("span");
      icon.className = "naive-icon";
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = "✗";
      const where = document.createElement("strong");
      where.textContent = `Parts at step ${pass.parts.step + 1} (${pass.parts.name}): `;
      why.append(icon, " ", where, `${pass.parts.reason}.`);
      section.append(why);
    } else {
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = pass.note;
      section.append(note);
    }
    const list = document.createElement("ol");
    list.className = "naive-steps";
    list.setAttribute("aria-label", `${p.title}: steps`);
    const [from, to] = windowOf(pass);
    list.start = from + 1;
    for (let k = from; k < to; k++) list.append(stepItem(p.key, pass, k));
    list.addEventListener("keydown", (event) => moveFocus(list, event));
    section.append(list);
    if (to - from < pass.steps.length || pass.complete === false) {
      const more = document.createElement("p");
      more.className = "hint";
      const total = pass.total_steps ?? String(pass.steps.length);
      more.textContent = `Steps ${from + 1} to ${to} of ${total} listed.`;
      section.append(more);
    }
    return section;
  }

  function stepItem(key, pass, k) {
    const step = pass.steps[k];
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "naive-step";
    b.dataset.node = step.node;
    b.dataset.step = String(k);
    b.setAttribute("aria-pressed", String(chosen?.pass === key && chosen.index === k));
    const name = (id) => answer.labels[id] ?? id;
    const what = document.createElement("span");
    what.className = "naive-what";
    const given = step.contributions.map((c) => `${formatShort(c.value)} to ${name(c.to)}`);
    what.textContent = given.length
      ? `${name(step.node)} (∂ ${formatShort(step.grad)}) passes ${given.join(", ")}`
      : `${name(step.node)} holds ${formatShort(step.grad)}: a leaf, nothing to pass on`;
    b.append(what);
    if (step.visit > 1 || step.stale !== undefined) {
      const extra = document.createElement("span");
      extra.className = "naive-extra";
      extra.textContent = step.stale !== undefined
        ? `left from the first pass: ${formatShort(step.stale)}`
        : `visit ${step.visit}`;
      b.append(extra);
    }
    if (pass.parts?.step === k) {
      b.classList.add("parts");
      b.append(badge(PARTS_MARK, "naive-parts"));
    } else if (step.wrong) {
      b.classList.add("wrong");
      b.append(badge("✗ wrong", "naive-wrong"));
    }
    b.addEventListener("click", () => choose(key, k));
    li.append(b);
    return li;
  }

  function choose(key, k) {
    const same = chosen?.pass === key && chosen.index === k;
    chosen = same ? null : { pass: key, index: k };
    for (const b of el.body.querySelectorAll("button.naive-step")) {
      const mine = Boolean(chosen) && b.closest(`.naive-${chosen.pass}`) && Number(b.dataset.step) === chosen.index;
      b.setAttribute("aria-pressed", String(Boolean(mine)));
    }
    callbacks.onSelect(chosen ? answer[key].steps[k].node : null);
  }

  const panel = {
    /** A new run: replay it if a switch is on. */
    show(result, values) {
      ready = { source: result.source, values, valuesKey: JSON.stringify(values) };
      answer = null;
      requests.cancel();
      load();
      return panel;
    },

    /** Set the switches (from a link) without loading: the run that follows loads. */
    set({ naive = false, twice = false, children = "operands" } = {}) {
      el.naive.checked = naive;
      el.twice.checked = twice;
      for (const r of el.children) r.checked = r.value === children;
      return panel;
    },

    /** The switches: {naive, twice, children}. */
    settings,
  };
  return panel;
}

// One sentence per wrong pass: where it parts, or that it does not, and which inputs end wrong.
function summary(answer, p) {
  const pass = answer[p.key];
  const who = p.key === "naive" ? "The naive pass" : "The second backward()";
  if (!pass.parts) return `${who} never parts from the right one here.`;
  const inputs = new Set(Object.keys(answer.right.gradients));
  const wrong = pass.differs.map((id) => answer.labels[id] ?? id).filter((name) => inputs.has(name));
  const named = wrong.length > SAID ? `${wrong.slice(0, SAID).join(", ")} and ${wrong.length - SAID} more` : wrong.join(", ");
  return `${who} parts at step ${pass.parts.step + 1} (${pass.parts.name})` +
    (wrong.length ? `; ${named} end${wrong.length === 1 ? "s" : ""} wrong.` : ".");
}

// The cards to mark: the node where each wrong pass shown parts.
function marksOf(answer, passes) {
  const marks = new Map();
  for (const p of passes) {
    const parts = answer[p.key].parts;
    if (!parts) continue;
    const text = marks.has(parts.node) || passes.length === 1 || p.key === "naive" ? PARTS_MARK : `${PARTS_MARK} (${p.short})`;
    const before = marks.get(parts.node);
    const note = `The ${p.short} pass parts from the right one here: ${parts.reason}`;
    marks.set(parts.node, { text, cls: "naive-parts", note: before ? `${before.note}. ${note}` : note });
  }
  return marks;
}

// The final gradients: input, right, and each wrong pass shown, the differing ones marked.
function gradientTable(answer, passes) {
  const { table, body } = headedTable(["input", "right", ...passes.map((p) => p.short)], "naive-gradients");
  for (const [name, right] of Object.entries(answer.right.gradients)) {
    const tr = document.createElement("tr");
    tr.dataset.input = name;
    tr.append(rowTitle(name), cell(right, "right", false));
    for (const p of passes) {
      const got = answer[p.key].gradients[name];
      const id = Object.keys(answer.labels).find((k) => answer.labels[k] === name);
      tr.append(cell(got, p.key, answer[p.key].differs.includes(id), right));
    }
    body.append(tr);
  }
  return scrolling(table, "Final gradients of the passes");
}

function cell(value, key, differs, right = null) {
  const td = document.createElement("td");
  td.className = `naive-${key}`;
  td.dataset.value = JSON.stringify(value);
  td.append(formatShort(value));
  if (differs) {
    td.classList.add("differs");
    td.append(" ", badge("✗ differs", "naive-differs"));
    // An array's text is its shape: say by how much it is off.
    if (Array.isArray(value)) td.append(` by up to ${formatShort(maxDiff(value, right))}`);
  }
  return td;
}

// The largest |a − b| over two nested arrays of the same shape.
function maxDiff(a, b) {
  const x = [a].flat(Infinity);
  const y = [b].flat(Infinity);
  let most = 0;
  x.forEach((v, k) => { most = Math.max(most, Math.abs(v - y[k])); });
  return most;
}

function badge(text, cls) {
  const span = document.createElement("span");
  span.className = `naive-badge ${cls}`;
  span.textContent = text;
  return span;
}

// The steps listed: all of them up to LIMIT, else LIMIT around the parting step.
function windowOf(pass) {
  const n = pass.steps.length;
  if (n <= LIMIT) return [0, n];
  const from = Math.max(0, Math.min(n - LIMIT, (pass.parts?.step ?? 0) - LIMIT / 2));
  return [from, from + LIMIT];
}

// Up and down arrows (Home, End) move between a list's steps.
function moveFocus(list, event) {
  const buttons = [...list.querySelectorAll("button.naive-step")];
  const at = buttons.indexOf(document.activeElement);
  if (at < 0) return;
  const next = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  buttons[Math.max(0, Math.min(buttons.length - 1, next))].focus();
}
