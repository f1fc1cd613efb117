"""F.minimum and F.maximum: element-wise, broadcasting, gradient to the chosen input.

The semantics they follow are PyTorch's ``torch.minimum`` / ``torch.maximum``, written
out here by hand (PyTorch is not needed to run this file):

* forward: ``np.minimum`` / ``np.maximum`` with NumPy's broadcasting; a NaN in either
  input gives NaN; the dtype of float32 inputs stays float32;
* backward (PyTorch's derivatives.yaml for ``minimum``):
      gx0 = where(x0 == x1, gy / 2, gy), zeroed where x0 > x1
      gx1 = where(x0 == x1, gy / 2, gy), zeroed where x0 < x1
  (``maximum``: zeroed where x0 < x1 and where x0 > x1 respectively), then summed back
  over the broadcast axes to each input's shape. So the chosen input gets all of gy, a
  tie splits it evenly, and at a NaN neither comparison holds, so both get gy.

The gradient is also checked against central differences (``gradient_check``) on inputs
kept apart, where the function is differentiable.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import minirl.functions as F
from minirl import Variable
from minirl.gradcheck import gradient_check

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4)
seeds = st.integers(0, 2**31 - 1)
OPS = {"minimum": (F.minimum, np.minimum, np.greater),
       "maximum": (F.maximum, np.maximum, np.less)}


def sum_to(g, shape):
    """Sum a broadcast gradient back to ``shape`` (the reference's own, not core's)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def torch_semantics(op, x0, x1, gy):
    """(y, gx0, gx1) as PyTorch defines them (see the module docstring)."""
    _, forward, loses = OPS[op]
    y = forward(x0, x1)
    share = np.where(x0 == x1, gy / 2, gy)
    gx0 = np.where(loses(x0, x1), 0.0, share)
    gx1 = np.where(loses(x1, x0), 0.0, share)
    return y, sum_to(gx0, np.shape(x0)), sum_to(gx1, np.shape(x1))


def backprop(op, x0, x1, gy):
    a, b = Variable(x0.copy()), Variable(x1.copy())
    y = OPS[op][0](a, b)
    F.sum(y * gy).backward()
    return y.data, a.grad, b.grad


def with_ties(shape, seed):
    """Values on a coarse grid, so ties between the two inputs are common."""
    return np.random.default_rng(seed).integers(-2, 3, shape).astype(np.float64)


@pytest.mark.parametrize("op", OPS)
@SETTINGS
@given(pairs, seeds)
def test_forward_and_gradient_equal_torch_semantics(op, shapes, seed):
    a = with_ties(shapes.input_shapes[0], seed)
    b = with_ties(shapes.input_shapes[1], seed + 1)
    gy = np.random.default_rng(seed + 2).standard_normal(shapes.result_shape)
    y, ga, gb = backprop(op, a, b, gy)
    y_ref, ga_ref, gb_ref = torch_semantics(op, a, b, gy)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(ga, ga_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb, gb_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", OPS)
@SETTINGS
@given(pairs, seeds)
def test_gradient_check_broadcasting(op, shapes, seed):
    """Central differences, the inputs kept at least 0.4 apart (no kink nearby): a on
    even integers, b on odd ones, each moved by at most 0.3."""
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shapes.input_shapes
    a = 2.0 * rng.integers(-2, 3, a_shape) + rng.uniform(-0.3, 0.3, a_shape)
    b = 2.0 * rng.integers(-2, 2, b_shape) + 1.0 + rng.uniform(-0.3, 0.3, b_shape)
    gradient_check(OPS[op][0], a, b)


def test_by_hand_chosen_input_gets_the_gradient_and_ties_split():
    a = Variable(np.array([1.0, 5.0, 3.0]))
    b = Variable(np.array([2.0, 4.0, 3.0]))
    F.sum(F.minimum(a, b) * np.array([10.0, 20.0, 30.0])).backward()
    np.testing.assert_array_equal(a.grad, [10.0, 0.0, 15.0])
    np.testing.assert_array_equal(b.grad, [0.0, 20.0, 15.0])
    a.grad = b.grad = None
    F.sum(F.maximum(a, b) * np.array([10.0, 20.0, 30.0])).backward()
    np.testing.assert_array_equal(a.grad, [0.0, 20.0, 15.0])
    np.testing.assert_array_equal(b.grad, [10.0, 0.0, 15.0])


def test_broadcast_scalar_sums_its_gradient():
    """min(x, c) with c a (1,) Variable: c's gradient is the sum over where it won."""
    x = Variable(np.array([[0.0, 2.0], [3.0, -1.0]]))
    c = Variable(np.array([1.0]))
    y = F.minimum(x, c)
    np.testing.assert_array_equal(y.data, [[0.0, 1.0], [1.0, -1.0]])
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(c.grad, [2.0])


def test_nan_propagates_and_both_inputs_get_the_gradient():
    a, b = Variable(np.array([np.nan, 1.0])), Variable(np.array([0.0, np.nan]))
    for op in (F.minimum, F.maximum):
        a.grad = b.grad = None
        y = op(a, b)
        assert np.isnan(y.data).all()
        F.sum(y).backward()
        np.testing.assert_array_equal(a.grad, [1.0, 1.0])
        np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_dtype_and_python_numbers():
    x = Variable(np.array([-1.0, 2.0], np.float32))
    for y in (F.minimum(x, 0.5), F.maximum(0.5, x)):
        assert y.data.dtype == np.float32
    np.testing.assert_array_equal(F.minimum(x, 0.5).data, [-1.0, 0.5])
    np.testing.assert_array_equal(F.maximum(0.5, x).data, [0.5, 2.0])
