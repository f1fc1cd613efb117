"""minirl: deep reinforcement learning from scratch in pure NumPy.

The engine (``Variable``, ``Function``, ``no_grad``) is in ``minirl.core``; ops in
``minirl.functions``; layers, optimizers and gradient checking beside them.
"""
from minirl.core import Function, Variable, as_variable, enable_grad, no_grad
import minirl.envs  # noqa: F401  (registers minirl/GridWorld-v0 and the test envs)

__version__ = "0.1.0"
__all__ = ["Variable", "Function", "as_variable", "no_grad", "enable_grad"]
