"""Differentiable ops: each a Function with ``forward`` and ``backward`` on ndarrays.

Every op is written as the pair of formulas a reader would derive on paper: the value
``y = f(x)`` and the vector-Jacobian product ``gx = gy * dy/dx``. Broadcasting is not
handled here: the backward loop in ``core.py`` sums each gradient back to its input's
shape. Ops never change the dtype of their inputs (float32 stays float32).
"""
import numpy as np

from minirl import core, nograd
from minirl.core import Function, Variable, as_variable

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "square", "sqrt",
    "exp", "log", "tanh", "sigmoid", "relu",
    "softmax", "log_softmax", "logsumexp", "layer_norm",
    "sum", "mean", "max", "min", "minimum", "maximum",
    "reshape", "transpose", "broadcast_to", "sum_to",
    "matmul", "linear", "clip", "concat", "get_item", "pick",
    "mean_squared_error", "huber", "huber_loss", "softmax_cross_entropy",
]


def _pair(x0, x1):
    """Wrap a binary op's operands, giving a Python number the other side's dtype."""
    if isinstance(x0, Variable):
        return x0, as_variable(x1, dtype=x0.data.dtype)
    x1 = as_variable(x1)
    return as_variable(x0, dtype=x1.data.dtype), x1


def _normalize_axis(axis, ndim):
    """axis (None, int or tuple, negatives allowed) -> sorted tuple of axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dims")
        out.append(a % ndim)
    return tuple(sorted(out))


def _expand_reduced(gy, x_shape, axis, keepdims):
    """Give a reduction's gradient back the reduced axes, ready to broadcast to x."""
    if keepdims or not x_shape:
        return gy
    axes = _normalize_axis(axis, len(x_shape))
    shape = [1 if i in axes else n for i, n in enumerate(x_shape)]
    return gy.reshape(shape)


# --- arithmetic ---------------------------------------------------------------------
class Add(Function):
    def forward(self, x0, x1):
        return x0 + x1

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    def forward(self, x0, x1):
        return x0 - x1

    def backward(self, gy):
        return gy, -gy


class Mul(Function):
    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        return gy * x1, gy * x0


class Div(Function):
    def forward(self, x0, x1):
        return x0 / x1

    def backward(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        gx0 = gy / x1
        return gx0, -gx0 * x0 / x1


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = x ** c for a constant exponent c; dy/dx = c * x ** (c - 1)."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * (self.c * x ** (self.c - 1))


def add(x0, x1):
    return Add()(*_pair(x0, x1))


def sub(x0, x1):
    return Sub()(*_pair(x0, x1))


def mul(x0, x1):
    return Mul()(*_pair(x0, x1))


def div(x0, x1):
    return Div()(*_pair(x0, x1))


def neg(x):
    return Neg()(x)


def pow(x, c):
    if isinstance(c, Variable):
        raise TypeError("pow: the exponent must be a constant number, not a Variable")
    x = as_variable(x)
    return Pow(np.asarray(c, dtype=x.data.dtype) if isinstance(c, float) else c)(x)


def square(x):
    return pow(x, 2)


def sqrt(x):
    return pow(x, 0.5)


# --- element-wise functions --------------------------------------------------------
class Exp(Function):
    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y  # d exp(x) = exp(x)


class Log(Function):
    def forward(self, x):
        return np.log(x)

    def backward(self, gy):
        return gy / self.inputs[0].data


class Tanh(Function):
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y * self.y)  # d tanh = 1 - tanh^2


class Sigmoid(Function):
    def forward(self, x):
        # sigmoid(x) = (1 + tanh(x/2)) / 2: the same function, with no exp to overflow.
        self.y = np.tanh(x * np.asarray(0.5, x.dtype)) * np.asarray(0.5, x.dtype) + \
            np.asarray(0.5, x.dtype)
        return self.y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)


class ReLU(Function):
    def forward(self, x):
        # Against an array of zeros, not the scalar 0: NumPy's vector loop wants both
        # operands contiguous, and a broadcast scalar ran 3x slower here.
        return np.maximum(x, np.zeros(x.shape, x.dtype))

    def backward(self, gy):
        # The gradient at exactly 0 is taken as 0, as PyTorch does.
        return gy * (self.inputs[0].data > 0)


def exp(x):
    return Exp()(x)


def log(x):
    return Log()(x)


def tanh(x):
    return Tanh()(x)


def sigmoid(x):
    return Sigmoid()(x)


def relu(x):
    if not core.Config.enable_backprop:
        return nograd.relu(ReLU, x)  # no graph to build: faster (minirl/nograd.py)
    return ReLU()(x)


# --- softmax family ----------------------------------------------------------------
def _logsumexp(x, axis):
    """log sum exp x, shifted by the max so that exp never overflows (keepdims)."""
    m = x.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """y_i = exp(x_i - max x) / sum_j exp(x_j - max x); gx = y * (gy - sum(gy * y))."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, gy):
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x); gx = gy - softmax(x) * sum(gy)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.y = x - _logsumexp(x, self.axis)
        return self.y

    def backward(self, gy):
        return gy - np.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


class LogSumExp(Function):
    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.y = _logsumexp(x, self.axis)  # keepdims, for backward
        return self.y if self.keepdims else np.squeeze(self.y, axis=self.axis)

    def backward(self, gy):
        x = self.inputs[0].data
        gy = _expand_reduced(gy, x.shape, self.axis, self.keepdims)
        return gy * np.exp(x - self.y)  # d logsumexp / dx = softmax(x)


def softmax(x, axis=-1):
    return Softmax(axis)(x)


def log_softmax(x, axis=-1):
    return LogSoftmax(axis)(x)


def logsumexp(x, axis=-1, keepdims=False):
    return LogSumExp(axis, keepdims)(x)


# --- normalisation -----------------------------------------------------------------
class LayerNorm(Function):
    """y = (x - mu) / sqrt(var + eps), mu and var over the last axis: layer
    normalisation (Ba et al. 2016, Sec. 3) without its learned gain and bias.

    With s = 1 / sqrt(var + eps), one line of the chain rule through mu and var:
    gx = s (gy - mean(gy) - y mean(gy y)), the means over the last axis.
    """

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x):
        d = x - x.mean(axis=-1, keepdims=True)
        self.s = 1 / np.sqrt((d * d).mean(axis=-1, keepdims=True) + self.eps)
        self.y = d * self.s
        return self.y

    def backward(self, gy):
        y = self.y
        return self.s * (gy - gy.mean(axis=-1, keepdims=True)
                         - y * (gy * y).mean(axis=-1, keepdims=True))


def layer_norm(x, eps=1e-5):
    """Each row of x (the last axis) shifted to mean 0 and scaled to variance 1."""
    return LayerNorm(eps)(x)


# --- reductions --------------------------------------------------------------------
class Sum(Function):
    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        _normalize_axis(self.axis, x.ndim)  # a bad axis is named before NumPy's error
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        shape = self.inputs[0].data.shape
        return np.broadcast_to(_expand_reduced(gy, shape, self.axis, self.keepdims),
                               shape)


class Mean(Function):
    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        _normalize_axis(self.axis, x.ndim)  # a bad axis is named before NumPy's error
        # The sum, then one division: np.mean computes the same (a pairwise sum in
        # x's dtype) behind a Python wrapper that costs more than the sum itself.
        total = np.add.reduce(x, axis=self.axis, keepdims=self.keepdims)
        self.count = x.size // total.size if total.size else 0
        if x.dtype.kind == "f":
            return total / np.asarray(self.count, x.dtype)  # stays float32
        return total / self.count

    def backward(self, gy):
        shape = self.inputs[0].data.shape
        gy = _expand_reduced(gy, shape, self.axis, self.keepdims)
        return np.broadcast_to(gy / np.asarray(self.count, gy.dtype), shape)


class Max(Function):
    """y = max over axis.

    Ties share the gradient equally: if k elements tie for the max, each gets gy / k
    (the subgradient PyTorch's ``amax`` uses), so the gradient's sum stays gy.
    """

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        _normalize_axis(self.axis, x.ndim)
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0].data
        y = _expand_reduced(self.output().data, x.shape, self.axis, self.keepdims)
        gy = _expand_reduced(gy, x.shape, self.axis, self.keepdims)
        mask = (x == y)
        return gy * mask / mask.sum(axis=self.axis, keepdims=True).astype(gy.dtype)


def sum(x, axis=None, keepdims=False):
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    return Mean(axis, keepdims)(x)


def max(x, axis=None, keepdims=False):
    return Max(axis, keepdims)(x)


def min(x, axis=None, keepdims=False):
    return -max(-as_variable(x), axis, keepdims)


# --- element-wise minimum and maximum --------------------------------------------------
def _to_the_chosen(gy, x0_lost, x1_lost, tie):
    """(gx0, gx1) of an element-wise min or max: gy goes to the input that was chosen,
    and where the two tie each gets gy / 2, so that gx0 + gx1 = gy. (PyTorch's rule for
    ``torch.minimum``/``maximum``; with a NaN neither input lost, so both get gy.)"""
    share = np.where(tie, gy * 0.5, gy)
    return np.where(x0_lost, 0, share), np.where(x1_lost, 0, share)


class Minimum(Function):
    """y = min(x0, x1) element by element (NumPy's broadcasting; NaN propagates)."""

    def forward(self, x0, x1):
        return np.minimum(x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        return _to_the_chosen(gy, x0 > x1, x1 > x0, x0 == x1)


class Maximum(Function):
    """y = max(x0, x1) element by element (NumPy's broadcasting; NaN propagates)."""

    def forward(self, x0, x1):
        return np.maximum(x0, x1)

    def backward(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        return _to_the_chosen(gy, x0 < x1, x1 < x0, x0 == x1)


def minimum(x0, x1):
    return Minimum()(*_pair(x0, x1))


def maximum(x0, x1):
    return Maximum()(*_pair(x0, x1))


# --- shapes ------------------------------------------------------------------------
class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.inputs[0].data.shape)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return gy.transpose()
        return gy.transpose(np.argsort(self.axes))  # the inverse permutation


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, gy):
        return core.sum_to(gy, self.inputs[0].data.shape)


class SumTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return core.sum_to(x, self.shape)

    def backward(self, gy):
        return np.broadcast_to(gy, self.inputs[0].data.shape)


def reshape(x, shape):
    x = as_variable(x)
    return x if x.shape == tuple(shape) else Reshape(shape)(x)


def transpose(x, axes=None):
    return Transpose(axes)(x)


def broadcast_to(x, shape):
    x = as_variable(x)
    return x if x.shape == tuple(shape) else BroadcastTo(shape)(x)


def sum_to(x, shape):
    x = as_variable(x)
    return x if x.shape == tuple(shape) else SumTo(shape)(x)


# --- linear algebra ----------------------------------------------------------------
class MatMul(Function):
    """y = x @ W (NumPy's matmul rules); gx = gy @ W^T, gW = x^T @ gy."""

    def forward(self, x, W):
        return np.matmul(x, W)

    def backward(self, gy):
        x, W = self.inputs[0].data, self.inputs[1].data
        # A 1-D operand is a row (x) or a column (W) vector to matmul: make it 2-D so
        # one formula serves, then drop the axis again.
        x2 = x[None, :] if x.ndim == 1 else x
        W2 = W[:, None] if W.ndim == 1 else W
        if W.ndim == 1:
            gy = gy[..., None]
        if x.ndim == 1:
            gy = gy[..., None, :]
        gx = gW = None
        if self.needs_grad(0):
            gx = np.matmul(gy, np.swapaxes(W2, -1, -2))
            gx = gx[..., 0, :] if x.ndim == 1 else gx
        if self.needs_grad(1):
            gW = np.matmul(np.swapaxes(x2, -1, -2), gy)
            gW = gW[..., 0] if W.ndim == 1 else gW
        return gx, gW


class Linear(Function):
    """y = x @ W + b with W shaped (in, out): the affine layer, fused into one op.

    gx = gy @ W^T, gW = x^T @ gy, gb = sum of gy over the batch. x is (..., in): one
    observation (in,) or a batch (B, in).
    """

    def forward(self, x, W, b=None):
        if W.ndim != 2 or (b is not None and b.shape != W.shape[1:]):
            raise ValueError("linear needs x (..., in), W (in, out) and b (out,)")
        y = x @ W
        if b is not None:
            y += b  # in place: y is new, and this saves an allocation per layer
        return y

    def backward(self, gy):
        x, W = self.inputs[0].data, self.inputs[1].data
        # Skip what nobody needs: states fed to a net take no gradient (gx), and a
        # frozen critic passes the gradient through to the actor without gW, gb.
        gx = gy @ W.T if self.needs_grad(0) else None
        if x.ndim != 2:  # one sample (in,), or a batch of batches: a plain batch for gW
            x, gy = x.reshape(-1, x.shape[-1]), gy.reshape(-1, gy.shape[-1])
        gW = x.T @ gy if self.needs_grad(1) else None
        if len(self.inputs) == 2:
            return gx, gW
        return gx, gW, (gy.sum(axis=0) if self.needs_grad(2) else None)


def matmul(x, W):
    return MatMul()(x, W)


def linear(x, W, b=None):
    """x @ W + b in one op; a shape that does not fit is named with the shapes."""
    if not core.Config.enable_backprop:
        return nograd.linear(Linear, x, W, b)  # no graph to build: faster (nograd.py)
    return Linear()(x, W) if b is None else Linear()(x, W, b)


# --- selection ---------------------------------------------------------------------
class Clip(Function):
    """y = min(max(x, lo), hi); the gradient passes where lo <= x <= hi."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return np.clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, gy):
        x = self.inputs[0].data
        inside = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return gy * inside


class Concat(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        sizes = [x.data.shape[self.axis] for x in self.inputs]
        return tuple(np.split(gy, np.cumsum(sizes)[:-1], axis=self.axis))


def _is_basic_index(index):
    """True for slices, ints, None and Ellipsis: indexing that never repeats an element."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer))
               for p in parts)


class GetItem(Function):
    """y = x[index]. Backward scatters gy into zeros; repeated indices accumulate."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        x = self.inputs[0].data
        gx = np.zeros(x.shape, dtype=gy.dtype)
        if _is_basic_index(self.index):
            gx[self.index] = gy  # a view: each element at most once
        else:
            np.add.at(gx, self.index, gy)  # x[[0, 0]] must give x[0] the gradient twice
        return gx


class Pick(Function):
    """y[n] = x[n, index[n]]: one entry of each row, as Q(s_n, a_n) picks from Q(s_n, .)
    the value of the action taken. gx scatters gy back into zeros.

    It is ``x[np.arange(N), index]``, but ``GetItem`` must scatter with ``np.add.at``
    (an index array may name one element twice); here every row is picked once, so a
    plain assignment scatters, about three times faster at a batch of 256.
    """

    def __init__(self, index):
        self.index = index
        self.rows = np.arange(len(index))

    def forward(self, x):
        return x[self.rows, self.index]

    def backward(self, gy):
        gx = np.zeros(self.inputs[0].data.shape, dtype=gy.dtype)
        gx[self.rows, self.index] = gy  # each (row, index) pair once: no add.at needed
        return gx


def clip(x, lo, hi):
    return Clip(lo, hi)(x)


def pick(x, index):
    """x[n, index[n]] for every row n: Q(s, a) from Q(s, .) and the actions taken.

    x is (N, C, ...) and index N integers in [-C, C) (negative counts from the end, as in
    NumPy); the result is (N, ...): each row's entry, with any trailing axes (C51's atoms).
    """
    x = as_variable(x)
    index = np.asarray(index.data if isinstance(index, Variable) else index)
    if x.ndim < 2 or index.shape != (x.shape[0],) or index.dtype.kind not in "iu":
        raise ValueError(f"pick: needs x of shape (N, C, ...) and N integers, got x of "
                         f"shape {x.shape} and index of shape {index.shape}, dtype "
                         f"{index.dtype}")
    try:
        return Pick(index)(x)
    except IndexError as error:
        raise IndexError(f"pick: an index is out of range for {x.shape[1]} columns: "
                         f"{error}") from None


def concat(xs, axis=0):
    xs = list(xs)
    if not xs:
        raise ValueError("concat: needs at least one input")
    return Concat(axis)(*xs)


def get_item(x, index):
    if isinstance(index, Variable):
        index = index.data
    if isinstance(index, list):
        index = np.asarray(index)
    if isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Variable) else
                      np.asarray(i) if isinstance(i, list) else i for i in index)
    return GetItem(index)(x)


# --- losses ------------------------------------------------------------------------
def _same_shape(op, x, t):
    # Losses refuse to broadcast: a (32,) target against (32, 1) predictions would
    # silently become a (32, 32) matrix of errors -- the classic TD-target bug.
    if x.shape != t.shape:
        raise ValueError(f"{op}: prediction shape {x.shape} and target shape {t.shape} "
                         f"differ; reshape one so they match exactly")


class MeanSquaredError(Function):
    """L = mean((x - t)^2) over all N elements; gx = 2 (x - t) / N, gt = -gx."""

    def forward(self, x, t):
        self.diff = x - t
        # sum_i d_i^2 as one dot product: no temporary d * d, and no np.mean wrapper
        return np.vdot(self.diff, self.diff) / np.asarray(self.diff.size, self.diff.dtype)

    def backward(self, gy):
        gx = self.diff * (gy * 2 / self.diff.size)
        return gx, (-gx if self.needs_grad(1) else None)


class Huber(Function):
    """h(d) = d^2 / 2 if |d| <= delta else delta (|d| - delta / 2), element by element.

    Quadratic near zero, linear beyond delta (Huber 1964): the gradient of an outlier
    is clipped to +-delta, which is how Mnih et al. (2015) clip the TD error.
    dh/dd = clip(d, -delta, delta).
    """

    def __init__(self, delta):
        self.delta = delta

    def forward(self, d):
        a = np.abs(d)
        quadratic = 0.5 * d * d
        linear = self.delta * (a - 0.5 * self.delta)
        return np.where(a <= self.delta, quadratic, linear).astype(d.dtype, copy=False)

    def backward(self, gy):
        d = self.inputs[0].data
        return gy * np.clip(d, -self.delta, self.delta).astype(d.dtype, copy=False)


class SoftmaxCrossEntropy(Function):
    """L = -mean_n log softmax(x_n)[t_n], fused; gx = (softmax(x) - onehot(t)) / N."""

    def __init__(self, labels):
        self.labels = labels

    def forward(self, x):
        self.log_p = x - _logsumexp(x, axis=1)
        n = x.shape[0]
        return -self.log_p[np.arange(n), self.labels].mean()

    def backward(self, gy):
        n = self.log_p.shape[0]
        gx = np.exp(self.log_p)
        gx[np.arange(n), self.labels] -= 1
        return gx * (gy / n)


def mean_squared_error(x, t):
    x, t = _pair(x, t)
    _same_shape("mean_squared_error", x, t)
    return MeanSquaredError()(x, t)


def _check_delta(op, delta):
    if isinstance(delta, bool) or not isinstance(delta, (int, float, np.integer, np.floating)) \
            or not np.isfinite(delta) or delta <= 0:
        raise ValueError(f"{op}: delta must be a finite number > 0, got {delta!r}")
    return float(delta)


def huber(d, delta=1.0):
    """The Huber function of each element of d (the TD error), not averaged."""
    return Huber(_check_delta("huber", delta))(d)


def huber_loss(x, t, delta=1.0):
    """L = mean over all N elements of h(x - t), h the Huber function (``huber``)."""
    x, t = _pair(x, t)
    _same_shape("huber_loss", x, t)
    return mean(huber(x - t, _check_delta("huber_loss", delta)))


def softmax_cross_entropy(x, labels):
    """Cross-entropy of logits x (N, C) against integer labels (N,), batch-averaged."""
    x = as_variable(x)
    labels = np.asarray(labels.data if isinstance(labels, Variable) else labels)
    if x.ndim != 2 or labels.shape != (x.shape[0],):
        raise ValueError(f"softmax_cross_entropy: logits {x.shape} need labels of shape "
                         f"({x.shape[0] if x.ndim else '?'},), got {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"softmax_cross_entropy: labels must be integers, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= x.shape[1]):
        raise ValueError(f"softmax_cross_entropy: labels must lie in [0, {x.shape[1]})")
    return SoftmaxCrossEntropy(labels)(x)


# --- convolution (images) ------------------------------------------------------------
# A convolution slides a small filter over an image: every output pixel is the same dot
# product of the filter with the patch under it (the filter's weights are shared by all
# positions, and each output sees only its patch: locality). im2col copies every patch
# into a row of a matrix, so the whole convolution is one matrix product; col2im is its
# adjoint, which adds each row's gradient back onto the pixels the patch came from
# (DeZero steps 57-58; Chellapilla et al. 2006). Layout as PyTorch: x (N, C, H, W),
# W (out_channels, in_channels, kh, kw). docs/pixels.md draws it.
__all__ += ["conv2d", "flatten", "im2col", "col2im", "filters_as_rows",
            "conv_output_size"]


def _two(value, what):
    """An int or an (int, int) pair -> (int, int); anything else is an error naming it."""
    pair = tuple(value) if isinstance(value, (tuple, list, np.ndarray)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"conv2d: {what} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_output_size(size, kernel, stride, pad):
    """Output length of one axis: floor((size + 2 pad - kernel) / stride) + 1."""
    return (size + 2 * pad - kernel) // stride + 1


def im2col(x, kernel, stride, pad):
    """(N, C, H, W) -> (N * OH * OW, kh * kw * C): one row per output pixel, holding the
    patch it sees (zero-padded by ``pad``, windows ``stride`` apart), pixel by pixel with
    each pixel's C channels together.

    Channels last inside a row because image observations are stored (N, H, W, C), as
    gymnasium's and MinAtar's frames are: each row is then kh runs of kw * C numbers
    that lie side by side in memory, and the copy is 3 to 6 times faster than gathering
    the patch channel by channel (benchmarks/bench_conv.py)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    N, C, H, W = x.shape
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    # A view, no copy: element [n, i, j, u, v, c] is x[n, c, i * sh + u, j * sw + v].
    s0, s1, s2, s3 = x.strides
    windows = np.lib.stride_tricks.as_strided(
        x, (N, oh, ow, kh, kw, C), (s0, s2 * sh, s3 * sw, s2, s3, s1), writeable=False)
    return windows.reshape(N * oh * ow, kh * kw * C)  # the one copy: each patch a row


def col2im(col, x_shape, kernel, stride, pad):
    """The adjoint of im2col: (N * OH * OW, kh * kw * C) -> (N, C, H, W), each row's
    entries added back onto the pixels its patch came from (overlaps sum)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    N, C, H, W = x_shape
    oh, ow = conv_output_size(H, kh, sh, ph), conv_output_size(W, kw, sw, pw)
    col = col.reshape(N, oh, ow, kh, kw, C)
    x = np.zeros((N, C, H + 2 * ph, W + 2 * pw), col.dtype)
    for u in range(kh):      # one kernel offset (u, v) at a time: its entries land on
        for v in range(kw):  # a strided grid of pixels, so one slice adds them all
            x[:, :, u:u + sh * oh:sh, v:v + sw * ow:sw] += col[:, :, :, u, v].transpose(
                0, 3, 1, 2)
    return x[:, :, ph:ph + H, pw:pw + W]


def filters_as_rows(W):
    """W (out, C, kh, kw) -> (out, kh * kw * C): each filter read in im2col's patch order,
    so that im2col(x) @ filters_as_rows(W).T is the convolution."""
    return W.transpose(0, 2, 3, 1).reshape(len(W), -1)


def _conv2d(x, W, b, stride, pad):
    """The value of conv2d on ndarrays: (im2col rows) @ (filters as columns) + b, laid
    out as (N, out, OH, OW). Returns it and the im2col matrix (backward reuses it)."""
    if x.ndim != 4 or W.ndim != 4 or x.shape[1] != W.shape[1] or (
            b is not None and b.shape != W.shape[:1]):
        raise ValueError(
            f"conv2d needs x (N, C, H, W), W (out, C, kh, kw) and b (out,) with the same "
            f"C; got x {x.shape}, W {W.shape}" + ("" if b is None else f", b {b.shape}"))
    kernel = W.shape[2:]
    oh = conv_output_size(x.shape[2], kernel[0], stride[0], pad[0])
    ow = conv_output_size(x.shape[3], kernel[1], stride[1], pad[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"conv2d: a {kernel[0]}x{kernel[1]} kernel does not fit into x "
                         f"{x.shape} padded by {pad}")
    col = im2col(x, kernel, stride, pad)
    y = col @ filters_as_rows(W).T  # (N * OH * OW, out)
    if b is not None:
        y += b
    y = y.reshape(len(x), oh, ow, len(W)).transpose(0, 3, 1, 2)  # -> (N, out, OH, OW)
    return y, col


class Conv2d(Function):
    """y[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] x[n, c, i s + u, j s + v].

    With Y = col @ W2^T (col = im2col(x), W2 = filters_as_rows(W), (out, kh kw C)):
    gW2 = gY^T @ col, gb = gy summed over n, i, j, and gx = col2im(gY @ W2).
    """

    def __init__(self, stride, pad):
        self.stride, self.pad = stride, pad

    def forward(self, x, W, b=None):
        y, self.col = _conv2d(x, W, b, self.stride, self.pad)
        return y

    def backward(self, gy):
        x, W = self.inputs[0].data, self.inputs[1].data
        gY = gy.transpose(0, 2, 3, 1).reshape(-1, len(W))  # (N * OH * OW, out)
        gx = gW = gb = None
        if self.needs_grad(0):  # pixels take no gradient when x is an observation
            gx = col2im(gY @ filters_as_rows(W), x.shape, W.shape[2:], self.stride,
                        self.pad)
        if self.needs_grad(1):  # gW2, read back from im2col's order into W's
            out, C, kh, kw = W.shape
            gW = (gY.T @ self.col).reshape(out, kh, kw, C).transpose(0, 3, 1, 2)
        if len(self.inputs) == 3 and self.needs_grad(2):
            gb = gy.sum(axis=(0, 2, 3))
        return (gx, gW) if len(self.inputs) == 2 else (gx, gW, gb)


def conv2d(x, W, b=None, stride=1, pad=0):
    """2-D convolution (cross-correlation, as PyTorch's): x (N, C, H, W), W (out, C, kh,
    kw), b (out,) -> (N, out, OH, OW); ``stride`` and ``pad`` an int or an (h, w) pair."""
    stride, pad = _two(stride, "stride"), _two(pad, "pad")
    if stride[0] < 1 or stride[1] < 1 or pad[0] < 0 or pad[1] < 0:
        raise ValueError(f"conv2d: stride must be >= 1 and pad >= 0, got stride {stride} "
                         f"and pad {pad}")
    if not core.Config.enable_backprop:
        return nograd.conv2d(_conv2d, x, W, b, stride, pad)  # no graph: faster (nograd.py)
    return Conv2d(stride, pad)(x, W) if b is None else Conv2d(stride, pad)(x, W, b)


def flatten(x):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...): a reshape, so its backward is reshape's."""
    x = as_variable(x)
    return reshape(x, (x.shape[0], -1))
