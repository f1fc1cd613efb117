"""Tiny environments whose best behaviour is known exactly.

Each one isolates a single thing an agent must get right, so when an agent fails
on it you know where to look. They are used by the test suite and are handy for
debugging a new agent before trying it on anything bigger:

==============================  ======================================  ===================
environment (id minirl/...-v0)  what it checks                          optimum
==============================  ======================================  ===================
IdentityEnv                     the network maps observation -> action  return = length
BanditEnv                       learning from noisy one-step rewards    max(means)
ChainEnv                        credit assignment over several steps    return = 1
ContinuousIdentityEnv           continuous actions (DDPG)               return = 0
InfiniteHorizonEnv              bootstrapping on truncation             V = 1 / (1 - gamma)
==============================  ======================================  ===================

The learning zoo below is what ``tests/test_zoo.py`` trains every algorithm on, with
its defaults: small, fast tasks with a known optimum, each cut by truncation (the
class counts its own steps, so the registered id and the bare class behave alike):

==============================  ======================================  ===================
PermutedIdentityEnv             a state-dependent action, no credit     return = steps
                                assignment (a fixed permutation)
SparseChainEnv                  a reward only at the end of a chain;    return = 1
                                a wrong step moves one state back
ResetCorridorEnv                a reward only at the end; a wrong       return = 1
                                action sends the agent back to the start
TargetTrackingEnv               continuous actions on a moving target,  return = 0
                                a = x / 2 (not the identity)
==============================  ======================================  ===================

Importing ``minirl`` registers them as ``minirl/<name>-v0``, the name without its
``Env`` suffix (``minirl/Identity-v0``). ``gymnasium.make`` wraps the environment,
so reach the documented attributes (``optimal_action``, ``optimal_return``, ...)
through ``env.unwrapped``. Every environment takes ``reset(seed=...)`` and passes
``gymnasium.utils.env_checker.check_env``.
"""
import gymnasium as gym
import numpy as np
from gymnasium import spaces


class IdentityEnv(gym.Env):
    """Say back what you see: the observation is a random integer in [0, n), and the
    reward is 1.0 if the action equals it, else 0.0.

    The next observation is drawn independently of the action, so each step is its
    own one-step problem. The optimal policy is ``action = observation``; it gets
    reward 1 every step, so the optimal return is ``episode_length`` (the episode
    terminates after that many steps).
    """

    metadata = {"render_modes": []}

    def __init__(self, n=4, episode_length=10):
        if n < 2 or episode_length < 1:
            raise ValueError(f"IdentityEnv needs n >= 2 and episode_length >= 1, "
                             f"got n={n}, episode_length={episode_length}")
        self.n = int(n)
        self.episode_length = int(episode_length)
        self.observation_space = spaces.Discrete(self.n)
        self.action_space = spaces.Discrete(self.n)
        self.optimal_return = float(self.episode_length)
        self._obs = 0
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        self._obs = int(self.np_random.integers(self.n))
        return self._obs, {}

    def step(self, action):
        reward = 1.0 if int(action) == self._obs else 0.0
        self._t += 1
        terminated = self._t >= self.episode_length
        self._obs = int(self.np_random.integers(self.n))
        return self._obs, reward, terminated, False, {}


class BanditEnv(gym.Env):
    """A one-step multi-armed bandit (the book's chapter 1, as an environment).

    The observation is always ``[0.0]`` (a Box of shape (1,), so a network can take
    it). Action a pays 1 with probability ``means[a]`` and 0 otherwise (Bernoulli),
    and the episode terminates after that one step. The best arm is
    ``optimal_action = argmax(means)``, with expected reward ``optimal_return``.
    """

    metadata = {"render_modes": []}

    def __init__(self, means=(0.1, 0.5, 0.9, 0.3)):
        self.means = np.asarray(means, dtype=np.float64)
        if self.means.ndim != 1 or len(self.means) < 2:
            raise ValueError(f"BanditEnv needs at least two arms, got means={means}")
        if np.any(self.means < 0) or np.any(self.means > 1):
            raise ValueError(f"Bernoulli arm means must lie in [0, 1], got {means}")
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(len(self.means))
        self.optimal_action = int(np.argmax(self.means))
        self.optimal_return = float(self.means.max())

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        reward = float(self.np_random.random() < self.means[int(action)])
        return np.zeros(1, dtype=np.float32), reward, True, False, {}


class ChainEnv(gym.Env):
    """A corridor where only one action sequence pays.

    States are 0 .. length-1 and each episode starts at 0. Action 1 moves one step
    right; reaching the last state, length-1, pays 1.0 and terminates. Action 0
    terminates at once with reward 0. So the only rewarding policy is "always 1"
    (``optimal_action``), which earns ``optimal_return = 1`` after length-1 steps,
    and a discounted agent must carry that reward back through length-2 zero-reward
    steps: Q*(s, 1) = gamma^(length-2-s), Q*(s, 0) = 0 (see ``optimal_q_values``).
    """

    metadata = {"render_modes": []}

    def __init__(self, length=4):
        if length < 2:
            raise ValueError(f"ChainEnv needs length >= 2, got {length}")
        self.length = int(length)
        self.observation_space = spaces.Discrete(self.length)
        self.action_space = spaces.Discrete(2)
        self.optimal_action = 1
        self.optimal_return = 1.0
        self._state = 0

    def optimal_q_values(self, gamma):
        """Q*(s, a) for the non-terminal states 0 .. length-2, shape (length-1, 2)."""
        states = np.arange(self.length - 1)
        q = np.zeros((self.length - 1, 2))
        q[:, 1] = gamma ** (self.length - 2 - states)
        return q

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._state = 0
        return self._state, {}

    def step(self, action):
        if int(action) == 0:
            return self._state, 0.0, True, False, {}
        self._state += 1
        at_end = self._state == self.length - 1
        return self._state, 1.0 if at_end else 0.0, at_end, False, {}


class ContinuousIdentityEnv(gym.Env):
    """The identity task with continuous actions: the observation is uniform in
    [-1, 1]^dim and the reward is -sum((action - observation)^2).

    Actions are clipped to the action space [-1, 1]^dim first. The optimal policy
    is ``action = observation``, with reward 0 every step, so the optimal return is
    0; the episode terminates after ``episode_length`` steps.
    """

    metadata = {"render_modes": []}

    def __init__(self, dim=1, episode_length=10):
        if dim < 1 or episode_length < 1:
            raise ValueError(f"ContinuousIdentityEnv needs dim >= 1 and episode_length >= 1, "
                             f"got dim={dim}, episode_length={episode_length}")
        self.dim = int(dim)
        self.episode_length = int(episode_length)
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(self.dim,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self.dim,), dtype=np.float32)
        self.optimal_return = 0.0
        self._obs = np.zeros(self.dim, dtype=np.float32)
        self._t = 0

    def _draw_obs(self):
        self._obs = self.np_random.uniform(-1.0, 1.0, size=self.dim).astype(np.float32)
        return self._obs.copy()  # a fresh array: callers may keep it

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._draw_obs(), {}

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float32).reshape(self.dim), -1.0, 1.0)
        reward = -float(np.sum((action - self._obs) ** 2))
        self._t += 1
        terminated = self._t >= self.episode_length
        return self._draw_obs(), reward, terminated, False, {}


class InfiniteHorizonEnv(gym.Env):
    """Reward 1.0 every step, forever: it never terminates.

    The observation is always ``[1.0]`` and both actions do the same thing, so every
    state has the same true value

        V(s) = sum_{k>=0} gamma^k = 1 / (1 - gamma)      (``true_value``).

    Episodes end only by truncation, from a TimeLimit wrapper (the registered
    ``minirl/InfiniteHorizon-v0`` uses max_episode_steps=50). An agent that treats
    truncation as termination (no bootstrap at the cut) learns the wrong values: at
    best the mean over the episode of sum_{k<T-t} gamma^k, and at the last step only
    1, never 1/(1-gamma); ``truncated_as_terminal_value(gamma, T)`` gives
    sum_{k<T} gamma^k, the value it would assign at the start of a T-step episode.
    """

    metadata = {"render_modes": []}

    def __init__(self):
        self.observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)

    @staticmethod
    def true_value(gamma):
        """V(s) = 1 / (1 - gamma): what a correct agent converges to."""
        return 1.0 / (1.0 - gamma)

    @staticmethod
    def truncated_as_terminal_value(gamma, steps):
        """sum_{k<steps} gamma^k = (1 - gamma^steps) / (1 - gamma): the wrong value of
        the first state if the cut after ``steps`` steps is treated as terminal."""
        return (1.0 - gamma ** steps) / (1.0 - gamma)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.ones(1, dtype=np.float32), {}

    def step(self, action):
        return np.ones(1, dtype=np.float32), 1.0, False, False, {}


# ---------------------------------------------------------------------------
# The learning zoo: every task truncates after ``max_steps`` steps.
# ---------------------------------------------------------------------------

def _fixed_pattern(seed, size, high):
    """The task's hidden answer: ``size`` integers in [0, high) from its own seed, so
    the task is the same on every reset and for every agent seed."""
    return np.random.default_rng(seed).integers(high, size=size)


class PermutedIdentityEnv(gym.Env):
    """A contextual bandit: the observation is a random integer s in [0, n), and the
    reward is 1.0 if the action is ``permutation[s]``, else 0.0.

    ``permutation`` is a fixed shuffle of 0 .. n-1 (from ``task_seed``), so copying the
    observation is wrong and a policy must learn one answer per state. The next
    observation does not depend on the action. Nothing terminates: the episode is
    truncated after ``max_steps`` steps, so the optimal return is ``max_steps`` and a
    random policy earns ``max_steps / n`` on average.
    """

    metadata = {"render_modes": []}

    def __init__(self, n=5, max_steps=20, task_seed=0):
        if n < 2 or max_steps < 1:
            raise ValueError(f"PermutedIdentityEnv needs n >= 2 and max_steps >= 1, "
                             f"got n={n}, max_steps={max_steps}")
        self.n, self.max_steps = int(n), int(max_steps)
        self.permutation = np.random.default_rng(task_seed).permutation(self.n)
        self.observation_space = spaces.Discrete(self.n)
        self.action_space = spaces.Discrete(self.n)
        self.optimal_return = float(self.max_steps)
        self.random_return = self.max_steps / self.n
        self._obs, self._t = 0, 0

    def optimal_action(self, obs):
        return int(self.permutation[int(obs)])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        self._obs = int(self.np_random.integers(self.n))
        return self._obs, {}

    def step(self, action):
        reward = 1.0 if int(action) == self.permutation[self._obs] else 0.0
        self._t += 1
        self._obs = int(self.np_random.integers(self.n))
        return self._obs, reward, False, self._t >= self.max_steps, {}


class SparseChainEnv(gym.Env):
    """A chain of ``length`` states whose only reward comes at its end.

    The episode starts in state 0. In state s one of the two actions, ``correct[s]``
    (a fixed pattern from ``task_seed``), moves to s + 1; the other moves back to
    max(s - 1, 0). Reaching the last state pays 1.0 and terminates; every other step
    pays 0. After ``max_steps`` steps the episode is truncated. The optimal policy
    walks straight there: return 1 in ``length - 1`` steps. A random walk needs about
    (length - 1)^2 steps (16 by default), so exploration does find the reward, but only the
    discounted bootstrap carries it back to state 0:
    Q*(s, correct[s]) = gamma^(length-2-s) (``optimal_q_values``).
    """

    metadata = {"render_modes": []}

    def __init__(self, length=5, max_steps=30, task_seed=0):
        if length < 2 or max_steps < length - 1:
            raise ValueError(f"SparseChainEnv needs length >= 2 and max_steps >= length - 1"
                             f", got length={length}, max_steps={max_steps}")
        self.length, self.max_steps = int(length), int(max_steps)
        self.correct = _fixed_pattern(task_seed, self.length - 1, 2)
        self.observation_space = spaces.Discrete(self.length)
        self.action_space = spaces.Discrete(2)
        self.optimal_return = 1.0
        self._state, self._t = 0, 0

    def optimal_action(self, obs):
        return int(self.correct[int(obs)])

    def optimal_q_values(self, gamma):
        """Q*(s, .) for the non-terminal states 0 .. length-2, shape (length-1, 2),
        by value iteration on the chain (no time limit)."""
        q = np.zeros((self.length - 1, 2))
        for _ in range(10 * self.length):
            v = np.append(q.max(axis=1), 0.0)  # V of the last state: terminal
            for s in range(self.length - 1):
                for a in (0, 1):
                    nxt = s + 1 if a == self.correct[s] else max(s - 1, 0)
                    reward = 1.0 if nxt == self.length - 1 else 0.0
                    q[s, a] = reward + gamma * v[nxt] * (nxt != self.length - 1)
        return q

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._state, self._t = 0, 0
        return self._state, {}

    def step(self, action):
        if int(action) == self.correct[self._state]:
            self._state += 1
        else:
            self._state = max(self._state - 1, 0)
        self._t += 1
        at_end = self._state == self.length - 1
        return (self._state, 1.0 if at_end else 0.0, at_end,
                self._t >= self.max_steps and not at_end, {})


class ResetCorridorEnv(gym.Env):
    """A corridor where a wrong action sends the agent back to the start.

    The episode starts in cell 0 of ``length`` cells. In cell s the action
    ``correct[s]`` (a fixed pattern over ``n_actions`` actions, from ``task_seed``) moves
    to s + 1; any other action returns to cell 0. The last cell pays 1.0 and
    terminates; every other step pays 0, and the episode is truncated after
    ``max_steps`` steps. Optimal return: 1, in ``length - 1`` steps. Random actions
    reach the end with probability n_actions^-(length-1) per attempt, so the reward
    is rare and a single wrong greedy action anywhere loses all of it.
    """

    metadata = {"render_modes": []}

    def __init__(self, length=5, n_actions=2, max_steps=50, task_seed=0):
        if length < 2 or n_actions < 2 or max_steps < length - 1:
            raise ValueError(f"ResetCorridorEnv needs length >= 2, n_actions >= 2 and "
                             f"max_steps >= length - 1, got length={length}, "
                             f"n_actions={n_actions}, max_steps={max_steps}")
        self.length, self.max_steps = int(length), int(max_steps)
        self.correct = _fixed_pattern(task_seed, self.length - 1, n_actions)
        self.observation_space = spaces.Discrete(self.length)
        self.action_space = spaces.Discrete(int(n_actions))
        self.optimal_return = 1.0
        self._state, self._t = 0, 0

    def optimal_action(self, obs):
        return int(self.correct[int(obs)])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._state, self._t = 0, 0
        return self._state, {}

    def step(self, action):
        self._state = self._state + 1 if int(action) == self.correct[self._state] else 0
        self._t += 1
        at_end = self._state == self.length - 1
        return (self._state, 1.0 if at_end else 0.0, at_end,
                self._t >= self.max_steps and not at_end, {})


class TargetTrackingEnv(gym.Env):
    """Follow a moving target with a continuous action.

    The observation is the target's position x in [-1, 1], which takes a random walk
    (x' = clip(x + u, -1, 1), u uniform in [-step_size, step_size]). The action a in
    [-1, 1] (clipped) is rewarded -(a - scale * x)^2, so the optimal policy is
    a = scale * x (``optimal_action``; scale 1/2 by default, not the identity), with
    return 0 over the ``max_steps`` steps after which the episode is truncated.
    Always acting 0 earns about -max_steps * scale^2 / 3 (``zero_action_return``,
    x uniform on [-1, 1]).
    """

    metadata = {"render_modes": []}

    def __init__(self, scale=0.5, step_size=0.2, max_steps=20):
        if not 0 < abs(scale) <= 1 or step_size < 0 or max_steps < 1:
            raise ValueError(f"TargetTrackingEnv needs 0 < |scale| <= 1, step_size >= 0 and "
                             f"max_steps >= 1, got scale={scale}, step_size={step_size}, "
                             f"max_steps={max_steps}")
        self.scale, self.step_size, self.max_steps = float(scale), float(step_size), \
            int(max_steps)
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.optimal_return = 0.0
        self.zero_action_return = -self.max_steps * self.scale ** 2 / 3
        self._x, self._t = np.zeros(1, np.float32), 0

    def optimal_action(self, obs):
        return (self.scale * np.asarray(obs, np.float32)).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        self._x = self.np_random.uniform(-1.0, 1.0, size=1).astype(np.float32)
        return self._x.copy(), {}

    def step(self, action):
        action = np.clip(np.asarray(action, np.float32).reshape(1), -1.0, 1.0)
        reward = -float(np.sum((action - self.scale * self._x) ** 2))
        self._t += 1
        move = self.np_random.uniform(-self.step_size, self.step_size, size=1)
        self._x = np.clip(self._x + move, -1.0, 1.0).astype(np.float32)
        return self._x.copy(), reward, False, self._t >= self.max_steps, {}
