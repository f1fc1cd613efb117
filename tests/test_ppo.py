"""PPO (Schulman et al. 2017): each formula against an independent computation.

* the clipped surrogate: at rho = 1 its gradient is the policy-gradient estimator;
  outside the clip range on the side that would raise the objective it is exactly 0,
  on the other side it is the unclipped gradient;
* the whole minibatch loss against central differences (categorical and Gaussian);
* the diagonal Gaussian's log-density and entropy against the closed form and against
  numerical integration on a grid (no scipy);
* the clipped value loss by hand; approx KL against the exact KL;
* GAE is rollout.py's (A2C's too), the rollout's advantages match a hand-written recursion;
* Gaussian samples are clipped for the env only, learned from unclipped;
* epochs x minibatches, lr annealing, target_kl early stop; save/load and resume;
* seeded learning on a discrete and a continuous task.
"""
import gymnasium as gym
import numpy as np
import pytest

import minirl
from minirl import Variable
from minirl.agents import a2c, ppo, rollout
from minirl.agents.common import (categorical_log_prob, gaussian_entropy,
                                  gaussian_log_prob)
from minirl.gradcheck import numerical_grad

BOX = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)


def make(action_space=gym.spaces.Discrete(3), seed=0, **hp):
    hp = {"num_envs": 2, "n_steps": 4, "hidden_sizes": (8,), **hp}
    return ppo.PPOAgent(BOX, action_space, seed=seed, **hp)


# --- the clipped surrogate -----------------------------------------------------------
def test_at_ratio_one_the_gradient_is_the_policy_gradient_estimator():
    rng = np.random.default_rng(0)
    B, A = 6, 4
    logits = Variable(rng.normal(size=(B, A)))
    actions = rng.integers(A, size=B)
    advantages = rng.normal(size=B)
    log_prob = categorical_log_prob(logits, actions)
    old = log_prob.data.copy()  # pi_old = pi_theta: rho = 1 everywhere
    ppo.clipped_surrogate(log_prob, old, advantages, 0.2).backward()
    # grad_logits (1/B) sum_t A_t log softmax(logits_t)[a_t] = A_t (onehot(a_t) - pi_t) / B
    pi = np.exp(logits.data) / np.exp(logits.data).sum(1, keepdims=True)
    expected = advantages[:, None] * (np.eye(A)[actions] - pi) / B
    np.testing.assert_allclose(logits.grad, expected, rtol=1e-12, atol=1e-15)


def test_outside_the_clip_range_only_the_helpful_side_is_cut():
    eps = 0.2
    rho = np.array([1.5, 0.5, 1.5, 0.5, 1.1, 0.9])
    adv = np.array([1.0, -2.0, -1.0, 3.0, 2.0, -1.0])
    old = np.log(np.full(6, 0.3))
    log_prob = Variable(old + np.log(rho))
    objective = ppo.clipped_surrogate(log_prob, old, adv, eps)
    objective.backward()
    # d/d log pi of rho A is rho A; the clipped term is flat beyond 1 +- eps.
    #   rho 1.5, A > 0: clip wins the min -> 0      rho 0.5, A < 0: clip wins -> 0
    #   rho 1.5, A < 0: rho A is smaller -> rho A   rho 0.5, A > 0: rho A smaller -> rho A
    #   inside the range: rho A
    expected = np.array([0.0, 0.0, 1.5 * -1.0, 0.5 * 3.0, 1.1 * 2.0, 0.9 * -1.0]) / 6
    assert log_prob.grad[0] == 0.0 and log_prob.grad[1] == 0.0  # exactly, not nearly
    np.testing.assert_allclose(log_prob.grad, expected, rtol=1e-12)
    by_hand = np.minimum(rho * adv, np.clip(rho, 1 - eps, 1 + eps) * adv).mean()
    assert np.isclose(objective.item(), by_hand, rtol=1e-12)


def test_clipped_value_loss_by_hand():
    v = Variable(np.array([1.0, 2.0, 0.0, -1.0]))
    v_old = np.array([0.5, 2.5, 0.1, -1.0])
    returns = np.array([3.0, 2.2, -0.5, 0.0])
    eps = 0.2
    loss = ppo.value_loss(v, v_old, returns, eps)
    loss.backward()
    clipped = v_old + np.clip(v.data - v_old, -eps, eps)
    a, b = (v.data - returns) ** 2, (clipped - returns) ** 2
    assert np.isclose(loss.item(), 0.5 * np.maximum(a, b).mean(), rtol=1e-12)
    # Sample by sample: the larger square is differentiated; a clipped V has no gradient.
    grad = np.where(a >= b, (v.data - returns) / 4, 0.0)
    inside = np.abs(v.data - v_old) <= eps
    grad = np.where(a < b, np.where(inside, (clipped - returns) / 4, 0.0), grad)
    np.testing.assert_allclose(v.grad, grad, rtol=1e-12)
    plain = ppo.value_loss(Variable(v.data), v_old, returns, None)
    assert np.isclose(plain.item(), 0.5 * a.mean(), rtol=1e-12)


def test_approx_kl_estimates_the_exact_kl():
    rng = np.random.default_rng(1)
    p_old, p_new = np.array([0.2, 0.5, 0.3]), np.array([0.3, 0.4, 0.3])
    a = rng.choice(3, size=400_000, p=p_old)
    estimate = ppo.approx_kl(np.log(p_new[a]), np.log(p_old[a]))
    exact = float(np.sum(p_old * np.log(p_old / p_new)))
    assert abs(estimate - exact) < 0.02 * exact + 1e-4
    assert ppo.clip_fraction(np.log([1.3, 1.0, 0.7]), np.zeros(3), 0.2) == pytest.approx(2 / 3)


# --- the whole loss against central differences ---------------------------------------
def _float64(agent):
    for p in agent.optimizer.params:
        p.data = p.data.astype(np.float64)
    return agent.optimizer.params


@pytest.mark.parametrize("space", [gym.spaces.Discrete(3), gym.spaces.Box(-1, 1, (2,))],
                         ids=["categorical", "gaussian"])
def test_the_whole_loss_gradient_matches_central_differences(space):
    agent = make(space, seed=4, entropy_coef=0.01)
    params = _float64(agent)
    rng = np.random.default_rng(4)
    B = 12
    actions = (rng.integers(3, size=B) if isinstance(space, gym.spaces.Discrete)
               else rng.normal(size=(B, 2)))
    batch = {"obs": rng.normal(size=(B, 3)), "actions": actions,
             "advantages": rng.normal(size=B), "returns": rng.normal(size=B)}
    with minirl.no_grad():
        log_prob = agent.policy.log_prob_entropy(batch["obs"], actions)[0].data
        values = agent.critic(batch["obs"]).data
    # pi_old and V_old away from the current ones: some samples clipped, some not.
    batch["log_probs"] = log_prob + rng.choice([-0.5, 0.0, 0.5], size=B)
    batch["values"] = values + rng.choice([-0.5, 0.0, 0.5], size=B)

    loss, _ = ppo.ppo_loss(agent.policy, agent.critic, batch, agent.hparams)
    agent.optimizer.zero_grad()
    loss.backward()
    numeric = numerical_grad(
        lambda *_: ppo.ppo_loss(agent.policy, agent.critic, batch, agent.hparams)[0].data,
        *[p.data for p in params])
    for p, num in zip(params, numeric):
        np.testing.assert_allclose(p.grad, num, rtol=1e-5, atol=1e-8)
    assert any(np.abs(p.grad).max() > 1e-3 for p in params[-4:])  # the critic learns too


# --- the diagonal Gaussian ------------------------------------------------------------
def test_gaussian_log_prob_and_entropy_match_the_closed_form():
    rng = np.random.default_rng(2)
    mean, log_std = rng.normal(size=(5, 3)), rng.normal(size=3) * 0.5
    x = rng.normal(size=(5, 3))
    cov = np.diag(np.exp(2 * log_std))
    d = x - mean
    closed = (-0.5 * np.einsum("bi,ij,bj->b", d, np.linalg.inv(cov), d)
              - 0.5 * np.log(np.linalg.det(2 * np.pi * cov)))
    got = gaussian_log_prob(x, Variable(mean), Variable(log_std)).data
    np.testing.assert_allclose(got, closed, rtol=1e-12)
    entropy = 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov))
    assert np.isclose(gaussian_entropy(Variable(log_std)).item(), entropy, rtol=1e-12)


def test_gaussian_density_integrates_to_one_and_its_entropy_numerically():
    # 1-D: a fine grid over +-12 sigma, trapezoid rule.
    mu, log_std = 0.7, np.log(0.4)
    x = np.linspace(mu - 12 * 0.4, mu + 12 * 0.4, 20001)[:, None]
    log_p = gaussian_log_prob(x, np.full_like(x, mu), np.array([log_std])).data
    p = np.exp(log_p)
    assert np.isclose(np.trapezoid(p, x[:, 0]), 1.0, atol=1e-9)
    assert np.isclose(np.trapezoid(-p * log_p, x[:, 0]),
                      gaussian_entropy(np.array([log_std])).item(), atol=1e-8)
    # 2-D: a grid, midpoint rule over the square.
    mu2, log_std2 = np.array([0.3, -1.0]), np.log(np.array([0.5, 1.5]))
    g0 = np.linspace(mu2[0] - 9 * 0.5, mu2[0] + 9 * 0.5, 601)
    g1 = np.linspace(mu2[1] - 9 * 1.5, mu2[1] + 9 * 1.5, 601)
    grid = np.stack(np.meshgrid(g0, g1, indexing="ij"), -1).reshape(-1, 2)
    log_p = gaussian_log_prob(grid, np.broadcast_to(mu2, grid.shape), log_std2).data
    cell = (g0[1] - g0[0]) * (g1[1] - g1[0])
    assert np.isclose(np.exp(log_p).sum() * cell, 1.0, atol=1e-6)
    assert np.isclose((-np.exp(log_p) * log_p).sum() * cell, gaussian_entropy(log_std2).item(),
                      atol=1e-5)


# --- the rollout ----------------------------------------------------------------------
def test_gae_is_a2cs_and_the_advantages_match_a_hand_recursion():
    assert ppo.gae is rollout.gae and a2c.gae is rollout.gae  # written once
    agent = make(gamma=0.9, gae_lambda=0.8)
    rng = np.random.default_rng(3)
    term = np.array([[False, False], [True, False], [False, False], [False, False]])
    trunc = np.array([[False, False], [False, False], [False, True], [False, False]])
    for t in range(4):
        agent.rollout.add(rng.normal(size=(2, 3)), rng.integers(3, size=2),
                          rng.normal(size=2), rng.normal(size=(2, 3)), term[t], trunc[t])
    batch = agent.prepare_batch()
    with minirl.no_grad():
        v = agent.critic(agent.rollout.obs.reshape(8, 3)).data.reshape(4, 2)
        v_next = agent.critic(agent.rollout.next_obs.reshape(8, 3)).data.reshape(4, 2)
    r = agent.rollout.rewards
    expected = np.zeros((4, 2))
    for n in range(2):
        following = 0.0
        for t in reversed(range(4)):
            if term[t, n] or trunc[t, n]:
                following = 0.0  # a new episode starts after t
            bootstrap = 0.0 if term[t, n] else 0.9 * v_next[t, n]
            following = r[t, n] + bootstrap - v[t, n] + 0.9 * 0.8 * following
            expected[t, n] = following
    np.testing.assert_allclose(batch["advantages"], expected.reshape(-1), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(batch["returns"], (expected + v).reshape(-1), rtol=1e-5,
                               atol=1e-6)


class RecordingEnv(gym.Env):
    """Observations of 3 zeros; records every action it is handed; 5-step episodes."""
    observation_space = BOX

    def __init__(self, action_space):
        self.action_space, self.received, self.t = action_space, [], 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(3, np.float32), {}

    def step(self, action):
        self.received.append(np.array(action, copy=True))
        self.t += 1
        return np.zeros(3, np.float32), 0.0, False, self.t >= 5, {}


def test_gaussian_actions_are_clipped_for_the_env_only():
    space = gym.spaces.Box(-0.1, 0.1, (2,), np.float32)
    agent = make(space, seed=5)
    env = agent.wrap_env(RecordingEnv(space))  # what the training loop steps
    obs = np.random.default_rng(5).normal(size=(2, 3)).astype(np.float32)
    raw = agent.act_batch(obs)
    assert np.abs(raw).max() > 0.1  # sigma = e^-1 against bounds of 0.1: samples leave them
    env.reset(seed=0)
    env.step(raw[0])
    np.testing.assert_array_equal(env.unwrapped.received[0], np.clip(raw[0], -0.1, 0.1))
    agent.update(obs, raw, np.zeros(2), obs, np.zeros(2, bool), np.zeros(2, bool))
    np.testing.assert_array_equal(agent.rollout.actions[0], raw)  # learned from unclipped
    expected = gaussian_log_prob(raw, agent.policy.greedy(obs),
                                 agent.policy.log_std.data).data
    with minirl.no_grad():
        got = agent.policy.log_prob_entropy(obs, agent.rollout.actions[0])[0].data
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert agent.wrap_env(env.unwrapped) is not env.unwrapped
    assert make().wrap_env(env.unwrapped) is env.unwrapped  # Discrete: nothing to clip


@pytest.mark.parametrize("num_envs", [1, 2])
def test_training_steps_the_env_with_the_clipped_sample_and_learns_the_sample(num_envs):
    """Through minirl.train: the env receives clip(u) for each stored sample u."""
    space = gym.spaces.Box(-0.1, 0.1, (2,), np.float32)
    envs = []

    def made():
        envs.append(RecordingEnv(space))
        return envs[-1]
    gym.register("minirl-test/Recording-v0", entry_point=made)
    try:
        result = minirl.train("ppo", "minirl-test/Recording-v0", 8 * num_envs, seed=1,
                              plot=False, quiet=True, num_envs=num_envs, n_steps=8,
                              hidden_sizes=(8,), update_epochs=1)
    finally:
        gym.registry.pop("minirl-test/Recording-v0")
    stored = result.agent.rollout.actions  # (8, N, 2): the rollout just learned from
    received = [np.array(env.received[:8]) for env in envs if len(env.received) >= 8]
    assert len(received) == num_envs and np.abs(stored).max() > 0.1
    for n in range(num_envs):
        np.testing.assert_array_equal(received[n], np.clip(stored[:, n], -0.1, 0.1))


def _fill(agent, rng, steps):
    stats = None
    for _ in range(steps):
        obs = rng.normal(size=(agent.num_envs, 3)).astype(np.float32)
        actions = agent.act_batch(obs)
        stats = agent.update(obs, actions, rng.normal(size=agent.num_envs), obs,
                             np.zeros(agent.num_envs, bool), np.zeros(agent.num_envs, bool))
    return stats


def test_epochs_of_shuffled_minibatches_cover_the_rollout(monkeypatch):
    agent = make(update_epochs=3, num_minibatches=3)  # 8 samples -> 3, 3, 2
    seen = []
    real = ppo.ppo_loss

    def spy(policy, critic, batch, h):
        seen.append(batch["obs"].copy())
        return real(policy, critic, batch, h)
    monkeypatch.setattr(ppo, "ppo_loss", spy)
    stats = _fill(agent, np.random.default_rng(0), 4)
    assert agent.optimizer.t == 9 and len(seen) == 9
    flat = agent.rollout.obs.reshape(8, 3)
    for epoch in range(3):
        rows = np.concatenate(seen[3 * epoch:3 * epoch + 3])
        assert sorted(map(tuple, rows)) == sorted(map(tuple, flat))  # each sample once
    assert not np.array_equal(np.concatenate(seen[:3]), np.concatenate(seen[3:6]))
    for key in ("approx_kl", "clip_fraction", "policy_loss", "value_loss", "entropy",
                "grad_norm", "lr"):
        assert np.isfinite(stats[key])


def test_target_kl_stops_the_epochs_early():
    agent = make(update_epochs=10, num_minibatches=2, target_kl=1e-12, lr=1e-2)
    _fill(agent, np.random.default_rng(0), 4)
    # The first minibatch starts at pi_old (KL 0); the second has moved: stop after epoch 1.
    assert agent.optimizer.t == 2


def test_learning_rate_anneals_linearly_to_zero():
    agent = make(lr=1e-3, anneal_steps=32)  # rollouts of 8 steps
    rng = np.random.default_rng(0)
    lrs = [_fill(agent, rng, 4)["lr"] for _ in range(5)]
    np.testing.assert_allclose(lrs, [1e-3, 0.75e-3, 0.5e-3, 0.25e-3, 0.0])


def test_bad_settings_and_spaces_name_what_is_wrong():
    with pytest.raises(ValueError, match="num_minibatches 9 is more .* 8 samples"):
        make(num_minibatches=9)
    with pytest.raises(ValueError, match="clip_coef"):
        make(clip_coef=1.5)
    with pytest.raises(ValueError, match="Discrete or Box action"):
        ppo.PPOAgent(BOX, gym.spaces.MultiDiscrete([2, 2]))


# --- checkpoints -------------------------------------------------------------------------
@pytest.mark.parametrize("space", [gym.spaces.Discrete(3), gym.spaces.Box(-1, 1, (2,))],
                         ids=["categorical", "gaussian"])
def test_save_load_resumes_exactly(tmp_path, space):
    agent = make(space, num_envs=1, seed=7)
    rng = np.random.default_rng(7)

    def step(a, obs):
        action = a.act(obs)
        return action, a.update(obs, action, 0.5, obs, False, False)
    for _ in range(6):  # one update, then 2 steps into the next rollout
        step(agent, rng.normal(size=3).astype(np.float32))
    path = tmp_path / "ppo.npz"
    agent.save(path)
    loaded = minirl.load_agent(path)
    obs = rng.normal(size=(10, 3)).astype(np.float32)
    for o in obs:
        assert np.array_equal(loaded.act(o, explore=False), agent.act(o, explore=False))
        (x, sx), (y, sy) = step(agent, o), step(loaded, o)
        assert np.array_equal(x, y) and sx == sy
    sa, sl = agent.state_dict(), loaded.state_dict()
    assert sa.keys() == sl.keys() and all(np.array_equal(sa[k], sl[k]) for k in sa)


def test_resume_of_a_vector_run_keeps_the_running_episodes(tmp_path):
    """The loop replays each env's interrupted episode on resume: nothing is cut."""
    agent = make(num_envs=2)
    _fill(agent, np.random.default_rng(0), 6)  # 2 steps into the second rollout
    agent.save(tmp_path / "ppo.npz")
    loaded = minirl.load_agent(tmp_path / "ppo.npz")
    assert loaded.rollout.t == 2
    np.testing.assert_array_equal(loaded.rollout.truncated[:2], agent.rollout.truncated[:2])


def test_resumed_training_ends_where_an_uninterrupted_run_does(tmp_path):
    from agent_checks import check_resume_ends_where_an_uninterrupted_run_does as check
    hp = {"num_envs": 1, "n_steps": 16, "hidden_sizes": (8,)}
    check(tmp_path, "ppo", "minirl/Identity-v0", 120, 55, **hp)


# --- learning ----------------------------------------------------------------------------
def test_learns_the_identity_task():
    env = "minirl/Identity-v0"  # optimum 10 per episode; chance 2.5
    result = minirl.train("ppo", env, 2000, seed=0, num_envs=4, n_steps=32,
                          update_epochs=10, hidden_sizes=(32,))
    assert minirl.evaluate(result.agent, env, 10, seed=123)[0] >= 9.5


def test_learns_a_continuous_task():
    env = "minirl/ContinuousIdentity-v0"  # optimum 0; acting 0 scores about -3.3
    result = minirl.train("ppo", env, 4000, seed=0, num_envs=4, n_steps=32, gamma=0.5,
                          update_epochs=10, lr=3e-3, hidden_sizes=(32,))
    mean = minirl.evaluate(result.agent, env, 10, seed=123)[0]
    assert mean > -0.5, mean


# --- the pieces of the loss, by hand ----------------------------------------------------
def test_approx_kl_is_k3_per_sample():
    """k3 = (rho - 1) - log rho: for rho = 2 that is 1 - log 2, positive, where the
    k1 estimator -log rho would give -log 2 (both are unbiased only on average)."""
    assert ppo.approx_kl(np.log([0.5]), np.log([0.25])) == pytest.approx(1 - np.log(2))
    assert ppo.approx_kl(np.log([0.25]), np.log([0.5])) == pytest.approx(-0.5 + np.log(2))


def test_advantages_are_centred_and_scaled():
    a = np.array([1.0, 2.0, 3.0, 6.0])
    expected = (a - 3.0) / (np.sqrt(((a - 3.0) ** 2).mean()) + 1e-8)
    np.testing.assert_allclose(ppo.normalize_advantages(a), expected, rtol=1e-12)


def test_the_loss_is_minus_surrogate_plus_value_minus_entropy_by_hand():
    """L = -L^CLIP + c_v L^V - c_e H, each term computed here in NumPy from the logits."""
    agent = make(seed=5, value_coef=0.7, entropy_coef=0.3, clip_vloss=False, norm_adv=False)
    rng = np.random.default_rng(5)
    B = 6
    obs = rng.normal(size=(B, 3)).astype(np.float32)
    actions = rng.integers(3, size=B)
    with minirl.no_grad():
        logits = agent.policy.net(obs).data.astype(np.float64)
        values = agent.critic(obs).data.astype(np.float64)
    log_p = logits - logits.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    new_log_prob = log_p[np.arange(B), actions]
    old_log_prob = new_log_prob + rng.choice([-0.4, 0.0, 0.4], size=B)
    advantages, returns = rng.normal(size=B), rng.normal(size=B)
    batch = {"obs": obs, "actions": actions, "log_probs": old_log_prob,
             "advantages": advantages, "returns": returns, "values": values}
    ratio = np.exp(new_log_prob - old_log_prob)
    surrogate = np.mean(np.minimum(ratio * advantages, np.clip(ratio, 0.8, 1.2) * advantages))
    value = 0.5 * np.mean((values - returns) ** 2)
    entropy = np.mean(-(np.exp(log_p) * log_p).sum(1))
    loss, stats = ppo.ppo_loss(agent.policy, agent.critic, batch, agent.hparams)
    assert agent.hparams["clip_coef"] == 0.2
    assert float(loss.data) == pytest.approx(-surrogate + 0.7 * value - 0.3 * entropy,
                                             rel=1e-5)
    assert stats["entropy"] == pytest.approx(entropy, rel=1e-5)


# --- each minibatch step is Adam on that minibatch's gradient alone ---------------------
def adam_by_hand(params, grads, m, v, t, lr, eps, b1=0.9, b2=0.999):
    """theta <- theta - lr m_hat / (sqrt(v_hat) + eps) (Kingma & Ba 2015, Algorithm 1)."""
    out = []
    for k, (p, g) in enumerate(zip(params, grads)):
        m[k] = b1 * m[k] + (1 - b1) * g
        v[k] = b2 * v[k] + (1 - b2) * g * g
        m_hat, v_hat = m[k] / (1 - b1 ** t), v[k] / (1 - b2 ** t)
        out.append(p - lr * m_hat / (np.sqrt(v_hat) + eps))
    return out


@pytest.mark.parametrize("space", [gym.spaces.Discrete(3), BOX])
def test_each_minibatch_step_is_adam_on_its_own_gradient(monkeypatch, space):
    """Three minibatches of one rollout: after the real learn(), the parameters equal
    three by-hand Adam steps, each on the gradient of its minibatch alone (computed on
    a twin agent whose gradients are set afresh): a gradient left over from the previous
    minibatch would move them elsewhere."""
    hp = {"update_epochs": 1, "num_minibatches": 3, "max_grad_norm": 1e6, "lr": 0.01}
    agent, twin = make(space, seed=4, **hp), make(space, seed=4, **hp)
    batches = []
    real = ppo.ppo_loss

    def spy(policy, critic, batch, h):
        batches.append(batch)
        return real(policy, critic, batch, h)
    monkeypatch.setattr(ppo, "ppo_loss", spy)
    _fill(agent, np.random.default_rng(1), 4)
    assert len(batches) == 3 and agent.optimizer.t == 3

    params = twin.policy.parameters() + twin.critic.parameters()
    theta = [p.data.astype(np.float64) for p in params]
    m, v = [np.zeros_like(p) for p in theta], [np.zeros_like(p) for p in theta]
    for t, batch in enumerate(batches, start=1):
        for p, value in zip(params, theta):
            p.data = value.astype(np.float32)
            p.grad = None
        loss, _ = real(twin.policy, twin.critic, batch, twin.hparams)
        loss.backward()
        grads = [np.zeros(p.shape) if p.grad is None else p.grad.astype(np.float64)
                 for p in params]
        theta = adam_by_hand(theta, grads, m, v, t, lr=0.01, eps=1e-5)
    got = agent.policy.parameters() + agent.critic.parameters()
    for p, expected in zip(got, theta):
        np.testing.assert_allclose(p.data, expected, rtol=2e-4, atol=2e-6)


def test_gaussian_samples_have_the_policy_mean_and_sigma_exp_log_std():
    """A large sample of a_i ~ N(mu(s), diag sigma^2) from act_batch: per dimension, its
    mean is mu(s) and its standard deviation sigma = exp(log sigma) (not log sigma)."""
    space = gym.spaces.Box(-10.0, 10.0, (2,), np.float32)
    agent = make(space, seed=2)
    agent.policy.log_std.data = np.array([-1.0, 0.5], np.float32)
    obs = np.tile(np.array([[0.3, -0.2, 0.7]], np.float32), (200_000, 1))
    samples = agent.act_batch(obs).astype(np.float64)
    mu = agent.policy.greedy(obs[:1])[0]
    sigma = np.exp([-1.0, 0.5])
    # standard errors: sigma / sqrt(n) for the mean, sigma / sqrt(2n) for the std
    np.testing.assert_allclose(samples.mean(axis=0), mu, atol=5 * sigma.max() / np.sqrt(2e5))
    np.testing.assert_allclose(samples.std(axis=0), sigma, rtol=5 / np.sqrt(4e5))
