"""The Jacobian of an array output: one reverse pass per output element.

A reverse pass seeded with the cotangent s gives s^T J, a combination of the Jacobian's rows; a
one-hot seed e_i gives row i exactly. So M output elements take M reverse passes, where forward
mode would take one pass per input element (N passes, one column each): reverse mode wins when
the outputs are fewer than the inputs, as for a scalar loss (M = 1).
"""

from __future__ import annotations

import numpy as np

from ..core.graph import Graph, Node
from ..core.numbers import encode
from ..core.sweeps import Values, backward
from ..errors import ChainruleError
from ..settings import LIMITS, Limits


def jacobian(graph: Graph, order: list[Node], values: Values,
             limits: Limits = LIMITS) -> dict[str, object]:
    """d output / d inputs as an M x N matrix: output elements (row-major) by the inputs'
    elements flattened one after the other (`inputs` gives each one's offset into the columns).

    Refused with a `limit` error, before any pass, when the matrix or the work is too large.
    """
    out = graph.node(graph.output)
    inputs = [graph.node(i) for i in graph.inputs.values()]
    rows, columns = out.size, sum(n.size for n in inputs)
    _within_limits(out, rows, columns, sum(map(graph.op_work, order)), limits)
    matrix = np.zeros((rows, columns))
    for i in range(rows):
        seed = np.zeros(rows)
        seed[i] = 1.0
        grads = backward(graph, values, record=False, seed=seed).grads
        matrix[i] = np.concatenate([grads.get(n.id, np.zeros(n.shape)).reshape(-1)
                                    for n in inputs]) if inputs else []
    offsets = np.cumsum([0, *(n.size for n in inputs)]).tolist()
    return {
        "inputs": [{"name": n.name, "shape": list(n.shape), "offset": offset}
                   for n, offset in zip(inputs, offsets, strict=False)],
        "output_shape": list(out.shape),
        "rows": rows,
        "columns": columns,
        "matrix": encode(matrix),
        "cost": {"reverse_passes": rows, "forward_passes": columns,
                 "note": f"Reverse mode: one backward pass per output element ({rows}), each "
                         "seeded with a one at that element, gives one row. Forward mode would "
                         f"take one pass per input element ({columns}), each giving one "
                         "column."},
    }


def _within_limits(out: Node, rows: int, columns: int, nodes: int, limits: Limits) -> None:
    if rows * columns > limits.max_jacobian_entries:
        raise ChainruleError(
            f"the Jacobian would have {rows:,} × {columns:,} = {rows * columns:,} entries; the "
            f"limit is {limits.max_jacobian_entries:,}: use smaller arrays", out.span, "limit")
    if rows * nodes > limits.max_jacobian_work:
        raise ChainruleError(
            f"the Jacobian needs {rows:,} reverse passes over {nodes:,} nodes; the limit is "
            f"{limits.max_jacobian_work:,} node visits: use a smaller output or graph",
            out.span, "limit")
