"""chainrule: backpropagation shown for what it is, the chain rule applied node by node.

    >>> from chainrule import backprop
    >>> result = backprop("sin(x*y)", x=1.5, y=2)
    >>> round(result.gradients["x"], 6)  # y * cos(x*y)
    -1.979985
"""

from .differentiate import backprop
from .errors import ChainruleError
from .readers.micrograd import from_micrograd
from .readers.numpy_trace import trace

__all__ = ["ChainruleError", "backprop", "from_micrograd", "from_torch", "show", "trace"]


def __getattr__(name: str) -> object:
    # `show` (the notebook widget) imports anywidget, so only when it is asked for.
    if name == "show":
        from .widget import show

        return show
    if name == "from_torch":  # its module imports nothing of torch until it is called
        from .readers.from_torch import from_torch

        return from_torch
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
