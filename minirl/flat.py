"""The flat layout: a network's parameters as views into one array, for speed.

An optimizer treats all its parameters alike, and for the small networks of RL a NumPy
call costs more in Python than in arithmetic: Adam on six parameters is six times its
formula's dozen calls, most of an update's time. So an optimizer lays its parameters out
end to end in one contiguous buffer that this module makes, and each ``p.data`` becomes a
view of its stretch:

    data = [ l0.W (4 x 128) | l0.b (128) | l1.W (128 x 128) | l1.b | l2.W | l2.b ]
             ^ l0.W.data is data[0:512].reshape(4, 128), a view

Then one expression on ``data`` updates every parameter: the optimizer's formula runs once,
on ``data`` and on the gradients gathered with one ``np.concatenate`` into the same layout
(``gather_grads``; backward still makes each ``p.grad`` as an ordinary array).

Nothing changes for code that uses one parameter, as long as it changes ``p.data`` in
place (``p.data -= ...``, ``p.data[...] = x``, ``np.copyto``), the way PyTorch code changes
``param.data``; every update in minirl does. Assigning ``p.data`` a new array takes that
parameter out of the buffer: ``intact()`` sees it, and whoever asked for the layout then
treats the parameters one at a time, with the same formulas.

A layout also lets A3C share a network between processes: ``bind(shared)`` makes the
parameters views of an array in shared memory, so every worker's network *is* the global
one. Target networks are laid out on their first ``hard_update``/``soft_update``, which
then copy or average one array.
"""
import math
import weakref

import numpy as np

__all__ = ["FlatParameters", "lay_out", "find", "views"]

# Each laid-out parameter -> (its layout, its position in it). Weak: a network that is
# dropped takes its entries with it.
_LAYOUT = weakref.WeakKeyDictionary()


def views(array, shapes):
    """Consecutive views of the 1-D ``array``, one of each shape: the flat layout."""
    out, offset = [], 0
    for shape in shapes:
        n = math.prod(shape)  # a Python int, as exact as np.prod and far cheaper per call
        out.append(array[offset:offset + n].reshape(shape))
        offset += n
    return out


class FlatParameters:
    """``params`` whose arrays are consecutive views of the one 1-D array ``data``."""

    def __init__(self, params, data, views_):
        self.params, self.data, self.views = params, data, views_
        self.shapes = [v.shape for v in views_]
        self.size = data.size

    def bind(self, data):
        """Make the parameters views of ``data`` (a 1-D array of the layout's size and
        dtype, such as shared memory): their values are what ``data`` holds."""
        if data.shape != (self.size,) or data.dtype != self.data.dtype:
            raise ValueError(f"FlatParameters.bind: needs a 1-D array of {self.size} "
                             f"{self.data.dtype}, got shape {data.shape} of {data.dtype}")
        self.data, self.views = data, views(data, self.shapes)
        for i, (p, view) in enumerate(zip(self.params, self.views)):
            p.data = view
            _LAYOUT[p] = (self, i)

    def intact(self):
        """Whether every parameter still has its view (no one assigned ``p.data``)."""
        for p, view in zip(self.params, self.views):
            if p.data is not view:
                return False
        return True

    def gather_grads(self):
        """All the gradients in one array laid out like ``data``; None unless every
        parameter has one and the layout is intact (then go one parameter at a time)."""
        grads = []
        for p, view in zip(self.params, self.views):
            if p.grad is None or p.data is not view:
                return None
            grads.append(p.grad.reshape(-1))
        return np.concatenate(grads)

    def grad_or_zeros(self):
        """The gathered gradients, with zeros for parameters that received none."""
        return np.concatenate([np.zeros(p.data.size, self.data.dtype) if p.grad is None
                               else p.grad.reshape(-1) for p in self.params])


def find(params):
    """The layout holding exactly ``params``, consecutively and in order, or None.

    They may be a stretch of a larger layout: one critic of the two that an optimizer
    laid out together.
    """
    params = list(params)
    entry = _LAYOUT.get(params[0]) if params else None
    if entry is None:
        return None
    layout, i = entry
    j = i + len(params)
    if layout.params[i:j] != params or not layout.intact():
        return None
    if (i, j) == (0, len(layout.params)):
        return layout
    start = sum(v.size for v in layout.views[:i])
    stop = start + sum(v.size for v in layout.views[i:j])
    return FlatParameters(params, layout.data[start:stop], layout.views[i:j])


def lay_out(params):
    """``params``' layout: the one they are in, else a new buffer holding their values
    (a layout they were in before is then no longer intact: TD3 first builds DDPG's
    optimizer of one critic, then its own of both); None if they cannot share one array
    (two dtypes, or a parameter given twice)."""
    params = list(params)
    layout = find(params)
    if (layout is not None or not params or len({id(p) for p in params}) != len(params)
            or len({p.data.dtype for p in params}) != 1):
        return layout
    only = params[0].data
    if len(params) == 1 and only.ndim == 1 and only.flags.c_contiguous:
        data = only  # already one flat array (A3C's theta in shared memory): adopted
    else:
        data = np.concatenate([p.data.reshape(-1) for p in params])
    layout = FlatParameters(params, data, views(data, [p.data.shape for p in params]))
    layout.bind(data)
    return layout
