"""The small test environments: gymnasium's API checker, registration, and the
documented rewards and optima, each checked by playing the environment."""
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import minirl  # noqa: F401  (registers the ids)
from minirl.envs.testing import (BanditEnv, ChainEnv, ContinuousIdentityEnv, IdentityEnv,
                                 InfiniteHorizonEnv, PermutedIdentityEnv, ResetCorridorEnv,
                                 SparseChainEnv, TargetTrackingEnv)

ZOO_IDS = ["minirl/PermutedIdentity-v0", "minirl/SparseChain-v0", "minirl/ResetCorridor-v0",
           "minirl/TargetTracking-v0"]
ENV_IDS = ["minirl/Identity-v0", "minirl/Bandit-v0", "minirl/Chain-v0",
           "minirl/ContinuousIdentity-v0", "minirl/InfiniteHorizon-v0", *ZOO_IDS]


def play(env, policy, seed=0, max_steps=10_000):
    """One episode with `policy(obs) -> action`; returns (rewards, terminated, truncated)."""
    obs, _ = env.reset(seed=seed)
    rewards = []
    for _ in range(max_steps):
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        rewards.append(reward)
        if terminated or truncated:
            return rewards, terminated, truncated
    raise AssertionError("episode did not end")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_passes_gymnasium_check_env_without_warnings(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checker warning is a failure here
        check_env(env.unwrapped)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_and_seeded_reset_is_reproducible(env_id):
    def rollout(seed):
        env = gym.make(env_id)
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        trace = [np.asarray(obs).tolist()]
        for _ in range(20):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            trace.append((np.asarray(obs).tolist(), reward, terminated, truncated))
            if terminated or truncated:
                obs, _ = env.reset()
                trace.append(np.asarray(obs).tolist())
        return trace

    assert rollout(3) == rollout(3)


def test_identity_optimum_and_rewards():
    env = gym.make("minirl/Identity-v0", n=5, episode_length=7)
    rewards, terminated, truncated = play(env, policy=lambda obs: obs)
    assert rewards == [1.0] * 7 and terminated and not truncated
    assert env.unwrapped.optimal_return == 7
    rewards, _, _ = play(env, policy=lambda obs: (obs + 1) % 5)  # always wrong
    assert rewards == [0.0] * 7
    # Observations cover all n values, so a policy must read them.
    many = [IdentityEnv(n=5).reset(seed=s)[0] for s in range(100)]
    assert set(many) == set(range(5))


def test_bandit_means_and_optimal_action():
    means = (0.1, 0.5, 0.9, 0.3)
    env = BanditEnv(means)
    assert env.optimal_action == 2 and env.optimal_return == 0.9
    env.reset(seed=0)
    pulls = 4000
    for arm, mean in enumerate(means):
        rewards = []
        for _ in range(pulls):
            obs, _ = env.reset()
            np.testing.assert_array_equal(obs, [0.0])
            _, reward, terminated, truncated, _ = env.step(arm)
            assert terminated and not truncated  # one step per episode
            rewards.append(reward)
        assert set(rewards) <= {0.0, 1.0}
        standard_error = np.sqrt(mean * (1 - mean) / pulls)
        assert abs(np.mean(rewards) - mean) < 5 * standard_error
    with pytest.raises(ValueError):
        BanditEnv((0.5, 1.5))


def test_chain_only_always_right_pays():
    env = ChainEnv(length=4)
    rewards, terminated, _ = play(env, policy=lambda obs: env.optimal_action)
    assert rewards == [0.0, 0.0, 1.0] and terminated
    assert sum(rewards) == env.optimal_return
    # Action 0 anywhere ends the episode with nothing.
    for stop_at in range(3):
        obs, _ = env.reset(seed=0)
        for _ in range(stop_at):
            obs, *_ = env.step(1)
        assert obs == stop_at
        _, reward, terminated, _, _ = env.step(0)
        assert reward == 0.0 and terminated


def test_chain_optimal_q_values_are_the_discounted_return():
    gamma, env = 0.9, ChainEnv(length=5)
    q = env.optimal_q_values(gamma)
    assert q.shape == (4, 2)
    # Walking right from 0 visits every state; Q*(s, 1) is the discounted sum of the
    # rewards from s on, and Q*(s, 0) = 0 because action 0 ends the episode unpaid.
    rewards, _, _ = play(env, policy=lambda obs: 1)
    for s in range(4):
        assert q[s, 1] == pytest.approx(sum(gamma ** k * r for k, r in enumerate(rewards[s:])))
    np.testing.assert_array_equal(q[:, 0], 0.0)


def test_continuous_identity_reward_and_optimum():
    env = ContinuousIdentityEnv(dim=3, episode_length=6)
    rewards, terminated, _ = play(env, policy=lambda obs: obs)
    assert rewards == [0.0] * 6 and terminated
    obs, _ = env.reset(seed=1)
    assert obs.shape == (3,) and obs.dtype == np.float32 and np.all(np.abs(obs) <= 1)
    action = np.array([0.5, -0.25, 1.0], dtype=np.float32)
    _, reward, _, _, _ = env.step(action)
    assert reward == pytest.approx(-np.sum((action - obs) ** 2), rel=1e-6)
    # Out-of-range actions are clipped to [-1, 1] first.
    obs, _ = env.reset(seed=2)
    _, reward, _, _, _ = env.step(np.array([5.0, -5.0, 0.0]))
    assert reward == pytest.approx(-np.sum((np.array([1.0, -1.0, 0.0]) - obs) ** 2), rel=1e-6)


def test_infinite_horizon_never_terminates_and_truncates_at_50():
    env = gym.make("minirl/InfiniteHorizon-v0")
    rewards, terminated, truncated = play(env, policy=lambda obs: 0)
    assert len(rewards) == 50 and truncated and not terminated
    assert rewards == [1.0] * 50
    raw = InfiniteHorizonEnv()
    raw.reset(seed=0)
    for _ in range(1000):
        obs, reward, terminated, truncated, _ = raw.step(1)
        assert reward == 1.0 and not terminated and not truncated
        np.testing.assert_array_equal(obs, [1.0])


def test_infinite_horizon_true_value_and_the_truncation_mistake():
    gamma, horizon = 0.9, 50
    # V(s) = sum_k gamma^k r, with r = 1 forever: sum a long prefix.
    assert InfiniteHorizonEnv.true_value(gamma) == pytest.approx(
        sum(gamma ** k for k in range(2000)))
    # The wrong value counts only the rewards inside the episode.
    assert InfiniteHorizonEnv.truncated_as_terminal_value(gamma, horizon) == pytest.approx(
        sum(gamma ** k for k in range(horizon)))
    assert InfiniteHorizonEnv.truncated_as_terminal_value(gamma, horizon) < \
        InfiniteHorizonEnv.true_value(gamma)


# --- the learning zoo -----------------------------------------------------------------
@pytest.mark.parametrize("env_id", ZOO_IDS)
def test_zoo_optimal_policy_earns_the_optimum_and_every_episode_ends(env_id):
    env = gym.make(env_id)
    task = env.unwrapped
    rewards, terminated, truncated = play(env, policy=task.optimal_action)
    assert sum(rewards) == pytest.approx(task.optimal_return)
    assert terminated != truncated  # ends one way, never both
    # A policy that never reaches a goal is cut by truncation at max_steps.
    rewards, terminated, truncated = play(env, policy=lambda obs: env.action_space.sample())
    assert terminated or (truncated and len(rewards) == task.max_steps)


def test_permuted_identity_rewards_the_permutation_not_the_identity():
    env = PermutedIdentityEnv(n=5, max_steps=20, task_seed=0)
    assert sorted(env.permutation) == list(range(5))
    assert np.any(env.permutation != np.arange(5))
    rewards, terminated, truncated = play(env, policy=lambda obs: obs)
    # Copying the observation is right only on the permutation's fixed points.
    fixed = set(np.flatnonzero(env.permutation == np.arange(5)))
    assert truncated and not terminated and len(rewards) == 20
    assert env.optimal_return == 20 and env.random_return == 4
    env.reset(seed=3)
    for _ in range(50):
        obs = env._obs
        _, reward, *_ = env.step(obs)
        assert reward == (1.0 if obs in fixed else 0.0)


def test_sparse_chain_moves_and_pays_only_at_the_end():
    env = SparseChainEnv(length=4, max_steps=10, task_seed=1)
    obs, _ = env.reset(seed=0)
    wrong = 1 - env.correct[0]
    obs, reward, terminated, truncated, _ = env.step(wrong)  # back from 0 stays at 0
    assert (obs, reward, terminated, truncated) == (0, 0.0, False, False)
    obs, *_ = env.step(env.correct[0])
    obs, *_ = env.step(env.correct[1])
    assert obs == 2
    obs, reward, *_ = env.step(1 - env.correct[2])  # a wrong step goes back one
    assert (obs, reward) == (1, 0.0)
    rewards, terminated, _ = play(env, env.optimal_action)
    assert rewards == [0.0, 0.0, 1.0] and terminated


def test_sparse_chain_optimal_q_values_by_hand():
    gamma, env = 0.9, SparseChainEnv(length=4, task_seed=1)
    q = env.optimal_q_values(gamma)
    c = env.correct
    # Walking right: Q*(s, correct) = gamma^(length-2-s).
    np.testing.assert_allclose(q[np.arange(3), c], [0.81, 0.9, 1.0])
    # A wrong step costs one step back: Q*(s, wrong) = gamma V*(max(s-1, 0)).
    np.testing.assert_allclose(q[np.arange(3), 1 - c], [0.9 * 0.81, 0.9 * 0.81, 0.9 * 0.9])


def test_reset_corridor_wrong_action_goes_back_to_the_start():
    env = ResetCorridorEnv(length=5, n_actions=3, max_steps=12, task_seed=2)
    env.reset(seed=0)
    for s in range(3):
        obs, reward, *_ = env.step(env.correct[s])
        assert (obs, reward) == (s + 1, 0.0)
    obs, reward, terminated, truncated, _ = env.step((env.correct[3] + 1) % 3)
    assert (obs, reward, terminated, truncated) == (0, 0.0, False, False)
    rewards, terminated, truncated = play(env, lambda obs: (env.correct[obs] + 1) % 3)
    assert rewards == [0.0] * 12 and truncated and not terminated


def test_target_tracking_reward_and_zero_action_baseline():
    env = TargetTrackingEnv(scale=0.5, step_size=0.2, max_steps=20)
    obs, _ = env.reset(seed=0)
    action = np.array([0.3], np.float32)
    next_obs, reward, terminated, truncated, _ = env.step(action)
    assert reward == pytest.approx(-(0.3 - 0.5 * obs[0]) ** 2, rel=1e-6)
    assert abs(next_obs[0] - obs[0]) <= 0.2 + 1e-6 and not terminated and not truncated
    # Acting 0 earns -sum (x/2)^2; x stays uniform on [-1, 1] under the clipped walk
    # closely enough that the mean over many episodes is near -T / 12.
    returns = [sum(play(env, lambda o: np.zeros(1, np.float32), seed=s)[0]) for s in range(400)]
    assert np.mean(returns) == pytest.approx(env.zero_action_return, rel=0.15)


def test_bad_arguments_raise():
    for make in (lambda: PermutedIdentityEnv(n=1), lambda: SparseChainEnv(length=4, max_steps=2),
                 lambda: ResetCorridorEnv(n_actions=1), lambda: TargetTrackingEnv(scale=0)):
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ValueError):
        IdentityEnv(n=1)
    with pytest.raises(ValueError):
        ChainEnv(length=1)
    with pytest.raises(ValueError):
        ContinuousIdentityEnv(dim=0)
