"""The Python renderer: any step of a compact answer, spelled out as a record.

The compact answer (columns.py) holds numbers; a record holds them with their sentence and
formulas, written here from the answer's own templates (narration.py) and op table entries.
frontend/src/records.js is the same renderer for the page; tests/test_records_js.py checks that
the two write the same records. The v1 answer (every record of every step) is this renderer
run over the whole compact answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..core.graph import format_number
from ..core.narration import say
from ..core.numbers import decode, encode
from ..core.ops import Formula
from ..core.sweeps import Derivative, short
from ..core.templates import Operand, fill, ref
from .encoding import Records


class Renderer:
    """Records of one compact answer (the dict `run.compact_data` returns, or its JSON)."""

    def __init__(self, answer: Mapping[str, Any]) -> None:
        self.answer = answer
        self.nodes = answer["columns"]["nodes"]
        self.steps = answer["columns"]["steps"]
        self.terms = answer["columns"]["terms"]
        self.kinds = answer["term_kinds"]
        self.ops = answer["ops"]
        self.partial = answer["binding"]["partial"]
        self.output = int(answer["output"]["node"][1:])
        # The columns every formula reads, bound once.
        self.expr, self.expr_latex = self.nodes["expr"], self.nodes["expr_latex"]
        self.precedence = self.nodes["precedence"]
        self.wrong_rules = wrong_rules(answer)

    # ------------------------------------------------------------------- names and formulas

    def ref(self, i: int, wrapped: bool) -> tuple[str, str]:
        """(plain, latex) standing for node i inside a larger formula."""
        return ref(self.expr[i], self.expr_latex[i], self.precedence[i], wrapped)

    def derivative(self, i: int, pos: int, rules: str) -> dict[str, object]:
        """The local derivative d node / d operand: its partial, its rule (from the op's
        `rules`: its `derivs`, or its `kink`'s), the equation."""
        node_inputs = self.nodes["inputs"][i]
        op = self.ops[self.nodes["op"][i]]
        operands = {slot: Operand(self.expr[j], self.expr_latex[j], self.precedence[j])
                    for slot, j in (("y", i), *zip("uvw", node_inputs))}
        template = op["kink"]["rules"][pos] if rules == "kink" else op["derivs"][pos]
        rule = Formula(*fill(Formula(template["plain"], template["latex"]), operands))
        src = node_inputs[pos]
        return Derivative.of(
            (self.ref(i, True)[0], self.ref(i, self.precedence[i] < self.partial)[1]),
            (self.ref(src, True)[0], self.ref(src, self.precedence[src] < self.partial)[1]),
            rule).data()

    def symbol(self, i: int) -> str:
        """The node's shortest mark: an op's symbol, an input's name, a constant's number."""
        op = self.nodes["op"][i]
        if op == "input":
            return self.nodes["name"][i] or self.nodes["expr"][i]  # type: ignore[no-any-return]
        if op == "const":
            return self.nodes["expr"][i]  # type: ignore[no-any-return]
        return self.ops[op]["symbol"]  # type: ignore[no-any-return]

    # ------------------------------------------------------------------- the records

    def node_records(self) -> list[dict[str, object]]:
        """Every node as the v1 answer's `nodes` holds it."""
        n = self.nodes
        return [{
            "id": f"n{i}", "op": n["op"][i], "label": n["name"][i] or self.symbol(i),
            "symbol": self.symbol(i), "name": n["name"][i],
            "inputs": [f"n{j}" for j in n["inputs"][i]],
            "expr": {"plain": n["expr"][i], "latex": n["expr_latex"][i]},
            "span": n["span"][i], "shape": n["shape"][i], "value": n["value"][i],
            "grad": n["grad"][i], "requires_grad": n["requires_grad"][i],
            "generation": n["generation"][i], "consumers": n["consumers"][i],
            "literal": n["literal"].get(str(i)), "params": n["params"].get(str(i)),
        } for i in range(len(n["op"]))]

    def edge_records(self) -> list[dict[str, object]]:
        """Every edge, grouped by source node, then by target and position (as graph.edges)."""
        outgoing: list[list[tuple[int, int]]] = [[] for _ in self.nodes["op"]]
        for dst, inputs in enumerate(self.nodes["inputs"]):
            for pos, src in enumerate(inputs):
                outgoing[src].append((dst, pos))
        edges: list[dict[str, object]] = []
        for src, out in enumerate(outgoing):
            for dst, pos in out:
                edges.append({"id": f"e{len(edges)}", "source": f"n{src}", "target": f"n{dst}",
                              "position": pos})
        return edges

    def forward_records(self) -> list[dict[str, object]]:
        """One record per node, in evaluation order: its op, its inputs, its value, a sentence."""
        n = self.nodes
        return [{"index": i, "node": f"n{i}", "op": op,
                 "inputs": [f"n{j}" for j in n["inputs"][i]], "value": n["value"][i],
                 "text": self.forward_text(i)} for i, op in enumerate(n["op"])]

    def forward_text(self, i: int) -> str:
        """The sentence of node i's forward step."""
        op, name = self.nodes["op"][i], self.ref(i, False)[0]
        if op == "const":
            return say("forward_const", name=name)
        value = short(_decoded(self.nodes["value"][i]))
        if op == "input":
            literal = self.nodes["literal"].get(str(i))
            note = say("override", literal=literal["text"], line=literal["line"]) if (
                literal and literal["overridden"]) else ""
            return say("forward_input", name=name, value=value, override=note)
        return say("forward_op", op=self.ops[op]["name"], name=name, value=value)

    def backward_records(self, start: int = 0, stop: int | None = None
                         ) -> list[dict[str, object]]:
        """The backward steps start to stop (all by default), each with its terms."""
        return list(self.iter_backward_records(start, stop))

    def iter_backward_records(self, start: int = 0, stop: int | None = None
                              ) -> Iterator[dict[str, object]]:
        """`backward_records`, one record at a time (the server encodes them as they come)."""
        count = len(self.steps["node"])
        stop = count if stop is None else min(stop, count)
        bounds = self.steps["term_start"]
        sums: dict[int, Any] = {}  # each operand's gradient so far, in step order
        received: dict[int, int] = {}
        for t in range(bounds[start]):  # the running sums before the first step asked for
            src = self.terms["input"][t]
            c = _decoded(self.terms["contribution"][t])
            with np.errstate(all="ignore"):
                sums[src] = c if src not in sums else sums[src] + c
            received[src] = received.get(src, 0) + 1
        for s in range(start, max(start, stop)):
            i = self.steps["node"][s]
            g = short(_decoded(self.nodes["grad"][i]))
            terms = [self.term(i, t, g, sums, received) for t in range(bounds[s], bounds[s + 1])]
            yield {"index": s, "node": f"n{i}", "seed": i == self.output,
                   "upstream": self.nodes["grad"][i], "terms": terms,
                   "text": " ".join([self.step_text(i, g),
                                     *(str(term["text"]) for term in terms)])}

    def step_text(self, i: int, g: str) -> str:
        """The sentence that opens node i's backward step."""
        name = self.ref(i, True)[0]
        if i == self.output:
            key = "seed_array" if self.nodes["shape"][i] else "seed"
            return say(key, g=g, name=name)
        return say("step_input" if self.nodes["op"][i] == "input" else "step", name=name, g=g)

    def term(self, i: int, t: int, g: str, sums: dict[int, Any],
             received: dict[int, int]) -> dict[str, object]:
        """Term t of node i's step; `sums` and `received` carry the running sums along."""
        src, pos = self.terms["input"][t], self.terms["position"][t]
        contribution_json, local_json = self.terms["contribution"][t], self.terms["local"][t]
        contribution = _decoded(contribution_json)
        before = sums.get(src)
        if before is None:
            after = contribution
        elif before.__class__ is float and contribution.__class__ is float:
            after = before + contribution  # a float sum: the same double as numpy's
        else:
            with np.errstate(all="ignore"):
                after = before + contribution
        sums[src] = after
        received[src] = received.get(src, 0) + 1
        kind = self.kinds[self.terms["kind"][t]]
        derivative = self.derivative(i, pos, kind["rule"])
        node_shape, src_shape = self.nodes["shape"][i], self.nodes["shape"][src]
        fields = {"input": self.ref(src, True)[0], "g": g,
                  "contribution": short(contribution),
                  "rule": derivative["rule"]["plain"],  # type: ignore[index]
                  "op": self.ops[self.nodes["op"][i]]["name"]}
        if local_json is not None:
            fields["local"] = short(_decoded(local_json))
        if "term_vjp" in kind["text"]:
            fields["how"] = self.how(i, pos)
        if "term_kink" in kind["text"]:
            fields["sentence"] = self.kink_sentence(i, pos)
        if "term_rereads" in kind["text"]:
            fields["rereads"] = self.rereads(i, fields["input"])
        if before is not None:
            fields["before"], fields["after"] = short(before), short(after)
        text = "".join(say(key, **fields) for key in kind["text"])
        wrong = self.wrong_rules.get((i, pos))
        if wrong is not None:
            text += wrong_sentence(wrong)
        return {
            "input": f"n{src}", "position": pos, **derivative,
            "local": local_json, "contribution": contribution_json,
            "before": (0.0 if not src_shape else encode(np.zeros(src_shape))) if before is None
            else encode(before),
            "after": encode(after), "accumulated": before is not None,
            "contribution_index": received[src], "consumers": self.nodes["consumers"][src],
            "broadcast": {"from": node_shape, "to": src_shape,
                          "note": say("broadcast_note", **{"from": node_shape, "to": src_shape})}
            if kind["broadcast"] else None,
            "wrong_rule": wrong,
            "text": text + ".",
        }

    def how(self, i: int, pos: int) -> str:
        """How node i's VJP for operand `pos` reads in words: its op's note (a reduction's
        axes filled in), or the generic phrase."""
        op = self.ops[self.nodes["op"][i]]
        notes = op.get("backward") or []
        if pos >= len(notes):
            return say("vjp_generic", op=op["name"])
        axis = (self.nodes["params"].get(str(i)) or {}).get("axis")
        along = say("along_all") if axis is None else say("along_axis", axis=axis) if isinstance(
            axis, int) else say("along_axes", axes=", ".join(str(a) for a in axis))
        return str(notes[pos]).replace("{along}", along)

    def rereads(self, i: int, operand: str) -> str:
        """The places of node i's operand read more than once (a gather's), in words; "" if
        none was."""
        reads = (self.nodes.get("rereads") or {}).get(str(i))
        if not reads:
            return ""
        places = ", ".join(say("reread_place", unit=reads["unit"], place=place, count=count)
                           for place, count in zip(reads["places"], reads["counts"]))
        more = say("reread_more", more=reads["more"]) if reads["more"] else ""
        return say("rereads", places=places, input=operand, more=more)

    def kink_sentence(self, i: int, pos: int) -> str:
        """The convention at node i's kink for operand `pos`, with its one-sided derivatives."""
        op = self.ops[self.nodes["op"][i]]
        kink = op["kink"]
        taken, left, right = self.nodes.get("kink_sides", {}).get(
            str(i), (kink["taken"], kink["left"], kink["right"]))
        sides = say("kink_sides", taken=format_number(taken[pos]),
                    left=format_number(left[pos]), right=format_number(right[pos]))
        point = format_number(self.nodes["kink_point"][str(i)])
        if len(kink["taken"]) == 1:
            return say("kink_unary", op=op["name"], point=point, sides=sides)
        return say("kink_binary", node=self.ref(i, True)[0], where=kink["point"], point=point,
                   sides=sides, input=self.ref(self.nodes["inputs"][i][pos], True)[0])


def wrong_rules(answer: Mapping[str, Any]) -> dict[tuple[int, int], dict[str, object]]:
    """The terms that apply a rule the gradient check found wrong, by (node index, operand
    position), from the check's `rules[].wrong_nodes`: each term's `wrong_rule`."""
    out: dict[tuple[int, int], dict[str, object]] = {}
    for rule in (answer.get("check") or {}).get("rules") or []:
        for at in rule.get("wrong_nodes") or []:
            out[int(at["node"][1:]), rule["position"]] = {
                "primitive": rule["primitive"], "argument": rule["argument"],
                "index": at["index"], "rule": at["rule"], "numeric": at["numeric"]}
    return out


def wrong_sentence(wrong: Mapping[str, Any]) -> str:
    """What a term that applies a wrong rule adds to its sentence: both numbers."""
    index = wrong["index"]
    where = say("rule_where", index="[" + ", ".join(str(k) for k in index) + "]") if index else ""
    return say("term_rule_wrong", rule=short(_decoded(wrong["rule"])), where=where,
               numeric=short(_decoded(wrong["numeric"])))


def _decoded(value: Any) -> np.ndarray | float:
    """`decode`, but a finite number stays a float (what a scalar graph's columns hold): its
    sums and sentences are the same, without a numpy array for each."""
    return value if value.__class__ is float else decode(value)


def spelled_out(answer: Mapping[str, Any], lazy: bool = False) -> dict[str, object]:
    """A compact answer as the v1 answer: nodes, edges, forward and backward steps as records.
    `lazy`: the backward steps as `Records`, rendered while they are encoded, so that an answer
    over its size cap is refused as soon as its bytes pass the cap, not once all are made."""
    renderer = Renderer(answer)
    backward = renderer.iter_backward_records()
    return {
        "source": answer["source"], "output": answer["output"], "seed": answer["seed"],
        "nodes": renderer.node_records(), "edges": renderer.edge_records(),
        "forward": renderer.forward_records(),
        "backward": Records(backward) if lazy else list(backward),
        **{key: answer[key] for key in ("gradients", "check", "warnings", "cost", "tangent",
                                        "jacobian", "groups")},
    }
