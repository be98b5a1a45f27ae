"""A micrograd network's structure, inferred from its Value graph: parameter names and groups.

micrograd records no structure: a Value knows its operands and its op, not the layer or the
neuron that made it. Given the model (a micrograd `Module`: `MLP`, `Layer`, `Neuron`, or any
object whose attributes hold Values, Modules and lists of them), its parameters are named by
their place (`layers[1].neurons[3].w[0]`, `layers[1].neurons[3].b`): a module holding Values
itself is a `neuron`, any other module below the top is a `layer` (the top is a group only if
it is a layer or a neuron itself). Each Value of the loss's graph is then put in a group by
these rules, in topological order:

1. Regularization: `p*p` (or `p**2`) of a parameter p, then every op whose operands are all
   regularization Values or constants (the sum over the squares, the factor alpha).
2. A neuron's weighted sum: an op reading parameters of one neuron (`w_i * x_i`, the bias add
   `b + w_0 * x_0`), then an addition of that neuron's sum Values (and constants) with at least
   one product reading its weights (the running sum `... + w_i * x_i`).
3. Its activation: an op of one operand (ReLU, tanh, exp) applied to the neuron's sum, unless
   the neuron says it is linear (`nonlin = False`, as micrograd's last layer does).
4. Samples: leaving the parameters (which all samples share) out, the neurons' Values and the
   leaves they read fall apart into connected pieces: one sample's forward pass each, numbered
   in the order of the graph. With more than one, a neuron's Values of sample k form a
   `sample[k]` group inside the neuron's, which holds the parameters.
5. Data: a leaf that is no parameter and that a neuron reads (`x_i` in `w_i * x_i`) is a
   sample's input: `data` (`data/sample[k]`).
6. Loss: an op reading the network's Values or the loss's, that rules 1-3 left out, is the
   `loss`'s (the data loss, and the total beside the regularization); downstream of one
   sample only (`(1 - y_k * score_k).relu()`), it is in `loss/sample[k]`.
7. Any other leaf (a constant such as `1`, `-y_k`, alpha) joins the group of its first
   consumer.

A Value no rule fits stays in no group; rules 2 and 3 never take a Value reading two neurons'
parameters, nor rule 6 one reading no network Value, so a loss of another shape is grouped as
far as it fits and no further. A group is a path of steps from the top: each step is
(rank, kind, name), and a Value's path and place in the graph sort it (see `sort_key`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Step = tuple[int, str, str]  # (rank among its siblings, kind, name)
Path = tuple[Step, ...]
DATA: Step = (-1, "data", "data")
LOSS: Step = (1 << 30, "loss", "loss")
REGULARIZATION: Step = ((1 << 30) + 1, "regularization", "regularization")
ACTIVATIONS = {"ReLU", "tanh", "exp"}
SQUARES = {"*", "**2", "**2.0"}  # p*p (micrograd's _prev then holds p once), p**2


def is_value(obj: Any) -> bool:
    """Whether obj looks like a micrograd Value (data, _prev, _op)."""
    return all(hasattr(obj, attr) for attr in ("data", "_prev", "_op"))


def is_module(obj: Any) -> bool:
    """Whether obj looks like a micrograd Module: it has a `parameters()` method."""
    return not is_value(obj) and callable(getattr(obj, "parameters", None))


@dataclass
class Neuron:
    """A module holding parameters itself: its group's path and whether it is linear."""

    path: Path
    linear: bool


@dataclass
class Structure:
    """What the model and the graph say: parameter names and each Value's group path."""

    names: dict[int, str] = field(default_factory=dict)  # id(parameter) -> its place, in order
    owner: dict[int, Neuron] = field(default_factory=dict)  # id(parameter) -> its neuron
    paths: dict[int, Path] = field(default_factory=dict)  # id(Value) -> its group's path
    rank: dict[int, int] | None = None  # id(parameter) -> its place in `names`

    def sort_key(self, value: Any, position: int) -> tuple[Path, int]:
        """Groups in the tree's order (data, layers by place, loss, regularization), parameters
        before their neuron's samples and in the model's order; the graph's order within."""
        if self.rank is None:
            self.rank = {key: k for k, key in enumerate(self.names)}
        return self.paths.get(id(value), ()), self.rank.get(id(value), len(self.rank) + position)


def infer(model: Any, order: list[Any]) -> Structure:
    """Name `model`'s parameters and group the Values of `order` (operands first)."""
    structure = Structure()
    _walk(model, "", (), structure, _Counter())
    roles = _Roles(structure)
    for value in order:
        roles.read(value)
    roles.place(order)
    return structure


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def next(self) -> int:
        self.count += 1
        return self.count


def _walk(module: Any, prefix: str, path: Path, structure: Structure, counter: _Counter,
          top: bool = True) -> None:
    """Name the parameters of module (and of the modules inside it) and give each its path."""
    children = list(_members(module, prefix))
    direct = [(name, obj) for name, obj in children if is_value(obj)]
    inner = [(name, obj) for name, obj in children if is_module(obj)]
    holds_neurons = any(any(is_value(o) for _, o in _members(m, "")) for _, m in inner)
    if direct or not top or holds_neurons:
        kind = "neuron" if direct else "layer"
        path = (*path, (counter.next(), kind, prefix.removesuffix(".") or type(module).__name__))
    neuron = Neuron(path, getattr(module, "nonlin", True) is False)
    for name, value in direct:
        structure.names.setdefault(id(value), name)
        structure.owner.setdefault(id(value), neuron)
    for name, child in inner:
        _walk(child, name + ".", path, structure, counter, top=False)


def _members(module: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(place, object) for each Value or Module an attribute holds, itself or in a list."""
    for attr, obj in vars(module).items():
        if isinstance(obj, (list, tuple)):
            for k, item in enumerate(obj):
                if is_value(item) or is_module(item):
                    yield f"{prefix}{attr}[{k}]", item
        elif is_value(obj) or is_module(obj):
            yield f"{prefix}{attr}", obj


class _Roles:
    """Rules 1-3 and 6 (what each op is), then 4, 5 and 7 (samples, data, constants)."""

    def __init__(self, structure: Structure) -> None:
        self.structure = structure
        self.regularization: set[int] = set()
        self.neuron: dict[int, Neuron] = {}  # a neuron's op -> the neuron
        self.role: dict[int, str] = {}  # a neuron's op -> "product", "sum" or "activation"
        self.loss: set[int] = set()

    def read(self, value: Any) -> None:
        """Rules 1-3 and 6 for one Value, its operands read before."""
        operands = list(value._prev)
        if not operands:
            return
        key = id(value)
        if self.regularizes(value, operands):
            self.regularization.add(key)
        elif (found := self.neuron_role(value, operands)) is not None:
            self.neuron[key], self.role[key] = found
        elif any(id(o) in self.neuron or id(o) in self.loss for o in operands):
            self.loss.add(key)

    def regularizes(self, value: Any, operands: list[Any]) -> bool:
        owner = self.structure.owner
        if len(operands) == 1 and id(operands[0]) in owner and str(value._op) in SQUARES:
            return True  # p*p: micrograd's _prev holds p once
        return any(id(o) in self.regularization for o in operands) and all(
            id(o) in self.regularization or self.is_constant(o) for o in operands)

    def neuron_role(self, value: Any, operands: list[Any]) -> tuple[Neuron, str] | None:
        op = str(value._op)
        owners = {id(self.structure.owner[id(o)]): self.structure.owner[id(o)]
                  for o in operands if id(o) in self.structure.owner}
        if len(owners) == 1:
            return next(iter(owners.values())), "product" if op == "*" else "sum"
        if owners:
            return None
        inside = [self.neuron.get(id(o)) for o in operands if not self.is_constant(o)]
        first = inside[0] if inside else None
        if first is None or any(n is not first for n in inside):
            return None
        roles = [self.role[id(o)] for o in operands if id(o) in self.role]
        if op == "+" and "product" in roles and "activation" not in roles:
            return first, "sum"
        if op in ACTIVATIONS and roles == ["sum"] and not first.linear:
            return first, "activation"
        return None

    def is_constant(self, value: Any) -> bool:
        return not value._prev and id(value) not in self.structure.owner

    def place(self, order: list[Any]) -> None:
        """Rules 4, 5 and 7: each Value's path, from its role and its sample."""
        sample, count = self.samples(order)
        paths = self.structure.paths

        def within(path: Path, value: Any) -> Path:
            k = sample.get(id(value))
            return path if k is None or count < 2 else (*path, (k, "sample", f"sample[{k}]"))

        for value in order:
            key = id(value)
            if key in self.structure.owner:
                paths[key] = self.structure.owner[key].path
            elif key in self.neuron:
                paths[key] = within(self.neuron[key].path, value)
            elif key in self.regularization:
                paths[key] = (REGULARIZATION,)
            elif key in self.loss:
                paths[key] = (LOSS, *within((), value))
            elif key in sample:  # a leaf a neuron reads
                paths[key] = within((DATA,), value)
        for value in order:  # rule 7: a leaf left over joins its first consumer
            for operand in value._prev:
                if not operand._prev and id(operand) not in paths and id(value) in paths:
                    paths[id(operand)] = paths[id(value)]

    def samples(self, order: list[Any]) -> tuple[dict[int, int], int]:
        """id -> sample number for the neurons' ops, the data leaves and the loss's ops of one
        sample; and how many samples there are."""
        parent: dict[int, int] = {}

        def find(key: int) -> int:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        for value in order:
            if id(value) not in self.neuron:
                continue
            parent.setdefault(id(value), id(value))
            for operand in value._prev:
                if id(operand) in self.neuron or self.is_constant(operand):
                    parent.setdefault(id(operand), id(operand))
                    parent[find(id(operand))] = find(id(value))
        number: dict[int, int] = {}
        sample: dict[int, int] = {}
        for value in order:
            if id(value) in parent:
                sample[id(value)] = number.setdefault(find(id(value)), len(number))
        self.loss_samples(order, sample)
        return sample, len(number)

    def loss_samples(self, order: list[Any], sample: dict[int, int]) -> None:
        """The loss's ops downstream of one sample only get that sample's number."""
        upstream: dict[int, int] = {}  # a bit per sample
        for value in order:
            if id(value) not in self.loss:
                continue
            bits = 0
            for operand in value._prev:
                k = sample.get(id(operand)) if id(operand) in self.neuron else None
                bits |= upstream.get(id(operand), 0) | (0 if k is None else 1 << k)
            upstream[id(value)] = bits
            if bits and bits & (bits - 1) == 0:
                sample[id(value)] = bits.bit_length() - 1
