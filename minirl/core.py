"""The autograd engine: Variable, Function, backward, no_grad.

Reverse-mode automatic differentiation in the shape of DeZero (the book's framework,
"Deep Learning from Scratch 3"), whole in one file:

* A ``Variable`` wraps an ndarray ``data`` and, after ``backward()``, its ``grad``.
* A ``Function`` computes ``forward`` on plain ndarrays. ``Function.__call__`` does the
  bookkeeping once for every op: it unwraps the inputs, runs ``forward``, wraps the
  result, and links the output to the function that created it (``creator``).
* ``Variable.backward()`` walks the graph from the output back to the leaves in
  decreasing *generation* (a function's generation is the largest generation of its
  inputs), so a variable used twice has both of its gradients summed before it passes
  anything further back.
* Broadcasting is undone in one place: the backward loop sums each gradient back to
  its input's shape (``sum_to``), so no op has to remember how it broadcast.
* ``no_grad()`` switches graph building off: nothing is recorded, nothing is kept.

The differentiable ops themselves (add, matmul, relu, softmax, ...) live in
``minirl/functions.py``; the operators of ``Variable`` below call them.
"""
import heapq
import weakref

import numpy as np

__all__ = ["Variable", "Function", "Config", "no_grad", "enable_grad", "as_variable",
           "as_array", "sum_to"]


class Config:
    """Global switch: when ``enable_backprop`` is False no graph is built."""
    enable_backprop = True


class no_grad:
    """``with no_grad():`` runs a block without building a graph (targets, acting).

    A class rather than a generator-based context manager: it is entered on every
    action an agent takes, and this costs a quarter as much.
    """
    __slots__ = ("old",)
    _value = False

    def __enter__(self):
        self.old = Config.enable_backprop
        Config.enable_backprop = self._value

    def __exit__(self, *exc_info):
        Config.enable_backprop = self.old


class enable_grad(no_grad):
    """``with enable_grad():`` builds the graph again inside a ``no_grad`` block."""
    __slots__ = ()
    _value = True


_NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float: what a gradient can flow through


def as_array(x, dtype=None):
    """Turn a number or array-like into an ndarray, refusing non-numeric data."""
    if isinstance(x, Variable):
        raise TypeError("as_array() got a Variable; use its .data")
    array = np.asarray(x, dtype=dtype)
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"minirl needs numeric data, got {type(x).__name__} "
                        f"with dtype {array.dtype}")
    return array


class Variable:
    """An ndarray that remembers which Function made it, so it can be differentiated.

    ``Variable(data)`` made by a user is a leaf that receives a gradient. Plain numbers
    and arrays mixed into an expression are wrapped as constants
    (``requires_grad=False``): no gradient is computed for them.
    """
    __slots__ = ("data", "grad", "creator", "generation", "name", "requires_grad",
                 "__weakref__")
    # An ndarray on the left of an operator (ndarray + Variable) must hand the work to
    # Variable.__radd__ instead of broadcasting over our object element by element.
    __array_ufunc__ = None

    def __init__(self, data, name=None, requires_grad=True):
        if isinstance(data, Variable):
            raise TypeError("Variable(data) got a Variable; use .detach() to copy one")
        self.data = as_array(data)
        self.grad = None
        self.creator = None
        self.generation = 0
        self.name = name
        self.requires_grad = requires_grad

    # -- ndarray-like properties ---------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = str(self.data).replace("\n", "\n" + " " * 9)
        name = f", name={self.name!r}" if self.name else ""
        return f"Variable({body}{name})"

    def item(self):
        return self.data.item()

    def numpy(self):
        return self.data

    # -- graph ---------------------------------------------------------------------
    def detach(self):
        """The same data, cut from the graph: no gradient flows back through it."""
        return _constant(self.data)

    def cleargrad(self):
        self.grad = None

    def backward(self, grad=None, retain_grad=False):
        """Fill ``.grad`` of every variable this one depends on, by the chain rule.

        ``grad`` is dL/d(self); it may be left out only when self is a scalar (then it
        is 1). Intermediate gradients are freed unless ``retain_grad``.

        Each call seeds dL/d(self) afresh, so calling it twice on one graph gives
        the same gradients twice; the leaves' ``.grad`` still accumulate across calls
        (as in PyTorch) until ``zero_grad``/``cleargrad``. A leaf called on its own
        accumulates too: it is its own leaf.
        """
        grad = self._seed(grad)
        if self.creator is None:  # a leaf: dself/dself = 1, accumulated like any leaf
            self.grad = grad if self.grad is None else self.grad + grad
            return
        self.grad = grad  # afresh: an output's gradient of an earlier call is not kept

        # A max-heap on generation: the function nearest the output runs first, so
        # every gradient reaching a variable is summed before it is passed back.
        # (tie, a running count, orders the functions of one generation by arrival.)
        heap, seen, tie = [(-self.creator.generation, 0, self.creator)], {self.creator}, 1
        while heap:
            f = heapq.heappop(heap)[2]
            output = f.output()
            grads = f.backward(output.grad)
            if not isinstance(grads, tuple):
                grads = (grads,)
            for x, gx in zip(f.inputs, grads):
                if gx is None or not x.requires_grad:
                    continue
                gx = _fit(gx, x.data)
                if x.creator is None or x.creator in seen:
                    # A leaf, or a variable already reached in this pass: accumulate.
                    x.grad = gx if x.grad is None else x.grad + gx
                else:
                    # An intermediate's first gradient of this pass: afresh, not added
                    # to what an earlier backward(retain_grad=True) left on it.
                    x.grad = gx
                    seen.add(x.creator)
                    heapq.heappush(heap, (-x.creator.generation, tie, x.creator))
                    tie += 1
            if not retain_grad and output is not self:
                output.grad = None  # an intermediate's gradient is no longer needed

    def _seed(self, grad):
        """dL/d(self) to start backward from: 1 for a scalar, else ``grad`` checked."""
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() on a non-scalar Variable of shape {self.shape} needs a "
                    f"seed gradient: call .backward(grad) with an array of that shape, "
                    f"or reduce it first (F.sum, F.mean)")
            return np.ones(self.data.shape, self.data.dtype)  # (np.ones_like: slower)
        grad = as_array(grad.data if isinstance(grad, Variable) else grad,
                        dtype=self.data.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward(): seed gradient has shape {grad.shape}, "
                             f"the Variable has shape {self.shape}")
        return grad

    # -- operators: defined in functions.py, bound here ------------------------------
    def __add__(self, other):
        return _F.add(self, other)

    def __radd__(self, other):
        return _F.add(other, self)

    def __sub__(self, other):
        return _F.sub(self, other)

    def __rsub__(self, other):
        return _F.sub(other, self)

    def __mul__(self, other):
        return _F.mul(self, other)

    def __rmul__(self, other):
        return _F.mul(other, self)

    def __truediv__(self, other):
        return _F.div(self, other)

    def __rtruediv__(self, other):
        return _F.div(other, self)

    def __neg__(self):
        return _F.neg(self)

    def __pow__(self, exponent):
        return _F.pow(self, exponent)

    def __matmul__(self, other):
        return _F.matmul(self, other)

    def __rmatmul__(self, other):
        return _F.matmul(other, self)

    def __getitem__(self, index):
        return _F.get_item(self, index)

    @property
    def T(self):
        return _F.transpose(self)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)) or axes == (None,):
            axes = axes[0]
        return _F.transpose(self, axes or None)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return _F.reshape(self, shape)

    def sum(self, axis=None, keepdims=False):
        return _F.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _F.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return _F.max(self, axis, keepdims)


_new_variable = object.__new__


def _constant(data):
    """A Variable that takes no gradient, built without __init__'s checks (hot path)."""
    v = _new_variable(Variable)
    v.data = data
    v.grad = None
    v.creator = None
    v.generation = 0
    v.name = None
    v.requires_grad = False
    return v


def as_variable(x, dtype=None):
    """Wrap a number or array as a constant Variable; a Variable passes through.

    ``dtype`` is used for Python numbers, so ``x * 0.5`` keeps x's float32.
    """
    if isinstance(x, Variable):
        return x
    if isinstance(x, np.ndarray) and x.dtype.kind in _NUMERIC_KINDS:
        return _constant(x)
    return _constant(as_array(x, dtype=dtype if isinstance(x, (int, float)) else None))


class Function:
    """An op: ``forward`` and ``backward`` on ndarrays; ``__call__`` does the rest.

    Subclasses implement ``forward(*xs) -> ndarray`` and ``backward(gy) -> gx`` (or a
    tuple of one gradient per input, ``None`` for an input that takes none). Inputs are
    reachable in backward as ``self.inputs[i].data``. Every op has one output.
    """
    generation = 0

    def __call__(self, *inputs):
        # The lean part, all that runs under no_grad: unwrap, forward, wrap the result.
        # (A loop, not a comprehension: this runs for every op, on every step.)
        arrays = []
        for x in inputs:
            arrays.append(x.data if isinstance(x, Variable) else as_array(x))
        try:
            y = self.forward(*arrays)
        except ValueError as error:  # NumPy's shape errors, named by op and shapes
            raise shape_error(type(self).__name__, arrays, error) from None
        if y.__class__ is not np.ndarray:
            y = np.asarray(y)  # reductions to a scalar return NumPy scalars
        output = _new_variable(Variable)  # _constant(y), inlined: it runs for every op
        output.data, output.grad, output.creator = y, None, None
        output.generation, output.name, output.requires_grad = 0, None, False
        if Config.enable_backprop:
            self.record(inputs, arrays, output)
        return output

    def record(self, inputs, arrays, output):
        """Link ``output`` to this function, if any input wants a gradient."""
        generation = -1  # the largest generation among inputs that want a gradient
        wrapped = True   # whether every input is a Variable already
        for x in inputs:
            if not isinstance(x, Variable):
                wrapped = False
            elif x.requires_grad and x.generation > generation:
                generation = x.generation
        if generation < 0:
            return  # nothing upstream learns: the output is a constant
        self.generation = generation
        self.inputs = inputs if wrapped else [
            x if isinstance(x, Variable) else _constant(a) for x, a in zip(inputs, arrays)]
        self.output = weakref.ref(output)  # weak: no reference cycle to collect
        output.creator = self
        output.generation = generation + 1
        output.requires_grad = True

    def forward(self, *xs):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    def needs_grad(self, i):
        """Whether input i wants a gradient: lets costly backward terms be skipped."""
        return self.inputs[i].requires_grad


def shape_error(op, arrays, error):
    """The ValueError for inputs an op cannot combine, naming the op and their shapes."""
    shapes = ", ".join(str(np.shape(a)) for a in arrays)
    return ValueError(f"{op}: cannot combine inputs of shapes {shapes}: {error}")


def _fit(gx, data):
    """A gradient made to fit its input: broadcasting undone (the one place where it
    is, see sum_to), and a float input's dtype kept."""
    if gx.shape != data.shape:
        gx = sum_to(gx, data.shape)
    if gx.dtype != data.dtype and data.dtype.kind == "f":
        gx = gx.astype(data.dtype)
    return gx


def sum_to(x, shape):
    """Sum an ndarray over the axes that broadcasting stretched, back to ``shape``.

    The inverse bookkeeping of NumPy broadcasting: leading axes that were added are
    summed away; axes that were 1 in ``shape`` are summed with keepdims.
    """
    shape = tuple(shape)
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot sum shape {x.shape} to larger shape {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    y = x.sum(axis=axes, keepdims=True) if axes else x
    if lead:
        y = y.reshape(y.shape[lead:])
    if y.shape != shape:
        raise ValueError(f"sum_to: cannot sum shape {x.shape} to shape {shape}")
    return y


from minirl import functions as _F  # noqa: E402  (operators above call into it)
