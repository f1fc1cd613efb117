"""What DDPG, TD3 and SAC share: one off-policy actor-critic loop.

All three learn a critic Q(s, a) from a replay buffer and an actor from the critic, and
all three follow the same algorithm (Lillicrap et al. 2016, Algorithm 1; Fujimoto et
al. 2018, Algorithm 1; Haarnoja et al. 2018, Algorithm 1):

    build the actor and the critics; each target network theta' starts as a copy of theta
    for each environment step:
        store (s, a, r, s', terminated) in the replay buffer D
        (the first ``learning_starts`` steps act uniformly at random and learn nothing)
        sample a minibatch from D
        y = the paper's target, from the target networks              <- each paper's own
        one step on the critics:  L = sum_i mean (Q_i(s, a) - y)^2
        one step on the actor                                         <- each paper's own
        theta' <- tau theta + (1 - tau) theta'  for each target        (Polyak averaging)

This module holds everything but the marked lines; ``ddpg.py``, ``td3.py`` and
``sac.py`` each hold their paper's target, actor and exploration.

A time limit is not a terminal state: the buffer stores ``terminated`` alone, so a step
cut by truncation still bootstraps from Q'(s', .) and only a real end does not.
"""
import gymnasium as gym
import numpy as np

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl.agents.base import Agent
from minirl.agents.common import finite_action_bounds, strip_prefix
from minirl.replay import ReplayBuffer

__all__ = ["scale_action", "Critic", "frozen", "OffPolicyActorCritic"]


def scale_action(u, low, high):
    """a = (high + low) / 2 + (high - low) / 2 * u: maps u in [-1, 1] onto [low, high].

    Works on ndarrays and on Variables (then it is differentiable in ``u``); ``low``
    and ``high`` are per-dimension bounds of the action space, which need not be
    symmetric.
    """
    center = (high + low) / 2
    half_range = (high - low) / 2
    return center + half_range * u


class Critic(L.Module):
    """Q(s, a) = MLP([s, a]): state and action concatenated, one output per row."""

    def __init__(self, obs_size, action_size, hidden_sizes, dtype=np.float32, rng=None):
        super().__init__()
        self.net = L.MLP((obs_size + action_size, *hidden_sizes, 1), dtype=dtype, rng=rng)

    def forward(self, obs, action):
        return self.net(F.concat([obs, action], axis=1))  # (batch, 1)


class frozen:
    """``with frozen(module):`` its parameters act as constants.

    A backward pass still runs *through* the module to its inputs, but leaves no
    gradient on its parameters (PyTorch's ``requires_grad_(False)``). Both the forward
    and the backward pass must run inside the block.
    """

    def __init__(self, module):
        self.params = module.parameters()

    def __enter__(self):
        for p in self.params:
            p.requires_grad = False

    def __exit__(self, *exc_info):
        for p in self.params:
            p.requires_grad = True


class OffPolicyActorCritic(Agent):
    """The shared loop: replay, random warm-up, critics and their targets, Polyak.

    A subclass builds its networks in ``build_networks`` and names them in ``critics``
    (Q_1, and Q_2 for twin critics) and ``targets`` ((target, network) pairs), and sets
    ``critic_optimizer`` over the critics; its ``update`` stores the step with
    ``remember``, computes its paper's target y and hands it to ``update_critics``,
    steps its actor and calls ``update_targets``.
    """
    action_spaces = (gym.spaces.Box,)

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        h = self.hparams
        self.low, self.high = finite_action_bounds(self.name, action_space)
        self.action_size = self.low.size
        self.gamma, self.tau, self.batch_size = h["gamma"], h["tau"], h["batch_size"]
        self.learning_starts = h["learning_starts"]
        self.hidden_sizes = tuple(int(n) for n in h["hidden_sizes"])
        self.build_networks()
        for target, network in self.targets():  # theta' <- theta: targets start as copies
            optim.hard_update(target, network)
        self.buffer = ReplayBuffer(h["buffer_size"], self.encode.shape, (self.action_size,),
                                   action_dtype=np.float32, rng=self.rng)
        self.steps = 0    # update() calls: environment steps seen
        self.updates = 0  # gradient steps taken

    # -- networks -----------------------------------------------------------------------
    def build_networks(self):
        """Set the actor, the critics and their target networks as attributes."""
        raise NotImplementedError

    def critic_network(self):
        """A fresh Q(s, a). A target network is built the same way: its random start is
        then overwritten by the copy theta' <- theta."""
        return Critic(self.encode.size, self.action_size, self.hidden_sizes, rng=self.rng)

    def critics(self):
        """[Q_1] or [Q_1, Q_2]: the critics that learn from y."""
        raise NotImplementedError

    def targets(self):
        """[(target, network)]: each target network and the network it follows."""
        raise NotImplementedError

    # -- acting and storing -------------------------------------------------------------
    def random_action(self):
        """Uniform in [low, high]: the warm-up's action, before any learning."""
        action = self.rng.uniform(self.low, self.high).astype(np.float32)
        return action.reshape(self.action_space.shape)

    def remember(self, obs, action, reward, next_obs, terminated):
        """Store (s, a, r, s', terminated) and count the step; return a minibatch to
        learn from, or None during the warm-up. ``terminated`` only: a truncated step
        keeps its bootstrap."""
        self.buffer.add(self.encode(obs), np.reshape(action, self.action_size), reward,
                        self.encode(next_obs), terminated)
        self.steps += 1
        if self.steps < max(self.learning_starts, self.batch_size):
            return None
        return self.buffer.sample(self.batch_size)

    # -- learning -----------------------------------------------------------------------
    def update_critics(self, batch, y):
        """One Adam step on L = sum_i mean (Q_i(s, a) - y)^2: every critic regresses the
        one target y (B,) (Lillicrap et al. 2016, Eq. 4, one critic; Fujimoto et al. 2018,
        Algorithm 1, and Haarnoja et al. 2018, Eq. 5, two)."""
        y = y[:, None]
        losses = [F.mean_squared_error(q(batch.obs, batch.action), y) for q in self.critics()]
        loss = sum(losses[1:], start=losses[0])
        self.critic_optimizer.zero_grad()
        loss.backward()
        self.critic_optimizer.step()
        return loss.item()

    def update_targets(self):
        """theta' <- tau theta + (1 - tau) theta' for every target network (Polyak
        averaging; Lillicrap et al. 2016, Algorithm 1)."""
        for target, network in self.targets():
            optim.soft_update(target, network, self.tau)

    # -- state --------------------------------------------------------------------------
    def extra_state(self):
        state = {f"buffer.{k}": v for k, v in self.buffer.state_dict().items()}
        return {**state, "steps": np.array(self.steps), "updates": np.array(self.updates)}

    def load_extra_state(self, state):
        self.buffer.load_state_dict(strip_prefix(state, "buffer."))
        self.steps, self.updates = int(state["steps"]), int(state["updates"])
