"""PyTorch models in chainrule: `from_torch(lambda: F.mse_loss(model(x), y), model)`.

The reading itself is `torch_reader` (which imports torch); this module only imports it when
`from_torch` is called, so chainrule works without torch, and says how to get it when it is
missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..answer.models import Answer
from ..differentiate import without_gc
from ..errors import ChainruleError
from ..settings import LIMITS, Limits


@without_gc
def from_torch(loss_fn: Callable[[], Any], model: Any = None, *, check: bool | str = True,
               limits: Limits = LIMITS) -> Answer:
    """Call `loss_fn()` (no arguments; it computes a scalar loss with torch), record every
    torch operation it runs as a node of chainrule's graph, and backpropagate through it.

    `model` (an `nn.Module`): its parameters are the inputs, named as `named_parameters()`
    names them (`0.weight`), and the nodes are grouped by the module that ran them (`model`,
    `model.0`, ...). Any other tensor is a constant. Without a model, every leaf tensor that
    requires grad is an input (`t0`, `t1`, ... in the order of first use). An operation outside
    chainrule's op table raises `ChainruleError` naming it, the module and the line of the
    call. Returns the same result model as `chainrule.backprop`; values in float64.
    """
    try:
        from .pytorch import read_torch
    except ImportError as err:
        raise ChainruleError(f"from_torch needs PyTorch ({err}): pip install "
                             "'chainrule[torch]'", None, "request") from None
    return read_torch(loss_fn, model, check=check, limits=limits)
