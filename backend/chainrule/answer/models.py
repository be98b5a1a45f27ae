"""The compact answer (API v2): its pydantic models, and the result the Python API returns.

Columns, not records: one list per field over the nodes, the backward steps and their terms, with
the op table's entries and the sentence templates sent once (see columns.py). Any record is
rendered from them (records.py): `Answer.backward`, `.forward`, `.nodes` and `.edges` spell out
what the v1 answer holds, on first use.

The library builds the answer itself, so the Python API does not validate it: `Answer.built`
constructs the models field by field (pydantic's `model_construct`), which for columns is a
handful of objects whatever the graph's size.
"""

from __future__ import annotations

import types
import typing
from functools import cache, cached_property
from typing import Any, Literal, Union

import orjson
from pydantic import BaseModel, Field, PrivateAttr

from .records import Renderer, spelled_out
from .schemas import (
    BackwardStep,
    Check,
    Cost,
    EdgeOut,
    Formula,
    ForwardStep,
    Grade,
    Groups,
    Jacobian,
    LiteralOut,
    Memory,
    NodeOut,
    Output,
    Seed,
    Span,
    Tangent,
    Value,
    Warning_,
    _Model,
)


class KinkRules(_Model):
    """An op's kink: where it is, and per operand the convention taken there."""

    point: str = Field(description="Where the kink is, in words: `at 0`, `at a tie`.")
    taken: list[float] = Field(description="Per operand: the local derivative used there.")
    left: list[float] = Field(description="Per operand: the one-sided derivative from the left.")
    right: list[float] = Field(description="Per operand: the one-sided derivative from the "
                               "right.")
    rules: list[Formula] = Field(description="Per operand: the rule used there, as a formula.")


class OpEntry(_Model):
    """What the renderers need of one op-table entry (`/api/v1/ops` has the whole entry)."""

    name: str = Field(description="The op's name, as a node's `op` says it.")
    symbol: str = Field(description="The short mark of its nodes: `+`, `×`, `σ`.")
    elementwise: bool = Field(description="Output element i depends only on input element i.")
    precedence: int = Field(description="How tightly its formula binds: an operand binding less "
                            "tightly is bracketed in it (the answer's `binding.atom`: a call).")
    tight: Literal["u", "v"] | None = Field(description="The slot whose operand is bracketed "
                                            "even at equal precedence, as in a - (b - c); "
                                            "null if none.")
    derivs: list[Formula] = Field(description="Per operand: the local derivative's template, "
                                  "`$u`, `$v` the operands and `$y` the node.")
    backward: list[str] = Field(description="Per operand, how its vector-Jacobian product "
                                "reads in words, where it is not the upstream times a local "
                                "derivative (`{along}`: a reduction's axes); empty if none.")
    kink: KinkRules | None = Field(description="Where its derivative is undefined; null if "
                                   "nowhere.")


class NodeColumns(_Model):
    """One list per field, one entry per node: entry i is node `n<i>` (creation order, which
    is a topological order)."""

    op: list[str] = Field(description="`input`, `const`, or a key of the answer's `ops`.")
    inputs: list[list[int]] = Field(description="The operands' node indices, in order.")
    name: list[str | None] = Field(description="The name given in the source, if any.")
    expr: list[str] = Field(description="How plain formulas refer to the node.")
    expr_latex: list[str] = Field(description="How LaTeX formulas refer to the node.")
    precedence: list[int] = Field(description="How tightly its formula binds (9: an atom, "
                                  "never bracketed; else bracketed inside larger formulas).")
    span: list[Span] = Field(description="Character range [start, end) of its source.")
    shape: list[list[int]] = Field(description="[] for a scalar.")
    value: list[Value] = Field(description="Its value from the forward sweep.")
    grad: list[Value | None] = Field(description="dL/d(node); null where the backward sweep "
                                     "did not reach it.")
    requires_grad: list[bool] = Field(description="Whether it depends on some input.")
    generation: list[int] = Field(description="Layer: 0 for leaves, 1 + deepest operand's.")
    consumers: list[int] = Field(description="Outgoing edges (fan-out when above 1).")
    kink: list[int] = Field(description="0: not on its op's kink; 1: some elements are; 2: "
                            "every element is (the kink's rule is used).")
    kink_point: dict[str, Value] = Field(description="For a node on a kink, by index: its "
                                         "first operand's value there.")
    rereads: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per node whose backward adds up several reads of "
        "one place (a gather, `C[X]`), the first places of its operand read more than once: "
        "`unit` (`row` where whole rows are read, else `element`), `places`, `counts`, and "
        "how many `more` there are.")
    kink_sides: dict[str, list[list[float]]] = Field(
        default_factory=dict, description="For a node on a kink whose numbers depend on its "
        "params or point (leaky_relu's slope, clip's upper bound), by index: [taken, left, "
        "right], each per input; other nodes' are their op's kink's.")
    stands_for: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="By index, for a node of a backward graph built "
        "by `grad(L, x)` (its group's kind is `backward`): {\"role\": ..., \"of\": k}, "
        "k the index of the forward node it stands for; role `seed` (dL/dL, of L), `local` "
        "(a local derivative of node k), `product` (upstream × local, the contribution "
        "to dL/d node k along one edge), `sum` (node k's contributions added, dL/d node k), "
        "`gradient` (grad's value: dL/dx, or the gradients stacked, of x).")
    literal: dict[str, LiteralOut] = Field(description="By index, for an input the source "
                                           "assigns a literal.")
    params: dict[str, dict[str, Any]] = Field(
        description="By index, for a node whose op takes static "
        "params (a reduction's axis, keepdims, ddof; a convolution's or a pooling's "
        "kernel_size, stride, padding): those that differ from the op's defaults, e.g. "
        "{\"axis\": 0, \"keepdims\": true}; axis, stride, padding and kernel_size may be "
        "lists.")


class StepColumns(_Model):
    """The backward steps in order: the nodes the sweep visits, the output first."""

    node: list[int] = Field(description="Step s visits node `node[s]`.")
    term_start: list[int] = Field(description="Step s owns terms term_start[s] to "
                                  "term_start[s + 1] (one more entry than steps).")


class TermColumns(_Model):
    """The backward terms in step order: one per edge the sweep follows back."""

    input: list[int] = Field(description="The operand receiving the contribution.")
    position: list[int] = Field(description="Which operand of the step's node it is.")
    local: list[Value | None] = Field(description="The local derivative d node / d operand as "
                                      "numbers, where it is the whole Jacobian (a scalar node, "
                                      "or an elementwise op without broadcasting); else null.")
    contribution: list[Value] = Field(description="The VJP: what this edge adds to the "
                                      "operand's gradient. Its gradient before and after a "
                                      "term are the running sum of its contributions in step "
                                      "order.")
    kind: list[int] = Field(description="Its kind: an index into the answer's `term_kinds`, "
                            "which says the templates its sentence and formula fill.")


class TermKind(_Model):
    """How a kind of term is written, decided once for both renderers (records.py,
    frontend/src/records.js), which fill its templates with the term's numbers."""

    text: list[str] = Field(description="The sentence templates (keys of the answer's "
                            "`templates`) its text joins, in order: `term_local`, "
                            "`term_broadcast` or `term_vjp`, then `term_kink` on a kink and "
                            "`term_fan_out` when its operand has had a contribution before.")
    rule: Literal["derivs", "kink"] = Field(description="The op's templates its local "
                                            "derivative fills: `derivs`, or `kink` (the "
                                            "kink's rules, where every element sits on it).")
    broadcast: bool = Field(description="Whether broadcasting stretched its operand (its "
                            "record notes the shapes).")


class Binding(_Model):
    """How tightly formulas bind, for the renderers' brackets."""

    atom: int = Field(description="A node whose `precedence` is below it is bracketed inside "
                      "another formula (a name, a number or a call never is).")
    partial: int = Field(description="A partial derivative's LaTeX brackets a node binding "
                         "less tightly than this (a power).")


class Columns(_Model):
    """The graph and both sweeps, as columns."""

    nodes: NodeColumns = Field(description="One entry per node, in creation order.")
    steps: StepColumns = Field(description="One entry per backward step, the output first.")
    terms: TermColumns = Field(description="One entry per term (an edge followed back), in "
                               "step order.")


class Records(_Model):
    """Backward steps spelled out, as the request's `records` asked."""

    start: int = Field(description="The first backward step spelled out.")
    stop: int = Field(description="One past the last (clamped to the number of steps).")
    backward: list[BackwardStep] = Field(description="Steps start to stop, exactly as v1's "
                                         "`backward` holds them.")


class Answer(_Model):
    """One forward and one backward sweep, as columns, and the check (API v2)."""

    version: int = Field(description="2: the compact answer.")
    source: str = Field(description="The program as read (a listing for micrograd's graphs; "
                        "the user's own functions for trace's and torch's); every span points "
                        "into it.")
    output: Output = Field(description="The output node and its value.")
    seed: Seed = Field(description="The cotangent the backward sweep started from.")
    ops: dict[str, OpEntry] = Field(description="The op-table entries the graph uses, by name.")
    binding: Binding = Field(description="How tightly formulas bind, for their brackets.")
    term_kinds: list[TermKind] = Field(description="The kinds of term the answer has, which "
                                       "`columns.terms.kind` refers to.")
    templates: dict[str, str] = Field(description="The sentence templates every step's text "
                                      "is written from (`{slot}`s filled with its numbers).")
    columns: Columns = Field(description="The graph and both sweeps, as columns.")
    groups: Groups | None = Field(description="The tree of groups over the nodes (statements, "
                                  "calls, layers, neurons, samples), as columns.")
    records: Records | None = Field(description="The backward steps `records` asked for, "
                                    "spelled out as in v1; null if none were.")
    gradients: dict[str, Value] = Field(description="dL/d(input) for every input, by name.")
    check: Check | None = Field(description="The gradient check against central "
                                "differences: which one ran (`kind`), over what (`inputs`) "
                                "and why (`reason`); null if not asked.")
    warnings: list[Warning_] = Field(description="What is worth knowing and did not stop the "
                                     "computation: kinks, non-finite values, overrides.")
    cost: Cost = Field(description="Passes each way of differentiating would take.")
    tangent: Tangent | None = Field(description="Forward mode's steps; null in reverse mode.")
    jacobian: Jacobian | None = Field(description="The Jacobian of an array output (or of a "
                                      "scalar output when asked); null otherwise.")
    grade: Grade | None = Field(description="The learner's gradients graded (`chainrule.grade`, "
                                "`POST /api/v1/grade`); null otherwise.")
    memory: Memory | None = Field(None, description="What the tape keeps: the values each "
                                  "backward step reads, when each is held, and the bytes held "
                                  "at every step of both passes (analyses/memory.py).")

    _data: dict[str, Any] | None = PrivateAttr(None)  # what it was built from, if known

    @classmethod
    def built(cls, data: dict[str, Any]) -> Answer:
        """The answer from data the library built itself: constructed, not validated."""
        answer: Answer = _construct(cls, data)
        answer._data = data
        return answer

    @cached_property
    def _json(self) -> dict[str, Any]:
        return self._data or self.model_dump(mode="json", by_alias=True)

    @cached_property
    def _renderer(self) -> Renderer:
        return Renderer(self._json)

    def compact_json(self) -> bytes:
        """The compact answer as JSON, as `POST /api/v2/backprop` sends it (the widget and the
        offline file hold this; frontend/src/answer.js reads it)."""
        return orjson.dumps(self._data if self._data is not None
                            else self.model_dump(mode="json", by_alias=True))

    def spelled_out(self) -> dict[str, Any]:
        """The v1 answer: every node, edge and step as a record (`POST /api/v1/backprop`)."""
        return spelled_out(self._json)

    @cached_property
    def nodes(self) -> list[NodeOut]:
        """Every node as a record (v1's `nodes`)."""
        return [_construct(NodeOut, r) for r in self._renderer.node_records()]

    @cached_property
    def edges(self) -> list[EdgeOut]:
        """Every edge as a record (v1's `edges`)."""
        return [_construct(EdgeOut, r) for r in self._renderer.edge_records()]

    @cached_property
    def forward(self) -> list[ForwardStep]:
        """Every forward step with its sentence (v1's `forward`)."""
        return [_construct(ForwardStep, r) for r in self._renderer.forward_records()]

    @cached_property
    def backward(self) -> list[BackwardStep]:
        """Every backward step with its terms, formulas and sentences (v1's `backward`)."""
        return self.backward_steps()

    def backward_steps(self, start: int = 0, stop: int | None = None) -> list[BackwardStep]:
        """The backward steps start to stop, spelled out."""
        return [_construct(BackwardStep, r)
                for r in self._renderer.backward_records(start, stop)]


def _construct(annotation: Any, data: Any) -> Any:
    """`data` as `annotation` says, models made with `model_construct` (no validation)."""
    if data is None or not _has_model(annotation):
        return data
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = _fields(annotation)
        values = {name: _construct(inner, data[key]) if inner is not None else data[key]
                  for name, key, inner in fields if key in data}
        if len(values) < len(fields) or not _plain(annotation):
            return annotation.model_construct(**values)  # defaults to fill in
        model = annotation.__new__(annotation)  # what model_construct does when all are given
        object.__setattr__(model, "__dict__", values)
        object.__setattr__(model, "__pydantic_fields_set__", set(values))
        object.__setattr__(model, "__pydantic_extra__", None)
        object.__setattr__(model, "__pydantic_private__", None)
        return model
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list:
        return [_construct(args[0], item) for item in data]
    if origin is dict:
        return {key: _construct(args[1], item) for key, item in data.items()}
    models = [a for a in args if _has_model(a)]  # X | None: the model, if data is one
    return _construct(models[0], data) if models and isinstance(data, dict) else data


@cache
def _plain(model: type[BaseModel]) -> bool:
    """Whether a model is made by setting its fields alone: no private attributes, no
    post-init, no extra fields kept, not a root model."""
    return (not model.__private_attributes__ and not model.__pydantic_post_init__
            and not model.__pydantic_root_model__ and model.model_config.get("extra") != "allow")


@cache
def _fields(model: type[BaseModel]) -> list[tuple[str, str, Any]]:
    """A model's fields as (name, key in the data, annotation if a model occurs in it, else
    None): worked out once per model, not once per record (an answer has thousands)."""
    fields: list[tuple[str, str, Any]] = []
    for name, info in model.model_fields.items():
        annotation: Any = info.annotation
        fields.append((name, info.alias or name, annotation if _has_model(annotation) else None))
    return fields


@cache
def _has_model(annotation: Any) -> bool:
    """Whether a model occurs in the annotation (else its data is taken as it is)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    origin = typing.get_origin(annotation)
    if origin in (list, dict, Union, types.UnionType):
        return any(_has_model(a) for a in typing.get_args(annotation))
    return False


class GradeResponse(Grade):
    """The learner's gradients graded (`POST /api/v1/grade`), and the forward pass's answer
    (its `grade` the same rows, for the page's cards)."""

    answer: Answer = Field(description="The compact answer of the forward pass (as `POST "
                           "/api/v2/backprop` answers it), with `grade`.")
