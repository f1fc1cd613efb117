"""minirl: deep reinforcement learning from scratch in pure NumPy.

The engine (``Variable``, ``Function``, ``no_grad``) is in ``minirl.core``; ops in
``minirl.functions``; layers, optimizers and gradient checking beside them.
"""
from minirl.core import Function, Variable, as_variable, enable_grad, no_grad
import minirl.envs  # noqa: F401  (registers minirl/GridWorld-v0 and the test envs)

__version__ = "0.1.0"
__all__ = ["Variable", "Function", "as_variable", "no_grad", "enable_grad"]

from minirl.agents import algorithms, make_agent  # noqa: E402
from minirl.checkpoint import load_agent  # noqa: E402
from minirl.train import evaluate, train  # noqa: E402

__all__ += ["algorithms", "make_agent", "load_agent", "train", "evaluate"]
