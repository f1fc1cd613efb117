"""Chapter 7: Q-learning with a neural network on GridWorld, against the exact Q*."""
import gymnasium as gym
import numpy as np

import minirl
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


def numpy_qnet(state, x):
    """The book's QNet from its state_dict in float64: (pre-activation, hidden, Q)."""
    pre = np.asarray(x, np.float64) @ state["l1.W"] + state["l1.b"]
    h = np.maximum(pre, 0)
    return pre, h, h @ state["l2.W"] + state["l2.b"]


def numpy_sgd_step(state, s, a, r, s2, bootstrap, lr, gamma, n_states=12):
    """One SGD step on (Q(s, a) - y)^2 with y = r + gamma max_a' Q(s', a') held constant
    (or y = r), the gradient written out by hand."""
    state = {k: v.astype(np.float64) for k, v in state.items()}
    x, x2 = np.eye(n_states)[[s]], np.eye(n_states)[[s2]]
    y = r + (gamma * numpy_qnet(state, x2)[2].max() if bootstrap else 0.0)
    pre, h, q = numpy_qnet(state, x)
    dq = np.zeros_like(q)
    dq[0, a] = 2 * (q[0, a] - y)  # d/dQ (Q - y)^2, nothing through y
    dh = dq @ state["l2.W"].T * (pre > 0)
    grads = {"l2.W": h.T @ dq, "l2.b": dq.sum(axis=0), "l1.W": x.T @ dh, "l1.b": dh.sum(axis=0)}
    return {k: state[k] - lr * grads[k] for k in state}


def test_update_is_a_semi_gradient_step():
    """The target is a constant: the parameter change is -lr * d/dtheta (Q(s,a) - y)^2
    with y frozen, even though s and s' go through the same network. A truncated step
    still bootstraps; a terminated one does not."""
    env = GridWorld()
    for terminated, truncated in ((False, False), (False, True), (True, False)):
        agent = QLearningAgent(env.observation_space, env.action_space, seed=0, lr=0.01,
                               gamma=GAMMA, hidden_size=100)
        rng = np.random.default_rng(1)
        for p in agent.qnet.parameters():  # large weights: Q(s') far from 0
            p.data = rng.standard_normal(p.shape).astype(np.float32)
        s, a, r, s2 = 8, 3, 0.5, 9
        expected = numpy_sgd_step(agent.qnet.state_dict(), s, a, r, s2,
                                  bootstrap=not terminated, lr=0.01, gamma=GAMMA)
        agent.update(s, a, r, s2, terminated, truncated)
        after = agent.qnet.state_dict()
        for k, e in expected.items():
            np.testing.assert_allclose(after[k], e, rtol=1e-4, atol=1e-5, err_msg=k)


def test_epsilon_greedy_by_its_definition():
    """With probability epsilon a uniform action, else argmax_a Q(s, a): replayed from a
    twin of the agent's generator; explore=False is the argmax."""
    env = GridWorld()
    agent = QLearningAgent(env.observation_space, env.action_space, seed=3, epsilon=0.3)
    explored = 0
    for t in range(200):
        s = t % 11
        twin = np.random.default_rng()
        twin.bit_generator.state = agent.rng.bit_generator.state
        explore = twin.random() < 0.3
        greedy = int(np.argmax(numpy_qnet(agent.qnet.state_dict(),
                                          agent.encode(s)[None])[2][0]))
        expected = int(twin.integers(4)) if explore else greedy
        explored += explore
        assert agent.act(s) == expected
        assert agent.act(s, explore=False) == greedy
    assert 30 < explored < 90


def test_terminal_step_does_not_bootstrap():
    env = GridWorld()
    agent = QLearningAgent(env.observation_space, env.action_space, seed=0, lr=0.5)
    for _ in range(200):  # regress Q((0,2), right) on the terminal target r = 1 alone
        agent.update(2, 3, 1.0, 3, True, False)
    assert abs(agent.q_values(2)[3] - 1.0) < 1e-3


def test_learns_q_star_on_gridworld():
    """Exploring starts (every cell can start an episode) so that every state is
    visited; 30k steps of the book's agent (preset "book": lr 0.01, gamma 0.9, epsilon 0.1).

    Greedy actions match Q* on every state whose optimal action is unique, and Q is
    within 0.4 of Q* everywhere (mean error below 0.15).
    """
    model = GridWorld()
    q_star = exact_q(model)
    env = gym.wrappers.TimeLimit(GridWorld(start_state=None), max_episode_steps=100)
    agent = minirl.train("qnet", env, 30000, seed=0, preset="book").agent
    errors = []
    for state, q in q_star.items():
        learned = agent.q_values(model.state_to_index(state))
        errors.append(np.abs(learned - q).max())
        best = np.flatnonzero(np.isclose(q, q.max(), atol=1e-9))
        if len(best) == 1:
            assert learned.argmax() == best[0], (state, learned, q)
    assert max(errors) < 0.4 and np.mean(errors) < 0.15, errors
