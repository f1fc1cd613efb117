"""Chapter 10: the DQN improvements, each checked alone, and Rainbow as their sum.

- C51's projection against hand-computed cases (atoms exactly on support points,
  outside the bounds, terminal transitions), against the paper's Eq. 7 written as a
  brute-force double sum, and with hypothesis: mass 1, and the projected mean equals
  the Bellman mean when nothing is clipped; the cross-entropy and its gradient p - m;
- the dueling aggregation, per sample;
- NoisyLinear: gradients of mu and sigma by finite differences, factorised noise,
  a deterministic mean path for evaluation;
- n-step transitions in the agent against a brute-force sum across episode ends
  with termination and truncation;
- the agent's categorical and dueling losses against a NumPy re-computation;
- Rainbow's loss recomputed in NumPy, with a known noise draw: the composition;
- seeded learning tests on a small chain for dueling-dqn, noisy-dqn, c51, rainbow.
"""
import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minirl
import minirl.layers as L
from minirl.agents.dqn import (DQNAgent, QNet, ReturnScale, categorical_cross_entropy,
                               dueling_aggregate, fit_support,
                               project_distribution, start_at_atom)
from minirl.core import Variable, no_grad
from minirl.gradcheck import gradient_check, numerical_grad
from minirl.replay import PrioritizedReplayBuffer

from test_dqn import SMALL, check_learns_the_chain, feed, record_batches, same_params

# ---------------------------------------------------------------------------
# C51: the projection onto the support
# ---------------------------------------------------------------------------

SUPPORT = np.arange(5, dtype=np.float64)  # z = 0, 1, 2, 3, 4; dz = 1


def project_one(p, r, gamma, terminated=0.0, support=SUPPORT):
    return project_distribution(np.asarray([p], np.float64), np.array([r]),
                                np.array([terminated]), gamma, support)[0]


def test_projection_by_hand():
    one_hot_1 = [0, 1, 0, 0, 0]
    # T z = 1 + 1 = 2 lands exactly on a support point: all of it stays there.
    np.testing.assert_allclose(project_one(one_hot_1, 1.0, 1.0), [0, 0, 1, 0, 0])
    # T z = 1.5: halfway, split evenly between z = 1 and z = 2.
    np.testing.assert_allclose(project_one(one_hot_1, 0.5, 1.0), [0, 0.5, 0.5, 0, 0])
    # T z = 1.25: a quarter of the way, 3/4 to z = 1 and 1/4 to z = 2.
    np.testing.assert_allclose(project_one(one_hot_1, 0.25, 1.0), [0, 0.75, 0.25, 0, 0])
    # Past the bounds: clamped to v_max = 4 and to v_min = 0.
    np.testing.assert_allclose(project_one([0, 0, 0, 0, 1], 1.0, 1.0), [0, 0, 0, 0, 1])
    np.testing.assert_allclose(project_one(one_hot_1, -10.0, 1.0), [1, 0, 0, 0, 0])
    np.testing.assert_allclose(project_one([0, 0, 0, 0.5, 0.5], 2.0, 1.0), [0, 0, 0, 0, 1])
    # Terminal: every atom goes to r = 2.3, whatever p was: 0.7 to z = 2, 0.3 to z = 3.
    np.testing.assert_allclose(project_one([0.2] * 5, 2.3, 0.9, terminated=1.0),
                               [0, 0, 0.7, 0.3, 0])
    # gamma = 0.5 shrinks a uniform p onto T z = 0, .5, 1, 1.5, 2:
    #   z=0 gets 0.2 + 0.1, z=1 gets 0.1 + 0.2 + 0.1, z=2 gets 0.1 + 0.2.
    np.testing.assert_allclose(project_one([0.2] * 5, 0.0, 0.5), [0.3, 0.4, 0.3, 0, 0])


def projection_eq7(p, r, gamma_n, terminated, support):
    """Bellemare et al. 2017, Eq. 7, as written:
    (Phi T Z)_i = sum_j [1 - |[T z_j]_{v_min}^{v_max} - z_i| / dz]_0^1 p_j."""
    dz = support[1] - support[0]
    m = np.zeros_like(p)
    for b in range(len(p)):
        for j in range(len(support)):
            tz = np.clip(r[b] + gamma_n[b] * (1 - terminated[b]) * support[j],
                         support[0], support[-1])
            for i in range(len(support)):
                m[b, i] += np.clip(1 - abs(tz - support[i]) / dz, 0, 1) * p[b, j]
    return m


def test_projection_matches_equation_7_brute_force():
    rng = np.random.default_rng(0)
    support = np.linspace(-3.0, 5.0, 9)
    p = rng.dirichlet(np.ones(9), size=40)
    r = rng.uniform(-4, 6, 40).round(1)  # rounding puts many atoms exactly on z_i
    gamma_n = rng.choice([1.0, 0.9, 0.81], 40)
    terminated = (rng.random(40) < 0.2).astype(np.float64)
    np.testing.assert_allclose(project_distribution(p, r, terminated, gamma_n, support),
                               projection_eq7(p, r, gamma_n, terminated, support), atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(n_atoms=st.integers(2, 21), seed=st.integers(0, 10_000),
       gamma=st.floats(0.0, 1.0), reward=st.floats(-20, 20), terminated=st.booleans())
def test_projection_keeps_mass_and_mean(n_atoms, seed, gamma, reward, terminated):
    rng = np.random.default_rng(seed)
    support = np.linspace(-10.0, 10.0, n_atoms)
    p = rng.dirichlet(np.ones(n_atoms))
    m = project_one(p, reward, gamma, float(terminated), support)
    assert np.all(m >= 0)
    assert np.isclose(m.sum(), 1.0)
    tz = reward + gamma * (1 - terminated) * support
    clamped = np.clip(tz, -10, 10)
    # The projection splits each atom between its neighbours so that its mean is kept:
    # the projected mean is the mean of the clamped Bellman update, always; and when
    # nothing is clamped, it is the Bellman mean r + gamma * E[Z].
    assert np.isclose(m @ support, p @ clamped, atol=1e-9)
    if np.all(tz == clamped):
        assert np.isclose(m @ support, reward + gamma * (1 - terminated) * (p @ support),
                          atol=1e-9)


def test_categorical_cross_entropy_and_its_gradient():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((3, 5))
    m = rng.dirichlet(np.ones(5), size=3)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(categorical_cross_entropy(logits, m).data,
                               -(m * log_p).sum(axis=1))
    x = Variable(logits)
    categorical_cross_entropy(x, m).sum().backward()
    np.testing.assert_allclose(x.grad, np.exp(log_p) - m, atol=1e-12)  # p - m
    gradient_check(lambda v: categorical_cross_entropy(v, m), logits)


# ---------------------------------------------------------------------------
# Dueling
# ---------------------------------------------------------------------------

def test_dueling_aggregate_takes_the_mean_per_sample():
    value = np.array([[1.0], [10.0]])
    advantage = np.array([[1.0, 2.0, 6.0], [0.0, -3.0, 0.0]])
    # Sample 0: mean A = 3 -> 1 + A - 3; sample 1: mean A = -1 -> 10 + A + 1.
    np.testing.assert_allclose(dueling_aggregate(value, advantage).data,
                               [[-1.0, 0.0, 4.0], [11.0, 8.0, 11.0]])
    # With atoms (C51): the mean is over actions, per sample and per atom.
    rng = np.random.default_rng(0)
    v, a = rng.standard_normal((4, 1, 7)), rng.standard_normal((4, 3, 7))
    expected = np.stack([v[i] + a[i] - a[i].mean(axis=0) for i in range(4)])
    np.testing.assert_allclose(dueling_aggregate(v, a).data, expected)
    gradient_check(dueling_aggregate, v, a)


# ---------------------------------------------------------------------------
# Noisy nets
# ---------------------------------------------------------------------------

def test_noisy_linear_gradients_of_mu_and_sigma():
    rng = np.random.default_rng(0)
    layer = L.NoisyLinear(4, 3, dtype=np.float64, rng=rng)
    layer.b_sigma.data += rng.standard_normal(3)  # not all equal
    x = rng.standard_normal((5, 4))
    r = rng.standard_normal((5, 3))
    params = layer.parameters()
    assert [p.name for p in params] == ["W_mu", "W_sigma", "b_mu", "b_sigma"]
    (layer(x) * r).sum().backward()
    # Finite differences on the layer's own parameter arrays, perturbed in place.
    numeric = numerical_grad(lambda *_: np.sum(layer(x).data * r), *[p.data for p in params])
    for p, g in zip(params, numeric):
        np.testing.assert_allclose(p.grad, g, rtol=1e-6, atol=1e-8, err_msg=p.name)
    gradient_check(lambda v: layer(v), x)  # and the input


def test_noisy_agent_explores_by_noise_and_evaluates_deterministically():
    # The preset: a burst of epsilon from 1 to 0 over 8000 steps, then the noise alone.
    preset = minirl.make_agent("noisy-dqn", "CartPole-v1", seed=0, hidden_sizes=(32,))
    h = preset.hparams
    assert (h["epsilon_start"], h["epsilon_end"], h["exploration_steps"]) == (1.0, 0.0, 8000)
    # An epsilon chosen explicitly is kept; with 0 the noise is all that explores.
    agent = minirl.make_agent("noisy-dqn", "CartPole-v1", seed=0, hidden_sizes=(32,),
                              epsilon_start=0.0)
    assert agent.hparams["epsilon_start"] == 0.0 and agent.epsilon == 0.0
    obs = np.random.default_rng(1).standard_normal((40, 4)).astype(np.float32)
    greedy = [agent.act(o, explore=False) for o in obs]
    assert greedy == [agent.act(o, explore=False) for o in obs]
    assert greedy == [int(np.argmax(agent.q_values(o))) for o in obs]
    explored = [[agent.act(o) for o in obs] for _ in range(5)]
    assert any(e != greedy for e in explored)  # fresh noise changes some actions


# ---------------------------------------------------------------------------
# n-step returns in the agent
# ---------------------------------------------------------------------------

def brute_force_n_step(stream, n, gamma):
    """For each step t: G = sum of up to n rewards that stay in t's episode, then the
    observation reached, whether it is terminal, and how many rewards were summed."""
    out = []
    for t, (obs, action, _, _, _, _) in enumerate(stream):
        g, k = 0.0, 0
        while True:
            _, _, reward, next_obs, terminated, truncated = stream[t + k]
            g += gamma ** k * reward
            k += 1
            if terminated or truncated or k == n:
                out.append((obs, action, g, next_obs, terminated, k))
                break
            if t + k == len(stream):
                return out  # the last steps have not completed yet
    return out


def test_agent_stores_n_step_transitions_across_episode_ends():
    rng = np.random.default_rng(0)
    agent = minirl.make_agent("dqn", "minirl/Chain-v0", n_step=3, gamma=0.9,
                              **{**SMALL, "learning_starts": 10_000})
    stream, state = [], 0
    for t in range(60):
        action, reward = int(rng.integers(2)), float(rng.normal())
        terminated, truncated = bool(rng.random() < 0.1), bool(rng.random() < 0.1)
        next_state = int(rng.integers(4))
        stream.append((state, action, reward, next_state, terminated, truncated))
        agent.update(*stream[-1])
        state = int(rng.integers(4)) if terminated or truncated else next_state
    expected = brute_force_n_step(stream, 3, 0.9)
    assert any(e[5] < 3 and not e[4] for e in expected)  # a truncated short one
    assert any(e[5] < 3 and e[4] for e in expected)      # a terminated short one
    r = agent.replay
    assert len(r) == len(expected)
    one_hot = np.eye(4, dtype=np.float32)
    for i, (obs, action, g, next_obs, terminated, steps) in enumerate(expected):
        np.testing.assert_array_equal(r.obs[i], one_hot[obs])
        np.testing.assert_array_equal(r.next_obs[i], one_hot[next_obs])
        assert (r.action[i], r.terminated[i], r.steps[i]) == (action, terminated, steps)
        assert np.isclose(r.reward[i], g, rtol=1e-6)


def test_agent_discounts_each_n_step_bootstrap_by_gamma_to_its_own_steps():
    """y = G + gamma^steps (1 - terminated) max_a' Q^-(s_{t+steps}, a'): a transition cut
    short by a time limit (steps < n, not terminal) bootstraps with gamma^steps, not
    gamma^n; the loss the agent reports is recomputed in NumPy."""
    from test_dqn import numpy_q, spread_apart
    rng = np.random.default_rng(0)
    agent = minirl.make_agent("dqn", "minirl/Chain-v0", n_step=3, gamma=0.9, loss="mse",
                              **{**SMALL, "learning_starts": 10_000, "batch_size": 64})
    state = 0
    for t in range(60):
        truncated = bool(rng.random() < 0.15)
        next_state = int(rng.integers(4))
        agent.update(state, int(rng.integers(2)), float(rng.normal()), next_state,
                     False, truncated)
        state = int(rng.integers(4)) if truncated else next_state
    spread_apart(agent)
    online = {k: v.astype(np.float64) for k, v in agent.qnet.state_dict().items()}
    target = {k: v.astype(np.float64) for k, v in agent.target_qnet.state_dict().items()}
    batches = record_batches(agent)
    result = agent.learn()
    b = batches[0]
    assert np.any((b.steps < 3) & (b.terminated == 0)) and np.any(b.steps == 3)
    q = numpy_q(online, b.obs, 1)[np.arange(len(b.action)), b.action]
    y = b.reward + 0.9 ** b.steps * numpy_q(target, b.next_obs, 1).max(axis=1)
    np.testing.assert_allclose(result["loss"], np.mean((q - y) ** 2), rtol=1e-5)


# ---------------------------------------------------------------------------
# The agent's losses, recomputed in NumPy
# ---------------------------------------------------------------------------

def numpy_net(w, x, dueling=False, n_atoms=1, n_actions=2):
    """QNet with one hidden layer, from its state_dict, in float64."""
    h = np.maximum(np.asarray(x, np.float64) @ w["l0.W"] + w["l0.b"], 0)
    if dueling:
        v = (h @ w["value.W"] + w["value.b"]).reshape(len(x), 1, n_atoms)
        a = (h @ w["advantage.W"] + w["advantage.b"]).reshape(len(x), n_actions, n_atoms)
        out = v + a - a.mean(axis=1, keepdims=True)
    else:
        out = (h @ w["head.W"] + w["head.b"]).reshape(len(x), n_actions, n_atoms)
    return out if n_atoms > 1 else out[..., 0]


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def prepare(name, **hparams):
    env = gym.make("minirl/Chain-v0", length=8)  # long enough for unfinished n-step runs
    agent = minirl.make_agent(name, env, seed=0, **{**SMALL, "learning_starts": 10_000,
                                                    "batch_size": 32, "gamma": 0.9,
                                                    **hparams})
    feed(agent, env, 200)
    if agent.hparams["prioritized"]:
        agent.replay.update_priorities(np.arange(len(agent.replay)),
                                       np.linspace(0, 2, len(agent.replay)))
    rng = np.random.default_rng(1)
    for p in agent.target_qnet.parameters():  # online and target disagree
        p.data = rng.standard_normal(p.shape).astype(np.float32)
    weights = [{k: v.astype(np.float64) for k, v in net.state_dict().items()}
               for net in (agent.qnet, agent.target_qnet)]
    return agent, weights, record_batches(agent)


@pytest.mark.parametrize("double, prioritized, n_step", [(False, False, 1), (True, True, 3)])
def test_categorical_loss_matches_numpy(double, prioritized, n_step):
    support = np.linspace(-2.0, 3.0, 11)
    agent, (online, target), batches = prepare(
        "c51", double=double, prioritized=prioritized, n_step=n_step, n_atoms=11,
        v_min=-2.0, v_max=3.0)
    result = agent.learn()
    b = batches[0]
    rows = np.arange(len(b.action))
    logits = numpy_net(online, b.obs, n_atoms=11)[rows, b.action]
    next_p = softmax(numpy_net(target, b.next_obs, n_atoms=11))
    chooser = softmax(numpy_net(online, b.next_obs, n_atoms=11)) if double else next_p
    best = (chooser @ support).argmax(axis=1)
    if double:
        assert not np.array_equal(best, (next_p @ support).argmax(axis=1))
    gamma_n = 0.9 ** b.steps
    if n_step > 1:  # some rows bootstrap after several steps
        assert np.any((b.steps > 1) & (b.terminated == 0))
    m = projection_eq7(next_p[rows, best], b.reward, gamma_n, b.terminated, support)
    log_p = np.log(softmax(logits))
    per_sample = -(m * log_p).sum(axis=1)
    w = b.weights if prioritized else 1.0
    np.testing.assert_allclose(result["loss"], np.mean(w * per_sample), rtol=1e-4)
    if prioritized:  # priority = the cross-entropy (Hessel et al. 2018)
        leaves = agent.replay.sum_tree[b.indices] ** (1 / agent.replay.alpha)
        # atol: a row whose p is the starting point mass has a cross-entropy near 5e-4,
        # where float32's log_softmax is good to about 1e-7
        np.testing.assert_allclose(leaves, per_sample + agent.replay.eps, rtol=1e-4,
                                   atol=1e-6)


def test_dueling_n_step_loss_matches_numpy():
    agent, (online, target), batches = prepare("dueling-dqn", loss="mse", n_step=3)
    result = agent.learn()
    b = batches[0]
    assert np.any((b.steps > 1) & (b.terminated == 0))
    q = numpy_net(online, b.obs, dueling=True)[np.arange(len(b.action)), b.action]
    # The n-step target: G + gamma^steps (1 - terminated) max_a' Q_target(s_{t+steps}, a')
    y = b.reward + 0.9 ** b.steps * (1 - b.terminated) * numpy_net(
        target, b.next_obs, dueling=True).max(axis=1)
    np.testing.assert_allclose(result["loss"], np.mean((q - y) ** 2), rtol=1e-4)


# ---------------------------------------------------------------------------
# Rainbow is the composition
# ---------------------------------------------------------------------------

def numpy_rainbow_net(net, x, noise, n_actions=2, n_atoms=11):
    """The noisy dueling C51 QNet with one hidden layer, in float64, with the noise
    ``noise[layer] = (f(eps_in), f(eps_out))`` of each NoisyLinear (Eq. 9 of Fortunato
    et al.; Eq. 9 of Wang et al. per atom)."""
    def noisy(layer, h):
        f_in, f_out = noise[id(layer)]
        W = layer.W_mu.data.astype(np.float64) + layer.W_sigma.data * np.outer(f_in, f_out)
        b = layer.b_mu.data.astype(np.float64) + layer.b_sigma.data * f_out
        return h @ W + b
    h = np.maximum(noisy(net.l0, np.asarray(x, np.float64)), 0)
    v = noisy(net.value, h).reshape(len(x), 1, n_atoms)
    a = noisy(net.advantage, h).reshape(len(x), n_actions, n_atoms)
    return v + a - a.mean(axis=1, keepdims=True)


def test_rainbow_is_the_composition_recomputed_in_numpy():
    """Rainbow's loss: noisy dueling logits, the online net choosing a' at s' (double),
    the target net's distribution there projected with gamma^steps (n-step, C51), the
    cross-entropy weighted by the IS weights (PER), and the cross-entropy as priority."""
    from test_noisy_exact import plant_noise
    agent, _, batches = prepare("rainbow", n_atoms=11, v_min=-2.0, v_max=3.0)
    h = agent.hparams
    assert all(h[k] for k in ("double", "prioritized", "dueling", "noisy", "categorical"))
    assert h["n_step"] == 3
    assert isinstance(agent.replay, PrioritizedReplayBuffer)
    assert all(isinstance(m, L.NoisyLinear) for m in agent.qnet.layers)
    noise = {}
    for net, shift in ((agent.qnet, 0), (agent.target_qnet, 3)):
        for layer, eps in zip(net.noisy_layers, plant_noise(net, shift)):
            noise[id(layer)] = eps
    online = {k: v.copy() for k, v in agent.qnet.state_dict().items()}
    result = agent.learn()
    agent.qnet.load_state_dict(online)  # the parameters the loss was computed with
    b = batches[0]
    rows = np.arange(len(b.action))
    support = np.linspace(-2.0, 3.0, 11)
    logits = numpy_rainbow_net(agent.qnet, b.obs, noise)[rows, b.action]
    next_p = softmax(numpy_rainbow_net(agent.target_qnet, b.next_obs, noise))
    best = (softmax(numpy_rainbow_net(agent.qnet, b.next_obs, noise)) @ support).argmax(axis=1)
    assert not np.array_equal(best, (next_p @ support).argmax(axis=1))  # double matters
    assert np.any((b.steps > 1) & (b.terminated == 0))                   # so does n-step
    m = projection_eq7(next_p[rows, best], b.reward, 0.9 ** b.steps, b.terminated, support)
    per_sample = -(m * np.log(softmax(logits))).sum(axis=1)
    assert b.weights.min() < 1.0
    np.testing.assert_allclose(result["loss"], np.mean(b.weights * per_sample), rtol=1e-4)
    leaves = agent.replay.sum_tree[b.indices] ** (1 / agent.replay.alpha)
    np.testing.assert_allclose(leaves, per_sample + agent.replay.eps, rtol=1e-4,
                               atol=1e-6)  # as in test_categorical_loss_matches_numpy


def test_rainbow_resume_continues_exactly(tmp_path):
    from agent_checks import check_resume_ends_where_an_uninterrupted_run_does as check
    check(tmp_path, "rainbow", "minirl/Chain-v0", 300, 131, seed=4, **SMALL)


# ---------------------------------------------------------------------------
# Learning
# ---------------------------------------------------------------------------

C51 = dict(n_atoms=11, v_min=-1.0, v_max=2.0)


@pytest.mark.parametrize("name, hparams", [
    ("dueling-dqn", {}),
    ("noisy-dqn", {"epsilon_start": 0.0, "epsilon_end": 0.0}),  # the noise explores
    ("c51", C51),
    ("rainbow", {**C51, "n_step": 3, "lowest": 0.6}),
])
def test_learns_the_chain(name, hparams):
    check_learns_the_chain(name, **hparams)


@pytest.mark.parametrize("dueling, n_atoms, noisy", [(False, 1, False), (True, 1, False),
                                                      (False, 5, False), (True, 5, True)])
def test_qnet_on_one_observation_is_the_row_of_a_batch(dueling, n_atoms, noisy):
    """One observation (in,) gives exactly the batch's row, without the batch axis; the
    agent acts on it (q_values), with or without a graph."""
    net = QNet(3, 4, (6,), dueling=dueling, noisy=noisy, n_atoms=n_atoms,
               rng=np.random.default_rng(1))
    net.remove_noise()
    obs = np.random.default_rng(2).standard_normal((2, 3)).astype(np.float32)
    batch = net(obs).data
    for i in range(2):
        one = net(obs[i]).data
        assert one.shape == batch.shape[1:]
        np.testing.assert_allclose(one, batch[i], rtol=1e-6, atol=1e-6)
        with no_grad():
            np.testing.assert_allclose(net(obs[i]).data, batch[i], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["dqn", "dueling-dqn", "c51", "rainbow"])
def test_agent_q_values_of_one_observation_are_its_batch_row(name):
    """DQNAgent.q_values passes the observation as a vector: the same Q(s, .) as the
    batch of one the target computations use."""
    env = gym.make("CartPole-v1")
    agent = minirl.make_agent(name, env, seed=0, hidden_sizes=(8,))
    obs = np.array([0.01, -0.2, 0.03, 0.1], np.float32)
    agent.qnet.remove_noise()
    expected = agent._q(agent.qnet, obs[None])[0]
    np.testing.assert_allclose(agent.q_values(obs), expected, rtol=1e-6, atol=1e-6)
    assert agent.q_values(obs).shape == (2,)
    assert agent.act(obs, explore=False) == int(expected.argmax())


@pytest.mark.parametrize("name, hparams, zero_atom", [
    ("c51", {"v_min": -100.0, "v_max": 100.0}, 25),     # 51 atoms: z_25 = 0
    ("rainbow", {"v_min": -100.0, "v_max": 100.0}, 25),  # dueling, noisy
    ("c51", {"v_min": -2.0, "v_max": 3.0, "n_atoms": 11}, 4),   # z_4 = 0
    ("c51", {"v_min": 1.0, "v_max": 5.0, "n_atoms": 5}, 0),     # no 0: the nearest, z_0 = 1
    ("rainbow", {"v_min": -10.0, "v_max": -1.0, "n_atoms": 10}, 9),
])
def test_c51_starts_as_a_point_mass_nearest_the_return_0(name, hparams, zero_atom):
    """Before any update Z(s, a) has e^10 / (e^10 + N - 1) of its mass on the atom
    nearest 0, for every action and observation, online and target alike."""
    env = gym.make("CartPole-v1")
    agent = minirl.make_agent(name, env, seed=3, hidden_sizes=(16,), **hparams)
    n = agent.support.size
    assert int(np.argmin(np.abs(agent.support))) == zero_atom
    obs = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    for net in (agent.qnet, agent.target_qnet):
        net.remove_noise()
        with no_grad():
            p = softmax(net(obs).data.astype(np.float64))  # (64, 2, N)
        # the other logits are small random numbers: within a few percent of e^10/(e^10+N-1)
        expected = np.exp(10.0) / (np.exp(10.0) + n - 1)
        np.testing.assert_allclose(p[..., zero_atom], expected, rtol=0.02)
        assert np.all(p[..., zero_atom] > 0.99)
    # and so Q(s, a) = sum_i z_i p_i starts within 0.25% of the support's span of z_0
    q = agent._q(agent.qnet, obs)
    span = agent.support[-1] - agent.support[0]
    assert np.all(np.abs(q - agent.support[zero_atom]) < 0.0025 * span + 1e-6)


def test_start_at_atom_raises_one_logit_of_every_action_by_hand():
    """Without a dueling head the head's bias is (n_actions x n_atoms): the chosen atom
    of each action gains exactly ``logit``; with one, only V's bias changes."""
    rng = np.random.default_rng(0)
    net = QNet(3, 2, (4,), n_atoms=5, rng=rng)
    before = net.head.b.data.copy()
    start_at_atom(net, 1, logit=7.0)
    added = (net.head.b.data - before).reshape(2, 5)
    np.testing.assert_allclose(added, [[0, 7, 0, 0, 0], [0, 7, 0, 0, 0]], atol=1e-6)
    net = QNet(3, 2, (4,), dueling=True, noisy=True, n_atoms=5, rng=rng)
    value_before, adv_before = net.value.b_mu.data.copy(), net.advantage.b_mu.data.copy()
    start_at_atom(net, 4, logit=3.0)
    np.testing.assert_allclose(net.value.b_mu.data - value_before, [0, 0, 0, 0, 3], atol=1e-6)
    np.testing.assert_array_equal(net.advantage.b_mu.data, adv_before)


# --- the support fitted to the warm-up (v_min = v_max = None) ---------------------------
def discounted_returns(rewards, gamma):
    """G_t = sum_k gamma^k r_{t+k} for every step of one episode, by brute force."""
    return [sum(gamma ** k * r for k, r in enumerate(rewards[t:])) for t in range(len(rewards))]


@pytest.mark.parametrize("episodes, gamma, expected", [
    # one goal reward, ending the episode: no stream, so +- the largest reward sum
    ([([0, 0, 1], "terminated"), ([0, 0, 0, 1], "terminated")], 0.9, (-1.0, 1.0)),
    # a reward every step that goes on (CartPole): the stream's 1 / (1 - gamma)
    ([([1, 1, 1], "terminated"), ([1, 1], "running")], 0.9, (-10.0, 10.0)),
    # the stream of non-terminal rewards is (0 + 0 + 0 - 0.5 + 2 + 0) / 6 = 0.25 -> 2.5
    # (the terminal 1 of episode 1 is no stream; a truncated step is); the sums: 2, -0.5
    ([([0, 0, 1], "terminated"), ([0, -0.5, 2, 0], "truncated")], 0.9, (-2.5, 2.5)),
    # reward sums larger than any discounted return can be: capped at r / (1 - gamma)
    # (the streams' rates: 3.2 and -3 -> 6.4 and -6, inside)
    ([([0, 4, 4, 4, 4], "truncated")], 0.5, (-8.0, 8.0)),
    ([([0, -4, -4, -4, -4], "terminated")], 0.5, (-8.0, 8.0)),
    # the negative side the larger: a cost every step, one goal of 1 at the end
    ([([-1, -1, -1, 1], "terminated")], 0.9, (-10.0, 10.0)),
    ([([1, -3, 0.5], "terminated")], 0.5, (-3.0, 3.0)),
])
def test_fit_support_by_hand(episodes, gamma, expected):
    scale = ReturnScale()
    for rewards, end in episodes:
        for t, r in enumerate(rewards):
            last = t == len(rewards) - 1
            scale.add(r, last and end == "terminated", last and end == "truncated")
    v_min, v_max = fit_support(scale, gamma)
    np.testing.assert_allclose([v_min, v_max], expected, rtol=1e-12, atol=1e-12)
    for rewards, _ in episodes:  # every return seen lies on the support
        returns = discounted_returns(rewards, gamma)
        assert v_min - 1e-12 <= min(returns) and max(returns) <= v_max + 1e-12


def test_the_agent_fits_its_support_when_learning_starts_and_starts_z_at_0():
    """Rewards -1, 0, 2, 0, 0, 0 of non-terminal steps: stream mean 1/6, over 1 - 0.5:
    1/3; sums +2 and -1, within r / (1 - gamma) = 4 and -2. So [-2, 2]: 7 atoms, z_3 = 0,
    where Z has started (the stand-in support +-1 / (1 - gamma) = +-2 has it there too)."""
    space = gym.spaces.Box(-1, 1, (2,), np.float32)
    agent = DQNAgent(space, gym.spaces.Discrete(2), seed=0, categorical=True, gamma=0.5,
                     n_atoms=7, learning_starts=6, batch_size=2, train_freq=1,
                     gradient_steps=1, hidden_sizes=(8,), n_step=1)
    obs = np.zeros(2, np.float32)
    for r in [-1.0, 0.0, 2.0, 0.0, 0.0]:
        agent.update(obs, 0, r, obs, False, False)
        assert agent.support_pending and agent.learn_steps == 0
    agent.update(obs, 0, 0.0, obs, False, False)  # step 6: learning starts
    assert not agent.support_pending and agent.learn_steps == 1
    np.testing.assert_allclose(agent.support, np.linspace(-2.0, 2.0, 7), rtol=1e-6)
    fresh = DQNAgent(space, gym.spaces.Discrete(2), seed=0, categorical=True, gamma=0.5,
                     n_atoms=7, v_min=-2.0, v_max=2.0, hidden_sizes=(8,))
    # the target network is the given-support agent's start: z_3 = 0 holds the mass
    for name, value in fresh.qnet.state_dict().items():
        np.testing.assert_array_equal(agent.target_qnet.state_dict()[name], value)
    with no_grad():
        p = softmax(agent.target_qnet(np.zeros((1, 2), np.float32)).data.astype(np.float64))
    assert np.all(p[..., 3] > 0.99)


def test_learning_waits_while_every_reward_is_0_and_the_fit_is_saved(tmp_path):
    env = gym.make("minirl/Chain-v0")
    agent = minirl.make_agent("c51", env, seed=1, learning_starts=4, batch_size=2,
                              train_freq=1, gradient_steps=1, hidden_sizes=(8,))
    obs = 0
    for _ in range(10):
        agent.update(obs, 0, 0.0, obs, False, False)
    assert agent.learn_steps == 0 and agent.support_pending  # no scale yet
    agent.update(obs, 0, 1.0, obs, True, False)  # a goal: [-1, 1]
    assert agent.learn_steps == 1
    np.testing.assert_allclose(agent.support[[0, -1]], [-1.0, 1.0])
    agent.save(tmp_path / "c51.npz")
    loaded = minirl.load_agent(tmp_path / "c51.npz")
    assert not loaded.support_pending
    np.testing.assert_array_equal(loaded.support, agent.support)
    np.testing.assert_array_equal(loaded.return_scale.state(), agent.return_scale.state())


def test_a_support_needs_both_bounds_or_neither():
    with pytest.raises(ValueError, match="set both v_min and v_max, or neither"):
        minirl.make_agent("c51", "CartPole-v1", v_min=-1.0)
    with pytest.raises(ValueError, match="v_min must be < v_max"):
        minirl.make_agent("c51", "CartPole-v1", v_min=1.0, v_max=1.0)


def test_noisy_dqn_takes_the_huber_loss_by_default(monkeypatch):
    """noisy-dqn's preset keeps Huber (docs/ch10-dqn-variants.md): the loss its ``learn``
    takes is Huber's, the others' the shared squared error -- seen through the call the
    agent really makes, not by reading its settings."""
    import minirl.agents.dqn as dqn
    original = dqn.td_loss
    for name, expected in (("noisy-dqn", "huber"), ("dqn", "mse")):
        kinds = []

        def spy(q, target, weights=None, kind="mse"):
            kinds.append(kind)
            return original(q, target, weights, kind)

        monkeypatch.setattr(dqn, "td_loss", spy)
        env = gym.make("minirl/Identity-v0")
        agent = minirl.make_agent(name, env, seed=0, **{**SMALL, "n_step": 1})
        feed(agent, env, 20)
        assert kinds and set(kinds) == {expected}, (name, set(kinds))
