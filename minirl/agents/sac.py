"""After the book: SAC, soft actor-critic with a learned temperature (Haarnoja et al.
2018, "Soft Actor-Critic Algorithms and Applications", Algorithm 1).

SAC maximises reward plus entropy, J(pi) = sum_t E[r_t + alpha H(pi(.|s_t))] (Eq. 1):
the policy is stochastic on purpose and explores by itself, and alpha (the
temperature) sets the price of certainty. Its pieces, each a function below:

* The policy is a Gaussian squashed by tanh onto the action bounds, sampled by
  reparameterisation (Eq. 11), so the sample is a differentiable function of the
  parameters and of noise xi drawn beforehand:

      u = mu(s) + sigma(s) xi,  xi ~ N(0, I)       a = center + half_range tanh(u)

  Its log-density by the change of variables (Appendix C, Eq. 26, with the affine
  scaling included):

      log pi(a|s) = log N(u; mu, sigma^2) - sum_i log(1 - tanh^2 u_i) - sum_i log half_range_i

* Twin soft Q critics learn from the soft target (Eq. 3 and 5, with TD3's min over two
  target critics, Sec. 5):

      y = r + gamma (1 - terminated) (min_i Q'_i(s', a') - alpha log pi(a'|s')),  a' ~ pi(.|s')

* The actor minimises the reparameterised loss (Eq. 7 with Eq. 11)

      J_pi = mean_s [alpha log pi(a~|s) - min_i Q_i(s, a~)],   a~ = f(xi; s)

* alpha is learned so that the policy's entropy stays near a target H = -dim(A)
  (Eq. 18, Sec. 5):  J(alpha) = mean_s [-alpha (log pi(a~|s) + H)],  log pi held constant.

Replay, the random warm-up, the twin critics' step on y and the Polyak targets are the
loop SAC shares with DDPG and TD3 (``offpolicy.py``); there is no target actor.
"""
import numpy as np

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl.agents.base import HParam
from minirl.agents.common import bootstrapped_target, gaussian_log_prob
from minirl.agents.hparams import SIZES
from minirl.agents.offpolicy import OffPolicyActorCritic, frozen, scale_action
from minirl.core import no_grad

__all__ = ["log1m_tanh_sq", "squashed_gaussian_log_prob", "reparameterized_action",
           "soft_q_target", "sac_actor_loss", "temperature_loss", "SquashedGaussianActor",
           "Temperature", "SACAgent"]

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # sigma in [2e-9, 7.4], as stable-baselines3
LOG_2 = float(np.log(2.0))


def log1m_tanh_sq(u):
    """log(1 - tanh^2 u) = 2 (log 2 - |u| - log(1 + exp(-2|u|))), stably.

    1 - tanh^2 u rounds to 0 for |u| > 9 in float32, and its log to -inf; this form
    never forms that difference (1 - tanh^2 = sech^2 = 4 / (e^u + e^-u)^2), and
    exp(-2|u|) <= 1 cannot overflow. |u| = relu(u) + relu(-u) keeps it differentiable.
    """
    abs_u = F.relu(u) + F.relu(-u)
    return 2.0 * (LOG_2 - abs_u - F.log(1.0 + F.exp(-2.0 * abs_u)))


def squashed_gaussian_log_prob(u, mean, log_std, half_range):
    """log pi(a|s) for a = center + half_range tanh(u), u ~ N(mean, sigma^2)
    (Haarnoja et al. 2018, Appendix C, Eq. 26; the affine step divides the density by
    prod half_range). ``u`` (B, A) is the pre-squash sample; returns (B,)."""
    return (gaussian_log_prob(u, mean, log_std) - F.sum(log1m_tanh_sq(u), axis=-1)
            - float(np.sum(np.log(half_range))))


def reparameterized_action(mean, log_std, xi, low, high):
    """a~ = f(xi; s) = scale(tanh(mu + sigma xi)) and its log pi(a~|s) (Eq. 11).

    ``xi`` ~ N(0, I) is drawn beforehand: a~ is then a differentiable function of the
    network's outputs ``mean`` and ``log_std``. Returns (action, log_prob) Variables.
    """
    u = mean + F.exp(log_std) * xi
    action = scale_action(F.tanh(u), low, high)
    return action, squashed_gaussian_log_prob(u, mean, log_std, (high - low) / 2)


def soft_q_target(reward, next_q1, next_q2, next_log_prob, terminated, gamma, alpha):
    """y = r + gamma (1 - terminated) (min(Q'_1, Q'_2)(s', a') - alpha log pi(a'|s'))
    (Eq. 3 and 5 with twin target critics); plain arrays: the target is a constant."""
    soft_value = np.minimum(next_q1, next_q2) - alpha * next_log_prob
    return bootstrapped_target(reward, soft_value, terminated, gamma)


def sac_actor_loss(alpha, log_prob, q1, q2):
    """J_pi = mean [alpha log pi(a~|s) - min(Q_1, Q_2)(s, a~)]  (Eq. 7 with Eq. 11).

    ``log_prob`` (B,), ``q1``, ``q2`` (B,) are Variables depending on the actor through
    a~; alpha is a number (the temperature is not trained by this loss)."""
    return F.mean(alpha * log_prob - F.minimum(q1, q2))


def temperature_loss(log_alpha, log_prob, target_entropy):
    """J(alpha) = mean [-alpha (log pi(a~|s) + H_target)]  (Eq. 18), alpha = exp(log_alpha).

    ``log_prob`` is a plain array (the policy is not trained by this loss). Its gradient
    d/d log_alpha = -alpha mean(log pi + H_target): alpha grows while the entropy
    -mean log pi is below the target, and shrinks while it is above.
    """
    return -F.mean(F.exp(log_alpha) * (np.asarray(log_prob) + target_entropy))


class SquashedGaussianActor(L.Module):
    """obs -> ReLU MLP -> (mu(s), log sigma(s)), log sigma clipped to [-20, 2]."""

    def __init__(self, obs_size, action_size, hidden_sizes, rng=None):
        super().__init__()
        self.trunk = L.MLP((obs_size, *hidden_sizes), output_activation=F.relu, rng=rng)
        self.mean = L.Linear(hidden_sizes[-1], action_size, rng=rng)
        self.log_std = L.Linear(hidden_sizes[-1], action_size, rng=rng)

    def forward(self, obs):
        h = self.trunk(obs)
        return self.mean(h), F.clip(self.log_std(h), LOG_STD_MIN, LOG_STD_MAX)


class Temperature(L.Module):
    """log alpha, a single learned number (learned in log space: alpha stays > 0)."""

    def __init__(self, alpha):
        super().__init__()
        self.log_alpha = L.Parameter(np.array(np.log(alpha), np.float32), name="log_alpha")

    @property
    def alpha(self):
        return float(np.exp(self.log_alpha.data))


class SACAgent(OffPolicyActorCritic):
    """SAC: a squashed Gaussian actor, twin critics and their targets, replay, alpha."""
    name = "sac"
    hyperparameters = (
        HParam("gamma", 0.99, float, "[0, 1]", "discount factor"),
        HParam("lr", 1e-3, float, "(0, inf)", "Adam step size of actor, critics and alpha"),
        HParam("hidden_sizes", (64, 64), SIZES, None, "hidden widths of actor and critics"),
        HParam("batch_size", 256, int, "[1, inf)", "minibatch size"),
        HParam("buffer_size", 200_000, int, "[1, inf)", "replay capacity"),
        HParam("tau", 0.005, float, "(0, 1]", "soft target update rate"),
        HParam("learning_starts", 100, int, "[0, inf)",
               "random actions and no learning for this many steps"),
        HParam("alpha", 1.0, float, "(0, inf)", "the temperature (its start if learned)"),
        HParam("autotune", True, bool, None, "learn alpha against the target entropy"),
        HParam("target_entropy", None, float, None, "the entropy alpha aims for",
               none="-dim(A)"),
    )
    presets = {
        # Haarnoja et al. 2018, Table 1: lr 3e-4, 256-256 nets, batch 256, buffer 1e6.
        "paper": {"lr": 3e-4, "hidden_sizes": (256, 256), "buffer_size": 1_000_000,
                  "learning_starts": 10_000},
    }

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        h = self.hparams
        self.autotune = h["autotune"]
        self.target_entropy = (-float(self.action_size) if h["target_entropy"] is None
                               else h["target_entropy"])
        self.temperature = Temperature(h["alpha"])
        self.actor_optimizer = optim.Adam(self.actor.parameters(), lr=h["lr"])
        critic_params = self.critic1.parameters() + self.critic2.parameters()
        self.critic_optimizer = optim.Adam(critic_params, lr=h["lr"])
        self.alpha_optimizer = optim.Adam(self.temperature.parameters(), lr=h["lr"])

    def build_networks(self):
        """pi(.|s), the twin critics Q_1, Q_2, then their targets Q'_1, Q'_2."""
        self.actor = SquashedGaussianActor(self.encode.size, self.action_size,
                                           self.hidden_sizes, rng=self.rng)
        self.critic1, self.critic2 = self.critic_network(), self.critic_network()
        self.critic1_target, self.critic2_target = self.critic_network(), self.critic_network()

    def critics(self):
        return [self.critic1, self.critic2]

    def targets(self):
        return [(self.critic1_target, self.critic1), (self.critic2_target, self.critic2)]

    # -- acting -------------------------------------------------------------------------
    def sample(self, obs):
        """a~ = f(xi; s) and log pi(a~|s) for a batch of encoded observations, with fresh
        noise xi from the agent's generator; Variables (graph on unless no_grad)."""
        mean, log_std = self.actor(obs)
        xi = self.rng.standard_normal(mean.shape).astype(np.float32)
        return reparameterized_action(mean, log_std, xi, self.low, self.high)

    def act(self, obs, explore=True):
        """A sample of pi(.|s), or the squashed mean when explore=False; uniform at random
        for the first ``learning_starts`` steps."""
        if explore and self.steps < self.learning_starts:
            return self.random_action()
        x = self.encode(obs)[None]
        with no_grad():
            if explore:
                action = self.sample(x)[0].data[0]
            else:
                mean, _ = self.actor(x)
                action = scale_action(np.tanh(mean.data[0]), self.low, self.high)
        return np.asarray(action, np.float32).reshape(self.action_space.shape)

    def value(self, obs):
        """min_i Q_i(s, a) at the greedy action."""
        x = self.encode(obs)[None]
        a = self.act(obs, explore=False).reshape(1, -1)
        with no_grad():
            return float(min(self.critic1(x, a).data[0, 0], self.critic2(x, a).data[0, 0]))

    # -- learning -----------------------------------------------------------------------
    def update(self, obs, action, reward, next_obs, terminated, truncated):
        """Store the step; then one step each on the critics (on the soft target), the
        actor and alpha, and the Polyak target update (Haarnoja et al. 2018, Alg. 1)."""
        batch = self.remember(obs, action, reward, next_obs, terminated)
        if batch is None:
            return None
        with no_grad():  # y is a constant; a' ~ pi(.|s') afresh, from the online actor
            next_action, next_log_prob = self.sample(batch.next_obs)
            q1 = self.critic1_target(batch.next_obs, next_action).data[:, 0]
            q2 = self.critic2_target(batch.next_obs, next_action).data[:, 0]
        y = soft_q_target(batch.reward, q1, q2, next_log_prob.data, batch.terminated,
                          self.gamma, self.temperature.alpha)
        stats = {"critic_loss": self.update_critics(batch, y)}
        actor_loss, log_prob = self.update_actor(batch.obs)
        stats.update(actor_loss=actor_loss, entropy=-float(np.mean(log_prob)))
        if self.autotune:
            stats["alpha_loss"] = self.update_temperature(log_prob)
        stats["alpha"] = self.temperature.alpha
        self.update_targets()
        self.updates += 1
        return stats

    def actor_objective(self, obs):
        """J_pi on a batch, with a~ = f(xi; s) for fresh noise: (loss, log pi(a~|s))."""
        action, log_prob = self.sample(obs)
        q1 = F.reshape(self.critic1(obs, action), (len(obs),))
        q2 = F.reshape(self.critic2(obs, action), (len(obs),))
        return sac_actor_loss(self.temperature.alpha, log_prob, q1, q2), log_prob

    def update_actor(self, obs):
        """One Adam step on J_pi; the critics pass the gradient on and are not moved.
        Returns (loss, log pi(a~|s) as an array, for the temperature step)."""
        with frozen(self.critic1), frozen(self.critic2):
            loss, log_prob = self.actor_objective(obs)
            self.actor_optimizer.zero_grad()
            loss.backward()
        self.actor_optimizer.step()
        return loss.item(), log_prob.data

    def update_temperature(self, log_prob):
        """One Adam step on J(alpha)."""
        loss = temperature_loss(self.temperature.log_alpha, log_prob, self.target_entropy)
        self.alpha_optimizer.zero_grad()
        loss.backward()
        self.alpha_optimizer.step()
        return loss.item()

    # -- state --------------------------------------------------------------------------
    def modules(self):
        return {"actor": self.actor, "critic1": self.critic1, "critic2": self.critic2,
                "critic1_target": self.critic1_target, "critic2_target": self.critic2_target,
                "temperature": self.temperature}

    def optimizers(self):
        return {"actor": self.actor_optimizer, "critic": self.critic_optimizer,
                "alpha": self.alpha_optimizer}
