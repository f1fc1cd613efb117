"""Environments checked at the door: a broken env fails on its first step, by name.

A gymnasium env must return ``(obs, info)`` from ``reset`` and
``(obs, reward, terminated, truncated, info)`` from ``step``, with observations that fit
its declared ``observation_space``. A mistake there otherwise surfaces far away, as
``cannot reshape array`` inside a network or ``too many values to unpack`` in the loop,
or not at all: an observation of shape (2, 2) declared as (4,) would be flattened and
trained on. So the loop checks the first ``reset`` and ``step`` of every env in full,
and every step after that, cheaply, for what breaks learning later or silently: an
observation whose shape or kind of number changed, a Discrete observation out of
range, a reward that is not one number, a NaN or infinite reward or observation
(parameters turn NaN a few updates later). ``allow_nonfinite=True``
(``--allow-nonfinite``) lets through envs that mean to send non-finite values.
An exception raised inside the env's own ``reset`` or ``step`` becomes ``EnvError``:
one line naming the env, the call, the step and the exception.
"""
import numbers

import gymnasium as gym
import numpy as np

__all__ = ["EnvCheckError", "EnvError", "env_name", "env_failed", "check_reset",
           "check_step", "check_fits", "check_finite"]


class EnvCheckError(ValueError):
    """An environment returned something a gymnasium env must not."""


class EnvError(RuntimeError):
    """An environment raised inside its own ``reset`` or ``step``."""


def env_failed(name, call, step, error, more=""):
    """The EnvError for ``error`` raised by ``call`` ("step()", "reset()") at ``step``:
    one line (``more``: what the caller adds, e.g. what is on disk)."""
    what = " ".join(str(error).split()) or "(no message)"
    return EnvError(f"{name}: {call} raised {type(error).__name__}: {what} at step {step}"
                    f"{'; ' + more if more else ''}")


def env_name(env):
    """The env id for messages (its class name if it has no id)."""
    if isinstance(env, str):
        return env
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(getattr(env, "unwrapped", env)).__name__


def _describe(value):
    shape = getattr(value, "shape", None)
    return f"{type(value).__name__}{'' if shape is None else f' of shape {shape}'}: {value!r}"


def accepted_kinds(space):
    """The NumPy dtype kinds an observation of a Box ``space`` may have: any number
    for a float space, integers for an integer space, bools for a bool space."""
    return {"f": "fiu", "b": "b"}.get(space.dtype.kind, "iu")


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
        if array.dtype.kind not in accepted_kinds(space):
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


def check_fits(name, step, obs, reward, space, batch=False):
    """Every step, cheaply: the observation has the declared shape and kind of number
    (a Discrete one is in range), the reward is one number. With ``batch``, ``obs``
    and ``reward`` hold one row per env of a vector env."""
    lead = (len(reward),) if batch else ()
    if np.shape(reward) != lead or np.asarray(reward).dtype.kind not in "fiu":
        raise EnvCheckError(f"{name}: step() returned reward {_describe(reward)} at step "
                            f"{step}; a reward is one number")
    if isinstance(space, gym.spaces.Discrete):
        array = np.asarray(obs)
        if array.shape != lead or array.dtype.kind not in "iu":
            raise EnvCheckError(f"{name}: step() returned observation {_describe(obs)} at "
                                f"step {step}; its observation space {space} needs an "
                                f"integer")
        outside = (array < space.start) | (array >= space.start + space.n)
        if outside.any():
            i = int(np.flatnonzero(outside)[0]) if batch else None
            shown, where = (array[i], f" (env {i} of {len(array)})") if batch else (obs, "")
            raise EnvCheckError(f"{name}: step() returned observation {shown} at step "
                                f"{step}{where}, outside its observation space {space}")
    elif isinstance(space, gym.spaces.Box):
        array = np.asarray(obs)
        if array.shape != lead + space.shape:
            raise EnvCheckError(f"{name}: step() returned an observation of shape "
                                f"{array.shape[len(lead):]} at step {step}; its observation "
                                f"space {space} declares shape {space.shape}")
        if array.dtype.kind not in accepted_kinds(space):
            raise EnvCheckError(f"{name}: step() returned an observation of dtype "
                                f"{array.dtype} at step {step}; its observation space "
                                f"declares {space.dtype}")


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
