"""PPO and A2C from pixels: one conv torso feeding both the policy and the value head.

* an image observation gets the torso, a vector none; the torso's parameters are in the
  optimizer once, in the checkpoint, and their Adam moments with them;
* the gradient of each agent's own loss reaches the conv weights from the policy term
  and from the value term, against central differences of that loss (float64);
* a resumed run on an image env ends where the uninterrupted one does;
* both learn which quadrant is lit: the greedy action is right on every possible frame.
"""
import gymnasium as gym
import numpy as np
import pytest

import minirl
from minirl.agents import a2c, ppo
from minirl.agents.rollout import gae
from minirl.agents.torso import ConvTorso
from minirl.envs.images import QuadrantEnv
from minirl.gradcheck import numerical_grad

QUADRANT = "minirl/Quadrant-v0"
FRAME = gym.spaces.Box(0, 1, (4, 4, 1), dtype=bool)  # a 3x3 conv gives 16 x 2 x 2 features


def torso_of(agent):
    return agent.torso if agent.name == "ppo" else agent.net.torso


def torso_key(agent):
    """Where a checkpoint keeps the torso's parameters."""
    return ("module.torso." if agent.name == "ppo" else "module.net.torso.")


# --- the torso: built for images, stepped, saved ---------------------------------------
@pytest.mark.parametrize("name", ["ppo", "a2c"])
def test_an_image_gets_one_torso_in_the_optimizer_and_the_checkpoint(name):
    agent = minirl.make_agent(name, QuadrantEnv(), seed=0)
    torso = torso_of(agent)
    assert isinstance(torso, ConvTorso) and torso.size == 16 * 6 * 6
    params = agent.optimizer.params
    assert len({id(p) for p in params}) == len(params)  # each parameter stepped once
    assert params[:2] == torso.parameters()  # c0.W, c0.b first, by identity
    state = agent.state_dict()
    prefix = torso_key(agent)
    np.testing.assert_array_equal(state[prefix + "c0.W"], torso.c0.W.data)
    assert state["optim.optimizer.m.0"].shape == torso.c0.W.shape  # its Adam moments
    assert state["optim.optimizer.v.1"].shape == torso.c0.b.shape


def test_both_heads_read_the_torsos_features():
    agent = minirl.make_agent("ppo", QuadrantEnv(), seed=0)
    assert agent.policy.net.layers[0].W.shape[0] == agent.torso.size
    assert agent.critic.net.layers[0].W.shape[0] == agent.torso.size
    net = minirl.make_agent("a2c", QuadrantEnv(), seed=0, shared_layers=0).net
    assert net.actor[0].W.shape[0] == net.critic[0].W.shape[0] == net.torso.size


def test_vectors_have_no_torso():
    agent = minirl.make_agent("ppo", "CartPole-v1", seed=0)
    assert agent.torso is None and set(agent.modules()) == {"policy", "critic"}
    assert agent.optimizer.params == agent.policy.parameters() + agent.critic.parameters()
    assert minirl.make_agent("a2c", "CartPole-v1", seed=0).net.torso is None


# --- the gradient reaches the torso from both heads ------------------------------------
def _float64(params):
    for p in params:
        p.data = p.data.astype(np.float64)
    return params


def _torso_gradient_checks(params, loss_of, torso_params, coefs, frozen_of=None):
    """For each value coefficient c: the torso's gradient by backprop of ``loss_of(c)``
    == central differences of ``frozen_of(c)`` (the same loss with its targets held at
    their values, as the semi-gradient holds them; default ``loss_of``). ``params``
    (every parameter) are zeroed before each backward. Returns the torso's gradients."""
    frozen_of = frozen_of or loss_of
    grads = []
    for c in coefs:
        for p in params:
            p.grad = None
        loss_of(c).backward()
        numeric = numerical_grad(lambda *_: frozen_of(c).data,
                                 *[p.data for p in torso_params])
        for p, num in zip(torso_params, numeric):
            assert p.grad is not None
            np.testing.assert_allclose(p.grad, num, rtol=1e-5, atol=1e-8)
        grads.append(np.concatenate([p.grad.ravel() for p in torso_params]))
    return grads


def _assert_both_heads_reach(grads):
    """value_coef 0: the policy terms alone; 1 and 2: the value term adds linearly."""
    policy_only, one, two = grads
    # (the policy's last layer starts at 1/100 of its scale: its share is small, not 0)
    assert np.abs(policy_only).max() > 1e-5  # the policy loss reaches the conv weights
    assert np.abs(one - policy_only).max() > 1e-3  # so does the value loss
    np.testing.assert_allclose(two - policy_only, 2 * (one - policy_only), rtol=1e-6,
                               atol=1e-10)


def test_ppo_loss_reaches_the_torso_from_the_policy_and_the_value():
    """The loss learn() minimises (minibatch_loss: the torso, then ppo_loss): the conv
    weights' gradient is the central-difference gradient of the loss, and both the
    policy terms and the value term contribute to it."""
    agent = ppo.PPOAgent(FRAME, gym.spaces.Discrete(3), seed=2, hidden_sizes=(6,),
                         entropy_coef=0.01)
    params = _float64(agent.optimizer.params)
    rng = np.random.default_rng(2)
    B = 6
    obs = (rng.random((B, 16)) < 0.4).astype(np.float64)
    batch = {"obs": obs, "actions": rng.integers(3, size=B),
             "advantages": rng.normal(size=B), "returns": rng.normal(size=B)}
    x = agent.features(obs)
    with minirl.no_grad():
        log_prob = agent.policy.log_prob_entropy(x, batch["actions"])[0].data
        values = agent.critic(x).data
    batch["log_probs"] = log_prob + rng.choice([-0.5, 0.0, 0.5], size=B)
    batch["values"] = values + rng.choice([-0.5, 0.0, 0.5], size=B)

    def loss_of(value_coef):
        agent.hparams["value_coef"] = value_coef
        return agent.minibatch_loss(batch)[0]
    grads = _torso_gradient_checks(params, loss_of, agent.torso.parameters(), (0, 1, 2))
    _assert_both_heads_reach(grads)


@pytest.mark.parametrize("shared_layers", [0, 1])
def test_a2c_loss_reaches_the_torso_from_the_policy_and_the_value(shared_layers):
    """rollout_loss through the agent's own network: the torso's gradient is the
    central-difference gradient of actor_critic_loss with the GAE targets held fixed
    (rollout_loss computes them from .data), with the policy and the value term both
    in it."""
    agent = a2c.A2CAgent(FRAME, gym.spaces.Discrete(3), seed=3, num_envs=2, n_steps=3,
                         hidden_size=6, shared_layers=shared_layers, entropy_coef=0.01)
    params = _float64(agent.net.parameters())
    rng = np.random.default_rng(3)
    T, N = 3, 2
    obs = (rng.random((T, N, 16)) < 0.4).astype(np.float64)
    next_obs = (rng.random((T, N, 16)) < 0.4).astype(np.float64)
    rewards, actions = rng.normal(size=(T, N)), rng.integers(3, size=(T, N))
    terminated, truncated = np.zeros((T, N), bool), np.zeros((T, N), bool)
    terminated[1, 0] = True

    h = agent.hparams
    with minirl.no_grad():
        v, next_v = (agent.net.value(o.reshape(T * N, -1)).data.reshape(T, N)
                     for o in (obs, next_obs))
    advantages = gae(rewards, v, next_v, terminated, truncated, h["gamma"],
                     h["gae_lambda"])
    returns = advantages + v

    def loss_of(value_coef):
        return a2c.rollout_loss(agent.net, obs, actions, rewards, next_obs, terminated,
                                truncated, {**h, "value_coef": value_coef})[0]

    def frozen_of(value_coef):
        logits, values = agent.net(obs.reshape(T * N, -1))
        return a2c.actor_critic_loss(logits, values, actions.reshape(-1),
                                     advantages.reshape(-1), returns.reshape(-1),
                                     value_coef, h["entropy_coef"])[0]
    grads = _torso_gradient_checks(params, loss_of, agent.net.torso.parameters(),
                                   (0, 1, 2), frozen_of)
    _assert_both_heads_reach(grads)


# --- saving and resuming an image run ---------------------------------------------------
@pytest.mark.parametrize("name, hparams", [
    ("ppo", {"num_envs": 4, "n_steps": 8, "update_epochs": 2, "hidden_sizes": (8,)}),
    ("a2c", {"num_envs": 4, "n_steps": 5, "hidden_size": 8}),
])
def test_a_resumed_image_run_ends_where_an_uninterrupted_run_does(tmp_path, name, hparams):
    """Stopped inside a rollout and resumed: the torso's weights and Adam moments, like
    everything else, are the uninterrupted run's (and they moved: it learned)."""
    from agent_checks import check_resume_ends_where_an_uninterrupted_run_does as check
    whole, _ = check(tmp_path, name, QUADRANT, 160, 84, **hparams)
    state = whole.agent.state_dict()
    assert torso_key(whole.agent) + "c0.W" in state
    assert np.abs(state["optim.optimizer.m.0"]).max() > 0  # the torso was stepped


# --- learning which quadrant is lit -----------------------------------------------------
def every_frame(size=8):
    """Each of the size^2 frames QuadrantEnv can show, with the quadrant that is lit."""
    half = size // 2
    for row in range(size):
        for col in range(size):
            frame = np.zeros((size, size, 1), bool)
            frame[row, col] = True
            yield frame, 2 * (row >= half) + (col >= half)


@pytest.mark.parametrize("seed", [7, 8])
@pytest.mark.parametrize("name, steps", [("ppo", 3000), ("a2c", 6000)])
def test_learns_the_lit_quadrant_on_every_frame(name, steps, seed):
    """The optimum is known: return 1, naming the lit quadrant for each of the 64 frames
    (a random policy scores 0.25). Defaults, seeds no one tuned on."""
    agent = minirl.train(name, QUADRANT, steps, seed=seed).agent
    wrong = [quadrant for frame, quadrant in every_frame()
             if agent.act(frame, explore=False) != quadrant]
    assert not wrong, f"{name} seed {seed}: {len(wrong)} of 64 frames misread"
