"""Forward mode: the chain rule applied from one input towards the output, one JVP per edge.

Where the reverse sweep carries dL/d(node) from the output back to every input, forward mode
carries d(node)/d(wrt) from one input forward to the output, reading the op table's JVPs. One
pass gives the derivative with respect to one input (along one direction), so a gradient over N
input elements needs N passes, against reverse mode's one.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..core.graph import Graph, Node, node_key
from ..core.numbers import encode
from ..core.sweeps import derivative_formula, local_derivative, short
from ..errors import ChainruleError


def forward_mode(graph: Graph, order: list[Node], values: Mapping[int, np.ndarray],
                 wrt: str) -> dict[str, object]:
    """Seed d(wrt)/d(wrt) = 1 (ones for an array), then one JVP per edge, in evaluation order."""
    if wrt not in graph.inputs:
        known = ", ".join(graph.inputs) or "none"
        raise ChainruleError(f"forward mode: '{wrt}' is not an input of the program (its inputs: "
                             f"{known})", None, "unknown_name")
    seed = graph.node(graph.inputs[wrt])
    tangents: dict[int, np.ndarray] = {seed.id: np.ones(seed.shape)}
    steps = [{"index": 0, "node": node_key(seed.id), "tangent": encode(tangents[seed.id]), "terms": [],
              "text": f"Seed: d{wrt}/d{wrt} = 1 at the input {wrt}. Forward mode starts here and "
                      "applies the chain rule once per edge, from this input towards the output."}]
    with np.errstate(all="ignore"):
        for node in order:
            graph.deadline.check()
            if node.op in ("input", "const") or not any(i in tangents for i in node.inputs):
                continue
            terms, parts = [], []
            tangent = np.zeros(node.shape)
            args = [values[i] for i in node.inputs]
            for pos, src_id in enumerate(node.inputs):
                if src_id not in tangents:
                    continue
                src = graph.node(src_id)
                t_in = tangents[src_id]
                contribution = np.asarray(
                    graph.ops[node.op].jvps[pos](t_in, values[node.id], *args,
                                                 **dict(node.params))).reshape(node.shape)
                tangent = tangent + contribution
                derivative = derivative_formula(graph, node, src, pos, values)
                local = local_derivative(graph, node, src, pos, args, values[node.id])
                parts.append(_product(node, local, t_in))
                terms.append({"input": node_key(src_id), **derivative.data(),
                              "tangent_in": encode(t_in), "contribution": encode(contribution)})
            tangents[node.id] = tangent
            name = node.ref(wrapped=True)[0]
            text = f"d{name}/d{wrt} = {' + '.join(parts)} = {short(tangent)}."
            steps.append({"index": len(steps), "node": node_key(node.id), "tangent": encode(tangent),
                          "terms": terms, "text": text})
    shape = graph.node(graph.output).shape
    out = tangents.get(graph.output, np.zeros(shape))
    return {"wrt": wrt, "seed_note": _seed_note(wrt, seed), "steps": steps,
            "derivative": encode(np.asarray(out).reshape(shape))}


def _product(node: Node, local: np.ndarray | None, t_in: np.ndarray) -> str:
    if local is not None and np.size(local) == 1 and np.size(t_in) == 1:
        return f"{short(local)} × {short(t_in)}"
    return f"(the Jacobian of {node.op} times {short(t_in)})"


def _seed_note(wrt: str, seed: Node) -> str:
    if seed.size == 1 and not seed.shape:
        return (f"The tangent is seeded with d{wrt}/d{wrt} = 1; each step carries "
                f"d(node)/d{wrt} forward, so the last step is d(output)/d{wrt}.")
    return (f"{wrt} has {seed.size} elements: its tangent is seeded with ones over all of "
            f"them, so each step carries the directional derivative along all-ones, and the "
            f"result is the sum of the gradient's elements over {wrt}. One element's derivative "
            f"would need its own pass (seeded with a one at that element): {seed.size} passes "
            f"for the whole gradient.")
