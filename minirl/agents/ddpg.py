"""Chapter 10: DDPG, deep deterministic policy gradient, for continuous actions.

DQN acts by ``argmax_a Q(s, a)`` and learns from ``max_a' Q(s', a')``. With a
continuous action there is no list of actions to take the max over. DDPG (Lillicrap et
al. 2016, "Continuous control with deep reinforcement learning", Algorithm 1) learns
the argmax instead: an *actor* mu(s; theta) outputs the action, and a *critic*
Q(s, a; phi) scores it.

* Critic, as in DQN, with the actor standing in for the max (Lillicrap et al. Eq. 4-5):

      y = r + gamma (1 - terminated) Q'(s', mu'(s'))        L(phi) = mean (Q(s, a) - y)^2

  where Q' and mu' are slowly moving target copies; y is a constant (no gradient).
* Actor, by the deterministic policy gradient (Silver et al. 2014, Theorem 1; Lillicrap
  et al. Eq. 6): climb the critic's estimate of its own actions,

      J(theta) = mean_s Q(s, mu(s; theta))
      grad_theta J = mean_s dQ/da (s, a)|_{a = mu(s)} * dmu/dtheta (s)

  Backprop of ``-mean Q(s, mu(s))`` computes exactly this product: the gradient flows
  through the critic into the actor. The critic is held fixed in this step -- only the
  actor's optimizer steps.
* Targets follow by Polyak averaging, theta' <- tau theta + (1 - tau) theta'.
* Exploration adds noise to the actor's action (Gaussian, or the paper's
  Ornstein-Uhlenbeck process) and clips to the action bounds; the first
  ``learning_starts`` steps act uniformly at random to fill the replay buffer.

Replay, the random warm-up, the critic step and the Polyak targets are the loop DDPG
shares with TD3 and SAC (``offpolicy.py``). A time limit is not a terminal state: a
truncated step still bootstraps from Q'(s', .).
"""
import numpy as np

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl.agents.base import HParam
from minirl.agents.common import bootstrapped_target
from minirl.agents.hparams import SIZES
from minirl.agents.offpolicy import Critic, OffPolicyActorCritic, frozen, scale_action
from minirl.core import no_grad

__all__ = ["Actor", "ddpg_target", "actor_loss", "GaussianNoise", "OrnsteinUhlenbeckNoise",
           "DDPGAgent", "Critic", "frozen", "scale_action"]


class Actor(L.Module):
    """mu(s) = scale_action(tanh(MLP(s))): a deterministic policy inside the bounds."""

    def __init__(self, obs_size, action_size, hidden_sizes, low, high, dtype=np.float32,
                 rng=None):
        super().__init__()
        self.net = L.MLP((obs_size, *hidden_sizes, action_size), output_activation=F.tanh,
                         dtype=dtype, rng=rng)
        self.low, self.high = np.asarray(low, dtype), np.asarray(high, dtype)

    def forward(self, obs):
        return scale_action(self.net(obs), self.low, self.high)


def ddpg_target(reward, next_q, terminated, gamma):
    """y = r + gamma * (1 - terminated) * Q'(s', mu'(s'))  (Lillicrap et al. 2016, Alg. 1).

    ``next_q`` holds Q'(s', mu'(s')) as a plain array: the target takes no gradient.
    Only termination zeroes the bootstrap; a truncated step keeps it.
    """
    return bootstrapped_target(reward, next_q, terminated, gamma)


def actor_loss(actor, critic, obs):
    """-J(theta) = -mean_s Q(s, mu(s; theta)); its gradient in theta is minus the
    deterministic policy gradient mean_s dQ/da * dmu/dtheta (Silver et al. 2014)."""
    return -F.mean(critic(obs, actor(obs)))


class GaussianNoise:
    """Independent N(0, sigma^2) noise for every action dimension, every step."""

    def __init__(self, sigma, rng):
        self.sigma, self.rng = np.asarray(sigma, np.float32), rng

    def __call__(self):
        return self.sigma * self.rng.standard_normal(self.sigma.shape, np.float32)

    def reset(self):
        pass  # nothing carries over from one step to the next


class OrnsteinUhlenbeckNoise:
    """Temporally correlated noise (Uhlenbeck & Ornstein 1930; used by Lillicrap et al.):

        x <- x + theta (0 - x) dt + sigma sqrt(dt) eps,    eps ~ N(0, 1)

    It drifts back to 0 at rate theta, so consecutive actions are pushed the same way
    for a while, which explores better than independent noise where momentum matters.
    ``state`` starts at 0 and is reset at the start of each episode.
    """

    def __init__(self, sigma, rng, theta=0.15, dt=1e-2):
        self.sigma, self.rng = np.asarray(sigma, np.float32), rng
        self.theta, self.dt = theta, dt
        self.state = np.zeros(self.sigma.shape, np.float32)

    def __call__(self):
        eps = self.rng.standard_normal(self.state.shape, np.float32)
        self.state += (-self.theta * self.dt) * self.state + \
            self.sigma * np.float32(np.sqrt(self.dt)) * eps
        return self.state.copy()

    def reset(self):
        self.state[...] = 0.0


class DDPGAgent(OffPolicyActorCritic):
    """DDPG: actor, critic, their target copies, replay, and exploration noise.

    ``noise_std`` is sigma as a fraction of the half-range (high - low) / 2 of each
    action dimension, so one setting means the same on any bounds (on Pendulum's
    [-2, 2] torque, 0.1 is an absolute sigma of 0.2).
    """
    name = "ddpg"
    hyperparameters = (
        HParam("gamma", 0.98, float, "[0, 1]", "discount factor"),
        HParam("actor_lr", 1e-3, float, "(0, inf)", "Adam step size of the actor"),
        HParam("critic_lr", 1e-3, float, "(0, inf)", "Adam step size of the critic"),
        # the rl-zoo's (400, 300) learns Pendulum no better
        HParam("hidden_sizes", (64, 64), SIZES, None, "hidden widths of actor and critic"),
        HParam("batch_size", 256, int, "[1, inf)", "minibatch size"),
        HParam("buffer_size", 200_000, int, "[1, inf)", "replay capacity"),
        HParam("tau", 0.005, float, "(0, 1]", "soft target update rate"),
        HParam("learning_starts", 1000, int, "[0, inf)",  # 10k: no learning in a short run
               "random actions and no learning for this many steps"),
        HParam("noise", "gaussian", str, ("gaussian", "ou"),
               "exploration noise: Gaussian or Ornstein-Uhlenbeck"),
        HParam("noise_std", 0.1, float, "[0, inf)",
               "noise sigma as a fraction of each action's half-range"),
        HParam("ou_theta", 0.15, float, "[0, inf)", "OU mean reversion"),
        HParam("ou_dt", 1e-2, float, "[0, inf)", "OU time step"),
    )
    presets = {
        # Lillicrap et al. 2016, Sec. 7: lrs 1e-4 / 1e-3, 400-300 nets, tau 0.001,
        # OU noise theta 0.15 sigma 0.2, minibatch 64, buffer 1e6.
        "paper": {"gamma": 0.99, "actor_lr": 1e-4, "critic_lr": 1e-3,
                  "hidden_sizes": (400, 300), "batch_size": 64, "buffer_size": 1_000_000,
                  "tau": 0.001, "noise": "ou", "noise_std": 0.2, "ou_dt": 1.0},
    }

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        h = self.hparams
        # Each optimizer holds only its own networks: the actor's step cannot move the
        # critic even though the actor's gradient passes through it. The critics' one
        # optimizer holds every critic (TD3 has two): they regress one y together.
        self.actor_optimizer = optim.Adam(self.actor.parameters(), lr=h["actor_lr"])
        critic_params = [p for critic in self.critics() for p in critic.parameters()]
        self.critic_optimizer = optim.Adam(critic_params, lr=h["critic_lr"])
        sigma = h["noise_std"] * (self.high - self.low) / 2
        if h["noise"] == "ou":
            self.noise = OrnsteinUhlenbeckNoise(sigma, self.rng, h["ou_theta"], h["ou_dt"])
        else:
            self.noise = GaussianNoise(sigma, self.rng)

    def build_networks(self):
        """mu(s) and Q(s, a), then their targets mu' and Q' (Algorithm 1)."""
        self.actor = self.actor_network()
        self.critic = self.critic_network()
        self.actor_target, self.critic_target = self.actor_network(), self.critic_network()

    def actor_network(self):
        return Actor(self.encode.size, self.action_size, self.hidden_sizes, self.low,
                     self.high, rng=self.rng)

    def critics(self):
        return [self.critic]

    def targets(self):
        return [(self.actor_target, self.actor), (self.critic_target, self.critic)]

    # -- acting ---------------------------------------------------------------------
    def policy(self, obs_batch):
        """mu(s) for a batch of observations, as an ndarray (batch, action_size)."""
        with no_grad():
            return self.actor(self.encode.batch(obs_batch)).data

    def value(self, obs):
        """Q(s, mu(s)) for one observation: the critic's value of the greedy action."""
        x = self.encode(obs)[None]
        with no_grad():
            return float(self.critic(x, self.actor(x)).data[0, 0])

    def act(self, obs, explore=True):
        """mu(s) (+ noise, clipped to the bounds when exploring); uniform at random for
        the first ``learning_starts`` steps."""
        if explore and self.steps < self.learning_starts:
            return self.random_action()
        with no_grad():
            action = self.actor(self.encode(obs)[None]).data[0]
        if explore:
            action = np.clip(action + self.noise(), self.low, self.high)
        return action.reshape(self.action_space.shape)

    # -- learning -------------------------------------------------------------------
    def update(self, obs, action, reward, next_obs, terminated, truncated):
        """Store the step; then one critic step on the target y, one actor step and the
        Polyak target update (Lillicrap et al. 2016, Algorithm 1)."""
        batch = self.remember(obs, action, reward, next_obs, terminated)
        if terminated or truncated:
            self.noise.reset()  # a new episode starts the OU process afresh
        if batch is None:
            return None
        with no_grad():  # y is a constant: the target networks take no gradient
            next_q = self.critic_target(batch.next_obs, self.actor_target(batch.next_obs))
        y = ddpg_target(batch.reward, next_q.data[:, 0], batch.terminated, self.gamma)
        critic_loss = self.update_critics(batch, y)
        loss = self.update_actor(batch.obs)
        self.update_targets()
        self.updates += 1
        return {"critic_loss": critic_loss, "actor_loss": loss}

    def update_actor(self, obs):
        """One Adam step along the deterministic policy gradient (Eq. 6) of the online
        critic Q_1, which is held fixed."""
        with frozen(self.critic):  # gradient through the critic, none left on it
            loss = actor_loss(self.actor, self.critic, obs)
            self.actor_optimizer.zero_grad()
            loss.backward()
        self.actor_optimizer.step()
        return loss.item()

    # -- state ----------------------------------------------------------------------
    def modules(self):
        return {"actor": self.actor, "critic": self.critic,
                "actor_target": self.actor_target, "critic_target": self.critic_target}

    def optimizers(self):
        return {"actor": self.actor_optimizer, "critic": self.critic_optimizer}

    def extra_state(self):
        state = super().extra_state()
        if isinstance(self.noise, OrnsteinUhlenbeckNoise):
            state["noise.state"] = self.noise.state.copy()
        return state

    def load_extra_state(self, state):
        super().load_extra_state(state)
        if isinstance(self.noise, OrnsteinUhlenbeckNoise):
            self.noise.state[...] = state["noise.state"]
