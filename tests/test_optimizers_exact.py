"""Adam and RMSprop where epsilon matters: eps of the size of sqrt(v_hat), so that
moving eps inside or outside the bias correction changes the step (Kingma & Ba 2015,
Algorithm 1: theta <- theta - lr m_hat / (sqrt(v_hat) + eps))."""
import numpy as np
import pytest

import minirl.optimizers as optim
from minirl.layers import Parameter


def test_adam_with_a_large_eps_follows_algorithm_1():
    lr, b1, b2, eps = 0.1, 0.8, 0.9, 0.3
    rng = np.random.default_rng(0)
    p = Parameter(rng.standard_normal(5))
    opt = optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    theta, m, v = p.data.copy(), np.zeros(5), np.zeros(5)
    for t in range(1, 6):
        g = rng.standard_normal(5) * 0.5
        p.grad = g.copy()
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(p.data, theta, rtol=1e-12, atol=1e-14)


def test_rmsprop_with_a_large_eps_follows_its_recursion():
    lr, alpha, eps = 0.05, 0.7, 0.2
    rng = np.random.default_rng(1)
    p = Parameter(rng.standard_normal(4))
    opt = optim.RMSprop([p], lr=lr, alpha=alpha, eps=eps)
    theta, v = p.data.copy(), np.zeros(4)
    for _ in range(4):
        g = rng.standard_normal(4)
        p.grad = g.copy()
        opt.step()
        v = alpha * v + (1 - alpha) * g * g
        theta = theta - lr * g / (np.sqrt(v) + eps)
        np.testing.assert_allclose(p.data, theta, rtol=1e-12, atol=1e-14)


def subnormal_moments():
    """Two Adam moments each: a subnormal float32 pair and a normal one."""
    tiny = np.finfo(np.float32).tiny  # the smallest normal float32, 1.18e-38
    return np.array([tiny / 10, -tiny / 3, 1e-3, -2e-3], np.float32)


def test_adam_flushes_subnormal_moments_on_every_100th_step_and_no_step_changes():
    p = Parameter(np.array([0.5, -0.25, 0.5, -0.25], np.float32))
    opt = optim.Adam([p], lr=1e-3)
    opt.t = 98
    opt.m[...] = subnormal_moments()
    opt.v[...] = subnormal_moments() ** 2 + np.float32([1e-40, 2e-40, 0, 0])
    for t in (99, 100):
        p.grad = np.zeros(4, np.float32)  # a dead unit's gradient: the moments decay
        m = opt.m * np.float32(0.9)
        v = opt.v + np.float32(0.001) * (np.float32(0) - opt.v)
        theta = p.data.copy()
        opt.step()
        c2 = np.sqrt(1 - 0.999 ** t)
        want = theta - (1e-3 * c2 / (1 - 0.9 ** t)) * m.astype(np.float64) / (
            np.sqrt(v) + 1e-8 * c2)
        np.testing.assert_array_equal(p.data, want.astype(np.float32))  # unchanged
        tiny = np.finfo(np.float32).tiny
        subnormal = [0 < abs(x) < tiny for x in (*opt.m[:2], *opt.v[:2])]
        assert subnormal == [t == 99] * 4, t  # kept on step 99, zero after step 100
    assert not opt.m[:2].any() and not opt.v[:2].any()
    np.testing.assert_allclose(opt.m[2:], subnormal_moments()[2:] * 0.81, rtol=1e-6)


def test_rmsprop_flushes_subnormal_statistics_on_every_100th_step():
    p = Parameter(np.ones(4, np.float32))
    opt = optim.RMSprop([p], lr=1e-2)
    opt.t = 98
    opt.v[...] = np.abs(subnormal_moments())
    tiny = np.finfo(np.float32).tiny
    for t in (99, 100):
        p.grad = np.zeros(4, np.float32)
        opt.step()
        assert opt.t == t
        assert [0 < x < tiny for x in opt.v[:2]] == [t == 99] * 2, t  # zero after 100
    assert not opt.v[:2].any()
    np.testing.assert_allclose(opt.v[2:], np.abs(subnormal_moments()[2:]) * 0.99 ** 2,
                               rtol=1e-6)
    np.testing.assert_array_equal(p.data, 1)  # a zero gradient moves nothing
    assert opt.state_dict()["t"] == 100  # checkpointed: a resumed run flushes in step


def test_an_rmsprop_checkpoint_from_before_its_step_count_loads_with_t_zero():
    """RMSprop's t came later than its v: an older state without it loads (t = 0, the
    next flush 100 steps on); Adam, which always had t, still refuses a state without."""
    p = Parameter(np.ones(3, np.float32))
    old = {"v.0": np.full(3, 0.5, np.float32)}
    opt = optim.RMSprop([p])
    opt.t = 7
    opt.load_state_dict(old)
    assert opt.t == 0
    np.testing.assert_array_equal(opt.v, 0.5)
    adam = optim.Adam([p])
    with pytest.raises(KeyError, match="missing 't'"):
        adam.load_state_dict({"m.0": np.zeros(3, np.float32), "v.0": np.zeros(3, np.float32)})
