"""Chapter 9, proven exactly: simple PG, REINFORCE, baseline, Actor-Critic.

The centre is a tiny MDP (two decisions, two actions, stochastic transitions) whose 16
trajectories and their probabilities are enumerated. For each estimator the
probability-weighted sum of its per-trajectory gradients -- each computed by minirl's
engine from the very ``losses`` the agent learns from -- is compared with finite
differences of the exact expected return J(theta). Then: gradient isolation, the
formulas one by one, truncation, saving and resuming, and seeded learning on small envs.
"""
import gymnasium as gym
import numpy as np
import pytest

import minirl
from minirl.agents.common import bootstrapped_target as td_target
from minirl.agents.common import categorical_entropy as entropy
from minirl.agents.common import categorical_log_prob as log_prob
from minirl.agents.policy_gradient import (advantage, discounted_return, policy_loss,
                                           reward_to_go, value_loss)
from minirl.core import Variable, no_grad
from minirl.gradcheck import gradient_check, numerical_grad

NAMES = ["simple-pg", "reinforce", "reinforce-baseline", "actor-critic"]

# --- the tiny MDP ---------------------------------------------------------------------
# State 0 at t=0; states 1, 2 at t=1; states 3, 4 terminal. P[s, a, s'] and R[s, a, s'].
N_STATES, TERMINAL = 5, (3, 4)
P = np.zeros((N_STATES, 2, N_STATES))
R = np.zeros((N_STATES, 2, N_STATES))
P[0, 0, [1, 2]], R[0, 0, [1, 2]] = [0.8, 0.2], [1.0, 0.0]
P[0, 1, [1, 2]], R[0, 1, [1, 2]] = [0.3, 0.7], [0.5, 2.0]
P[1, 0, [3, 4]], R[1, 0, [3, 4]] = [0.5, 0.5], [2.0, -1.0]
P[1, 1, [3, 4]], R[1, 1, [3, 4]] = [0.9, 0.1], [0.0, 3.0]
P[2, 0, [3, 4]], R[2, 0, [3, 4]] = [0.1, 0.9], [1.0, 0.5]
P[2, 1, [3, 4]], R[2, 1, [3, 4]] = [0.6, 0.4], [-2.0, 4.0]


def enumerate_paths(s=0):
    """Every (states, actions, rewards, next_states, P(transitions)) from state s."""
    if s in TERMINAL:
        yield [], [], [], [], 1.0
        return
    for a in (0, 1):
        for s2 in np.flatnonzero(P[s, a]):
            for states, actions, rewards, nexts, p in enumerate_paths(int(s2)):
                yield ([s] + states, [a] + actions, [R[s, a, s2]] + rewards,
                       [int(s2)] + nexts, P[s, a, s2] * p)


PATHS = list(enumerate_paths())


def tiny_agent(name, hidden_layers=0, gamma=1.0, seed=0, **hparams):
    """An agent for the tiny MDP, its parameters in float64 so sums are exact to ~1e-12."""
    spaces = (gym.spaces.Discrete(N_STATES), gym.spaces.Discrete(2))
    agent = minirl.make_agent(name, spaces, seed=seed, gamma=gamma, hidden_size=6,
                              hidden_layers=hidden_layers, **hparams)
    for module in agent.modules().values():
        for p in module.parameters():
            p.data = p.data.astype(np.float64)
    return agent


def policy_table(agent):
    """pi(a|s) for every state, float64."""
    with no_grad():
        logits = agent.pi(agent.encode.batch(np.arange(N_STATES)).astype(np.float64)).data
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def trajectories(agent):
    """(probability under the agent's policy, path) for every trajectory."""
    pi = policy_table(agent)
    return [(p * np.prod(pi[states, actions]), (states, actions, rewards, nexts))
            for states, actions, rewards, nexts, p in PATHS]


def expected_return(agent, gamma):
    """J(theta) = sum_tau P(tau) sum_t gamma^t r_t, by enumeration."""
    return sum(prob * sum(gamma ** t * r for t, r in enumerate(rewards))
               for prob, (_, _, rewards, _) in trajectories(agent))


def true_values(agent, gamma):
    """V^pi(s) by backward induction (dynamic programming), V = 0 at terminal states."""
    pi, v = policy_table(agent), np.zeros(N_STATES)
    for s in (2, 1, 0):
        v[s] = sum(pi[s, a] * P[s, a] @ (R[s, a] + gamma * v) for a in (0, 1))
    return v


def set_critic(agent, values):
    """A linear critic on one-hot states holds V(s) exactly: W[s] = V(s), b = 0."""
    agent.v.l0.W.data[:, 0] = values
    agent.v.l0.b.data[:] = 0.0


def flat_grad(module):
    return np.concatenate([np.zeros(p.data.size) if p.grad is None else p.grad.ravel()
                           for p in module.parameters()])


def episode_arrays(agent, states, actions, rewards, nexts):
    x = agent.encode.batch(states).astype(np.float64)
    next_x = agent.encode.batch(nexts).astype(np.float64)
    terminated = np.array([s in TERMINAL for s in nexts])
    return x, np.array(actions), np.array(rewards), next_x, terminated


def gradient_estimates(agent, weights=None):
    """For every trajectory: (probability, g) with g = -grad of the agent's policy loss,
    the estimate of grad J from that one trajectory. ``weights(rewards)`` replaces the
    agent's Phi_t (to test a variant through the same ``policy_loss``)."""
    out = []
    for prob, (states, actions, rewards, nexts) in trajectories(agent):
        arrays = episode_arrays(agent, states, actions, rewards, nexts)
        if weights is None:
            loss = agent.losses(*arrays)["policy"]
        else:
            loss = policy_loss(log_prob(agent.pi(arrays[0]), arrays[1]), weights(rewards))
        agent.pi.zero_grad()
        loss.backward()
        out.append((prob, -flat_grad(agent.pi)))
    return out


def moments(estimates):
    """E[g] and the total variance E||g - E[g]||^2, exactly (a finite sum)."""
    probs = np.array([p for p, _ in estimates])
    grads = np.array([g for _, g in estimates])
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    mean = probs @ grads
    return mean, float(probs @ np.sum((grads - mean) ** 2, axis=1))


def grad_J(agent, gamma):
    """Central differences of the exact J(theta), parameter by parameter."""
    params = agent.pi.parameters()
    grads = numerical_grad(lambda *_: expected_return(agent, gamma), *[p.data for p in params])
    return np.concatenate([g.ravel() for g in grads])


def assert_same_gradient(estimate, exact):
    np.testing.assert_allclose(estimate, exact, rtol=1e-6, atol=1e-8)
    assert np.linalg.norm(exact) > 0.1  # a real, non-zero gradient was compared


# --- the exact tests --------------------------------------------------------------------
@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_enumeration_agrees_with_dynamic_programming(gamma):
    agent = tiny_agent("reinforce", hidden_layers=1, gamma=gamma)
    assert len(PATHS) == 16
    assert sum(prob for prob, _ in trajectories(agent)) == pytest.approx(1.0, abs=1e-12)
    assert expected_return(agent, gamma) == pytest.approx(true_values(agent, gamma)[0],
                                                           abs=1e-12)


@pytest.mark.parametrize("name", ["simple-pg", "reinforce"])
@pytest.mark.parametrize("hidden_layers", [0, 1])
def test_expected_estimate_is_the_gradient_of_J(name, hidden_layers):
    """sum_tau P(tau) g(tau) = grad J exactly (gamma = 1), for a tabular and an MLP policy."""
    agent = tiny_agent(name, hidden_layers=hidden_layers, seed=1)
    mean, _ = moments(gradient_estimates(agent))
    assert_same_gradient(mean, grad_J(agent, 1.0))


def test_simple_pg_is_exact_for_the_discounted_return():
    """E[G(tau) sum_t grad log pi] = grad E[G(tau)] holds for any gamma."""
    agent = tiny_agent("simple-pg", hidden_layers=1, gamma=0.9, seed=2)
    mean, _ = moments(gradient_estimates(agent))
    assert_same_gradient(mean, grad_J(agent, 0.9))


def test_reward_to_go_needs_gamma_to_the_t_when_discounting():
    """With gamma < 1, E[sum_t G_t grad log pi_t] (the book's REINFORCE) is not grad J_gamma;
    weighting step t by gamma^t G_t (Sutton & Barto eq. 13.8) makes it exact again."""
    gamma = 0.9
    agent = tiny_agent("reinforce", hidden_layers=1, gamma=gamma, seed=2)
    exact = grad_J(agent, gamma)
    book, _ = moments(gradient_estimates(agent))
    assert np.linalg.norm(book - exact) > 0.01 * np.linalg.norm(exact)
    corrected, _ = moments(gradient_estimates(
        agent, weights=lambda r: gamma ** np.arange(len(r)) * reward_to_go(r, gamma)))
    assert_same_gradient(corrected, exact)


def test_any_baseline_leaves_the_expectation_unchanged():
    """An arbitrary (untrained) V(s) as baseline: still exactly grad J."""
    agent = tiny_agent("reinforce-baseline", hidden_layers=1, seed=3)
    mean, _ = moments(gradient_estimates(agent))
    assert_same_gradient(mean, grad_J(agent, 1.0))


def test_baseline_lowers_the_variance_exactly():
    """Same policy; REINFORCE vs REINFORCE with b = V^pi: equal means, smaller variance.
    And each step of the chapter lowers it on this MDP: G(tau) -> G_t -> G_t - V^pi(s_t)
    -> the TD error with V^pi (docs/ch09.md quotes these numbers)."""
    agents = {name: tiny_agent(name, seed=4) for name in NAMES}
    for name in NAMES[1:]:
        np.testing.assert_array_equal(policy_table(agents[name]),
                                      policy_table(agents["simple-pg"]))
    for name in NAMES[2:]:
        set_critic(agents[name], true_values(agents[name], 1.0))
    results = {name: moments(gradient_estimates(agent)) for name, agent in agents.items()}
    mean_plain, var_plain = results["reinforce"]
    mean_base, var_base = results["reinforce-baseline"]
    assert_same_gradient(mean_base, mean_plain)
    assert var_base < var_plain
    variances = [results[name][1] for name in NAMES]
    assert variances == sorted(variances, reverse=True)


def test_actor_critic_is_exact_with_the_true_value_and_biased_without():
    """E[sum_t delta_t grad log pi_t] = grad J when V = V^pi, since
    E[r + V^pi(s') | s, a] - V^pi(s) = Q^pi(s, a) - V^pi(s); another V biases it."""
    agent = tiny_agent("actor-critic", seed=5)
    exact = grad_J(agent, 1.0)
    biased, _ = moments(gradient_estimates(agent))  # the critic as initialised
    assert np.linalg.norm(biased - exact) > 0.01 * np.linalg.norm(exact)
    set_critic(agent, true_values(agent, 1.0))
    mean, _ = moments(gradient_estimates(agent))
    assert_same_gradient(mean, exact)


# --- gradient isolation ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["reinforce-baseline", "actor-critic"])
def test_actor_loss_puts_no_gradient_on_the_critic_and_back(name):
    agent = tiny_agent(name, hidden_layers=1, seed=6)
    states, actions, rewards, nexts, _ = PATHS[5]
    losses = agent.losses(*episode_arrays(agent, states, actions, rewards, nexts))
    agent.pi.zero_grad(), agent.v.zero_grad()
    losses["policy"].backward()
    assert all(p.grad is None for p in agent.v.parameters())
    assert all(p.grad is not None for p in agent.pi.parameters())
    agent.pi.zero_grad()
    losses["value"].backward()
    assert all(p.grad is None for p in agent.pi.parameters())


def test_critic_target_puts_no_gradient_on_next_state_value():
    """L_V = (V(s) - y)^2 with y = r + gamma V(s') constant: with a one-hot critic only
    row s moves, by exactly 2 (V(s) - y); row s' gets nothing."""
    agent = tiny_agent("actor-critic", gamma=0.9, seed=7)
    set_critic(agent, np.array([0.0, 1.5, -0.5, 2.0, 0.0]))
    x, actions, rewards, next_x, _ = episode_arrays(agent, [1], [0], [2.0], [3])
    loss = agent.losses(x, actions, rewards, next_x, np.array([False]))["value"]
    agent.v.zero_grad()
    loss.backward()
    y = 2.0 + 0.9 * 2.0  # bootstrapped from V(s'=3): not terminal here
    expected = np.zeros(N_STATES)
    expected[1] = 2 * (1.5 - y)
    np.testing.assert_allclose(agent.v.l0.W.grad[:, 0], expected, rtol=1e-12)


def test_episode_update_takes_one_step_on_exactly_the_episode_loss():
    """update() at the end of an episode applies the gradient of losses() of that episode."""
    a, b = tiny_agent("reinforce-baseline", 1, seed=8), tiny_agent("reinforce-baseline", 1, seed=8)
    states, actions, rewards, nexts, _ = PATHS[11]
    arrays = episode_arrays(b, states, actions, rewards, nexts)
    for name, loss in b.losses(*arrays).items():
        loss.backward()
    for t in range(len(states)):
        a.update(states[t], actions[t], rewards[t], nexts[t], nexts[t] in TERMINAL, False)
    for module in ("pi", "v"):
        np.testing.assert_allclose(flat_grad(getattr(a, module)),
                                   flat_grad(getattr(b, module)), rtol=1e-6)
    assert not np.allclose(a.pi.l0.W.data, b.pi.l0.W.data)  # and it stepped


@pytest.mark.parametrize("name", ["simple-pg", "reinforce"])
def test_episodes_per_update_steps_once_on_the_mean_of_the_episode_losses(name):
    """With E = 2 the first episode takes no step; the second takes one on
    (1/2)(L_1 + L_2). By hand for the linear softmax policy on one-hot states:
    grad_W log pi(a|s) = onehot(s) (e_a - pi(.|s))^T, grad_b = e_a - pi(.|s), so
    grad L = -(1/E) sum_e sum_t Phi_t^e grad log pi(a_t^e|s_t^e)."""
    gamma = 0.9
    agent = tiny_agent(name, 0, gamma=gamma, seed=4, episodes_per_update=2)
    pi = policy_table(agent)
    W0 = agent.pi.l0.W.data.copy()
    episodes = [PATHS[3], PATHS[12]]
    grad_W, grad_b = np.zeros((N_STATES, 2)), np.zeros(2)
    for k, (states, actions, rewards, nexts, _) in enumerate(episodes):
        for t in range(len(states)):
            agent.update(states[t], actions[t], rewards[t], nexts[t], nexts[t] in TERMINAL,
                         False)
        if k == 0:  # one episode of two: remembered, not learned from
            np.testing.assert_array_equal(agent.pi.l0.W.data, W0)
            assert len(agent.episodes) == 1
        phi = (np.full(len(rewards), sum(gamma ** t * r for t, r in enumerate(rewards)))
               if name == "simple-pg" else
               [sum(gamma ** (k - t) * rewards[k] for k in range(t, len(rewards)))
                for t in range(len(rewards))])
        for t, (state, action) in enumerate(zip(states, actions)):
            score = np.eye(2)[action] - pi[state]
            grad_W[state] -= phi[t] * score / len(episodes)
            grad_b -= phi[t] * score / len(episodes)
    assert agent.episodes == [] and not np.array_equal(agent.pi.l0.W.data, W0)
    np.testing.assert_allclose(agent.pi.l0.W.grad, grad_W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(agent.pi.l0.b.grad, grad_b, rtol=1e-10, atol=1e-12)


def test_simple_pg_step_size_decays_linearly_to_zero_over_anneal_steps():
    """lr_t = lr (1 - t / anneal_steps), floored at 0, with t the environment steps seen
    when the episode's update runs (Identity episodes are 10 steps); at 0 nothing moves."""
    env = gym.make("minirl/Identity-v0")
    agent = minirl.make_agent("simple-pg", env, seed=0, lr=0.01, anneal_steps=25,
                              hidden_size=8)
    obs, _ = env.reset(seed=0)
    lrs, weights = [], []
    for _ in range(4):
        done = False
        while not done:
            action = agent.act(obs)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            agent.update(obs, action, reward, next_obs, terminated, truncated)
            obs, done = next_obs, terminated or truncated
        lrs.append(agent.optimizer.lr)
        weights.append(agent.pi.l0.W.data.copy())
        obs, _ = env.reset()
    np.testing.assert_allclose(lrs, [0.01 * (1 - 10 / 25), 0.01 * (1 - 20 / 25), 0.0, 0.0],
                               atol=1e-15)
    np.testing.assert_array_equal(weights[3], weights[2])  # lr 0: no step
    assert not np.array_equal(weights[1], weights[0])
    # The other episodic agents keep a constant step unless asked.
    assert minirl.make_agent("reinforce", env).hparams["anneal_steps"] is None


def test_simple_pg_weights_by_the_undiscounted_return_by_default():
    """gamma = 1: Phi_t = G(tau) = sum of the episode's rewards."""
    agent = minirl.make_agent("simple-pg", "CartPole-v1")
    assert agent.hparams["gamma"] == 1.0
    np.testing.assert_array_equal(agent.weights(np.ones(300)), np.full(300, 300.0))


def test_resume_with_episodes_waiting_for_their_update_continues_exactly(tmp_path):
    """Saved after 4 episodes of 10 steps and 5 more steps with E = 3: the 4th episode,
    not yet learned from, is saved with the unfinished one, and the resumed run is the
    run that never stopped."""
    from agent_checks import check_resume_ends_where_an_uninterrupted_run_does as check
    kwargs = dict(seed=3, hidden_size=8, lr=0.01, episodes_per_update=3)
    half = minirl.train("simple-pg", "minirl/Identity-v0", 45, plot=False, **kwargs)
    assert len(half.agent.episodes) == 1 and len(half.agent.memory_x) == 5
    check(tmp_path, "simple-pg", "minirl/Identity-v0", 125, 45, **kwargs)


def test_entropy_bonus_adds_minus_beta_grad_entropy_to_the_actor():
    """L_pi(beta) - L_pi(0) = -beta sum_t H(pi(.|s_t)), and so are their gradients."""
    beta = 0.5
    with_bonus = tiny_agent("actor-critic", seed=11, entropy_coef=beta)
    without = tiny_agent("actor-critic", seed=11)
    states, actions, rewards, nexts, _ = PATHS[6]
    grads = []
    for agent in (with_bonus, without):
        loss = agent.losses(*episode_arrays(agent, states, actions, rewards, nexts))["policy"]
        agent.pi.zero_grad()
        loss.backward()
        grads.append((loss.item(), flat_grad(agent.pi)))

    def total_entropy(*_):
        pi = policy_table(with_bonus)[states]
        return -np.sum(pi * np.log(pi))
    assert grads[0][0] - grads[1][0] == pytest.approx(-beta * total_entropy(), rel=1e-12)
    fd = numerical_grad(total_entropy, *[p.data for p in with_bonus.pi.parameters()])
    np.testing.assert_allclose(grads[0][1] - grads[1][1],
                               -beta * np.concatenate([g.ravel() for g in fd]), atol=1e-8)


# --- the formulas one by one ------------------------------------------------------------
def test_reward_to_go_against_the_double_sum():
    rng = np.random.default_rng(0)
    for gamma in (0.0, 0.5, 0.99, 1.0):
        r = rng.standard_normal(7)
        brute = [sum(gamma ** (k - t) * r[k] for k in range(t, 7)) for t in range(7)]
        np.testing.assert_allclose(reward_to_go(r, gamma), brute, rtol=1e-12, atol=1e-12)
        assert discounted_return(r, gamma) == pytest.approx(brute[0], rel=1e-12, abs=1e-12)
        # bootstrapping adds gamma^(T-t) V(s_T) to every G_t
        np.testing.assert_allclose(reward_to_go(r, gamma, bootstrap=3.0),
                                   np.array(brute) + 3.0 * gamma ** (7 - np.arange(7)),
                                   rtol=1e-12, atol=1e-12)
    assert reward_to_go([], 0.9).shape == (0,)


def test_td_target_bootstraps_on_truncation_only():
    r, v_next = np.array([1.0, 1.0], np.float32), np.array([5.0, 5.0], np.float32)
    np.testing.assert_allclose(td_target(r, v_next, np.array([True, False]), 0.9), [1.0, 5.5])
    np.testing.assert_allclose(advantage([3.0, 1.0], [1.0, 2.0]), [2.0, -1.0])


def test_log_prob_and_entropy_match_numpy_and_gradient_check():
    rng = np.random.default_rng(1)
    logits, actions = rng.standard_normal((4, 3)) * 3, np.array([0, 2, 1, 2])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(log_prob(Variable(logits), actions).data,
                               np.log(p[np.arange(4), actions]), rtol=1e-12)
    np.testing.assert_allclose(entropy(Variable(logits)).data, -(p * np.log(p)).sum(axis=1),
                               rtol=1e-12)
    gradient_check(lambda z: log_prob(z, actions), logits)
    gradient_check(entropy, logits)
    weights = rng.standard_normal(4)
    gradient_check(lambda z: policy_loss(log_prob(z, actions), weights), logits)
    gradient_check(lambda v: value_loss(v, weights), rng.standard_normal(4))
    # stable where log(softmax) would give -inf
    assert np.isfinite(log_prob(Variable(np.array([[0.0, 1000.0]])), [0]).data).all()


def test_policy_loss_refuses_weights_of_the_wrong_shape():
    with pytest.raises(ValueError, match="one weight per step"):
        policy_loss(Variable(np.zeros(3)), np.zeros((3, 1)))


# --- truncation ---------------------------------------------------------------------------
def test_baseline_bootstraps_a_truncated_episode_with_V_and_not_a_terminated_one():
    agent = tiny_agent("reinforce-baseline", gamma=0.9, seed=9)
    set_critic(agent, np.array([0.0, 1.5, -0.5, 2.0, 4.0]))
    rewards = np.array([1.0, 2.0])
    next_x = agent.encode.batch([1, 4]).astype(np.float64)
    np.testing.assert_allclose(agent.returns(rewards, next_x, np.array([False, False])),
                               [1.0 + 0.9 * 2.0 + 0.81 * 4.0, 2.0 + 0.9 * 4.0])
    np.testing.assert_allclose(agent.returns(rewards, next_x, np.array([False, True])),
                               [1.0 + 0.9 * 2.0, 2.0])
    # and through update(): a one-step episode cut by a time limit vs one that ended
    cut = agent.update(1, 0, 2.0, 4, terminated=False, truncated=True)
    assert cut["value_loss"] == pytest.approx((1.5 - (2.0 + 0.9 * 4.0)) ** 2)
    set_critic(agent, np.array([0.0, 1.5, -0.5, 2.0, 4.0]))
    end = agent.update(1, 0, 2.0, 4, terminated=True, truncated=False)
    assert end["value_loss"] == pytest.approx((1.5 - 2.0) ** 2)
    # REINFORCE has no V: a cut episode's G_t is what was observed
    np.testing.assert_allclose(tiny_agent("reinforce", gamma=0.9).weights(rewards),
                               [2.8, 2.0])


def test_actor_critic_update_bootstraps_on_truncation():
    agent = tiny_agent("actor-critic", gamma=0.9, seed=10)
    set_critic(agent, np.array([0.0, 1.5, -0.5, 2.0, 4.0]))
    cut = agent.update(1, 0, 2.0, 4, terminated=False, truncated=True)
    assert cut["value_loss"] == pytest.approx((1.5 - (2.0 + 0.9 * 4.0)) ** 2)
    set_critic(agent, np.array([0.0, 1.5, -0.5, 2.0, 4.0]))
    end = agent.update(1, 0, 2.0, 4, terminated=True, truncated=False)
    assert end["value_loss"] == pytest.approx((1.5 - 2.0) ** 2)


def test_actor_critic_policy_loss_is_minus_delta_log_pi_by_hand():
    """Through update(): L_pi = -delta log pi(a|s) with delta = r + gamma V(s') - V(s)
    (the TD error, not the target alone), and delta = r - V(s) after termination."""
    values = np.array([0.7, -1.0, -0.5, 2.0, 4.0])
    for next_state, terminated, delta in ((2, False, 2.0 + 0.9 * -0.5 + 1.0),
                                          (3, True, 2.0 + 1.0)):
        agent = tiny_agent("actor-critic", gamma=0.9, seed=12)
        set_critic(agent, values)
        pi = policy_table(agent)
        out = agent.update(1, 0, 2.0, next_state, terminated=terminated, truncated=False)
        assert out["policy_loss"] == pytest.approx(-delta * np.log(pi[1, 0]), rel=1e-10)


class FixedUniform:
    """Stands in for the agent's generator: ``random`` returns the given u."""

    def __init__(self, u):
        self.u = float(u)

    def random(self, size=None):
        return self.u if size is None else np.full(size, self.u)


@pytest.mark.parametrize("name", ["simple-pg", "actor-critic"])
def test_act_samples_pi_by_inverting_its_cdf(name):
    """a = the first action whose cumulative probability exceeds u: u just below
    pi(0|s) gives action 0, u just above gives action 1; explore=False is the argmax."""
    agent = tiny_agent(name, seed=3)
    for p in agent.pi.parameters():  # a policy far from uniform
        p.data = np.random.default_rng(4).normal(scale=1.5, size=p.shape)
    pi = policy_table(agent)
    for s in range(3):
        for u, expected in ((0.98 * pi[s, 0], 0), (pi[s, 0] + 0.02 * pi[s, 1], 1)):
            agent.rng = FixedUniform(u)
            assert agent.act(s) == expected, (s, u, pi[s])
        assert agent.act(s, explore=False) == int(np.argmax(pi[s]))
    assert np.abs(pi[:3, 0] - 0.5).max() > 0.2


def test_baseline_policy_loss_is_minus_advantage_log_pi_by_hand():
    """Through update() at the episode's end: L_pi = -sum_t (G_t - V(s_t)) log pi(a_t|s_t)."""
    agent = tiny_agent("reinforce-baseline", gamma=0.9, seed=13)
    values = np.array([0.7, -1.0, -0.5, 2.0, 4.0])
    set_critic(agent, values)
    pi = policy_table(agent)
    # s_0 = 0 --a=1, r=0.5--> s_1 = 2 --a=0, r=1.0--> 3 (terminal)
    assert agent.update(0, 1, 0.5, 2, terminated=False, truncated=False) is None
    out = agent.update(2, 0, 1.0, 3, terminated=True, truncated=False)
    G = np.array([0.5 + 0.9 * 1.0, 1.0])
    advantage_ = G - values[[0, 2]]
    expected = -(advantage_[0] * np.log(pi[0, 1]) + advantage_[1] * np.log(pi[2, 0]))
    assert out["policy_loss"] == pytest.approx(expected, rel=1e-10)
    assert out["value_loss"] == pytest.approx(np.mean((values[[0, 2]] - G) ** 2), rel=1e-10)


# --- construction, saving, resuming --------------------------------------------------------
def test_book_preset_and_errors():
    agent = minirl.make_agent("actor-critic", "CartPole-v1", preset="book")
    assert agent.pi.sizes == (4, 128, 2) and agent.v.sizes == (4, 128, 1)
    assert (agent.hparams["gamma"], agent.hparams["lr"], agent.hparams["value_lr"]) == \
        (0.98, 2e-4, 5e-4)
    assert minirl.make_agent("simple-pg", "CartPole-v1", preset="book").hparams["lr"] == 2e-4
    with pytest.raises(ValueError, match="Discrete action space"):
        minirl.make_agent("reinforce", "Pendulum-v1")
    with pytest.raises(ValueError, match="hidden_layers"):
        minirl.make_agent("reinforce", "CartPole-v1", hidden_layers=-1)
    with pytest.raises(ValueError, match="entropy_coef"):
        minirl.make_agent("actor-critic", "CartPole-v1", entropy_coef=-0.1)
    with pytest.raises(ValueError, match="value_lr"):
        minirl.make_agent("reinforce", "CartPole-v1", value_lr=1e-3)  # it has no critic


@pytest.mark.parametrize("name", NAMES)
def test_resume_mid_episode_continues_exactly(name, tmp_path):
    """Stopped inside an episode (Identity episodes are 10 steps), saved, resumed: the
    same metrics and parameters as a run that never stopped."""
    from agent_checks import check_resume_ends_where_an_uninterrupted_run_does as check
    straight, _ = check(tmp_path, name, "minirl/Identity-v0", 95, 45, seed=3,
                        hidden_size=8, lr=0.01)
    assert len(straight.agent.memory_x) == (0 if name == "actor-critic" else 5)


def test_saved_agent_acts_the_same(tmp_path):
    agent = minirl.train("reinforce-baseline", "CartPole-v1", 300, seed=1, plot=False).agent
    agent.save(tmp_path / "a.npz")
    loaded = minirl.load_agent(tmp_path / "a.npz")
    obs = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
    assert [agent.act(o, explore=False) for o in obs] == [loaded.act(o, explore=False)
                                                         for o in obs]
    assert agent.value(obs[0]) == loaded.value(obs[0])


# --- learning -----------------------------------------------------------------------------
def greedy_probs(agent, states):
    return np.array([agent.action_probs(s) for s in states])


@pytest.mark.parametrize("name", NAMES)
def test_learns_the_best_bandit_arm(name):
    result = minirl.train(name, "minirl/Bandit-v0", 300, seed=0, hidden_size=16, lr=0.05,
                          gamma=0.9, plot=False,
                          **({"value_lr": 0.05} if name in NAMES[2:] else {}))
    p = result.agent.action_probs(np.zeros(1, np.float32))
    assert np.argmax(p) == 2 and p[2] > 0.9  # means (0.1, 0.5, 0.9, 0.3)


@pytest.mark.parametrize("name", NAMES)
def test_learns_the_identity(name):
    env = gym.make("minirl/Identity-v0", episode_length=2)
    result = minirl.train(name, env, 1000, seed=0, hidden_size=16, lr=0.01, gamma=1.0,
                          plot=False, **({"value_lr": 0.01} if name in NAMES[2:] else {}))
    p = greedy_probs(result.agent, range(4))
    assert np.all(np.argmax(p, axis=1) == np.arange(4)) and np.diag(p).min() > 0.7


@pytest.mark.parametrize("name", NAMES)
def test_carries_the_reward_down_the_chain(name):
    result = minirl.train(name, "minirl/Chain-v0", 300, seed=0, hidden_size=16, lr=0.02,
                          gamma=0.9, plot=False,
                          **({"value_lr": 0.02} if name in NAMES[2:] else {}))
    p = greedy_probs(result.agent, range(3))  # states 0, 1, 2 before the goal 3
    assert p[:, 1].min() > 0.9
    if name in NAMES[2:]:  # the critic learned V(0) = gamma^2 of the optimal policy
        assert result.agent.value(0) == pytest.approx(0.81, abs=0.15)


def test_same_seed_same_run():
    runs = [minirl.train("actor-critic", "minirl/Chain-v0", 200, seed=4, hidden_size=8,
                         plot=False) for _ in range(2)]
    assert runs[0].records == runs[1].records
    np.testing.assert_array_equal(runs[0].agent.pi.l1.W.data, runs[1].agent.pi.l1.W.data)
