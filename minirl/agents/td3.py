"""After the book: TD3, twin delayed DDPG (Fujimoto et al. 2018, "Addressing Function
Approximation Error in Actor-Critic Methods", Algorithm 1).

DDPG's actor climbs its critic, so wherever the critic overestimates, the actor goes
there and the error is learned back into the target: an overestimation bias that
grows. TD3 changes three things, each one line of the update:

* Clipped double Q-learning (Eq. 10): two critics Q_1, Q_2 learn from ONE target, the
  smaller of the two target critics' values,

      y = r + gamma (1 - terminated) min_{i=1,2} Q'_i(s', a~)

* Target policy smoothing (Eq. 15): the target action is the target actor's plus
  clipped noise, so the target averages Q over a small region instead of trusting one
  sharp peak,

      a~ = clip(mu'(s') + clip(eps, -c, c), low, high),      eps ~ N(0, sigma~^2)

* Delayed policy updates (Sec. 5.2): the actor (along dQ_1/da, as DDPG) and all
  target networks are updated only every ``policy_delay`` critic steps, so the actor
  climbs a critic whose error has had time to shrink.

Everything else is DDPG's (``ddpg.py``), which this agent extends: the actor and its
exploration noise, and the loop all three share (``offpolicy.py``: replay, the random
warm-up, the critics' step on y, Polyak targets).
"""
import numpy as np

from minirl.agents.base import HParam
from minirl.agents.common import bootstrapped_target
from minirl.agents.ddpg import DDPGAgent
from minirl.core import no_grad

__all__ = ["target_policy_smoothing", "clipped_double_q_target", "TD3Agent"]


def target_policy_smoothing(next_action, noise, noise_clip, low, high):
    """a~ = clip(mu'(s') + clip(eps, -c, c), low, high)  (Fujimoto et al. 2018, Eq. 15).

    ``next_action`` is mu'(s') (B, A), ``noise`` the drawn eps (B, A), ``noise_clip`` c
    (per dimension or a number); all plain arrays: the target takes no gradient.
    """
    return np.clip(next_action + np.clip(noise, -noise_clip, noise_clip), low, high)


def clipped_double_q_target(reward, next_q1, next_q2, terminated, gamma):
    """y = r + gamma (1 - terminated) min(Q'_1(s', a~), Q'_2(s', a~))
    (Fujimoto et al. 2018, Eq. 10 with target networks, Algorithm 1)."""
    return bootstrapped_target(reward, np.minimum(next_q1, next_q2), terminated, gamma)


class TD3Agent(DDPGAgent):
    """DDPG with twin critics, a smoothed clipped double-Q target and delayed updates.

    ``target_noise`` (sigma~) and ``target_noise_clip`` (c) are fractions of each
    action's half-range, as DDPG's ``noise_std``: the paper's 0.2 and 0.5 were set for
    actions in [-1, 1].
    """
    name = "td3"
    hyperparameters = DDPGAgent.hyperparameters + (
        HParam("policy_delay", 2, int, "[1, inf)",
               "critic steps per actor step and target update"),
        HParam("target_noise", 0.2, float, "[0, inf)",
               "target smoothing sigma, a fraction of each action's half-range"),
        HParam("target_noise_clip", 0.5, float, "[0, inf)",
               "target smoothing clip c, a fraction of each action's half-range"),
    )
    presets = {
        # Fujimoto et al. 2018, Sec. 6.1 and Table 3: 400-300 nets, lr 1e-3, batch 100,
        # tau 0.005, exploration N(0, 0.1), 10k random warm-up steps (1k on some tasks).
        "paper": {"gamma": 0.99, "hidden_sizes": (400, 300), "batch_size": 100,
                  "buffer_size": 1_000_000, "learning_starts": 10_000},
    }

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        h = self.hparams
        self.policy_delay = h["policy_delay"]
        half_range = (self.high - self.low) / 2
        self.target_sigma = h["target_noise"] * half_range
        self.target_clip = h["target_noise_clip"] * half_range
        self.actor_loss = float("nan")  # the last actor step's loss, for the log

    def build_networks(self):
        """DDPG's actor and critic with their targets, then the twin: Q_2 and Q'_2."""
        super().build_networks()
        self.critic2, self.critic2_target = self.critic_network(), self.critic_network()

    def critics(self):
        return [self.critic, self.critic2]

    def targets(self):
        return super().targets() + [(self.critic2_target, self.critic2)]

    def update(self, obs, action, reward, next_obs, terminated, truncated):
        """Store the step; then one critic step on the smoothed clipped double-Q target,
        and every ``policy_delay`` critic steps one actor step (along dQ_1/da, as DDPG)
        and the target updates (Fujimoto et al. 2018, Algorithm 1)."""
        batch = self.remember(obs, action, reward, next_obs, terminated)
        if terminated or truncated:
            self.noise.reset()
        if batch is None:
            return None
        with no_grad():  # y is a constant: the target networks take no gradient
            next_action = self.actor_target(batch.next_obs).data
            eps = self.target_sigma * self.rng.standard_normal(next_action.shape, np.float32)
            smoothed = target_policy_smoothing(next_action, eps, self.target_clip,
                                               self.low, self.high)
            q1 = self.critic_target(batch.next_obs, smoothed).data[:, 0]
            q2 = self.critic2_target(batch.next_obs, smoothed).data[:, 0]
        y = clipped_double_q_target(batch.reward, q1, q2, batch.terminated, self.gamma)
        critic_loss = self.update_critics(batch, y)
        self.updates += 1
        if self.updates % self.policy_delay == 0:  # delayed policy updates (Sec. 5.2)
            self.actor_loss = self.update_actor(batch.obs)
            self.update_targets()
        return {"critic_loss": critic_loss, "actor_loss": self.actor_loss}

    def modules(self):
        return {**super().modules(), "critic2": self.critic2,
                "critic2_target": self.critic2_target}

    def extra_state(self):
        return {**super().extra_state(), "actor_loss": np.array(self.actor_loss)}

    def load_extra_state(self, state):
        super().load_extra_state(state)
        self.actor_loss = float(state["actor_loss"])
