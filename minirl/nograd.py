"""Without a graph, faster: ``F.linear``, ``F.relu`` and ``F.conv2d`` under ``no_grad``.

Acting and TD targets run under ``no_grad``, where nothing will read a graph. For the
small networks of RL, ``Function.__call__``'s bookkeeping -- an op object, a loop that
unwraps the inputs, a call to ``forward`` -- then costs as much as the arithmetic of a
layer acting on one observation. So the ops every network is made of skip it there:
their ``forward``, which keeps no state, runs as a plain function on the arrays (no op
object), and the result is wrapped once, as a constant. The values are the graph path's,
bit for bit (tests/test_core.py); acting on one observation costs about 1.7 times its
NumPy arithmetic instead of 2.4 times (docs/engine.md, "Speed"). Every other op keeps
the general path.
"""
from minirl.core import Variable, _constant, as_array, shape_error


def _array(x):
    """The ndarray behind an op's input (a Variable's data, or a number as an array)."""
    return x.data if isinstance(x, Variable) else as_array(x)


def linear(op, x, W, b=None):
    """``op.forward(x, W, b)`` on arrays, wrapped as a constant."""
    x, W = _array(x), _array(W)
    b = None if b is None else _array(b)
    try:
        return _constant(op.forward(None, x, W, b))
    except ValueError as error:  # named by op and shapes, as Function.__call__ does
        raise shape_error(op.__name__, [a for a in (x, W, b) if a is not None],
                          error) from None


def relu(op, x):
    """``op.forward(x)`` on an array, wrapped as a constant."""
    return _constant(op.forward(None, _array(x)))


def conv2d(forward, x, W, b, stride, pad):
    """``forward(x, W, b, stride, pad)`` (functions._conv2d) on arrays, as a constant."""
    b = None if b is None else _array(b)
    return _constant(forward(_array(x), _array(W), b, stride, pad)[0])
