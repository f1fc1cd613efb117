"""One run around the loop: the env it steps, the checks, evaluations, stats,
checkpoints and stop signals; the closing summary.

``Trainer(agent, env, settings, config, run_dir, state, signals).run()`` picks the
driver of ``minirl/loop.py`` that fits the agent and gives it the ``run`` it calls
back: ``start``/``reset``/``step`` (the env, checked), ``after_step`` (stats,
evaluation, checkpoint; "stop?"). Saving is ``minirl/saving.py``'s, resuming
``minirl/resume.py``'s, signal handling ``minirl/signals.py``'s.
"""
import copy
import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from minirl import loop
from minirl.envcheck import (EnvCheckError, check_finite, check_fits, check_reset, check_step,
                             env_failed, env_name)
from minirl.envs import make_env
from minirl.resume import ReplayError, replay
from minirl.runstate import Episode, RunState
from minirl.saving import NonFiniteError, RunSaver, check_parameters
from minirl.signals import Interrupted, StopSignals, TrainingInterrupted, blocked_in_children

__all__ = ["Trainer", "TrainResult", "EVAL_SEED_OFFSET"]

EVAL_SEED_OFFSET = 1_000_000  # greedy evaluations use episodes training never sees


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


def _progress(steps, initial, quiet, desc):
    from tqdm import tqdm
    return tqdm(total=steps, initial=initial, disable=quiet, unit="step", desc=desc,
                dynamic_ncols=True)


def env_id(env):
    """The id to rebuild ``env`` from (None for an env made without one)."""
    if isinstance(env, str):
        return env
    return env.spec.id if env.spec is not None else None


def copy_env(env):
    """A second, independent env of the same kind, for evaluation."""
    if isinstance(env, str):
        return make_env(env)
    if env.spec is not None:
        try:
            return gym.make(env.spec)
        except (gym.error.Error, ValueError, TypeError):  # a wrapper it cannot rebuild
            pass
    return copy.deepcopy(env)


class Replayable(gym.Wrapper):
    """Env ``index`` of a vector env, which can be put back where a saved episode was:
    ``replay(plan)`` resets it with ``plan[index]``'s seed and takes its actions
    again (in the env's own process, for an async vector env)."""

    def __init__(self, env, index):
        super().__init__(env)
        self.index = index

    def replay(self, plan):
        seed, actions = plan[self.index]
        return replay(self.env, Episode(seed), lambda env, s: env.reset(seed=s)[0],
                      lambda env, a: env.step(a)[:4], actions)


@contextmanager
def _env_process_errors_said_once(envs):
    """An env process that raises makes gymnasium warn its traceback before raising
    the exception here; the run says it in one line instead."""
    if not isinstance(envs, gym.vector.AsyncVectorEnv):
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ERROR: ")
        yield


class Trainer:
    """One run: an agent, its env, the settings, the loop state and the run directory."""

    def __init__(self, agent, env, settings, config, run_dir=None, state=None,
                 signals=None):
        self.agent, self.env, self.settings, self.config = agent, env, settings, config
        self.out = None if run_dir is None else run_dir.path
        self.state = state if state is not None else RunState(settings.seed)
        self.env_id = env_id(env)
        self.env_name = env_name(env)
        self.signals = StopSignals() if signals is None else signals
        self.eval_env = copy_env(env) if settings.eval_every else None
        self.saver = RunSaver(self.out, config,
                              self.state.step if state is not None else None)
        self.start_step = self.state.step
        self.first_reset = self.first_step = True
        self.progress, self.shown_episode = None, self.state.episode

    # -- the run ----------------------------------------------------------------------
    def run(self):
        s, state = self.settings, self.state
        result = self.result = TrainResult(agent=self.agent, out=self.out)
        self.progress = _progress(s.steps, state.step, s.quiet,
                                  f"{self.agent.name} {self.env_name}")
        self.clock, self.elapsed_before = time.monotonic(), state.elapsed
        self.eval_seconds_before = state.eval_seconds
        self.saver.last_save = time.monotonic()
        with self.signals:
            self.train_and_save(result)
            if s.eval_every or not s.quiet:  # the run evaluates, or its summary needs it
                self.final_evaluation(result)
            if self.out is not None and s.plot:
                from minirl.plot import plot_runs
                plot_runs([self.out], os.path.join(self.out, "curve.png"))
        if not s.quiet:
            print(self.summary(result))
        return result

    def train_and_save(self, result):
        """The loop, then the final save; a stop signal or a failure said truthfully."""
        try:
            try:
                self.loop()
            finally:
                self.progress.close()
                self.trained = (self.elapsed() - self.elapsed_before  # seconds of training
                                - (self.state.eval_seconds - self.eval_seconds_before))
                result.records = list(self.state.records)
                result.evaluations = list(self.state.evaluations)
                result.best = self.state.best_evaluation()
            if self.out is not None and self.signals.requested is None:
                self.save()
        except Interrupted as stop:
            raise self.interrupted(stop.signum, result) from None
        except BaseException as error:
            # A failure that leaves the agent whole (an A3C worker's crash: the global
            # parameters are intact) is saved; any other (a bad env, a NaN, a full
            # disk) is not.
            if getattr(error, "checkpoint_safe", False) and self.out is not None:
                result.interrupted = True
                self.save()
                error.args = (f"{error}; {self.saver.on_disk()} (saved after the "
                              f"failure)",)
            raise
        if self.signals.requested is not None:  # the first signal stopped the loop
            raise self.interrupted(self.signals.requested, result)

    def loop(self):
        """Pick the driver that fits the agent: workers of its own, N envs, or one env.
        (An evaluation a stop signal cut short is run first: nothing changed since.)"""
        if self.state.eval_due is not None and self.state.eval_due == self.state.step:
            self.evaluate_now()
        if hasattr(self.agent, "train_parallel"):
            self.loop_parallel()
        elif getattr(self.agent, "num_envs", 1) > 1:
            self.loop_vector()
        else:
            env = make_env(self.env)
            try:
                loop.one_env(self.agent, self.agent.wrap_env(env), self)
            finally:
                if env is not self.env:  # made here from an id
                    env.close()

    def elapsed(self):
        return self.elapsed_before + time.monotonic() - self.clock

    # -- what the drivers call: the env, checked ----------------------------------------
    def start(self, env):
        """The first observation: a new episode, or the resumed one replayed."""
        episode = self.state.running[0]
        if episode.seed is None:
            return self.reset(env, self.state.new_episode_seed())
        return replay(env, episode, self.reset, self.step)

    def reset(self, env, seed):
        try:
            result = env.reset(seed=seed)
        except Exception as error:  # noqa: BLE001  (the env's own: one line, where and what)
            raise self.env_failed("reset()", self.state.step, error) from error
        if self.first_reset:
            check_reset(self.env_name, result, env.observation_space)
            self.first_reset = False
        obs = result[0]
        if not self.settings.allow_nonfinite:
            check_finite(self.env_name, self.state.step, obs, 0.0)
        return obs

    def step(self, env, action):
        step = self.state.step + 1
        try:
            outcome = env.step(action)
        except Exception as error:  # noqa: BLE001
            raise self.env_failed("step()", step, error) from error
        if self.first_step:
            check_step(self.env_name, outcome, env.observation_space)
            self.first_step = False
        next_obs, reward, terminated, truncated, _ = outcome
        check_fits(self.env_name, step, next_obs, reward, env.observation_space)
        if not self.settings.allow_nonfinite:
            check_finite(self.env_name, step, next_obs, reward)
        return next_obs, reward, terminated, truncated

    def env_failed(self, call, step, error):
        return env_failed(self.env_name, call, step, error, self.saver.on_disk())

    def start_all(self, envs):
        """The first observations of N envs: new episodes from N seeds of the loop's
        stream, or (resuming) each env's saved episode replayed in that env."""
        state, n = self.state, envs.num_envs
        if len(state.running) == n and all(e.seed is not None for e in state.running):
            plan = [(e.seed, e.actions) for e in state.running]
            return np.stack(self.env_call(envs, "reset()", lambda: envs.call("replay", plan)))
        state.running = [Episode(int(seed)) for seed in state.rng.integers(2**31 - 1, size=n)]
        obs, _ = self.env_call(envs, "reset()", lambda: envs.reset(
            seed=[e.seed for e in state.running]))
        return obs

    def step_all(self, envs, actions):
        """One step of every env. Nothing resets by itself, so a finished env's row of
        ``next_obs`` is its episode's last observation."""
        step = self.state.step + envs.num_envs
        next_obs, rewards, terminated, truncated, _ = self.env_call(
            envs, "step()", lambda: envs.step(actions))
        check_fits(self.env_name, step, next_obs, rewards, envs.single_observation_space,
                   batch=True)
        if not self.settings.allow_nonfinite:
            check_finite(self.env_name, step, next_obs, rewards, batch=True)
        return next_obs, rewards, terminated, truncated

    def reset_finished(self, envs, done):
        """Each finished env starts its next episode from a new seed of the loop's own
        stream (as the one-env loop does); the others go on. All N observations."""
        seeds = [self.state.new_episode_seed(i) if d else None for i, d in enumerate(done)]
        obs, _ = self.env_call(envs, "reset()", lambda: envs.reset(
            seed=seeds, options={"reset_mask": np.asarray(done, bool)}))
        return obs

    def env_call(self, envs, call, function):
        """``function()`` on the vector env; an env's exception said in one line."""
        try:
            with _env_process_errors_said_once(envs):
                return function()
        except (EnvCheckError, ReplayError):
            raise
        except Exception as error:  # noqa: BLE001
            raise self.env_failed(call, self.state.step + envs.num_envs, error) from error

    # -- the other two drivers ------------------------------------------------------------
    def door_check(self):
        """One reset and one step of a fresh env, checked: agents that build their own
        envs (vector, workers) would otherwise meet a broken env far from here."""
        env = copy_env(self.env)
        try:
            check_reset(self.env_name, env.reset(seed=0), env.observation_space)
            check_step(self.env_name, env.step(env.action_space.sample()),
                       env.observation_space)
        finally:
            env.close()

    def loop_vector(self):
        """N envs in a ``gymnasium.vector`` env (in this process, or one process each
        with ``async_envs``), reset by the loop itself: every episode of every env
        starts from a seed of the loop's stream, so a resumed run can replay them."""
        self.door_check()
        agent, n, env = self.agent, self.agent.num_envs, self.env
        made = (lambda: make_env(env)) if isinstance(env, str) else (lambda: copy_env(env))
        make = lambda: agent.wrap_env(made())  # noqa: E731  (PPO: ClipAction, env side only)
        fns = [lambda i=i: Replayable(make(), i) for i in range(n)]
        vector_cls = (gym.vector.AsyncVectorEnv if agent.hparams.get("async_envs")
                      else gym.vector.SyncVectorEnv)
        options = {"context": "spawn"} if vector_cls is gym.vector.AsyncVectorEnv else {}
        # spawn, not fork: forking a process that runs threads (tqdm's) can deadlock.
        # Ctrl-C is for this process alone: the env processes start with it blocked.
        with blocked_in_children():
            envs = vector_cls(fns, autoreset_mode=gym.vector.AutoresetMode.DISABLED,
                              **options)
        try:
            loop.vector_env(agent, envs, self)
        finally:
            envs.close()

    def loop_parallel(self):
        """Agents that run their own workers (A3C). While the agent waits for its
        workers a stop signal interrupts it at once (its ``finally`` stops them); never
        while ``on_episode`` changes the state (``uninterruptible``)."""
        if self.env_id is None:
            raise ValueError(f"{self.agent.name} starts its own environments: pass an env id")
        self.door_check()
        self.signals.interruptible = True
        try:
            loop.workers(self.agent, self)
        finally:
            self.signals.interruptible = False
            # The global step the workers reached, also when a signal ended the wait.
            self.state.step = max(self.state.step, int(getattr(self.agent, "global_step", 0)))

    def uninterruptible(self, callback):
        def guarded(*args):
            self.signals.interruptible = False
            try:
                return callback(*args)
            finally:
                self.signals.interruptible = True
        return guarded

    # -- between steps --------------------------------------------------------------------
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
                raise NonFiniteError(f"{self.agent.name} on {self.env_name}: {key} = "
                                     f"{value} at step {self.state.step}; training "
                                     f"stopped, {self.saver.on_disk()}")
            values[key] = value
        self.state.stats.add(values)

    def after_step(self, advanced, stats):
        """Stats, evaluation, checkpoints and the progress bar; True when training should
        stop (a stop signal, or an evaluation reached ``stop_return``)."""
        s, state = self.settings, self.state
        self.progress.update(advanced)
        if state.episode != self.shown_episode:
            self.shown_episode = state.episode
            recent = [r[2] for r in state.records[-20:]]
            self.progress.set_postfix(ep=state.episode, ret=f"{np.mean(recent):.1f}",
                                      refresh=False)
        if stats:
            self.record_stats(stats)
        stop = self.signals.requested is not None
        if state.step // s.log_every > (state.step - advanced) // s.log_every:
            check_parameters(self.agent, state.step)
            state.stats.row(state.step, self.elapsed(), self.elapsed() - state.eval_seconds)
        if s.eval_every and state.step // s.eval_every > (state.step - advanced) // s.eval_every:
            state.eval_due = state.step  # until it is done: a stop in it is resumed here
            stop = self.evaluate_now() or stop
        if (self.out is not None and s.checkpoint_every
                and time.monotonic() - self.saver.last_save >= s.checkpoint_every):
            self.save()
        return stop

    # -- evaluations ----------------------------------------------------------------------
    def evaluate_now(self):
        """The greedy evaluation due at this step, logged; the best agent so far is kept
        in best.npz. True if it reached ``stop_return``."""
        s, state = self.settings, self.state
        best = state.best_evaluation()
        mean, std = self.evaluate_greedy()
        state.evaluations.append((state.step, mean, std))
        state.eval_due = None
        if self.out is not None and (best is None or mean > best[1]):
            # DQN and friends can forget what they learned; keep the best policy seen.
            self.saver.save_best(self.agent, state.step)
        self.progress.set_postfix(eval=f"{mean:.1f}", refresh=False)
        return s.stop_return is not None and mean >= s.stop_return

    def evaluate_greedy(self):
        """``evaluate`` on the evaluation env. A stop signal interrupts it at once (the
        agent and the loop are at a step boundary, nothing is half-made); its time is
        kept apart, so steps/s counts training alone."""
        from minirl.train import evaluate
        s, began = self.settings, time.monotonic()
        if self.eval_env is None:
            self.eval_env = copy_env(self.env)
        if self.signals.requested is not None:
            raise Interrupted(self.signals.requested)
        interruptible, self.signals.interruptible = self.signals.interruptible, True
        try:
            return evaluate(self.agent, self.eval_env, s.eval_episodes,
                            seed=s.seed + EVAL_SEED_OFFSET)
        finally:
            self.signals.interruptible = interruptible
            self.state.eval_seconds += time.monotonic() - began

    def final_evaluation(self, result):
        """The final agent's greedy return (reusing an evaluation at this very step). A
        stop signal here ends it: the checkpoint of the last step is already saved."""
        state = self.state
        if state.evaluations and state.evaluations[-1][0] == state.step:
            result.final_evaluation = state.evaluations[-1][1:]
            return
        try:
            result.final_evaluation = self.evaluate_greedy()
        except Interrupted as stop:
            result.interrupted = True
            saved = (f"checkpoint and metrics of step {state.step} saved in {self.out}"
                     if self.out is not None else "nothing saved (no run directory)")
            raise TrainingInterrupted(
                stop.signum, f"stopped by {stop.args[0]} during the final evaluation: "
                f"{saved}; the final evaluation was not finished and curve.png not drawn",
                self.out is not None, self.saver.checkpoint_step, result) from None
        best = result.best
        if best is not None and result.final_evaluation[0] > best[1]:
            result.best = (state.step, *result.final_evaluation)
            if self.out is not None:
                self.saver.save_best(self.agent, state.step)

    # -- saving and stopping --------------------------------------------------------------
    def save(self):
        self.state.elapsed = self.elapsed()
        self.saver.save_or_rescue(self.agent, self.state, self.result)

    def interrupted(self, signum, result):
        """Save on the first signal, never after a second; say truthfully which."""
        result.interrupted = True
        name, step, saver = Interrupted(signum).args[0], self.state.step, self.saver
        if self.state.eval_due is not None:
            name += f" during the evaluation due at step {step} (resumed first)"
        saved = saver.checkpoint_step == step and self.out is not None
        if saved:
            message = f"stopped by {name} at step {step}: checkpoint and metrics saved in {self.out}"
        elif len(self.signals.received) > 1:
            message = (f"stopped by a second signal at step {step} without saving; "
                       f"{saver.on_disk()}")
        elif self.out is None:
            message = f"stopped by {name} at step {step}; nothing saved (no run directory)"
        else:
            self.signals.armed = True  # a second signal now abandons the save
            failure = None
            try:
                self.state.elapsed = self.elapsed()
                saver.save(self.agent, self.state)
            except Interrupted:
                failure = "a second signal abandoned the save"
            except (OSError, NonFiniteError) as error:
                failure = f"saving failed ({error})"
            self.signals.armed = False
            # What is on disk decides the message: a second signal held until the
            # renames were done arrives after them, and the save did complete.
            saved = saver.checkpoint_step == step
            if saved:
                message = (f"stopped by {name} at step {step}: checkpoint and metrics "
                           f"saved in {self.out}")
            else:
                message = f"stopped by {name} at step {step}; {failure}: {saver.on_disk()}"
        return TrainingInterrupted(signum, message, saved, saver.checkpoint_step, result)

    def summary(self, result):
        """The closing lines: what was trained, how well the final and best agents do,
        and where they are."""
        s, state = self.settings, self.state
        rate = (state.step - self.start_step) / max(self.trained, 1e-9)  # evaluations apart
        lines = [f"{self.agent.name} on {self.env_name}: {state.step} steps, "
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
