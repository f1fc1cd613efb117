"""minirl: deep reinforcement learning from scratch in pure NumPy.

The engine (``Variable``, ``Function``, ``no_grad``) is in ``minirl.core``; ops in
``minirl.functions``; layers, optimizers and gradient checking beside them. They need
NumPy alone: Python runs this file before any of them, so everything that needs
gymnasium (agents, training, checkpoints) is imported only when first asked for
(``minirl.train``, ``minirl.make_agent``, ...), by the module ``__getattr__`` below.
"""
import importlib
import sys
import types

from minirl.core import Function, Variable, as_variable, enable_grad, no_grad

__version__ = "0.1.0"

# name -> the module that defines it, imported on first use.
_LAZY = {
    "algorithms": "minirl.agents",
    "make_agent": "minirl.agents",
    "load_agent": "minirl.checkpoint",
    "train": "minirl.train",
    "resume": "minirl.train",
    "evaluate": "minirl.train",
    "plot_graph": "minirl.graph",
    "sweep": "minirl.sweep",
}

__all__ = ["Variable", "Function", "as_variable", "no_grad", "enable_grad", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'minirl' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # found once: later lookups do not come here
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """Loading the submodule ``minirl.train`` sets the package attribute ``train`` to
    it, which would hide the function ``minirl.train``: keep the function's name."""

    def __setattr__(self, name, value):
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


try:  # with gymnasium installed, register minirl/GridWorld-v0 and the test envs
    import minirl.envs  # noqa: F401,E402
except ModuleNotFoundError as error:  # without it, the engine works on its own
    if (error.name or "").split(".")[0] != "gymnasium":
        raise
