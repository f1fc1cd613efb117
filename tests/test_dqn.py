"""Chapter 8: DQN, the target network, Double DQN, prioritized replay.

Each formula is checked against an independent computation:

- td_target and double_dqn_target against hand computations (no bootstrap on
  termination, bootstrap on truncation; networks built to disagree);
- the agent's loss against a NumPy re-computation of the same batch, for plain,
  double and prioritized DQN (IS weights multiply each sample's loss);
- the target network receives no gradient; the Huber op by finite differences;
- target sync by steps and by episodes, train_freq / gradient_steps / learning_starts,
  gradient clipping, the epsilon schedule, hyperparameter errors;
- save -> load gives the same greedy actions, and a resumed run ends where an
  uninterrupted one does;
- a seeded learning test on a small chain for dqn, double-dqn and per-dqn.

(The replay buffer, sum tree, stratified sampling and IS weights have their own
tests in test_replay.py.)
"""
import gymnasium as gym
import numpy as np
import pytest

import minirl
import minirl.functions as F
from minirl.agents.dqn import (QNet, double_dqn_target,
                               td_loss, td_target)
from minirl.core import Variable
from minirl.envs.testing import ChainEnv
from minirl.gradcheck import gradient_check
from minirl.replay import PrioritizedReplayBuffer

SMALL = dict(hidden_sizes=(16,), buffer_size=500, batch_size=8, learning_starts=8,
             train_freq=1, gradient_steps=1, target_update_interval=50)


def make(name="dqn", env="minirl/Chain-v0", seed=0, **hparams):
    return minirl.make_agent(name, env, seed=seed, **{**SMALL, **hparams})


def feed(agent, env, steps, seed=0):
    """Run the agent's own loop for ``steps`` steps (as minirl.train does)."""
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        action = agent.act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.update(obs, action, reward, next_obs, terminated, truncated)
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()


# ---------------------------------------------------------------------------
# TD targets
# ---------------------------------------------------------------------------

def test_td_target_by_hand_no_bootstrap_on_termination():
    reward = np.array([1.0, 0.5, -1.0], np.float32)
    next_q = np.array([[2.0, 3.0], [4.0, -1.0], [7.0, 9.0]], np.float32)
    terminated = np.array([0.0, 0.0, 1.0], np.float32)
    # y = r + 0.9 * max_a' Q(s', a'), except the terminal row: y = r.
    expected = [1.0 + 0.9 * 3.0, 0.5 + 0.9 * 4.0, -1.0]
    np.testing.assert_allclose(td_target(reward, next_q, terminated, 0.9), expected, rtol=1e-6)
    # gamma ** steps per sample (n-step): row 0 took 2 steps, row 1 three.
    gamma_n = 0.9 ** np.array([2, 3, 1])
    np.testing.assert_allclose(td_target(reward, next_q, terminated, gamma_n),
                               [1.0 + 0.81 * 3.0, 0.5 + 0.729 * 4.0, -1.0], rtol=1e-6)


def test_truncated_transition_is_stored_as_not_terminal_and_bootstraps():
    """Through the agent: the truncated step's target keeps gamma max_a' Q^-(s', a'),
    the terminated one's is r alone, in the loss the agent reports."""
    agent = make(learning_starts=10_000, loss="mse", gamma=0.5, batch_size=8)
    agent.update(0, 1, 0.25, 1, terminated=False, truncated=True)   # time limit
    agent.update(2, 0, 0.75, 1, terminated=True, truncated=False)   # a real end
    np.testing.assert_array_equal(agent.replay.terminated[:2], [0.0, 1.0])
    spread_apart(agent)
    online = {k: v.astype(np.float64) for k, v in agent.qnet.state_dict().items()}
    target = {k: v.astype(np.float64) for k, v in agent.target_qnet.state_dict().items()}
    batches = record_batches(agent)
    result = agent.learn()
    b = batches[0]
    assert set(b.indices.tolist()) == {0, 1}  # eight draws from two slots: both appear
    one_hot = np.eye(4)
    q = numpy_q(online, one_hot[[0, 2]], 1)[[0, 1], [1, 0]]
    y = np.array([0.25 + 0.5 * numpy_q(target, one_hot[[1]], 1).max(), 0.75])
    np.testing.assert_allclose(result["loss"], np.mean((q[b.indices] - y[b.indices]) ** 2),
                               rtol=1e-5)


def test_double_dqn_target_online_chooses_target_values():
    reward = np.array([0.0, 1.0], np.float32)
    next_online = np.array([[1.0, 5.0], [3.0, 0.0]], np.float32)   # prefers 1, then 0
    next_target = np.array([[10.0, 2.0], [4.0, 7.0]], np.float32)  # prefers 0, then 1
    terminated = np.zeros(2, np.float32)
    # Double: Q_target(s', argmax Q_online) = [2, 4]; plain DQN would take [10, 7].
    np.testing.assert_allclose(
        double_dqn_target(reward, next_online, next_target, terminated, 0.5),
        [0.5 * 2.0, 1.0 + 0.5 * 4.0])
    np.testing.assert_allclose(td_target(reward, next_target, terminated, 0.5),
                               [0.5 * 10.0, 1.0 + 0.5 * 7.0])
    np.testing.assert_allclose(
        double_dqn_target(reward, next_online, next_target, np.ones(2, np.float32), 0.5),
        reward)


# ---------------------------------------------------------------------------
# The agent's loss, recomputed in NumPy
# ---------------------------------------------------------------------------

def numpy_q(weights, x, hidden):
    """The QNet forward pass from its state_dict, in float64 NumPy."""
    h = np.asarray(x, np.float64)
    for i in range(hidden):
        h = np.maximum(h @ weights[f"l{i}.W"] + weights[f"l{i}.b"], 0)
    return h @ weights["head.W"] + weights["head.b"]


def huber(d):
    return np.where(np.abs(d) <= 1, 0.5 * d * d, np.abs(d) - 0.5)


def record_batches(agent):
    batches, sample = [], agent.replay.sample
    agent.replay.sample = lambda *a, **k: batches.append(sample(*a, **k)) or batches[-1]
    return batches


def spread_apart(agent, seed=1):
    """Give the target network other weights, so online and target disagree."""
    rng = np.random.default_rng(seed)
    for p in agent.target_qnet.parameters():
        p.data = rng.standard_normal(p.shape).astype(np.float32)


@pytest.mark.parametrize("name, loss", [("dqn", "huber"), ("dqn", "mse"), ("dqn", None),
                                        ("double-dqn", "huber"), ("double-dqn", None),
                                        ("per-dqn", "huber"), ("per-dqn", "mse"),
                                        ("per-dqn", None)])
def test_agent_loss_matches_numpy(name, loss):
    """loss None: the default, the squared error (docs/ch08.md measures why)."""
    env = gym.make("minirl/Identity-v0")
    chosen = {} if loss is None else {"loss": loss}
    agent = make(name, env, learning_starts=10_000, gamma=0.9, **chosen)
    loss = loss or "mse"
    feed(agent, env, 60)
    if name == "per-dqn":  # unequal priorities, so the IS weights are not all one
        agent.replay.update_priorities(np.arange(60), np.linspace(0, 3, 60))
    spread_apart(agent)
    online = {k: v.astype(np.float64) for k, v in agent.qnet.state_dict().items()}
    target = {k: v.astype(np.float64) for k, v in agent.target_qnet.state_dict().items()}
    batches = record_batches(agent)
    result = agent.learn()
    b = batches[0]
    x, next_x = b.obs, b.next_obs
    q = numpy_q(online, x, 1)[np.arange(len(x)), b.action]
    next_t = numpy_q(target, next_x, 1)
    if name == "double-dqn":
        best = numpy_q(online, next_x, 1).argmax(axis=1)
        next_v = next_t[np.arange(len(x)), best]
        assert not np.array_equal(best, next_t.argmax(axis=1)), "nets should disagree"
    else:
        next_v = next_t.max(axis=1)
    # The default 3-step target: G + gamma^steps (1 - terminated) Q_target(s', a*), with
    # fewer steps where an episode ended inside the window.
    assert np.any(b.steps > 1)
    y = b.reward + 0.9 ** b.steps * (1 - b.terminated) * next_v
    per_sample = (q - y) ** 2 if loss == "mse" else huber(q - y)
    w = b.weights if name == "per-dqn" else np.ones(len(x))
    if name == "per-dqn":
        assert isinstance(agent.replay, PrioritizedReplayBuffer)
        assert w.min() < 1.0
        # The priorities are now |delta| + eps for the sampled slots.
        leaves = agent.replay.sum_tree[b.indices] ** (1 / agent.replay.alpha)
        np.testing.assert_allclose(leaves, np.abs(q - y) + agent.replay.eps, rtol=1e-4)
    np.testing.assert_allclose(result["loss"], np.mean(w * per_sample), rtol=1e-4)


def test_prioritized_agent_anneals_beta_and_its_weights_are_the_closed_form():
    """The batch the agent learns from carries w_i = (N P(i))^-beta / (N min_k P(k))^-beta,
    P(i) = p_i^alpha / sum_k p_k^alpha, with beta at the agent's step t:
    beta_t = beta_0 + (1 - beta_0) min(1, t / per_beta_steps)."""
    env = gym.make("minirl/Identity-v0")
    agent = make("per-dqn", env, learning_starts=10_000, per_alpha=0.7, per_beta=0.4,
                 per_beta_steps=240, per_eps=1e-3, buffer_size=500)
    for steps, beta in ((60, 0.4 + 0.6 * 60 / 240), (180, 0.4 + 0.6 * 180 / 240),
                        (300, 1.0)):
        feed(agent, env, steps - agent.steps)
        n = len(agent.replay)
        errors = np.linspace(0.0, 3.0, n)
        agent.replay.update_priorities(np.arange(n), errors)
        p = (errors + 1e-3) ** 0.7
        P = p / p.sum()
        batches = record_batches(agent)
        agent.learn()
        b = batches[0]
        expected = (n * P[b.indices]) ** -beta / (n * P.min()) ** -beta
        np.testing.assert_allclose(b.weights, expected, rtol=1e-4)
        assert expected.min() < 1.0  # unequal priorities: the weights are not all one


def test_target_network_gets_no_gradient_and_stays_put():
    env = gym.make("minirl/Identity-v0")
    agent = make("double-dqn", env, learning_starts=10_000)
    feed(agent, env, 30)
    before = agent.target_qnet.state_dict()
    agent.learn()
    assert all(p.grad is None for p in agent.target_qnet.parameters())
    assert all(p.grad is not None for p in agent.qnet.parameters())
    after = agent.target_qnet.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_huber_elementwise_and_weighted_losses():
    d = np.array([-3.0, -1.0, -0.5, 0.0, 0.25, 1.0, 2.0])
    np.testing.assert_allclose(F.huber(d).data, huber(d))
    gradient_check(lambda v: F.huber(v), np.array([-2.5, -0.3, 0.4, 1.7]))
    rng = np.random.default_rng(0)
    q = Variable(rng.standard_normal(6).astype(np.float32) * 2)
    t = rng.standard_normal(6).astype(np.float32)
    ones = np.ones(6, np.float32)
    # Unit weights give the batch-averaged losses of functions.py.
    np.testing.assert_allclose(td_loss(q, t, ones, "mse").data,
                               F.mean_squared_error(q, t).data, rtol=1e-6)
    np.testing.assert_allclose(td_loss(q, t, ones, "huber").data,
                               F.huber_loss(q, t).data, rtol=1e-6)
    # Without weights: the plain batch means, by hand.
    np.testing.assert_allclose(td_loss(q, t, None, "mse").data, np.mean((q.data - t) ** 2),
                               rtol=1e-6)
    np.testing.assert_allclose(td_loss(q, t, None, "huber").data, np.mean(huber(q.data - t)),
                               rtol=1e-6)
    w = rng.random(6).astype(np.float32)
    np.testing.assert_allclose(td_loss(q, t, w, "huber").data,
                               np.mean(w * huber(q.data - t)), rtol=1e-6)
    gradient_check(lambda v: td_loss(v, t.astype(np.float64), w.astype(np.float64)), q.data)


@pytest.mark.parametrize("kind", ["mse", "huber"])
@pytest.mark.parametrize("batch", [7, 32, 100, 128])
def test_uniform_replay_loss_has_the_unit_weight_gradient_bit_for_bit(kind, batch):
    """DQNAgent.learn passes no weights for uniform replay (the fused loss, fewer ops):
    the gradient reaching Q(s, a) is exactly the one weights of ones give, so a seeded
    run learns the same either way, for any batch size."""
    rng = np.random.default_rng(batch)
    q0 = (rng.standard_normal(batch) * 3).astype(np.float32)
    t = rng.standard_normal(batch).astype(np.float32)
    grads = []
    for weights in (None, np.ones(batch, np.float32)):
        q = Variable(q0.copy())
        td_loss(q, t, weights, kind).backward()
        grads.append(q.grad)
    assert grads[0].dtype == grads[1].dtype == np.float32
    assert np.array_equal(grads[0], grads[1])


# ---------------------------------------------------------------------------
# Schedules: target sync, training frequency, clipping, epsilon
# ---------------------------------------------------------------------------

def same_params(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return all(np.array_equal(sa[k], sb[k]) for k in sa)


def test_target_sync_copies_the_online_network_into_the_target():
    """theta^- <- theta at the sync step, after that step's learning; theta stays."""
    env = gym.make("minirl/Identity-v0")
    agent = make(env=env, learning_starts=8, target_update_interval=25)
    feed(agent, env, 24)
    assert not same_params(agent.qnet, agent.target_qnet)  # learned, not yet synced
    old_target = agent.target_qnet.state_dict()
    feed(agent, env, 1)  # step 25: learn, then sync
    online, target = agent.qnet.state_dict(), agent.target_qnet.state_dict()
    assert all(np.array_equal(online[k], target[k]) for k in online)
    assert not all(np.array_equal(online[k], old_target[k]) for k in online)
    before = agent.qnet.state_dict()
    spread_apart(agent)
    agent.sync_target()
    assert same_params(agent.target_qnet, agent.qnet)
    assert all(np.array_equal(agent.qnet.state_dict()[k], before[k]) for k in before)


def test_target_sync_by_episodes_book_preset():
    agent = minirl.make_agent("dqn", "minirl/Identity-v0", preset="book", seed=0)
    assert agent.hparams["target_update_episodes"] == 20
    assert agent.hparams["target_update_interval"] == 0
    env = gym.make("minirl/Identity-v0")  # 10 steps an episode
    feed(agent, env, 190)
    assert agent.episodes == 19 and not same_params(agent.qnet, agent.target_qnet)
    feed(agent, env, 10)  # episode 20
    assert agent.episodes == 20 and same_params(agent.qnet, agent.target_qnet)


def test_train_freq_gradient_steps_and_learning_starts():
    env = gym.make("minirl/Identity-v0")
    agent = make(env=env, learning_starts=20, train_freq=4, gradient_steps=3)
    feed(agent, env, 50)
    # Learning at steps 20, 24, ..., 48: 8 times, 3 gradient steps each.
    assert agent.learn_steps == 3 * len(range(20, 51, 4))


def test_gradient_norm_is_clipped():
    env = gym.make("minirl/Identity-v0")
    agent = make(env=env, learning_starts=10_000, max_grad_norm=1e-3)
    feed(agent, env, 30)
    agent.learn()
    norm = np.sqrt(sum(np.sum(p.grad.astype(np.float64) ** 2) for p in agent.qnet.parameters()))
    assert norm <= 1e-3 * (1 + 1e-4)


def test_learn_reports_the_gradient_norm_before_clipping():
    """info["grad_norm"] is ||g|| of the gradient backward made, before any clip: two
    agents alike but for the clip see the same batch, and the unclipped one's step
    shows that gradient."""
    env = gym.make("minirl/Identity-v0")
    infos, stepped = {}, {}
    for clip in (None, 1e-3):
        agent = make(env=env, learning_starts=10_000, max_grad_norm=clip)
        feed(agent, env, 30)
        step = agent.optimizer.step

        def recording_step(clip=clip, agent=agent, step=step):
            stepped[clip] = np.sqrt(sum(np.sum(p.grad.astype(np.float64) ** 2)
                                        for p in agent.qnet.parameters()))
            step()
        agent.optimizer.step = recording_step
        infos[clip] = agent.learn()
    assert stepped[None] > 1e-2  # so the clip at 1e-3 binds
    assert np.isclose(infos[None]["grad_norm"], stepped[None], rtol=1e-5)
    assert np.isclose(infos[1e-3]["grad_norm"], stepped[None], rtol=1e-5)
    assert np.isclose(stepped[1e-3], 1e-3, rtol=1e-3)


def epsilon_schedule(step, start, end, duration):
    """The agent's epsilon after ``step`` environment steps."""
    agent = minirl.make_agent("dqn", "CartPole-v1", epsilon_start=start, epsilon_end=end,
                              exploration_steps=duration)
    agent.steps = step
    return agent.epsilon


def test_epsilon_schedule_and_fixed_epsilon():
    assert epsilon_schedule(0, 1.0, 0.1, 100) == 1.0
    assert np.isclose(epsilon_schedule(50, 1.0, 0.1, 100), 0.55)
    assert np.isclose(epsilon_schedule(100, 1.0, 0.1, 100), 0.1)
    assert np.isclose(epsilon_schedule(10_000, 1.0, 0.1, 100), 0.1)
    agent = minirl.make_agent("dqn", "CartPole-v1", preset="book")
    assert agent.epsilon == 0.1  # the book's fixed epsilon
    # The agent follows its schedule as it counts steps; greedy ignores it.
    agent = make(epsilon_start=1.0, epsilon_end=0.0, exploration_steps=10)
    assert agent.epsilon == 1.0
    agent.steps = 5
    assert np.isclose(agent.epsilon, 0.5)
    agent.steps = 20
    assert agent.epsilon == 0.0


def test_epsilon_one_acts_uniformly_and_greedy_is_argmax():
    agent = make(env="minirl/Identity-v0", epsilon_start=1.0, epsilon_end=1.0)
    actions = [agent.act(0) for _ in range(4000)]
    counts = np.bincount(actions, minlength=4)
    assert np.all(np.abs(counts - 1000) < 4 * np.sqrt(4000 * 0.25 * 0.75))
    q = agent.q_values(2)
    assert agent.act(2, explore=False) == int(np.argmax(q))


# ---------------------------------------------------------------------------
# Construction, errors, state
# ---------------------------------------------------------------------------

def test_book_preset_is_the_chapter_network():
    agent = minirl.make_agent("dqn", "CartPole-v1", preset="book")
    h = agent.hparams
    assert (h["lr"], h["gamma"], h["buffer_size"], h["batch_size"]) == (5e-4, 0.98, 10_000, 32)
    assert [p.shape for p in agent.qnet.parameters()] == [(4, 128), (128,), (128, 128), (128,),
                                                      (128, 2), (2,)]


def test_qnet_output_shapes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    assert QNet(3, 4, (8,), rng=rng)(x).shape == (5, 4)
    assert QNet(3, 4, (8, 8), dueling=True, rng=rng)(x).shape == (5, 4)
    assert QNet(3, 4, (8,), n_atoms=7, rng=rng)(x).shape == (5, 4, 7)
    assert QNet(3, 4, (8,), dueling=True, noisy=True, n_atoms=7, rng=rng)(x).shape == (5, 4, 7)


@pytest.mark.parametrize("obs_shape", [(5, 3), (3,)])
def test_qnet_layer_norm_normalises_each_hidden_layer_before_its_relu(obs_shape):
    """relu(LN(x W + b)) per hidden layer, by hand in float64, for a batch and one
    observation; without ``layer_norm`` the same weights give plain relu(x W + b)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(obs_shape).astype(np.float32)
    net = QNet(3, 2, (6, 4), rng=rng, layer_norm=True)
    p = {k: v.astype(np.float64) for k, v in net.state_dict().items()}

    def by_hand(norm):
        h = x.astype(np.float64)
        for i in range(2):
            h = h @ p[f"l{i}.W"] + p[f"l{i}.b"]
            if norm:
                d = h - h.mean(axis=-1, keepdims=True)
                h = d / np.sqrt((d ** 2).mean(axis=-1, keepdims=True) + 1e-5)
            h = np.maximum(h, 0)
        return h @ p["head.W"] + p["head.b"]

    np.testing.assert_allclose(net(x).data, by_hand(True), rtol=1e-4, atol=1e-5)
    net.layer_norm = False
    np.testing.assert_allclose(net(x).data, by_hand(False), rtol=1e-4, atol=1e-5)


def test_layer_norm_hyperparameter_reaches_both_networks():
    for layer_norm in (False, True):
        agent = minirl.make_agent("dqn", "CartPole-v1", seed=0, layer_norm=layer_norm)
        assert agent.qnet.layer_norm is layer_norm
        assert agent.target_qnet.layer_norm is layer_norm


@pytest.mark.parametrize("hparams, message", [
    (dict(loss="l1"), "loss"),
    (dict(target_update_interval=0, target_update_episodes=0), "exactly one"),
    (dict(target_update_interval=10, target_update_episodes=5), "exactly one"),
    (dict(epsilon_end=1.5), "epsilon_end"),
    (dict(train_freq=0), "train_freq"),
    (dict(hidden_sizes=(16, 0)), "hidden_sizes"),
    (dict(max_grad_norm=-1.0), "max_grad_norm"),
    (dict(n_step=0), "n_step"),
    (dict(double="yes"), "double"),
    (dict(v_min=5.0, v_max=5.0), "v_min"),
    (dict(batch_size=1000, buffer_size=10), "batch_size"),
    (dict(learning_rate=0.1), "no hyperparameter"),
])
def test_bad_hyperparameters_are_named(hparams, message):
    with pytest.raises(ValueError, match=message):
        make(**hparams)


def test_needs_a_discrete_action_space():
    with pytest.raises(ValueError, match="Discrete action"):
        minirl.make_agent("dqn", "minirl/ContinuousIdentity-v0")
    with pytest.raises(ValueError, match="fixes double"):
        minirl.make_agent("double-dqn", "CartPole-v1", double=False)


@pytest.mark.parametrize("name", ["dqn", "per-dqn"])
def test_save_load_acts_identically(tmp_path, name):
    env = gym.make("CartPole-v1")
    agent = make(name, env)
    feed(agent, env, 200)
    agent.save(tmp_path / "a.npz")
    loaded = minirl.load_agent(tmp_path / "a.npz")
    obs = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    assert [agent.act(o, explore=False) for o in obs] == \
        [loaded.act(o, explore=False) for o in obs]
    assert loaded.steps == agent.steps and len(loaded.replay) == len(agent.replay)


@pytest.mark.parametrize("name", ["dqn", "per-dqn"])
def test_resume_continues_exactly(tmp_path, name):
    from agent_checks import check_resume_ends_where_an_uninterrupted_run_does as check
    check(tmp_path, name, "minirl/Chain-v0", 400, 170, seed=3, **SMALL)


def test_same_seed_same_run():
    a = minirl.train("per-dqn", "minirl/Chain-v0", 300, seed=5, **SMALL)
    b = minirl.train("per-dqn", "minirl/Chain-v0", 300, seed=5, **SMALL)
    assert a.records == b.records and same_params(a.agent.qnet, b.agent.qnet)


# ---------------------------------------------------------------------------
# Learning: the chain rewards only "always right", after length - 2 zero rewards
# ---------------------------------------------------------------------------

CHAIN = dict(hidden_sizes=(32,), lr=3e-3, gamma=0.9, buffer_size=2000, batch_size=32,
             learning_starts=100, train_freq=1, gradient_steps=1, target_update_interval=50,
             epsilon_start=1.0, epsilon_end=0.1, exploration_steps=600, max_grad_norm=10.0,
             n_step=1)  # the 1-step target's fixed point is Q*; n steps follow the policy


def check_learns_the_chain(name, steps=1500, lowest=1.0, **hparams):
    """Greedy return 1 and Q(s, .) near Q*(s, .) = (0, gamma^(L-2-s)) for every state.

    n-step targets follow the exploring policy for n steps, so they may fall short
    of Q*(s, 1): ``lowest`` is the fraction of it they must reach.
    """
    env = gym.make("minirl/Chain-v0", length=5)
    result = minirl.train(name, env, steps, seed=0, **{**CHAIN, **hparams})
    agent = result.agent
    assert minirl.evaluate(agent, env, 3)[0] == 1.0
    q = np.array([agent.q_values(s) for s in range(4)])
    q_star = ChainEnv(5).optimal_q_values(agent.hparams["gamma"])
    if lowest == 1.0:
        np.testing.assert_allclose(q, q_star, atol=0.12)
    else:
        np.testing.assert_allclose(q[:, 0], 0.0, atol=0.12)
        assert np.all(q[:, 1] <= q_star[:, 1] + 0.12), q
        assert np.all(q[:, 1] >= lowest * q_star[:, 1]), q


@pytest.mark.parametrize("name", ["dqn", "double-dqn", "per-dqn"])
def test_learns_the_chain(name):
    check_learns_the_chain(name)
