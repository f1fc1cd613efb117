"""TD3 and SAC on Pendulum-v1: the final greedy return after 20k steps, and wall-clock.

minirl's runs are one ``minirl.sweep`` per algorithm (``benchmarks/sweep_report.py``):
each seed an ordinary run directory under ``--out`` (a rerun continues), evaluated
greedily (TD3: mu(s) without noise; SAC: the squashed mean) every 2k steps over 10
episodes; the FINAL return is the last evaluation, the agent training ends with. Per seed
also the best evaluation and the first step at the bar; the seconds are each run's
wall-clock (its periodic evaluations included). Seeds: the evaluation seeds 200-204,
never tuned on.

* ``minirl``   -- ``minirl.train(ALGO, "Pendulum-v1", ...)`` with the agent's defaults
                  (64-64 networks); override with ``--set key=value``.
* ``sb3``      -- stable-baselines3 with ITS defaults (TD3: 400-300, no exploration
                  noise, 100 warm-up steps; SAC: 256-256, lr 3e-4).
* ``sb3-zoo``  -- stable-baselines3 with rl-baselines3-zoo's Pendulum settings
                  (``hyperparams/td3.yml``, ``sac.yml``); the zoo reports about -150.
* ``sb3-64``   -- the zoo settings with 64-64 networks: the same sizes as minirl's.

The sb3 peers (skipped when stable-baselines3 is not importable) run seed after seed in
this process, their final greedy return over ``--episodes`` episodes of
``minirl.evaluate``, beside their wall-clock and CPU time. Bar: mean return >= -200.

The results data (``--name``; the pages are generated from it):

    python benchmarks/bench_td3_sac.py --algos td3 --peers minirl --name td3-pendulum
    python benchmarks/bench_td3_sac.py --algos sac --peers minirl --name sac-pendulum

Beside stable-baselines3: ``--algos td3 --seeds 200 --peers minirl,sb3-zoo``. Both
libraries run on one BLAS / torch thread.
"""
import argparse
import os
import statistics
import sys
import time

THREADS = int(os.environ.setdefault("OPENBLAS_NUM_THREADS", "1"))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("MKL_NUM_THREADS", str(THREADS))

import numpy as np  # noqa: E402

import minirl  # noqa: E402
import sweep_report  # noqa: E402
from common import importable_peers  # noqa: E402
from minirl.sweep import parse_seeds  # noqa: E402

ENV_ID = "Pendulum-v1"
BAR = -200.0
EVAL_SEED = 10_000

# rl-baselines3-zoo, Pendulum-v1
ZOO = {
    "td3": dict(gamma=0.98, buffer_size=200_000, learning_starts=10_000, learning_rate=1e-3,
                noise_std=0.1, net_arch=[400, 300]),
    "sac": dict(learning_rate=1e-3),
}
PEERS = ("minirl", "sb3", "sb3-zoo", "sb3-64")


class SB3Policy:
    def __init__(self, model):
        self.model = model

    def act(self, obs, explore=False):
        return self.model.predict(obs, deterministic=True)[0]


def run_sb3(algo, seed, steps, peer):
    import gymnasium as gym
    import stable_baselines3 as sb3
    from stable_baselines3.common.noise import NormalActionNoise
    env = gym.make(ENV_ID)
    kwargs = {}
    if peer != "sb3":
        kwargs = dict(ZOO[algo])
        net = [64, 64] if peer == "sb3-64" else kwargs.pop("net_arch", None)
        kwargs.pop("net_arch", None)
        if net is not None:
            kwargs["policy_kwargs"] = dict(net_arch=net)
        if "noise_std" in kwargs:
            n = env.action_space.shape[0]
            kwargs["action_noise"] = NormalActionNoise(np.zeros(n),
                                                       kwargs.pop("noise_std") * np.ones(n))
    started, cpu = time.perf_counter(), time.process_time()
    model = getattr(sb3, algo.upper())("MlpPolicy", env, seed=seed, device="cpu", **kwargs)
    model.learn(steps)
    return SB3Policy(model), time.perf_counter() - started, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", default="td3,sac")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--episodes", type=int, default=20,
                        help="the sb3 peers' final greedy evaluation")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--sb3-seeds", type=int, default=None,
                        help="run the sb3 peers on the first K seeds only")
    sweep_report.add_arguments(parser)
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    algos = args.algos.split(",")
    names = args.peers.split(",")
    unknown = sorted(set(names) - set(PEERS)) + sorted(set(algos) - set(ZOO))
    if unknown:
        raise SystemExit(f"unknown {unknown}; peers: {PEERS}, algos: td3, sac")
    if args.name and len(algos) > 1:
        raise SystemExit("--name writes one algorithm's data: give --algos td3 or sac")
    names = importable_peers(names, THREADS)

    seeds = parse_seeds(args.seeds)
    slow = seeds[:args.sb3_seeds] if args.sb3_seeds is not None else seeds
    print(f"{ENV_ID}: {args.steps} steps, seeds {args.seeds}, {THREADS} thread(s)")
    summary = {}  # (algo, library) -> [{seed, final, seconds}] by seed
    for algo in algos:
        if "minirl" in names:
            summary[algo, "minirl"] = sweep_report.run(
                algo, ENV_ID, args.steps, args, BAR, "bench_td3_sac.py", argv)
        for name in (n for n in names if n != "minirl"):
            for seed in slow:
                policy, seconds, cpu = run_sb3(algo, seed, args.steps, name)
                mean, std = minirl.evaluate(policy, ENV_ID, args.episodes,
                                            seed=EVAL_SEED + seed * 100)
                summary.setdefault((algo, name), []).append(
                    {"seed": seed, "final": mean, "seconds": seconds})
                print(f"  {algo} {name:8s} seed {seed}: final {mean:8.1f} +/- {std:6.1f}   "
                      f"{seconds:6.1f} s wall {cpu:6.1f} s cpu", flush=True)
    print_table(summary)


def print_table(summary):
    print()
    print(f"| algorithm | library | final return (mean +/- std over seeds) "
          f"| seeds >= {BAR:.0f} "
          f"| seconds per seed (mean) | per-seed final returns |")
    print("|---|---|---|---|---|---|")
    for (algo, name), runs in summary.items():
        returns = [r["final"] for r in runs]
        spread = statistics.pstdev(returns) if len(returns) > 1 else 0.0
        print(f"| {algo} | {name} | {statistics.mean(returns):.1f} +/- {spread:.1f} "
              f"| {sum(r >= BAR for r in returns)}/{len(returns)} "
              f"| {statistics.mean(r['seconds'] for r in runs):.1f} s "
              f"| {', '.join(f'{r:.0f}' for r in returns)} |")


if __name__ == "__main__":
    main()
