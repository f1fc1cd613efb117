"""Adam and RMSprop where epsilon matters: eps of the size of sqrt(v_hat), so that
moving eps inside or outside the bias correction changes the step (Kingma & Ba 2015,
Algorithm 1: theta <- theta - lr m_hat / (sqrt(v_hat) + eps))."""
import numpy as np

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
