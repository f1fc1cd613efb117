"""Chapters 1-6: each formula against an independent computation, and the book's
GridWorld results (gamma = 0.9) reproduced."""
import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow

import minirl  # noqa: F401  (registers minirl/GridWorld-v0)
from minirl.envs.gridworld import GridWorld
from minirl.plot import plot_q_map, plot_value_map
from minirl.tabular import bandit, dp, mc, td

GAMMA = 0.9
WALL = np.nan
# The book's figures (chapter 4), gamma 0.9, threshold 1e-3, printed to 2-3 decimals.
BOOK_RANDOM_V = [[0.03, 0.098, 0.207, 0.0],
                 [-0.027, WALL, -0.496, -0.371],
                 [-0.099, -0.217, -0.434, -0.784]]
BOOK_OPTIMAL_V = [[0.81, 0.9, 1.0, 0.0],
                  [0.729, WALL, 0.9, 1.0],
                  [0.656, 0.729, 0.81, 0.729]]


def as_grid(env, V):
    grid = np.full(env.shape, np.nan)
    for state, value in V.items():
        grid[state] = value
    return grid


def exact_policy_values(env, pi, gamma):
    """Solve the Bellman expectation equation V = r_pi + gamma P_pi V as a linear
    system, built straight from the model (independent of ``dp``)."""
    states = list(env.states())
    n = len(states)
    P, r = np.zeros((n, n)), np.zeros(n)
    for i, s in enumerate(states):
        if s == env.goal_state:
            continue  # terminal: V = 0, an all-zero row
        for a, p in pi[s].items():
            s2 = env.next_state(s, a)
            P[i, states.index(s2)] += p
            r[i] += p * env.reward(s, a, s2)
    return dict(zip(states, np.linalg.solve(np.eye(n) - gamma * P, r)))


def optimal_q(env):
    """Q*(s, a) = r + gamma V*(s') from value iteration run to convergence."""
    _, V = dp.value_iter(env, GAMMA, threshold=1e-12)
    return {s: dp.action_values(V, env, s, GAMMA) for s in env.states() if s != env.goal_state}


def unique_optimal_actions(env):
    """obs index -> the optimal action, for states where only one action is optimal."""
    unique = {}
    for s, qs in optimal_q(env).items():
        best = [a for a, q in qs.items() if q > max(qs.values()) - 1e-9]
        if len(best) == 1:
            unique[env.state_to_index(s)] = best[0]
    return unique


def random_policy_values_by_index(env):
    V = dp.policy_eval(dp.random_policy(env), dp.zero_values(env), env, GAMMA, 1e-12)
    return {env.state_to_index(s): v for s, v in V.items()}


# ----- chapter 1: bandits ---------------------------------------------------------------

@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=1, max_size=200))
def test_incremental_mean_is_the_sample_mean(rewards):
    """Q_n = Q_{n-1} + (R_n - Q_{n-1}) / n equals mean(R_1..R_n) (to float rounding)."""
    agent = bandit.Agent(epsilon=0.1, action_size=3, seed=0)
    for r in rewards:
        agent.update(1, r)
    assert agent.ns[1] == len(rewards)
    assert agent.Qs[1] == pytest.approx(np.mean(rewards), rel=1e-9, abs=1e-9)
    assert agent.Qs[0] == agent.Qs[2] == 0.0


def test_constant_alpha_is_an_exponentially_weighted_average():
    """Q_n = (1 - alpha)^n Q_0 + sum_k alpha (1 - alpha)^(n-k) R_k, with Q_0 = 0."""
    alpha, rewards = 0.3, np.random.default_rng(0).normal(size=20)
    agent = bandit.AlphaAgent(epsilon=0.1, alpha=alpha, action_size=2, seed=0)
    for r in rewards:
        agent.update(0, r)
    n = len(rewards)
    weights = alpha * (1 - alpha) ** (n - np.arange(1, n + 1))
    assert agent.Qs[0] == pytest.approx(weights @ rewards, rel=1e-12)


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian"])
def test_learns_the_best_arm(kind):
    values = [0.2, 0.5, 0.8, 0.3]
    agent = bandit.Agent(epsilon=0.1, action_size=4, seed=1)
    rewards, rates = bandit.run_bandit(agent, bandit.Bandit(kind=kind, values=values, seed=2),
                                       steps=2000)
    assert np.argmax(agent.ns) == 2
    assert agent.ns[2] > 0.8 * 2000  # exploits: 1 - eps + eps/4 of the time, roughly
    assert agent.Qs[2] == pytest.approx(0.8, abs=0.1)
    assert rates == pytest.approx(np.cumsum(rewards) / np.arange(1, 2001))


def twin(rng):
    """A copy of a generator in its current state: it will draw what ``rng`` draws."""
    copy = np.random.default_rng()
    copy.bit_generator.state = rng.bit_generator.state
    return copy


def test_epsilon_greedy_action_by_its_definition():
    """With probability epsilon a uniform arm, else argmax_a Q(a): replayed draw by draw
    from a twin of the agent's generator."""
    agent = bandit.Agent(epsilon=0.3, action_size=4, seed=5)
    agent.Qs[:] = [0.1, -2.0, 0.7, 0.4]
    explored = 0
    for _ in range(300):
        other = twin(agent.rng)
        explore = other.random() < 0.3
        expected = int(other.integers(4)) if explore else 2
        explored += explore
        assert agent.get_action() == expected
    assert 60 < explored < 120


def test_run_bandit_returns_the_running_average_reward():
    agent = bandit.AlphaAgent(epsilon=0.5, alpha=0.3, action_size=3, seed=0)
    rewards, rates = bandit.run_bandit(agent, bandit.Bandit(kind="gaussian", values=[0, 1, 2],
                                                              seed=1), steps=50)
    np.testing.assert_allclose(rates, [rewards[:n].mean() for n in range(1, 51)], rtol=1e-12)


def test_stationary_bandit_keeps_its_values_and_nonstationary_drifts():
    stat, nonstat = bandit.Bandit(arms=5, seed=0), bandit.NonStatBandit(arms=5, seed=0)
    before_stat, before_non = stat.rates.copy(), nonstat.rates.copy()
    for _ in range(10):
        stat.play(0)
        nonstat.play(0)
    assert np.array_equal(stat.rates, before_stat)
    assert np.all(nonstat.rates != before_non)


def test_learns_a_drifting_bandit_better_with_constant_alpha():
    runs, steps = 50, 1000
    late_reward = {"sample average": [], "alpha": []}
    for run in range(runs):
        for name in late_reward:
            if name == "alpha":
                agent = bandit.AlphaAgent(epsilon=0.1, alpha=0.8, seed=run)
            else:
                agent = bandit.Agent(epsilon=0.1, seed=run)
            rewards, _ = bandit.run_bandit(agent, bandit.NonStatBandit(seed=1000 + run), steps)
            late_reward[name].append(rewards[steps // 2:].mean())
    assert np.mean(late_reward["alpha"]) > np.mean(late_reward["sample average"])


def test_bandit_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        bandit.Bandit(kind="poisson")


# ----- chapter 4: dynamic programming ------------------------------------------------------

def test_policy_eval_reproduces_the_books_random_policy_values():
    env = GridWorld()
    V = dp.policy_eval(dp.random_policy(env), dp.zero_values(env), env, GAMMA, threshold=1e-3)
    # the book stops at threshold 1e-3 and prints 3 decimals: it agrees to 1e-3
    np.testing.assert_allclose(as_grid(env, V), BOOK_RANDOM_V, atol=1e-3)


def test_policy_eval_converges_to_the_bellman_equation_solution():
    env = GridWorld()
    pi = dp.random_policy(env)
    V = dp.policy_eval(pi, dp.zero_values(env), env, GAMMA, threshold=1e-12)
    exact = exact_policy_values(env, pi, GAMMA)
    for s in env.states():
        assert V[s] == pytest.approx(exact[s], abs=1e-9)


def test_policy_eval_leaves_its_input_alone():
    env = GridWorld()
    V0 = dp.zero_values(env)
    dp.policy_eval(dp.random_policy(env), V0, env, GAMMA)
    assert all(v == 0.0 for v in V0.values())


def test_value_iteration_reproduces_the_books_optimal_values():
    env = GridWorld()
    _, V = dp.value_iter(env, GAMMA, threshold=1e-3)
    np.testing.assert_allclose(as_grid(env, V), BOOK_OPTIMAL_V, atol=1e-3)


def test_value_iteration_satisfies_the_bellman_optimality_equation():
    """V*(s) = max_a { r(s, a, s') + gamma V*(s') } at every non-terminal state."""
    env = GridWorld()
    _, V = dp.value_iter(env, GAMMA, threshold=1e-12)
    for s in env.states():
        if s != env.goal_state:
            best = max(env.reward(s, a, env.next_state(s, a)) + GAMMA * V[env.next_state(s, a)]
                       for a in env.actions())
            assert V[s] == pytest.approx(best, abs=1e-10)


def test_policy_iteration_and_value_iteration_agree():
    env = GridWorld()
    pi_pi, V_pi = dp.policy_iter(env, GAMMA, threshold=1e-6)
    pi_vi, V_vi = dp.value_iter(env, GAMMA, threshold=1e-6)
    assert pi_pi == pi_vi
    for s in env.states():
        assert V_pi[s] == pytest.approx(V_vi[s], abs=1e-5)
    # and the optimal policy's values are the optimum: evaluate it exactly
    exact = exact_policy_values(env, pi_pi, GAMMA)
    np.testing.assert_allclose(as_grid(env, exact), BOOK_OPTIMAL_V, atol=1e-3)


def test_policy_iteration_solves_a_grid_with_rewards_worth_circling_for():
    """Positive rewards off the goal make values large and slow to converge: policy
    iteration must evaluate each policy to the threshold it was given, so that its V is
    V* (value iteration's) and the exact value of the policy it returns."""
    rewards = np.random.default_rng(3).normal(size=(4, 5)).round(1)
    env = GridWorld(reward_map=rewards, goal_state=(0, 4), wall_states=(), start_state=(3, 0))
    pi, V = dp.policy_iter(env, GAMMA, threshold=1e-10)
    _, V_star = dp.value_iter(env, GAMMA, threshold=1e-12)
    exact = exact_policy_values(env, pi, GAMMA)
    assert max(V_star.values()) > 2.0  # the circling is worth something
    for s in env.states():
        assert V[s] == pytest.approx(V_star[s], abs=1e-7)
        assert V[s] == pytest.approx(exact[s], abs=1e-7)


def test_greedy_policy_is_deterministic_and_breaks_ties_to_the_first_action():
    env = GridWorld()
    pi = dp.greedy_policy(dp.zero_values(env), env, GAMMA)
    assert pi[(2, 0)] == {0: 1.0, 1: 0.0, 2: 0.0, 3: 0.0}  # all q equal: "up" wins
    assert pi[(0, 2)] == {0: 0.0, 1: 0.0, 2: 0.0, 3: 1.0}  # +1 to the right


def test_dp_works_through_gym_make():
    _, V = dp.value_iter(gym.make("minirl/GridWorld-v0"), GAMMA)
    assert V[(2, 0)] == pytest.approx(0.656, abs=1e-3)


# ----- chapters 5 and 6: the update formulas, one step at a time --------------------------

def test_mc_eval_return_is_the_discounted_sum():
    agent = mc.McAgent(4, 4, gamma=GAMMA, seed=0)
    for state, reward in [(0, 0.0), (1, 0.0), (2, 1.0)]:
        agent.add(state, 0, reward)
    agent.eval(final_state=3, terminated=True)
    assert agent.V[:3] == pytest.approx([GAMMA ** 2, GAMMA, 1.0])
    assert agent.cnts[:3].tolist() == [1, 1, 1]


def test_mc_bootstraps_on_truncation_only():
    for terminated, expected in [(True, 1.0), (False, 1.0 + GAMMA * 5.0)]:
        agent = mc.McAgent(2, 4, gamma=GAMMA, seed=0)
        agent.V[1] = 5.0
        agent.add(0, 0, 1.0)
        agent.eval(final_state=1, terminated=terminated)
        assert agent.V[0] == pytest.approx(expected)


def test_mc_off_policy_weights_each_reward_by_the_ratios_after_its_action():
    """Q(S_0, A_0) moves toward sum_k gamma^k (prod_{j=1..k} rho_j) R_k, where
    rho_j = pi(A_j|S_j) / b(A_j|S_j): each ratio counted once, A_0 not at all."""
    agent = mc.McOffPolicyAgent(3, 2, gamma=GAMMA, alpha=1.0, seed=0)
    agent.pi[:] = [[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]]
    agent.b[:] = [[0.2, 0.8], [0.6, 0.4], [0.25, 0.75]]
    episode = [(0, 1, 1.0), (1, 1, 2.0), (2, 0, 3.0)]
    for step in episode:
        agent.add(*step)
    rho = [agent.pi[s, a] / agent.b[s, a] for s, a, _ in episode]
    expected = 1.0 + GAMMA * rho[1] * 2.0 + GAMMA ** 2 * rho[1] * rho[2] * 3.0
    agent.update(final_state=0, terminated=True)
    assert agent.Q[0, 1] == pytest.approx(expected)
    assert agent.Q[2, 0] == pytest.approx(3.0)  # the last step: its own reward only
    assert agent.b[0] == pytest.approx(mc.greedy_probs(agent.Q[0], agent.epsilon))


def test_greedy_probs():
    assert mc.greedy_probs(np.array([0.0, 2.0, 1.0]), 0.3) == pytest.approx([0.1, 0.8, 0.1])
    assert mc.greedy_probs(np.array([1.0, 1.0]), 0.0) == pytest.approx([1.0, 0.0])


def test_td0_targets_bootstrap_on_truncation_never_on_termination():
    for terminated, expected_target in [(True, 1.0), (False, 1.0 + GAMMA * 5.0)]:
        agent = td.TdAgent(2, 4, gamma=GAMMA, alpha=0.5, seed=0)
        agent.V[1] = 5.0
        agent.eval(0, 1.0, 1, terminated)
        assert agent.V[0] == pytest.approx(0.5 * expected_target)


def test_sarsa_and_q_learning_targets():
    """SARSA bootstraps from Q(S', A'), Q-learning from max_a Q(S', a); neither after
    termination."""
    for terminated in (True, False):
        sarsa = td.SarsaAgent(2, 3, gamma=GAMMA, alpha=1.0, seed=0)
        q_learning = td.QLearningAgent(2, 3, gamma=GAMMA, alpha=1.0, seed=0)
        for agent in (sarsa, q_learning):
            agent.Q[1] = [1.0, 4.0, 2.0]
        sarsa.update(0, 0, 1.0, 1, 2, terminated)
        q_learning.update(0, 0, 1.0, 1, terminated)
        assert sarsa.Q[0, 0] == pytest.approx(1.0 if terminated else 1.0 + GAMMA * 2.0)
        assert q_learning.Q[0, 0] == pytest.approx(1.0 if terminated else 1.0 + GAMMA * 4.0)
        assert sarsa.pi[0] == pytest.approx(mc.greedy_probs(sarsa.Q[0], sarsa.epsilon))


def test_sarsa_off_policy_target_is_weighted_by_rho():
    agent = td.SarsaOffPolicyAgent(2, 2, gamma=GAMMA, alpha=1.0, seed=0)
    agent.Q[1] = [3.0, 0.0]
    agent.pi[1], agent.b[1] = [0.8, 0.2], [0.4, 0.6]
    agent.update(0, 1, 1.0, 1, 0, terminated=False)
    assert agent.Q[0, 1] == pytest.approx((0.8 / 0.4) * (1.0 + GAMMA * 3.0))
    agent.update(0, 0, 1.0, 1, None, terminated=True)
    assert agent.Q[0, 0] == pytest.approx(1.0)


# The same updates with alpha != 1 and Q != 0, so that Q <- alpha y, Q <- Q + alpha y and
# Q <- Q + (1 - alpha)(y - Q) all differ from Q <- Q + alpha (y - Q).
ALPHA = 0.3


@pytest.mark.parametrize("terminated, target", [(False, 1.0 + GAMMA * 5.0), (True, 1.0)])
def test_td0_update_by_hand_alpha_and_v_nonzero(terminated, target):
    agent = td.TdAgent(2, 4, gamma=GAMMA, alpha=ALPHA, seed=0)
    agent.V[:] = [2.0, 5.0]
    agent.eval(0, 1.0, 1, terminated)
    # V(S) <- V(S) + alpha (R + gamma V(S') - V(S)): 2 + 0.3 (5.5 - 2) = 3.05, or
    # 2 + 0.3 (1 - 2) = 1.7 after termination
    assert agent.V[0] == pytest.approx(2.0 + ALPHA * (target - 2.0))
    assert agent.V[0] == pytest.approx(1.7 if terminated else 3.05)
    assert agent.V[1] == 5.0


@pytest.mark.parametrize("terminated", [False, True])
def test_sarsa_and_q_learning_updates_by_hand_alpha_and_q_nonzero(terminated):
    sarsa = td.SarsaAgent(2, 3, gamma=GAMMA, alpha=ALPHA, epsilon=0.2, seed=0)
    q_learning = td.QLearningAgent(2, 3, gamma=GAMMA, alpha=ALPHA, epsilon=0.2, seed=0)
    for agent in (sarsa, q_learning):
        agent.Q[:] = [[2.0, -1.0, 0.5], [1.0, 4.0, 2.0]]
    sarsa.update(0, 0, 1.0, 1, 2, terminated)
    q_learning.update(0, 0, 1.0, 1, terminated)
    # SARSA: 2 + 0.3 (1 + 0.9 Q(S', A'=2) - 2) = 2.24; Q-learning: 2 + 0.3 (1 + 0.9 * 4 - 2)
    # = 2.78; after termination both 2 + 0.3 (1 - 2) = 1.7.
    assert sarsa.Q[0, 0] == pytest.approx(1.7 if terminated else 2.24)
    assert q_learning.Q[0, 0] == pytest.approx(1.7 if terminated else 2.78)
    # epsilon-greedy in the updated row [Q(S, 0), -1, 0.5]: action 0 is still the best
    expected_pi = np.full(3, 0.2 / 3)
    expected_pi[0] += 0.8
    assert sarsa.pi[0] == pytest.approx(expected_pi)
    assert q_learning.b[0] == pytest.approx(expected_pi)
    assert q_learning.pi[0] == pytest.approx([1.0, 0.0, 0.0])


def test_sarsa_off_policy_update_by_hand_alpha_and_q_nonzero():
    agent = td.SarsaOffPolicyAgent(2, 2, gamma=GAMMA, alpha=ALPHA, seed=0)
    agent.Q[:] = [[0.5, 2.0], [3.0, 1.0]]
    agent.pi[1], agent.b[1] = [0.8, 0.2], [0.4, 0.6]
    agent.update(0, 1, 1.0, 1, 0, terminated=False)
    # rho = 0.8 / 0.4 = 2; target = 2 (1 + 0.9 * 3) = 7.4; 2 + 0.3 (7.4 - 2) = 3.62
    assert agent.Q[0, 1] == pytest.approx(3.62)
    assert agent.pi[0] == pytest.approx([0.0, 1.0])
    assert agent.b[0] == pytest.approx([0.05, 0.95])


def test_mc_control_update_by_hand_alpha_and_q_nonzero():
    agent = mc.McControlAgent(3, 2, gamma=GAMMA, epsilon=0.2, alpha=ALPHA, seed=0)
    agent.Q[:] = [[0.0, -1.0], [0.5, 3.0], [1.0, 1.0]]
    agent.add(0, 1, 1.0)
    agent.add(1, 0, 2.0)
    agent.update(final_state=2, terminated=True)
    # G_1 = 2: 0.5 + 0.3 (2 - 0.5) = 0.95; G_0 = 1 + 0.9 * 2 = 2.8: -1 + 0.3 (2.8 + 1) = 0.14
    assert agent.Q[1, 0] == pytest.approx(0.95)
    assert agent.Q[0, 1] == pytest.approx(0.14)
    assert agent.pi[0] == pytest.approx([0.1, 0.9])  # 0.14 > 0: epsilon-greedy on action 1
    assert agent.pi[1] == pytest.approx([0.1, 0.9])  # 3.0 > 0.95


def test_mc_control_bootstraps_a_truncated_episode_with_v_pi():
    agent = mc.McControlAgent(2, 2, gamma=GAMMA, epsilon=0.2, alpha=ALPHA, seed=0)
    agent.Q[1] = [4.0, -2.0]
    agent.pi[1] = [0.25, 0.75]
    agent.add(0, 0, 1.0)
    agent.update(final_state=1, terminated=False)
    # G = 1 + 0.9 V_pi(s_T), V_pi = 0.25 * 4 - 0.75 * 2 = -0.5: G = 0.55; Q = 0.3 * 0.55
    assert agent.Q[0, 0] == pytest.approx(ALPHA * 0.55)


def test_mc_off_policy_update_by_hand_alpha_and_q_nonzero():
    agent = mc.McOffPolicyAgent(3, 2, gamma=GAMMA, alpha=0.5, seed=0)
    agent.Q[:] = [[1.0, -2.0], [0.0, 4.0], [6.0, 0.0]]
    agent.pi[:] = [[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]]
    agent.b[:] = [[0.2, 0.8], [0.6, 0.4], [0.25, 0.75]]
    for step in [(0, 1, 1.0), (1, 1, 2.0), (2, 0, 3.0)]:
        agent.add(*step)
    agent.update(final_state=0, terminated=True)
    # G_2 = 3: 6 + 0.5 (3 - 6) = 4.5. rho_2 = 0.5 / 0.25 = 2: G_1 = 2 + 0.9 * 2 * 3 = 7.4,
    # 4 + 0.5 (7.4 - 4) = 5.7. rho_1 = 0.7 / 0.4: G_0 = 1 + 0.9 * 1.75 * 7.4 = 12.655,
    # -2 + 0.5 (12.655 + 2) = 5.3275.
    assert agent.Q[2, 0] == pytest.approx(4.5)
    assert agent.Q[1, 1] == pytest.approx(5.7)
    assert agent.Q[0, 1] == pytest.approx(5.3275)
    # pi greedy and b epsilon-greedy on the new Q, after the backward pass
    assert agent.pi[0] == pytest.approx([0.0, 1.0]) and agent.pi[2] == pytest.approx([1.0, 0.0])
    assert agent.b[1] == pytest.approx([0.05, 0.95])


def test_mc_off_policy_bootstraps_a_truncated_episode_with_v_pi():
    agent = mc.McOffPolicyAgent(2, 2, gamma=GAMMA, alpha=0.5, seed=0)
    agent.Q[1] = [4.0, -2.0]
    agent.pi[1], agent.b[1] = [1.0, 0.0], [0.5, 0.5]
    agent.add(0, 0, 1.0)
    agent.update(final_state=1, terminated=False)
    # G = 1 + 0.9 * V_pi(s_T) = 1 + 0.9 * 4 = 4.6 (b's value would be 1 + 0.9 * 1)
    assert agent.Q[0, 0] == pytest.approx(0.5 * 4.6)


class Recorder:
    """An agent that always takes action 1 and records its update calls."""

    def __init__(self):
        self.calls = []

    def get_action(self, state):
        return 1

    def update(self, *args):
        self.calls.append(args)


def test_sarsa_loop_passes_a_next_action_after_truncation_and_none_after_termination():
    truncating = gym.make("minirl/GridWorld-v0", max_episode_steps=3)
    agent = Recorder()
    td.run_sarsa(truncating, agent, episodes=1, seed=0)
    assert len(agent.calls) == 3
    *_, next_action, terminated = agent.calls[-1]
    assert next_action == 1 and not terminated  # cut by the time limit: A' still needed
    terminating = gym.make("minirl/GridWorld-v0")  # from (2, 0): up, up, right x3
    agent = Recorder()
    path = iter([0, 0, 3, 3, 3])
    agent.get_action = lambda state: next(path)
    td.run_sarsa(terminating, agent, episodes=1, seed=0)
    assert len(agent.calls) == 5
    *_, next_action, terminated = agent.calls[-1]
    assert terminated and next_action is None


def test_tabular_agents_need_a_discrete_observation():
    with pytest.raises(ValueError, match="Discrete"):
        mc.table_sizes(GridWorld(one_hot=True))
    assert mc.table_sizes(gym.make("minirl/GridWorld-v0")) == (12, 4)


# ----- chapters 5 and 6: learning on GridWorld -------------------------------------------

def test_learns_td0_values_near_dp():
    """TD(0), alpha 0.01, 1000 episodes: within 0.08 on average and 0.3 at worst of
    the exact values (constant-alpha noise is about 0.04 per state)."""
    env = gym.make("minirl/GridWorld-v0")
    agent = td.TdAgent(*mc.table_sizes(env), gamma=GAMMA, alpha=0.01, seed=0)
    td.run_td_eval(env, agent, episodes=1000, seed=0)
    exact = random_policy_values_by_index(env.unwrapped)
    errors = np.array([abs(agent.V[i] - v) for i, v in exact.items()])
    assert errors.mean() < 0.08 and errors.max() < 0.3


def test_learns_mc_values_near_dp():
    """MC sample averages, 1000 episodes: within 0.06 on average and 0.2 at worst."""
    env = gym.make("minirl/GridWorld-v0")
    agent = mc.McAgent(*mc.table_sizes(env), gamma=GAMMA, seed=0)
    mc.run_mc_eval(env, agent, episodes=1000, seed=0)
    exact = random_policy_values_by_index(env.unwrapped)
    errors = np.array([abs(agent.V[i] - v) for i, v in exact.items()])
    assert errors.mean() < 0.06 and errors.max() < 0.2


# Random start cells ("exploring starts") so that every state is visited often;
# on-policy methods learn the best epsilon-greedy policy, whose greedy actions match
# Q*'s here, given a step size small enough to average out the noise.
CONTROL = {
    "q_learning": (td.QLearningAgent, td.run_q_learning, 500, {"epsilon": 0.5}),
    "sarsa": (td.SarsaAgent, td.run_sarsa, 16000, {"epsilon": 0.2, "alpha": 0.05}),
    "mc_control": (mc.McControlAgent, mc.run_mc_control, 24000, {"epsilon": 0.2, "alpha": 0.02}),
}


@pytest.mark.parametrize("name", CONTROL)
def test_learns_the_optimal_greedy_policy(name):
    make_agent, run, episodes, hparams = CONTROL[name]
    env = gym.make("minirl/GridWorld-v0", start_state=None)
    agent = make_agent(*mc.table_sizes(env), gamma=GAMMA, seed=0, **hparams)
    run(env, agent, episodes, seed=0)
    unique = unique_optimal_actions(env.unwrapped)
    assert len(unique) >= 8  # only (2, 0) has two optimal actions
    learned = {i: int(np.argmax(agent.Q[i])) for i in unique}
    assert learned == unique


def test_learns_q_star_by_q_learning():
    env = gym.make("minirl/GridWorld-v0", start_state=None)
    agent = td.QLearningAgent(*mc.table_sizes(env), gamma=GAMMA, epsilon=0.5, seed=0)
    td.run_q_learning(env, agent, 2000, seed=0)
    grid = env.unwrapped
    for s, qs in optimal_q(grid).items():
        assert agent.Q[grid.state_to_index(s)] == pytest.approx(list(qs.values()), abs=0.05)


def test_same_seed_same_run_bit_for_bit():
    def train(seed):
        env = gym.make("minirl/GridWorld-v0", start_state=None)
        agent = td.SarsaAgent(*mc.table_sizes(env), seed=seed)
        td.run_sarsa(env, agent, 50, seed=seed)
        return agent.Q
    assert np.array_equal(train(3), train(3))
    assert not np.array_equal(train(3), train(4))


# ----- plots ------------------------------------------------------------------------

def is_png(path):
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def count_arrows(fig):
    return sum(isinstance(p, FancyArrow) for p in fig.axes[0].patches)


def test_plot_value_map_writes_png_and_draws_ties(tmp_path):
    env = GridWorld()
    pi, V = dp.value_iter(env, GAMMA, threshold=1e-12)
    fig = plot_value_map(env, V, path=tmp_path / "v.png")
    assert isinstance(fig, Figure) and is_png(tmp_path / "v.png")
    assert count_arrows(fig) == 0
    # a deterministic policy: one arrow per non-terminal state
    assert count_arrows(plot_value_map(env, V, pi)) == 10
    # Q*: one arrow per optimal action, ties included; the random policy: four each
    q_star = {(s, a): q for s, qs in optimal_q(env).items() for a, q in qs.items()}
    assert count_arrows(plot_value_map(env, V, q_star)) == 10 + 1  # the tie at (2, 0)
    assert count_arrows(plot_value_map(env, V, dp.random_policy(env))) == 40


def test_plot_maps_take_agent_arrays(tmp_path):
    env = gym.make("minirl/GridWorld-v0")
    agent = td.QLearningAgent(*mc.table_sizes(env), seed=0)
    td.run_q_learning(env, agent, 20, seed=0)
    fig = plot_q_map(env, agent.Q, path=tmp_path / "q.png", title="Q")
    assert isinstance(fig, Figure) and is_png(tmp_path / "q.png")
    plot_value_map(env, agent.Q.max(axis=1), agent.pi, path=tmp_path / "vq.png")
    assert is_png(tmp_path / "vq.png")
