"""How a run is driven: every setting of the loop, each written once, here.

``Settings`` is everything a run needs but the agent's hyperparameters. Each field
carries its default and its meaning; ``minirl.train``'s keywords, ``config.json``'s
``loop`` entry and the command line's ``minirl train`` flags are all made from this
list, so a new setting is one new line below (``add_arguments`` turns it into a
flag, ``--eval-every`` for ``eval_every``).
"""
from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["Settings", "add_arguments", "from_arguments"]


def setting(default, meaning, *, saved=True, cli=True, metavar=None):
    """A field of Settings: its default, its meaning (the --help text), whether
    ``config.json`` keeps it for ``--resume`` (``saved``), whether it is a flag."""
    return field(default=default, metadata={"help": meaning, "saved": saved, "cli": cli,
                                            "metavar": metavar})


@dataclass
class Settings:
    """How a run is driven: everything but the agent's hyperparameters."""
    steps: int = setting(None, "environment steps in total", saved=False, cli=False)
    seed: int = setting(0, "random seed", saved=False, cli=False)
    eval_every: int = setting(None, "greedy evaluation every N steps (the best agent: "
                              "best.npz)", metavar="N")
    eval_episodes: int = setting(10, "episodes per greedy evaluation", metavar="K")
    checkpoint_every: float = setting(60.0, "save a checkpoint every SECONDS of wall-clock "
                                      "time (0: only when the run stops)",
                                      metavar="SECONDS")
    stop_return: float = setting(None, "stop once a greedy evaluation reaches R",
                                 metavar="R")
    log_every: int = setting(1000, "a row of stats.csv (loss, steps/s) every N steps",
                             metavar="N")
    allow_nonfinite: bool = setting(False, "accept NaN or infinite rewards and "
                                    "observations from the env")
    quiet: bool = setting(True, "no progress bar, no summary", saved=False, cli=False)
    plot: bool = setting(True, "draw curve.png at the end", saved=False, cli=False)

    @classmethod
    def names(cls):
        return [f.name for f in fields(cls)]

    @classmethod
    def saved_names(cls):
        return [f.name for f in fields(cls) if f.metadata["saved"]]

    def saved(self):
        """The settings ``config.json`` keeps, reused by ``--resume``."""
        return {name: getattr(self, name) for name in self.saved_names()}

    def check(self):
        """Every setting in range, or a ValueError naming it."""
        _positive_int("steps", self.steps)
        _positive_int("eval_every", self.eval_every, allow_none=True)
        _positive_int("eval_episodes", self.eval_episodes)
        _positive_int("log_every", self.log_every)
        if self.checkpoint_every is not None and not (
                isinstance(self.checkpoint_every, (int, float, np.number))
                and self.checkpoint_every >= 0):
            raise ValueError(f"checkpoint_every must be a number of seconds >= 0 (0: "
                             f"off), got {self.checkpoint_every!r}")
        if self.stop_return is not None and not (
                isinstance(self.stop_return, (int, float, np.number))
                and np.isfinite(self.stop_return)):
            raise ValueError(f"stop_return must be a finite number, got "
                             f"{self.stop_return!r}")
        return self


def _positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


# --- the command line --------------------------------------------------------------------
def _flag_type(f):
    return {"int": int, "float": float}.get(f.type if isinstance(f.type, str)
                                            else f.type.__name__)


def add_arguments(parser):
    """One ``--flag`` per setting marked ``cli``, with its meaning and default as help.
    Every default is None on the command line: an unset flag keeps the saved value on
    ``--resume`` and this default otherwise."""
    for f in fields(Settings):
        if not f.metadata["cli"]:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = "" if f.default is None else f" (default {f.default:g})"
        if _flag_type(f) is None:  # a bool: a switch
            parser.add_argument(flag, action="store_const", const=True,
                                help=f.metadata["help"])
        else:
            parser.add_argument(flag, type=_flag_type(f), metavar=f.metadata["metavar"],
                                help=f.metadata["help"] + default)


def from_arguments(args):
    """The settings given on the command line: ``{name: value}`` for each flag set."""
    values = {f.name: getattr(args, f.name, None) for f in fields(Settings)
              if f.metadata["cli"]}
    return {name: value for name, value in values.items() if value is not None}

