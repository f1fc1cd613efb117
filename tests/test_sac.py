"""SAC (Haarnoja et al. 2018): each formula against an independent computation.

* the squashed Gaussian's log-density integrates to 1 (numerically, 1-D and 2-D, over
  asymmetric bounds) and matches a histogram of the agent's own sampled actions;
* log(1 - tanh^2 u) in its stable form: equal to the naive form where that is exact,
  finite where the naive form is -inf;
* the reparameterised actor gradient against central differences with the noise held
  fixed, through the agent's own objective; the critics receive no gradient;
* the soft target by hand (NumPy forward passes, the agent's own noise draws);
* alpha's gradient by hand, and its direction;
* exact save/load and resume; seeded learning on a continuous task.
"""
import copy

import gymnasium as gym
import numpy as np
import pytest

import minirl
from minirl import Variable
from minirl.agents.sac import (SACAgent, log1m_tanh_sq, squashed_gaussian_log_prob,
                               temperature_loss)
from minirl.gradcheck import numerical_grad
from minirl.replay import Batch
from agent_checks import check_save_load_resumes_exactly

SMALL = dict(hidden_sizes=(16,), batch_size=8, learning_starts=20)
LOW, HIGH = np.array([-1.0, 0.0], np.float32), np.array([3.0, 0.5], np.float32)


def make(seed=0, **hparams):
    obs = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    return SACAgent(obs, gym.spaces.Box(LOW, HIGH), seed=seed, **{**SMALL, **hparams})


def log_density(a, mean, log_std, low, high):
    """log pi(a) of the squashed Gaussian at actions a (N, A), via u = atanh(...)."""
    half, center = (high - low) / 2, (high + low) / 2
    u = np.arctanh((a - center) / half)
    n = len(a)
    return squashed_gaussian_log_prob(u, np.broadcast_to(mean, (n, len(mean))),
                                      np.broadcast_to(log_std, (n, len(mean))), half).data


def test_the_squashed_density_integrates_to_one_in_1d_and_2d():
    # 1-D on [-1, 3], midpoint rule on a fine grid (the density vanishes at the bounds).
    low, high = np.array([-1.0]), np.array([3.0])
    n = 20_000
    a = low + (np.arange(n) + 0.5) * (high - low) / n
    p = np.exp(log_density(a[:, None], np.array([0.4]), np.array([np.log(0.9)]), low, high))
    assert np.isclose(p.sum() * 4.0 / n, 1.0, atol=1e-6)
    # 2-D on [-1, 3] x [0, 0.5].
    m = 500
    g0 = LOW[0] + (np.arange(m) + 0.5) * 4.0 / m
    g1 = LOW[1] + (np.arange(m) + 0.5) * 0.5 / m
    grid = np.stack(np.meshgrid(g0, g1, indexing="ij"), -1).reshape(-1, 2)
    p = np.exp(log_density(grid, np.array([-0.5, 0.3]), np.log(np.array([0.7, 0.5])),
                           LOW.astype(np.float64), HIGH.astype(np.float64)))
    assert np.isclose(p.sum() * (4.0 / m) * (0.5 / m), 1.0, atol=1e-4)


def test_the_density_matches_a_histogram_of_the_agents_samples():
    agent = make(seed=1, hidden_sizes=(8,))
    obs = np.full((200_000, 3), 0.2, np.float32)
    with minirl.no_grad():
        actions = agent.sample(obs)[0].data[:, 0].astype(np.float64)
        mean, log_std = (x.data[0].astype(np.float64) for x in agent.actor(obs[:1]))
    edges = np.linspace(-1.0, 3.0, 41)
    counts, _ = np.histogram(actions, edges)
    empirical = counts / (len(actions) * np.diff(edges))
    centres = (edges[:-1] + edges[1:]) / 2
    # dim 0's marginal: integrate dim 1 out is not needed, the dimensions are independent
    log_p = log_density(np.stack([centres, np.full_like(centres, 0.25)], 1), mean, log_std,
                        LOW.astype(np.float64), HIGH.astype(np.float64))
    u1 = np.arctanh((0.25 - 0.25) / 0.25)
    log_p1 = (-0.5 * ((u1 - mean[1]) / np.exp(log_std[1])) ** 2 - log_std[1]
              - 0.5 * np.log(2 * np.pi) - np.log(1 - np.tanh(u1) ** 2) - np.log(0.25))
    density = np.exp(log_p - log_p1)  # pi(a_0, a_1) / pi(a_1) = pi(a_0)
    np.testing.assert_allclose(empirical, density, atol=0.02 + 0.05 * density.max())


def test_log1m_tanh_sq_is_exact_and_stable():
    u = np.linspace(-5, 5, 101)
    np.testing.assert_allclose(log1m_tanh_sq(u).data, np.log(1 - np.tanh(u) ** 2),
                               rtol=1e-10, atol=1e-12)
    far = Variable(np.array([-60.0, 60.0], np.float32))
    with np.errstate(divide="ignore"):
        assert np.all(np.log(1 - np.tanh(far.data) ** 2) == -np.inf)  # the naive form fails
    value = log1m_tanh_sq(far)
    np.testing.assert_allclose(value.data, 2 * (np.log(2) - 60.0), rtol=1e-6)
    value.sum().backward()  # d/du = -2 tanh(u)
    np.testing.assert_allclose(far.grad, [2.0, -2.0], rtol=1e-6)


def test_the_reparameterized_actor_gradient_matches_finite_differences_with_fixed_noise():
    agent = make(seed=2, alpha=0.3)
    for m in agent.modules().values():
        for p in m.parameters():
            p.data = p.data.astype(np.float64)
    obs = np.random.default_rng(2).uniform(-1, 1, (6, 3))
    noise_state = copy.deepcopy(agent.rng.bit_generator.state)

    def objective():
        agent.rng.bit_generator.state = copy.deepcopy(noise_state)  # the same xi each time
        return agent.actor_objective(obs)[0]
    for m in agent.modules().values():
        m.zero_grad()
    objective().backward()
    params = agent.actor.parameters()
    numeric = numerical_grad(lambda *_: objective().data, *[p.data for p in params])
    for p, num in zip(params, numeric):
        np.testing.assert_allclose(p.grad, num, rtol=1e-5, atol=1e-8)
    assert np.abs(params[-2].grad).max() > 1e-4  # the log-std head is reached too
    with_update = make(seed=2, alpha=0.3)
    with_update.update_actor(obs.astype(np.float32))  # the real step leaves critics alone
    critics = with_update.critic1.parameters() + with_update.critic2.parameters()
    assert all(p.grad is None for p in critics)


def numpy_mlp(state, x, prefix, output_relu=False):
    keys = sorted({k.split(".")[1] for k in state if k.startswith(prefix)})
    for i, name in enumerate(keys):
        x = x @ state[f"{prefix}{name}.W"] + state[f"{prefix}{name}.b"]
        if i < len(keys) - 1 or output_relu:
            x = np.maximum(x, 0)
    return x


def test_the_soft_target_by_hand():
    agent = make(seed=3, alpha=0.5, gamma=0.9)
    rng = np.random.default_rng(3)
    B = 32
    batch = Batch(obs=None, action=None, reward=rng.normal(size=B).astype(np.float32),
                  next_obs=rng.uniform(-1, 1, (B, 3)).astype(np.float32),
                  terminated=(rng.random(B) < 0.3).astype(np.float32), steps=None,
                  indices=None, weights=None)
    noise = copy.deepcopy(agent.rng)  # the draws agent.target is about to make

    s = {k: v.astype(np.float64) for k, v in agent.actor.state_dict().items()}
    h = numpy_mlp(s, batch.next_obs, "trunk.", output_relu=True)
    mean = h @ s["mean.W"] + s["mean.b"]
    log_std = np.clip(h @ s["log_std.W"] + s["log_std.b"], -20, 2)
    xi = noise.standard_normal(mean.shape).astype(np.float32)
    u = mean + np.exp(log_std) * xi
    half, center = (HIGH - LOW) / 2, (HIGH + LOW) / 2
    a = center + half * np.tanh(u)
    log_pi = np.sum(-0.5 * xi ** 2 - log_std - 0.5 * np.log(2 * np.pi)
                    - np.log(1 - np.tanh(u) ** 2) - np.log(half), axis=1)

    def q(critic):
        cs = {k: v.astype(np.float64) for k, v in critic.state_dict().items()}
        return numpy_mlp(cs, np.concatenate([batch.next_obs, a], 1), "net.")[:, 0]
    q1 = q(agent.critic1_target)
    # Q'_2 = 2c - Q'_1 about Q'_1's median c: the min takes each critic on half the batch.
    c = float(np.median(q1))
    agent.critic2_target.copy_from(agent.critic1_target)
    last = agent.critic2_target.net.layers[-1]
    last.W.data, last.b.data = -last.W.data, (2 * c - last.b.data).astype(np.float32)
    q2 = q(agent.critic2_target)
    assert np.sum(q1 < q2) >= 10 and np.sum(q2 < q1) >= 10

    y = agent.target(batch)
    expected = batch.reward + 0.9 * (1 - batch.terminated) * (np.minimum(q1, q2)
                                                              - 0.5 * log_pi)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_the_temperature_gradient_by_hand():
    log_alpha = Variable(np.array(np.log(0.3)))
    log_pi = np.array([-0.5, 1.0, 0.2, -2.0])
    loss = temperature_loss(log_alpha, log_pi, -2.0)
    loss.backward()
    # J = -alpha mean(log pi + H); dJ/d log alpha = -alpha mean(log pi + H)
    assert np.isclose(loss.item(), -0.3 * np.mean(log_pi - 2.0))
    assert np.isclose(log_alpha.grad, -0.3 * np.mean(log_pi - 2.0))
    # Entropy -mean log pi = 0.325 is above the target -2: alpha must shrink.
    agent = make(alpha=0.3, lr=0.1)
    agent.update_temperature(log_pi.astype(np.float32))
    assert agent.temperature.alpha < 0.3


def test_save_load_resumes_exactly(tmp_path):
    check_save_load_resumes_exactly(make(seed=4), np.random.default_rng(4),
                                    tmp_path / "sac.npz", warmup=30)


def test_learns_the_continuous_identity():
    env = "minirl/ContinuousIdentity-v0"
    result = minirl.train("sac", env, 500, seed=0, hidden_sizes=(32,), learning_starts=100,
                          batch_size=32, gamma=0.5, lr=3e-3)
    mean, _ = minirl.evaluate(result.agent, env, 10, seed=123)
    assert mean > -0.5, mean  # acting 0 scores about -3.3


def test_bad_spaces_and_settings_name_what_is_wrong():
    obs = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    with pytest.raises(ValueError, match="sac needs a Box action space"):
        SACAgent(obs, gym.spaces.Discrete(2))
    with pytest.raises(ValueError, match="must be finite"):
        SACAgent(obs, gym.spaces.Box(-np.inf, np.inf, (1,), np.float32))
    with pytest.raises(ValueError, match="tau"):
        make(tau=0.0)


def test_resumed_training_ends_where_an_uninterrupted_run_does(tmp_path):
    from agent_checks import check_resume_ends_where_an_uninterrupted_run_does as check
    hp = {**SMALL, "learning_starts": 30}
    check(tmp_path, "sac", "minirl/ContinuousIdentity-v0", 120, 55, **hp)


def test_the_actor_loss_by_hand():
    """J_pi = mean(alpha log pi - min(Q_1, Q_2)): the smaller critic, the entropy term
    with a plus sign (a high log-probability, a low entropy, costs)."""
    from minirl.agents.sac import sac_actor_loss
    loss = sac_actor_loss(0.5, Variable(np.array([-1.0, 2.0])), Variable(np.array([3.0, 1.0])),
                          Variable(np.array([2.0, 4.0])))
    assert float(loss.data) == pytest.approx(np.mean([0.5 * -1 - 2.0, 0.5 * 2 - 1.0]))
