"""Chapter 7: Q-learning with a neural network on GridWorld, against the exact Q*."""
import gymnasium as gym
import numpy as np

import minirl
import minirl.functions as F
from minirl.agents.qnet import QLearningAgent, q_learning_target
from minirl.envs.gridworld import GridWorld
from minirl.tabular.dp import value_iter

GAMMA = 0.9


def exact_q(env):
    """Q*(s, a) = r(s, a, s') + gamma V*(s'), V* by value iteration (chapter 4)."""
    _, V = value_iter(env, gamma=GAMMA, threshold=1e-8)
    return {s: np.array([env.reward(s, a, env.next_state(s, a))
                         + GAMMA * V[env.next_state(s, a)] for a in range(4)])
            for s in env.states() if s != env.goal_state}


def test_q_learning_target_by_hand():
    next_q = np.array([[0.5, 2.0, -1.0], [3.0, 0.0, 1.0]])
    y = q_learning_target(np.array([1.0, -1.0]), next_q, np.array([0.0, 1.0]), 0.9)
    np.testing.assert_allclose(y, [1.0 + 0.9 * 2.0, -1.0])  # terminal: no bootstrap


def test_update_is_a_semi_gradient_step():
    """The target is a constant: the parameter change is -lr * d/dtheta (Q(s,a) - y)^2
    with y frozen, even though s and s' go through the same network."""
    env = GridWorld()
    agent = QLearningAgent(env.observation_space, env.action_space, seed=0)
    s, a, r, s2 = 8, 3, 0.0, 9
    before = [p.data.copy() for p in agent.qnet.params()]
    y = r + GAMMA * agent.q_values(s2).max()
    q = agent.qnet(agent.encode(s)[None])[0, a]
    loss = F.mean_squared_error(q, np.float32(y))
    agent.qnet.zero_grad()
    loss.backward()
    expected = [b - 0.01 * p.grad for b, p in zip(before, agent.qnet.params())]
    for p, b in zip(agent.qnet.params(), before):  # undo: update from the same weights
        p.data = b.copy()
    agent.update(s, a, r, s2, False, False)
    for p, e in zip(agent.qnet.params(), expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-5, atol=1e-7)


def test_terminal_step_does_not_bootstrap():
    env = GridWorld()
    agent = QLearningAgent(env.observation_space, env.action_space, seed=0, lr=0.5)
    for _ in range(200):  # regress Q((0,2), right) on the terminal target r = 1 alone
        agent.update(2, 3, 1.0, 3, True, False)
    assert abs(agent.q_values(2)[3] - 1.0) < 1e-3


def test_learns_q_star_on_gridworld():
    """Exploring starts (every cell can start an episode) so that every state is
    visited; 30k steps of the book's agent (lr 0.01, gamma 0.9, epsilon 0.1).

    Greedy actions match Q* on every state whose optimal action is unique, and Q is
    within 0.4 of Q* everywhere (mean error below 0.15).
    """
    model = GridWorld()
    q_star = exact_q(model)
    env = gym.wrappers.TimeLimit(GridWorld(start_state=None), max_episode_steps=100)
    agent = minirl.train("qnet", env, 30000, seed=0).agent
    errors = []
    for state, q in q_star.items():
        learned = agent.q_values(model.state_to_index(state))
        errors.append(np.abs(learned - q).max())
        best = np.flatnonzero(np.isclose(q, q.max(), atol=1e-9))
        if len(best) == 1:
            assert learned.argmax() == best[0], (state, learned, q)
    assert max(errors) < 0.4 and np.mean(errors) < 0.15, errors
