"""Environments: the book's GridWorld and small test environments.

Importing ``minirl`` registers them with gymnasium, so ``gymnasium.make`` and
``minirl train --env`` find them by id. The entry points are strings, so a class is
imported only when its environment is made.
"""
import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import register, registry


def _register(env_id, entry_point, **kwargs):
    if env_id not in registry:  # importing twice (reload, tests) must not warn
        register(id=env_id, entry_point=entry_point, **kwargs)


_register("minirl/GridWorld-v0", "minirl.envs.gridworld:GridWorld", max_episode_steps=100)
_register("minirl/Identity-v0", "minirl.envs.testing:IdentityEnv")
_register("minirl/Bandit-v0", "minirl.envs.testing:BanditEnv")
_register("minirl/Chain-v0", "minirl.envs.testing:ChainEnv")
_register("minirl/ContinuousIdentity-v0", "minirl.envs.testing:ContinuousIdentityEnv")
_register("minirl/InfiniteHorizon-v0", "minirl.envs.testing:InfiniteHorizonEnv",
          max_episode_steps=50)
# The learning zoo: each task truncates by itself (see minirl.envs.testing).
for _name in ("PermutedIdentity", "SparseChain", "ResetCorridor", "TargetTracking"):
    _register(f"minirl/{_name}-v0", f"minirl.envs.testing:{_name}Env")
_register("minirl/Quadrant-v0", "minirl.envs.images:QuadrantEnv")  # images: conv torso


def make_env(env, **kwargs):
    """An env id -> ``gymnasium.make(id)`` (a clear ValueError if unknown); an Env passes.

    An id ``"module:Env-v0"`` imports ``module`` first (gymnasium's rule); that is for
    ids a user types, never for ids read from a file (see ``checkpoint.saved_env_id``).
    """
    if isinstance(env, str) and env.startswith("MinAtar/"):  # an optional extra
        from minirl.envs.images import make_minatar
        return make_minatar(env, **kwargs)
    if isinstance(env, str):
        try:
            return gym.make(env, **kwargs)
        except (gym.error.Error, ImportError) as error:  # ImportError: "mod:Env" without mod
            raise ValueError(f"cannot make environment {env!r}: {error}") from None
    if not isinstance(env, gym.Env):
        raise TypeError(f"env must be a gymnasium.Env or an env id, got {type(env).__name__}")
    return env


class CountVisits(gym.Wrapper):
    """Counts how often each action is taken in each state of a Discrete env:
    ``visits[s, a]``, for a Q map that shows what was never tried."""

    def __init__(self, env):
        super().__init__(env)
        self.visits = np.zeros((env.observation_space.n, env.action_space.n), dtype=int)
        self.state = None

    def reset(self, **kwargs):
        self.state, info = self.env.reset(**kwargs)
        return self.state, info

    def step(self, action):
        self.visits[self.state, action] += 1
        self.state, *rest = self.env.step(action)
        return (self.state, *rest)
