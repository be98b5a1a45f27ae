"""The API contract: pydantic models for every request and response (OpenAPI documents them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

from ..settings import LIMITS

# A value: a number, or nested lists of numbers. Non-finite numbers travel as the strings
# "NaN", "Infinity" and "-Infinity" (JSON has no literal for them).
Value = TypeAliasType("Value", float | str | list["Value"])  # type: ignore[misc]
InputValue = TypeAliasType("InputValue", float | list["InputValue"])  # type: ignore[misc]
Span = tuple[int, int]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


OVERRIDES = ("Names whose value in `values` may override a literal the source assigns "
             "(`y = -2.0`). Null (the default): every value may. A value for a literal-assigned "
             "input whose name is not listed is set aside, the literal stands, and the answer "
             "says so (the node's `literal`, a `set_aside` warning).")


class BackpropRequest(_Model):
    """An expression or a multi-line program, and optional values for its inputs."""

    source: str = Field(description="An expression, or lines `name = expression` whose last "
                        "line is the output; functions are `def`s with one `return` line, "
                        "and `@derivative(lambda x: ...)` above one gives it your own "
                        "derivative rule.", examples=["sin(x*y) + x**2"])
    values: dict[str, InputValue] = Field(
        default_factory=dict, description="Values of inputs: numbers or nested lists "
        "(float64 arrays); they override literals such as `x = 1.5` in the source.",
        examples=[{"x": 1.5, "y": 2}])
    check: bool | Literal["auto", "elements", "directions"] = Field(
        True, description="The gradient check against central differences. `elements`: each "
        "input element on its own (2N evaluations for N input elements; an even sample past "
        "the budget). `directions`: random unit directions v per input tensor (one by "
        "default, `check_directions`), "
        "(f(x + hv) - f(x - hv)) / 2h against the gradient's projection, as torch's "
        "`gradcheck(fast_mode=True)` does (2 evaluations a direction; a tensor that disagrees "
        "is then checked element by element). `auto` (or true): `elements` for up to "
        f"{LIMITS.check_elements_up_to} input elements, `directions` above. false: no check.",
        examples=["auto"])
    mode: Literal["reverse", "forward"] = Field(
        "reverse", description="`reverse` (backprop) always; `forward` adds the forward-mode "
        "steps for the input named by `wrt`, in `tangent`.")
    wrt: str | None = Field(None, description="The input forward mode differentiates with "
                            "respect to (required when `mode` is `forward`).")
    seed: InputValue | None = Field(None, description="The cotangent the backward sweep starts "
                                    "from, shaped like the output; default ones (dL/dL = 1 for "
                                    "a scalar output).", examples=[[1, 0]])
    jacobian: bool = Field(False, description="Also answer the Jacobian for a scalar output "
                           "(one row); an array output always answers it.")
    overrides: list[str] | None = Field(None, description=OVERRIDES)
    output: str | None = Field(None, description="The line to differentiate, by the name it "
                               "assigns (`h` for `h = ...`; its last assignment), instead of "
                               "the last line: the backward pass, the check and the cost are "
                               "its. It must be a scalar the program computes; the whole "
                               "program is still evaluated.", examples=["h"])

    # Strict: a boolean is not a number, nor "1.5" or 0 a boolean; the schema says what it takes.
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"source": "sin(x*y) + x**2", "values": {"x": 1.5, "y": 2}}]})


# The largest step index a request may name (no graph has more steps than nodes).
MAX_STEP_INDEX = 2**31 - 1


class CompactRequest(BackpropRequest):
    """What `POST /api/v1/backprop` takes, and the backward steps to spell out."""

    records: list[Annotated[int, Field(ge=0, le=MAX_STEP_INDEX)]] | None = Field(
        None, min_length=2, max_length=2,
        description="[start, stop): also answer these backward steps as records, "
        "exactly as v1's `backward` holds them (in `records`). `start` is at most the number "
        "of backward steps; `stop` past the last step ends at it.", examples=[[0, 3]])

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"source": "sin(x*y) + x**2", "values": {"x": 1.5, "y": 2},
                      "records": [0, 2]}]})


class Formula(_Model):
    """A formula in plain text and in LaTeX."""

    plain: str
    latex: str


class LiteralOut(_Model):
    """A literal the source assigns to an input, and whether a given value overrode it."""

    text: str = Field(description="The literal as typed in the source, e.g. `-2.0`.")
    line: int = Field(description="Its line in the source (1 is the first).")
    span: Span = Field(description="Its character range [start, end) in the source.")
    given: Value | None = Field(description="The value given for the same name in `values`; "
                                "null if none was.")
    overridden: bool = Field(description="True when `given` is in force (the node's value), "
                             "false when the literal is (a given value was then set aside).")


class NodeOut(_Model):
    """One node of the computation graph: an input, a constant or an operation."""

    id: str = Field(description="Stable id, n0, n1, ... in creation order.")
    op: str = Field(description="`input`, `const`, or an operation of `/api/v1/ops`.")
    label: str = Field(description="What the node's card shows: its name, its number, or "
                       "else its op's `symbol`.")
    symbol: str = Field(description="Its shortest mark, for a far-out view of the graph: the "
                        "op's symbol from `/api/v1/ops` (`+`, `×`, `max`, `σ`) even when the "
                        "node is named; an input's name; a constant's number.")
    name: str | None = Field(description="The name given in the source, if any.")
    inputs: list[str] = Field(description="Ids of the operands, in order (may repeat: x*x).")
    expr: Formula = Field(description="How formulas refer to this node.")
    span: Span = Field(description="Character range [start, end) of the source it came from.")
    shape: list[int] = Field(description="[] for a scalar.")
    value: Value
    grad: Value | None = Field(description="dL/d(node); null if the output does not depend "
                               "on it.")
    requires_grad: bool = Field(description="Whether the node depends on some input.")
    generation: int = Field(description="Layer for drawing: 0 for leaves, 1 + deepest input.")
    consumers: int = Field(description="Outgoing edges (fan-out when above 1).")
    literal: LiteralOut | None = Field(description="For an input the source assigns a "
                                       "literal to: that literal and whether `values` "
                                       "overrode it; null otherwise.")
    params: dict[str, object] | None = Field(
        description="Its op's static params that differ from the defaults (a reduction's "
                    "axis, keepdims, ddof: `sum(x, axis=0)`; a convolution's or a pooling's "
                    "kernel_size, stride, padding); null otherwise.")


class EdgeOut(_Model):
    """An edge from an operand to the node that uses it."""

    id: str
    source: str
    target: str
    position: int = Field(description="Which operand of the target this edge feeds.")


class ForwardStep(_Model):
    """One node evaluated, in evaluation order."""

    index: int
    node: str
    op: str
    inputs: list[str]
    value: Value
    text: str = Field(description="One sentence narrating the step.")


class Broadcast(_Model):
    """A contribution that numpy broadcasting stretched, summed back to the input's shape."""

    from_: list[int] = Field(alias="from")
    to: list[int]
    note: str

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LocalDerivative(_Model):
    """An edge's local derivative d node / d input, as its formula writes it."""

    formula: str = Field(description="The local derivative d node / d input, plain text: "
                         "`partial = rule`.")
    latex: str = Field(description="The same formula in LaTeX.")
    partial: Formula = Field(description="The left side alone: d node / d input.")
    rule: Formula = Field(description="The right side alone: the op table's rule for this "
                          "input, written with the graph's names.")


class WrongRule(_Model):
    """The learner's rule against central differences at one term."""

    primitive: str = Field(description="The function whose rule it is.")
    argument: str = Field(description="The parameter the rule differentiates by.")
    index: list[int] = Field(description="The element compared ([] for a scalar).")
    rule: Value = Field(description="What the learner's rule gives there.")
    numeric: Value = Field(description="What central differences give there.")


class Term(LocalDerivative):
    """The chain rule along one edge: upstream × local derivative = contribution."""

    input: str = Field(description="The operand receiving the contribution.")
    position: int
    local: Value | None = Field(description="The local derivative as numbers (the VJP applied "
                                "to 1); null where it is a full Jacobian.")
    contribution: Value = Field(description="The VJP: what this edge adds to dL/d(input).")
    before: Value = Field(description="dL/d(input) accumulated before this edge.")
    after: Value = Field(description="dL/d(input) after adding the contribution.")
    accumulated: bool = Field(description="True when the input already had a contribution "
                              "(fan-out).")
    contribution_index: int = Field(description="1 for the input's first contribution, ...")
    consumers: int = Field(description="How many contributions the input receives in all.")
    broadcast: Broadcast | None
    wrong_rule: WrongRule | None = Field(
        None, description="Where this edge applies a derivative rule of the program's own "
        "that the gradient check found wrong here (the check's `rules[].wrong_nodes`): the "
        "rule's value and the central difference's; null elsewhere.")
    text: str


class BackwardStep(_Model):
    """One node of the reverse sweep: its upstream gradient, then one term per operand."""

    index: int
    node: str
    seed: bool = Field(description="The first step: dL/dL = 1 at the output.")
    upstream: Value = Field(description="dL/d(node), complete when its step comes.")
    terms: list[Term]
    text: str


class CheckEntry(_Model):
    """Backprop against a central difference, for one input element."""

    input: str | None
    node: str
    index: list[int]
    backprop: Value
    numeric: Value
    abs_error: Value
    rel_error: Value
    ok: bool


class WrongRuleNode(_Model):
    """A node whose backward step applies a rule of the program's own that disagrees with
    central differences there: both numbers, at its element that disagrees most."""

    node: str = Field(description="The node (its step's terms for this argument apply the "
                      "rule).")
    index: list[int] = Field(description="The element named ([] for a scalar).")
    rule: Value = Field(description="The learner's rule there: the local derivative the "
                        "backward pass used.")
    numeric: Value = Field(description="The central difference of the function's own body "
                           "there.")


class RuleCheck(_Model):
    """A derivative rule of the program's own (`@derivative(lambda x: ...)` above a def)
    against central differences of its function, for one argument, over every element of
    every node of that primitive whose rule the backward pass used."""

    primitive: str = Field(description="The function with the rule, as its nodes' `op`.")
    argument: str = Field(description="The parameter the rule differentiates by.")
    position: int = Field(description="Its position among the parameters (the operand).")
    node: str = Field(description="The node named: the one holding the element that "
                      "disagrees most (relative to the tolerance), or agrees least well.")
    index: list[int] = Field(description="That element's index in the node's value ([] for "
                             "a scalar).")
    at: dict[str, Value] = Field(description="The arguments there, by parameter name.")
    rule: Value = Field(description="The learner's rule there: the local derivative the "
                        "backward pass used.")
    numeric: Value = Field(description="The central difference (f(x + h) - f(x - h)) / 2h "
                           "of the function's own body there.")
    abs_error: Value = Field(description="|rule - numeric| there.")
    elements: int = Field(description="Elements checked (of every node of the primitive).")
    wrong: int = Field(description="How many of them disagree beyond the tolerance.")
    ok: bool = Field(description="Whether the rule agrees everywhere it was checked.")
    message: str = Field(description="The verdict as a sentence: `your d softplus/dx at x = "
                         "0.3 gives 0.4256, finite differences give 0.5744`.")
    span: Span = Field(description="The source of the node named (to highlight).")
    decorator_span: Span = Field(description="The `@derivative(...)` line of the rule (to "
                                 "highlight).")
    def_span: Span = Field(description="The function's def, through its return expression.")
    wrong_nodes: list[WrongRuleNode] = Field(
        default_factory=list, description="Every node where the rule disagrees, in graph "
        "order: the backward steps that apply a wrong rule (both renderers mark their terms "
        "with `wrong_rule`).")


class DirectionEntry(_Model):
    """Backprop against a central difference along one random unit direction v of one input
    tensor: the gradient's projection ∇f · v against (f(x + hv) - f(x - hv)) / 2h."""

    input: str | None = Field(description="The input tensor's name.")
    node: str = Field(description="Its node.")
    direction: int = Field(description="Which of its directions (0, 1, ...).")
    backprop: Value = Field(description="∇f · v: backprop's gradient projected on v.")
    numeric: Value = Field(description="(f(x + hv) - f(x - hv)) / 2h.")
    abs_error: Value
    rel_error: Value
    ok: bool


class InputCheck(_Model):
    """What the check covered of one input tensor."""

    input: str | None = Field(description="The input's name.")
    node: str = Field(description="Its node.")
    shape: list[int]
    size: int = Field(description="Its elements.")
    directions: int = Field(description="Random directions it was checked along (0 for the "
                            "check element by element).")
    elements_checked: int = Field(description="Its elements checked one by one: all (or a "
                                  "sample) for the check element by element; for the check by "
                                  "directions, those of a tensor whose directions disagreed.")
    ok: bool = Field(description="Whether everything checked of it agrees.")


class Check(_Model):
    """The gradient check: backprop's gradient against central differences, element by element
    (2N evaluations) or along random directions of each input tensor (2 per direction), against
    one forward and one backward pass; and each of the program's own derivative rules against
    central differences of its function."""

    kind: Literal["elements", "directions"] = Field(
        "elements", description="Which check ran: `elements` (each input element on its own) "
        "or `directions` (random unit directions per input tensor).")
    reason: str = Field("", description="Why that one, in a sentence (asked for, or the number "
                        "of input elements against `check_elements_up_to`).")
    method: str
    tolerance: str
    elements: int = Field(description="N: input elements in all.")
    checked: int = Field(description="Input elements the check covered: checked one by one "
                         "(`elements`), or in the tensors whose directions were tried "
                         "(`directions`).")
    complete: bool = Field(description="Whether every input was covered: false when a large N "
                           "was sampled (or tensors left out) to bound the work.")
    evaluations: int = Field(description="Function evaluations this check took (2 per "
                             "checked element, 2 per direction).")
    evaluations_for_all: int = Field(description="2N: the check element by element of all.")
    backprop_passes: dict[str, int]
    max_rel_error: float
    ok: bool = Field(description="Every entry, direction and rule agrees within the "
                     "tolerance.")
    inputs: list[InputCheck] = Field(default_factory=list, description="Per input tensor, what "
                                     "was checked of it and the verdict.")
    directions: list[DirectionEntry] = Field(default_factory=list, description="Per input "
                                             "tensor and direction (`directions` only).")
    entries: list[CheckEntry] = Field(description="Per input element checked one by one.")
    rules: list[RuleCheck] = Field(default_factory=list, description="Per primitive with the "
                                   "learner's own derivative rule, and per argument: the rule "
                                   "against central differences of the function; empty when "
                                   "the program defines none.")


class KinkSide(_Model):
    """One input of a node on a kink: the derivative taken, between the one-sided ones."""

    input: str = Field(description="The operand's node id.")
    taken: float = Field(description="The local derivative the backward sweep used there.")
    left: float = Field(description="The one-sided derivative as this input decreases to the "
                        "point.")
    right: float = Field(description="The one-sided derivative as it increases from the point.")


class KinkOut(_Model):
    """Where an op is not differentiable at the point, and the convention used (op table)."""

    point: str = Field(description="Where the kink is, in words: `at 0`, `at a tie`.")
    elements: int = Field(description="How many of the node's elements sit on it.")
    inputs: list[KinkSide]


class Warning_(_Model):
    """Something worth knowing that did not stop the computation (NaN, unused values...)."""

    kind: str = Field("note", description="What it is about: `override` (a value overrode a "
                      "literal), `set_aside` (a literal stood against a given value), "
                      "`ignored_value`, `unused_value`, `constant_output`, `non_finite`, "
                      "`non_finite_gradient`, `kink` (a derivative taken by convention "
                      "where the op is not differentiable), `limit`, ...")
    message: str
    node: str | None = None
    span: Span | None = None
    kink: KinkOut | None = Field(default=None, description="For a `kink` warning: the "
                                 "convention and the one-sided derivatives, per input.")


class MethodCost(_Model):
    """What one way of computing the derivatives costs."""

    passes: int
    note: str


class FiniteDifferenceCost(MethodCost):
    """Central differences: `passes` and `evaluations` are both 2N."""

    evaluations: int


class Cost(_Model):
    """Passes over the graph each method needs for every derivative of the output."""

    input_elements: int = Field(description="N: input elements in all.")
    outputs: int = Field(description="M: output elements (1 for a scalar).")
    reverse: MethodCost = Field(description="Backprop: 1 forward + M backward passes.")
    forward: MethodCost = Field(description="Forward mode: one pass per input element (N).")
    finite_differences: FiniteDifferenceCost = Field(description="Central differences: 2N "
                                                     "evaluations.")


class TangentTerm(LocalDerivative):
    """The chain rule along one edge in forward mode: local derivative × incoming tangent."""

    input: str = Field(description="The operand whose tangent flows in.")
    tangent_in: Value = Field(description="d(input)/d(wrt).")
    contribution: Value = Field(description="The JVP: what this edge adds to d(node)/d(wrt).")


class TangentStep(_Model):
    """One node of the forward-mode sweep, in evaluation order."""

    index: int
    node: str
    tangent: Value = Field(description="d(node)/d(wrt) along the seed, shaped like the node.")
    terms: list[TangentTerm]
    text: str


class Tangent(_Model):
    """Forward mode: d(node)/d(wrt) carried from the input `wrt` to the output."""

    wrt: str
    seed_note: str
    steps: list[TangentStep] = Field(description="One per node that depends on wrt, "
                                     "in evaluation order; wrt's own step (tangent 1) first.")
    derivative: Value = Field(description="d output / d wrt along the seed.")


class Output(_Model):
    """The output node and its value."""

    node: str
    label: str
    value: Value
    shape: list[int] = Field(description="[] for a scalar output.")


class Seed(_Model):
    """Where the backward sweep starts: the cotangent of the output."""

    value: Value = Field(description="1 for a scalar output; for an array output the request's "
                         "`seed` or ones, shaped like the output.")
    note: str


class JacobianInput(_Model):
    """One input's block of columns in the Jacobian."""

    name: str | None
    shape: list[int]
    offset: int = Field(description="Its first column: its elements, flattened row-major, are "
                        "columns offset .. offset + size - 1.")


class JacobianCost(_Model):
    """The passes the Jacobian takes each way."""

    reverse_passes: int = Field(description="M: one backward pass per output element (a row).")
    forward_passes: int = Field(description="N: one forward-mode pass per input element "
                                "(a column).")
    note: str


class Jacobian(_Model):
    """d output / d inputs: output elements × input elements, computed a row per reverse pass."""

    inputs: list[JacobianInput]
    output_shape: list[int]
    rows: int = Field(description="M: output elements (row-major).")
    columns: int = Field(description="N: input elements, the inputs one after the other.")
    matrix: Value = Field(description="M × N: matrix[i][j] = d output_i / d input element j.")
    cost: JacobianCost


GroupKind = Literal["statement", "function", "layer", "neuron", "sample", "loss",
                    "regularization", "data", "backward"]


class Groups(_Model):
    """The tree of groups over the nodes, as columns: group i is kind[i], name[i], parent[i],
    span[i]. A group is a named part of the computation, from whatever its source knows."""

    kind: list[GroupKind] = Field(description="What each group is: `statement` (a line "
                                  "`name = expression` of more than one node), `function` (a "
                                  "call of a program's own function, or of a Python function "
                                  "inside a traced one), `layer`, "
                                  "`neuron`, `sample` (one sample's part of its parent), "
                                  "`loss` (the data loss), `regularization`, `data` (the "
                                  "samples' inputs) (those five: micrograd networks), `backward` (the backward "
                                  "graph a `grad(L, x)` line builds, named by it).")
    name: list[str] = Field(description="Each group's name: a statement's target, a call as "
                            "`function#k` (its k-th call), a module's place (`layers[1]`, "
                            "`layers[1].neurons[3]`), `sample[k]`, `loss`, ...")
    parent: list[int] = Field(description="The index of the group each group sits in, always "
                              "smaller than its own; -1 at the top.")
    span: list[Span | None] = Field(description="The character range [start, end) of the "
                                    "source each group stands for (a statement's line, a "
                                    "call); null if none.")
    node_group: list[int] = Field(description="For each node (in `nodes` order), the index of "
                                  "the innermost group it belongs to; -1 for none.")


class BackpropResponse(_Model):
    """Every step of one forward and one backward sweep, and the check."""

    source: str
    output: Output
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    forward: list[ForwardStep]
    backward: list[BackwardStep]
    gradients: dict[str, Value] = Field(description="dL/d(input) for every input, by name.")
    check: Check | None
    warnings: list[Warning_]
    cost: Cost
    tangent: Tangent | None = Field(description="Forward mode's steps; null in reverse mode.")
    seed: Seed = Field(description="The cotangent the backward sweep started from.")
    jacobian: Jacobian | None = Field(description="The Jacobian of an array output (or of a "
                                      "scalar output when asked); null otherwise.")
    groups: Groups | None = Field(description="The tree of groups over the nodes (statements, "
                                  "function calls, layers, neurons, samples, loss, ...); null "
                                  "for an answer made without one.")


class PathsRequest(_Model):
    """The sum over paths from one input to the output."""

    source: str = Field(description="The program (scalar nodes between `wrt` and the output).",
                        examples=["a = x*y; b = a + x; b*a"])
    values: dict[str, InputValue] = Field(default_factory=dict, description="Values of inputs.")
    wrt: str = Field(description="The input whose paths to the output are counted and listed.")
    limit: int = Field(20, ge=1, le=LIMITS.max_paths, description="Paths listed at most, "
                       f"largest |product| first (at most {LIMITS.max_paths}).")

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"source": "a = x*y; b = a + x; b*a", "values": {"x": 2, "y": 3},
                      "wrt": "x", "limit": 10}]})


class PathEdge(_Model):
    """An edge on some path from `wrt` to the output, with its local derivative."""

    id: str = Field(description="The edge's id, as in the backprop answer's `edges`.")
    source: str
    target: str
    position: int = Field(description="Which operand of the target this edge feeds.")
    factor: Value = Field(description="The local derivative d target / d source at the point.")


class Path(_Model):
    """One path from `wrt` to the output, and the product of the local derivatives along it."""

    nodes: list[str] = Field(description="Node ids from `wrt` to the output.")
    edges: list[str] = Field(description="Edge ids along the path (one fewer than nodes).")
    positions: list[int] = Field(description="Which operand each edge feeds.")
    factors: list[Value] = Field(description="The local derivative along each edge.")
    product: Value = Field(description="The product of the factors: this path's share of the "
                           "derivative.")


class PathsResponse(_Model):
    """d output / d wrt as a sum over paths, next to backprop's value."""

    source: str
    wrt: str
    output: str = Field(description="The output node's id.")
    count: int | None = Field(description="The exact number of paths from `wrt` to the output "
                              "(a JSON integer of any size; JavaScript's numbers lose digits "
                              "past 2^53, so read `count_text` there). Null past about 4,000 "
                              "digits.")
    count_text: str = Field(description="The same count as decimal digits, exact at any size.")
    gradient: Value = Field(description="d output / d wrt by backprop: the sum over all paths.")
    listed_sum: Value = Field(description="The sum of the listed paths' products.")
    rest_sum: Value = Field(description="gradient - listed_sum: what the paths not listed add.")
    complete: bool = Field(description="Whether every path is listed (then listed_sum is the "
                           "gradient, up to rounding).")
    labels: dict[str, str] = Field(description="How formulas refer to each node on the paths, "
                                   "by id.")
    edges: list[PathEdge] = Field(description="The edges on some path from `wrt` to the output.")
    paths: list[Path] = Field(description="Up to `limit` paths, largest |product| first.")
    note: str


class OptimizeRequest(_Model):
    """Gradient descent on a program's output: a loop that calls backprop once per iteration."""

    source: str = Field(description="The program whose output is minimized.",
                        examples=["(x - 1)**2 + 10*(y + 2)**2"])
    values: dict[str, InputValue] = Field(default_factory=dict, description="Starting values "
                                          "of inputs (they override literals in the source, "
                                          "as `overrides` allows).")
    overrides: list[str] | None = Field(None, description=OVERRIDES)
    inputs: list[str] | None = Field(None, description="Names of the inputs to optimize; "
                                     "default all inputs. The others stay fixed.")
    method: Literal["sgd", "momentum", "adam", "newton"] = Field(
        "sgd", description="`newton`: Newton's method, x -= H⁻¹ g with the Hessian by N "
        "Hessian-vector products (at most 16 input elements), a shift λI where H is not "
        "positive definite (see the answer's `safeguard`).")
    learning_rate: float = Field(0.1, gt=0, allow_inf_nan=False,
                                 description="Not used by newton (its step is the full one).")
    steps: int = Field(50, ge=1, le=1000, description="Iterations after the start.")
    beta: float = Field(0.9, ge=0, lt=1, description="Momentum's decay (Adam's beta1).")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam's second-moment decay.")
    contour: bool = Field(True, description="Compute a contour grid when exactly two of the "
                          "optimized inputs are scalars.")

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"source": "(x - 1)**2 + 10*(y + 2)**2", "values": {"x": 3, "y": 1},
                      "method": "momentum", "learning_rate": 0.02, "steps": 60}]})


class Iteration(_Model):
    """The point reached after k steps: its output and the gradient there (used for step k+1)."""

    k: int
    output: Value
    values: dict[str, Value] = Field(description="The optimized inputs' values, by name.")
    gradients: dict[str, Value] = Field(description="d output / d input at these values, "
                                        "computed by one backprop.")
    hessian: Value | None = Field(None, description="Newton's method only (null for the "
                                  "others): the N × N Hessian at these values, the optimized "
                                  "inputs flattened one after the other in `inputs` order.")
    shift: float | None = Field(None, description="Newton's method only: the λ added to the "
                                "Hessian's diagonal for the step from here (0: none).")
    safeguarded: bool | None = Field(None, description="Newton's method only: whether the "
                                     "Hessian was not positive definite here, so shifted.")


class Contour(_Model):
    """The output over a grid of two scalar inputs, for drawing the path on its landscape."""

    x: str
    y: str
    xs: list[float]
    ys: list[float]
    z: list[list[float | str]] = Field(description="z[i][j]: the output at ys[i], xs[j] "
                                       "(NaN and infinities as strings).")
    note: str


class OptimizeResponse(_Model):
    """The descent's loss curve, its iterations, and the landscape when it is two-dimensional."""

    method: str
    learning_rate: float
    steps: int
    inputs: list[str]
    losses: list[Value] = Field(description="The output at every iteration k = 0 .. steps "
                                "(fewer if stopped early): the loss curve.")
    iterations: list[Iteration] = Field(description="k = 0 .. steps (fewer if stopped early); "
                                        "when the optimized inputs are large, an even sample "
                                        "of them, first and last included (see `thinned`).")
    thinned: str | None = Field(description="Null when `iterations` holds every iteration; "
                                "otherwise which ones it holds, and why.")
    contour: Contour | None
    note: str
    safeguard: str | None = Field(None, description="Newton's method only: what its step "
                                  "does where the Hessian is not positive definite.")
    warnings: list[Warning_]


class OpKink(_Model):
    """Where an op is not differentiable, and the convention its VJPs follow there."""

    point: str = Field(description="Where, in words: `at 0`, `at a tie`.")
    rules: list[Formula] = Field(description="Per input: the local derivative taken there.")
    taken: list[float] = Field(description="Per input: its value.")
    left: list[float] = Field(description="Per input: the one-sided derivative from the left.")
    right: list[float] = Field(description="Per input: the one-sided derivative from the right.")


class OpOut(_Model):
    """One primitive operation of the op table."""

    name: str
    arity: int
    symbol: str = Field(description="The short label of its nodes: `+`, `×`, `max`, `σ`.")
    syntax: Literal["function", "infix", "prefix", "postfix"]
    expr: Formula
    derivatives: list[Formula] = Field(description="d y / d input for each input.")
    elementwise: bool
    description: str
    kink: OpKink | None = Field(description="Where its derivative is undefined (abs, relu at "
                                "0; max, min at a tie) and the convention there; null if none.")
    params: dict[str, object] = Field(description="Its static params and their defaults, "
                                      "written as keywords (`sum(x, axis=0)`): axis, keepdims, "
                                      "ddof for the reductions; stride, padding for the "
                                      "convolutions; kernel_size (no default: required), "
                                      "stride (None: kernel_size), padding for the poolings; "
                                      "empty for the others.")


class Example(_Model):
    """An expression of the gallery."""

    title: str
    source: str
    values: dict[str, InputValue] = Field(default_factory=dict)
    description: str
    check_passes: bool = Field(True, description="Whether its finite-difference check passes: "
                               "false for an example whose own derivative rule is wrong on "
                               "purpose.")
    ninja: bool = Field(False, description="Whether the gallery offers it as a backprop-ninja "
                        "exercise: the learner writes each tensor's gradient (`/api/v1/ninja`).")
    hessian: dict[str, Any] | None = Field(None, description="For a second-order example: "
                                           "what `/api/v1/hessian` takes besides its source "
                                           "and values (`wrt`, `v`, `output`): the Hessian-vector "
                                           "products both ways, and the Hessian they fill.")
    optimize: dict[str, Any] | None = Field(None, description="For an optimizer example: the "
                                            "settings of `/api/v1/optimize` besides its source "
                                            "and values (`method`, `learning_rate`, `steps`, "
                                            "`inputs`); `compare`: another method's settings "
                                            "to run beside it (Newton beside gradient descent).")


class ErrorDetail(_Model):
    """What went wrong, in words, and where in the source."""

    message: str
    kind: str
    span: Span | None = Field(description="Character range [start, end) of the source, "
                              "where the problem lies there.")


class ErrorResponse(_Model):
    """The body of every 4xx answer."""

    error: ErrorDetail


class HealthResponse(_Model):
    """Whether the server can compute (`GET /healthz`): its worker processes and its queue."""

    status: Literal["ok", "stuck", "broken"] = Field(description="`ok`; `stuck` when a "
                                                     "request has been admitted longer than "
                                                     "any can be; `broken` when the workers "
                                                     "cannot be started (both answered 503)")
    workers: int = Field(description="worker processes, one computation each at a time")
    busy: int = Field(description="workers computing")
    waiting: int = Field(description="requests admitted, waiting for a worker")
    queue: int = Field(description="requests that may wait; beyond, 429 `busy`")
    accepting: bool = Field(description="whether a computing request would be admitted now")
    oldest_request_seconds: float = Field(description="how long the oldest admitted request "
                                          "has waited and computed")
    deadline_seconds: float = Field(description="each computation's deadline; its worker is "
                                    "killed 1 s past it")


class MethodsRequest(_Model):
    """A small scalar program, and values for its inputs: the three ways to differentiate it."""

    source: str = Field(examples=["x = 1.5\ny = -2.0\nz = 0.5\nf = (x*y + sin(x)) * exp(z*x)"])
    values: dict[str, InputValue] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", strict=True)


class SymbolicOut(_Model):
    """The derivative by sympy: the formula, its size written out, and its value."""

    derivative: str = Field(description="sympy's formula (cut past 400 characters).")
    size: int = Field(description="Nodes of the formula written out as a tree: the swell.")
    size_cse: int | None = Field(description="The same after common subexpressions are "
                                 "shared (sympy's cse); null when too large to try.")
    value: Value | None = Field(description="The formula at the point; null where sympy "
                                "leaves it undefined (a kink).")


class FiniteDifferencesOut(_Model):
    """Forward and central differences over step sizes h, errors against backprop."""

    h: list[float] = Field(description="Step sizes, 1e-1 down to 1e-13.")
    forward_error: list[Value] = Field(description="|(f(x + h) - f(x)) / h - backprop|.")
    central_error: list[Value] = Field(description="|(f(x + h) - f(x - h)) / 2h - backprop|.")


class MethodInput(_Model):
    """The three ways, for one input."""

    name: str
    backprop: Value = Field(description="d output / d input by backprop.")
    symbolic: SymbolicOut
    finite_differences: FiniteDifferencesOut


class MethodsCost(_Model):
    """What each way costs for all the inputs."""

    backprop: FiniteDifferenceCost
    finite_differences: FiniteDifferenceCost
    symbolic: FiniteDifferenceCost


class MethodsResponse(_Model):
    """Symbolic, finite differences and backprop, side by side."""

    source: str
    output: Value
    graph_operations: int = Field(description="Operations in the graph: backprop's one pass "
                                  "visits each once, to compare with the formulas' sizes.")
    inputs: list[MethodInput]
    cost: MethodsCost


# ---- The two classic mistakes played (analyses/naive.py)


class NaiveRequest(_Model):
    """A program whose backward pass is played three ways: right, naive, twice."""

    source: str = Field(description="The program (scalars or arrays).",
                        examples=["a = x; b = a + a; c = b + b"])
    values: dict[str, InputValue] = Field(default_factory=dict, description="Values of inputs.")
    children: Literal["operands", "distinct"] = Field(
        "operands", description="What the naive recursion visits after a node: its operands "
        "one per edge (`b + b` reaches b twice, as in micrograd PR #64), or each distinct "
        "operand once (micrograd's `_prev = set(_children)`, in operand order).")

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"source": "a = x; b = a + a; c = b + b", "values": {"x": 1}}]})


class Contribution(_Model):
    """What a step's rule passes to one operand, and that operand's gradient after it."""

    to: str = Field(description="The operand's node id.")
    position: int = Field(description="Which operand of the step's node it is.")
    value: Value = Field(description="The contribution: the node's gradient times the local "
                         "derivative (the op's VJP), summed back to the operand's shape.")
    after: Value = Field(description="The operand's running gradient once it is added.")


class NaiveStep(_Model):
    """One run of a node's rule: the gradient it holds, passed on to its operands."""

    node: str = Field(description="The node whose rule runs.")
    grad: Value = Field(description="The gradient it holds and passes on.")
    contributions: list[Contribution]
    visit: int | None = Field(None, description="Naive pass: the how-many-th time the "
                              "recursion reaches this node.")
    depth: int | None = Field(None, description="Naive pass: the recursion's depth (0 at the "
                              "output).")
    caller: int | None = Field(None, description="Naive pass: the index of the step whose "
                               "recursion reached this node (null at the output).")
    stale: Value | None = Field(None, description="Second pass: the gradient the first pass "
                                "left on this node (the output's is set to 1 again).")
    wrong: bool | None = Field(None, description="Naive and second pass: its contributions "
                               "differ from the right pass's at this node.")


class Parting(_Model):
    """The first step where a pass parts from the right one, and why."""

    step: int = Field(description="The index of the step in this pass's `steps`.")
    node: str
    name: str = Field(description="How the reason names the node.")
    got: Value = Field(description="The gradient the node has passed on by this step, in all "
                       "(its gradient each time its rule ran, added up).")
    right: Value = Field(description="Its gradient by the right pass.")
    reason: str = Field(description="Why, in words.")


class PassOut(_Model):
    """One pass: its steps in order and the gradients it ends with."""

    steps: list[NaiveStep]
    gradients: dict[str, Value] = Field(description="Each input's gradient at the end, by name.")
    node_gradients: dict[str, Value] = Field(description="Each node's gradient at the end, "
                                             "by id (the nodes on the way to the output).")
    note: str


class ComparedPass(PassOut):
    """A mistaken pass, compared with the right one."""

    complete: bool = Field(description="False when the naive recursion was stopped at "
                           "`max_steps` (or at the numbers' limit): its gradients are those it "
                           "had then.")
    total_steps: str = Field(description="The steps the whole pass takes, as decimal digits "
                             "(exact, counted without running it: 2^40 and more).")
    parts: Parting | None = Field(description="Where it first parts from the right pass; null "
                                  "if it never does.")
    differs: list[str] = Field(description="Node ids whose final gradient differs from the "
                               "right one.")


class NaiveResponse(_Model):
    """The backward pass right, by the naive recursion and twice without zeroing."""

    source: str
    output: str = Field(description="The output node's id.")
    labels: dict[str, str] = Field(description="How the reasons name each node, by id.")
    children: Literal["operands", "distinct"]
    max_steps: int = Field(description="The naive recursion's steps at most.")
    right: PassOut = Field(description="Reverse topological order, each rule once.")
    naive: ComparedPass = Field(description="`backward()` calling itself on each child.")
    twice: ComparedPass = Field(description="A second `backward()` without zeroing: its steps, "
                                "each adding onto the first's gradients.")


# ---- grading a learner's gradients (POST /api/v1/grade, chainrule.grade)

Verdict = Literal["exact", "approx", "wrong", "shape", "missing", "error"]


class GradeRequest(_Model):
    """A program, values for its inputs, and the learner's gradients of its tensors by name."""

    source: str = Field(description="The forward pass: a program of the language (its last "
                        "line the loss).", examples=["a = x * y\nb = sin(a)\nL = b * x"])
    values: dict[str, InputValue] = Field(default_factory=dict, description="Values of inputs: "
                                          "numbers or nested lists (float64 arrays).")
    grads: dict[str, InputValue] = Field(
        description="The learner's dL/dT by name: an input's or a line's (its last "
        "assignment), each a number or nested lists shaped like the tensor. Tensors left out "
        "are `missing`, and graded through with chainrule's own rules.",
        examples=[{"b": 2.0, "a": -0.8}])
    check: bool | Literal["auto", "elements", "directions"] = Field(
        False, description="The answer's gradient check against central differences, as "
        "`/api/v1/backprop` takes it (off by default: chainrule's gradient is the reference).")

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"source": "a = x * y\nb = sin(a)\nL = b * x", "values": {"x": 1, "y": 2},
                      "grads": {"b": 1.0, "a": -0.4161, "x": 0.077, "y": -0.4161}}]})


class NinjaRequest(_Model):
    """A program, values for its inputs, and the learner's gradients of its tensors, each
    written as an expression of the language (backprop ninja)."""

    source: str = Field(description="The forward pass: a program of the language (its last "
                        "line the loss).", examples=["a = x * y\nb = sin(a)\nL = b * x"])
    values: dict[str, InputValue] = Field(default_factory=dict, description="Values of inputs: "
                                          "numbers or nested lists (float64 arrays).")
    answers: dict[str, str] = Field(
        description="The learner's dL/dT by the tensor's name (an input's or a line's), each an "
        "expression of the language reading the forward names and the `d<name>` of other "
        "answers (`dlogprobs / probs`), or the whole line (`dprobs = dlogprobs / probs`); the "
        "output's own `d<name>` is 1. Tensors left out are `missing`.",
        examples=[{"b": "dL * x", "a": "db * cos(a)"}])
    check: bool | Literal["auto", "elements", "directions"] = Field(
        False, description="The answer's gradient check, as `/api/v1/grade` takes it.")

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"source": "a = x * y\nb = sin(a)\nL = b * x", "values": {"x": 1, "y": 2},
                      "answers": {"b": "dL * x", "a": "db * cos(a)", "x": "da * y + b",
                                  "y": "da * x"}}]})


class GradeVerdict(_Model):
    """One gradient compared with what it should be."""

    verdict: Verdict = Field(description="`exact` (equal element for element), `approx` "
                             "(within `tolerance`), `wrong`, `shape` (not the tensor's "
                             "shape), `missing` (not given) or, in ninja mode, `error` (the "
                             "expression given could not be evaluated: see the row's `error`).")
    max_diff: Value | None = Field(description="max |yours - expected| (null for `shape` and "
                                   "`missing`).")
    index: list[int] | None = Field(description="For `wrong`: the worst element (furthest "
                                    "past the tolerance).")
    yours: Value | None = Field(description="For `wrong`: your number there.")
    expected: Value | None = Field(description="For `wrong`: the number expected there.")


class GivenUpstream(GradeVerdict):
    """The gradient compared with the chain rule applied to the learner's own gradients of the
    nearest given tensors downstream (the output's seed where a path reaches it directly)."""

    from_: list[str] = Field(alias="from", description="The given tensors whose gradients "
                             "it was computed from.")
    through: list[str] = Field(description="Named tensors passed through with chainrule's own "
                               "rules (not given, or given in a wrong shape).")
    seed: bool = Field(description="Whether some path reaches the output's seed directly.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AnswerError(_Model):
    """Why a learner's expression (ninja mode) could not be evaluated."""

    message: str
    span: list[int] | None = Field(description="[start, end) in the learner's own text, where "
                                   "known.")
    kind: str = Field(description="`syntax`, `unknown_name`, `unanswered` (a d-name with no "
                      "answer), `dependency` (it reads an answer with an error), `cycle`, "
                      "`target` (a line assigning another name), `value` (NaN or Infinity), "
                      "or another error kind of the language.")


class GradeRow(GradeVerdict):
    """One named tensor's grade, against chainrule's gradient and given its upstream."""

    name: str = Field(description="The learner's name for the tensor.")
    node: str = Field(description="Its node's id in the answer (`n<k>`).")
    shape: list[int] = Field(description="The tensor's shape (its gradient's).")
    given_shape: list[int] | None = Field(description="The shape of the gradient given; null "
                                          "if missing.")
    hint: str = Field(description="In words: right; right from your upstream (the mistake is "
                      "further up); your rule wrong here, with the worst element; the "
                      "sum or broadcast a wrong shape missed.")
    given_your_upstream: GivenUpstream
    answer: str | None = Field(None, description="Ninja mode (`/api/v1/ninja`): the learner's "
                               "expression for this gradient, as typed; null if none.")
    error: AnswerError | None = Field(None, description="Ninja mode: why the expression could "
                                      "not be evaluated (the verdict is then `error`).")
    stand_ins: list[str] = Field(default_factory=list, description="Ninja mode: the "
                                 "`d<name>` the expression read that were chainrule's own: "
                                 "the output's seed, or a gradient with no answer or an "
                                 "answer with an error.")
    reveal: str | None = Field(None, description="Ninja mode: chainrule's own rule for this "
                               "gradient as a line of the language (`dprobs = dlogprobs / "
                               "probs`), where one can be written; else null.")


class GradeTolerance(_Model):
    """|yours - expected| <= rtol |expected| + atol max(scale, max |expected|)."""

    rtol: float
    atol: float
    scale: Value = Field(description="The largest |gradient| of chainrule's backward pass.")
    precision: Literal["float64", "float32"] = Field(description="float32 where the forward "
                                                     "pass or the gradients were narrower.")


class Grade(_Model):
    """Every named tensor's grade in backward order, and the first wrong given its upstream."""

    rows: list[GradeRow]
    first_wrong: str | None = Field(description="The name of the first row (backward order) "
                                    "wrong or misshapen given its own upstream: where the "
                                    "learner's rule is wrong; null if none is.")
    tolerance: GradeTolerance


# ---------------------------------------------------------------- second order (issue 30)
class HessianRequest(_Model):
    """A scalar program: its Hessian by N Hessian-vector products each way."""

    source: str = Field(examples=["sin(x*y) + x**2"])
    values: dict[str, InputValue] = Field(default_factory=dict, description="Values of inputs.")
    wrt: list[str] | None = Field(None, description="The inputs differentiated (their elements "
                                  "one after the other make the N); default every input.")
    v: InputValue | None = Field(None, description="A direction (N numbers): H v both ways.")
    output: str | None = Field(None, description="A line's name, a scalar, to differentiate "
                               "instead of the last.")

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"source": "sin(x*y) + x**2", "values": {"x": 0.7, "y": 1.3},
                      "v": [1, 2]}]})


class HessianColumn(_Model):
    index: int = Field(description="j: the column H e_j, one HVP each way.")
    forward_over_reverse: Value
    reverse_over_reverse: Value
    difference: float = Field(description="The largest |difference| of the two ways.")


class HessianWrt(_Model):
    name: str
    shape: list[int]
    offset: int = Field(description="Its first element's place among the N.")


class HessianHvp(_Model):
    v: Value
    forward_over_reverse: Value
    reverse_over_reverse: Value


class HessianResponse(_Model):
    """The Hessian filled column by column, each column an HVP both ways, with their cost."""

    source: str
    output: str
    value: float
    wrt: list[HessianWrt]
    size: int = Field(description="N: the elements differentiated.")
    gradient: Value = Field(description="dL/dx, the N numbers (the backward graph's values).")
    hessian: Value = Field(description="N × N: hessian[i][j] = d²L / dx_i dx_j.")
    symmetric: bool
    columns: list[HessianColumn]
    cost: dict[str, Any] = Field(description="Per way (`forward_over_reverse`, "
                                 "`reverse_over_reverse`): one HVP's `passes`, `nodes` swept "
                                 "and `peak_alive` (arrays alive at once); `graph`: the "
                                 "forward and backward nodes; `hessian_hvps`: N.")
    kinks: list[dict[str, Any]] = Field(description="The forward nodes on their op's kink "
                                        "at this point (`node`, `op`, `point`, `elements`): "
                                        "there the second derivatives jump.")
    hvp: HessianHvp | None = None


# ---- the memory of reverse mode (analyses/memory.py, chainrule.memory)

Strategy = Literal["all", "none", "every_k", "sqrt", "revolve"]


class MemoryPeak(_Model):
    """The step where the most bytes are held."""

    step: int = Field(description="Its index: forward steps first, then backward steps.")
    bytes: int = Field(description="Bytes held then (values and gradients).")
    values: int = Field(description="Forward values held then.")


class Memory(_Model):
    """What the tape keeps, as columns over the steps of both passes: the forward steps (index
    t < forward_steps: the nodes with operands, in id order), then the backward steps of
    `columns.steps` (index forward_steps + s). A value
    is held from the step that makes it (inputs and constants: from step 0) through its last
    use: the last backward step that reads it, else the last forward step that consumes it
    (the output: at least to the end of the forward pass). A gradient is held from the first
    backward step that adds to it through its node's own step (an input's: to the end)."""

    forward_steps: int = Field(description="F: the forward steps (the computed nodes, those "
                               "with operands, in id order).")
    reads: list[list[int]] = Field(description="Per backward step (as `columns.steps.node`), "
                                   "the node ids whose forward values its VJPs read (its own "
                                   "id: its output).")
    kept_at: list[list[int] | None] = Field(description="Per node, [first, last] steps its "
                                            "value is held (inclusive); null: never.")
    grad_at: list[list[int] | None] = Field(description="Per node, [first, last] steps its "
                                            "gradient is held; null: it has none.")
    bytes_at: list[int] = Field(description="Per step, bytes held (values and gradients), "
                                "what the step reads and makes included.")
    values_at: list[int] = Field(description="Per step, the number of forward values held.")
    peak: MemoryPeak
    itemsize: int = Field(description="Bytes per element (float64: 8).")


class MemoryRequest(_Model):
    """A program, values for its inputs, and a checkpointing strategy to replay it under."""

    source: str = Field(description="The program (its last line the loss).",
                        examples=["a = sin(x)\nb = sin(a)\nc = sin(b)\nd = sin(c)\nd"])
    values: dict[str, InputValue] = Field(default_factory=dict, description="Values of inputs.")
    strategy: Strategy = Field("sqrt", description="`all` (keep everything), `none` "
                               "(recompute from the inputs), `every_k`, `sqrt` (every ⌈√F⌉ "
                               "positions) or `revolve` (binomial, with `slots`).")
    k: int | None = Field(None, ge=1, description="every_k's spacing (default 10).")
    slots: int | None = Field(None, ge=0, description="revolve's checkpoints besides the "
                              "inputs (default ⌈log2(F + 1)⌉).")

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"source": "a = sin(x)\nb = sin(a)\nc = sin(b)\nd = sin(c)\nd",
                      "values": {"x": 0.5}, "strategy": "revolve", "slots": 1}]})


class ScheduleSteps(_Model):
    """The schedule's steps as columns (the first `max_schedule_steps`)."""

    kind: list[int] = Field(description="Per step, an index of `kinds`: forward, recompute "
                            "(a forward step run again) or backward.")
    node: list[int] = Field(description="Per step, the node it computes or differentiates.")
    values: list[int] = Field(description="Per step, forward values held (inputs included).")
    bytes: list[int] = Field(description="Per step, bytes held (values and gradients).")


class StrategySummary(_Model):
    """One strategy's counts and peak, for the table and the plot."""

    strategy: Strategy
    k: int | None
    slots: int | None
    forward: int = Field(description="Forward steps run the first time (F).")
    recompute: int = Field(description="Forward steps run again: the extra work.")
    backward: int
    peak_values: int | None = Field(description="Forward values held at most; null if not "
                                    "played (over `max_schedule_work` steps).")
    peak_bytes: int | None = Field(description="Bytes held at most (values and gradients).")
    played: bool = Field(description="Whether the schedule was played step by step (else the "
                         "counts are its formula's).")
    bound: int | None = Field(description="For revolve and none: the binomial count of extra "
                              "forward steps (Griewank: r·F − C(c + 1 + r, c + 2)).")


class LayerColumns(_Model):
    """Per layer (its groups of one name together, in order of first step), what it keeps."""

    name: list[str]
    kept_bytes: list[int] = Field(description="Bytes of the forward values its backward steps "
                                  "read (each once per layer: torch's saved tensors).")
    kept_values: list[int]


class LayerStrategy(_Model):
    """Checkpointing at layer boundaries, played without numbers."""

    strategy: Literal["all", "every_layer", "sqrt_layers"]
    checkpoints: int
    forward: int
    recompute: int
    backward: int
    peak_values: int
    peak_bytes: int


class LayerMemory(_Model):
    """A network's tape by layers, and checkpointing every layer or every ⌈√L⌉ layers."""

    layers: LayerColumns
    runs: int = Field(description="L: the runs of one layer's steps in forward order (a "
                      "micrograd batch runs its layers once per sample).")
    strategies: list[LayerStrategy]


class MemoryResponse(_Model):
    """The differentiation replayed under a checkpointing strategy, and every strategy's cost."""

    strategy: Strategy
    k: int | None
    slots: int | None
    positions: int = Field(description="F: the forward steps (computed nodes).")
    backward_steps: int
    kinds: list[str] = Field(description="The step kinds `steps.kind` indexes.")
    steps: ScheduleSteps | None = Field(description="Null if not played.")
    total_steps: int
    complete: bool = Field(description="Whether `steps` lists every step.")
    gradients: dict[str, Value] | None = Field(description="dL/d(input) as the schedule "
                                               "computed them (null if not played).")
    summary: list[StrategySummary]
    memory: Memory = Field(description="The memory line of plain reverse mode (as the "
                           "answer's `memory`).")
    layers: LayerMemory | None = Field(None, description="A network's tape by layers; null "
                                       "for a graph without layer groups.")
