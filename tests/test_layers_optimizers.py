"""Modules, optimizers, clipping, target updates, and an MLP that really learns."""
import numpy as np
import pytest

import minirl
import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl import Variable, flat, no_grad
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
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.l0.W", "body.l0.b", "body.l1.W", "body.l1.b",
                     "head.W", "head.b"]
    assert len(net.parameters()) == 7
    state = net.state_dict()
    other = TwoHeads()
    for p in other.parameters():
        p.data = p.data + 1
    other.load_state_dict(state)
    assert all(np.array_equal(a.data, b.data)
               for a, b in zip(net.parameters(), other.parameters()))
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
    assert all(p.grad is not None for p in a.parameters())
    a.zero_grad()
    assert all(p.grad is None for p in a.parameters())
    for p in b.parameters():
        p.data = p.data * 3
    b.copy_from(a)
    assert all(np.array_equal(x.data, y.data) for x, y in zip(a.parameters(), b.parameters()))


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
    opt = optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(2):
        net.zero_grad()
        F.sum(net(np.ones((2, 3), np.float32))).backward()
        opt.step()
    state = opt.state_dict()
    clone = optim.Adam(net.parameters(), lr=1e-3)
    clone.load_state_dict(state)
    assert clone.t == 2
    assert clone.state_dict().keys() == state.keys()
    assert all(np.array_equal(clone.state_dict()[k], state[k]) for k in state)
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


def test_grad_norm_is_the_global_l2_norm():
    a, b, c = (L.Parameter(np.zeros(s)) for s in ((2,), (2, 2), (3,)))
    a.grad, b.grad = np.array([1.0, 2.0]), np.array([[2.0, 0.0], [0.0, 4.0]])  # c: none
    assert optim.grad_norm([a, b, c]) == 5.0  # sqrt(1 + 4 + 4 + 16)
    net = TwoHeads()
    grads = grads_by_hand(net, np.full((2, 3), 3.0, np.float32))
    by_hand = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values()))
    assert np.isclose(optim.grad_norm(net), by_hand, rtol=1e-6)


def test_hard_and_soft_target_updates():
    online, target = TwoHeads(), TwoHeads()
    for p in online.parameters():
        p.data = p.data + 1.0
    before = [p.data.copy() for p in target.parameters()]
    optim.soft_update(target, online, tau=0.1)
    for t, o, b in zip(target.parameters(), online.parameters(), before):
        np.testing.assert_allclose(t.data, 0.1 * o.data + 0.9 * b, rtol=1e-6)
    optim.hard_update(target, online)
    assert all(np.array_equal(t.data, o.data)
               for t, o in zip(target.parameters(), online.parameters()))


def test_target_network_receives_no_gradient():
    online, target = TwoHeads(), TwoHeads()
    x = np.ones((2, 3), np.float32)
    with no_grad():
        y = target(x).data.max(axis=1)
    loss = F.mean_squared_error(F.max(online(x), axis=1), y)
    loss.backward()
    assert all(p.grad is None for p in target.parameters())
    assert all(p.grad is not None for p in online.parameters())


def test_mlp_learns_sin():
    """4 hidden-64 tanh MLP fits sin on [-pi, pi]: MSE from ~0.5 to below 0.01."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-np.pi, np.pi, (256, 1)).astype(np.float32)
    y = np.sin(x)
    net = L.MLP((1, 64, 64, 1), activation=F.tanh, rng=rng)
    opt = optim.Adam(net.parameters(), lr=1e-2)
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


# --- the flat layout ---------------------------------------------------------------
def grads_by_hand(net, x):
    """Backprop through TwoHeads, then the gradients as a {name: array} copy."""
    net.zero_grad()
    F.sum(net(x) ** 2).backward()
    return {name: p.grad.copy() for name, p in net.named_parameters()}


def test_flat_layout_parameters_are_views_of_one_array():
    net = TwoHeads()
    before = net.state_dict()
    layout = net.flatten_parameters()
    assert layout is net.flatten_parameters()  # once
    names = [n for n, _ in net.named_parameters()]
    # The values are unchanged, laid end to end in registration order.
    np.testing.assert_array_equal(layout.data,
                                  np.concatenate([before[n].ravel() for n in names]))
    layout.data += 1.0  # writing the array writes every parameter
    assert all(np.array_equal(p.data, before[n] + 1) for n, p in net.named_parameters())
    net.head.W.data -= 1.0  # in place, as every update does: still the view
    assert np.shares_memory(net.head.W.data, layout.data) and layout.intact()
    # Gradients are ordinary arrays, gathered into the layout by one concatenate.
    x = np.ones((2, 3), np.float32)
    grads = grads_by_hand(net, x)
    np.testing.assert_array_equal(layout.gather_grads(),
                                  np.concatenate([grads[n].ravel() for n in names]))
    net.scale.grad = None  # one missing: not one array, and zeros where A3C asks
    assert layout.gather_grads() is None
    gathered = layout.grad_or_zeros()
    np.testing.assert_array_equal(gathered[:net.scale.data.size], 0)
    np.testing.assert_array_equal(gathered[net.scale.data.size:], np.concatenate(
        [grads[n].ravel() for n in names if n != "scale"]))


def test_a_parameter_given_a_new_array_leaves_the_layout():
    net = TwoHeads()
    layout = net.flatten_parameters()
    net.scale.data = np.ones(1, np.float64)  # as a float64 gradient check would
    assert net.scale.data.dtype == np.float64 and not layout.intact()
    assert flat.find(net.parameters()) is None
    F.sum(net(np.ones((2, 3), np.float32))).backward()
    assert layout.gather_grads() is None  # never again treated as one array
    opt = optim.SGD(net.parameters(), lr=0.5)  # so each parameter is stepped alone
    want = {n: p.data - 0.5 * p.grad for n, p in net.named_parameters()}
    opt.step()
    assert all(np.array_equal(p.data, want[n]) for n, p in net.named_parameters())


def test_bind_makes_the_parameters_views_of_a_given_array():
    """A3C's shared memory: the network reads and writes the array it is bound to."""
    net = TwoHeads()
    layout = net.flatten_parameters()
    with pytest.raises(ValueError, match="bind: needs a 1-D array of 47 float32"):
        layout.bind(np.zeros(46, np.float32))
    shared = np.arange(layout.size, dtype=np.float32)
    layout.bind(shared)
    assert layout.intact() and layout.data is shared
    assert all(np.shares_memory(p.data, shared) for p in net.parameters())
    np.testing.assert_array_equal(net.scale.data, [0.0])
    shared[0] = 5.0
    assert net.scale.data[0] == 5.0
    # Loading a state writes into the views (as a step does): the layout stays whole.
    other = TwoHeads()
    other.scale.data[...] = 3.0
    net.load_state_dict(other.state_dict())
    assert layout.intact() and shared[0] == 3.0
    np.testing.assert_array_equal(shared, np.concatenate(
        [p.data.ravel() for p in other.parameters()]))


def test_state_dict_keys_are_unchanged_by_the_layout():
    net = L.MLP((4, 8, 2), rng=np.random.default_rng(0))
    opt = optim.Adam(net.parameters())
    assert list(net.state_dict()) == ["l0.W", "l0.b", "l1.W", "l1.b"]
    assert list(opt.state_dict()) == ["t"] + [f"{k}.{i}" for i in range(4) for k in "mv"]
    assert all(opt.state_dict()[f"m.{i}"].shape == p.data.shape
               for i, p in enumerate(net.parameters()))


def adam_by_hand(params, grads_per_step, lr=1e-2, b1=0.9, b2=0.999, eps=1e-8):
    """Algorithm 1 of Kingma & Ba per parameter, in float64; None: no gradient (skip)."""
    theta = [np.array(p, np.float64) for p in params]
    m = [np.zeros_like(p) for p in theta]
    v = [np.zeros_like(p) for p in theta]
    for t, grads in enumerate(grads_per_step, start=1):
        for i, g in enumerate(grads):
            if g is None:
                continue
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat, v_hat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            theta[i] = theta[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


def test_adam_on_the_flat_array_and_per_parameter_follow_algorithm_1():
    rng = np.random.default_rng(0)
    shapes = [(3, 2), (2,), (4,)]
    start = [rng.standard_normal(s) for s in shapes]
    steps = [[rng.standard_normal(s) for s in shapes] for _ in range(3)]
    steps.append([steps[0][0], None, steps[0][2]])  # a parameter without a gradient
    flat_params = [L.Parameter(p.copy()) for p in start]
    opt = optim.Adam(flat_params, lr=1e-2)
    assert opt.flat.params == flat_params  # one flat array
    for grads in steps:
        for p, g in zip(flat_params, grads):
            p.grad = g
        opt.step()
    expected = adam_by_hand(start, steps)
    for p, want in zip(flat_params, expected):
        np.testing.assert_allclose(p.data, want, rtol=1e-12)
    # The skipped parameter's moments stayed where its last gradient left them.
    skipped = optim.Adam([L.Parameter(start[1].copy())], lr=1e-2)
    for grads in steps[:3]:
        skipped.params[0].grad = grads[1]
        skipped.step()
    np.testing.assert_array_equal(opt.state_dict()["m.1"], skipped.state_dict()["m.0"])
    # The moments of the step taken one parameter at a time were kept: the next step,
    # on the flat array again, starts from them.
    steps.append(steps[1])
    for p, g in zip(flat_params, steps[-1]):
        p.grad = g
    opt.step()
    for p, want in zip(flat_params, adam_by_hand(start, steps)):
        np.testing.assert_allclose(p.data, want, rtol=1e-12)


def test_a_network_inside_a_larger_layout_is_found_as_its_stretch():
    """SAC's and TD3's optimizer lays both critics out together; each critic alone is
    then a stretch of that array, which its target update averages in one operation."""
    rng = np.random.default_rng(3)
    nets = [L.MLP((3, 4, 2), rng=rng) for _ in range(2)]
    opt = optim.Adam(nets[0].parameters() + nets[1].parameters())
    for k, net in enumerate(nets):
        stretch = flat.find(net.parameters())
        n = sum(p.data.size for p in net.parameters())
        assert stretch.data.size == n and np.shares_memory(stretch.data, opt.flat.data)
        np.testing.assert_array_equal(stretch.data, opt.flat.data[k * n:(k + 1) * n])
    assert flat.find(nets[0].parameters()[1:]).data.size == 4 + 8 + 2  # all but l0.W
    assert flat.find(nets[1].parameters()[::-1]) is None  # not in the layout's order
    target = L.MLP((3, 4, 2), rng=rng)
    optim.soft_update(target, nets[1], tau=0.5)
    assert flat.find(target.parameters()) is not None  # laid out on its first update


@pytest.mark.parametrize("name", ["td3", "sac"])
def test_the_twin_critics_optimizer_steps_both_critics_as_one_array(name):
    agent = minirl.make_agent(name, "Pendulum-v1", seed=0)
    critics = [agent.critic if name == "td3" else agent.critic1, agent.critic2]
    layout = agent.critic_optimizer.flat
    assert layout.params == critics[0].parameters() + critics[1].parameters()
    assert layout.intact()


def test_sgd_and_rmsprop_on_the_flat_array_match_each_parameter_alone():
    rng = np.random.default_rng(1)
    shapes = [(2, 3), (3,)]
    start = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(3)]
    for make in (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                 lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.9)):
        together = [L.Parameter(p.copy()) for p in start]
        opt = make(together)
        alone = [L.Parameter(p.copy()) for p in start]
        opts = [make([p]) for p in alone]
        for step in grads:
            for p, q, g in zip(together, alone, step):
                p.grad, q.grad = g, g
            opt.step()
            for o in opts:
                o.step()
        for p, q in zip(together, alone):
            np.testing.assert_allclose(p.data, q.data, rtol=1e-12)


def test_clip_grad_norm_of_a_laid_out_network():
    net = TwoHeads()
    optim.Adam(net.parameters())  # lays the parameters out flat
    grads = grads_by_hand(net, np.full((2, 3), 3.0, np.float32))
    norm = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values()))
    got = optim.clip_grad_norm(net.parameters(), 0.5)
    assert np.isclose(got, norm, rtol=1e-5) and norm > 0.5
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name] * 0.5 / norm, rtol=1e-4)


def test_target_updates_on_flat_arrays_lay_the_target_out():
    online, target = TwoHeads(), TwoHeads()
    optim.Adam(online.parameters())
    for p in online.parameters():
        p.data = p.data + 1.0
    before = target.state_dict()
    optim.soft_update(target, online, tau=0.25)
    assert flat.find(target.parameters()) is not None
    for name, p in target.named_parameters():
        want = 0.25 * online.state_dict()[name] + 0.75 * before[name]
        np.testing.assert_allclose(p.data, want, rtol=1e-6)
    optim.hard_update(target, online)
    assert all(np.array_equal(a, b) for a, b in zip(target.state_dict().values(),
                                                    online.state_dict().values()))
    with pytest.raises(ValueError, match="differ"):
        optim.hard_update(target, L.MLP((3, 2)))


def test_old_per_parameter_optimizer_state_loads():
    """A state written one array per parameter ('m.0', 'm.1', ...) loads into the flat
    statistics, and comes back out the same."""
    net = L.MLP((3, 4, 2), rng=np.random.default_rng(0))
    opt = optim.Adam(net.parameters())
    rng = np.random.default_rng(2)
    old = {"t": np.array(7)}
    for i, p in enumerate(net.parameters()):
        old[f"m.{i}"] = rng.standard_normal(p.data.shape).astype(np.float32)
        old[f"v.{i}"] = rng.random(p.data.shape).astype(np.float32)
    opt.load_state_dict(old)
    assert opt.t == 7
    np.testing.assert_array_equal(opt.m, np.concatenate([old[f"m.{i}"].ravel()
                                                         for i in range(4)]))
    assert all(np.array_equal(opt.state_dict()[k], old[k]) for k in old)


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.Adam(p, lr="0.1"), "lr"),
    (lambda p: optim.Adam(p, lr=float("nan")), "lr"),
    (lambda p: optim.SGD(p, lr=float("inf")), "lr"),
    (lambda p: optim.Adam(p, betas=(0.9, float("nan"))), r"betas\[1\]"),
    (lambda p: optim.Adam(p, betas=("0.9", 0.999)), r"betas\[0\]"),
    (lambda p: optim.Adam(p, betas=0.9), "betas"),
    (lambda p: optim.Adam(p, eps=-1e-8), "eps"),
    (lambda p: optim.Adam(p, eps=None), "eps"),
    (lambda p: optim.SGD(p, momentum=float("nan")), "momentum"),
    (lambda p: optim.SGD(p, momentum=True), "momentum"),
    (lambda p: optim.RMSprop(p, alpha=float("inf")), "alpha"),
    (lambda p: optim.RMSprop(p, eps="1e-8"), "eps"),
    (lambda p: optim.clip_grad_norm(p, float("nan")), "max_norm"),
    (lambda p: optim.clip_grad_norm(p, "1.0"), "max_norm"),
    (lambda p: optim.clip_grad_norm(p, 0), "max_norm"),
])
def test_hyperparameters_must_be_finite_numbers(make, match):
    p = [L.Parameter(np.ones(2))]
    p[0].grad = np.ones(2)
    with pytest.raises((TypeError, ValueError), match=match):
        make(p)


def test_soft_update_refuses_a_non_finite_tau():
    with pytest.raises(ValueError, match="tau"):
        optim.soft_update(TwoHeads(), TwoHeads(), float("nan"))
    with pytest.raises(TypeError, match="tau"):
        optim.soft_update(TwoHeads(), TwoHeads(), "0.1")


def test_load_state_dict_refuses_non_finite_and_non_numeric_values():
    net = TwoHeads()
    before = net.state_dict()
    bad = dict(before, **{"head.b": np.array([0.0, np.nan], np.float32)})
    with pytest.raises(ValueError, match="head.b.*non-finite"):
        net.load_state_dict(bad)
    with pytest.raises(TypeError, match="scale.*not numeric"):
        net.load_state_dict(dict(before, scale=np.array(["a"])))
    assert all(np.array_equal(p, before[n]) for n, p in net.state_dict().items())
    opt = optim.Adam(net.parameters())
    state = opt.state_dict()
    with pytest.raises(ValueError, match="v.3.*non-finite"):
        opt.load_state_dict(dict(state, **{"v.3": np.full_like(state["v.3"], np.inf)}))
    for t in (np.array(-1), np.array(1.5), np.array(np.nan)):
        with pytest.raises(ValueError, match="'t'"):
            opt.load_state_dict(dict(state, t=t))
    assert opt.t == 0 and not opt.m.any()  # all or nothing


def test_noisy_linear_is_one_formula_with_and_without_a_graph():
    layer = L.NoisyLinear(3, 2, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    with no_grad():
        acting = layer(x).data
    learning = layer(x)
    np.testing.assert_array_equal(acting, learning.data)
    W = layer.W_mu.data + layer.W_sigma.data * layer.eps_W
    b = layer.b_mu.data + layer.b_sigma.data * layer.eps_b
    np.testing.assert_allclose(acting, x @ W + b, rtol=1e-6)


def test_linear_gradients_of_a_shared_weight_sum():
    """A weight used twice in one graph, or a second backward, adds to its gradient."""
    layer = L.Linear(3, 2, rng=np.random.default_rng(0))
    layer.flatten_parameters()
    x1 = np.array([[1.0, 2.0, -1.0]], np.float32)
    x2 = np.array([[0.5, -1.0, 3.0], [2.0, 0.0, 1.0]], np.float32)
    # L = sum(layer(x1)) + 2 sum(layer(x2)): dL/dW = x1^T 1 + 2 x2^T 1, dL/db = 1 + 2 * 2
    loss = F.sum(layer(x1)) + 2.0 * F.sum(layer(x2))
    loss.backward()
    gW = x1.sum(axis=0)[:, None] + 2 * x2.sum(axis=0)[:, None] * np.ones((1, 2))
    np.testing.assert_allclose(layer.W.grad, np.broadcast_to(gW, (3, 2)), rtol=1e-6)
    np.testing.assert_allclose(layer.b.grad, [5.0, 5.0])
    loss.backward()  # the leaves accumulate
    np.testing.assert_allclose(layer.b.grad, [10.0, 10.0])
    layer.zero_grad()
    F.sum(layer(x1)).backward()  # afresh after zero_grad: the old values are overwritten
    np.testing.assert_allclose(layer.W.grad, np.broadcast_to(x1.T, (3, 2)), rtol=1e-6)
    np.testing.assert_allclose(layer.b.grad, [1.0, 1.0])
