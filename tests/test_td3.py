"""TD3 (Fujimoto et al. 2018): each formula against an independent computation.

* target policy smoothing and the clipped double-Q target by hand, on a batch built so
  that the two target critics disagree both ways and the smoothing noise is known,
  as ``update`` computes it (from the target actor and both target critics);
* delayed updates: the critics move every step, the actor and all targets only every
  ``policy_delay`` critic steps; both critics step towards the one y; all three
  targets against the Polyak recursion by hand;
* the actor's step is the DPG of the just-updated Q_1 at s; the greedy action is mu(s)
  inside the bounds; what the training loop stores for truncated and terminated steps;
* exact save/load and resume; seeded learning on a continuous task.
"""
import copy

import gymnasium as gym
import numpy as np

import minirl
from minirl.agents.td3 import TD3Agent, clipped_double_q_target, target_policy_smoothing
from minirl.replay import Batch
from agent_checks import check_save_load_resumes_exactly
from offpolicy_checks import (check_every_critic_steps_on_y, check_polyak_recursion,
                              check_stores_terminated_not_truncated,
                              check_targets_start_as_copies, learn_from, numpy_actor,
                              numpy_critic, numpy_dpg, params_of, perturb, random_batch,
                              step_once)

SMALL = dict(hidden_sizes=(16,), batch_size=8, learning_starts=20)


def make(seed=0, **hparams):
    obs = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    act = gym.spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([3.0, 0.5], np.float32))
    return TD3Agent(obs, act, seed=seed, **{**SMALL, **hparams})


def test_smoothing_and_the_clipped_double_q_target_by_hand():
    mu = np.array([[0.9, -0.2], [0.0, 0.45]])
    noise = np.array([[0.3, -0.9], [-0.8, 0.2]])
    # clip(noise, -0.5, 0.5) = [[.3, -.5], [-.5, .2]]; then clip to [-1, 1] x [-0.4, 0.5]
    got = target_policy_smoothing(mu, noise, 0.5, np.array([-1.0, -0.4]), np.array([1.0, 0.5]))
    np.testing.assert_allclose(got, [[1.0, -0.4], [-0.5, 0.5]])
    y = clipped_double_q_target(np.array([1.0, 2.0, 3.0]), np.array([5.0, 1.0, 7.0]),
                                np.array([4.0, 3.0, 9.0]), np.array([0.0, 0.0, 1.0]), 0.5)
    np.testing.assert_allclose(y, [1.0 + 0.5 * 4.0, 2.0 + 0.5 * 1.0, 3.0])


def test_the_target_in_update_with_disagreeing_critics_and_known_noise():
    """y = r + gamma (1 - terminated) min_i Q'_i(s', a~), a~ the TARGET actor's action
    smoothed by the agent's own next draws, both target critics away from the online
    ones and disagreeing both ways: the y ``update`` hands to the critic step."""
    agent = make(gamma=0.9, target_noise=0.8, target_noise_clip=0.3)
    rng = np.random.default_rng(3)
    B = 64
    batch = Batch(obs=rng.uniform(-1, 1, (B, 3)).astype(np.float32),
                  action=rng.uniform(agent.low, agent.high, (B, 2)).astype(np.float32),
                  reward=rng.normal(size=B).astype(np.float32),
                  next_obs=rng.uniform(-1, 1, (B, 3)).astype(np.float32),
                  terminated=(rng.random(B) < 0.3).astype(np.float32), steps=None,
                  indices=None, weights=None)
    for p in agent.actor_target.parameters():  # a saturated target actor: mu' near the bounds
        p.data = p.data * 8
    perturb(agent.critic_target, seed=5)  # Q'_1 != Q_1
    seen = learn_from(agent, batch)
    noise_rng = copy.deepcopy(agent.rng)  # the draws the agent is about to make

    half = (agent.high - agent.low) / 2
    mu = numpy_actor(agent.actor_target, batch.next_obs)
    eps = 0.8 * half * noise_rng.standard_normal(mu.shape, np.float32)
    assert np.any(np.abs(eps) > 0.3 * half)  # the noise clip is exercised
    smoothed = np.clip(mu + np.clip(eps, -0.3 * half, 0.3 * half), agent.low, agent.high)
    assert np.any(smoothed == agent.high) or np.any(smoothed == agent.low)  # and the bounds
    q1 = numpy_critic(agent.critic_target, batch.next_obs, smoothed)
    # The second target critic mirrors the first about its median c: Q'_2 = 2c - Q'_1,
    # so the min takes Q'_1 on half the batch and Q'_2 on the other half.
    c = float(np.median(q1))
    agent.critic2_target.copy_from(agent.critic_target)
    last = agent.critic2_target.net.layers[-1]
    last.W.data, last.b.data = -last.W.data, (2 * c - last.b.data).astype(np.float32)
    q2 = numpy_critic(agent.critic2_target, batch.next_obs, smoothed)
    assert np.sum(q1 < q2) >= 20 and np.sum(q2 < q1) >= 20

    agent.update(batch.obs[0], batch.action[0], 0.0, batch.next_obs[0], False, False)
    expected = batch.reward + 0.9 * (1 - batch.terminated) * np.minimum(q1, q2)
    np.testing.assert_allclose(seen["y"], expected, rtol=1e-4, atol=1e-5)


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


def test_both_critics_step_on_the_one_clipped_double_q_target():
    agent = make(critic_lr=1e-3)
    check_every_critic_steps_on_y(agent, ["critic", "critic2"], 1e-3,
                                  random_batch(16, 8, agent.low, agent.high))


def test_all_three_targets_follow_the_polyak_recursion_on_delayed_updates():
    agent = make(tau=0.3, policy_delay=2)
    check_polyak_recursion(agent, [("actor_target", "actor"), ("critic_target", "critic"),
                                   ("critic2_target", "critic2")], 6,
                           moves=lambda update: update % 2 == 0)


def test_the_actor_steps_along_the_dpg_of_the_updated_first_critic_at_obs():
    """The delayed actor step comes after the critics' step in the same update, and
    follows dQ_1/da of the online Q_1 at the batch's s (Algorithm 1). Adam's first step
    is -lr g / (|g| + eps) per element."""
    agent = make(policy_delay=1, actor_lr=1e-3, learning_starts=8)
    perturb(agent.actor_target, agent.critic_target, agent.critic2_target, seed=6)
    rng = np.random.default_rng(6)
    for _ in range(agent.learning_starts - 1):  # fill the buffer; nothing learns yet
        step_once(agent, rng)
    assert agent.updates == 0
    batches, sample = [], agent.buffer.sample
    agent.buffer.sample = lambda *a, **k: batches.append(sample(*a, **k)) or batches[-1]
    before = params_of(agent.actor)
    stats = step_once(agent, rng)
    assert agent.updates == 1
    after = params_of(agent.actor)
    for p, old in zip(agent.actor.parameters(), before):
        p.data = old  # the actor as it was, the critics as they are now
    loss, grads = numpy_dpg(agent.actor, agent.critic, batches[0].obs)
    assert np.isclose(stats["actor_loss"], loss, rtol=1e-6, atol=0)  # -mean Q_1(s, mu(s))
    for old, new, g in zip(before, after, grads):
        clear = np.abs(g) > 1e-5  # elsewhere float32 rounding blurs g / |g|
        assert clear.mean() > 0.5
        np.testing.assert_allclose(new[clear], (old - 1e-3 * g / (np.abs(g) + 1e-8))[clear],
                                   rtol=0, atol=2e-6)


def test_the_greedy_action_is_the_deterministic_actor_inside_the_bounds():
    agent = make(learning_starts=50)
    for p in agent.actor.parameters():  # saturated: tanh at +-1, the action at a bound
        p.data = p.data * 30
    obs = np.random.default_rng(3).uniform(-1, 1, (20, 3)).astype(np.float32)
    greedy = np.array([agent.act(o, explore=False) for o in obs])  # during the warm-up too
    np.testing.assert_allclose(greedy, numpy_actor(agent.actor, obs), rtol=1e-5, atol=1e-6)
    assert np.all(greedy >= agent.low) and np.all(greedy <= agent.high)
    assert np.any(greedy == agent.low) or np.any(greedy == agent.high)


def test_every_target_starts_as_a_copy_of_its_network():
    check_targets_start_as_copies(make(seed=1), [("actor_target", "actor"),
                                                 ("critic_target", "critic"),
                                                 ("critic2_target", "critic2")])


def test_the_loop_stores_terminated_never_truncated():
    check_stores_terminated_not_truncated("td3")


def test_the_ou_noise_restarts_when_an_episode_is_truncated():
    agent = make(noise="ou", noise_std=0.5, learning_starts=0)
    obs = np.array([0.1, -0.2, 0.3], np.float32)
    for _ in range(3):
        agent.update(obs, agent.act(obs), 0.0, obs, False, False)
    assert np.all(agent.noise.state != 0)
    agent.update(obs, agent.act(obs), 0.0, obs, False, True)
    np.testing.assert_array_equal(agent.noise.state, 0.0)


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
