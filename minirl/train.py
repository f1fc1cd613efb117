"""The one training loop: act, step, update; log episodes; evaluate; checkpoint.

Every agent trains through ``train``, so every run has the same shape and leaves the
same files in its directory:

    config.json        algorithm, env, seed, steps, hyperparameters
    metrics.csv        step,episode,return,length   (one row per finished episode)
    evaluations.csv    step,mean_return,std_return  (greedy evaluations)
    checkpoint.npz     agent + loop state (see minirl/checkpoint.py)
    best.npz           the agent at its best greedy evaluation (with eval_every)
    curve.png          the learning curve

Determinism: each episode starts from ``env.reset(seed=...)`` with a seed drawn from
the loop's own generator, and the agent draws from its own; so the same seed gives the
same ``metrics.csv``, byte for byte. Resuming replays the interrupted episode's actions
on an environment reset with that episode's seed, which puts it back in the very state
it was in; a resumed run therefore ends where an uninterrupted one does.
"""
import copy
import csv
import io
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

import minirl
from minirl.agents import agent_from_config, make_agent
from minirl.agents.base import rng_state, set_rng_state
from minirl.checkpoint import atomic_write, read_checkpoint, write_checkpoint
from minirl.envs import make_env

__all__ = ["TrainResult", "train", "evaluate", "make_env"]


@dataclass
class TrainResult:
    agent: object
    records: list = field(default_factory=list)       # (step, episode, return, length)
    evaluations: list = field(default_factory=list)   # (step, mean, std)
    out: str = None
    interrupted: bool = False


def _copy_env(env):
    """A second, independent env of the same kind, for evaluation."""
    if isinstance(env, str):
        return make_env(env)
    if env.spec is not None:
        try:
            return gym.make(env.spec)
        except gym.error.Error:
            pass
    return copy.deepcopy(env)


def evaluate(agent, env, episodes=10, seed=0, max_steps=100_000, render=False):
    """Greedy returns (``act(obs, explore=False)``) over ``episodes``: (mean, std).

    Episode i starts from ``reset(seed=seed + i)``: the same episodes every call.
    """
    env = make_env(env, **({"render_mode": "human"} if render else {}))
    returns = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        total, done, steps = 0.0, False, 0
        while not done and steps < max_steps:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs, explore=False))
            total += float(reward)
            done = terminated or truncated
            steps += 1
        returns.append(total)
    return float(np.mean(returns)), float(np.std(returns))


def _env_id(env):
    if isinstance(env, str):
        return env
    return env.spec.id if env.spec is not None else None


class _Run:
    """The loop's state: counters, records, and the current episode (for resuming)."""

    def __init__(self, seed):
        self.step = 0
        self.episode = 0
        self.records = []
        self.evaluations = []
        self.rng = np.random.default_rng((seed, 7919))  # episode seeds, apart from the agent's
        self.episode_seed = None
        self.episode_actions = []
        self.episode_return = 0.0
        self.episode_length = 0
        self.interrupted = False  # set by Ctrl-C; the loop stops after the current step

    def new_episode_seed(self):
        self.episode_seed = int(self.rng.integers(2**31 - 1))
        self.episode_actions, self.episode_return, self.episode_length = [], 0.0, 0
        return self.episode_seed

    def state_dict(self):
        return {
            "step": np.array(self.step), "episode": np.array(self.episode),
            "records": np.array(self.records, np.float64).reshape(-1, 4),
            "evaluations": np.array(self.evaluations, np.float64).reshape(-1, 3),
            "rng": np.array(rng_state(self.rng)),
            "episode_seed": np.array(-1 if self.episode_seed is None else self.episode_seed),
            "episode_actions": np.array(self.episode_actions),
            "episode_return": np.array(self.episode_return),
            "episode_length": np.array(self.episode_length),
        }

    def load_state_dict(self, s):
        self.step, self.episode = int(s["step"]), int(s["episode"])
        self.records = [(int(a), int(b), float(c), int(d)) for a, b, c, d in s["records"]]
        self.evaluations = [(int(a), float(b), float(c)) for a, b, c in s["evaluations"]]
        set_rng_state(self.rng, s["rng"])
        seed = int(s["episode_seed"])
        self.episode_seed = None if seed < 0 else seed
        self.episode_actions = list(s["episode_actions"])
        self.episode_return = float(s["episode_return"])
        self.episode_length = int(s["episode_length"])


def _csv_text(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _save(out, config, agent, run):
    """Checkpoint, metrics and evaluations, each written atomically."""
    write_checkpoint(os.path.join(out, "checkpoint.npz"), config, agent.state_dict(),
                     run.state_dict())
    metrics = _csv_text(["step", "episode", "return", "length"], run.records)
    atomic_write(os.path.join(out, "metrics.csv"), lambda f: f.write(metrics))
    evals = _csv_text(["step", "mean_return", "std_return"], run.evaluations)
    atomic_write(os.path.join(out, "evaluations.csv"), lambda f: f.write(evals))


def train(name, env, steps, seed=0, out=None, *, preset=None, eval_every=None,
          eval_episodes=None, checkpoint_every=None, resume=False, quiet=True,
          stop_return=None, plot=True, **hparams):
    """Train algorithm ``name`` on ``env`` for ``steps`` environment steps.

    ``env`` is a gymnasium env or an env id. With ``out``, the run directory receives
    config.json, metrics.csv, evaluations.csv, checkpoint.npz and curve.png.
    ``resume=True`` continues the run saved in ``out`` up to ``steps`` in total.
    ``eval_every`` steps, the greedy policy is evaluated on a separate env for
    ``eval_episodes`` (default 10); ``stop_return`` ends training once an evaluation
    reaches it. A resumed run keeps the saved loop settings unless given new ones.
    Ctrl-C saves a checkpoint and the metrics so far, then raises KeyboardInterrupt.
    Returns a TrainResult with ``.agent``, ``.records`` and ``.evaluations``.
    """
    if not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    run = _Run(seed)
    if resume:
        if out is None:
            raise ValueError("resume=True needs out=DIR: the run directory to continue")
        if hparams or preset:
            raise ValueError(f"resume continues the saved configuration; got new "
                             f"hyperparameters {sorted(hparams) or [preset]}")
        config, agent_state, loop_state = read_checkpoint(out)
        if env is None:
            env = config.get("env")
            if env is None:
                raise ValueError("this run's env has no id: pass env= to resume it")
        agent = agent_from_config(config)
        agent.load_state_dict(agent_state)
        run.load_state_dict(loop_state)
        seed = config["seed"]
        saved = config.get("loop", {})
        eval_every = saved.get("eval_every") if eval_every is None else eval_every
        eval_episodes = saved.get("eval_episodes") if eval_episodes is None else eval_episodes
        checkpoint_every = (saved.get("checkpoint_every") if checkpoint_every is None
                            else checkpoint_every)
        stop_return = saved.get("stop_return") if stop_return is None else stop_return
    else:
        agent = make_agent(name, env, seed=seed, preset=preset, **hparams)
    eval_episodes = 10 if eval_episodes is None else eval_episodes
    env_id = _env_id(env)
    train_env = make_env(env)
    eval_env = _copy_env(env) if eval_every else None

    config = {**agent.config(), "env": env_id, "steps": int(steps),
              "loop": {"eval_every": eval_every, "eval_episodes": eval_episodes,
                       "checkpoint_every": checkpoint_every, "stop_return": stop_return},
              "minirl_version": minirl.__version__}
    if out is not None:
        os.makedirs(out, exist_ok=True)
        text = json.dumps(config, indent=2).encode()
        atomic_write(os.path.join(out, "config.json"), lambda f: f.write(text))

    result = TrainResult(agent=agent, out=out)
    progress = _progress(steps, run.step, quiet, agent.name, env_id)
    started, start_step = time.perf_counter(), run.step
    try:
        with _CtrlC(run):
            _run(agent, env, train_env, run, steps, seed, progress, eval_env, eval_every,
                 eval_episodes, out, config, checkpoint_every, stop_return)
        if run.interrupted:
            raise KeyboardInterrupt
    except BaseException as error:
        # Ctrl-C, or a failure the agent marks as leaving its state whole (an A3C
        # worker's crash: the global parameters are intact): save, then re-raise.
        if not (isinstance(error, KeyboardInterrupt)
                or getattr(error, "checkpoint_safe", False)):
            raise
        result.interrupted = True
        if out is not None:
            _save(out, config, agent, run)
            progress.write(f"stopped at step {run.step} ({type(error).__name__}): "
                           f"checkpoint and metrics saved in {out}")
        raise
    finally:
        progress.close()
        result.records, result.evaluations = list(run.records), list(run.evaluations)
    if out is not None:
        _save(out, config, agent, run)
        if plot:
            from minirl.plot import plot_runs
            plot_runs([out], os.path.join(out, "curve.png"))
    if not quiet:
        rate = (run.step - start_step) / max(time.perf_counter() - started, 1e-9)
        print(f"{agent.name} on {env_id}: {run.step} steps, {run.episode} episodes, "
              f"{rate:.0f} steps/s" + (f"; saved in {out}" if out else ""))
    return result


class _CtrlC:
    """While training, the first Ctrl-C asks the loop to stop after the current step
    (so the checkpoint is consistent); a second one interrupts at once."""

    def __init__(self, run):
        self.run, self.previous = run, None

    def handle(self, signum, frame):
        if self.run.interrupted:
            raise KeyboardInterrupt
        self.run.interrupted = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self.handle)
        return self

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _run(agent, env, train_env, run, *args):
    """Pick the loop that fits the agent: workers of its own, N envs, or one env."""
    if hasattr(agent, "train_parallel"):
        _run_parallel(agent, env, run, *args)
    elif getattr(agent, "num_envs", 1) > 1:
        _run_vector(agent, env, run, *args)
    else:
        _run_single(agent, train_env, run, *args)


def _progress(steps, initial, quiet, name, env_id):
    from tqdm import tqdm
    return tqdm(total=steps, initial=initial, disable=quiet, unit="step",
                desc=f"{name} {env_id or ''}".strip(), dynamic_ncols=True)


def _after_step(agent, run, progress, eval_env, eval_every, eval_episodes, seed, out,
                config, checkpoint_every, stop_return, advanced):
    """Evaluation, checkpoints and the progress bar; True when training should stop."""
    progress.update(advanced)
    stop = run.interrupted
    if eval_every and run.step // eval_every > (run.step - advanced) // eval_every:
        mean, std = evaluate(agent, eval_env, eval_episodes, seed=seed + 1_000_000)
        best_so_far = max((m for _, m, _ in run.evaluations), default=-np.inf)
        run.evaluations.append((run.step, mean, std))
        if out is not None and mean > best_so_far:
            # DQN and friends can forget what they learned; keep the best policy seen.
            write_checkpoint(os.path.join(out, "best.npz"), config, agent.state_dict())
        progress.set_postfix(eval=f"{mean:.1f}", refresh=False)
        stop = stop or (stop_return is not None and mean >= stop_return)
    if (out is not None and checkpoint_every
            and run.step // checkpoint_every > (run.step - advanced) // checkpoint_every):
        _save(out, config, agent, run)
    return stop


def _finish_episode(run, progress):
    run.episode += 1
    run.records.append((run.step, run.episode, run.episode_return, run.episode_length))
    recent = [r[2] for r in run.records[-20:]]
    progress.set_postfix(ep=run.episode, ret=f"{np.mean(recent):.1f}", refresh=False)


def _run_single(agent, env, run, steps, seed, progress, eval_env, eval_every,
                eval_episodes, out, config, checkpoint_every, stop_return):
    if run.episode_seed is None:
        obs, _ = env.reset(seed=run.new_episode_seed())
    else:  # resuming: replay this episode's actions to reach the saved state exactly
        obs, _ = env.reset(seed=run.episode_seed)
        for action in run.episode_actions:
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                raise RuntimeError("resume: replaying the saved episode ended it early; "
                                   "the environment is not deterministic given its seed")
    while run.step < steps:
        action = agent.act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.update(obs, action, reward, next_obs, terminated, truncated)
        run.step += 1
        run.episode_actions.append(action)
        run.episode_return += float(reward)
        run.episode_length += 1
        obs = next_obs
        if terminated or truncated:
            _finish_episode(run, progress)
            obs, _ = env.reset(seed=run.new_episode_seed())
        if _after_step(agent, run, progress, eval_env, eval_every, eval_episodes, seed,
                       out, config, checkpoint_every, stop_return, 1):
            break


def _run_vector(agent, env, run, steps, seed, progress, eval_env, eval_every,
                eval_episodes, out, config, checkpoint_every, stop_return):
    """N envs in lock-step (A2C). Same-step autoreset: when an episode ends, step()
    returns the next episode's first observation and ``info["final_obs"]`` holds the
    last one, which the agent needs to bootstrap a truncated episode."""
    n = agent.num_envs
    fns = [(lambda: make_env(env)) if isinstance(env, str) else
           (lambda: _copy_env(env)) for _ in range(n)]
    vector_cls = (gym.vector.AsyncVectorEnv if agent.hparams.get("async_envs")
                  else gym.vector.SyncVectorEnv)
    options = {"context": "spawn"} if vector_cls is gym.vector.AsyncVectorEnv else {}
    # spawn, not fork: forking a process that runs threads (tqdm's) can deadlock.
    envs = vector_cls(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP, **options)
    try:
        obs, _ = envs.reset(seed=[int(s) for s in run.rng.integers(2**31 - 1, size=n)])
        returns, lengths = np.zeros(n), np.zeros(n, np.int64)
        while run.step < steps:
            actions = agent.act_batch(obs)
            next_obs, rewards, terminated, truncated, info = envs.step(actions)
            done = terminated | truncated
            final_obs = next_obs.copy()
            for i in np.flatnonzero(done):
                final_obs[i] = info["final_obs"][i]
            agent.update(obs, actions, rewards, final_obs, terminated, truncated)
            returns += rewards
            lengths += 1
            run.step += n
            for i in np.flatnonzero(done):
                run.episode_return, run.episode_length = float(returns[i]), int(lengths[i])
                _finish_episode(run, progress)
                returns[i], lengths[i] = 0.0, 0
            obs = next_obs
            if _after_step(agent, run, progress, eval_env, eval_every, eval_episodes,
                           seed, out, config, checkpoint_every, stop_return, n):
                break
    finally:
        envs.close()


def _run_parallel(agent, env, run, steps, seed, progress, eval_env, eval_every,
                  eval_episodes, out, config, checkpoint_every, stop_return):
    """Agents that run their own workers (A3C). The agent calls ``on_episode`` in this
    process for every finished episode; the loop logs, evaluates and checkpoints there.

    Contract: ``agent.train_parallel(env, total_steps, start_step, seed, on_episode)``
    where ``on_episode(step, episode_return, episode_length) -> bool`` (True: stop).
    """
    def on_episode(step, episode_return, episode_length):
        advanced = max(int(step) - run.step, 0)
        run.step = max(int(step), run.step)
        run.episode_return, run.episode_length = float(episode_return), int(episode_length)
        _finish_episode(run, progress)
        return _after_step(agent, run, progress, eval_env, eval_every, eval_episodes, seed,
                           out, config, checkpoint_every, stop_return, advanced)

    env_spec = env if isinstance(env, str) else _env_id(env)
    if env_spec is None:
        raise ValueError(f"{agent.name} starts its own environments: pass an env id")
    final_step = agent.train_parallel(env_spec, steps, run.step, seed, on_episode)
    run.step = max(run.step, int(final_step))
