"""Layers: Module (a tree of parameters), Parameter, Linear, MLP, NoisyLinear.

Names follow PyTorch (``Module``, ``parameters``, ``zero_grad``, ``state_dict``) so that
what a reader learns here carries over. Parameters are kept in the order they were
assigned, so ``parameters()`` and ``state_dict()`` are deterministic (DeZero kept them in
a set).
"""
import numpy as np

from minirl import flat
from minirl import functions as F
from minirl.core import Variable, as_array
from minirl.flat import views  # noqa: F401  (a3c.py cuts flat optimizer state with it)

__all__ = ["Parameter", "Module", "Linear", "MLP", "NoisyLinear"]


class Parameter(Variable):
    """A Variable that a Module owns and an optimizer updates (in place: ``p.data -= ...``)."""
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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__call__" not in cls.__dict__:
            # Calling a module runs its forward: bound here, it is one Python call
            # instead of two (a module is called for every layer, on every step).
            cls.__call__ = cls.forward

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def named_parameters(self, prefix=""):
        """``[(name, Parameter)]`` depth-first in registration order: 'l1.W', ..."""
        named = [(prefix + name, p) for name, p in self._params.items()]
        for name, m in self._modules.items():
            named += m.named_parameters(prefix + name + ".")
        return named

    def parameters(self):
        """``[Parameter]`` in the same order (without building the names)."""
        params = list(self._params.values())
        for m in self._modules.values():
            params += m.parameters()
        return params

    def flatten_parameters(self):
        """This module's parameters laid out in one array (``minirl/flat.py``)."""
        layout = flat.lay_out(self.parameters())
        if layout is None:
            raise ValueError(f"{type(self).__name__}.flatten_parameters: the parameters "
                             f"differ in dtype or already live in another flat array")
        return layout

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def state_dict(self):
        """Plain ``name -> ndarray`` copies: safe to save with np.savez."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy arrays into the parameters; every key must be present and fit exactly,
        with finite numbers (all checked before anything is copied: all or nothing)."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        where = f"{type(self).__name__}.load_state_dict"
        if missing or unexpected:
            raise KeyError(f"{where}: missing keys {missing}, unexpected keys {unexpected}")
        values = {}
        for name, p in own.items():
            values[name] = checked_array(where, name, state[name], p.data.shape)
        for name, p in own.items():
            p.data[...] = values[name]  # in place, as an optimizer step writes it

    def copy_from(self, other):
        """Make this module's parameters equal to another's (a hard target update)."""
        self.load_state_dict(other.state_dict())


def checked_array(where, key, value, shape):
    """``value`` as an ndarray of ``shape`` holding finite numbers, or an error naming
    ``key``: what a state dict must hold before it is loaded."""
    try:
        array = as_array(value)
    except TypeError:
        raise TypeError(f"{where}: '{key}' is not numeric: got {type(value).__name__} "
                        f"{np.asarray(value).dtype}") from None
    if array.shape != tuple(shape):
        raise ValueError(f"{where}: '{key}' has shape {array.shape}, expected {tuple(shape)}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{where}: '{key}' holds non-finite values (NaN or inf)")
    return array


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


class NoisyLinear(Module):
    """A Linear layer whose weights carry learned Gaussian noise (Fortunato et al. 2018,
    "Noisy Networks for Exploration", Eq. 9 with factorised noise, Sec. 3.2):

        y = x @ (W_mu + W_sigma * eps_W) + (b_mu + b_sigma * eps_b)

    The noise is factorised: eps_W = f(eps_in) f(eps_out)^T and eps_b = f(eps_out), with
    eps_in, eps_out standard normal and f(e) = sign(e) sqrt(|e|), so one sample costs
    in + out normal draws instead of in * out. The network learns how much noise to
    keep (W_sigma, b_sigma), so exploration anneals itself where it is not needed.

    Initialisation as in the paper's factorised case: mu uniform in [-1/sqrt(in),
    1/sqrt(in)] and sigma = sigma_0 / sqrt(in) (sigma_0 = 0.5).

    ``reset_noise()`` draws new noise from the layer's generator (the agent's, so a
    seeded run repeats); ``remove_noise()`` makes ``forward`` take the mean path
    ``x @ W_mu + b_mu``: deterministic, for evaluation. A new layer starts with noise.
    """

    def __init__(self, in_size, out_size, sigma0=0.5, dtype=np.float32, rng=None):
        super().__init__()
        for what, n in (("in_size", in_size), ("out_size", out_size)):
            if not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"NoisyLinear: {what} must be a positive int, got {n!r}")
        if not sigma0 > 0:
            raise ValueError(f"NoisyLinear: sigma0 must be > 0, got {sigma0}")
        rng = np.random.default_rng() if rng is None else rng
        self.in_size, self.out_size, self.sigma0 = int(in_size), int(out_size), sigma0
        self.rng = rng
        bound = 1.0 / np.sqrt(in_size)
        sigma = sigma0 / np.sqrt(in_size)
        self.W_mu = Parameter(rng.uniform(-bound, bound, (in_size, out_size)).astype(dtype),
                              name="W_mu")
        self.W_sigma = Parameter(np.full((in_size, out_size), sigma, dtype), name="W_sigma")
        self.b_mu = Parameter(rng.uniform(-bound, bound, out_size).astype(dtype), name="b_mu")
        self.b_sigma = Parameter(np.full(out_size, sigma, dtype), name="b_sigma")
        self.reset_noise()

    @staticmethod
    def scale_noise(e):
        """f(e) = sign(e) sqrt(|e|) (Fortunato et al. 2018, Sec. 3.2)."""
        return np.sign(e) * np.sqrt(np.abs(e))

    def reset_noise(self, rng=None):
        """Draw eps_in, eps_out ~ N(0, 1) and form eps_W = f(eps_in) f(eps_out)^T."""
        rng = self.rng if rng is None else rng
        dtype = self.W_mu.data.dtype
        eps = self.scale_noise(rng.standard_normal(self.in_size + self.out_size, dtype))
        eps_in, eps_out = eps[:self.in_size], eps[self.in_size:]
        self.eps_W = np.outer(eps_in, eps_out)
        self.eps_b = eps_out

    def remove_noise(self):
        """Use the mean weights only until the next ``reset_noise``."""
        self.eps_W = self.eps_b = None

    def forward(self, x):
        if self.eps_W is None:  # the mean path: deterministic
            return F.linear(x, self.W_mu, self.b_mu)
        W = self.W_mu + self.W_sigma * self.eps_W  # Eq. 9, factorised: one formula, with
        b = self.b_mu + self.b_sigma * self.eps_b  # or without a graph (no_grad is lean)
        return F.linear(x, W, b)


# --- convolution (images) ------------------------------------------------------------
__all__ += ["Conv2d"]


class Conv2d(Module):
    """A 2-D convolution layer: ``F.conv2d(x, W, b, stride, pad)`` with W of shape
    (out_channels, in_channels, kh, kw) and b of shape (out_channels,).

    Initialisation as PyTorch's ``nn.Conv2d``: W and b uniform in [-1/sqrt(fan_in),
    1/sqrt(fan_in)] with fan_in = in_channels * kh * kw, the inputs of one output pixel
    (as Linear's in_size).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, pad=0, bias=True,
                 dtype=np.float32, rng=None):
        super().__init__()
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"Conv2d: {what} must be a positive int, got {n!r}")
        kh, kw = F._two(kernel_size, "kernel_size")
        if kh <= 0 or kw <= 0:
            raise ValueError(f"Conv2d: kernel_size must be positive, got {kernel_size!r}")
        rng = np.random.default_rng() if rng is None else rng
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = (kh, kw)
        self.stride, self.pad = F._two(stride, "stride"), F._two(pad, "pad")
        bound = 1.0 / np.sqrt(in_channels * kh * kw)
        shape = (out_channels, in_channels, kh, kw)
        self.W = Parameter(rng.uniform(-bound, bound, shape).astype(dtype), name="W")
        self.b = Parameter(rng.uniform(-bound, bound, out_channels).astype(dtype),
                           name="b") if bias else None

    def forward(self, x):
        return F.conv2d(x, self.W, self.b, self.stride, self.pad)
