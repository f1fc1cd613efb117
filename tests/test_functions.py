"""Every differentiable op: backprop against central differences (hypothesis over shapes).

Each test builds random inputs of random shapes (broadcasting pairs, keepdims, negative
axes, repeated indices) and calls ``gradient_check``, which compares the engine's
gradient with (f(x + h) - f(x - h)) / 2h computed independently in float64.
"""
import math
import operator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import minirl.functions as F
from minirl import Variable, enable_grad, no_grad
from minirl.gradcheck import gradient_check

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**31 - 1)


def rand(shape, seed, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def away_from(x, points, margin=0.05):
    """Nudge values off kinks (relu at 0, clip at its bounds) so differences are fair."""
    for p in points:
        close = np.abs(x - p) < margin
        x = np.where(close, p + np.sign(x - p + 1e-12) * margin * 2, x)
    return x


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@SETTINGS
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4), seeds)
def test_binary_ops_broadcast(op, shapes_pair, seed):
    a_shape, b_shape = shapes_pair.input_shapes
    a, b = rand(a_shape, seed), rand(b_shape, seed + 1)
    if op == "div":
        b = np.sign(b) * (np.abs(b) + 0.5)  # keep the divisor away from zero
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y,
          "mul": lambda x, y: x * y, "div": lambda x, y: x / y}[op]
    gradient_check(fn, a, b)


# Each op its own hypothesis run (parametrised, not drawn), so none can go untested in a
# run where hypothesis happens not to draw it. Each op: (minirl's op, its value on one
# Python float by the math module -- an independent computation -- and the kinks to
# keep away from). A gradient check alone passes a wrong forward whose backward is
# wrong alike (2 exp(x) with backward gy * y), so the values are checked too.
ELEMENTWISE = {
    "exp": (F.exp, math.exp, []),
    "tanh": (F.tanh, math.tanh, []),
    "sigmoid": (F.sigmoid, lambda v: 1 / (1 + math.exp(-v)), []),
    "relu": (F.relu, lambda v: v if v > 0 else 0.0, [0.0]),
    "neg": (lambda v: -v, lambda v: -v, []),
    "square": (F.square, lambda v: v * v, []),
    "log": (F.log, math.log, []),
    "sqrt": (F.sqrt, math.sqrt, []),
    "pow3": (lambda v: v ** 3, lambda v: v * v * v, []),
    "clip": (lambda v: F.clip(v, -0.5, 0.25), lambda v: min(max(v, -0.5), 0.25),
             [-0.5, 0.25]),
    "huber": (lambda v: F.huber(v, 0.5),
              lambda v: 0.5 * v * v if abs(v) <= 0.5 else 0.5 * (abs(v) - 0.25),
              [-0.5, 0.5]),
}


@pytest.mark.parametrize("op", list(ELEMENTWISE))
@SETTINGS
@given(shapes, seeds)
def test_elementwise(op, shape, seed):
    fn, by_hand, kinks = ELEMENTWISE[op]
    x = rand(shape, seed)
    if op in ("log", "sqrt"):
        x = np.abs(x) + 0.5
    x = away_from(x, kinks)
    want = np.array([by_hand(float(v)) for v in x.ravel()]).reshape(x.shape)
    np.testing.assert_allclose(fn(Variable(x)).data, want, rtol=1e-12, atol=1e-15)
    gradient_check(fn, x)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary_op_values(op):
    """Forward values of the binary ops under broadcasting, against Python's operators
    applied to each pair of floats."""
    a, b = rand((3, 1), 0), rand((4,), 1)
    b = np.sign(b) * (np.abs(b) + 0.5)
    by_hand = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
               "div": operator.truediv}[op]
    want = np.array([[by_hand(float(u), float(w)) for w in b] for u in a[:, 0]])
    got = getattr(F, op)(Variable(a), Variable(b)).data
    np.testing.assert_allclose(got, want, rtol=1e-15)
    np.testing.assert_allclose(getattr(F, op)(a, Variable(b)).data, want, rtol=1e-15)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), seeds, st.data())
def test_softmax_family(shape, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rand(shape, seed, -3, 3)
    gradient_check(lambda v: F.softmax(v, axis=axis), x)
    gradient_check(lambda v: F.log_softmax(v, axis=axis), x)
    gradient_check(lambda v: F.logsumexp(v, axis=axis), x)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), seeds, st.floats(1e-5, 1.0))
def test_layer_norm(shape, seed, eps):
    x = rand(shape, seed, -3, 3)
    gradient_check(lambda v: F.layer_norm(v, eps=eps), x)


def test_layer_norm_by_hand():
    """Each row to mean 0 and variance var / (var + eps), over the last axis only."""
    x = np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]])
    # row 1: mean 2, var 2/3; row 2: mean 20, var 200
    want = np.array([[-1.0, 0.0, 1.0] / np.sqrt(2 / 3 + 0.1),
                     [-10.0, -10.0, 20.0] / np.sqrt(200 + 0.1)])
    np.testing.assert_allclose(F.layer_norm(x, eps=0.1).data, want, rtol=1e-12)
    np.testing.assert_allclose(F.layer_norm(x[0]).data, [-1, 0, 1] / np.sqrt(2 / 3 + 1e-5))
    assert F.layer_norm(x.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), seeds, st.data(),
       st.booleans())
def test_reductions(op, shape, seed, data, keepdims):
    axis = data.draw(st.one_of(
        st.none(), st.integers(-len(shape), len(shape) - 1),
        st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple)))
    # Distinct values: max's gradient is checked here away from ties (tested below).
    x = np.random.default_rng(seed).permutation(np.prod(shape)).reshape(shape) * 0.1
    fn = {"sum": F.sum, "mean": F.mean, "max": F.max}[op]
    gradient_check(lambda v: fn(v, axis=axis, keepdims=keepdims), x)
    # the value itself, against NumPy's (a gradient check passes for any constant factor)
    np.testing.assert_allclose(fn(Variable(x), axis=axis, keepdims=keepdims).data,
                               getattr(np, op)(x, axis=axis, keepdims=keepdims))


def test_max_ties_share_the_gradient_equally():
    x = Variable(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))
    F.sum(F.max(x, axis=1)).backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_min_is_minus_max_of_minus():
    x = np.array([[1.0, -3.0, 2.0]])
    gradient_check(lambda v: F.min(v, axis=1), x)
    assert F.min(Variable(x)).item() == -3.0


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), seeds, st.data())
def test_shape_ops(shape, seed, data):
    x = rand(shape, seed)
    perm = data.draw(st.permutations(range(len(shape))))
    gradient_check(lambda v: F.transpose(v, perm), x)
    gradient_check(lambda v: v.T, x)
    gradient_check(lambda v: F.reshape(v, (-1,)), x)
    gradient_check(lambda v: v.reshape(1, *shape), x)
    big = (2,) + tuple(data.draw(st.sampled_from([1, n])) for n in shape)
    target = tuple(max(a, b) for a, b in zip(big[1:], shape))
    gradient_check(lambda v: F.broadcast_to(v, (2,) + target), x)
    small = tuple(data.draw(st.sampled_from([1, n])) for n in shape)
    gradient_check(lambda v: F.sum_to(v, small), x)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2), seeds)
def test_matmul_and_linear(n, k, m, batch_dims, seed):
    lead = (2,) * batch_dims
    x, W, b = rand(lead + (n, k), seed), rand((k, m), seed + 1), rand((m,), seed + 2)
    gradient_check(F.matmul, x, W)
    gradient_check(F.matmul, x, rand(lead + (k, m), seed + 3))  # batched both sides
    gradient_check(F.linear, x, W, b)
    gradient_check(F.linear, x, W)
    gradient_check(F.matmul, rand((k,), seed), W)               # vector @ matrix
    gradient_check(F.matmul, x, rand((k,), seed))               # matrix @ vector
    gradient_check(F.matmul, rand((k,), seed), rand((k,), seed + 1))
    gradient_check(F.linear, rand((k,), seed), W, b)              # one sample (k,)


@SETTINGS
@given(shapes, seeds)
def test_clip(shape, seed):
    x = away_from(rand(shape, seed), [-0.5, 0.7])
    gradient_check(lambda v: F.clip(v, -0.5, 0.7), x)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), st.integers(1, 3), seeds,
       st.data())
def test_concat(shape, count, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    xs = []
    for i in range(count):
        s = list(shape)
        s[axis] = data.draw(st.integers(1, 3))
        xs.append(rand(tuple(s), seed + i))
    gradient_check(lambda *vs: F.concat(vs, axis=axis), *xs)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), seeds, st.data())
def test_get_item_basic_and_fancy(shape, seed, data):
    x = rand(shape, seed)
    gradient_check(lambda v: v[0], x)
    gradient_check(lambda v: v[..., -1:], x)
    idx = np.array(data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=6)))
    gradient_check(lambda v: v[idx], x)  # repeated indices included


def test_get_item_repeated_indices_accumulate():
    x = Variable(np.arange(4.0))
    F.sum(x[np.array([0, 0, 3, 0])]).backward()
    np.testing.assert_array_equal(x.grad, [3, 0, 0, 1])


def test_get_item_q_of_s_a():
    q = Variable(np.arange(6.0).reshape(3, 2))
    a = np.array([1, 0, 1])
    qa = q[np.arange(3), a]
    np.testing.assert_array_equal(qa.data, [1, 2, 5])
    F.sum(qa * np.array([1.0, 2.0, 3.0])).backward()
    np.testing.assert_array_equal(q.grad, [[0, 1], [2, 0], [0, 3]])


@SETTINGS
@given(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4), seeds, st.data())
def test_pick(shape, seed, data):
    # x[n, index[n]] for each row, trailing axes kept (C51's atoms); negative indices too
    x = rand(shape, seed)
    index = np.array(data.draw(st.lists(st.integers(-shape[1], shape[1] - 1),
                                        min_size=shape[0], max_size=shape[0])))
    gradient_check(lambda v: F.pick(v, index), x)
    np.testing.assert_array_equal(F.pick(Variable(x), index).data,
                                  x[np.arange(shape[0]), index])


def test_pick_q_of_s_a_by_hand():
    q = Variable(np.arange(6.0).reshape(3, 2))
    qa = F.pick(q, np.array([1, 0, 1]))
    np.testing.assert_array_equal(qa.data, [1, 2, 5])
    F.sum(qa * np.array([1.0, 2.0, 3.0])).backward()
    np.testing.assert_array_equal(q.grad, [[0, 1], [2, 0], [0, 3]])


def test_pick_names_what_is_wrong():
    q = Variable(np.zeros((3, 2)))
    for index in (np.array([0, 1]), np.array([0.0, 1.0, 1.0]), np.zeros((3, 1), int)):
        with pytest.raises(ValueError, match=r"pick: needs x of shape \(N, C, ...\)"):
            F.pick(q, index)
    with pytest.raises(ValueError, match=r"pick:.*\(2,\)"):
        F.pick(Variable(np.zeros(2)), np.array([0, 1]))
    with pytest.raises(IndexError, match="pick: an index is out of range for 2 columns"):
        F.pick(q, np.array([0, 2, 1]))


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), seeds,
       st.floats(0.3, 2.0))
def test_losses(shape, seed, delta):
    x, t = rand(shape, seed, -3, 3), rand(shape, seed + 1, -3, 3)
    x = np.where(np.abs(np.abs(x - t) - delta) < 0.05, x + 0.2, x)  # off the kink
    gradient_check(F.mean_squared_error, x, t)
    gradient_check(lambda a, b: F.huber_loss(a, b, delta=delta), x, t)


@SETTINGS
@given(st.integers(1, 5), st.integers(2, 5), seeds)
def test_softmax_cross_entropy(n, c, seed):
    x = rand((n, c), seed, -3, 3)
    labels = np.random.default_rng(seed).integers(0, c, n)
    gradient_check(lambda v: F.softmax_cross_entropy(v, labels), x)
    # Against the unfused composition: -mean of log_softmax picked at the labels.
    fused = F.softmax_cross_entropy(Variable(x), labels).item()
    unfused = -F.mean(F.log_softmax(Variable(x), axis=1)[np.arange(n), labels]).item()
    assert np.isclose(fused, unfused)


@SETTINGS
@given(shapes, seeds, st.floats(0.3, 2.0))
def test_huber_elementwise(shape, seed, delta):
    """h(d) per element; its gradient clip(d, -delta, delta), checked off the kinks."""
    d = rand(shape, seed, -3, 3)
    d = np.where(np.abs(np.abs(d) - delta) < 0.05, d + 0.2 * np.sign(d + 1e-12), d)
    gradient_check(lambda v: F.huber(v, delta=delta), d)
    h = F.huber(Variable(d), delta=delta).data
    assert h.shape == np.shape(d)
    # Against the two branches written out, element by element.
    for value, want in zip(np.ravel(d), np.ravel(h)):
        a = abs(value)
        expected = 0.5 * value ** 2 if a <= delta else delta * (a - 0.5 * delta)
        assert np.isclose(want, expected, rtol=1e-12)


def test_huber_loss_is_the_mean_of_huber_and_refuses_a_bad_delta():
    x = np.array([[0.0, 1.0], [5.0, -2.5]])
    t = np.array([[0.5, 1.0], [1.0, 0.0]])
    assert F.huber_loss(x, t, delta=2.0).item() == F.mean(F.huber(x - t, delta=2.0)).item()
    for bad in (0.0, -1.0, float("nan"), float("inf"), "1", None, True):
        with pytest.raises(ValueError, match="delta"):
            F.huber_loss(x, t, delta=bad)
        with pytest.raises(ValueError, match="delta"):
            F.huber(x, delta=bad)


def test_losses_have_closed_forms():
    x, t = np.array([0.0, 1.0, 5.0]), np.array([0.5, 1.0, 1.0])
    assert np.isclose(F.mean_squared_error(x, t).item(), (0.25 + 0 + 16) / 3)
    # Huber, delta 1: 0.5 * 0.25 quadratic, 0, and 1 * (4 - 0.5) linear.
    assert np.isclose(F.huber_loss(x, t).item(), (0.125 + 0 + 3.5) / 3)


def test_softmax_and_log_softmax_stable_at_1000():
    x = Variable(np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]]))
    p = F.softmax(x, axis=1).data
    lp = F.log_softmax(x, axis=1).data
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp))
    np.testing.assert_allclose(p[0], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(lp[0], [0, -1000, -2000])
    np.testing.assert_allclose(p[1], [1 / 3] * 3)
    assert np.isfinite(F.softmax_cross_entropy(x, np.array([2, 0])).item())
    s = F.sigmoid(Variable(np.array([-1000.0, 0.0, 1000.0]))).data
    np.testing.assert_allclose(s, [0, 0.5, 1])


def test_ops_keep_float32():
    x = Variable(np.ones((2, 3), np.float32))
    W = Variable(np.ones((3, 4), np.float32))
    for y in (x * 2.5, 1.0 - x, x / 3, x ** 2, F.exp(x), F.sigmoid(x), F.softmax(x),
              F.linear(x, W), F.mean(x), F.huber_loss(x, np.zeros((2, 3), np.float32)),
              F.huber(x)):
        assert y.dtype == np.float32, y
    F.sum(F.linear(x, W) * 0.5).backward()
    assert x.grad.dtype == np.float32 and W.grad.dtype == np.float32


@pytest.mark.parametrize("shape", [(5,), (3, 5), (2, 3, 5)])
def test_lean_path_without_a_graph_gives_the_graph_path_values(shape):
    """Under no_grad, linear and relu skip Function.__call__: same values bit for bit,
    constants with no creator, the dtype as with a graph, inputs arrays or lists."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    W = Variable(rng.standard_normal((5, 4)).astype(np.float32))
    b = Variable(rng.standard_normal(4).astype(np.float32))
    with_graph = [F.linear(Variable(x), W, b), F.linear(Variable(x), W),
                  F.relu(Variable(x)), F.relu(F.linear(x.tolist(), W, b))]
    assert all(y.creator is not None for y in with_graph)
    with no_grad():
        lean = [F.linear(x, W, b), F.linear(Variable(x), W.data), F.relu(x),
                F.relu(F.linear(x.tolist(), W, b.data))]
    for y, z in zip(with_graph, lean):
        assert z.creator is None and not z.requires_grad
        assert z.dtype == y.dtype and z.shape == y.shape
        np.testing.assert_array_equal(z.data, y.data)
    # relu against negative, zero and positive values, by its definition
    with no_grad():
        np.testing.assert_array_equal(F.relu(np.array([-2.0, 0.0, 3.0])).data, [0, 0, 3])


def test_lean_path_names_shapes_that_do_not_fit():
    W, b = np.ones((3, 2), np.float32), np.ones(2, np.float32)
    for run in (lambda: F.linear(np.ones((4, 5), np.float32), W, b),
                lambda: F.linear(np.ones((4, 3), np.float32), W, np.ones(3, np.float32))):
        for context in (no_grad, enable_grad):
            with context(), pytest.raises(ValueError, match=r"Linear: cannot combine inputs "
                                                            r"of shapes \(4, \d\), \(3, 2\)"):
                run()
    with no_grad(), pytest.raises(TypeError, match="numeric"):
        F.relu(np.array(["a"]))


def test_transpose_backward_inverts_a_permutation_that_is_not_its_own_inverse():
    # (1, 2, 0) undone is (2, 0, 1): a backward that reused the axes would give (4, 2, 3)
    x = rand((2, 3, 4), 7)
    gradient_check(lambda v: v.transpose((1, 2, 0)), x)
