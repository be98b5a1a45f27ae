"""chainrule: backpropagation shown for what it is, the chain rule applied node by node.

    >>> from chainrule import backprop
    >>> result = backprop("sin(x*y)", x=1.5, y=2)
    >>> round(result.gradients["x"], 6)  # y * cos(x*y)
    -1.979985
"""

from .errors import ChainruleError
from .micrograd_graph import from_micrograd
from .run import backprop
from .tracing import trace

__all__ = ["ChainruleError", "backprop", "from_micrograd", "from_torch", "show", "trace"]


def __getattr__(name: str) -> object:
    # `show` (the notebook widget) imports anywidget, so only when it is asked for.
    if name == "show":
        from .widget import show

        return show
    if name == "from_torch":  # its module imports nothing of torch until it is called
        from .torch_graph import from_torch

        return from_torch
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
