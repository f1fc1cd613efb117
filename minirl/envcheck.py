"""Environments checked at the door: a broken env fails on its first step, by name.

A gymnasium env must return ``(obs, info)`` from ``reset`` and
``(obs, reward, terminated, truncated, info)`` from ``step``, with observations that fit
its declared ``observation_space``. A mistake there otherwise surfaces far away, as
``cannot reshape array`` inside a network or ``too many values to unpack`` in the loop,
or not at all: an observation of shape (2, 2) declared as (4,) would be flattened and
trained on. So the loop checks the first ``reset`` and ``step`` of every env in full,
and every step after that for what breaks learning silently: a NaN or infinite reward
or observation (parameters turn NaN a few updates later). ``allow_nonfinite=True``
(``--allow-nonfinite``) lets through envs that mean to send them.
"""
import numbers

import gymnasium as gym
import numpy as np

__all__ = ["EnvCheckError", "env_name", "check_reset", "check_step", "check_finite"]


class EnvCheckError(ValueError):
    """An environment returned something a gymnasium env must not."""


def env_name(env):
    """The env id for messages (its class name if it has no id)."""
    if isinstance(env, str):
        return env
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(getattr(env, "unwrapped", env)).__name__


def _describe(value):
    shape = getattr(value, "shape", None)
    return f"{type(value).__name__}{'' if shape is None else f' of shape {shape}'}: {value!r}"


def check_observation(name, obs, space, where):
    """``obs`` has the shape and kind of values ``space`` declares."""
    if isinstance(space, gym.spaces.Discrete):
        if isinstance(obs, (bool, np.bool_)) or not isinstance(obs, (numbers.Integral,
                                                                      np.ndarray)):
            raise EnvCheckError(f"{name}: {where} returned observation {_describe(obs)}; "
                                f"its observation space {space} needs an integer")
        if isinstance(obs, np.ndarray) and (obs.shape != () or obs.dtype.kind not in "iu"):
            raise EnvCheckError(f"{name}: {where} returned observation {_describe(obs)}; "
                                f"its observation space {space} needs an integer")
        if not space.start <= int(obs) < space.start + space.n:
            raise EnvCheckError(f"{name}: {where} returned observation {int(obs)}, outside "
                                f"its observation space {space}")
    elif isinstance(space, gym.spaces.Box):
        array = np.asarray(obs)
        if array.shape != space.shape:
            raise EnvCheckError(f"{name}: {where} returned an observation of shape "
                                f"{array.shape}; its observation space {space} declares "
                                f"shape {space.shape}")
        kinds = {"f": "fiu", "b": "b"}.get(space.dtype.kind, "iu")  # bool space: bools
        if array.dtype.kind not in kinds:
            raise EnvCheckError(f"{name}: {where} returned an observation of dtype "
                                f"{array.dtype}; its observation space declares "
                                f"{space.dtype}")


def check_reset(name, result, space):
    """The first ``reset``: ``(obs, info)`` with ``obs`` in the space. Returns obs."""
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
        raise EnvCheckError(f"{name}: reset() must return (observation, info dict), got "
                            f"{_describe(result)}")
    check_observation(name, result[0], space, "reset()")
    return result[0]


def check_step(name, result, space):
    """The first ``step``: five values of the right kinds, ``obs`` in the space."""
    if not (isinstance(result, tuple) and len(result) == 5):
        raise EnvCheckError(f"{name}: step() must return (observation, reward, terminated, "
                            f"truncated, info), got {_describe(result)}")
    obs, reward, terminated, truncated, info = result
    if isinstance(reward, (bool, np.bool_)) or not (
            isinstance(reward, numbers.Real) or np.ndim(reward) == 0
            and np.asarray(reward).dtype.kind in "fiu"):
        raise EnvCheckError(f"{name}: step() returned reward {_describe(reward)}; a "
                            f"reward is one number")
    for flag, value in (("terminated", terminated), ("truncated", truncated)):
        if not isinstance(value, (bool, np.bool_)):
            raise EnvCheckError(f"{name}: step() returned {flag}={_describe(value)}; it "
                                f"must be True or False")
    if not isinstance(info, dict):
        raise EnvCheckError(f"{name}: step() returned info {_describe(info)}, not a dict")
    check_observation(name, obs, space, "step()")


def check_finite(name, step, obs, reward, batch=False):
    """A NaN or infinite reward or observation, at loop step ``step``, is an error.
    With ``batch``, ``obs`` and ``reward`` hold one row per env of a vector env."""
    for what, value in (("reward", reward), ("observation", obs)):
        array = np.asarray(value)
        if array.dtype.kind != "f" or np.isfinite(array).all():
            continue
        where = ""
        if batch:
            i = int(np.flatnonzero(~np.isfinite(array).reshape(len(array), -1).all(axis=1))[0])
            array, where = array[i], f" (env {i} of {len(value)})"
        shown = float(array) if array.ndim == 0 else array
        raise EnvCheckError(f"{name}: non-finite {what} {shown!r} at step {step}{where} "
                            f"(pass allow_nonfinite=True / --allow-nonfinite if the env "
                            f"means it)")
