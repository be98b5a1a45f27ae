"""What reverse mode keeps: which forward values each backward step reads (the tape).

A VJP `vjps[i](g, ans, *args)` is handed the node's output and every input, but most read
only some of them: sin's reads its input (cos x), exp's its output (g * ans), add's none (g
passes through; only the shapes are used, which are not values). What a step reads is read
from the rule itself, as HIPS autograd's rules show it: the parameters its code loads, but
those it loads only to ask their shape (`x.shape`, `b.ndim`: metadata, kept without the
numbers); a parameter handed on to another function counts as read, so the reading errs on
the side of keeping. tests/test_memory.py audits it: every VJP of the table gives the same numbers with
the values it does not read replaced by NaN.
"""

from __future__ import annotations

import dis
import functools
import inspect
from collections.abc import Callable

from .graph import Graph

_METADATA = {"shape", "ndim", "size", "dtype"}  # what a rule may ask without the numbers
_LOADS = {"LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE", "LOAD_FAST_CHECK", "LOAD_FAST_AND_CLEAR",
          "LOAD_FAST_LOAD_FAST"}
OUTPUT = -1  # in a rule's reads: the op's own output (`ans`); inputs by position 0, 1, ...


@functools.cache
def rule_reads(rule: Callable[..., object], arity: int) -> frozenset[int]:
    """The values a VJP (or any rule called as `rule(g, ans, *args)`) reads: OUTPUT for its
    `ans`, and the positions of the inputs it reads; all of them where its code is not
    Python's own (nothing to read it from)."""
    everything = frozenset({OUTPUT, *range(arity)})
    code = getattr(rule, "__code__", None)
    if code is None:
        return everything
    names = list(code.co_varnames[:code.co_argcount])
    loaded: set[str] = set()
    instructions = list(dis.get_instructions(code))
    for ins, after in zip(instructions, [*instructions[1:], None]):
        if ins.opname not in _LOADS:
            continue
        if ins.opname in ("LOAD_FAST", "LOAD_DEREF") and after is not None and \
                after.opname == "LOAD_ATTR" and after.argval in _METADATA:
            continue  # its shape only
        loaded.update(ins.argval if isinstance(ins.argval, tuple) else (ins.argval,))
    if code.co_flags & inspect.CO_VARARGS and code.co_varnames[code.co_argcount] in loaded:
        return everything  # reads its inputs through *args
    slots = [OUTPUT, *range(arity)]  # after g: ans, then the inputs in order
    return frozenset(slot for slot, name in zip(slots, names[1:]) if name in loaded)


def step_reads(graph: Graph) -> dict[int, list[int]]:
    """Per node whose backward step runs a VJP, the ids of the forward values the step reads
    (its own id for its output), for the VJPs it runs: those of the operands that need a
    gradient. A node left out reads nothing."""
    plan = graph.plan
    positions: dict[int, list[int]] = {}
    for node, pos in zip(plan.term_node.tolist(), plan.term_position.tolist()):
        positions.setdefault(node, []).append(pos)
    reads: dict[int, list[int]] = {}
    for i, poss in positions.items():
        node = graph.nodes[i]
        op = graph.ops[node.op]
        slots: set[int] = set()
        for pos in poss:
            slots |= rule_reads(op.vjps[pos], op.arity)
        reads[i] = sorted({node.inputs[s] if s >= 0 else i for s in slots
                           if s < len(node.inputs)})
    return reads
