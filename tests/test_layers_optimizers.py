"""Modules, optimizers, clipping, target updates, and an MLP that really learns."""
import numpy as np
import pytest

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl import Variable, no_grad
from minirl.gradcheck import gradient_check


def test_linear_shapes_init_and_gradient():
    rng = np.random.default_rng(0)
    layer = L.Linear(5, 3, rng=rng)
    assert layer.W.shape == (5, 3) and layer.b.shape == (3,)
    assert layer.W.dtype == np.float32
    bound = 1 / np.sqrt(5)
    assert np.all(np.abs(layer.W.data) <= bound) and np.all(np.abs(layer.b.data) <= bound)
    big = L.Linear(1000, 200, rng=rng)  # uniform(-1/sqrt(n), 1/sqrt(n)) has var 1/(3n)
    assert np.isclose(big.W.data.var(), 1 / 3000, rtol=0.05)
    x = rng.standard_normal((4, 5))
    gradient_check(lambda v, W, b: F.linear(v, W, b), x, layer.W.data, layer.b.data)
    with pytest.raises(ValueError, match="in_size"):
        L.Linear(0, 3)


def test_same_rng_seed_gives_same_weights():
    a = L.MLP((4, 8, 2), rng=np.random.default_rng(3)).state_dict()
    b = L.MLP((4, 8, 2), rng=np.random.default_rng(3)).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


class TwoHeads(L.Module):
    def __init__(self):
        super().__init__()
        self.body = L.MLP((3, 4, 4), rng=np.random.default_rng(0))
        self.scale = L.Parameter(np.ones(1, np.float32))
        self.head = L.Linear(4, 2, rng=np.random.default_rng(1))

    def forward(self, x):
        return self.head(F.relu(self.body(x))) * self.scale


def test_module_registration_order_nested_and_state_dict():
    net = TwoHeads()
    names = [n for n, _ in net.named_params()]
    assert names == ["scale", "body.l0.W", "body.l0.b", "body.l1.W", "body.l1.b",
                     "head.W", "head.b"]
    assert len(net.params()) == 7
    state = net.state_dict()
    other = TwoHeads()
    for p in other.params():
        p.data = p.data + 1
    other.load_state_dict(state)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(net.params(), other.params()))
    state["head.W"][:] = 99  # a state dict is a copy: the module is untouched
    assert not np.any(net.head.W.data == 99)


def test_load_state_dict_errors_and_all_or_nothing():
    net = TwoHeads()
    before = net.state_dict()
    bad = dict(before)
    bad["head.W"] = np.zeros((5, 5))
    bad["body.l0.W"] = np.zeros_like(before["body.l0.W"])
    with pytest.raises(ValueError, match=r"head.W.*\(5, 5\)"):
        net.load_state_dict(bad)
    assert np.array_equal(net.body.l0.W.data, before["body.l0.W"])  # nothing loaded
    missing = dict(before)
    del missing["scale"]
    with pytest.raises(KeyError, match="scale"):
        net.load_state_dict(missing)
    with pytest.raises(KeyError, match="extra"):
        net.load_state_dict({**before, "extra": np.zeros(1)})


def test_zero_grad_and_copy_from():
    a, b = TwoHeads(), TwoHeads()
    F.sum(a(np.ones((2, 3), np.float32))).backward()
    assert all(p.grad is not None for p in a.params())
    a.zero_grad()
    assert all(p.grad is None for p in a.params())
    for p in b.params():
        p.data = p.data * 3
    b.copy_from(a)
    assert all(np.array_equal(x.data, y.data) for x, y in zip(a.params(), b.params()))


def test_sgd_and_momentum_against_closed_form():
    p = L.Parameter(np.array([1.0, -2.0]))
    opt = optim.SGD([p], lr=0.1)
    p.grad = np.array([0.5, 1.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.95, -2.1])
    p = L.Parameter(np.array([0.0]))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    for _ in range(3):
        p.grad = np.array([1.0])
        opt.step()
    # v: 1, 1.9, 2.71 -> p = -0.1 (1 + 1.9 + 2.71)
    np.testing.assert_allclose(p.data, [-0.561])


def test_adam_first_steps_against_closed_form():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p = L.Parameter(np.array([1.0, 2.0]))
    opt = optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    grads = [np.array([0.1, -1.0]), np.array([0.3, 2.0]), np.array([-0.2, 0.5])]
    m = v = np.zeros(2)
    expected = np.array([1.0, 2.0])
    for t, g in enumerate(grads, start=1):
        p.grad = g
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        expected = expected - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(p.data, expected, rtol=1e-10)
    # The first step of Adam moves every coordinate by lr * sign(g), whatever |g| is.
    q = L.Parameter(np.array([0.0, 0.0]))
    opt = optim.Adam([q], lr=0.01)
    q.grad = np.array([1e-3, -50.0])
    opt.step()
    np.testing.assert_allclose(q.data, [-0.01, 0.01], rtol=1e-4)


def test_rmsprop_against_closed_form():
    p = L.Parameter(np.array([1.0]))
    opt = optim.RMSprop([p], lr=0.01, alpha=0.9, eps=0.0)
    p.grad = np.array([2.0])
    opt.step()
    # v = 0.1 * 4 = 0.4; p = 1 - 0.01 * 2 / sqrt(0.4)
    np.testing.assert_allclose(p.data, [1 - 0.02 / np.sqrt(0.4)])


def test_optimizer_state_dict_round_trip():
    net = TwoHeads()
    opt = optim.Adam(net.params(), lr=1e-3)
    for _ in range(2):
        net.zero_grad()
        F.sum(net(np.ones((2, 3), np.float32))).backward()
        opt.step()
    state = opt.state_dict()
    clone = optim.Adam(net.params(), lr=1e-3)
    clone.load_state_dict(state)
    assert clone.t == 2
    assert all(np.array_equal(a, b) for a, b in zip(opt.m, clone.m))
    with pytest.raises(KeyError, match="m.0"):
        clone.load_state_dict({k: v for k, v in state.items() if k != "m.0"})


def test_bad_hyperparameters_raise():
    p = [L.Parameter(np.ones(1))]
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD(p, lr=-0.1)
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam(p, lr=0.0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    with pytest.raises(ValueError, match="tau"):
        optim.soft_update(TwoHeads(), TwoHeads(), 1.5)


def test_clip_grad_norm_scales_globally_without_aliasing():
    a, b = L.Parameter(np.array([3.0])), L.Parameter(np.array([4.0]))
    a.grad, b.grad = np.array([3.0]), np.array([4.0])
    norm = optim.clip_grad_norm([a, b], 1.0)
    assert norm == 5.0
    np.testing.assert_allclose(np.hypot(a.grad, b.grad), 1.0, rtol=1e-5)
    np.testing.assert_allclose(a.grad / b.grad, 0.75)
    shared = np.array([1.0])  # x + y hands the same gradient array to both inputs
    a.grad = b.grad = shared
    optim.clip_grad_norm([a, b], 0.1)
    np.testing.assert_allclose(a.grad, 0.1 / np.sqrt(2), rtol=1e-4)
    assert shared[0] == 1.0


def test_hard_and_soft_target_updates():
    online, target = TwoHeads(), TwoHeads()
    for p in online.params():
        p.data = p.data + 1.0
    before = [p.data.copy() for p in target.params()]
    optim.soft_update(target, online, tau=0.1)
    for t, o, b in zip(target.params(), online.params(), before):
        np.testing.assert_allclose(t.data, 0.1 * o.data + 0.9 * b, rtol=1e-6)
    optim.hard_update(target, online)
    assert all(np.array_equal(t.data, o.data) for t, o in zip(target.params(), online.params()))


def test_target_network_receives_no_gradient():
    online, target = TwoHeads(), TwoHeads()
    x = np.ones((2, 3), np.float32)
    with no_grad():
        y = target(x).data.max(axis=1)
    loss = F.mean_squared_error(F.max(online(x), axis=1), y)
    loss.backward()
    assert all(p.grad is None for p in target.params())
    assert all(p.grad is not None for p in online.params())


def test_mlp_learns_sin():
    """4 hidden-64 tanh MLP fits sin on [-pi, pi]: MSE from ~0.5 to below 0.01."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-np.pi, np.pi, (256, 1)).astype(np.float32)
    y = np.sin(x)
    net = L.MLP((1, 64, 64, 1), activation=F.tanh, rng=rng)
    opt = optim.Adam(net.params(), lr=1e-2)
    first = F.mean_squared_error(net(x), y).item()
    for _ in range(500):
        loss = F.mean_squared_error(net(x), y)
        net.zero_grad()
        loss.backward()
        opt.step()
    grid = np.linspace(-np.pi, np.pi, 100, dtype=np.float32)[:, None]
    test_loss = F.mean_squared_error(net(grid), np.sin(grid)).item()
    assert first > 0.1
    assert test_loss < 0.01, test_loss
