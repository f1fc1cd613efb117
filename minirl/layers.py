"""Layers: Module (a tree of parameters), Parameter, Linear, MLP, NoisyLinear.

Names follow PyTorch (``Module``, ``parameters``, ``zero_grad``, ``state_dict``) so that
what a reader learns here carries over. Parameters are kept in the order they were
assigned, so ``parameters()`` and ``state_dict()`` are deterministic (DeZero kept them in
a set).

The flat layout (``FlatParameters``, below ``Parameter``): a module's parameters, and
their gradients, can live as views into one contiguous array, so everything that
treats all parameters alike -- an optimizer step, gradient clipping, a target-network
update, A3C's shared memory -- is a few NumPy calls on one array instead of a few per
parameter. Optimizers lay their parameters out this way when they are built.
"""
import math
from operator import attrgetter

import numpy as np

from minirl import functions as F
from minirl.core import Variable, as_array

__all__ = ["Parameter", "FlatParameters", "flatten_parameters", "flat_runs", "Module",
           "Linear", "MLP", "NoisyLinear"]


class Parameter(Variable):
    """A Variable that a Module owns and an optimizer updates.

    Once laid out flat (``FlatParameters``), ``data`` and ``grad`` are views into the
    layout's two arrays, and assigning them copies into those views: ``p.data = x``
    and ``p.grad = g`` keep working, and the layout is never broken. ``p.grad`` is
    None until a gradient arrives, as for any Variable.
    """
    __slots__ = ("_data", "_grad", "flat", "grad_view")

    def __init__(self, data, name=None, requires_grad=True):
        self.flat = self.grad_view = None  # set by FlatParameters
        super().__init__(data, name, requires_grad)

    def _set_data(self, value):
        if self.flat is None:
            self._data = value
            return
        if value is self._data:  # ``p.data *= c`` has already written the view
            return
        value = np.asarray(value)
        if value.shape == self._data.shape and value.dtype == self._data.dtype:
            np.copyto(self._data, value)
            return
        # Another shape or dtype cannot live in the flat array: the parameter leaves it
        # (and the layout stops being used as one array; see FlatParameters.intact).
        self.flat.intact = False
        self.flat = self.grad_view = None
        self._data = value

    def _set_grad(self, value):
        if value is None or self.grad_view is None:
            self._grad = value
            return
        if value is not self.grad_view:
            value = np.asarray(value)
            if value.shape != self.grad_view.shape:
                raise ValueError(f"Parameter {self.name or ''}: gradient of shape "
                                 f"{value.shape} for a parameter of shape "
                                 f"{self.grad_view.shape}")
            np.copyto(self.grad_view, value, casting="same_kind")
        self._grad = self.grad_view

    # attrgetter: a C-level getter, so reading p.data costs little more than a slot.
    data = property(attrgetter("_data"), _set_data)
    grad = property(attrgetter("_grad"), _set_grad)


class FlatParameters:
    """Parameters laid out end to end in one contiguous array; their gradients too.

        data = [ l0.W (4 x 128) | l0.b (128) | l1.W (128 x 128) | l1.b | ... ]
                 ^ l0.W.data is data[0:512].reshape(4, 128), a view

    ``data`` holds every parameter in order and ``grad`` every gradient, each
    ``Parameter``'s ``data`` and ``grad`` a view of its stretch. Code that uses one
    parameter sees no difference; code that treats them all alike runs on one array:
    an optimizer step ``theta <- theta - lr * g`` for all of them is ONE NumPy
    expression on ``data`` and ``grad``, and the backward pass already wrote every
    gradient into ``grad`` (``Linear`` computes its gW and gb there directly,
    ``Function.grad_buffer``; for any other op the ``Parameter.grad`` setter copies
    into the view).

    ``grad`` holds all the gradients only when every parameter has one
    (``has_grads()``); a parameter without one keeps ``grad`` None. A single
    contiguous 1-D parameter is already flat: its array is adopted, not copied.
    Assigning a parameter an array of another shape or dtype takes it out of the
    layout, which is then no longer ``intact`` (and never treated as one array).
    """
    intact = True

    def __init__(self, params):
        params = list(params)
        if not params:
            raise ValueError("FlatParameters: got no parameters")
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError(f"FlatParameters: {p!r} is not a Parameter")
            if p.flat is not None:
                raise ValueError(f"FlatParameters: parameter {p.name!r} is already laid "
                                 f"out in another flat array")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("FlatParameters: a parameter appears twice")
        dtypes = {p.data.dtype for p in params}
        if len(dtypes) != 1:
            raise ValueError(f"FlatParameters: parameters of one dtype needed, got "
                             f"{sorted(map(str, dtypes))}")
        self.params = params
        self.shapes = [p.data.shape for p in params]
        self.size = sum(p.data.size for p in params)
        only = params[0].data
        if len(params) == 1 and only.ndim == 1 and only.flags.c_contiguous:
            data = only  # already one flat array (A3C's theta in shared memory)
        else:
            data = np.concatenate([p.data.reshape(-1) for p in params])
        self.grad = np.zeros_like(data)
        for p, view in zip(params, self.views(self.grad)):
            if p.grad is not None:
                np.copyto(view, p.grad, casting="same_kind")
                p._grad = view
            p.grad_view = view
        self.bind(data)

    def views(self, array):
        """Per-parameter views of a flat array laid out like ``data`` (shaped alike)."""
        return views(array, self.shapes)

    def bind(self, data):
        """Make the parameters views of ``data`` (a 1-D array of the layout's size and
        dtype, such as shared memory): their values are what ``data`` holds."""
        if data.shape != (self.size,) or data.dtype != self.params[0].data.dtype:
            raise ValueError(f"FlatParameters.bind: needs a 1-D array of "
                             f"{self.size} {self.params[0].data.dtype}, got shape "
                             f"{data.shape} of {data.dtype}")
        self.data = data
        for p, view in zip(self.params, self.views(data)):
            p._data = view
            p.flat = self

    def has_grads(self):
        """Whether every parameter has a gradient, so that ``grad`` holds them all."""
        if not self.intact:
            return False
        for p in self.params:
            if p._grad is None:
                return False
        return True

    def grad_or_zeros(self):
        """``grad``, with zeros for the parameters that received no gradient."""
        for p in self.params:
            if p._grad is None:
                p.grad_view.fill(0)
        return self.grad

    @staticmethod
    def of(params):
        """The layout that holds exactly ``params``, in this order, or None."""
        first = params[0] if params else None
        flat = first.flat if isinstance(first, Parameter) else None
        if flat is None or not flat.intact or flat.params != list(params):
            return None
        return flat


def views(array, shapes):
    """Consecutive views of the 1-D ``array``, one of each shape: the flat layout."""
    out, offset = [], 0
    for shape in shapes:
        n = math.prod(shape)  # a Python int, as exact as np.prod and far cheaper per call
        out.append(array[offset:offset + n].reshape(shape))
        offset += n
    return out


def flatten_parameters(params):
    """The FlatParameters of ``params``: the existing one, or a new layout if none of
    them is laid out yet and they share a dtype; None if they cannot share one array
    (then each is updated on its own, with the same formulas)."""
    params = list(params)
    flat = FlatParameters.of(params)
    if flat is not None:
        return flat
    if (params and all(isinstance(p, Parameter) and p.flat is None for p in params)
            and len({p.data.dtype for p in params}) == 1
            and len({id(p) for p in params}) == len(params)):
        return FlatParameters(params)
    return None


def flat_runs(params):
    """``params`` as consecutive runs that each fill one flat layout: ``[(layout, i, j)]``
    with ``params[i:j]`` exactly ``layout.params``.

    Usually one run: the layout made for ``params`` now, or the one they already share.
    Networks laid out one by one and then trained together give one run each (SAC's
    and TD3's two critics, each laid out when its target network was first synced),
    so an optimizer still updates whole arrays. ``[(None, 0, len(params))]`` where no
    such cover exists: then each parameter is updated on its own.
    """
    params = list(params)
    flat = flatten_parameters(params)
    if flat is not None:
        return [(flat, 0, len(params))]
    runs, i = [], 0
    while i < len(params):
        first = params[i]
        flat = first.flat if isinstance(first, Parameter) else None
        j = i + (len(flat.params) if flat is not None else 0)
        if flat is None or FlatParameters.of(params[i:j]) is not flat:
            return [(None, 0, len(params))]
        runs.append((flat, i, j))
        i = j
    return runs


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
        """Lay this module's parameters out in one array (once); the FlatParameters."""
        flat = flatten_parameters(self.parameters())
        if flat is None:
            raise ValueError(f"{type(self).__name__}.flatten_parameters: the parameters "
                             f"differ in dtype or already live in another flat array")
        return flat

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
            p.data = values[name].astype(p.data.dtype, copy=True)

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
