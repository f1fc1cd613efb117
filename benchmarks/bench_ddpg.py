"""DDPG on Pendulum-v1: the FINAL greedy return after 20k environment steps, and wall-clock.

For each seed, train for ``--steps`` environment steps, then evaluate the greedy policy
(no noise) over ``--episodes`` (20) episodes with ``minirl.evaluate`` (the same episode
seeds for every library). minirl runs also evaluate every ``--eval-every`` steps, and
report the best of those evaluations and the first step one reached -200 beside the
final return (``benchmarks/common.py``). Seeds: the evaluation seeds 200-204, never
tuned on (the defaults were chosen on 100-104). Wall-clock is the training time:
building the agent and ``--steps`` steps of acting and learning, periodic evaluations
included for minirl; the final evaluation is not timed.

* ``minirl`` -- ``minirl.train("ddpg", "Pendulum-v1", ...)`` with the agent's defaults
  (override any with ``--set key=value``).
* ``sb3``    -- stable-baselines3's DDPG with the rl-zoo's tuned Pendulum configuration
  (``hyperparams/ddpg.yml``: lr 1e-3, net_arch [400, 300], gamma 0.98, buffer 200k,
  learning_starts 10k, Gaussian noise sigma 0.1, one gradient step per environment
  step, taken at the end of each episode), if ``stable_baselines3`` is importable.
  The zoo reports -152 +/- 94 for it after 20k steps.

Target: mean return >= -200 on at least 4 of 5 seeds, in less wall-clock than sb3.

Both libraries run on one BLAS / torch thread (override with OPENBLAS_NUM_THREADS): at
these matrix sizes extra threads save little, and on a shared machine they contend.

    python benchmarks/bench_ddpg.py [--seeds 200 201 ...] [--steps 20000] [--episodes 20]
                                    [--peers minirl,sb3] [--sb3-seeds K]
                                    [--set key=value ...]

``--peers minirl-zoo`` adds minirl with the zoo's own networks and noise (400-300,
absolute sigma 0.1): the same arithmetic as sb3, for a like-for-like engine timing.
Seeds run in turn, each through every peer, so a change in machine load falls on all.
"""
import argparse
import os
import statistics
import time

# Before NumPy is imported: the BLAS reads its thread count once, at load.
THREADS = int(os.environ.setdefault("OPENBLAS_NUM_THREADS", "1"))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("MKL_NUM_THREADS", str(THREADS))

import numpy as np  # noqa: E402

import minirl  # noqa: E402
from common import EVAL_SEEDS, seed_line, summarize  # noqa: E402
from minirl.cli import parse_set  # noqa: E402

ENV_ID = "Pendulum-v1"
SOLVED = -200.0
EVAL_SEED = 10_000  # evaluation episodes start from reset(seed=EVAL_SEED + seed * 100 + i)

# rl-zoo, hyperparams/ddpg.yml, Pendulum: the configuration the zoo's -152 +/- 94 used.
ZOO = dict(gamma=0.98, buffer_size=200_000, learning_starts=10_000, learning_rate=1e-3,
           train_freq=(1, "episode"), gradient_steps=-1, noise_std=0.1,
           net_arch=[400, 300])


EVAL_EVERY = 2000  # minirl's periodic greedy evaluations (best and first solve)


def run_minirl(seed, steps, hparams):
    started = time.perf_counter()
    result = minirl.train("ddpg", ENV_ID, steps, seed=seed, eval_every=EVAL_EVERY,
                          eval_episodes=10, plot=False, **hparams)
    seconds = time.perf_counter() - started
    print("    " + seed_line("ddpg", summarize(result, ENV_ID, seed, SOLVED)), flush=True)
    return result.agent, seconds


def run_minirl_zoo(seed, steps, _hparams):
    # noise_std is relative to the half-range: 0.05 * 2 = the zoo's absolute 0.1.
    return run_minirl(seed, steps, dict(hidden_sizes=tuple(ZOO["net_arch"]),
                                        noise_std=ZOO["noise_std"] / 2))


class SB3Policy:
    """Lets ``minirl.evaluate`` call an SB3 model: act(obs, explore=False)."""

    def __init__(self, model):
        self.model = model

    def act(self, obs, explore=False):
        return self.model.predict(obs, deterministic=True)[0]


def run_sb3(seed, steps, _hparams):
    import gymnasium as gym
    from stable_baselines3 import DDPG
    from stable_baselines3.common.noise import NormalActionNoise
    started = time.perf_counter()
    env = gym.make(ENV_ID)
    n = env.action_space.shape[0]
    model = DDPG("MlpPolicy", env, gamma=ZOO["gamma"], buffer_size=ZOO["buffer_size"],
                 learning_starts=ZOO["learning_starts"], learning_rate=ZOO["learning_rate"],
                 train_freq=ZOO["train_freq"], gradient_steps=ZOO["gradient_steps"],
                 action_noise=NormalActionNoise(np.zeros(n), ZOO["noise_std"] * np.ones(n)),
                 policy_kwargs=dict(net_arch=ZOO["net_arch"]), seed=seed, device="cpu")
    model.learn(steps)
    seconds = time.perf_counter() - started
    return SB3Policy(model), seconds


def peers(names):
    runners = {"minirl": run_minirl, "minirl-zoo": run_minirl_zoo, "sb3": run_sb3}
    unknown = [n for n in names if n not in runners]
    if unknown:
        raise SystemExit(f"unknown peer(s) {unknown}; choose from {sorted(runners)}")
    if "sb3" in names:
        try:
            import stable_baselines3  # noqa: F401
            import torch
            torch.set_num_threads(THREADS)
        except ImportError:
            print("stable_baselines3 is not importable: sb3 skipped")
            names = [n for n in names if n != "sb3"]
    return {n: runners[n] for n in names}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(EVAL_SEEDS[:5]),
                        help="seeds (default: the evaluation seeds 200-204, never tuned on)")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--peers", default="minirl,sb3",
                        help="comma-separated: minirl, minirl-zoo, sb3")
    parser.add_argument("--sb3-seeds", type=int, default=None,
                        help="run sb3 (and minirl-zoo) on the first K seeds only: "
                             "they take minutes per seed on a small CPU")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="minirl ddpg hyperparameters")
    args = parser.parse_args(argv)
    hparams = parse_set(args.set or [])

    runners = peers(args.peers.split(","))
    seeds = list(args.seeds)
    slow_seeds = seeds[:args.sb3_seeds] if args.sb3_seeds is not None else seeds
    print(f"{ENV_ID}: {args.steps} steps, greedy eval over {args.episodes} episodes, "
          f"seeds {seeds}, {THREADS} thread(s)")
    if hparams:
        print(f"minirl overrides: {hparams}")
    summary = {name: ([], []) for name in runners}
    for seed in seeds:
        for name, run in runners.items():
            if name != "minirl" and seed not in slow_seeds:
                continue
            policy, seconds = run(seed, args.steps, hparams)
            mean, std = minirl.evaluate(policy, ENV_ID, args.episodes,
                                        seed=EVAL_SEED + seed * 100)
            summary[name][0].append(mean)
            summary[name][1].append(seconds)
            print(f"  {name:10s} seed {seed}: return {mean:8.1f} +/- {std:6.1f}   "
                  f"{seconds:6.1f} s", flush=True)

    print()
    print(f"| library | return (mean +/- std over seeds) | seeds >= {SOLVED:.0f} "
          f"| wall-clock per seed (mean) | per-seed returns |")
    print("|---|---|---|---|---|")
    for name, (returns, times) in summary.items():
        if not returns:
            continue
        spread = statistics.pstdev(returns) if len(returns) > 1 else 0.0
        solved = sum(r >= SOLVED for r in returns)
        print(f"| {name} | {statistics.mean(returns):.1f} +/- {spread:.1f} "
              f"| {solved}/{len(returns)} | {statistics.mean(times):.1f} s "
              f"| {', '.join(f'{r:.0f}' for r in returns)} |")


if __name__ == "__main__":
    main()
