"""A3C's worker loop, exactly: one update of the global parameters, in this process.

The worker (Mnih et al. 2016, Algorithm S3) copies theta' <- theta, runs n steps,
computes the gradient of the rollout's loss at theta', and applies it to the global
theta with the shared optimizer statistics. Run with one worker in this process, the
global theta after the update must be the Adam step, written out here in NumPy, from
the global theta and statistics as they were before -- including Adam's shared step
count t, which other workers may have advanced.
"""
import os
import queue
import threading

import numpy as np
import pytest

import minirl
import minirl.agents.a3c as a3c
from minirl.agents.a2c import ActorCriticNet
from minirl.agents.base import space_to_json

ENV = "minirl/Chain-v0"


def parameters(module):
    get = getattr(module, "parameters", None) or module.params
    return list(get())


@pytest.mark.parametrize("max_grad_norm", [1e6, 0.05])
def test_one_worker_update_is_adam_on_the_rollout_gradient_at_the_global_theta(
        monkeypatch, max_grad_norm):
    agent = minirl.make_agent("a3c", ENV, seed=0, workers=1, n_steps=5, lr=1e-2,
                              optimizer="adam", eps=1e-5, max_grad_norm=max_grad_norm,
                              returns="n-step", gamma=0.9, value_coef=0.5,
                              entropy_coef=0.01, hidden_size=8, shared_layers=1)
    h = agent.hparams
    layout = a3c.shared_layout(agent.net, h, 1)
    shared = {key: np.zeros(shape, dtype) for key, (shape, dtype) in layout.items()}
    rng = np.random.default_rng(1)
    size = shared["theta"].size
    theta0 = (0.5 * rng.standard_normal(size)).astype(np.float32)
    m0 = (0.01 * rng.standard_normal(size)).astype(np.float32)
    v0 = (0.001 * rng.random(size)).astype(np.float32)
    shared["theta"][...] = theta0
    shared["optim.m.0"][...], shared["optim.v.0"][...] = m0, v0
    shared["optim.t"][...] = 5  # five updates by other workers already

    rollouts = []
    rollout_loss = a3c.rollout_loss

    def recording(net, *arrays_and_h):
        rollouts.append([np.array(a) for a in arrays_and_h[:-1]])
        return rollout_loss(net, *arrays_and_h)
    monkeypatch.setattr(a3c, "rollout_loss", recording)
    spaces = (space_to_json(agent.observation_space), space_to_json(agent.action_space))
    a3c._worker_loop(0, ENV, 0, spaces, h, shared, threading.Lock(), threading.Event(),
                     queue.Queue(), 5, os.getppid())
    assert len(rollouts) == 1 and shared["steps"].sum() == 5

    # The gradient at theta0, on a network whose parameters are cut from theta0 in order.
    net = ActorCriticNet(agent.encode.size, 2, 8, 1, rng=np.random.default_rng(9))
    offset = 0
    for p in parameters(net):
        p.data = theta0[offset:offset + p.data.size].reshape(p.data.shape).copy()
        offset += p.data.size
    assert offset == size
    loss, _ = rollout_loss(net, *rollouts[0], h)
    loss.backward()
    g = np.concatenate([p.grad.ravel() for p in parameters(net)]).astype(np.float64)
    norm = np.linalg.norm(g)
    if norm > max_grad_norm:  # the worker clips: g <- g max_norm / ||g||
        g = g * max_grad_norm / (norm + 1e-6)
    assert (norm > max_grad_norm) == (max_grad_norm < 1)  # one case of each

    # Adam at t = 6 (Kingma & Ba 2015, Algorithm 1), from the shared m and v.
    b1, b2, t = 0.9, 0.999, 6
    m = b1 * m0 + (1 - b1) * g
    v = b2 * v0 + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    expected = theta0 - 1e-2 * m_hat / (np.sqrt(v_hat) + 1e-5)
    assert int(shared["optim.t"]) == 6
    np.testing.assert_allclose(shared["optim.m.0"], m, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(shared["optim.v.0"], v, rtol=1e-4, atol=1e-10)
    np.testing.assert_allclose(shared["theta"], expected, rtol=0, atol=2e-6)
    assert np.abs(shared["theta"] - theta0).max() > 1e-3  # and it moved
