"""The forward and reverse sweeps, and the records of each of their steps.

The whole engine is micrograd's: visit the nodes in topological order computing values, then in
reverse order call each node's local rule (its VJPs from the op table) and add the contributions
to its inputs' gradients. Both loops are iterative, so depth is no limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .graph import Graph, Node, fill
from .kinks import all_at_kink, kink_mask, sentence
from .ops import OPS, PRECEDENCE, Formula, unbroadcast
from .values import encode, is_number

POW = PRECEDENCE["pow"]
ONE = np.float64(1.0)  # the upstream gradient 1 of a scalar node: a numpy scalar, not an array


def evaluate(graph: Graph, order: list[Node], leaves: Mapping[str, np.ndarray],
             keep: bool = True) -> dict[str, np.ndarray]:
    """Run every op once over batched values (axis 0 is the batch).

    `leaves` gives the batched value of each input; constants use their own value. With
    `keep=False`, a value is dropped as soon as its last consumer has run (the check uses this
    to keep memory to the live values), and only the output is returned.
    """
    remaining = Counter(src for node in order for src in node.inputs)
    values: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for node in order:
            graph.deadline.check()
            if node.op == "input":
                values[node.id] = leaves[node.id]
            elif node.op == "const":
                assert node.const is not None
                values[node.id] = node.const[None]
            else:
                values[node.id] = OPS[node.op].forward(*(values[i] for i in node.inputs))
                if not keep:
                    for src in node.inputs:
                        remaining[src] -= 1
                        if remaining[src] == 0 and src != graph.output:
                            values.pop(src, None)
    return values if keep else {graph.output: values[graph.output]}


def forward(graph: Graph, order: list[Node]) -> dict[str, np.ndarray]:
    """The forward sweep: every node's value (without a batch axis)."""
    leaves = {n.id: n.const[None] for n in order if n.op == "input" and n.const is not None}
    batched = evaluate(graph, order, leaves)
    return {node.id: batched[node.id].reshape(node.shape) for node in order}


@dataclass
class Sweep:
    """What the reverse sweep produced: gradients, and (when recorded) its steps."""

    grads: dict[str, np.ndarray]
    steps: list[dict[str, object]]


def backward(graph: Graph, order: list[Node], values: Mapping[str, np.ndarray],
             record: bool = True, seed: np.ndarray | None = None) -> Sweep:
    """The reverse sweep: seed dL/dL = 1, then the chain rule once per edge, in reverse order.

    For an array output, `seed` is the cotangent s (ones by default, shaped like the output):
    the sweep then differentiates L = sum(s * output), giving s^T J for the Jacobian J.
    With `record=False` only the gradients are computed (the benchmark's numeric sweep).
    """
    out_shape = graph.node(graph.output).shape
    grads: dict[str, np.ndarray] = {
        graph.output: np.ones(out_shape) if seed is None else np.asarray(seed).reshape(out_shape)}
    fan_out = Counter(src for node in order for src in node.inputs)
    received: Counter[str] = Counter()
    steps: list[dict[str, object]] = []
    with np.errstate(all="ignore"):
        for node in reversed(order):
            graph.deadline.check()
            if not node.requires_grad or node.id not in grads:
                continue
            g = grads[node.id]
            terms = []
            if node.inputs:  # once per node: its op's rules, its value and its inputs' values
                vjps, ans = OPS[node.op].vjps, values[node.id]
                args = [values[i] for i in node.inputs]
                kink = kink_mask(node, values) if record else None
            for pos, src_id in enumerate(node.inputs):
                src = graph.node(src_id)
                if not src.requires_grad:
                    continue
                raw = np.asarray(vjps[pos](g, ans, *args))
                contribution = unbroadcast(src.shape, raw)
                before = grads.get(src_id)
                after = contribution if before is None else before + contribution
                grads[src_id] = after
                received[src_id] += 1
                if record:
                    terms.append(_term(graph, node, g, src, pos, args, ans, raw, contribution,
                                       before, after, received[src_id], fan_out[src_id],
                                       kink, values))
            if record:
                steps.append(_step(graph, node, g, terms, len(steps)))
    return Sweep(grads, steps)


def local_derivative(node: Node, src: Node, pos: int, args: list[np.ndarray],
                     ans: np.ndarray) -> np.ndarray | None:
    """d node / d input as numbers: the VJP applied to g = 1, where that is the whole Jacobian
    (a scalar node, or an elementwise op whose input was not broadcast); else None."""
    op = OPS[node.op]
    if node.size == 1:
        local = np.asarray(op.vjps[pos](np.ones(node.shape) if node.shape else ONE, ans, *args))
        return unbroadcast(src.shape, local)
    if op.elementwise and node.shape == src.shape:
        return np.asarray(op.vjps[pos](np.ones(node.shape), ans, *args))
    return None  # a full Jacobian: only its product with the upstream gradient is shown


class Derivative(NamedTuple):
    """A local derivative in its parts: the partial d node / d input, and the rule it equals."""

    partial: Formula
    rule: Formula

    @property
    def equation(self) -> Formula:
        """`partial = rule`, in both notations."""
        return Formula(f"{self.partial.plain} = {self.rule.plain}",
                       f"{self.partial.latex} = {self.rule.latex}")

    def data(self) -> dict[str, object]:
        """The fields a term of the answer carries (schemas.Term, schemas.TangentTerm)."""
        (partial, partial_latex), (rule, rule_latex) = self
        return {"formula": f"{partial} = {rule}", "latex": f"{partial_latex} = {rule_latex}",
                "partial": {"plain": partial, "latex": partial_latex},
                "rule": {"plain": rule, "latex": rule_latex}}


def derivative_formula(graph: Graph, node: Node, src: Node, pos: int,
                       values: Mapping[str, np.ndarray] | None = None,
                       on_kink: bool | None = None) -> Derivative:
    """The local derivative d node / d input, written with the graph's own names: the rule
    actually used at these `values`, which on a kink (relu(0), a tie of max) is the kink's
    (`on_kink`, when the caller knows already whether every element sits on it)."""
    refs = {"y": node}
    for slot, input_id in zip("uv", node.inputs):
        refs[slot] = graph.node(input_id)
    op = OPS[node.op]
    if on_kink is None:
        on_kink = values is not None and op.kink is not None and all_at_kink(node, values)
    rule = fill(op.kink.rules[pos] if on_kink and op.kink else op.derivs[pos], refs)
    # After \partial, a power or a function call reads unambiguously without brackets.
    y_plain, y_latex = node.ref(wrapped=True)[0], node.ref(node.precedence < POW)[1]
    u_plain, u_latex = src.ref(wrapped=True)[0], src.ref(src.precedence < POW)[1]
    partial = Formula(f"d{y_plain}/d{u_plain}",
                      rf"\frac{{\partial {y_latex}}}{{\partial {u_latex}}}")
    return Derivative(partial, rule)


def _term(graph: Graph, node: Node, g: np.ndarray, src: Node, pos: int, args: list[np.ndarray],
          ans: np.ndarray, raw: np.ndarray, contribution: np.ndarray,
          before: np.ndarray | None, after: np.ndarray, nth: int, consumers: int,
          kink: np.ndarray | None, values: Mapping[str, np.ndarray]) -> dict[str, object]:
    """One edge's record: the local derivative (formula and number), the contribution and the
    input's gradient before and after it; `kink` is kink_mask's answer for the node."""
    local = local_derivative(node, src, pos, args, ans)
    derivative = derivative_formula(graph, node, src, pos, values,
                                    on_kink=kink is not None and bool(kink.all()))
    raw_shape, src_shape = list(raw.shape), list(src.shape)
    src_name = src.ref(wrapped=True)[0]
    if local is not None:
        text = f"dL/d{src_name} += {short(g)} × {short(local)} = {short(contribution)}"
    elif raw_shape != src_shape and OPS[node.op].elementwise:
        text = (f"dL/d{src_name} += {short(g)} × {derivative.rule.plain}, summed over "
                f"the axes broadcasting added = {short(contribution)}")
    else:
        text = (f"dL/d{src_name} += the vector-Jacobian product of {node.op} = "
                f"{short(contribution)}")
    if kink is not None:
        text += f"; on a kink: {sentence(node, pos, graph, values)}"
    if before is not None:
        text += f"; fan-out, so it adds up: {short(before)} + {short(contribution)} = {short(after)}"
    return {
        "input": src.id,
        "position": pos,
        **derivative.data(),
        "local": None if local is None else encode(local),
        "contribution": encode(contribution),
        "before": encode(np.zeros(src.shape) if before is None else before),
        "after": encode(after),
        "accumulated": before is not None,
        "contribution_index": nth,
        "consumers": consumers,
        "broadcast": None if raw_shape == src_shape else {
            "from": raw_shape, "to": src_shape,
            "note": f"summed over the broadcast axes, from shape {raw_shape} back to "
                    f"{src_shape}"},
        "text": text + ".",
    }


SHORT_VECTOR = 4  # vectors up to this length are written out in sentences


def short(value: np.ndarray | float) -> str:
    """A number for a sentence: 4 significant digits; a short vector written out; else a shape."""
    if is_number(value):
        return f"{float(value):.4g}"
    array = np.asarray(value)
    if array.size == 1:
        return f"{float(array.reshape(())):.4g}"
    if array.ndim == 1 and array.size <= SHORT_VECTOR:
        return "[" + ", ".join(f"{float(x):.4g}" for x in array) + "]"
    return "an array of shape " + "×".join(map(str, array.shape))


def _step(graph: Graph, node: Node, g: np.ndarray, terms: list[dict[str, object]],
          index: int) -> dict[str, object]:
    seed = node.id == graph.output
    name = node.ref(wrapped=True)[0]
    if seed and node.shape:
        text = (f"Seed: the cotangent {short(g)} at the output {name}, an array: backprop "
                f"differentiates L = sum(seed * {name}), so each input's gradient is seed^T "
                "times the Jacobian, one row of it for a one-hot seed.")
    elif seed:
        text = (f"Seed: dL/dL = 1 at the output {name}. Backprop starts here and applies the "
                "chain rule once per edge, from the output back to the inputs.")
    elif node.op == "input":
        text = f"{name} is an input: all its contributions are in, so dL/d{name} = {short(g)}."
    else:
        text = f"At {name}, the upstream gradient dL/d{name} = {short(g)}."
    text = " ".join([text, *(str(term["text"]) for term in terms)])
    return {"index": index, "node": node.id, "seed": seed, "upstream": encode(g),
            "terms": terms, "text": text}


def forward_steps(graph: Graph, order: list[Node], values: Mapping[str, np.ndarray]
                  ) -> list[dict[str, object]]:
    """One record per node, in evaluation order: its op, its inputs and the value it got."""
    steps = []
    for index, node in enumerate(order):
        name = node.ref(wrapped=False)[0]
        if node.op == "input":
            text = f"Input {name} = {short(values[node.id])}{_override_note(node)}."
        elif node.op == "const":
            text = f"Constant {name}."
        else:
            text = f"{OPS[node.op].name}: {name} = {short(values[node.id])}."
        steps.append({"index": index, "node": node.id, "op": node.op, "inputs": node.inputs,
                      "value": encode(values[node.id]), "text": text})
    return steps


def _override_note(node: Node) -> str:
    """`, overriding the literal -2.0 of line 2` where a given value overrode one."""
    if node.literal is None or not node.literal.overridden:
        return ""
    return f", overriding the literal {node.literal.text} of line {node.literal.line}"
