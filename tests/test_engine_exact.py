"""Engine pieces whose bugs a gradient check on generic inputs can miss: summing a
broadcast gradient back over the right axes, and the clip gradient at its bounds."""
import numpy as np

import minirl.functions as F
from minirl.core import Variable, sum_to


def test_sum_to_sums_the_leading_axes_and_the_stretched_ones():
    x = np.arange(24.0).reshape(2, 3, 4)
    # (2, 3, 4) -> (3, 1): the added leading axis 0 and the stretched last axis
    np.testing.assert_array_equal(sum_to(x, (3, 1)), x.sum(axis=0).sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(sum_to(x, (1, 4)), x.sum(axis=(0, 1))[None, :])
    np.testing.assert_array_equal(sum_to(x, (2, 1, 4)), x.sum(axis=1, keepdims=True))
    # and through a broadcast in an op: d/da sum(a + b) = how often each a_i was used
    a, b = Variable(np.zeros((3, 1))), Variable(np.ones((2, 3, 4)))
    F.sum((a + b) * b).backward()
    np.testing.assert_array_equal(a.grad, np.full((3, 1), 8.0))


def test_clip_passes_the_gradient_on_its_closed_interval_only():
    """y = min(max(x, lo), hi): dy/dx = 1 for lo <= x <= hi, bounds included, else 0."""
    x = Variable(np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0]))
    F.sum(F.clip(x, -0.5, 1.0) * np.arange(1.0, 7.0)).backward()
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 3.0, 4.0, 5.0, 0.0])


def test_elementwise_derivatives_in_closed_form():
    """d exp = exp, d log = 1/x, d tanh = 1 - tanh^2, d sigmoid = s (1 - s),
    d relu = [x > 0], d x^3 = 3 x^2, on fixed inputs of both signs."""
    x = np.array([-1.5, -0.3, 0.4, 1.2, 2.0])
    s = 1 / (1 + np.exp(-x))
    cases = [(F.exp, x, np.exp(x)), (F.log, x + 2.0, 1 / (x + 2.0)),
             (F.tanh, x, 1 - np.tanh(x) ** 2), (F.sigmoid, x, s * (1 - s)),
             (F.relu, x, (x > 0).astype(float)), (lambda v: v ** 3, x, 3 * x ** 2)]
    for f, inputs, derivative in cases:
        v = Variable(inputs.copy())
        F.sum(f(v)).backward()
        np.testing.assert_allclose(v.grad, derivative, rtol=1e-12)


def test_mean_over_an_axis_divides_by_that_axis_length_only():
    """mean(x, axis=1) of a (2, 3) array: each row's sum over 3, and a gradient of 1/3 to
    every element (not 1/6: the count is the elements reduced, not all of them)."""
    x = Variable(np.arange(6.0).reshape(2, 3))
    y = F.mean(x, axis=1)
    np.testing.assert_array_equal(y.data, [1.0, 4.0])
    F.sum(y).backward()
    np.testing.assert_allclose(x.grad, np.full((2, 3), 1 / 3), rtol=0, atol=1e-15)
