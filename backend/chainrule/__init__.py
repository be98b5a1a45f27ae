"""chainrule: backpropagation shown for what it is, the chain rule applied node by node.

    >>> from chainrule import backprop
    >>> result = backprop("sin(x*y)", x=1.5, y=2)
    >>> round(result.gradients["x"], 6)  # y * cos(x*y)
    -1.979985
"""

from .differentiate import backprop, from_micrograd, from_torch, hessian, hvp, memory, naive, trace
from .errors import ChainruleError
from .grading import grade
from .ninja import ninja

__all__ = ["ChainruleError", "backprop", "from_micrograd", "from_torch", "grade", "hessian", "hvp",
           "memory", "naive", "ninja", "show", "trace"]


def __getattr__(name: str) -> object:
    # `show` (the notebook widget) imports anywidget, so only when it is asked for.
    if name == "show":
        from .widget import show

        return show
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
