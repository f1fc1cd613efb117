"""Persistence of a run: the checkpoint and the CSV files written together, the best
agent beside them, and a rescue copy elsewhere when the run directory refuses.

A save writes ``checkpoint.npz`` (agent + loop state), ``metrics.csv``,
``evaluations.csv`` and ``stats.csv`` at once (``atomic_write_all``: all or none), so
the files on disk always describe the same step. The agent's parameters are checked
first: a NaN is never saved over a good checkpoint.
"""
import os
import tempfile
import time

import numpy as np

from minirl.checkpoint import atomic_write_all, checkpoint_arrays
from minirl.runstate import csv_text

__all__ = ["NonFiniteError", "SaveError", "RunSaver", "check_parameters"]


class NonFiniteError(FloatingPointError):
    """A loss or a parameter became NaN or infinite: training stopped, nothing saved."""


class SaveError(OSError):
    """Saving the run failed (a full disk, a permission); ``result`` still holds the
    agent, and ``rescued`` is where a copy was saved instead (or None)."""

    def __init__(self, message, result, rescued):
        super().__init__(message)
        self.result, self.rescued = result, rescued


def check_parameters(agent, step):
    """Every parameter finite, or NonFiniteError naming the first that is not."""
    for name, module in agent.modules().items():
        for key, value in module.state_dict().items():
            if not np.isfinite(value).all():
                raise NonFiniteError(f"{agent.name}: parameter {name}.{key} is not finite "
                                     f"at step {step}; training stopped")


class RunSaver:
    """Writes one run's files into ``out`` (None: a run without a directory) and knows
    which step the checkpoint on disk holds (``checkpoint_step``; None: none yet)."""

    def __init__(self, out, config, checkpoint_step=None):
        self.out, self.config = out, config
        self.checkpoint_step = checkpoint_step
        self.last_save = time.monotonic()

    def on_disk(self):
        """What the run directory holds now, in words."""
        if self.out is None:
            return "nothing saved (no run directory)"
        if self.checkpoint_step is None:
            return f"no checkpoint in {self.out}"
        return f"{os.path.join(self.out, 'checkpoint.npz')} holds step {self.checkpoint_step}"

    def save(self, agent, state):
        """Checkpoint, metrics, evaluations and stats, written together (all or none)."""
        check_parameters(agent, state.step)
        arrays = checkpoint_arrays(self.config, agent.state_dict(), state.state_dict())
        metrics = csv_text(["step", "episode", "return", "length"], state.records)
        evals = csv_text(["step", "mean_return", "std_return"], state.evaluations)
        stats = state.stats.csv()
        step, out = state.step, self.out

        def saved():
            self.checkpoint_step = step
        atomic_write_all({os.path.join(out, "checkpoint.npz"): lambda f: np.savez(f, **arrays),
                          os.path.join(out, "metrics.csv"): lambda f: f.write(metrics),
                          os.path.join(out, "evaluations.csv"): lambda f: f.write(evals),
                          os.path.join(out, "stats.csv"): lambda f: f.write(stats)},
                         then=saved)
        self.last_save = time.monotonic()

    def save_best(self, agent, step):
        """The agent alone, as ``best.npz``: the best greedy evaluation so far."""
        check_parameters(agent, step)
        arrays = checkpoint_arrays(self.config, agent.state_dict())
        atomic_write_all({os.path.join(self.out, "best.npz"):
                          lambda f: np.savez(f, **arrays)})

    def save_or_rescue(self, agent, state, result):
        """``save``; if the disk refuses, keep the run elsewhere and raise SaveError."""
        try:
            self.save(agent, state)
        except OSError as error:
            rescued = self.rescue(agent, state)
            where = (f"; this run was saved to {rescued} instead (copy it back and "
                     f"--resume)" if rescued else "; it could not be saved elsewhere either")
            raise SaveError(f"could not save the run in {self.out}: {error.strerror or error}"
                            f" ({getattr(error, 'filename', None) or self.out}); "
                            f"{self.on_disk()}{where}", result, rescued) from None

    def rescue(self, agent, state):
        """The checkpoint in a fresh temporary directory; its path, or None."""
        try:
            directory = tempfile.mkdtemp(prefix="minirl-rescue-")
            arrays = checkpoint_arrays(self.config, agent.state_dict(), state.state_dict())
            path = os.path.join(directory, "checkpoint.npz")
            atomic_write_all({path: lambda f: np.savez(f, **arrays)})
            return path
        except OSError:
            return None
