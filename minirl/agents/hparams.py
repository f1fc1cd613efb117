"""Hyperparameters as data: one declarative spec per agent.

Each agent lists its hyperparameters as ``HParam`` entries: a name, a default, a
type, the values it allows, and one line of meaning. That one list is

* the defaults (``Agent.defaults`` is built from it),
* the checks (``check`` names the key and the rule in every error, so a
  ``--set lr=fast`` says ``dqn: lr must be a number > 0, got 'fast'``),
* the documentation (``minirl algos dqn`` prints it).

Rules are written the way a reader says them: an interval such as ``"[0, 1]"`` or
``"(0, inf)"`` for numbers, a tuple of choices (``("mse", "huber")``, ``(0, 1, 2)``). ``none="..."`` allows
``None`` and says what it means (``max_grad_norm=None``: no clipping).
"""
import math
import numbers

import numpy as np

__all__ = ["HParam", "spec_dict", "check_values"]

SIZES = "sizes"  # a non-empty list of positive ints: hidden layer widths


class HParam:
    """One hyperparameter: ``HParam("lr", 1e-3, float, "(0, inf)", "Adam step size")``."""

    def __init__(self, name, default, kind, rule=None, doc="", none=None):
        if kind not in (int, float, bool, str, SIZES):
            raise ValueError(f"HParam {name}: unknown kind {kind!r}")
        self.name, self.default, self.kind, self.rule = name, default, kind, rule
        self.doc, self.none = doc, none
        self.bounds = _parse_interval(rule) if isinstance(rule, str) else None
        error = self.error(default)
        if error:
            raise ValueError(f"HParam {name}: the default {default!r} breaks its own rule: "
                             f"{error}")

    def describe(self):
        """The rule in words: 'a number in [0, 1]', 'an int >= 1', 'one of mse, huber'."""
        if self.kind is bool:
            text = "true or false"
        elif isinstance(self.rule, tuple):  # choices: "'mse' or 'huber'", "0, 1 or 2"
            words = [repr(c) for c in self.rule]
            text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
        elif self.kind is str:
            text = "a string"
        elif self.kind is SIZES:
            text = "a non-empty list of positive ints"
        else:
            noun = "an int" if self.kind is int else "a number"
            text = noun + (f" {_interval_words(self.bounds)}" if self.bounds else "")
        if self.none is not None:
            text += f", or none = {self.none}"
        return text

    def error(self, value):
        """None if ``value`` is allowed, else what is wrong with it."""
        if value is None:
            return None if self.none is not None else "none is not allowed"
        kind = self.kind
        if kind is bool:
            ok = isinstance(value, (bool, np.bool_))
        elif kind is str:
            ok = isinstance(value, str) and (not self.rule or value in self.rule)
        elif kind is SIZES:
            ok = (isinstance(value, (list, tuple)) and len(value) > 0
                  and all(_is_int(v) and v > 0 for v in value))
        elif kind is int:
            ok = _is_int(value) and _inside(value, self.bounds)
            ok = ok and (not isinstance(self.rule, tuple) or value in self.rule)
        else:
            if not (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
                    and math.isfinite(value)):
                return f"must be a finite {self.describe()[2:]}"
            if not _inside(value, self.bounds):  # the rule alone: "lr must be > 0"
                return f"must be {_interval_words(self.bounds)}"
            ok = True
        return None if ok else f"must be {self.describe()}"


def spec_dict(spec):
    """name -> HParam, in order; a later entry of the same name replaces an earlier one
    (so a subclass writes ``Base.hyperparameters + (HParam("lr", 5e-4, ...),)``)."""
    return {p.name: p for p in spec}


def check_values(algo, spec, hparams):
    """Raise ValueError naming the algorithm, the key, the rule and the value."""
    for name, value in hparams.items():
        error = spec[name].error(value)
        if error:
            raise ValueError(f"{algo}: {name} {error}, got {value!r}")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _parse_interval(text):
    """'(0, 1]' -> (0.0, 1.0, low_open=True, high_open=False)."""
    text = text.strip()
    low, high = (float(part) for part in text[1:-1].split(","))
    return low, high, text[0] == "(", text[-1] == ")"


def _inside(value, bounds):
    if bounds is None:
        return True
    low, high, low_open, high_open = bounds
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    return above and below


def _interval_words(bounds):
    low, high, low_open, high_open = bounds

    def num(x):
        return str(int(x)) if float(x).is_integer() else repr(x)
    if math.isinf(high):
        return f"{'>' if low_open else '>='} {num(low)}"
    if math.isinf(low):
        return f"{'<' if high_open else '<='} {num(high)}"
    return f"in {'(' if low_open else '['}{num(low)}, {num(high)}{')' if high_open else ']'}"
