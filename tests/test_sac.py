"""SAC (Haarnoja et al. 2018): each formula against an independent computation.

* the squashed Gaussian's log-density integrates to 1 (numerically, 1-D and 2-D, over
  asymmetric bounds) and matches a histogram of the agent's own sampled actions;
* log(1 - tanh^2 u) in its stable form: equal to the naive form where that is exact,
  finite where the naive form is -inf;
* the reparameterised actor gradient against central differences with the noise held
  fixed, through the agent's own objective; the critics receive no gradient;
* the soft target by hand (NumPy forward passes, the agent's own noise draws), as
  ``update`` computes it: a' from the online actor at s', both TARGET critics;
* in the same update, the actor loss with the just-updated ONLINE critics at s and the
  temperature loss with that step's log pi, by hand;
* alpha's gradient by hand, and its direction;
* both critics take their step towards that one y;
* both target critics after k updates against the Polyak recursion by hand;
* the greedy action is the squashed mean, inside the bounds, also during the warm-up;
  what the training loop stores for truncated and terminated steps;
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
from offpolicy_checks import (check_every_critic_steps_on_y, check_polyak_recursion,
                              check_stores_terminated_not_truncated,
                              check_targets_start_as_copies, learn_from, numpy_critic,
                              perturb, random_batch)

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


def numpy_policy(actor, obs):
    """(mu(s), log sigma(s)) of the squashed Gaussian actor, in float64 NumPy."""
    s = {k: v.astype(np.float64) for k, v in actor.state_dict().items()}
    h = numpy_mlp(s, np.asarray(obs, np.float64), "trunk.", output_relu=True)
    return h @ s["mean.W"] + s["mean.b"], np.clip(h @ s["log_std.W"] + s["log_std.b"], -20, 2)


def numpy_squashed_sample(mean, log_std, xi):
    """a = center + half tanh(mu + sigma xi) and log pi(a|s) by the change of variables."""
    u = mean + np.exp(log_std) * xi
    half, center = (HIGH - LOW) / 2, (HIGH + LOW) / 2
    log_pi = np.sum(-0.5 * xi ** 2 - log_std - 0.5 * np.log(2 * np.pi)
                    - np.log(1 - np.tanh(u) ** 2) - np.log(half), axis=1)
    return center + half * np.tanh(u), log_pi


def test_the_soft_target_in_update_by_hand():
    """y = r + gamma (1 - terminated) (min_i Q'_i(s', a') - alpha log pi(a'|s')), with
    a' ~ pi(.|s') drawn by the online actor from the agent's next draws, and both
    TARGET critics, away from the online ones and disagreeing both ways."""
    agent = make(seed=3, alpha=0.5, gamma=0.9)
    batch = random_batch(32, 3, LOW, HIGH)
    perturb(agent.critic1_target, seed=3)  # Q'_1 != Q_1
    seen = learn_from(agent, batch)
    noise = copy.deepcopy(agent.rng)  # the draws update is about to make

    mean, log_std = numpy_policy(agent.actor, batch.next_obs)
    xi = noise.standard_normal(mean.shape).astype(np.float32)
    a, log_pi = numpy_squashed_sample(mean, log_std, xi)
    q1 = numpy_critic(agent.critic1_target, batch.next_obs, a)
    # Q'_2 = 2c - Q'_1 about Q'_1's median c: the min takes each critic on half the batch.
    c = float(np.median(q1))
    agent.critic2_target.copy_from(agent.critic1_target)
    last = agent.critic2_target.net.layers[-1]
    last.W.data, last.b.data = -last.W.data, (2 * c - last.b.data).astype(np.float32)
    q2 = numpy_critic(agent.critic2_target, batch.next_obs, a)
    assert np.sum(q1 < q2) >= 10 and np.sum(q2 < q1) >= 10

    agent.update(batch.obs[0], batch.action[0], 0.0, batch.next_obs[0], False, False)
    expected = batch.reward + 0.9 * (1 - batch.terminated) * (np.minimum(q1, q2)
                                                              - 0.5 * log_pi)
    np.testing.assert_allclose(seen["y"], expected, rtol=1e-4, atol=1e-4)


def test_the_actor_and_temperature_losses_in_update_by_hand():
    """After the critics' step, the actor's J_pi = mean(alpha log pi(a~|s) - min_i
    Q_i(s, a~)) with the UPDATED online critics at s (not the targets, not s'), a~ from
    the draws after the target's; then J(alpha) = -alpha mean(log pi(a~|s) + H) with
    that same log pi; the entropy logged is -mean log pi."""
    agent = make(seed=5, alpha=0.4)
    batch = random_batch(16, 5, LOW, HIGH)
    perturb(agent.critic1_target, agent.critic2_target, seed=5)  # targets != online
    learn_from(agent, batch)
    noise = copy.deepcopy(agent.rng)
    mean, log_std = numpy_policy(agent.actor, batch.obs)  # the actor before its step
    noise.standard_normal((16, 2))  # the soft target's draws come first
    xi = noise.standard_normal(mean.shape).astype(np.float32)
    a, log_pi = numpy_squashed_sample(mean, log_std, xi)

    stats = agent.update(batch.obs[0], batch.action[0], 0.0, batch.next_obs[0], False, False)
    q = np.minimum(numpy_critic(agent.critic1, batch.obs, a),
                   numpy_critic(agent.critic2, batch.obs, a))  # critics after their step
    np.testing.assert_allclose(stats["actor_loss"], np.mean(0.4 * log_pi - q), rtol=1e-5)
    np.testing.assert_allclose(stats["alpha_loss"], -0.4 * np.mean(log_pi - 2.0), rtol=1e-5)
    np.testing.assert_allclose(stats["entropy"], -np.mean(log_pi), rtol=1e-5)


def test_both_critics_step_on_the_one_soft_target():
    agent = make(seed=8, lr=1e-3)
    check_every_critic_steps_on_y(agent, ["critic1", "critic2"], 1e-3,
                                  random_batch(16, 8, LOW, HIGH))


def test_both_target_critics_follow_the_polyak_recursion_through_update():
    agent = make(seed=6, tau=0.3)
    check_polyak_recursion(agent, [("critic1_target", "critic1"),
                                   ("critic2_target", "critic2")], 4)


def test_the_greedy_action_is_the_squashed_mean_inside_the_bounds():
    """explore=False: a = center + half tanh(mu(s)), never a sample and never uniform,
    also during the warm-up; with |mu| large the unsquashed mean is far outside."""
    agent = make(seed=7, learning_starts=50)
    agent.actor.mean.W.data = agent.actor.mean.W.data * 40
    obs = np.random.default_rng(7).uniform(-1, 1, (20, 3)).astype(np.float32)
    greedy = np.array([agent.act(o, explore=False) for o in obs])
    mean, _ = numpy_policy(agent.actor, obs)
    assert np.any((mean < LOW) | (mean > HIGH))
    np.testing.assert_allclose(greedy, (HIGH + LOW) / 2 + (HIGH - LOW) / 2 * np.tanh(mean),
                               rtol=1e-5, atol=1e-6)
    assert np.all(greedy >= LOW) and np.all(greedy <= HIGH)
    assert agent.steps < agent.learning_starts


def test_every_target_starts_as_a_copy_of_its_network():
    check_targets_start_as_copies(make(seed=1), [("critic1_target", "critic1"),
                                                 ("critic2_target", "critic2")])


def test_the_loop_stores_terminated_never_truncated():
    check_stores_terminated_not_truncated("sac")


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
