"""The one training loop: act, step, update; log episodes; evaluate; checkpoint.

Every agent trains through ``train``, so every run has the same shape and leaves the
same files in its directory:

    config.json        algorithm, env, seed, steps, hyperparameters, loop settings
    metrics.csv        step,episode,return,length   (one row per finished episode)
    evaluations.csv    step,mean_return,std_return  (greedy evaluations)
    stats.csv          step,time,sps,<update stats>  (every ``log_every`` steps: wall
                       time, steps per second, and the mean of each figure the agent's
                       ``update`` returned since the row before -- loss, grad_norm, ...)
    checkpoint.npz     agent + loop state (see minirl/checkpoint.py)
    best.npz           the agent at its best greedy evaluation
    curve.png          the learning curve

Where things are: the loop itself, act - step - update - record - evaluate, on one
env, a vector env or an agent's own worker processes, is ``minirl/loop.py``; the
``Trainer`` that runs it (checks, evaluations, stats, checkpoints, the summary) is
``minirl/trainer.py``; the settings ``minirl/settings.py``; the loop's state
``minirl/runstate.py``; saving ``minirl/saving.py``; resuming ``minirl/resume.py``;
signals ``minirl/signals.py``; the run directory and its lock ``minirl/rundir.py``.
This file holds the entry points: ``train``, ``resume`` and ``evaluate``.

Determinism: each episode starts from ``env.reset(seed=...)`` with a seed drawn from
the loop's own generator, and the agent draws from its own; so the same seed gives the
same ``metrics.csv``, byte for byte. Resuming replays the interrupted episode's actions
on an environment reset with that episode's seed, which puts it back in the very state
it was in; a resumed run therefore ends where an uninterrupted one does.

Stopping (see minirl/signals.py): the first Ctrl-C or SIGTERM finishes the step in
flight, saves, and raises ``TrainingInterrupted``; a second one stops without saving.
A checkpoint is also saved every ``checkpoint_every`` seconds (60 by default), so a
SIGKILL or a power cut loses at most that much. A non-finite loss or parameter stops
the run and is never saved over the last good checkpoint.
"""
import json
import os
import warnings

import numpy as np

from minirl import __version__
from minirl.agents import make_agent
from minirl.checkpoint import CheckpointError, atomic_write_all
from minirl.envcheck import env_name
from minirl.envs import make_env
from minirl.resume import load_run
from minirl.rundir import RunDirectory
from minirl.runstate import RunState
from minirl.saving import NonFiniteError, SaveError
from minirl.settings import Settings
from minirl.signals import Interrupted, StopSignals, TrainingInterrupted
from minirl.threads import blas_limited
from minirl.trainer import EVAL_SEED_OFFSET, Trainer, TrainResult, env_id

__all__ = ["Settings", "TrainResult", "Trainer", "TrainingInterrupted", "NonFiniteError",
           "SaveError", "EpisodeCut", "train", "resume", "evaluate", "greedy_episode",
           "make_env", "EVAL_SEED_OFFSET", "EVAL_MAX_STEPS"]


# --- the entry points --------------------------------------------------------------------
@blas_limited
def train(name, env, steps, seed=None, out=None, *, settings=None, preset=None,
          resume=False, force=False, **options):
    """Train algorithm ``name`` on ``env`` for ``steps`` environment steps.

    ``env`` is a gymnasium env or an env id; ``seed`` defaults to 0. With ``out``, the
    run directory receives config.json, metrics.csv, evaluations.csv, stats.csv,
    checkpoint.npz, best.npz and curve.png; a directory holding another run is refused
    unless ``force=True`` (clear it first). Only one run may use a directory at a time.
    ``options`` are the agent's hyperparameters and the loop's settings by name
    (``eval_every``, ``eval_episodes``, ``stop_return``, ``checkpoint_every``,
    ``log_every``, ``allow_nonfinite``, ``quiet``, ``plot``: see ``Settings``), or
    pass ``settings=Settings(...)``. ``resume=True`` is ``resume(out, steps, ...)``.

    Returns a TrainResult with ``.agent``, ``.records``, ``.evaluations``,
    ``.final_evaluation`` and ``.best``. SIGINT/SIGTERM raise ``TrainingInterrupted``
    (a KeyboardInterrupt) after saving; a failed save raises ``SaveError``.
    """
    given, hparams = _split(options, settings)
    if resume:
        if force:
            raise ValueError("resume and force exclude each other: continue the run, or "
                             "start it over")
        if hparams or preset:
            raise ValueError(f"resume continues the saved configuration; got new "
                             f"hyperparameters {sorted(hparams) or [preset]}")
        return _continue(out, steps, env, name, seed, given)
    Settings(steps=steps, **given).check()
    seed = 0 if seed is None else seed

    def begin(run_dir, held):
        agent = make_agent(name, env, seed=seed, preset=preset, **hparams)
        if run_dir is not None:
            run_dir.prepare(force)  # refuses another run's files unless force
        return agent, env, Settings(steps=int(steps), seed=int(seed), **given).check(), None
    return _run(out, begin)


@blas_limited
def resume(out, steps=None, *, env=None, name=None, seed=None, settings=None, **options):
    """Continue the run in ``out`` up to ``steps`` in total (default: the saved total),
    with its saved algorithm, env, seed, hyperparameters and loop settings; loop
    settings given here (``eval_every=...`` or ``settings``) replace the saved ones.
    ``env``, ``name`` and ``seed``, if given, must match the saved run (``env`` may be
    an env object for a run whose env has no id). Fewer steps than the run has done
    are refused. Returns a TrainResult, as ``train`` does."""
    given, hparams = _split(options, settings)
    if hparams:
        raise ValueError(f"resume continues the saved configuration; got new "
                         f"hyperparameters {sorted(hparams)}")
    return _continue(out, steps, env, name, seed, given)


def _split(options, settings):
    """``options`` -> (loop settings given, hyperparameters); ``settings`` (a Settings
    object) gives the loop settings the keywords do not."""
    names = [n for n in Settings.names() if n not in ("steps", "seed")]
    given = {} if settings is None else {n: getattr(settings, n) for n in names}
    given.update({n: options[n] for n in names if n in options})
    hparams = {k: v for k, v in options.items() if k not in names}
    return {k: v for k, v in given.items() if v is not None}, hparams


def _continue(out, steps, env, name, seed, given):
    if out is None:
        raise ValueError("resume=True needs out=DIR: the run directory to continue")
    if steps is not None:
        Settings(steps=steps, **given).check()

    def begin(run_dir, held):
        config, agent, loop_state, env_ = load_run(run_dir.path, name, env, seed)
        held.append(loop_state)
        saved = {k: v for k, v in config.get("loop", {}).items()
                 if k in Settings.saved_names() and v is not None}
        total = config["steps"] if steps is None else steps
        settings = Settings(steps=int(total), seed=int(config["seed"]),
                            **{**saved, **given}).check()
        state = RunState(settings.seed)
        try:
            state.load_state_dict(loop_state)
        except ValueError as error:
            raise CheckpointError(f"{os.path.join(run_dir.path, 'checkpoint.npz')}: "
                                  f"{error}") from None
        if settings.steps < state.step:
            raise ValueError(f"{run_dir.path} is already at step {state.step}; cannot "
                             f"resume it to {settings.steps} steps (ask for more)")
        return agent, env_, settings, state
    return _run(out, begin)


def _run(out, begin):
    """Take the run directory, start the agent with ``begin(run_dir, held)``, write
    config.json and train. Stop signals are handled from the first line on."""
    run_dir = None if out is None else RunDirectory(out)
    signals = StopSignals()  # from here on, Ctrl-C and SIGTERM stop the run cleanly
    held = []  # the saved loop state of a resumed run, for the message below
    try:
        signals.__enter__()
        if run_dir is not None:
            run_dir.open()  # checks the path, takes the lock
        agent, env, settings, state = begin(run_dir, held)
        config = {**agent.config(), "env": env_id(env), "steps": settings.steps,
                  "loop": settings.saved(), "minirl_version": __version__}
        if run_dir is not None:
            _write_config(run_dir.path, config)
        return Trainer(agent, env, settings, config, run_dir, state, signals).run()
    except Interrupted as stop:
        if isinstance(stop, TrainingInterrupted):
            raise
        on_disk = (f"; {os.path.join(run_dir.path, 'checkpoint.npz')} holds step "
                   f"{int(held[0]['step'])}" if held else "")
        raise TrainingInterrupted(stop.signum, f"stopped by {stop.args[0]} before training "
                                  f"started; no new checkpoint was written{on_disk}", False,
                                  None, None) from None
    finally:
        signals.__exit__(None, None, None)
        if run_dir is not None:
            run_dir.close()


def _write_config(directory, config):
    text = json.dumps(config, indent=2).encode()
    path = os.path.join(directory, "config.json")
    try:
        atomic_write_all({path: lambda f: f.write(text)})
    except OSError as error:
        raise OSError(error.errno, f"cannot write {path}: {error.strerror}; "
                                   f"nothing was trained") from None


# --- evaluation --------------------------------------------------------------------------
EVAL_MAX_STEPS = 10_000  # a greedy episode longer than this (or than the env's own time
                         # limit, if that is longer) is cut there, with a warning


class EpisodeCut(UserWarning):
    """A greedy episode ran past its step limit and was cut: its return is partial."""


def greedy_episode(agent, env, seed, max_steps=None, on_frame=None):
    """One episode with ``act(obs, explore=False)`` from ``reset(seed=seed)``: its
    return. ``on_frame(env.render())`` is called before each step and at the end.
    An episode still running after ``max_steps`` steps (default ``EVAL_MAX_STEPS``,
    or the env's time limit if longer) is cut there, with an ``EpisodeCut`` warning."""
    limit = _step_limit(env) if max_steps is None else max_steps
    env = agent.wrap_env(env) if hasattr(agent, "wrap_env") else env  # PPO: ClipAction
    obs, _ = env.reset(seed=seed)
    total, done, steps = 0.0, False, 0
    while not done and steps < limit:
        if on_frame is not None:
            on_frame(env.render())
        obs, reward, terminated, truncated, _ = env.step(agent.act(obs, explore=False))
        total += float(reward)
        done = terminated or truncated
        steps += 1
    if on_frame is not None:
        on_frame(env.render())
    if not done:
        warnings.warn(EpisodeCut(f"{env_name(env)}: the greedy episode from seed {seed} was "
                                 f"cut at {limit} steps (return so far {total:.2f}); pass "
                                 f"max_steps= to allow longer ones"), stacklevel=2)
    return total


def _step_limit(env):
    spec = getattr(env, "spec", None)
    return max(EVAL_MAX_STEPS, getattr(spec, "max_episode_steps", None) or 0)


@blas_limited
def evaluate(agent, env, episodes=10, seed=0, max_steps=None, render=False):
    """Greedy returns (``act(obs, explore=False)``) over ``episodes``: (mean, std).

    Episode i starts from ``reset(seed=seed + i)``: the same episodes every call.
    ``render=True`` shows them (the env's "human" render mode). An episode longer
    than ``max_steps`` (see ``greedy_episode``) is cut, with a warning.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) \
            or episodes < 1:
        raise ValueError(f"episodes must be an int >= 1, got {episodes!r}")
    env = make_env(env, **({"render_mode": "human"} if render else {}))
    returns = [greedy_episode(agent, env, seed + i, max_steps) for i in range(episodes)]
    return float(np.mean(returns)), float(np.std(returns))
