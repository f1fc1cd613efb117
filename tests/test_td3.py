"""TD3 (Fujimoto et al. 2018): each formula against an independent computation.

* target policy smoothing and the clipped double-Q target by hand, on a batch built so
  that the two target critics disagree both ways and the smoothing noise is known,
  through the agent's own ``target``;
* delayed updates: the critics move every step, the actor and all targets only every
  ``policy_delay`` critic steps, the targets by Polyak averaging;
* exact save/load and resume; seeded learning on a continuous task.
"""
import copy

import gymnasium as gym
import numpy as np

import minirl
from minirl.agents.td3 import TD3Agent, clipped_double_q_target, target_policy_smoothing
from minirl.replay import Batch
from agent_checks import check_save_load_resumes_exactly

SMALL = dict(hidden_sizes=(16,), batch_size=8, learning_starts=20)


def make(seed=0, **hparams):
    obs = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    act = gym.spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([3.0, 0.5], np.float32))
    return TD3Agent(obs, act, seed=seed, **{**SMALL, **hparams})


def numpy_mlp(state, x, output=None):
    """The MLP's forward pass in plain NumPy, from its state_dict."""
    n = len(state) // 2
    for i in range(n):
        x = x @ state[f"l{i}.W"] + state[f"l{i}.b"]
        if i < n - 1:
            x = np.maximum(x, 0)
    return np.tanh(x) if output == "tanh" else x


def net_state(module):
    return {k[len("net."):]: v.astype(np.float64) for k, v in module.state_dict().items()}


def test_smoothing_and_the_clipped_double_q_target_by_hand():
    mu = np.array([[0.9, -0.2], [0.0, 0.45]])
    noise = np.array([[0.3, -0.9], [-0.8, 0.2]])
    # clip(noise, -0.5, 0.5) = [[.3, -.5], [-.5, .2]]; then clip to [-1, 1] x [-0.4, 0.5]
    got = target_policy_smoothing(mu, noise, 0.5, np.array([-1.0, -0.4]), np.array([1.0, 0.5]))
    np.testing.assert_allclose(got, [[1.0, -0.4], [-0.5, 0.5]])
    y = clipped_double_q_target(np.array([1.0, 2.0, 3.0]), np.array([5.0, 1.0, 7.0]),
                                np.array([4.0, 3.0, 9.0]), np.array([0.0, 0.0, 1.0]), 0.5)
    np.testing.assert_allclose(y, [1.0 + 0.5 * 4.0, 2.0 + 0.5 * 1.0, 3.0])


def test_the_agents_target_with_disagreeing_critics_and_known_noise():
    agent = make(gamma=0.9, target_noise=0.8, target_noise_clip=0.3)
    rng = np.random.default_rng(3)
    B = 64
    batch = Batch(obs=None, action=None, reward=rng.normal(size=B).astype(np.float32),
                  next_obs=rng.uniform(-1, 1, (B, 3)).astype(np.float32),
                  terminated=(rng.random(B) < 0.3).astype(np.float32), steps=None,
                  indices=None, weights=None)
    for p in agent.actor_target.parameters():  # a saturated target actor: mu' near the bounds
        p.data = p.data * 8
    noise_rng = copy.deepcopy(agent.rng)  # the draws the agent is about to make

    half = (agent.high - agent.low) / 2
    mu = (agent.high + agent.low) / 2 + half * numpy_mlp(net_state(agent.actor_target),
                                                         batch.next_obs, "tanh")
    eps = 0.8 * half * noise_rng.standard_normal(mu.shape, np.float32)
    assert np.any(np.abs(eps) > 0.3 * half)  # the noise clip is exercised
    smoothed = np.clip(mu + np.clip(eps, -0.3 * half, 0.3 * half), agent.low, agent.high)
    assert np.any(smoothed == agent.high) or np.any(smoothed == agent.low)  # and the bounds
    x = np.concatenate([batch.next_obs, smoothed], axis=1)
    q1 = numpy_mlp(net_state(agent.critic_target), x)[:, 0]
    # The second target critic mirrors the first about its median c: Q'_2 = 2c - Q'_1,
    # so the min takes Q'_1 on half the batch and Q'_2 on the other half.
    c = float(np.median(q1))
    agent.critic2_target.copy_from(agent.critic_target)
    last = agent.critic2_target.net.layers[-1]
    last.W.data, last.b.data = -last.W.data, (2 * c - last.b.data).astype(np.float32)
    q2 = numpy_mlp(net_state(agent.critic2_target), x)[:, 0]
    assert np.sum(q1 < q2) >= 20 and np.sum(q2 < q1) >= 20

    y = agent.target(batch)
    expected = batch.reward + 0.9 * (1 - batch.terminated) * np.minimum(q1, q2)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


def snapshot(agent):
    return {name: {k: v.copy() for k, v in m.state_dict().items()}
            for name, m in agent.modules().items()}


def changed(before, after, name):
    return any(not np.array_equal(before[name][k], after[name][k]) for k in before[name])


def test_actor_and_targets_move_only_every_policy_delay_critic_steps():
    agent = make(policy_delay=3, learning_starts=8, tau=0.1)
    rng = np.random.default_rng(0)
    moved = []
    for step in range(20):
        obs = rng.uniform(-1, 1, 3).astype(np.float32)
        before = snapshot(agent)
        stats = agent.update(obs, agent.act(obs), 1.0, obs, False, False)
        after = snapshot(agent)
        if stats is None:
            assert not any(changed(before, after, n) for n in before)
            continue
        assert changed(before, after, "critic") and changed(before, after, "critic2")
        actor = changed(before, after, "actor")
        targets = [changed(before, after, n) for n in
                   ("actor_target", "critic_target", "critic2_target")]
        assert targets == [actor] * 3  # the targets move exactly when the actor does
        moved.append(actor)
        if actor:  # Polyak: theta' <- 0.1 theta + 0.9 theta'
            for k, old in before["critic_target"].items():
                np.testing.assert_allclose(after["critic_target"][k],
                                           0.1 * after["critic"][k] + 0.9 * old,
                                           rtol=1e-5, atol=1e-7)
    assert moved == [(i + 1) % 3 == 0 for i in range(len(moved))] and sum(moved) >= 3


def test_save_load_resumes_exactly(tmp_path):
    check_save_load_resumes_exactly(make(seed=2), np.random.default_rng(2),
                                    tmp_path / "td3.npz", warmup=31)  # past learning_starts, mid-way between two actor steps


def test_learns_the_continuous_identity():
    env = "minirl/ContinuousIdentity-v0"
    result = minirl.train("td3", env, 800, seed=0, hidden_sizes=(32,), learning_starts=100,
                          batch_size=32, gamma=0.5, actor_lr=3e-3, critic_lr=3e-3)
    mean, _ = minirl.evaluate(result.agent, env, 10, seed=123)
    assert mean > -0.5, mean  # acting 0 scores about -3.3


def test_resumed_training_ends_where_an_uninterrupted_run_does(tmp_path):
    from agent_checks import check_resume_ends_where_an_uninterrupted_run_does as check
    hp = {**SMALL, "learning_starts": 30}
    check(tmp_path, "td3", "minirl/ContinuousIdentity-v0", 120, 55, **hp)
