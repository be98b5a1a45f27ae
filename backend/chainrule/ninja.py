"""`chainrule.ninja`: backprop ninja in the language (issue 29, item 2). The learner writes,
for each named tensor T of a program, the expression of dL/dT in the language, from the
forward pass's names and the `d<name>` of the tensors after it (`dprobs = dlogprobs / probs`);
each is evaluated (a program of its own, never Python's eval) and the arrays graded as
`chainrule.grade` grades them.

The forward pass runs once; each answer is evaluated with the forward values and the
gradients already computed as its inputs, in an order where every `d<name>` it reads comes
first (the output's own `d<loss>` is the seed, 1). An answer that does not parse, names
something unknown, reads a `d<name>` with no answer (or with an error, or in a cycle), or
gives NaN or Infinity is not graded: its row's verdict is `error`, with the message and the
span in the learner's own text (`error`), and the tensors before it are graded through it
with chainrule's rules, as a missing one is. Each row also carries the learner's text
(`answer`) and chainrule's own rule in the language where one can be written (`reveal`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .analyses.reveal import reveal_rules
from .answer.report import Report
from .core.graph import Node, node_key
from .core.sweeps import backward, forward
from .differentiate import cotangent_seed, without_gc
from .errors import ChainruleError, Deadline
from .grading import graded, renames
from .readers import Read, named_nodes
from .readers.parsing import Program, parse, postorder
from .readers.program import read_program
from .settings import LIMITS, Limits


class _Failed(Exception):
    """An answer that cannot be graded: its row's `error`."""

    def __init__(self, message: str, span: tuple[int, int] | None, kind: str) -> None:
        super().__init__(message)
        self.data: dict[str, object] = {"message": message, "span": None if span is None else list(span),
                     "kind": kind}


@without_gc
def ninja(source: str, answers: Mapping[str, str], values: Mapping[str, object] | None = None,
          *, check: bool | str = False, limits: Limits = LIMITS,
          **named_values: object) -> Report:
    """Grade the learner's gradients of a program's tensors, each written as an expression of
    the language (`{"probs": "dlogprobs / probs"}`, or the whole line `"dprobs = dlogprobs /
    probs"`), from the forward names and the `d<name>` of other answers. Returns the Report
    `chainrule.grade` returns, each row with `answer` (the text), `error` (why it could not be
    evaluated, with the span in that text; its verdict then `error`) and `reveal` (chainrule's
    rule, as a line of the language, or None). A key the program does not name raises
    ChainruleError."""
    read = read_program(source, {**(values or {}), **named_values}, limits,
                        Deadline(limits.max_seconds))
    return _ninja(read, source, answers, {**(values or {}), **named_values}, check, limits)


def ninja_data(source: str, values: Mapping[str, object], answers: Mapping[str, str], *,
               check: bool | str = False, limits: Limits = LIMITS,
               deadline: Deadline | None = None) -> dict[str, object]:
    """`POST /api/v1/ninja`: `ninja`'s report as JSON-ready data."""
    read = read_program(source, values, limits, deadline or Deadline(limits.max_seconds))
    return _ninja(read, source, answers, values, check, limits).to_dict()


def _ninja(read: Read, source: str, answers: Mapping[str, str], values: Mapping[str, object],
           check: bool | str, limits: Limits) -> Report:
    if not isinstance(answers, Mapping):
        raise ChainruleError("answers must be a mapping from a tensor's name to an expression",
                             None, "request")
    graph = read.graph
    aliases = renames(source, limits)
    names = {**read.outputs, **named_nodes(graph), **graph.inputs}
    for alias, name in aliases.items():
        if alias not in names and name in names:
            names[alias] = names[name]
    texts = {_key(key, names): _text(key, text) for key, text in answers.items()}
    computed = forward(graph)
    env: dict[str, object] = {node.name: computed[node.id] for node in graph.nodes
                              if node.name and node.id in computed}
    env.update({name: computed[i] for name, i in names.items() if i in computed})
    env.update(values)  # data as given: index arrays stay integers
    seed = cotangent_seed(graph.nodes[graph.output], None)
    sweep = backward(graph, computed, record=False, seed=seed).grads
    true = {name: np.asarray(sweep[i], dtype=np.float64) if i in sweep
            else np.zeros(graph.nodes[i].shape) for name, i in names.items()}
    grads, errors, stand_ins = _evaluate(texts, names, env, true, limits)
    by_node = {node_key(names[key]): key for key in texts}
    rules = _revealed(reveal_rules(graph, names), graph.nodes, names, env, true, limits)

    def annotate(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            key = by_node.get(row["node"], row["name"])
            row["answer"] = texts.get(key)
            row["error"] = errors.get(key)
            row["reveal"] = rules.get(names.get(row["name"], -1))
            row["stand_ins"] = stand_ins.get(key, [])
            theirs = [d for d in row["stand_ins"] if d[1:] in texts]
            if theirs and row["error"] is None:
                row["hint"] += (f" (evaluated with chainrule's own {', '.join(theirs)}: "
                                "your answer there has an error)")
            if row["error"] is not None:
                row["verdict"] = "error"
                row["hint"] = f"your answer for d{key} cannot be evaluated: " \
                              f"{row['error']['message']}"
    return graded(read, grads, check=check, limits=limits, aliases=aliases, annotate=annotate)


def _revealed(rules: Mapping[int, str], nodes: list[Node], names: Mapping[str, int],
              env: Mapping[str, object], true: Mapping[str, np.ndarray], limits: Limits
              ) -> dict[int, str]:
    """The rules written (by node id) that, evaluated at chainrule's own gradients, give the
    node's gradient (within float64's rounding): a rule is shown only once it is checked."""
    known = {**env, **{f"d{name}": g for name, g in true.items()}}
    named = {i: name for name, i in names.items()}
    kept = {}
    for i, text in rules.items():
        try:
            value = _value(parse(text, limits), text, known, limits)
        except (ChainruleError, _Failed):
            continue
        expected = true[named[i]]
        scale = float(np.max(np.abs(expected), initial=0.0))
        if value.shape == tuple(nodes[i].shape) and np.allclose(
                value, expected, rtol=1e-9, atol=1e-12 * max(scale, 1.0)):
            kept[i] = text
    return kept


def _key(key: object, names: Mapping[str, int]) -> str:
    """An answer's key: a forward name (`probs`; `dprobs` read as probs too)."""
    if not isinstance(key, str):
        raise ChainruleError(f"answers' keys are the tensors' names, not {key!r}", None,
                             "request")
    if key in names:
        return key
    if key.startswith("d") and key[1:] in names:
        return key[1:]
    close = difflib.get_close_matches(key, list(names), n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise ChainruleError(f"answers name {key!r}, which is not a tensor of the forward pass"
                         f"{hint} (its names: {', '.join(list(names)[:30])})", None,
                         "unknown_name")


def _text(key: object, text: object) -> str:
    if not isinstance(text, str):
        raise ChainruleError(f"the answer for {key} is an expression of the language (a str), "
                             f"not {type(text).__name__}", None, "request")
    return text


def _evaluate(texts: Mapping[str, str], names: Mapping[str, int], env: Mapping[str, object],
              true: Mapping[str, np.ndarray], limits: Limits
              ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, object]],
                         dict[str, list[str]]]:
    """Each answer evaluated, the answers it reads first: (arrays by key, errors by key, and
    per key the `d<name>` it read that were chainrule's own, `true`: the output's seed, or a
    gradient with no answer or an answer with an error)."""
    programs: dict[str, Program] = {}
    pending: dict[str, set[str]] = {}
    reads: dict[str, set[str]] = {}
    errors: dict[str, dict[str, object]] = {}
    for key, text in texts.items():
        try:
            programs[key], reads[key] = _parsed(key, text, names, limits)
            pending[key] = reads[key] & texts.keys()
        except (ChainruleError, _Failed) as err:
            errors[key] = _error(err)
    grads: dict[str, np.ndarray] = {}
    stand_ins: dict[str, list[str]] = {}
    total = 0
    while pending:
        ready = [k for k, deps in pending.items() if deps <= grads.keys() | errors.keys()]
        if not ready:  # what is left reads itself in a circle
            for key, deps in pending.items():
                circle = ", ".join(f"d{d}" for d in sorted(deps & pending.keys()))
                errors[key] = {"message": f"it reads {circle}, whose answers read d{key} "
                                          "back: a circle", "span": None, "kind": "cycle"}
            break
        for key in ready:
            del pending[key]
            mine = {f"d{k}": grads[k] for k in reads[key] if k in grads}
            theirs = {f"d{k}": true[k] for k in reads[key] if k not in grads and k in true}
            stand_ins[key] = sorted(theirs)
            try:
                grads[key] = _value(programs[key], texts[key], {**env, **theirs, **mine},
                                    limits)
            except (ChainruleError, _Failed) as err:
                errors[key] = _error(err)
                continue
            total += grads[key].size
            if total > limits.max_total_elements:
                raise ChainruleError(f"the answers hold more than {limits.max_total_elements:,} "
                                     "numbers in all", None, "limit")
    return grads, errors, stand_ins


def _error(err: Exception) -> dict[str, object]:
    if isinstance(err, _Failed):
        return err.data
    assert isinstance(err, ChainruleError)
    return {"message": err.message, "span": None if err.span is None else list(err.span),
            "kind": err.kind}


def _parsed(key: str, text: str, names: Mapping[str, int], limits: Limits
            ) -> tuple[Program, set[str]]:
    """An answer parsed, and the tensors whose `d<name>` it reads."""
    program = parse(text, limits)
    if not program.statements:
        raise _Failed(f"the answer for d{key} is empty", (0, len(text)), "syntax")
    if program.functions:
        raise _Failed("an answer is an expression: no def", (0, len(text)), "syntax")
    last = program.statements[-1]
    if last.target is not None and last.target != f"d{key}" and len(program.statements) == 1:
        raise _Failed(f"this line assigns {last.target}; the answer for {key} is d{key}",
                      last.target_span, "target")
    assigned = {s.target for s in program.statements if s.target is not None}
    return program, {expr.name[1:] for stmt in program.statements
                     for expr in postorder(stmt.expr)
                     if expr.kind == "name" and expr.name.startswith("d")
                     and expr.name not in names and expr.name not in assigned
                     and expr.name[1:] in names}


def _value(program: Program, text: str, known: Mapping[str, object],
           limits: Limits) -> np.ndarray:
    """An answer's array: its text run as a program whose inputs are the names it reads."""
    read_names = {expr.name for stmt in program.statements for expr in postorder(stmt.expr)
                  if expr.kind == "name"}
    values = {name: known[name] for name in read_names if name in known}
    read = read_program(text, values, limits)
    result = np.asarray(forward(read.graph)[read.graph.output], dtype=np.float64)
    if not np.all(np.isfinite(result)):
        flat = int(np.argmin(np.isfinite(result).reshape(-1)))
        at = [int(k) for k in np.unravel_index(flat, result.shape)] if result.ndim else []
        raise _Failed(f"it gives {result.reshape(-1)[flat]} at {at}", (0, len(text)), "value")
    return result
