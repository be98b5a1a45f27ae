"""The compact answer's columns: one list per field over the nodes, the steps and the terms.

A network's answer is tens of thousands of nodes: as records it was a dict per node, per step
and per term, each carrying its formulas and sentence. As columns it is a few lists of numbers
(`value[i]`, `grad[i]`, `contribution[t]`), with the strings that repeat (op names, templates)
sent once in small tables; records.py and frontend/src/records.js render any step from them.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..core.graph import Graph, Literal
from ..core.kinks import kink_point
from ..core.numbers import JSONValue, encode
from ..core.ops import ATOM, PARTIAL, Op
from ..core.plan import Plan, Shape
from ..core.sweeps import Sweep, Terms, Values

VERSION = 2


def encode_rows(rows: np.ndarray) -> list[JSONValue]:
    """Each row of a stacked array as the API writes a value (NaN as a string)."""
    if rows.ndim == 1 and bool(np.isfinite(rows).all()):
        return rows.tolist()  # type: ignore[no-any-return]
    if rows.ndim > 1 and bool(np.isfinite(rows).all()):
        return rows.tolist()  # type: ignore[no-any-return]
    return [encode(row) for row in rows]


def _column(plan: Plan, buffers: dict[Shape, np.ndarray],
            nodes: np.ndarray) -> list[JSONValue | None]:
    """A value per node of `nodes`, read from per-shape buffers, in the order given."""
    if len(plan.counts) == 1 and len(nodes) == len(plan.shapes):  # one shape: rows in order
        (shape, buffer), = buffers.items()
        rows = buffer[plan.rows[nodes]]
        return list(encode_rows(rows))
    out: list[JSONValue | None] = [None] * len(nodes)
    shapes = [plan.shapes[i] for i in nodes.tolist()]
    for shape in set(shapes):
        where = [k for k, s in enumerate(shapes) if s == shape]
        rows = buffers[shape][plan.rows[nodes[where]]]
        for k, value in zip(where, encode_rows(rows)):
            out[k] = value
    return out


def node_columns(graph: Graph, values: Values, sweep: Sweep,
                 contribution: list[JSONValue | None] | None = None) -> dict[str, object]:
    """Per node (index i is node `n<i>`): what it is, where it came from, its numbers. A
    gradient that is the one contribution its node received (`contribution`, the terms'
    column) is that contribution's list, the same numbers encoded once."""
    plan = graph.plan
    everyone = np.arange(len(graph.nodes))
    grad: list[JSONValue | None] = [None] * len(graph.nodes)
    shared = {} if contribution is None else _one_contribution(plan, sweep, contribution)
    for i, c in shared.items():
        grad[i] = c
    swept = np.flatnonzero(plan.swept)
    if shared:
        swept = swept[~np.isin(swept, list(shared))]
    for i, g in zip(swept.tolist(), _column(plan, sweep.grads.buffers, swept)):
        grad[i] = g
    consumers = Counter(src for node in graph.nodes for src in node.inputs)
    terms = sweep.terms
    kink = [0] * len(graph.nodes) if terms is None else (
        terms.kink_any.astype(int) + terms.kink_all.astype(int)).tolist()
    return {
        "op": [n.op for n in graph.nodes],
        "inputs": [n.inputs for n in graph.nodes],
        "name": [n.name for n in graph.nodes],
        "expr": [n.bare.plain for n in graph.nodes],
        "expr_latex": [n.bare.latex for n in graph.nodes],
        "precedence": [n.precedence for n in graph.nodes],
        "span": [n.span for n in graph.nodes],
        "shape": [list(n.shape) for n in graph.nodes],
        "value": _column(plan, values.buffers, everyone),
        "grad": grad,
        "requires_grad": [n.requires_grad for n in graph.nodes],
        "generation": plan.generation,
        "consumers": [consumers[n.id] for n in graph.nodes],
        "kink": kink,
        "kink_point": {str(i): kink_point(graph, graph.nodes[i], values)
                       for i, k in enumerate(kink) if k},
        "kink_sides": {str(i): _kink_sides(graph, i, values) for i, k in enumerate(kink)
                       if k and _sided(graph, i)},
        "literal": {str(i): _literal(n.literal) for i, n in enumerate(graph.nodes)
                    if n.literal is not None},
        # An op's static params where they differ from its defaults (`sum(x, axis=0)`).
        "params": {str(i): dict(n.params) for i, n in enumerate(graph.nodes) if n.params},
        "rereads": rereads(graph, values),
        # A backward graph's nodes (`g = grad(L, x)`): what each stands for.
        "stands_for": {str(n.id): {"role": n.stands_for[0], "of": n.stands_for[1]}
                       for n in graph.nodes if n.stands_for is not None},
    }


# How many places a step's narration names that were read more than once.
REREAD_PLACES = 3


def rereads(graph: Graph, values: Values) -> dict[str, dict[str, object]]:
    """Per node whose backward adds up several reads of one place (a gather: C[X] with a row
    of C named twice in X), the first places read more than once: rows of the operand where
    whole rows are read (`C[X]`), else elements; with how many times, and how many more."""
    out: dict[str, dict[str, object]] = {}
    for node in graph.nodes:
        op = graph.ops.get(node.op)
        if op is None or op.rereads is None or not graph.nodes[node.inputs[0]].requires_grad:
            continue
        args = [values[j] for j in node.inputs]
        counts = np.asarray(op.rereads(*args, **dict(node.params)))
        rows = dict(node.params).get("key", "@") == "@" and counts.ndim > 1
        per = counts.reshape(len(counts), -1)[:, 0] if rows else counts
        places = np.argwhere(per > 1)
        if not len(places):
            continue
        shown = places[:REREAD_PLACES]
        out[str(node.id)] = {
            "unit": "row" if rows else "element",
            "places": [p.tolist() if p.size > 1 else int(p[0]) for p in shown],
            "counts": [int(per[tuple(p)]) for p in shown],
            "more": int(len(places) - len(shown))}
    return out


def _one_contribution(plan: Plan, sweep: Sweep, contribution: list[JSONValue | None]
                      ) -> dict[int, JSONValue]:
    """The nodes whose gradient is the one term they received (a node used once: most of a
    network's), equal to its contribution bit for bit: that term's encoded list, by
    node. Encoding and freeing an answer's numbers is a third of from_torch's time on
    makemore; a gradient sent twice was a quarter of them."""
    terms = sweep.terms
    if terms is None or not len(plan.term_input):
        return {}
    counts = np.bincount(plan.term_input, minlength=len(plan.shapes))
    term_of = np.empty(len(plan.shapes), dtype=np.int64)
    term_of[plan.term_input] = np.arange(len(plan.term_input))
    grads, contributions = sweep.grads.buffers, terms.contributions
    shared: dict[int, JSONValue] = {}
    for i in np.flatnonzero((counts == 1) & plan.swept).tolist():
        t = int(term_of[i])
        shape, value = plan.shapes[i], contribution[t]
        if value is not None and (grads[shape][plan.rows[i]].tobytes()
                                  == contributions[shape][plan.term_rows[t]].tobytes()):
            shared[i] = value
    return shared


def _sided(graph: Graph, i: int) -> bool:
    """Whether node i's kink has numbers of its own (its params', its point's: ops.Kink)."""
    kink = graph.ops[graph.nodes[i].op].kink
    return kink is not None and kink.sides is not None


def _kink_sides(graph: Graph, i: int, values: Values) -> list[list[float]]:
    """[taken, left, right], per input, at node i's kink (leaky_relu's slope, clip's bound)."""
    node = graph.nodes[i]
    kink = graph.ops[node.op].kink
    assert kink is not None
    return [list(n) for n in kink.numbers(kink_point(graph, node, values), node.params)]


def _literal(literal: Literal) -> dict[str, object]:
    return {"text": literal.text, "line": literal.line, "span": literal.span,
            "given": None if literal.given is None else encode(literal.given),
            "overridden": literal.overridden}


def step_columns(graph: Graph, sweep: Sweep) -> tuple[dict[str, object], list[dict[str, object]]]:
    """The backward steps (the swept nodes, the output first) and their terms, in step order:
    step s owns terms term_start[s] to term_start[s + 1]; and the kinds of term they are, which
    each term's `kind` points into."""
    plan = graph.plan
    terms = sweep.terms
    assert terms is not None
    count = len(plan.term_node)
    contribution: list[JSONValue | None] = [None] * count
    local: list[JSONValue | None] = [None] * count
    shapes = [plan.shapes[i] for i in plan.term_input.tolist()]
    for shape in set(shapes):
        where = np.array([t for t, s in enumerate(shapes) if s == shape], dtype=np.int64)
        rows = plan.term_rows[where]
        for t, c in zip(where.tolist(), encode_rows(terms.contributions[shape][rows])):
            contribution[t] = c
        with_local = where[terms.has_local[where]]
        for t, v in zip(with_local.tolist(),
                        encode_rows(terms.locals[shape][plan.term_rows[with_local]])):
            local[t] = v
    start = np.searchsorted(-plan.term_node, -plan.steps, side="left")
    codes = _term_codes(graph, plan, terms)
    used, kind = np.unique(codes, return_inverse=True)
    return {
        "steps": {"node": plan.steps.tolist(),
                  "term_start": [*start.tolist(), count]},
        "terms": {"input": plan.term_input.tolist(), "position": plan.term_position.tolist(),
                  "local": local, "contribution": contribution,
                  "kind": kind.reshape(-1).tolist()},
    }, [_term_kind(int(code)) for code in used]


# A term's kind, as a number: its opening sentence (the local derivative, a broadcast rule or a
# VJP) in the low bits, then a flag for each part that may follow.
_OPENING = ("term_local", "term_broadcast", "term_vjp")
_KINK, _FAN_OUT, _BROADCAST_NOTE, _KINK_RULE, _REREADS = 4, 8, 16, 32, 64


def _term_codes(graph: Graph, plan: Plan, terms: Terms) -> np.ndarray:
    """Per term, its kind (`_term_kind` spells it out): decided here once, for both renderers."""
    node, src = plan.term_node, plan.term_input
    kink = terms.kink_any[node].astype(np.int64) + terms.kink_all[node].astype(np.int64)
    shape_id = {shape: k for k, shape in enumerate(dict.fromkeys(plan.shapes))}
    shapes = np.array([shape_id[shape] for shape in plan.shapes], dtype=np.int64)
    ops = [graph.ops.get(op) for op in (n.op for n in graph.nodes)]
    elementwise = np.array([op is not None and op.elementwise for op in ops], dtype=bool)
    has_kink = np.array([op is not None and op.kink is not None for op in ops], dtype=bool)
    adds_reads = np.array([op is not None and op.rereads is not None for op in ops], dtype=bool)
    broadcast = elementwise[node] & (shapes[node] != shapes[src])
    fan_out = np.ones(len(src), dtype=bool)
    fan_out[np.unique(src, return_index=True)[1]] = False  # each operand's first term
    opening = np.where(terms.has_local, 0, np.where(broadcast, 1, 2))
    return (opening + _KINK * (kink > 0) + _FAN_OUT * fan_out + _BROADCAST_NOTE * broadcast
            + _KINK_RULE * ((kink == 2) & has_kink[node])
            + _REREADS * (adds_reads[node] & (plan.term_position == 0)))  # type: ignore[no-any-return]


def _term_kind(code: int) -> dict[str, object]:
    """A term kind: its sentence templates in order, the op's rules its formula fills (`derivs`
    or the kink's), and whether its record carries a broadcast note."""
    return {"text": [_OPENING[code & 3], *(["term_kink"] if code & _KINK else []),
                     *(["term_rereads"] if code & _REREADS else []),
                     *(["term_fan_out"] if code & _FAN_OUT else [])],
            "rule": "kink" if code & _KINK_RULE else "derivs",
            "broadcast": bool(code & _BROADCAST_NOTE)}


# How tightly formulas bind, for the renderers' brackets: below `atom` a node's formula is
# bracketed inside another; a partial's LaTeX brackets what binds less tightly than `partial`
# (after \partial, a power or a function call reads unambiguously without brackets).
BINDING = {"atom": ATOM, "partial": PARTIAL}


def ops_table(graph: Graph) -> dict[str, dict[str, object]]:
    """The op table's entries this graph uses, with what the renderers need of them."""
    used = sorted({n.op for n in graph.nodes} - {"input", "const"})
    return {name: _op(graph.ops[name]) for name in used}


def _op(op: Op) -> dict[str, object]:
    kink = op.kink
    return {
        "name": op.name, "symbol": op.symbol, "elementwise": op.elementwise,
        "precedence": op.precedence, "tight": op.tight,
        "derivs": [{"plain": d.plain, "latex": d.latex} for d in op.derivs],
        "backward": list(op.backward),
        "kink": None if kink is None else {
            "point": kink.point, "taken": list(kink.taken), "left": list(kink.left),
            "right": list(kink.right),
            "rules": [{"plain": r.plain, "latex": r.latex} for r in kink.rules]},
    }
