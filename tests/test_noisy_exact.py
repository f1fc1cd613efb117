"""Noisy Nets (Fortunato et al. 2018) with a known noise draw, through every path.

The layer's generator is replaced by one that returns chosen "standard normal" values,
picked so that f(e) = sgn(e) sqrt(|e|) is a round number: f(4) = 2, f(-9) = -3,
f(0.25) = 0.5. Then the factorised noise eps_W = f(eps_in) f(eps_out)^T, eps_b =
f(eps_out), the noisy forward pass (with the graph, as in learning, and without, as in
acting), its gradients, and the DQN agent's acting, greedy and learning paths are each
compared with a NumPy computation written from the paper's Eq. 9 -- so f(e) = e,
f(e) = sgn(e) e^2, a dropped sign or a dropped noise term fails here on its own.
"""
import gymnasium as gym
import numpy as np
import pytest

import minirl
import minirl.layers as L
from minirl.core import Variable, no_grad

# Draws whose f is exact: f(4) = 2, f(-9) = -3, f(0.25) = 0.5, f(2.25) = 1.5, f(-1) = -1,
# f(-0.0625) = -0.25, f(6.25) = 2.5, f(-4) = -2.
DRAWS = np.array([4.0, -9.0, 0.25, 2.25, -1.0, -0.0625, 6.25, -4.0])
F_DRAWS = np.array([2.0, -3.0, 0.5, 1.5, -1.0, -0.25, 2.5, -2.0])


class KnownNormal:
    """Stands in for an np.random.Generator: ``standard_normal`` returns the next values
    of a fixed cycle, however the layer splits its draw (one call or one per factor)."""

    def __init__(self, values):
        self.values = np.asarray(values, np.float64)
        self.position = 0

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        n = int(np.prod(size)) if size is not None else 1
        picks = np.take(self.values, np.arange(self.position, self.position + n),
                        mode="wrap")
        self.position += n
        return picks.astype(dtype).reshape(size if size is not None else ())


def params_of(module):
    get = getattr(module, "parameters", None) or module.params
    return list(get())


def known_noise(n_in, n_out, shift=0):
    """(draws, f(eps_in), f(eps_out)) for a layer: the cycle of DRAWS from ``shift`` on."""
    picks = np.arange(shift, shift + n_in + n_out)
    draws, f = np.take(DRAWS, picks, mode="wrap"), np.take(F_DRAWS, picks, mode="wrap")
    return draws, f[:n_in], f[n_in:]


def noisy_layer(n_in=3, n_out=2, seed=0):
    """A float64 layer with unequal sigmas, so each noise term has its own weight."""
    rng = np.random.default_rng(seed)
    layer = L.NoisyLinear(n_in, n_out, dtype=np.float64, rng=rng)
    layer.W_sigma.data = rng.uniform(0.1, 1.0, (n_in, n_out))
    layer.b_sigma.data = rng.uniform(0.1, 1.0, n_out)
    return layer


def numpy_noisy(layer, x, f_in, f_out):
    """y = x (W_mu + W_sigma * f(eps_in) f(eps_out)^T) + b_mu + b_sigma * f(eps_out)."""
    W = layer.W_mu.data + layer.W_sigma.data * np.outer(f_in, f_out)
    b = layer.b_mu.data + layer.b_sigma.data * f_out
    return np.asarray(x, np.float64) @ W + b


def test_reset_noise_applies_f_to_a_known_draw():
    layer = noisy_layer(3, 2)
    draws, f_in, f_out = known_noise(3, 2)
    layer.rng = KnownNormal(draws)
    layer.reset_noise()
    # f(e) = sgn(e) sqrt(|e|): eps_in -> [2, -3, 0.5], eps_out -> [1.5, -1]
    np.testing.assert_allclose(f_in, [2.0, -3.0, 0.5])
    np.testing.assert_allclose(layer.eps_W, [[3.0, -2.0], [-4.5, 3.0], [0.75, -0.5]])
    np.testing.assert_allclose(layer.eps_b, [1.5, -1.0])
    # An explicit generator is used instead of the layer's own.
    layer.reset_noise(rng=KnownNormal(np.roll(DRAWS, -3)))
    np.testing.assert_allclose(layer.eps_b, [2.5, -2.0])  # f(6.25), f(-4)


@pytest.mark.parametrize("with_graph", [False, True])
def test_forward_is_equation_9_with_the_known_noise(with_graph):
    """Acting (no graph) and learning (graph) give the same closed-form value."""
    layer = noisy_layer(3, 2)
    draws, f_in, f_out = known_noise(3, 2)
    layer.rng = KnownNormal(draws)
    layer.reset_noise()
    x = np.random.default_rng(1).standard_normal((4, 3))
    if with_graph:
        y = layer(Variable(x)).data
    else:
        with no_grad():
            y = layer(x).data
    np.testing.assert_allclose(y, numpy_noisy(layer, x, f_in, f_out), rtol=1e-12)


def test_gradients_of_mu_and_sigma_in_closed_form():
    """dL/dW_mu = x^T g, dL/dW_sigma = (x^T g) * eps_W, dL/db_mu = sum g,
    dL/db_sigma = (sum g) * eps_b, for L = sum(y * g)."""
    layer = noisy_layer(3, 2)
    draws, f_in, f_out = known_noise(3, 2)
    layer.rng = KnownNormal(draws)
    layer.reset_noise()
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    (layer(x) * g).sum().backward()
    xg = x.T @ g
    np.testing.assert_allclose(layer.W_mu.grad, xg, rtol=1e-12)
    np.testing.assert_allclose(layer.W_sigma.grad, xg * np.outer(f_in, f_out), rtol=1e-12)
    np.testing.assert_allclose(layer.b_mu.grad, g.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(layer.b_sigma.grad, g.sum(axis=0) * f_out, rtol=1e-12)


def test_init_and_mean_path():
    """mu ~ U[-1/sqrt(in), 1/sqrt(in)], sigma = sigma_0 / sqrt(in); after remove_noise
    the output is x W_mu + b_mu exactly, until the next reset_noise."""
    layer = L.NoisyLinear(16, 3, sigma0=0.4, rng=np.random.default_rng(0))
    assert layer.W_mu.dtype == np.float32
    with pytest.raises(ValueError, match="sigma0"):
        L.NoisyLinear(3, 2, sigma0=0.0)
    np.testing.assert_allclose(layer.W_sigma.data, 0.4 / 4.0)
    np.testing.assert_allclose(layer.b_sigma.data, 0.4 / 4.0)
    assert np.all(np.abs(layer.W_mu.data) <= 0.25) and np.abs(layer.W_mu.data).max() > 0.2
    x = np.random.default_rng(1).standard_normal((2, 16)).astype(np.float32)
    layer.remove_noise()
    mean_path = x.astype(np.float64) @ layer.W_mu.data + layer.b_mu.data
    np.testing.assert_allclose(layer(x).data, mean_path, rtol=1e-5)
    with no_grad():
        np.testing.assert_allclose(layer(x).data, mean_path, rtol=1e-5)
    layer.rng = KnownNormal(DRAWS)  # 19 values from the cycle of 8
    layer.reset_noise()
    cycle = np.take(F_DRAWS, np.arange(19), mode="wrap")
    np.testing.assert_allclose(layer(x).data, numpy_noisy(layer, x, cycle[:16], cycle[16:]),
                               rtol=1e-5)


# --- the agent: acting, greedy values, learning -------------------------------------------
AGENT = dict(hidden_sizes=(4,), buffer_size=200, batch_size=8, learning_starts=10_000,
             train_freq=1, gradient_steps=1, target_update_interval=50, gamma=0.9,
             loss="mse", epsilon_start=0.0, epsilon_end=0.0, noisy_sigma=0.5)


def noisy_agent(**hparams):
    env = gym.make("minirl/Chain-v0", length=6)
    agent = minirl.make_agent("noisy-dqn", env, seed=0, **{**AGENT, **hparams})
    rng = np.random.default_rng(5)
    for net in (agent.qnet, agent.target_qnet):  # unequal sigmas: every term matters
        for layer in net.noisy_layers:
            layer.W_sigma.data = rng.uniform(0.2, 1.5, layer.W_sigma.shape).astype(np.float32)
            layer.b_sigma.data = rng.uniform(0.2, 1.5, layer.b_sigma.shape).astype(np.float32)
    return agent


def plant_noise(net, first_shift=0):
    """Give every noisy layer of ``net`` its own known generator; return, per layer,
    (f(eps_in), f(eps_out)) it will produce."""
    expected = []
    for k, layer in enumerate(net.noisy_layers):
        draws, f_in, f_out = known_noise(layer.in_size, layer.out_size, first_shift + k)
        layer.rng = KnownNormal(draws)
        expected.append((f_in, f_out))
    return expected


def numpy_qnet(net, x, noise):
    """The noisy QNet (one hidden layer, layer norm as the net has it, plain head) in
    float64; noise=None: the mean path."""
    hidden, head = net.l0, net.head

    def layer_out(layer, h, eps):
        W, b = layer.W_mu.data.astype(np.float64), layer.b_mu.data.astype(np.float64)
        if eps is not None:
            f_in, f_out = eps
            W = W + layer.W_sigma.data * np.outer(f_in, f_out)
            b = b + layer.b_sigma.data * f_out
        return h @ W + b
    hidden_noise, head_noise = (None, None) if noise is None else noise
    h = layer_out(hidden, np.asarray(x, np.float64), hidden_noise)
    if net.layer_norm:  # (h - mean) / sqrt(var + 1e-5) per row
        d = h - h.mean(axis=-1, keepdims=True)
        h = d / np.sqrt((d * d).mean(axis=-1, keepdims=True) + 1e-5)
    return layer_out(head, np.maximum(h, 0), head_noise)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_exploring_action_draws_fresh_noise_and_is_the_noisy_argmax(layer_norm):
    agent = noisy_agent(layer_norm=layer_norm)
    states = np.arange(5)
    x = agent.encode.batch(states)
    actions, expected, greedy = [], [], []
    for shift in range(4):
        noise = plant_noise(agent.qnet, shift)
        for s, xs in zip(states, x):
            actions.append(agent.act(s, explore=True))
            expected.append(int(np.argmax(numpy_qnet(agent.qnet, xs[None], noise)[0])))
            # act drew its noise now, from the layers' generators: eps as planted
            for layer, (f_in, f_out) in zip(agent.qnet.noisy_layers, noise):
                np.testing.assert_allclose(layer.eps_W, np.outer(f_in, f_out), rtol=1e-6)
                np.testing.assert_allclose(layer.eps_b, f_out, rtol=1e-6)
            greedy.append(int(np.argmax(numpy_qnet(agent.qnet, xs[None], None)[0])))
    assert actions == expected
    assert expected != greedy  # the noise decides some actions here


def test_greedy_q_values_are_the_mean_path():
    agent = noisy_agent()
    plant_noise(agent.qnet)
    agent.qnet.reset_noise()  # noise present before the call: q_values must remove it
    for s in range(5):
        x = agent.encode(s)[None]
        np.testing.assert_allclose(agent.q_values(s), numpy_qnet(agent.qnet, x, None)[0],
                                   rtol=1e-5, atol=1e-6)
        assert agent.act(s, explore=False) == int(np.argmax(numpy_qnet(agent.qnet, x, None)[0]))


def test_learn_draws_new_noise_for_both_networks_and_its_loss_is_numpy():
    """y = G + gamma^steps (1 - terminated) max_a' Q(s', a'; theta^-, eps^-), with eps^- a
    new draw for the target network, independent of the online network's eps."""
    agent = noisy_agent()
    rng = np.random.default_rng(3)
    for _ in range(40):
        s = int(rng.integers(5))
        agent.update(s, int(rng.integers(2)), float(rng.normal()), int(rng.integers(6)),
                     bool(rng.random() < 0.2), False)
    for p in params_of(agent.target_qnet):  # online and target disagree
        p.data = (p.data + rng.standard_normal(p.shape)).astype(np.float32)
    batches, sample = [], agent.replay.sample
    agent.replay.sample = lambda *a, **k: batches.append(sample(*a, **k)) or batches[-1]
    online_noise = plant_noise(agent.qnet, 0)
    target_noise = plant_noise(agent.target_qnet, 3)
    online = {k: v.copy() for k, v in agent.qnet.state_dict().items()}
    result = agent.learn()
    for layer, (f_in, f_out) in zip(agent.target_qnet.noisy_layers, target_noise):
        np.testing.assert_allclose(layer.eps_W, np.outer(f_in, f_out), rtol=1e-6)
        np.testing.assert_allclose(layer.eps_b, f_out, rtol=1e-6)
    b = batches[0]
    agent.qnet.load_state_dict(online)  # the parameters the loss was computed with
    q = numpy_qnet(agent.qnet, b.obs, online_noise)[np.arange(len(b.action)), b.action]
    next_q = numpy_qnet(agent.target_qnet, b.next_obs, target_noise).max(axis=1)
    assert np.any(b.steps > 1)  # the default 3-step targets: gamma^steps
    y = b.reward + 0.9 ** b.steps * (1 - b.terminated) * next_q
    np.testing.assert_allclose(result["loss"], np.mean((q - y) ** 2), rtol=1e-4)
