// The Paths panel: d output / d input as the sum, over every path from the input to the
// output, of the product of the local derivatives along it. Lists the largest paths for a
// chosen input (POST /api/v1/paths), highlights one on the graph, and sets their sum beside
// backprop's gradient, which adds up every path in one pass by factoring.

import { newestRequest, paths as fetchPaths } from "./api.js";
import { formatNumber, groupDigits } from "./format.js";

const AUTO_NODES = 2000; // bigger graphs list their paths on request, not at every run
const LIMIT = 20;

/** The panel on its elements `el` ({wrt, list, summary, more, error}); callbacks:
 * input() -> {source, values} of the last run, onHighlight(path or null) where a path is
 * {nodes, edges} of ids. */
export function createPathsPanel(el, callbacks) {
  const requests = newestRequest();
  let answer = null;
  let chosen = null; // index of the highlighted path
  let ready = null; // the last run's {source, values}

  el.wrt.addEventListener("change", () => load());
  el.more.addEventListener("click", () => load());

  function choose(index) {
    chosen = chosen === index ? null : index;
    for (const [k, b] of [...el.list.querySelectorAll("button")].entries()) {
      b.setAttribute("aria-pressed", String(k === chosen));
    }
    callbacks.onHighlight(chosen === null ? null : answer.paths[chosen]);
  }

  async function load() {
    requests.cancel();
    if (!ready || !el.wrt.value) return;
    clear("Counting the paths…");
    const got = await requests.run(() => fetchPaths(ready.source, ready.values, el.wrt.value, LIMIT));
    if (!got) return;
    if (got.error) {
      clear("");
      el.error.textContent = got.error.message;
      el.error.hidden = false;
      return;
    }
    answer = got.body;
    render(got.body);
  }

  function clear(summary) {
    answer = null;
    chosen = null;
    callbacks.onHighlight(null);
    el.list.replaceChildren();
    el.summary.replaceChildren(summary);
    el.error.hidden = true;
  }

  function render(body) {
    const many = body.count_text === "1" ? "1 path" : `${groupDigits(body.count_text)} paths`;
    const listed = body.complete ? "every one is listed" : `the ${body.paths.length} largest by |product| are listed`;
    const sum = line("Σ products", body.listed_sum, "listed-sum",
      body.complete ? "" : ` (the other paths add ${formatNumber(body.rest_sum)})`);
    const grad = line(`∂L/∂${body.wrt} by backprop`, body.gradient, "paths-gradient", "");
    const head = document.createElement("p");
    head.className = "paths-count";
    head.dataset.count = body.count_text;
    head.textContent = `${many} from ${body.wrt} to the output; ${listed}.`;
    el.summary.replaceChildren(head, sum, grad);
    el.list.replaceChildren(...body.paths.map((p, k) => item(body, p, k)));
  }

  function item(body, p, k) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "path";
    b.setAttribute("aria-pressed", "false");
    b.dataset.product = String(p.product);
    const route = document.createElement("span");
    route.className = "route";
    route.textContent = p.nodes.map((id) => body.labels[id] ?? id).join(" → ");
    const factors = document.createElement("span");
    factors.className = "factors";
    factors.textContent = `${p.factors.map((f) => formatNumber(f)).join(" × ")} = ${formatNumber(p.product)}`;
    b.append(route, factors);
    b.addEventListener("click", () => choose(k));
    li.append(b);
    return li;
  }

  const panel = {
    /** A new run: offer its scalar inputs, and list the paths (at once for small graphs). */
    show(result, values) {
      ready = { source: result.source, values };
      const inputs = result.nodes.filter((n) => n.op === "input" && !n.shape.length).map((n) => n.name);
      const keep = inputs.includes(el.wrt.value) ? el.wrt.value : inputs[0];
      el.wrt.replaceChildren(...inputs.map((name) => new Option(name, name, false, name === keep)));
      el.wrt.disabled = !inputs.length;
      el.more.hidden = !inputs.length;
      requests.cancel();
      if (!inputs.length) return clear("Paths multiply scalar local derivatives: give the program a scalar input.");
      if (result.nodes.length <= AUTO_NODES) return load();
      clear(`A big graph: press List paths to count the paths from ${keep}.`);
      return panel;
    },
  };
  return panel;
}

function line(label, value, cls, extra) {
  const p = document.createElement("p");
  p.className = `paths-line ${cls}`;
  p.dataset.value = String(value);
  const name = document.createElement("span");
  name.textContent = `${label} = `;
  const number = document.createElement("strong");
  number.textContent = formatNumber(value);
  p.append(name, number, extra);
  return p;
}
