"""The engine's bookkeeping: graph, generation order, no_grad, detach, clear errors."""
import gc
import weakref

import numpy as np
import pytest

import minirl
import minirl.functions as F
from minirl import Variable, no_grad
from minirl.core import Config, enable_grad


def test_shared_node_receives_the_sum_of_its_gradients():
    # y = x^2 is used twice: z = y + y  =>  dz/dx = 2 * 2x = 4x.
    x = Variable(np.array(3.0))
    y = x ** 2
    z = y + y
    z.backward()
    assert x.grad == 12.0


def test_generation_order_diamond():
    # a -> (b, c) -> d: with a depth-first walk a gets its gradient before c's branch
    # arrives; generation order makes it wait.  d = exp(a)^2 * sin-free form:
    x = Variable(np.array(0.5))
    a = x ** 2
    b = F.exp(a)
    c = a * 3.0
    d = b * c + a
    d.backward()
    # closed form: d = 3 x^2 exp(x^2) + x^2; dd/dx = 6x e^{x^2} + 6x^3 e^{x^2} + 2x
    xv = 0.5
    expected = 6 * xv * np.exp(xv**2) + 6 * xv**3 * np.exp(xv**2) + 2 * xv
    assert np.isclose(x.grad, expected)


def test_gradient_accumulates_across_backward_calls_until_cleared():
    x = Variable(np.array(2.0))
    (x * 3.0).backward()
    (x * 3.0).backward()
    assert x.grad == 6.0
    x.cleargrad()
    (x * 3.0).backward()
    assert x.grad == 3.0


def test_no_grad_builds_no_graph():
    x = Variable(np.ones(3))
    with no_grad():
        y = F.sum(F.exp(x) * 2.0)
        with enable_grad():
            z = F.sum(x * 2.0)
    assert y.creator is None and not y.requires_grad
    assert z.creator is not None
    assert Config.enable_backprop


def test_no_grad_restores_the_flag_after_an_exception():
    with pytest.raises(RuntimeError):
        with no_grad():
            raise RuntimeError
    assert Config.enable_backprop


def test_detached_value_receives_no_gradient():
    x = Variable(np.array([1.0, 2.0]))
    target = (x * 2.0).detach()  # like a TD target built from the network itself
    loss = F.sum((x - target) ** 2)
    loss.backward()
    # d/dx (x - c)^2 = 2 (x - c) with c constant: the target carries nothing back.
    np.testing.assert_allclose(x.grad, 2 * (x.data - 2 * x.data))
    assert target.grad is None and target.creator is None


def test_constants_get_no_gradient_and_arrays_on_the_left_dispatch():
    x = Variable(np.ones((2, 2)))
    a = np.full((2, 2), 3.0)
    y = a @ x + a - x * a / a  # ndarray on the left of @, +, -
    assert isinstance(y, Variable)
    F.sum(y).backward()
    np.testing.assert_allclose(x.grad, np.full((2, 2), 6.0 - 1.0))


def test_intermediate_gradients_freed_unless_retained():
    x = Variable(np.array(2.0))
    y = x * 3.0
    z = y * y
    z.backward()
    assert y.grad is None and x.grad == 36.0
    x.cleargrad()
    z2 = (x * 3.0)
    w = z2 * z2
    w.backward(retain_grad=True)
    assert z2.grad == 12.0


def test_graph_is_freed_without_the_garbage_collector():
    # Outputs are held weakly by their creator: no reference cycle keeps memory alive.
    gc.disable()
    try:
        x = Variable(np.ones(1000))
        y = F.exp(x) * 2.0
        ref = weakref.ref(y.creator)
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_operators_and_properties():
    x = Variable(np.arange(6.0).reshape(2, 3), name="x")
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.T.shape == (3, 2) and x.reshape(3, 2).shape == (3, 2)
    assert x.reshape((6,)).shape == (6,) and x.transpose(1, 0).shape == (3, 2)
    assert x.sum().item() == 15 and x.sum(axis=0, keepdims=True).shape == (1, 3)
    assert x.mean().item() == 2.5 and x.max(axis=1).data.tolist() == [2, 5]
    assert (-x).data[1, 2] == -5 and (2 - x).data[0, 0] == 2 and (1 / (x + 1)).data[0, 0] == 1
    assert "x" in repr(x)


def test_errors_name_what_was_wrong():
    with pytest.raises(TypeError, match="numeric"):
        Variable("abc")
    with pytest.raises(TypeError, match="numeric"):
        Variable(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="numeric"):
        Variable(np.ones(2)) + "a"
    with pytest.raises(ValueError, match=r"non-scalar.*\(2, 3\)"):
        (Variable(np.ones((2, 3))) * 2.0).backward()
    with pytest.raises(ValueError, match=r"Add.*\(2, 3\).*\(4,\)"):
        Variable(np.ones((2, 3))) + np.ones(4)
    with pytest.raises(ValueError, match=r"MatMul.*\(2, 3\).*\(2, 3\)"):
        Variable(np.ones((2, 3))) @ Variable(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Linear.*\(2, 3\).*\(4, 5\)"):
        F.linear(np.ones((2, 3)), Variable(np.ones((4, 5))))
    with pytest.raises(ValueError, match=r"axis 3"):
        F.sum(Variable(np.ones((2, 3))), axis=3)
    with pytest.raises(ValueError, match="seed gradient has shape"):
        Variable(np.ones(3)).backward(np.ones(2))


def test_td_target_shape_bug_is_caught():
    # The classic bug: Q(s, a) of shape (32, 1) against a TD target of shape (32,)
    # broadcasts to a (32, 32) loss. Losses refuse different shapes.
    q_sa = Variable(np.zeros((32, 1)))
    target = np.ones(32)
    with pytest.raises(ValueError, match=r"\(32, 1\).*\(32,\)"):
        F.mean_squared_error(q_sa, target)
    with pytest.raises(ValueError, match=r"\(32, 1\).*\(32,\)"):
        F.huber_loss(q_sa, target)


def test_public_api_names():
    for name in ["exp", "log", "tanh", "sigmoid", "relu", "softmax", "log_softmax", "sum",
                 "mean", "reshape", "transpose", "broadcast_to", "sum_to", "matmul",
                 "linear", "max", "clip", "concat", "get_item", "mean_squared_error",
                 "huber_loss", "softmax_cross_entropy"]:
        assert callable(getattr(F, name)), name
    assert minirl.Variable is Variable and minirl.no_grad is no_grad
