"""Optimizers (SGD, Adam, RMSprop), gradient clipping, and target-network updates.

Each ``step()`` updates ``p.data`` in place from ``p.grad`` for every parameter that has
a gradient. Optimizer state is plain ndarrays so it can be checkpointed:
``state_dict()`` / ``load_state_dict()``.
"""
import numpy as np

from minirl.layers import Module

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "clip_grad_norm", "hard_update",
           "soft_update"]


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params.params() if isinstance(params, Module) else params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be > 0, got {lr}")
        self.lr = lr

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self.update(i, p)

    def update(self, i, p):
        raise NotImplementedError

    # Optimizer state, as plain arrays for an .npz checkpoint.
    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        own = self.state_dict()
        for key, value in own.items():
            if key not in state:
                raise KeyError(f"{type(self).__name__}.load_state_dict: missing '{key}'")
            if np.shape(state[key]) != np.shape(value):
                raise ValueError(f"{type(self).__name__}.load_state_dict: '{key}' has "
                                 f"shape {np.shape(state[key])}, expected {np.shape(value)}")
        self._load(state)

    def _load(self, state):
        pass


class SGD(Optimizer):
    """p <- p - lr * g, or with momentum: v <- mu v + g, p <- p - lr v (PyTorch's form)."""

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params, lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum
        self.velocity = [np.zeros_like(p.data) for p in self.params] if momentum else None

    def update(self, i, p):
        if self.momentum:
            v = self.velocity[i]
            v *= self.momentum
            v += p.grad
            p.data -= self.lr * v
        else:
            p.data -= self.lr * p.grad

    def state_dict(self):
        if not self.momentum:
            return {}
        return {f"velocity.{i}": v.copy() for i, v in enumerate(self.velocity)}

    def _load(self, state):
        if self.momentum:
            self.velocity = [np.array(state[f"velocity.{i}"], dtype=p.data.dtype)
                             for i, p in enumerate(self.params)]


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1), bias-corrected:

        m <- b1 m + (1 - b1) g            v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)            v_hat = v / (1 - b2^t)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas}")
        if eps < 0:
            raise ValueError(f"Adam: eps must be >= 0, got {eps}")
        self.b1, self.b2, self.eps = b1, b2, eps
        self.t = 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        self.t += 1  # one time step per call, shared by all parameters
        # The bias corrections folded into two scalars, so the loop does array work only:
        # lr * m_hat / (sqrt(v_hat) + eps) = step_size * m / (sqrt(v) + eps_hat).
        correction1 = 1 - self.b1 ** self.t
        correction2 = np.sqrt(1 - self.b2 ** self.t)
        self.step_size = self.lr * correction2 / correction1
        self.eps_hat = self.eps * correction2
        super().step()

    def update(self, i, p):
        g, m, v = p.grad, self.m[i], self.v[i]
        m += (1 - self.b1) * (g - m)          # = b1 m + (1 - b1) g
        v += (1 - self.b2) * (g * g - v)      # = b2 v + (1 - b2) g^2
        denominator = np.sqrt(v)
        denominator += self.eps_hat
        p.data -= self.step_size * m / denominator

    def state_dict(self):
        state = {"t": np.array(self.t)}
        for i in range(len(self.params)):
            state[f"m.{i}"], state[f"v.{i}"] = self.m[i].copy(), self.v[i].copy()
        return state

    def _load(self, state):
        self.t = int(state["t"])
        self.m = [np.array(state[f"m.{i}"], dtype=p.data.dtype) for i, p in enumerate(self.params)]
        self.v = [np.array(state[f"v.{i}"], dtype=p.data.dtype) for i, p in enumerate(self.params)]


class RMSprop(Optimizer):
    """v <- alpha v + (1 - alpha) g^2, p <- p - lr g / (sqrt(v) + eps) (PyTorch's form)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8):
        super().__init__(params, lr)
        if not 0 <= alpha < 1:
            raise ValueError(f"RMSprop: alpha must be in [0, 1), got {alpha}")
        self.alpha, self.eps = alpha, eps
        self.v = [np.zeros_like(p.data) for p in self.params]

    def update(self, i, p):
        g, v = p.grad, self.v[i]
        v += (1 - self.alpha) * (g * g - v)
        p.data -= self.lr * g / (np.sqrt(v) + self.eps)

    def state_dict(self):
        return {f"v.{i}": v.copy() for i, v in enumerate(self.v)}

    def _load(self, state):
        self.v = [np.array(state[f"v.{i}"], dtype=p.data.dtype) for i, p in enumerate(self.params)]


def clip_grad_norm(params, max_norm):
    """Scale all gradients together so their global L2 norm is at most ``max_norm``.

    Returns the norm before clipping (as PyTorch's ``clip_grad_norm_``).
    """
    if max_norm <= 0:
        raise ValueError(f"clip_grad_norm: max_norm must be > 0, got {max_norm}")
    params = params.params() if isinstance(params, Module) else params
    params = [p for p in params if p.grad is not None]
    total = float(np.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params)))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for p in params:
            # Not in place: two parameters may share one gradient array (x + x).
            p.grad = p.grad * np.asarray(scale, p.grad.dtype)
    return total


def hard_update(target, source):
    """theta' <- theta: copy the online network into the target network (DQN)."""
    target.copy_from(source)


def soft_update(target, source, tau):
    """theta' <- tau theta + (1 - tau) theta' (Polyak averaging, as in DDPG)."""
    if not 0 < tau <= 1:
        raise ValueError(f"soft_update: tau must be in (0, 1], got {tau}")
    for t, s in zip(target.params(), source.params(), strict=True):
        t.data *= 1 - tau
        t.data += tau * s.data
