"""Chapter 7: Q-learning with a neural network as the Q function.

The tabular Q-learning update of chapter 6,

    Q(s, a) <- Q(s, a) + alpha [ r + gamma max_a' Q(s', a') - Q(s, a) ],

becomes a regression: the network's Q(s, a; theta) is pulled towards the TD target

    y = r + gamma max_a' Q(s', a'; theta)       (y = r when s' is terminal)

by one gradient step on the loss (y - Q(s, a; theta))^2, with y held constant. The
target is computed under ``no_grad``: it is a number, not a path for the gradient
(a semi-gradient method, Sutton & Barto section 9.3). The chapter's listing runs the
target through the network with the graph on and relies on ``unchain``; here the
graph is never built. It also writes ``done`` where the math needs ``terminated``: a
time limit is not a terminal state, so a truncated step still bootstraps.
"""
import gymnasium as gym
import numpy as np

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl.agents.base import Agent, HParam
from minirl.agents.common import bootstrapped_target
from minirl.core import no_grad

__all__ = ["QNet", "QLearningAgent", "q_learning_target"]


class QNet(L.Module):
    """One-hot state -> Linear(100) -> ReLU -> Linear(n_actions): the book's QNet."""

    def __init__(self, in_size, n_actions, hidden_size=100, rng=None):
        super().__init__()
        self.l1 = L.Linear(in_size, hidden_size, rng=rng)
        self.l2 = L.Linear(hidden_size, n_actions, rng=rng)

    def forward(self, x):
        return self.l2(F.relu(self.l1(x)))


def q_learning_target(reward, next_q, terminated, gamma):
    """y = r + gamma * (1 - terminated) * max_a' Q(s', a'): the Q-learning target of
    chapter 6 (Sutton & Barto Eq. 6.8), now the regression target of the network.

    ``next_q`` holds Q(s', .) as a plain array (no gradient flows into it).
    """
    return bootstrapped_target(reward, next_q.max(axis=-1), terminated, gamma)


class QLearningAgent(Agent):
    """Chapter 7's agent: epsilon-greedy on a QNet, one SGD step per environment step."""
    name = "qnet"
    action_spaces = (gym.spaces.Discrete,)
    observation_spaces = (gym.spaces.Discrete, gym.spaces.Box)
    hyperparameters = (
        HParam("gamma", 0.9, float, "[0, 1]", "discount factor"),
        HParam("lr", 0.01, float, "(0, inf)", "SGD step size"),
        # 0.5, not the book's 0.1: from the single start, 0.1 leaves the cells off the
        # greedy path nearly unvisited and their greedy actions wrong (docs/ch07.md).
        HParam("epsilon", 0.5, float, "[0, 1]", "probability of a random action"),
        HParam("hidden_size", 100, int, "[1, inf)", "width of the one hidden layer"),
    )
    presets = {"book": {"epsilon": 0.1}}  # the chapter's settings

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        h = self.hparams
        self.n_actions = int(action_space.n)
        self.qnet = QNet(self.encode.size, self.n_actions, h["hidden_size"], rng=self.rng)
        self.optimizer = optim.SGD(self.qnet.parameters(), lr=h["lr"])

    def q_values(self, obs):
        """Q(s, .) for one observation, as an ndarray."""
        with no_grad():
            return self.qnet(self.encode(obs)[None]).data[0]

    def act(self, obs, explore=True):
        """Epsilon-greedy: a random action with probability epsilon, else argmax Q."""
        if explore and self.rng.random() < self.hparams["epsilon"]:
            return int(self.rng.integers(self.n_actions))
        return int(np.argmax(self.q_values(obs)))

    def update(self, obs, action, reward, next_obs, terminated, truncated):
        next_q = self.q_values(next_obs)  # under no_grad: the target is a constant
        target = q_learning_target(np.float32(reward), next_q, float(terminated),
                                   self.hparams["gamma"])
        q = self.qnet(self.encode(obs)[None])[0, action]
        loss = F.mean_squared_error(q, np.asarray(target, np.float32))
        self.qnet.zero_grad()
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item()}

    def modules(self):
        return {"qnet": self.qnet}

    def optimizers(self):
        return {"optimizer": self.optimizer}
