"""Chapter 10: A2C -- advantage actor-critic on a batch of environments in lock-step.

Chapter 9's actor-critic learns from one environment, one step at a time, so each
update sees a handful of strongly correlated transitions. A3C (Mnih et al. 2016)
breaks the correlation by running many workers asynchronously (``a3c.py``); A2C is its
synchronous twin: ONE network acts in N environments stepped together, collects a
rollout of ``n_steps`` x N transitions, and makes one update from all of them.

For every step t of the rollout, with V the critic and pi the actor:

    return        G_t = r_t + gamma r_{t+1} + ... + gamma^k V(s_{t+k})   (S&B eq. 7.1)
       or         A_t = sum_l (gamma lambda)^l delta_{t+l}     (GAE, Schulman 2016 eq. 16)
                  delta_t = r_t + gamma V(s_{t+1}) - V(s_t)
    advantage     A_t = G_t - V(s_t)                    (n-step; GAE gives it directly)
    loss          L = -mean log pi(a_t|s_t) A_t                  (policy gradient)
                      + c_v mean (G_t - V(s_t))^2                (critic regression)
                      - c_e mean H(pi(.|s_t))                    (entropy bonus)

with A_t and G_t held constant (computed from ``.data``). Returns stop at episode
ends: after a *terminated* step nothing follows (no bootstrap); after a *truncated* one
the episode was only cut by a time limit, so the return bootstraps from the value of
its true final observation, which the training loop hands over in ``next_obs``.

Everything below is written over a (T, N) rollout: T steps of N environments.

An image observation (a 3-D ``Box``) gets a convolutional torso (``torso.py``) at the
front of the network, shared by both heads like the hidden layers of ``shared_layers``:
stable-baselines3's A2C ``CnnPolicy`` shares its features extractor between actor and
critic (``share_features_extractor=True``) whatever its ``net_arch``, and in the A3C
paper's Atari network "all non-output layers were shared" between the softmax policy
and the linear value output (Mnih et al. 2016, experimental setup).
"""
import gymnasium as gym
import numpy as np

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl.agents.base import Agent, HParam
from minirl.agents.common import categorical_entropy, categorical_log_prob, sample_categorical
from minirl.agents.rollout import Rollout, gae, n_step_returns
from minirl.agents.torso import encoder_for
from minirl.core import no_grad

__all__ = ["ActorCriticNet", "actor_critic_loss", "rollout_loss", "make_optimizer",
           "actor_critic_hyperparameters", "ActorCriticBase", "A2CAgent"]


# --- the network ---------------------------------------------------------------------
class ActorCriticNet(L.Module):
    """One network, two heads: obs -> hidden layers -> pi(.|s) (logits) and V(s).

    The first ``shared_layers`` hidden layers (those nearest the input) are shared by
    actor and critic, as in the chapter's figure: both need the same features of the
    state, and the critic's regression gives them a dense learning signal that the
    noisy policy gradient alone would not. The rest are duplicated, one copy for each:

        shared_layers=2   obs -> [Linear, tanh, Linear, tanh] -> pi head, V head
        shared_layers=1   obs -> [Linear, tanh] -> (Linear, tanh -> pi head)
                                                -> (Linear, tanh -> V head)
        shared_layers=0   two separate networks, as stable-baselines3's A2C

    Sharing has a price when the two heads want different features: on Acrobot
    (returns near -100) only separate networks learned (see the 'acrobot' preset).
    A ``torso`` (a ``ConvTorso`` for images, whose feature count is ``in_size``) comes
    before all of it and is always shared: obs -> torso -> [the layers above].
    """

    def __init__(self, in_size, n_actions, hidden_size=64, shared_layers=2, rng=None,
                 torso=None):
        super().__init__()
        self.torso = torso  # registers 'torso.c0.W', ... first, when there is one
        sizes = [in_size, hidden_size, hidden_size]
        self.shared = self._layers("shared", sizes[:shared_layers + 1], rng)
        self.actor = self._layers("actor", sizes[shared_layers:], rng)
        self.critic = self._layers("critic", sizes[shared_layers:], rng)
        self.pi = L.Linear(hidden_size, n_actions, rng=rng)
        self.v = L.Linear(hidden_size, 1, rng=rng)
        # Small policy weights: the first policy is nearly uniform, so every action is
        # tried before the gradient picks favourites (as in OpenAI baselines' A2C).
        self.pi.W.data *= 0.01
        self.pi.b.data *= 0.0

    def _layers(self, name, sizes, rng):
        layers = [L.Linear(n_in, n_out, rng=rng) for n_in, n_out in zip(sizes, sizes[1:])]
        for i, layer in enumerate(layers):
            setattr(self, f"{name}{i}", layer)  # registers 'shared0.W', 'actor0.W', ...
        return layers

    @staticmethod
    def _run(layers, x):
        for layer in layers:
            x = F.tanh(layer(x))
        return x

    def _shared(self, x):
        """What both heads read: the torso's features (if any) through the shared layers."""
        return self._run(self.shared, x if self.torso is None else self.torso(x))

    def forward(self, x):
        """x (B, in) -> (logits (B, n_actions), values (B,))."""
        h = self._shared(x)
        logits = self.pi(self._run(self.actor, h))
        return logits, F.reshape(self.v(self._run(self.critic, h)), (len(x),))

    def policy(self, x):
        """pi(.|s) as probabilities, for acting (call under no_grad)."""
        return F.softmax(self.pi(self._run(self.actor, self._shared(x))))

    def value(self, x):
        """V(s), shape (B,)."""
        h = self._run(self.critic, self._shared(x))
        return F.reshape(self.v(h), (len(x),))


def actor_critic_loss(logits, values, actions, advantages, returns, value_coef,
                      entropy_coef):
    """The A2C / A3C loss (Mnih et al. 2016, Algorithm S3, as one scalar):

        L = -mean_i log pi(a_i|s_i) A_i  +  c_v mean_i (G_i - V(s_i))^2
            -  c_e mean_i H(pi(.|s_i)),          H(p) = -sum_a p_a log p_a

    ``logits`` (B, A) and ``values`` (B,) are Variables; ``actions``, ``advantages`` and
    ``returns`` are plain arrays (constants: no gradient flows into the targets).
    Returns (loss Variable, dict of the three terms as floats).
    """
    policy_loss = -F.mean(categorical_log_prob(logits, actions) * advantages)
    value_loss = F.mean_squared_error(values, returns)
    entropy = F.mean(categorical_entropy(logits))
    loss = policy_loss + value_coef * value_loss - entropy_coef * entropy
    return loss, {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(),
                  "entropy": entropy.item()}


def rollout_loss(net, obs, actions, rewards, next_obs, terminated, truncated, h):
    """The A2C loss of one (T, N) rollout: returns, advantages, then actor_critic_loss.

    ``h`` holds gamma, returns ('n-step' or 'gae'), gae_lambda, value_coef and
    entropy_coef. One forward pass with the graph on obs (for the loss), one without
    on next_obs (the bootstrap values V(s'_t): targets, not paths for the gradient).
    """
    T, N = rewards.shape
    logits, values = net(obs.reshape(T * N, -1))
    with no_grad():
        next_values = net.value(next_obs.reshape(T * N, -1)).data.reshape(T, N)
    v = values.data.reshape(T, N)
    if h["returns"] == "gae":
        advantages = gae(rewards, v, next_values, terminated, truncated, h["gamma"],
                         h["gae_lambda"])
        returns = advantages + v
    else:
        returns = n_step_returns(rewards, next_values, terminated, truncated, h["gamma"])
        advantages = returns - v
    return actor_critic_loss(logits, values, actions.reshape(-1),
                             advantages.reshape(-1).astype(np.float32),
                             returns.reshape(-1).astype(np.float32),
                             h["value_coef"], h["entropy_coef"])


def make_optimizer(params, h):
    """Adam or RMSprop (the A3C paper's choice; alpha 0.99 as in OpenAI baselines)."""
    if h["optimizer"] == "adam":
        return optim.Adam(params, lr=h["lr"], eps=h["eps"])
    return optim.RMSprop(params, lr=h["lr"], alpha=0.99, eps=h["eps"])


def actor_critic_hyperparameters(n_steps, returns, gae_lambda, lr, entropy_coef):
    """The hyperparameters A2C and A3C share; the arguments are each agent's defaults."""
    return (
        HParam("n_steps", n_steps, int, "[1, inf)", "environment steps per rollout"),
        HParam("gamma", 0.99, float, "[0, 1]", "discount factor"),
        HParam("returns", returns, str, ("n-step", "gae"),
               "the critic's target: n-step returns or GAE(lambda)"),
        HParam("gae_lambda", gae_lambda, float, "[0, 1]", "lambda of GAE"),
        HParam("lr", lr, float, "(0, inf)", "step size"),
        HParam("optimizer", "adam", str, ("adam", "rmsprop"), "the optimizer"),
        HParam("eps", 1e-5, float, "(0, inf)", "the optimizer's epsilon"),
        HParam("hidden_size", 64, int, "[1, inf)", "width of each of the 2 hidden layers"),
        HParam("shared_layers", 1, int, (0, 1, 2),
               "hidden layers shared by actor and critic (0: two separate networks)"),
        HParam("value_coef", 0.5, float, "[0, inf)", "weight of the value loss"),
        HParam("entropy_coef", entropy_coef, float, "[0, inf)", "weight of the entropy bonus"),
        HParam("max_grad_norm", 0.5, float, "(0, inf)", "global gradient-norm clip"),
    )


# --- the agents -----------------------------------------------------------------------
class ActorCriticBase(Agent):
    """What A2C and A3C share: the two-headed network, its optimizer, acting, V(s)."""
    action_spaces = (gym.spaces.Discrete,)
    observation_spaces = (gym.spaces.Box, gym.spaces.Discrete)

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        self.n_actions = int(action_space.n)
        self.net = self.make_net()
        self.optimizer = make_optimizer(self.net.parameters(), self.hparams)

    def make_net(self):
        """The two-headed actor-critic network."""
        h = self.hparams
        return ActorCriticNet(self.encode.size, self.n_actions, h["hidden_size"],
                              h["shared_layers"], rng=self.rng)

    def act(self, obs, explore=True):
        """One observation: a ~ pi(.|s), or argmax_a pi(a|s) when explore=False."""
        with no_grad():
            probs = self.net.policy(self.encode(obs)[None]).data
        if explore:
            return int(sample_categorical(probs, self.rng)[0])
        return int(np.argmax(probs[0]))

    def value(self, obs):
        """The critic's V(s) for one observation."""
        with no_grad():
            return float(self.net.value(self.encode(obs)[None]).data[0])

    def modules(self):
        return {"net": self.net}

    def optimizers(self):
        return {"optimizer": self.optimizer}


class A2CAgent(ActorCriticBase):
    """Advantage actor-critic, synchronous: one network, ``num_envs`` envs in lock-step.

    The training loop sees ``num_envs > 1`` and steps a ``gymnasium.vector`` env
    (``async_envs=True``: one process per env); each vector step it calls
    ``act_batch(obs)`` and ``update(...)`` with (N,)-shaped arrays. Every ``n_steps``
    vector steps the agent makes one gradient step on the whole rollout.

    Resuming: the rollout being filled is saved (``extra_state``), and the loop
    replays every env's interrupted episode, so the resumed run goes on with the
    very episodes the rollout holds.
    """
    name = "a2c"
    hyperparameters = (
        HParam("num_envs", 8, int, "[2, inf)", "environments stepped together (actor-critic "
               "is the one-env form)"),
        HParam("async_envs", False, bool, None, "one process per environment"),
    ) + actor_critic_hyperparameters(n_steps=5, returns="gae", gae_lambda=0.95, lr=2e-3,
                                     entropy_coef=0.0)
    presets = {
        # stable-baselines3's A2C with rl-baselines3-zoo's CartPole-v1 settings: separate
        # actor and critic networks, RMSprop, n-step returns, no entropy bonus.
        "rl-zoo": {"num_envs": 8, "n_steps": 5, "gamma": 0.99, "returns": "n-step",
                   "lr": 7e-4, "optimizer": "rmsprop", "eps": 1e-5, "shared_layers": 0,
                   "value_coef": 0.5, "entropy_coef": 0.0, "max_grad_norm": 0.5},
        # Acrobot-v1 (returns near -100): with any layer shared the policy did not learn
        # to swing up in 150k steps; with separate actor and critic networks it does.
        "acrobot": {"shared_layers": 0},
    }

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        self.num_envs = int(self.hparams["num_envs"])
        self.rollout = Rollout(self.hparams["n_steps"], self.num_envs, self.encode.size)
        self.updates = 0

    def make_net(self):
        """The two-headed network, behind a conv torso when the observation is an image.
        (A3C keeps the plain network: its workers build their own copies of it.)"""
        h = self.hparams
        torso, size = encoder_for(self.observation_space, self.rng)
        return ActorCriticNet(size, self.n_actions, h["hidden_size"], h["shared_layers"],
                              rng=self.rng, torso=torso)

    def act_batch(self, obs_batch):
        """One sampled action per environment: a_i ~ pi(.|s_i)."""
        with no_grad():
            probs = self.net.policy(self.encode.batch(obs_batch)).data
        return sample_categorical(probs, self.rng)

    def update(self, obs, actions, rewards, next_obs, terminated, truncated):
        """Store one vector step; every ``n_steps`` of them, learn from the rollout."""
        self.rollout.add(self.encode.batch(obs), actions, rewards,
                         self.encode.batch(next_obs), terminated, truncated)
        if self.rollout.full:
            return self.learn()
        return None

    def learn(self):
        """One gradient step on the rollout's loss, clipped to ``max_grad_norm``."""
        loss, stats = rollout_loss(self.net, *self.rollout.arrays(), self.hparams)
        self.net.zero_grad()
        loss.backward()
        stats["grad_norm"] = optim.clip_grad_norm(self.net.parameters(),
                                                  self.hparams["max_grad_norm"])
        self.optimizer.step()
        self.rollout.t = 0
        self.updates += 1
        return stats

    def extra_state(self):
        return {**self.rollout.state_dict(), "updates": np.array(self.updates)}

    def load_extra_state(self, state):
        self.rollout.load_state_dict(state)
        self.updates = int(state["updates"])
