"""Optimizers (SGD, Adam, RMSprop), gradient clipping, and target-network updates.

Each ``step()`` updates ``p.data`` in place from ``p.grad``, by the formula of the
optimizer's paper written on arrays (``update``). Optimizer state is plain ndarrays, so it
can be checkpointed: ``state_dict()`` / ``load_state_dict()``, one key per statistic and
parameter.
"""
import numbers

import numpy as np

from minirl import flat
from minirl.layers import Module, checked_array

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "grad_norm", "clip_grad_norm", "hard_update",
           "soft_update", "check_number", "flush_to_zero"]


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
    """Holds the parameters and, for each, the statistics its update keeps.

    A subclass names its per-parameter statistics in ``state_names`` (each one array
    laid out like the parameters, end to end), its scalar counters in ``counter_names``,
    and writes ``update(theta, g, *statistics)``: its paper's formula on arrays, in place.
    """
    state_names = ()
    counter_names = ()
    counters_added_later = ()  # counters older checkpoints lack: loaded as 0 if missing

    def __init__(self, params, lr):
        name = type(self).__name__
        self.params = list(params.parameters() if isinstance(params, Module) else params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        self.lr = check_number(name, "lr (the learning rate)", lr, low=0)
        self.shapes = [p.data.shape for p in self.params]
        self.dtype = np.result_type(*[p.data.dtype for p in self.params])
        self.flat = flat.lay_out(self.params)  # one array for all of them (flat.py)

    def zeros(self):
        """A statistic of every parameter, all zero: one array, the parameters end to end."""
        return np.zeros(sum(p.data.size for p in self.params), self.dtype)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient (as PyTorch, skip the others)."""
        statistics = [getattr(self, name) for name in self.state_names]
        g = None if self.flat is None else self.flat.gather_grads()
        if g is not None:  # every parameter has a gradient: all of them as one array
            self.update(self.flat.data, g, *statistics)
            return
        per_parameter = [flat.views(s, self.shapes) for s in statistics]
        for k, p in enumerate(self.params):
            if p.grad is not None:
                self.update(p.data, p.grad, *[s[k] for s in per_parameter])

    def update(self, theta, g, *statistics):
        raise NotImplementedError

    # Optimizer state, as plain arrays for an .npz checkpoint: 't', 'm.0', 'v.0', ...
    def state_dict(self):
        state = {name: np.array(getattr(self, name)) for name in self.counter_names}
        per_parameter = {name: flat.views(getattr(self, name), self.shapes)
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
            if key not in state and key not in self.counters_added_later:
                raise KeyError(f"{where}: missing '{key}'")
        counters = {}
        for name in self.counter_names:
            value = checked_array(where, name, state.get(name, np.array(0)), ())
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
            for view, part in zip(flat.views(getattr(self, name), self.shapes), parts):
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

    with the two bias corrections folded into scalars (the paper's own remark after
    Algorithm 1), which is the same step with fewer array operations:

        lr * m_hat / (sqrt(v_hat) + eps) = step_size * m / (sqrt(v) + eps_hat),
        step_size = lr * sqrt(1 - b2^t) / (1 - b1^t),   eps_hat = eps * sqrt(1 - b2^t)

    The step is formed in float64 (``step_size`` is a float64) and rounded once, when it
    is subtracted from theta.
    """
    state_names = ("m", "v")
    counter_names = ("t",)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (b1, b2), got {betas!r}")
        self.b1 = check_number("Adam", "betas[0]", betas[0], 0, 1, low_inclusive=True)
        self.b2 = check_number("Adam", "betas[1]", betas[1], 0, 1, low_inclusive=True)
        self.eps = check_number("Adam", "eps", eps, 0, low_inclusive=True)
        self.t = 0
        self.m, self.v = self.zeros(), self.zeros()

    def step(self):
        self.t += 1  # one time step per call, shared by all parameters
        correction1 = 1 - self.b1 ** self.t
        correction2 = np.sqrt(1 - self.b2 ** self.t)
        self.step_size = self.lr * correction2 / correction1
        self.eps_hat = self.eps * correction2
        super().step()
        if self.t % 100 == 0:  # often enough, and at 1% of the cost of every step
            flush_to_zero(self.m, self.v)

    def update(self, theta, g, m, v):
        m += (1 - self.b1) * (g - m)      # m <- b1 m + (1 - b1) g
        v += (1 - self.b2) * (g * g - v)  # v <- b2 v + (1 - b2) g^2
        denominator = np.sqrt(v)
        denominator += self.eps_hat       # (sqrt(v_hat) + eps) sqrt(1 - b2^t)
        theta -= self.step_size * m / denominator


class RMSprop(Optimizer):
    """PyTorch's form (Tieleman & Hinton 2012, lecture 6e):

        v <- alpha v + (1 - alpha) g^2,   theta <- theta - lr g / (sqrt(v) + eps)
    """
    state_names = ("v",)
    counter_names = ("t",)
    counters_added_later = ("t",)  # a checkpoint from before RMSprop counted its steps

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
        super().__init__(params, lr)
        self.alpha = check_number("RMSprop", "alpha", alpha, 0, 1, low_inclusive=True)
        self.eps = check_number("RMSprop", "eps", eps, 0, low_inclusive=True)
        self.t = 0  # steps taken: only to flush on the same steps after a resume
        self.v = self.zeros()

    def step(self):
        self.t += 1
        super().step()
        if self.t % 100 == 0:  # as Adam: often enough, at 1% of the cost of every step
            flush_to_zero(self.v)

    def update(self, theta, g, v):
        v += (1 - self.alpha) * (g * g - v)  # v <- alpha v + (1 - alpha) g^2
        denominator = np.sqrt(v)
        denominator += self.eps
        theta -= self.lr * g / denominator


def flush_to_zero(*statistics):
    """Set the entries below the smallest normal float (1.2e-38 in float32) to zero.

    A parameter whose gradient is exactly zero for good (the weights of a dead ReLU unit)
    has moments that decay by b1 or b2 every step until they fall into the subnormal
    floats, where rounding keeps them forever: late in a DQN run a third of Adam's first
    moments are there, and arithmetic on subnormals is about ten times slower on common
    CPUs (docs/engine.md, "Speed"). At that size a moment moves its parameter by less
    than 1e-30, nothing a float32 parameter can hold, so zero changes no step. Adam and
    RMSprop flush on every 100th step (their t is checkpointed, so a resumed run flushes
    on the same steps): a dead unit's statistics spend at most 99 steps subnormal, and
    once zero they stay zero. (Below about 3e-44 RMSprop's v + (1 - alpha)(0 - v) rounds
    back to v, so without the flush they would stay subnormal for good.)
    """
    for s in statistics:
        s[np.abs(s) < np.finfo(s.dtype).tiny] = 0


def grad_norm(params):
    """The global L2 norm of all the gradients together, ||g|| = sqrt(sum_i ||g_i||^2)
    (parameters without a gradient count as zero): what ``clip_grad_norm`` bounds."""
    params = params.parameters() if isinstance(params, Module) else params
    return float(np.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params
                             if p.grad is not None)))


def clip_grad_norm(params, max_norm):
    """Scale all gradients together so that their global L2 norm is at most max_norm:

        g <- g * max_norm / ||g||   if ||g|| > max_norm,   ||g||^2 = sum of every g_i^2

    Returns the norm before clipping (as PyTorch's ``clip_grad_norm_``).
    """
    max_norm = check_number("clip_grad_norm", "max_norm", max_norm, low=0)
    params = list(params.parameters() if isinstance(params, Module) else params)
    total = grad_norm(params)
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for p in params:
            if p.grad is not None:
                # Not in place: two parameters may share one gradient array (x + x).
                p.grad = p.grad * np.asarray(scale, p.grad.dtype)
    return total


def _pairs(target, source):
    """(target, source) arrays to update together: one pair of arrays when both networks
    are laid out flat (the target is laid out on its first update), else one pair per
    parameter."""
    t, s = target.parameters(), source.parameters()
    if len(t) != len(s):
        raise ValueError(f"target and source networks differ: {len(t)} parameters "
                         f"against {len(s)}")
    for a, b in zip(t, s):
        if a.data.shape != b.data.shape:
            raise ValueError(f"target and source networks differ: a parameter of shape "
                             f"{a.data.shape} against {b.data.shape}")
    flat_t, flat_s = flat.lay_out(t), flat.find(s)
    if flat_t is not None and flat_s is not None:
        return [(flat_t.data, flat_s.data)]
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
