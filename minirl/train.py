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

A ``Trainer`` owns one run: its ``Settings``, the progress bar, the loop's state
(``RunState``) and the run directory. It drives the agent in one of three ways:

* ``act``/``update`` on one env (most agents);
* ``act_batch``/``update`` on ``num_envs`` envs in a ``gymnasium.vector`` env with
  same-step autoreset (A2C);
* ``train_parallel(env_id, total_steps, start_step, seed, on_episode)`` for agents
  that run worker processes of their own (A3C).

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
import copy
import csv
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from minirl import __version__
from minirl.agents import agent_from_config, make_agent
from minirl.agents.base import rng_state, set_rng_state, space_to_json
from minirl.checkpoint import (CheckpointError, atomic_write_all, checkpoint_arrays,
                               read_checkpoint, read_config)
from minirl.envcheck import check_finite, check_reset, check_step, env_name
from minirl.envs import make_env
from minirl.rundir import RunDirectory
from minirl.signals import Interrupted, StopSignals, blocked_in_children
from minirl.threads import blas_limited

__all__ = ["Settings", "TrainResult", "Trainer", "TrainingInterrupted", "NonFiniteError",
           "SaveError", "train", "evaluate", "make_env"]

EVAL_SEED_OFFSET = 1_000_000  # greedy evaluations use episodes training never sees


# --- what a run reports ------------------------------------------------------------------
@dataclass
class TrainResult:
    agent: object
    records: list = field(default_factory=list)       # (step, episode, return, length)
    evaluations: list = field(default_factory=list)   # (step, mean, std)
    out: str = None
    interrupted: bool = False
    final_evaluation: tuple = None   # (mean, std) of the final agent, greedy (when the
                                     # run evaluates or prints its summary)
    best: tuple = None               # (step, mean, std) of the best evaluation

    @property
    def checkpoint_path(self):
        return None if self.out is None else os.path.join(self.out, "checkpoint.npz")

    @property
    def best_path(self):
        return (None if self.out is None or self.best is None
                else os.path.join(self.out, "best.npz"))


class TrainingInterrupted(Interrupted):
    """Training stopped by SIGINT or SIGTERM. ``saved``: whether this stop saved a
    checkpoint; ``checkpoint_step``: the step the checkpoint on disk holds (None: no
    checkpoint); ``result``: the TrainResult so far. ``str()`` says all of it."""

    def __init__(self, signum, message, saved, checkpoint_step, result):
        super().__init__(signum)
        self.args = (message,)
        self.saved, self.checkpoint_step, self.result = saved, checkpoint_step, result


class NonFiniteError(FloatingPointError):
    """A loss or a parameter became NaN or infinite: training stopped, nothing saved."""


class SaveError(OSError):
    """Saving the run failed (a full disk, a permission); ``result`` still holds the
    agent, and ``rescued`` is where a copy was saved instead (or None)."""

    def __init__(self, message, result, rescued):
        super().__init__(message)
        self.result, self.rescued = result, rescued


# --- settings ----------------------------------------------------------------------------
@dataclass
class Settings:
    """How a run is driven: everything but the agent's hyperparameters.

    ``checkpoint_every`` is in seconds of wall-clock time (0 or None: a checkpoint
    only when the run stops); ``log_every`` in environment steps (rows of stats.csv).
    """
    steps: int
    seed: int = 0
    eval_every: int = None
    eval_episodes: int = 10
    checkpoint_every: float = 60.0
    stop_return: float = None
    log_every: int = 1000
    allow_nonfinite: bool = False
    quiet: bool = True
    plot: bool = True

    SAVED = ("eval_every", "eval_episodes", "checkpoint_every", "stop_return", "log_every",
             "allow_nonfinite")  # kept in config.json, reused by --resume

    def check(self):
        """Every setting in range, or a ValueError naming it."""
        def positive_int(name, value, allow_none=False):
            if value is None and allow_none:
                return
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        positive_int("steps", self.steps)
        positive_int("eval_every", self.eval_every, allow_none=True)
        positive_int("eval_episodes", self.eval_episodes)
        positive_int("log_every", self.log_every)
        if self.checkpoint_every is not None and not (
                isinstance(self.checkpoint_every, (int, float, np.number))
                and self.checkpoint_every >= 0):
            raise ValueError(f"checkpoint_every must be a number of seconds >= 0 (0: "
                             f"off), got {self.checkpoint_every!r}")
        if self.stop_return is not None and not (
                isinstance(self.stop_return, (int, float, np.number))
                and np.isfinite(self.stop_return)):
            raise ValueError(f"stop_return must be a finite number, got "
                             f"{self.stop_return!r}")

    def saved(self):
        return {name: getattr(self, name) for name in self.SAVED}


# --- the loop's state --------------------------------------------------------------------
class StatsLog:
    """Means of the figures ``update()`` returns, one row every ``log_every`` steps."""

    def __init__(self):
        self.columns, self.rows = [], []   # rows: [step, time, sps, stat...]
        self.sums, self.counts = {}, {}

    def add(self, stats):
        for key, value in stats.items():
            if key not in self.sums:
                self.sums[key], self.counts[key] = 0.0, 0
                if key not in self.columns:
                    self.columns.append(key)
            self.sums[key] += value
            self.counts[key] += 1

    def row(self, step, elapsed):
        last_step, last_time = (self.rows[-1][:2] if self.rows else (0, 0.0))
        sps = (step - last_step) / max(elapsed - last_time, 1e-9)
        means = [self.sums[k] / self.counts[k] if self.counts.get(k) else np.nan
                 for k in self.columns]
        self.rows.append([step, elapsed, sps, *means])
        self.sums, self.counts = {}, {}

    def csv(self):
        width = 3 + len(self.columns)
        rows = [[int(r[0]), f"{r[1]:.3f}", f"{r[2]:.1f}",
                 *(f"{v:.6g}" for v in r[3:])] + [""] * (width - len(r)) for r in self.rows]
        return _csv_text(["step", "time", "sps", *self.columns], rows)

    def state_dict(self):
        width = 3 + len(self.columns)
        rows = np.full((len(self.rows), width), np.nan)
        for i, r in enumerate(self.rows):
            rows[i, :len(r)] = r
        return {"stats_columns": np.array(json.dumps(self.columns)), "stats": rows}

    def load_state_dict(self, s):
        if "stats_columns" in s:
            self.columns = json.loads(str(s["stats_columns"]))
            self.rows = [list(r) for r in np.asarray(s["stats"]).reshape(
                -1, 3 + len(self.columns))]


class RunState:
    """The loop's state: counters, records, and the current episode (for resuming)."""

    def __init__(self, seed):
        self.step = 0
        self.episode = 0
        self.records = []
        self.evaluations = []
        self.elapsed = 0.0  # wall-clock seconds of training, over every resume
        self.rng = np.random.default_rng((seed, 7919))  # episode seeds, apart from the agent's
        self.episode_seed = None
        self.episode_actions = []
        self.episode_return = 0.0
        self.episode_length = 0
        self.stats = StatsLog()

    def new_episode_seed(self):
        self.episode_seed = int(self.rng.integers(2**31 - 1))
        self.episode_actions, self.episode_return, self.episode_length = [], 0.0, 0
        return self.episode_seed

    def best_evaluation(self):
        """(step, mean, std) of the first evaluation with the highest mean, or None."""
        if not self.evaluations:
            return None
        return max(self.evaluations, key=lambda e: (e[1], -e[0]))

    def state_dict(self):
        return {
            "step": np.array(self.step), "episode": np.array(self.episode),
            "records": np.array(self.records, np.float64).reshape(-1, 4),
            "evaluations": np.array(self.evaluations, np.float64).reshape(-1, 3),
            "elapsed": np.array(self.elapsed),
            "rng": np.array(rng_state(self.rng)),
            "episode_seed": np.array(-1 if self.episode_seed is None else self.episode_seed),
            "episode_actions": np.array(self.episode_actions),
            "episode_return": np.array(self.episode_return),
            "episode_length": np.array(self.episode_length),
            **self.stats.state_dict(),
        }

    def load_state_dict(self, s):
        self.step, self.episode = int(s["step"]), int(s["episode"])
        self.records = [(int(a), int(b), float(c), int(d)) for a, b, c, d in s["records"]]
        self.evaluations = [(int(a), float(b), float(c)) for a, b, c in s["evaluations"]]
        self.elapsed = float(s.get("elapsed", 0.0))
        set_rng_state(self.rng, s["rng"])
        seed = int(s["episode_seed"])
        self.episode_seed = None if seed < 0 else seed
        self.episode_actions = list(s["episode_actions"])
        self.episode_return = float(s["episode_return"])
        self.episode_length = int(s["episode_length"])
        self.stats.load_state_dict(s)


def _csv_text(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


# --- evaluation --------------------------------------------------------------------------
def _copy_env(env):
    """A second, independent env of the same kind, for evaluation."""
    if isinstance(env, str):
        return make_env(env)
    if env.spec is not None:
        try:
            return gym.make(env.spec)
        except (gym.error.Error, ValueError, TypeError):  # a wrapper it cannot rebuild
            pass
    return copy.deepcopy(env)


def greedy_episode(agent, env, seed, max_steps=100_000, on_frame=None):
    """One episode with ``act(obs, explore=False)`` from ``reset(seed=seed)``: its
    return. ``on_frame(env.render())`` is called before each step and at the end."""
    env = agent.wrap_env(env) if hasattr(agent, "wrap_env") else env  # PPO: ClipAction
    obs, _ = env.reset(seed=seed)
    total, done, steps = 0.0, False, 0
    while not done and steps < max_steps:
        if on_frame is not None:
            on_frame(env.render())
        obs, reward, terminated, truncated, _ = env.step(agent.act(obs, explore=False))
        total += float(reward)
        done = terminated or truncated
        steps += 1
    if on_frame is not None:
        on_frame(env.render())
    return total


@blas_limited
def evaluate(agent, env, episodes=10, seed=0, max_steps=100_000, render=False):
    """Greedy returns (``act(obs, explore=False)``) over ``episodes``: (mean, std).

    Episode i starts from ``reset(seed=seed + i)``: the same episodes every call.
    ``render=True`` shows them (the env's "human" render mode).
    """
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) \
            or episodes < 1:
        raise ValueError(f"episodes must be an int >= 1, got {episodes!r}")
    env = make_env(env, **({"render_mode": "human"} if render else {}))
    returns = [greedy_episode(agent, env, seed + i, max_steps) for i in range(episodes)]
    return float(np.mean(returns)), float(np.std(returns))


# --- the trainer -------------------------------------------------------------------------
def _progress(steps, initial, quiet, desc):
    from tqdm import tqdm
    return tqdm(total=steps, initial=initial, disable=quiet, unit="step", desc=desc,
                dynamic_ncols=True)


def _check_parameters(agent, step):
    """Every parameter finite, or NonFiniteError naming the first that is not."""
    for name, module in agent.modules().items():
        for key, value in module.state_dict().items():
            if not np.isfinite(value).all():
                raise NonFiniteError(f"{agent.name}: parameter {name}.{key} is not finite "
                                     f"at step {step}; training stopped")


class Trainer:
    """One run: an agent, its env, the settings, the loop state and the run directory.

    ``Trainer(agent, env, settings, config, run_dir, state).run()`` trains until
    ``settings.steps`` and returns a TrainResult; see ``train`` for the usual way in.
    """

    def __init__(self, agent, env, settings, config, run_dir=None, state=None,
                 signals=None):
        self.agent, self.env, self.settings, self.config = agent, env, settings, config
        self.run_dir = run_dir
        self.out = None if run_dir is None else run_dir.path
        self.state = state if state is not None else RunState(settings.seed)
        self.env_id = env_name(env)
        self.signals = StopSignals() if signals is None else signals
        self.eval_env = _copy_env(env) if settings.eval_every else None
        self.checkpoint_step = self.state.step if state is not None else None
        self.start_step = self.state.step
        self.progress = None

    # -- the run ----------------------------------------------------------------------
    def run(self):
        s, state = self.settings, self.state
        result = self.result = TrainResult(agent=self.agent, out=self.out)
        self.progress = _progress(s.steps, state.step, s.quiet,
                                  f"{self.agent.name} {self.env_id}")
        self.clock, self.last_save = time.monotonic(), time.monotonic()
        self.elapsed_before = state.elapsed
        with self.signals:
            try:
                try:
                    self.loop()
                finally:
                    self.progress.close()
                    self._collect(result)
                if self.out is not None and self.signals.requested is None:
                    self.save_or_rescue()
            except Interrupted as stop:
                raise self._interrupted(stop.signum, result) from None
            except BaseException as error:
                # A failure that leaves the agent whole (an A3C worker's crash: the
                # global parameters are intact) is saved; any other (a bad env, a NaN,
                # a full disk) is not.
                if getattr(error, "checkpoint_safe", False) and self.out is not None:
                    result.interrupted = True
                    self.save_or_rescue()
                    print(f"stopped at step {state.step} ({type(error).__name__}): "
                          f"checkpoint and metrics saved in {self.out}", file=sys.stderr)
                raise
            if self.signals.requested is not None:  # the first signal stopped the loop
                raise self._interrupted(self.signals.requested, result)
            if s.eval_every or not s.quiet:  # the run evaluates, or its summary needs it
                self.final_evaluation(result)
            if self.out is not None and s.plot:
                from minirl.plot import plot_runs
                plot_runs([self.out], os.path.join(self.out, "curve.png"))
        if not s.quiet:
            print(self.summary(result))
        return result

    def loop(self):
        """Pick the loop that fits the agent: workers of its own, N envs, or one env."""
        if hasattr(self.agent, "train_parallel"):
            self.loop_parallel()
        elif getattr(self.agent, "num_envs", 1) > 1:
            self.loop_vector()
        else:
            self.loop_single()

    def _collect(self, result):
        result.records = list(self.state.records)
        result.evaluations = list(self.state.evaluations)
        result.best = self.state.best_evaluation()

    def elapsed(self):
        return self.elapsed_before + time.monotonic() - self.clock

    # -- one env ----------------------------------------------------------------------
    def reset(self, env, seed, first):
        result = env.reset(seed=seed)
        if first:
            check_reset(self.env_id, result, env.observation_space)
        obs = result[0]
        if not self.settings.allow_nonfinite:
            check_finite(self.env_id, self.state.step, obs, 0.0)
        return obs

    def loop_single(self):
        env = make_env(self.env)
        try:
            self._loop_single(self.agent.wrap_env(env))
        finally:
            if env is not self.env:  # made here from an id
                env.close()

    def _loop_single(self, env):
        state, first = self.state, True
        if state.episode_seed is None:
            obs = self.reset(env, state.new_episode_seed(), first)
        else:  # resuming: replay this episode's actions to reach the saved state exactly
            obs = self.reset(env, state.episode_seed, first)
            for action in state.episode_actions:
                obs, _, terminated, truncated, _ = env.step(action)
                first = False
                if terminated or truncated:
                    raise RuntimeError("resume: replaying the saved episode ended it early; "
                                       "the environment is not deterministic given its seed")
        while state.step < self.settings.steps:
            action = self.agent.act(obs)
            outcome = env.step(action)
            if first:
                check_step(self.env_id, outcome, env.observation_space)
                first = False
            next_obs, reward, terminated, truncated, _ = outcome
            if not self.settings.allow_nonfinite:
                check_finite(self.env_id, state.step + 1, next_obs, reward)
            stats = self.agent.update(obs, action, reward, next_obs, terminated, truncated)
            state.step += 1
            state.episode_actions.append(action)
            state.episode_return += float(reward)
            state.episode_length += 1
            obs = next_obs
            if terminated or truncated:
                self.finish_episode()
                obs = self.reset(env, state.new_episode_seed(), False)
            if self.after_step(1, stats):
                break

    # -- N envs -----------------------------------------------------------------------
    def door_check(self):
        """One reset and one step of a fresh env, checked: agents that build their own
        envs (vector, workers) would otherwise meet a broken env far from here."""
        env = _copy_env(self.env)
        try:
            check_reset(self.env_id, env.reset(seed=0), env.observation_space)
            check_step(self.env_id, env.step(env.action_space.sample()),
                       env.observation_space)
        finally:
            env.close()

    def loop_vector(self):
        """N envs in lock-step (A2C). Same-step autoreset: when an episode ends, step()
        returns the next episode's first observation and ``info["final_obs"]`` holds the
        last one, which the agent needs to bootstrap a truncated episode."""
        self.door_check()
        agent, state, n = self.agent, self.state, self.agent.num_envs
        fns = [(lambda: agent.wrap_env(make_env(self.env))) if isinstance(self.env, str) else
               (lambda: agent.wrap_env(_copy_env(self.env))) for _ in range(n)]
        vector_cls = (gym.vector.AsyncVectorEnv if agent.hparams.get("async_envs")
                      else gym.vector.SyncVectorEnv)
        options = {"context": "spawn"} if vector_cls is gym.vector.AsyncVectorEnv else {}
        # spawn, not fork: forking a process that runs threads (tqdm's) can deadlock.
        # Ctrl-C is for this process alone: the env processes start with it blocked.
        with blocked_in_children():
            envs = vector_cls(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
                              **options)
        try:
            obs, _ = envs.reset(seed=[int(s) for s in state.rng.integers(2**31 - 1, size=n)])
            returns, lengths = np.zeros(n), np.zeros(n, np.int64)
            while state.step < self.settings.steps:
                actions = agent.act_batch(obs)
                next_obs, rewards, terminated, truncated, info = envs.step(actions)
                if not self.settings.allow_nonfinite:
                    check_finite(self.env_id, state.step + n, next_obs, rewards, batch=True)
                done = terminated | truncated
                final_obs = next_obs.copy()
                for i in np.flatnonzero(done):
                    final_obs[i] = info["final_obs"][i]
                stats = agent.update(obs, actions, rewards, final_obs, terminated, truncated)
                returns += rewards
                lengths += 1
                state.step += n
                for i in np.flatnonzero(done):
                    state.episode_return, state.episode_length = float(returns[i]), int(lengths[i])
                    self.finish_episode()
                    returns[i], lengths[i] = 0.0, 0
                obs = next_obs
                if self.after_step(n, stats):
                    break
        finally:
            envs.close()

    # -- workers of the agent's own -----------------------------------------------------
    def loop_parallel(self):
        """Agents that run their own workers (A3C). The agent calls ``on_episode`` in this
        process for every finished episode; the loop logs, evaluates and checkpoints there.

        Contract: ``agent.train_parallel(env, total_steps, start_step, seed, on_episode)``
        where ``on_episode(step, episode_return, episode_length) -> bool`` (True: stop).
        While the agent waits for its workers, a stop signal interrupts it at once (its
        ``finally`` stops the workers); never while ``on_episode`` changes the state.
        """
        state = self.state

        def on_episode(step, episode_return, episode_length):
            self.signals.interruptible = False
            try:
                advanced = max(int(step) - state.step, 0)
                state.step = max(int(step), state.step)
                state.episode_return = float(episode_return)
                state.episode_length = int(episode_length)
                self.finish_episode()
                return self.after_step(advanced, None)
            finally:
                self.signals.interruptible = True

        env_id = _env_id(self.env)
        if env_id is None:
            raise ValueError(f"{self.agent.name} starts its own environments: pass an env id")
        self.door_check()
        self.signals.interruptible = True
        try:
            self.agent.train_parallel(env_id, self.settings.steps, state.step,
                                      self.settings.seed, on_episode)
        finally:
            self.signals.interruptible = False
            # The global step the workers reached, also when a signal ended the wait.
            state.step = max(state.step, int(getattr(self.agent, "global_step", 0)))

    # -- between steps ----------------------------------------------------------------
    def finish_episode(self):
        state = self.state
        state.episode += 1
        state.records.append((state.step, state.episode, state.episode_return,
                              state.episode_length))
        recent = [r[2] for r in state.records[-20:]]
        self.progress.set_postfix(ep=state.episode, ret=f"{np.mean(recent):.1f}",
                                  refresh=False)

    def record_stats(self, stats):
        """The figures ``update`` returned into the stats log. NaN means "nothing to
        report yet" (TD3's actor loss before its first delayed step, the explained
        variance of constant returns) and is left out; an infinite figure stops the run
        (a NaN that reaches the parameters is caught at the next row or save)."""
        values = {}
        for key, value in stats.items():
            if value is None:
                continue
            value = float(value.item() if hasattr(value, "item") else value)
            if np.isnan(value):
                continue
            if not np.isfinite(value):
                raise NonFiniteError(f"{self.agent.name} on {self.env_id}: {key} = {value} "
                                     f"at step {self.state.step}; training stopped, "
                                     f"{self._on_disk()}")
            values[key] = value
        self.state.stats.add(values)

    def after_step(self, advanced, stats):
        """Stats, evaluation, checkpoints and the progress bar; True when training should
        stop (a stop signal, or an evaluation reached ``stop_return``)."""
        s, state = self.settings, self.state
        self.progress.update(advanced)
        if stats:
            self.record_stats(stats)
        stop = self.signals.requested is not None
        if state.step // s.log_every > (state.step - advanced) // s.log_every:
            _check_parameters(self.agent, state.step)
            state.stats.row(state.step, self.elapsed())
        if s.eval_every and state.step // s.eval_every > (state.step - advanced) // s.eval_every:
            mean, _ = self.evaluate_now()
            self.progress.set_postfix(eval=f"{mean:.1f}", refresh=False)
            stop = stop or (s.stop_return is not None and mean >= s.stop_return)
        if (self.out is not None and s.checkpoint_every
                and time.monotonic() - self.last_save >= s.checkpoint_every):
            self.save_or_rescue()
        return stop

    def evaluate_now(self):
        """A greedy evaluation, logged; the best agent so far is kept in best.npz."""
        s, state = self.settings, self.state
        best = state.best_evaluation()
        mean, std = evaluate(self.agent, self.eval_env, s.eval_episodes,
                             seed=s.seed + EVAL_SEED_OFFSET)
        state.evaluations.append((state.step, mean, std))
        if self.out is not None and (best is None or mean > best[1]):
            # DQN and friends can forget what they learned; keep the best policy seen.
            self.save_best()
        return mean, std

    def final_evaluation(self, result):
        """The final agent's greedy return (reusing an evaluation at this very step)."""
        s, state = self.settings, self.state
        if state.evaluations and state.evaluations[-1][0] == state.step:
            result.final_evaluation = state.evaluations[-1][1:]
            return
        env = self.eval_env if self.eval_env is not None else _copy_env(self.env)
        result.final_evaluation = evaluate(self.agent, env, s.eval_episodes,
                                           seed=s.seed + EVAL_SEED_OFFSET)
        best = result.best
        if best is not None and result.final_evaluation[0] > best[1]:
            result.best = (state.step, *result.final_evaluation)
            if self.out is not None:
                self.save_best()

    # -- saving -----------------------------------------------------------------------
    def _on_disk(self):
        """What the run directory holds now, in words."""
        if self.out is None:
            return "nothing saved (no run directory)"
        path = os.path.join(self.out, "checkpoint.npz")
        if self.checkpoint_step is None:
            return f"no checkpoint in {self.out}"
        return f"{path} holds step {self.checkpoint_step}"

    def save_best(self):
        _check_parameters(self.agent, self.state.step)
        arrays = checkpoint_arrays(self.config, self.agent.state_dict())
        atomic_write_all({os.path.join(self.out, "best.npz"):
                          lambda f: np.savez(f, **arrays)})

    def save(self):
        """Checkpoint, metrics, evaluations and stats, written together (all or none).

        The agent's parameters are checked first: a NaN is never saved over a good
        checkpoint.
        """
        state, out = self.state, self.out
        _check_parameters(self.agent, state.step)
        state.elapsed = self.elapsed()
        arrays = checkpoint_arrays(self.config, self.agent.state_dict(), state.state_dict())
        metrics = _csv_text(["step", "episode", "return", "length"], state.records)
        evals = _csv_text(["step", "mean_return", "std_return"], state.evaluations)
        stats = state.stats.csv()
        step = state.step

        def saved():
            self.checkpoint_step = step
        atomic_write_all({os.path.join(out, "checkpoint.npz"): lambda f: np.savez(f, **arrays),
                          os.path.join(out, "metrics.csv"): lambda f: f.write(metrics),
                          os.path.join(out, "evaluations.csv"): lambda f: f.write(evals),
                          os.path.join(out, "stats.csv"): lambda f: f.write(stats)},
                         then=saved)
        self.last_save = time.monotonic()

    def save_or_rescue(self):
        """``save``; if the disk refuses, keep the agent elsewhere and raise SaveError."""
        try:
            self.save()
        except OSError as error:
            rescued = self._rescue()
            where = (f"; this run was saved to {rescued} instead (copy it back and "
                     f"--resume)" if rescued else "; it could not be saved elsewhere either")
            raise SaveError(f"could not save the run in {self.out}: {error.strerror or error}"
                            f" ({getattr(error, 'filename', None) or self.out}); "
                            f"{self._on_disk()}{where}", self.result, rescued) from None

    def _rescue(self):
        try:
            directory = tempfile.mkdtemp(prefix="minirl-rescue-")
            arrays = checkpoint_arrays(self.config, self.agent.state_dict(),
                                       self.state.state_dict())
            path = os.path.join(directory, "checkpoint.npz")
            atomic_write_all({path: lambda f: np.savez(f, **arrays)})
            return path
        except OSError:
            return None

    # -- messages ---------------------------------------------------------------------
    def _interrupted(self, signum, result):
        """Save on the first signal, never after a second; say truthfully which."""
        result.interrupted = True
        name, step = Interrupted(signum).args[0], self.state.step
        saved = self.checkpoint_step == step and self.out is not None
        if saved:
            message = f"stopped by {name} at step {step}: checkpoint and metrics saved in {self.out}"
        elif len(self.signals.received) > 1:
            message = (f"stopped by a second signal at step {step} without saving; "
                       f"{self._on_disk()}")
        elif self.out is None:
            message = f"stopped by {name} at step {step}; nothing saved (no run directory)"
        else:
            self.signals.armed = True  # a second signal now abandons the save
            failure = None
            try:
                self.save()
            except Interrupted:
                failure = "a second signal abandoned the save"
            except (OSError, NonFiniteError) as error:
                failure = f"saving failed ({error})"
            self.signals.armed = False
            # What is on disk decides the message: a second signal held until the
            # renames were done arrives after them, and the save did complete.
            saved = self.checkpoint_step == step
            if saved:
                message = (f"stopped by {name} at step {step}: checkpoint and metrics "
                           f"saved in {self.out}")
            else:
                message = f"stopped by {name} at step {step}; {failure}: {self._on_disk()}"
        return TrainingInterrupted(signum, message, saved, self.checkpoint_step, result)

    def summary(self, result):
        """The closing lines: what was trained, how well the final and best agents do,
        and where they are."""
        s, state = self.settings, self.state
        rate = (state.step - self.start_step) / max(self.elapsed() - self.elapsed_before,
                                                    1e-9)
        lines = [f"{self.agent.name} on {self.env_id}: {state.step} steps, "
                 f"{state.episode} episodes, {rate:.0f} steps/s"]
        if state.records:
            recent = [r[2] for r in state.records[-20:]]
            lines.append(f"last {len(recent)} training episodes (exploring): mean return "
                         f"{np.mean(recent):.2f}")
        mean, std = result.final_evaluation
        lines.append(f"final greedy return: {mean:.2f} +/- {std:.2f} over "
                     f"{s.eval_episodes} episodes")
        if result.best is not None:
            step, best_mean, best_std = result.best
            lines.append(f"best greedy return:  {best_mean:.2f} +/- {best_std:.2f} at "
                         f"step {step}")
        if self.out is not None:
            lines.append(f"final agent: {result.checkpoint_path}")
            if result.best_path is not None:
                lines.append(f"best agent:  {result.best_path}   "
                             f"(minirl eval {result.best_path})")
        return "\n".join(lines)


# --- the entry point ---------------------------------------------------------------------
def _env_id(env):
    """The id to rebuild ``env`` from (None for an env made without one)."""
    if isinstance(env, str):
        return env
    return env.spec.id if env.spec is not None else None


def _check_resumable(config, name, env, seed, out):
    """Refuse a --resume that does not match the saved run, naming both sides."""
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


@blas_limited
def train(name, env, steps, seed=None, out=None, *, preset=None, eval_every=None,
          eval_episodes=None, checkpoint_every=None, resume=False, force=False, quiet=True,
          stop_return=None, log_every=None, allow_nonfinite=None, plot=True, **hparams):
    """Train algorithm ``name`` on ``env`` for ``steps`` environment steps.

    ``env`` is a gymnasium env or an env id; ``seed`` defaults to 0. With ``out``, the
    run directory receives config.json, metrics.csv, evaluations.csv, stats.csv,
    checkpoint.npz, best.npz and curve.png; a directory holding another run is refused
    unless ``force=True`` (clear it first) or ``resume=True`` (continue it up to
    ``steps`` in total, with the saved algorithm, env, seed and loop settings unless
    given new settings). Only one run may use a directory at a time.
    Every ``eval_every`` steps the greedy policy is evaluated on a separate env for
    ``eval_episodes`` (default 10); ``stop_return`` ends training once an evaluation
    reaches it. ``checkpoint_every`` seconds (default 60; 0: off) a checkpoint is saved.
    ``allow_nonfinite`` lets an env return NaN/inf rewards or observations.

    Returns a TrainResult with ``.agent``, ``.records``, ``.evaluations``,
    ``.final_evaluation`` and ``.best``. SIGINT/SIGTERM raise ``TrainingInterrupted``
    (a KeyboardInterrupt) after saving; a failed save raises ``SaveError``.
    """
    given = {"eval_every": eval_every, "eval_episodes": eval_episodes,
             "checkpoint_every": checkpoint_every, "stop_return": stop_return,
             "log_every": log_every, "allow_nonfinite": allow_nonfinite}
    if resume and force:
        raise ValueError("resume and force exclude each other: continue the run, or "
                         "start it over")
    if resume and out is None:
        raise ValueError("resume=True needs out=DIR: the run directory to continue")
    if resume and (hparams or preset):
        raise ValueError(f"resume continues the saved configuration; got new "
                         f"hyperparameters {sorted(hparams) or [preset]}")
    Settings(steps=steps, **{k: v for k, v in given.items() if v is not None}).check()

    run_dir = None if out is None else RunDirectory(out)
    signals = StopSignals()  # from here on, Ctrl-C and SIGTERM stop the run cleanly
    try:
        signals.__enter__()
        state = loop_state = None
        if run_dir is not None:
            run_dir.open()  # checks the path, takes the lock
        if resume:
            config, agent_state, loop_state = read_checkpoint(run_dir.path)
            if os.path.exists(os.path.join(run_dir.path, "config.json")):
                on_disk = read_config(run_dir.path)
                if on_disk.get("algo") != config["algo"]:
                    raise CheckpointError(
                        f"{run_dir.path}: checkpoint.npz is a {config['algo']} run but "
                        f"config.json describes a {on_disk.get('algo')} run")
            env = config.get("env") if env is None else env
            if env is None:
                raise ValueError("this run's env has no id: pass env= to resume it")
            _check_resumable(config, name, env, seed, run_dir.path)
            agent = agent_from_config(config)
            try:
                agent.load_state_dict(agent_state)
            except (KeyError, ValueError) as error:
                raise CheckpointError(f"{run_dir.path}: checkpoint does not fit a "
                                      f"{config['algo']} agent: {error}") from None
            seed = config["seed"]
            saved = config.get("loop", {})
            given = {k: saved.get(k) if v is None else v for k, v in given.items()}
        else:
            seed = 0 if seed is None else seed
            agent = make_agent(name, env, seed=seed, preset=preset, **hparams)
            if run_dir is not None:
                run_dir.prepare(force)  # refuses another run's files unless force
        settings = Settings(steps=int(steps), seed=int(seed), quiet=quiet, plot=plot,
                            **{k: v for k, v in given.items() if v is not None})
        settings.check()
        if resume:
            state = RunState(seed)
            state.load_state_dict(loop_state)
        config = {**agent.config(), "env": _env_id(env), "steps": int(steps),
                  "loop": settings.saved(), "minirl_version": __version__}
        if run_dir is not None:
            text = json.dumps(config, indent=2).encode()
            path = os.path.join(run_dir.path, "config.json")
            try:
                atomic_write_all({path: lambda f: f.write(text)})
            except OSError as error:
                raise OSError(error.errno, f"cannot write {path}: {error.strerror}; "
                                           f"nothing was trained") from None
        return Trainer(agent, env, settings, config, run_dir, state, signals).run()
    except Interrupted as stop:
        if isinstance(stop, TrainingInterrupted):
            raise
        held = (f"; {os.path.join(run_dir.path, 'checkpoint.npz')} holds step "
                f"{int(loop_state['step'])}" if loop_state is not None else "")
        raise TrainingInterrupted(stop.signum, f"stopped by {stop.args[0]} before training "
                                  f"started; no new checkpoint was written{held}", False,
                                  None, None) from None
    finally:
        signals.__exit__(None, None, None)
        if run_dir is not None:
            run_dir.close()
