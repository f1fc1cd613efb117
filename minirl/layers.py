"""Layers: Module (a tree of parameters), Parameter, Linear, MLP.

Names follow PyTorch (``Module``, ``params``, ``zero_grad``, ``state_dict``) so that what
a reader learns here carries over. Parameters are kept in the order they were assigned,
so ``params()`` and ``state_dict()`` are deterministic (DeZero kept them in a set).
"""
import numpy as np

from minirl import functions as F
from minirl.core import Variable, as_array

__all__ = ["Parameter", "Module", "Linear", "MLP"]


class Parameter(Variable):
    """A Variable that a Module owns and an optimizer updates."""
    __slots__ = ()


class Module:
    """A container of Parameters and sub-Modules, registered by attribute assignment.

    ``self.W = Parameter(...)`` and ``self.l1 = Linear(...)`` register in assignment
    order; calling the module runs ``forward``.
    """

    def __init__(self):
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_modules", {})

    def __setattr__(self, name, value):
        if "_params" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call "
                               f"super().__init__() before assigning attributes")
        self._params.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._params[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def named_params(self, prefix=""):
        """Yield ``(name, Parameter)`` depth-first in registration order: 'l1.W', ..."""
        for name, p in self._params.items():
            yield prefix + name, p
        for name, m in self._modules.items():
            yield from m.named_params(prefix + name + ".")

    def params(self):
        return [p for _, p in self.named_params()]

    def zero_grad(self):
        for p in self.params():
            p.grad = None

    def state_dict(self):
        """Plain ``name -> ndarray`` copies: safe to save with np.savez."""
        return {name: p.data.copy() for name, p in self.named_params()}

    def load_state_dict(self, state):
        """Copy arrays into the parameters; every key must be present and fit exactly."""
        own = dict(self.named_params())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if missing or unexpected:
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing keys "
                           f"{missing}, unexpected keys {unexpected}")
        for name, p in own.items():
            value = as_array(state[name])
            if value.shape != p.data.shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: '{name}' has "
                                 f"shape {value.shape}, the parameter has {p.data.shape}")
        for name, p in own.items():  # only after every key checked: all or nothing
            p.data = as_array(state[name]).astype(p.data.dtype, copy=True)

    def copy_from(self, other):
        """Make this module's parameters equal to another's (a hard target update)."""
        self.load_state_dict(other.state_dict())


class Linear(Module):
    """y = x @ W + b with W of shape (in_size, out_size) and b of shape (out_size,).

    Initialisation as PyTorch's ``nn.Linear``: W and b uniform in
    [-1/sqrt(in_size), 1/sqrt(in_size)], which keeps the output's variance independent
    of the layer's width. ``rng`` (an ``np.random.Generator``) makes it reproducible.
    """

    def __init__(self, in_size, out_size, bias=True, dtype=np.float32, rng=None):
        super().__init__()
        for what, n in (("in_size", in_size), ("out_size", out_size)):
            if not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"Linear: {what} must be a positive int, got {n!r}")
        rng = np.random.default_rng() if rng is None else rng
        bound = 1.0 / np.sqrt(in_size)
        self.in_size, self.out_size = int(in_size), int(out_size)
        self.W = Parameter(rng.uniform(-bound, bound, (in_size, out_size)).astype(dtype),
                           name="W")
        self.b = Parameter(rng.uniform(-bound, bound, out_size).astype(dtype),
                           name="b") if bias else None

    def forward(self, x):
        return F.linear(x, self.W, self.b)


class MLP(Module):
    """Linear layers of the given sizes with an activation between them.

    ``MLP((4, 128, 128, 2))`` is 4 -> 128 -> ReLU -> 128 -> ReLU -> 2; the last layer
    has no activation unless ``output_activation`` is given.
    """

    def __init__(self, sizes, activation=F.relu, output_activation=None,
                 dtype=np.float32, rng=None):
        super().__init__()
        sizes = tuple(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least (in, out) sizes, got {sizes}")
        rng = np.random.default_rng() if rng is None else rng
        self.sizes = sizes
        self.activation, self.output_activation = activation, output_activation
        self.layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layer = Linear(n_in, n_out, dtype=dtype, rng=rng)
            setattr(self, f"l{i}", layer)  # registers 'l0.W', 'l0.b', 'l1.W', ...
            self.layers.append(layer)

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        x = self.layers[-1](x)
        return self.output_activation(x) if self.output_activation else x
