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

Everything else -- replay, exploration noise, Polyak targets, the random warm-up -- is
DDPG's (``ddpg.py``), which this agent extends.
"""
import numpy as np

import minirl.functions as F
import minirl.optimizers as optim
from minirl.agents.base import HParam
from minirl.agents.common import bootstrapped_target
from minirl.agents.ddpg import Critic, DDPGAgent
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
        # DDPG's 10k warm-up is the rl-zoo's Pendulum setting; TD3's own paper uses 1k on
        # most tasks, and it leaves a small task's budget room to learn.
        HParam("learning_starts", 1000, int, "[0, inf)",
               "random actions and no learning for this many steps"),
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
        hidden = tuple(int(n) for n in h["hidden_sizes"])
        self.critic2 = Critic(self.encode.size, self.action_size, hidden, rng=self.rng)
        self.critic2_target = Critic(self.encode.size, self.action_size, hidden, rng=self.rng)
        optim.hard_update(self.critic2_target, self.critic2)
        # One optimizer for both critics: they share the target and are stepped together.
        critics = self.critic.parameters() + self.critic2.parameters()
        self.critic_optimizer = optim.Adam(critics, lr=h["critic_lr"])
        half_range = (self.high - self.low) / 2
        self.target_sigma = h["target_noise"] * half_range
        self.target_clip = h["target_noise_clip"] * half_range
        self.actor_loss = float("nan")  # the last actor step's loss, for the log

    def update(self, obs, action, reward, next_obs, terminated, truncated):
        """Store the step; then one critic step, and every ``policy_delay`` critic steps
        one actor step and the target updates (Algorithm 1)."""
        self.buffer.add(self.encode(obs), np.reshape(action, self.action_size), reward,
                        self.encode(next_obs), terminated)
        self.steps += 1
        if terminated or truncated:
            self.noise.reset()
        if self.steps < max(self.learning_starts, self.batch_size):
            return None
        batch = self.buffer.sample(self.batch_size)
        critic_loss = self.update_critic(batch)
        self.updates += 1
        if self.updates % self.hparams["policy_delay"] == 0:
            self.actor_loss = self.update_actor(batch.obs)  # along dQ_1/da, as DDPG
            self.update_targets()
        return {"critic_loss": critic_loss, "actor_loss": self.actor_loss}

    def target(self, batch):
        """y for a batch: smoothed target action, then the clipped double-Q target."""
        with no_grad():  # y is a constant
            next_action = self.actor_target(batch.next_obs).data
            noise = self.target_sigma * self.rng.standard_normal(next_action.shape,
                                                                 np.float32)
            smoothed = target_policy_smoothing(next_action, noise, self.target_clip,
                                               self.low, self.high)
            q1 = self.critic_target(batch.next_obs, smoothed).data[:, 0]
            q2 = self.critic2_target(batch.next_obs, smoothed).data[:, 0]
        return clipped_double_q_target(batch.reward, q1, q2, batch.terminated, self.gamma)

    def update_critic(self, batch):
        """One Adam step on mean (Q_1(s, a) - y)^2 + mean (Q_2(s, a) - y)^2."""
        y = self.target(batch)[:, None]
        loss = (F.mean_squared_error(self.critic(batch.obs, batch.action), y)
                + F.mean_squared_error(self.critic2(batch.obs, batch.action), y))
        self.critic_optimizer.zero_grad()
        loss.backward()
        self.critic_optimizer.step()
        return loss.item()

    def update_targets(self):
        """theta' <- tau theta + (1 - tau) theta' for the actor and both critics."""
        super().update_targets()
        optim.soft_update(self.critic2_target, self.critic2, self.tau)

    def modules(self):
        return {**super().modules(), "critic2": self.critic2,
                "critic2_target": self.critic2_target}

    def extra_state(self):
        return {**super().extra_state(), "actor_loss": np.array(self.actor_loss)}

    def load_extra_state(self, state):
        super().load_extra_state(state)
        self.actor_loss = float(state["actor_loss"])
