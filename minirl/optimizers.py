"""Optimizers (SGD, Adam, RMSprop), gradient clipping, and target-network updates.

Each ``step()`` updates ``p.data`` in place from ``p.grad``. An optimizer lays its
parameters out flat when it is built (``layers.FlatParameters``): they and their
gradients become views into two arrays, and its own statistics (Adam's moments, ...)
are arrays laid out the same way. So one step is a single update, written once as
the formula on whole arrays, applied to the flat arrays at once (once per layout
where the parameters already lived in several: ``layers.flat_runs``) -- or, when some
parameter has no gradient, to each parameter that has one (the others are skipped,
as PyTorch does). Optimizer state is plain ndarrays, so it can be checkpointed:
``state_dict()`` / ``load_state_dict()``, one key per statistic and parameter.
"""
import itertools
import numbers

import numpy as np

from minirl.layers import (FlatParameters, Module, checked_array, flat_runs,
                           flatten_parameters, views)

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "grad_norm", "clip_grad_norm", "hard_update",
           "soft_update", "check_number"]


def check_number(where, name, value, low=None, high=None, low_inclusive=False,
                 high_inclusive=False):
    """``value`` as a float if it is a finite real number inside the bounds, else an
    error naming ``where`` and ``name``: hyperparameters are checked at the door."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__} "
                        f"{value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{where}: {name} must be finite, got {value}")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        low_text = "-inf" if low is None else f"{low:g}"
        high_text = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{where}: {name} must be in {left}{low_text}, {high_text}{right}, "
                         f"got {value:g}")
    return value


class Optimizer:
    """Holds the parameters (laid out flat where they can be) and the statistics.

    A subclass names its per-parameter statistics in ``state_names`` (each one flat
    array laid out like the parameters), its scalar counters in ``counter_names``, how
    many work arrays its update writes into in ``scratch``, and writes
    ``update(theta, g, *statistics, *work)``: the formula on whole arrays, in place.
    """
    state_names = ()
    counter_names = ()
    scratch = 0

    def __init__(self, params, lr):
        name = type(self).__name__
        self.params = list(params.parameters() if isinstance(params, Module) else params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        self.lr = check_number(name, "lr (the learning rate)", lr, low=0)
        # The flat layouts that hold the parameters, usually one (flat_runs); each run's
        # statistics are a stretch of the optimizer's own flat arrays.
        self.runs = flat_runs(self.params)
        self.shapes = [p.data.shape for p in self.params]
        self.offsets = [0, *itertools.accumulate(p.data.size for p in self.params)]
        self.dtype = np.result_type(*[p.data.dtype for p in self.params])
        self.work = [self.zeros() for _ in range(self.scratch)]

    def zeros(self):
        """A flat statistic, laid out like the parameters, all zero."""
        return np.zeros(self.offsets[-1], self.dtype)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        arrays = [getattr(self, name) for name in self.state_names] + self.work
        for flat, i, j in self.runs:
            # this run's stretch of each statistic (all of it when one run holds all)
            stretch = arrays if len(self.runs) == 1 else [
                a[self.offsets[i]:self.offsets[j]] for a in arrays]
            if flat is not None and flat.has_grads():
                self.update(flat.data, flat.grad, *stretch)  # the whole layout at once
                continue
            per_parameter = [views(a, self.shapes[i:j]) for a in stretch]
            for k, p in enumerate(self.params[i:j]):
                if p.grad is not None:
                    self.update(p.data, p.grad, *[v[k] for v in per_parameter])

    def update(self, theta, g, *arrays):
        raise NotImplementedError

    # Optimizer state, as plain arrays for an .npz checkpoint: 't', 'm.0', 'v.0', ...
    def state_dict(self):
        state = {name: np.array(getattr(self, name)) for name in self.counter_names}
        per_parameter = {name: views(getattr(self, name), self.shapes)
                         for name in self.state_names}
        for i in range(len(self.params)):
            for name in self.state_names:
                state[f"{name}.{i}"] = per_parameter[name][i].copy()
        return state

    def load_state_dict(self, state):
        """Load a ``state_dict``: every key present, numeric, finite and of the right
        shape (all checked before anything is loaded)."""
        where = f"{type(self).__name__}.load_state_dict"
        for key in self.state_dict():
            if key not in state:
                raise KeyError(f"{where}: missing '{key}'")
        counters = {}
        for name in self.counter_names:
            value = checked_array(where, name, state[name], ())
            if value.dtype.kind not in "iuf" or value < 0 or value != np.floor(value):
                raise ValueError(f"{where}: '{name}' must be a count >= 0, got {value}")
            counters[name] = int(value)
        arrays = {}
        for name in self.state_names:
            arrays[name] = [checked_array(where, f"{name}.{i}", state[f"{name}.{i}"], shape)
                            for i, shape in enumerate(self.shapes)]
        for name, value in counters.items():
            setattr(self, name, value)
        for name, parts in arrays.items():
            for view, part in zip(views(getattr(self, name), self.shapes), parts):
                np.copyto(view, part, casting="unsafe")


class SGD(Optimizer):
    """theta <- theta - lr g, or with momentum mu (PyTorch's form):

        v <- mu v + g,   theta <- theta - lr v
    """

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params, lr)
        self.momentum = check_number("SGD", "momentum", momentum, 0, 1, low_inclusive=True)
        self.state_names = ("velocity",) if self.momentum else ()
        self.velocity = self.zeros() if self.momentum else None

    def update(self, theta, g, v=None):
        if v is None:
            theta -= self.lr * g
            return
        v *= self.momentum
        v += g
        theta -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1), for each parameter theta with gradient g:

        t <- t + 1
        m <- b1 m + (1 - b1) g            v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)            v_hat = v / (1 - b2^t)
        theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)

    The code runs this on the flat arrays of all parameters at once, in place, with the
    two bias corrections folded into scalars (the paper's own remark after Algorithm 1),
    so each line below is one pass over the array:

        lr * m_hat / (sqrt(v_hat) + eps) = step_size * m / (sqrt(v) + eps_hat),
        step_size = lr * sqrt(1 - b2^t) / (1 - b1^t),   eps_hat = eps * sqrt(1 - b2^t)
    """
    state_names = ("m", "v")
    counter_names = ("t",)
    scratch = 2

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (b1, b2), got {betas!r}")
        self.b1 = check_number("Adam", "betas[0]", betas[0], 0, 1, low_inclusive=True)
        self.b2 = check_number("Adam", "betas[1]", betas[1], 0, 1, low_inclusive=True)
        self.eps = check_number("Adam", "eps", eps, 0, low_inclusive=True)
        self.t = 0
        self.m, self.v = self.zeros(), self.zeros()
        # The step lr m_hat / (...) is formed in float64 (step_size is a float64) and
        # rounded once, when it is subtracted from theta.
        self.work[1] = np.zeros(self.work[1].shape, np.result_type(self.dtype, np.float64))

    def step(self):
        self.t += 1  # one time step per call, shared by all parameters
        correction1 = 1 - self.b1 ** self.t
        correction2 = np.sqrt(1 - self.b2 ** self.t)
        self.step_size = self.lr * correction2 / correction1
        self.eps_hat = self.eps * correction2
        super().step()

    def update(self, theta, g, m, v, work, ratio):
        np.subtract(g, m, out=work)
        work *= 1 - self.b1
        m += work                      # m <- m + (1 - b1)(g - m) = b1 m + (1 - b1) g
        np.multiply(g, g, out=work)
        work -= v
        work *= 1 - self.b2
        v += work                      # v <- v + (1 - b2)(g^2 - v) = b2 v + (1 - b2) g^2
        np.sqrt(v, out=work)
        work += self.eps_hat           # sqrt(v) + eps_hat = (sqrt(v_hat) + eps) sqrt(1 - b2^t)
        np.multiply(m, self.step_size, out=ratio)
        ratio /= work
        theta -= ratio                 # theta <- theta - lr m_hat / (sqrt(v_hat) + eps)


class RMSprop(Optimizer):
    """PyTorch's form (Tieleman & Hinton 2012, lecture 6e):

        v <- alpha v + (1 - alpha) g^2,   theta <- theta - lr g / (sqrt(v) + eps)
    """
    state_names = ("v",)
    scratch = 2

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
        super().__init__(params, lr)
        self.alpha = check_number("RMSprop", "alpha", alpha, 0, 1, low_inclusive=True)
        self.eps = check_number("RMSprop", "eps", eps, 0, low_inclusive=True)
        self.v = self.zeros()

    def update(self, theta, g, v, work, ratio):
        np.multiply(g, g, out=work)
        work -= v
        work *= 1 - self.alpha
        v += work                      # v <- alpha v + (1 - alpha) g^2
        np.sqrt(v, out=work)
        work += self.eps
        np.multiply(g, self.lr, out=ratio)
        ratio /= work
        theta -= ratio                 # theta <- theta - lr g / (sqrt(v) + eps)


def grad_norm(params):
    """The global L2 norm of all the gradients together, ||g|| = sqrt(sum_i ||g_i||^2)
    (parameters without a gradient count as zero): what ``clip_grad_norm`` bounds."""
    params = params.parameters() if isinstance(params, Module) else params
    return float(np.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params
                             if p.grad is not None)))


def clip_grad_norm(params, max_norm):
    """Scale all gradients together so that their global L2 norm is at most max_norm:

        g <- g * max_norm / ||g||   if ||g|| > max_norm,   ||g||^2 = sum of every g_i^2

    Returns the norm before clipping (as PyTorch's ``clip_grad_norm_``). Laid out
    flat, all the gradients are one array, scaled in place.
    """
    max_norm = check_number("clip_grad_norm", "max_norm", max_norm, low=0)
    params = list(params.parameters() if isinstance(params, Module) else params)
    flat = FlatParameters.of(params)  # an optimizer has laid them out, usually
    one_array = flat is not None and flat.has_grads()
    total = grad_norm(params)
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        if one_array:
            flat.grad *= scale  # in place: each parameter owns its stretch of it
        else:
            for p in params:
                if p.grad is not None:
                    # Not in place: two parameters may share one gradient array (x + x).
                    p.grad = p.grad * np.asarray(scale, p.grad.dtype)
    return total


def _pairs(target, source):
    """(target, source) arrays to update together: the two flat arrays when both
    networks are laid out flat alike (a target network is laid out on its first
    update), else one pair per parameter."""
    t, s = target.parameters(), source.parameters()
    if len(t) != len(s):
        raise ValueError(f"target and source networks differ: {len(t)} parameters "
                         f"against {len(s)}")
    flat_t, flat_s = flatten_parameters(t), flatten_parameters(s)
    if flat_t is not None and flat_s is not None and flat_t.shapes == flat_s.shapes:
        return [(flat_t.data, flat_s.data)]
    for a, b in zip(t, s):
        if a.data.shape != b.data.shape:
            raise ValueError(f"target and source networks differ: a parameter of shape "
                             f"{a.data.shape} against {b.data.shape}")
    return [(a.data, b.data) for a, b in zip(t, s)]


def hard_update(target, source):
    """theta' <- theta: copy the online network into the target network (DQN)."""
    for t, s in _pairs(target, source):
        np.copyto(t, s)


def soft_update(target, source, tau):
    """theta' <- tau theta + (1 - tau) theta' (Polyak averaging, as in DDPG)."""
    tau = check_number("soft_update", "tau", tau, 0, 1, high_inclusive=True)
    for t, s in _pairs(target, source):
        t *= 1 - tau
        t += tau * s
