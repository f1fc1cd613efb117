"""DDPG on Pendulum-v1: the FINAL greedy return after 20k environment steps, and wall-clock.

minirl's runs are one ``minirl.sweep`` (``benchmarks/sweep_report.py``): each seed an
ordinary run directory under ``--out`` (a rerun continues), evaluated greedily (no noise)
every 2k steps over 10 episodes; the FINAL return is the last evaluation, the agent
training ends with. Per seed also the best evaluation and the first step one reached
-200; the seconds are each run's wall-clock (its periodic evaluations included).
Seeds: the evaluation seeds 200-204, never tuned on (the defaults were chosen on
100-104).

* ``minirl`` -- ``minirl.train("ddpg", "Pendulum-v1", ...)`` with the agent's defaults
  (override any with ``--set key=value``).
* ``minirl-zoo`` -- minirl with the zoo's own networks and noise (400-300, absolute sigma
  0.1): the same arithmetic as sb3, for a like-for-like engine timing.
* ``sb3``    -- stable-baselines3's DDPG with the rl-zoo's tuned Pendulum configuration
  (``hyperparams/ddpg.yml``: lr 1e-3, net_arch [400, 300], gamma 0.98, buffer 200k,
  learning_starts 10k, Gaussian noise sigma 0.1, one gradient step per environment
  step, taken at the end of each episode), if ``stable_baselines3`` is importable: seed
  after seed in this process, its final greedy return over ``--episodes`` episodes of
  ``minirl.evaluate``. The zoo reports -152 +/- 94 for it after 20k steps.

Target: mean return >= -200 on at least 4 of 5 seeds, in less wall-clock than sb3.
Both libraries run on one BLAS / torch thread (override with OPENBLAS_NUM_THREADS): at
these matrix sizes extra threads save little, and on a shared machine they contend.

The results data (``--name``; the pages are generated from it):

    python benchmarks/bench_ddpg.py --peers minirl --seeds 200-202 --name ddpg-pendulum

Beside stable-baselines3: ``--peers minirl,sb3 --sb3-seeds 3``.
"""
import argparse
import os
import statistics
import sys
import time

# Before NumPy is imported: the BLAS reads its thread count once, at load.
THREADS = int(os.environ.setdefault("OPENBLAS_NUM_THREADS", "1"))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("MKL_NUM_THREADS", str(THREADS))

import numpy as np  # noqa: E402

import minirl  # noqa: E402
import sweep_report  # noqa: E402
from common import importable_peers  # noqa: E402
from minirl.sweep import parse_seeds  # noqa: E402

ENV_ID = "Pendulum-v1"
SOLVED = -200.0
EVAL_SEED = 10_000  # sb3's evaluation episodes: reset(seed=EVAL_SEED + seed * 100 + i)

# rl-zoo, hyperparams/ddpg.yml, Pendulum: the configuration the zoo's -152 +/- 94 used.
ZOO = dict(gamma=0.98, buffer_size=200_000, learning_starts=10_000, learning_rate=1e-3,
           train_freq=(1, "episode"), gradient_steps=-1, noise_std=0.1,
           net_arch=[400, 300])
# minirl with the zoo's networks and noise: noise_std is relative to the half-range, so
# 0.05 * 2 = the zoo's absolute 0.1.
MINIRL_ZOO = dict(hidden_sizes=tuple(ZOO["net_arch"]), noise_std=ZOO["noise_std"] / 2)


class SB3Policy:
    """Lets ``minirl.evaluate`` call an SB3 model: act(obs, explore=False)."""

    def __init__(self, model):
        self.model = model

    def act(self, obs, explore=False):
        return self.model.predict(obs, deterministic=True)[0]


def run_sb3(seed, steps):
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
    return SB3Policy(model), time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--episodes", type=int, default=20,
                        help="sb3's final greedy evaluation")
    parser.add_argument("--peers", default="minirl,sb3",
                        help="comma-separated: minirl, minirl-zoo, sb3")
    parser.add_argument("--sb3-seeds", type=int, default=None,
                        help="run sb3 on the first K seeds only: it takes minutes per "
                             "seed on a small CPU")
    sweep_report.add_arguments(parser)
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    names = args.peers.split(",")
    unknown = sorted(set(names) - {"minirl", "minirl-zoo", "sb3"})
    if unknown:
        raise SystemExit(f"unknown peer(s) {unknown}; choose from minirl, minirl-zoo, sb3")
    if args.name and "minirl-zoo" in names:
        raise SystemExit("--name writes minirl's data: leave minirl-zoo out of --peers")
    names = importable_peers(names, THREADS)

    seeds = parse_seeds(args.seeds)
    slow_seeds = seeds[:args.sb3_seeds] if args.sb3_seeds is not None else seeds
    print(f"{ENV_ID}: {args.steps} steps, seeds {args.seeds}, {THREADS} thread(s)")
    summary = {}  # library -> [{seed, final, seconds}] by seed
    for name, settings in (("minirl", {}), ("minirl-zoo", MINIRL_ZOO)):
        if name in names:
            out = f"{args.out}-zoo" if args.out and name == "minirl-zoo" else None
            summary[name] = sweep_report.run("ddpg", ENV_ID, args.steps, args, SOLVED,
                                             "bench_ddpg.py", argv, label=name, out=out,
                                             **settings)
    if "sb3" in names:
        for seed in slow_seeds:
            policy, seconds = run_sb3(seed, args.steps)
            mean, std = minirl.evaluate(policy, ENV_ID, args.episodes,
                                        seed=EVAL_SEED + seed * 100)
            summary.setdefault("sb3", []).append({"seed": seed, "final": mean,
                                                  "seconds": seconds})
            print(f"  sb3        seed {seed}: return {mean:8.1f} +/- {std:6.1f}   "
                  f"{seconds:6.1f} s", flush=True)
    print_table(summary)


def print_table(summary):
    print()
    print(f"| library | return (mean +/- std over seeds) | seeds >= {SOLVED:.0f} "
          f"| seconds per seed (mean) | per-seed returns |")
    print("|---|---|---|---|---|")
    for name, runs in summary.items():
        returns = [r["final"] for r in runs]
        spread = statistics.pstdev(returns) if len(returns) > 1 else 0.0
        solved = sum(r >= SOLVED for r in returns)
        print(f"| {name} | {statistics.mean(returns):.1f} +/- {spread:.1f} "
              f"| {solved}/{len(returns)} "
              f"| {statistics.mean(r['seconds'] for r in runs):.1f} s "
              f"| {', '.join(f'{r:.0f}' for r in returns)} |")


if __name__ == "__main__":
    main()
