"""Environments that break the gymnasium contract on purpose, and a harness for
signals. Importing this module registers each env as ``fault_envs:<Name>-v0``, so
``gymnasium.make`` (and ``minirl train --env``) finds them in a fresh process too,
as long as this directory is on the path.
"""
import os
import time

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import register, registry


class Box4(gym.Env):
    """A well-behaved 4-dim Box env (CartPole-like shapes); subclasses break one rule.
    Episodes last 10 steps; reward 1 per step; action 0 or 1."""

    metadata = {"render_modes": []}

    def __init__(self, bad_at=3):
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.bad_at, self.t = bad_at, 0

    def obs(self):
        return np.full(4, 0.1 * (self.t % 10), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.obs(), {}

    def step(self, action):
        self.t += 1
        return self.obs(), 1.0, self.t % 10 == 0, False, {}


class BareReset(Box4):
    """reset() returns the observation alone (the old gym API)."""

    def reset(self, *, seed=None, options=None):
        return super().reset(seed=seed)[0]


class FourValueStep(Box4):
    """step() returns (obs, reward, done, info) (the old gym API)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated or truncated, info


class SquareObs(Box4):
    """Observations of shape (2, 2) where the space declares (4,)."""

    def obs(self):
        return super().obs().reshape(2, 2)


class SixObs(Box4):
    """Observations of 6 numbers where the space declares 4."""

    def obs(self):
        return np.zeros(6, np.float32)


class NaNReward(Box4):
    """Reward NaN at step ``bad_at`` of each episode."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, (np.nan if self.t == self.bad_at else reward), terminated, truncated, info


class InfObs(Box4):
    """An infinite observation at step ``bad_at`` of each episode."""

    def obs(self):
        x = super().obs()
        if self.t == self.bad_at:
            x[1] = np.inf
        return x


class HugeReward(Box4):
    """Finite but enormous rewards once ``bad_at`` steps have passed in this env:
    a TD loss squares them into infinity."""

    def __init__(self, bad_at=40):
        super().__init__(bad_at)
        self.total = 0

    def step(self, action):
        self.total += 1
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, (1e38 if self.total > self.bad_at else reward), terminated, truncated, info


class RaisesAfter(Box4):
    """Raises RuntimeError after ``bad_at`` steps in this env (a worker's crash)."""

    def __init__(self, bad_at=50):
        super().__init__(bad_at)
        self.total = 0

    def step(self, action):
        self.total += 1
        if self.total > self.bad_at:
            raise RuntimeError(f"injected failure after {self.bad_at} steps")
        return super().step(action)


class Slow(Box4):
    """A fine env that takes ``delay`` seconds per step: signals land mid-run."""

    def __init__(self, delay=0.002):
        super().__init__()
        self.delay = delay

    def step(self, action):
        time.sleep(self.delay)
        return super().step(action)


class SlowEval(Box4):
    """Fast in training; in a greedy evaluation (reset with a seed in 1,000,000 ..
    1,000,099: the loop's evaluation seeds for seed 0) each step sleeps 0.05 s, and the first such reset creates
    the file named by $EVAL_MARKER: a test knows an evaluation is running."""

    def reset(self, *, seed=None, options=None):
        self.evaluating = seed is not None and 1_000_000 <= seed < 1_000_100
        marker = os.environ.get("EVAL_MARKER")
        if self.evaluating and marker and not os.path.exists(marker):
            open(marker, "w").close()
        return super().reset(seed=seed)

    def step(self, action):
        if self.evaluating:
            time.sleep(0.05)
        return super().step(action)


class Endless(Box4):
    """An episode that never ends."""

    def step(self, action):
        obs, reward, _, _, info = super().step(action)
        return obs, reward, False, False, info


class GrowsObs(Box4):
    """From step ``bad_at`` of an episode on, observations of 5 numbers (declared 4)."""

    def obs(self):
        return np.zeros(5 if self.t >= self.bad_at else 4, np.float32)


class ArrayReward(Box4):
    """From step ``bad_at`` of an episode on, the reward is an array of shape (1,)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return (obs, np.array([reward]) if self.t >= self.bad_at else reward, terminated,
                truncated, info)


class DiscreteOut(gym.Env):
    """A Discrete(3) observation that leaves its range (7) at step ``bad_at``."""

    metadata = {"render_modes": []}

    def __init__(self, bad_at=3):
        self.observation_space, self.action_space = spaces.Discrete(3), spaces.Discrete(2)
        self.bad_at, self.t = bad_at, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return 0, {}

    def step(self, action):
        self.t += 1
        return (7 if self.t == self.bad_at else self.t % 3), 1.0, self.t == 10, False, {}


class Scripted(gym.Env):
    """Episodes known in advance, for checking the loop's records by value.

    Episode k of this env (its k-th reset, whatever the seed) lasts ``length(k)``
    steps with rewards ``reward(k, t)`` (t = 1 .. length); it ends truncated when k is
    odd, terminated when k is even. The observation is ``[k, t]``: the last one of
    episode k is ``[k, length(k)]``, the first of the next ``[k + 1, 0]``, so a loop
    that hands ``update`` the next episode's first observation shows it."""

    metadata = {"render_modes": []}

    def __init__(self):
        self.observation_space = spaces.Box(0.0, 1e6, shape=(2,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.k, self.t = -1, 0

    @staticmethod
    def length(k):
        return 2 + k % 3

    @staticmethod
    def reward(k, t):
        return 0.5 + k + 0.25 * t

    @staticmethod
    def truncated(k):
        return k % 2 == 1

    def obs(self):
        return np.array([self.k, self.t], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.k, self.t = self.k + 1, 0
        return self.obs(), {}

    def step(self, action):
        self.t += 1
        end = self.t == self.length(self.k)
        truncated = end and self.truncated(self.k)
        return (self.obs(), self.reward(self.k, self.t), end and not truncated, truncated,
                {})


for _cls in (Box4, BareReset, FourValueStep, SquareObs, SixObs, NaNReward, InfObs,
             HugeReward, RaisesAfter, Slow, Scripted, SlowEval, Endless, GrowsObs,
             ArrayReward, DiscreteOut):
    if f"{_cls.__name__}-v0" not in registry:
        register(f"{_cls.__name__}-v0", entry_point=_cls, disable_env_checker=True)


# --- a save that waits, so a test can signal the process while it saves -------------
SAVE_HOOK = """
import os, sys, time
import numpy as np
import minirl.checkpoint as checkpoint

# The first checkpoint save waits in the middle of ``phase`` ('write': writing the
# temporary files; 'rename': after renaming checkpoint.npz into place) until a second
# signal has had time to arrive, and says so by creating the file SAVE_MARKER.
phase, marker = os.environ["SAVE_PHASE"], os.environ["SAVE_MARKER"]
real_savez, real_replace = np.savez, os.replace

def wait_here():
    if not os.path.exists(marker):  # the first save only
        open(marker, "w").close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:   # a signal handler raises in here
            time.sleep(0.01)

def savez(*args, **kwargs):
    if phase == "write":
        wait_here()
    return real_savez(*args, **kwargs)

def replace(src, dst):
    real_replace(src, dst)
    if phase == "rename" and os.fspath(dst).endswith("checkpoint.npz"):
        wait_here()  # the checkpoint is in place; the CSV files are not yet

np.savez = savez
checkpoint.os = type(os)("os_with_slow_replace")
checkpoint.os.__dict__.update(os.__dict__)
checkpoint.os.replace = replace
from minirl.cli import main
sys.exit(main(sys.argv[1:]))
"""
