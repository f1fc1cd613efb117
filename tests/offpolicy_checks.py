"""Checks that DDPG's, TD3's and SAC's tests share, and NumPy forward passes of their
networks written apart from the engine."""
import copy

import gymnasium as gym
import numpy as np

import minirl
from minirl.replay import Batch


# --- NumPy forward passes ---------------------------------------------------------
def numpy_mlp(state, x, output=None):
    """A ReLU MLP from a state_dict ('l0.W', 'l0.b', ...) in float64."""
    n = len(state) // 2
    x = np.asarray(x, np.float64)
    for i in range(n):
        x = x @ state[f"l{i}.W"].astype(np.float64) + state[f"l{i}.b"].astype(np.float64)
        if i < n - 1:
            x = np.maximum(x, 0)
    return np.tanh(x) if output == "tanh" else x


def net_state(module):
    """The state_dict of ``module.net``, without the 'net.' prefix."""
    return {k[len("net."):]: v for k, v in module.state_dict().items()}


def numpy_actor(actor, obs):
    """mu(s) = low + (tanh(MLP(s)) + 1) / 2 (high - low): DDPG's and TD3's actor."""
    u = numpy_mlp(net_state(actor), obs, "tanh")
    return actor.low + (u + 1) / 2 * (actor.high - actor.low)


def numpy_critic(critic, obs, action):
    """Q(s, a) = MLP([s, a]), one value per row."""
    return numpy_mlp(net_state(critic), np.concatenate([obs, action], axis=1))[:, 0]


def mlp_forward(state, x):
    """ReLU MLP from a state_dict, keeping every layer's input and pre-activation."""
    n, inputs, pre = len(state) // 2, [], []
    for i in range(n):
        inputs.append(x)
        pre.append(x @ state[f"l{i}.W"] + state[f"l{i}.b"])
        x = np.maximum(pre[-1], 0) if i < n - 1 else pre[-1]
    return x, inputs, pre


def mlp_backward(state, inputs, pre, g):
    """The chain rule through that MLP by hand: returns (dL/dx, {name: dL/dparam})."""
    grads = {}
    for i in reversed(range(len(inputs))):
        if i < len(inputs) - 1:
            g = g * (pre[i] > 0)  # ReLU
        grads[f"l{i}.W"], grads[f"l{i}.b"] = inputs[i].T @ g, g.sum(axis=0)
        g = g @ state[f"l{i}.W"].T
    return g, grads


def numpy_dpg(actor, critic, obs):
    """d/dtheta of -mean_s Q(s, mu_theta(s)), written out in NumPy (float64):
    dL/da = -dQ/da / B from the critic's backward pass, then through
    a = centre + half * tanh(.) into the actor's layers."""
    A = {k[len("net."):]: v.astype(np.float64) for k, v in actor.state_dict().items()}
    C = {k[len("net."):]: v.astype(np.float64) for k, v in critic.state_dict().items()}
    s = np.asarray(obs, np.float64)
    z, a_inputs, a_pre = mlp_forward(A, s)
    u = np.tanh(z)
    half = (actor.high.astype(np.float64) - actor.low) / 2
    a = (actor.high.astype(np.float64) + actor.low) / 2 + half * u
    q, c_inputs, c_pre = mlp_forward(C, np.concatenate([s, a], axis=1))
    dx, _ = mlp_backward(C, c_inputs, c_pre, -np.ones_like(q) / len(s))
    da = dx[:, s.shape[1]:]
    _, grads = mlp_backward(A, a_inputs, a_pre, da * half * (1 - u * u))
    return -q.mean(), [grads[k[len("net."):]] for k in actor.state_dict()]


def perturb(*modules, seed=0):
    """Give each module random parameters: a target no longer equals its network."""
    rng = np.random.default_rng(seed)
    for m in modules:
        for p in m.parameters():
            p.data = rng.standard_normal(p.shape).astype(p.data.dtype)


def params_of(module):
    return [p.data.copy() for p in module.parameters()]


# --- watching update() ------------------------------------------------------------
def learn_from(agent, batch):
    """The next ``update`` learns from ``batch`` instead of a sample of the buffer.

    Returns a dict that update fills in: 'rng', a copy of the agent's generator right
    after the minibatch is drawn (the draws the target is about to make), and 'y', the
    target handed to ``update_critics``.
    """
    seen = {}
    agent.steps = max(agent.steps, agent.learning_starts, agent.batch_size)  # it learns

    def sample(batch_size):
        seen["rng"] = copy.deepcopy(agent.rng)
        return batch
    agent.buffer.sample = sample
    update_critics = agent.update_critics

    def recording(batch, y):
        seen["y"] = np.array(y, copy=True)
        return update_critics(batch, y)
    agent.update_critics = recording
    return seen


def check_every_critic_steps_on_y(agent, names, lr, batch):
    """In ``update``, each critic Q_i (attributes ``names``) takes Adam's first step on
    its own mean (Q_i(s, a) - y)^2 towards the y handed to the critic step: by hand,
    g_i from the chain rule in NumPy, and the step -lr g / (|g| + eps) per element."""
    seen = learn_from(agent, batch)
    before = {n: net_state(getattr(agent, n)) for n in names}
    agent.update(batch.obs[0], batch.action[0], 0.0, batch.next_obs[0], False, False)
    y = seen["y"].astype(np.float64)[:, None]
    x = np.concatenate([batch.obs, batch.action], axis=1).astype(np.float64)
    for name in names:
        state = {k: v.astype(np.float64) for k, v in before[name].items()}
        q, inputs, pre = mlp_forward(state, x)
        _, grads = mlp_backward(state, inputs, pre, 2 * (q - y) / len(y))
        for key, after in net_state(getattr(agent, name)).items():
            g = grads[key]
            clear = np.abs(g) > 1e-5  # elsewhere float32 rounding blurs g / |g|
            assert clear.mean() > 0.5, (name, key)
            adam = state[key] - lr * g / (np.abs(g) + 1e-8)
            np.testing.assert_allclose(after[clear], adam[clear], rtol=0, atol=2e-6,
                                       err_msg=f"{name}.{key}")


def random_batch(B, seed, low, high):
    """A minibatch of random transitions in a 3-D observation box."""
    rng = np.random.default_rng(seed)
    return Batch(obs=rng.uniform(-1, 1, (B, 3)).astype(np.float32),
                 action=rng.uniform(low, high, (B, len(low))).astype(np.float32),
                 reward=rng.normal(size=B).astype(np.float32),
                 next_obs=rng.uniform(-1, 1, (B, 3)).astype(np.float32),
                 terminated=(rng.random(B) < 0.3).astype(np.float32), steps=None,
                 indices=None, weights=None)


def step_once(agent, rng):
    """One update on a random transition of a 3-D observation box (nothing ends)."""
    o = rng.uniform(-1, 1, 3).astype(np.float32)
    return agent.update(o, agent.act(o), -1.0, -o, False, False)


def check_targets_start_as_copies(agent, pairs):
    """theta' = theta at construction, for each (target, network) attribute pair."""
    for target, network in pairs:
        t, n = getattr(agent, target).state_dict(), getattr(agent, network).state_dict()
        assert t.keys() == n.keys() and all(np.array_equal(t[k], n[k]) for k in t), target


def check_polyak_recursion(agent, pairs, k, moves=lambda update: True):
    """Every target after k updates equals the Polyak recursion by hand,

        theta'_j = tau theta_j + (1 - tau) theta'_{j-1},

    with theta_j the network's parameters at the end of update j (after its gradient
    steps), applied on the updates where ``moves(j)``; ``pairs`` names (target,
    network) attributes. A target that follows the wrong network, or a Polyak step with
    its arguments swapped, or one taken before the networks' steps, fails."""
    rng = np.random.default_rng(0)
    while agent.updates == 0:
        step_once(agent, rng)
    for target, _ in pairs:  # targets away from their networks: each step shows
        perturb(getattr(agent, target), seed=len(target))
    expected = {t: params_of(getattr(agent, t)) for t, _ in pairs}
    tau, moved = agent.tau, 0
    for _ in range(k):
        step_once(agent, rng)
        if moves(agent.updates):
            moved += 1
            for target, network in pairs:
                expected[target] = [tau * theta + (1 - tau) * old for theta, old in
                                    zip(params_of(getattr(agent, network)), expected[target])]
    assert moved >= 2
    for target, _ in pairs:
        for got, want in zip(params_of(getattr(agent, target)), expected[target]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=target)


# --- what the training loop stores ------------------------------------------------
class ScriptedEpisodes(gym.Env):
    """Episodes of known lengths, each ending by truncation or by termination.

    The observation is [episode, t], the reward 10 episode + t, and every action the
    env receives is kept in ``actions``. ``ENDS`` lists (length, terminated).
    """
    ENDS = [(3, False), (2, True), (1, False), (2, True)]

    def __init__(self):
        self.observation_space = gym.spaces.Box(-100.0, 100.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(np.array([-1.0, 0.0], np.float32),
                                           np.array([3.0, 0.5], np.float32))
        self.episode, self.t, self.actions = -1, 0, []

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episode, self.t = self.episode + 1, 0
        return np.array([self.episode, 0], np.float32), {}

    def step(self, action):
        self.actions.append(np.array(action, np.float32))
        reward = 10.0 * self.episode + self.t
        self.t += 1
        length, terminal = self.ENDS[self.episode % len(self.ENDS)]
        done = self.t == length
        obs = np.array([self.episode, self.t], np.float32)
        return obs, reward, done and terminal, done and not terminal, {}


def check_stores_terminated_not_truncated(name, **hparams):
    """Through ``minirl.train``: each transition lands in the replay buffer as
    (s, a, r, s', terminated), with s' the episode's final observation and the flag 1
    only where the episode terminated -- never where it was truncated."""
    env = ScriptedEpisodes()
    steps = sum(length for length, _ in ScriptedEpisodes.ENDS)
    result = minirl.train(name, env, steps, seed=0, learning_starts=100, batch_size=4,
                          buffer_size=16, hidden_sizes=(4,), **hparams)
    obs, next_obs, reward, terminated = [], [], [], []
    for episode, (length, terminal) in enumerate(ScriptedEpisodes.ENDS):
        for t in range(length):
            obs.append([episode, t])
            next_obs.append([episode, t + 1])  # the last one is the final observation
            reward.append(10.0 * episode + t)
            terminated.append(float(terminal and t == length - 1))
    buffer = result.agent.buffer
    assert len(buffer) == steps
    np.testing.assert_array_equal(buffer.obs[:steps], obs)
    np.testing.assert_array_equal(buffer.next_obs[:steps], next_obs)
    np.testing.assert_array_equal(buffer.reward[:steps], reward)
    np.testing.assert_array_equal(buffer.action[:steps], env.actions)
    np.testing.assert_array_equal(buffer.terminated[:steps], terminated)
    assert [r[3] for r in result.records] == [n for n, _ in ScriptedEpisodes.ENDS]
