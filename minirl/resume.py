"""Resuming a run: read it back, check it fits, and put the env back where it was.

A checkpoint holds the agent and the loop's state, including each episode in flight:
the seed it started from and the actions taken since. A deterministic environment
reset with that seed and given those actions again is in the very state it was in
when the run stopped, so a resumed run ends where an uninterrupted one does.
"""
import os

from minirl.agents.base import space_to_json
from minirl.checkpoint import (CheckpointError, build_agent, read_checkpoint, read_config,
                               saved_env_id)
from minirl.envcheck import env_name
from minirl.envs import make_env

__all__ = ["ReplayError", "load_run", "check_resumable", "replay"]


class ReplayError(RuntimeError):
    """Replaying a saved episode did not bring the env back: it is not deterministic."""


def load_run(path, name, env, seed):
    """The saved run in ``path``: ``(config, agent, loop_state, env)``, checked against
    what the caller asks for (``name``, ``env``, ``seed``; None: the saved one)."""
    config, agent_state, loop_state = read_checkpoint(path)
    if os.path.exists(os.path.join(path, "config.json")):
        on_disk = read_config(path)
        if on_disk.get("algo") != config["algo"]:
            raise CheckpointError(f"{path}: checkpoint.npz is a {config['algo']} run but "
                                  f"config.json describes a {on_disk.get('algo')} run")
    # An id read from the file is used only if it runs no code (no "module:" prefix,
    # already registered); the caller may still name any env explicitly.
    if env is None:
        env = saved_env_id(config, os.path.join(path, "checkpoint.npz"))
    check_resumable(config, name, env, seed, path)
    agent = build_agent(config, agent_state, path)
    return config, agent, loop_state, env


def check_resumable(config, name, env, seed, out):
    """Refuse a resume that does not match the saved run, naming both sides."""
    if name is not None and name != config["algo"]:
        raise ValueError(f"{out} holds a {config['algo']} run; cannot resume it as {name}")
    saved_env = config.get("env")
    if isinstance(env, str) and saved_env is not None and env != saved_env:
        raise ValueError(f"{out} was trained on {saved_env}; cannot resume it on {env}")
    if seed is not None and seed != config["seed"]:
        raise ValueError(f"{out} was trained with seed {config['seed']}; cannot resume it "
                         f"with seed {seed}")
    made = make_env(env)
    for which in ("observation_space", "action_space"):
        here, saved = space_to_json(getattr(made, which)), config[which]
        if here != saved:
            raise ValueError(f"{out} was trained with {which.replace('_', ' ')} {saved}; "
                             f"{env_name(env)} has {here}")


def replay(env, episode, reset, step, actions=None):
    """Reset ``env`` with the episode's seed and take its actions again: the env is
    back where the run stopped. ``reset(env, seed)`` and ``step(env, action)`` are
    the run's (they check what the env returns). Returns the observation."""
    obs = reset(env, episode.seed)
    for action in episode.actions if actions is None else actions:
        obs, _, terminated, truncated = step(env, action)
        if terminated or truncated:
            raise ReplayError("resume: replaying the saved episode ended it early; the "
                              "environment is not deterministic given its seed")
    return obs
