"""Chapter 1: the multi-armed bandit.

A bandit has ``arms`` slot machines; playing arm ``a`` pays a random reward whose mean
``q*(a)`` the agent does not know. The agent keeps an estimate ``Q(a)`` of each arm's
value and plays epsilon-greedily: a random arm with probability epsilon (explore),
otherwise the arm with the largest estimate (exploit).

* ``Agent`` estimates by the sample average, computed incrementally:
  Q_n = Q_{n-1} + (R_n - Q_{n-1}) / n.
* ``AlphaAgent`` uses a constant step size: Q_n = Q_{n-1} + alpha (R_n - Q_{n-1}),
  an exponentially weighted average that forgets old rewards -- what a
  non-stationary bandit (``NonStatBandit``, whose arm values drift) needs.
"""
import numpy as np


class Bandit:
    """A stationary bandit.

    ``kind="bernoulli"`` (the book's): arm a pays 1 with probability ``rates[a]``,
    else 0; the rates are drawn uniformly from [0, 1) unless ``values`` gives them.
    ``kind="gaussian"``: arm a pays a normal reward with mean ``rates[a]`` and
    standard deviation 1; the means are drawn from N(0, 1) unless given.
    """

    def __init__(self, arms=10, kind="bernoulli", values=None, seed=None):
        if kind not in ("bernoulli", "gaussian"):
            raise ValueError(f"kind must be 'bernoulli' or 'gaussian', got {kind!r}")
        self.rng = np.random.default_rng(seed)
        self.kind = kind
        if values is not None:
            self.rates = np.array(values, dtype=np.float64)
        elif kind == "bernoulli":
            self.rates = self.rng.random(arms)
        else:
            self.rates = self.rng.standard_normal(arms)
        self.arms = len(self.rates)

    def play(self, arm):
        rate = self.rates[arm]
        if self.kind == "bernoulli":
            return 1.0 if rate > self.rng.random() else 0.0
        return float(rate + self.rng.standard_normal())


class NonStatBandit(Bandit):
    """A non-stationary bandit: after every play, each arm's value drifts by
    Gaussian noise with standard deviation ``noise`` (the book uses 0.1)."""

    def __init__(self, arms=10, kind="bernoulli", values=None, noise=0.1, seed=None):
        super().__init__(arms, kind, values, seed)
        self.noise = noise

    def play(self, arm):
        reward = super().play(arm)
        self.rates += self.noise * self.rng.standard_normal(self.arms)
        return reward


class Agent:
    """Epsilon-greedy agent with sample-average estimates."""

    def __init__(self, epsilon, action_size=10, seed=None):
        self.epsilon = epsilon
        self.Qs = np.zeros(action_size)
        self.ns = np.zeros(action_size)  # how often each arm has been played
        self.rng = np.random.default_rng(seed)

    def update(self, action, reward):
        """Incremental mean: Q_n = Q_{n-1} + (R_n - Q_{n-1}) / n.

        Same as averaging all n rewards, but needs no list of them."""
        self.ns[action] += 1
        self.Qs[action] += (reward - self.Qs[action]) / self.ns[action]

    def get_action(self):
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(len(self.Qs)))  # explore
        return int(np.argmax(self.Qs))  # exploit

    def reset(self):
        self.Qs[:] = 0.0
        self.ns[:] = 0.0


class AlphaAgent(Agent):
    """Epsilon-greedy agent with a constant step size alpha."""

    def __init__(self, epsilon, alpha, action_size=10, seed=None):
        super().__init__(epsilon, action_size, seed)
        self.alpha = alpha

    def update(self, action, reward):
        """Q_n = Q_{n-1} + alpha (R_n - Q_{n-1}).

        Unrolled, reward R_k weighs alpha (1 - alpha)^(n-k): recent rewards count
        most, so the estimate follows an arm whose value moves."""
        self.ns[action] += 1
        self.Qs[action] += (reward - self.Qs[action]) * self.alpha


def run_bandit(agent, bandit, steps=1000):
    """Play ``steps`` times. Returns ``(rewards, rates)``: the reward of each step,
    and the average reward so far after each step (the book's "rates")."""
    rewards = np.zeros(steps)
    for step in range(steps):
        action = agent.get_action()
        reward = bandit.play(action)
        agent.update(action, reward)
        rewards[step] = reward
    rates = np.cumsum(rewards) / np.arange(1, steps + 1)
    return rewards, rates
