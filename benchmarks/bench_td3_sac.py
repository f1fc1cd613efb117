"""TD3 and SAC on Pendulum-v1: final greedy return after 20k steps, and wall-clock.

For each algorithm and seed, train for ``--steps`` environment steps, then evaluate the
FINAL greedy policy (TD3: mu(s) without noise; SAC: the squashed mean) over
``--episodes`` episodes with ``minirl.evaluate`` (the same episode seeds for every
library). minirl also evaluates every ``--eval-every`` steps (5 episodes) for the best
evaluation and the first step at the bar. Wall-clock is the training time only, beside
the process's CPU time, which a shared machine's other jobs disturb less.

* ``minirl``   -- ``minirl.train(ALGO, "Pendulum-v1", ...)`` with the agent's defaults
                  (64-64 networks); override with ``--set key=value``.
* ``sb3``      -- stable-baselines3 with ITS defaults (TD3: 400-300, no exploration
                  noise, 100 warm-up steps; SAC: 256-256, lr 3e-4).
* ``sb3-zoo``  -- stable-baselines3 with rl-baselines3-zoo's Pendulum settings
                  (``hyperparams/td3.yml``, ``sac.yml``); the zoo reports about -150.
* ``sb3-64``   -- the zoo settings with 64-64 networks: the same sizes as minirl's.

Bar: mean return >= -200 on at least 4 of 5 seeds.

    python benchmarks/bench_td3_sac.py [--algos td3,sac] [--seeds 5] [--first-seed 100]
        [--steps 20000] [--episodes 20] [--peers minirl,sb3,sb3-zoo,sb3-64]
        [--sb3-seeds K] [--set key=value ...]

Seeds 100-104 were chosen before any tuning and never tuned on. Both libraries run on
one BLAS / torch thread.
"""
import argparse
import os
import statistics
import time

THREADS = int(os.environ.setdefault("OPENBLAS_NUM_THREADS", "1"))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("MKL_NUM_THREADS", str(THREADS))

import numpy as np  # noqa: E402

import minirl  # noqa: E402
from common import importable_peers  # noqa: E402
from minirl.cli import parse_set  # noqa: E402

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


def run_minirl(algo, seed, steps, hparams, eval_every):
    started, cpu = time.perf_counter(), time.process_time()
    result = minirl.train(algo, ENV_ID, steps, seed=seed, eval_every=eval_every,
                          eval_episodes=5, **hparams)
    return (result.agent, time.perf_counter() - started, time.process_time() - cpu,
            result.evaluations)


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
    return SB3Policy(model), time.perf_counter() - started, time.process_time() - cpu, []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", default="td3,sac")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--eval-every", type=int, default=2_000)
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--sb3-seeds", type=int, default=None,
                        help="run the sb3 peers on the first K seeds only")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    hparams = parse_set(args.set or [])
    algos = args.algos.split(",")
    names = args.peers.split(",")
    unknown = sorted(set(names) - set(PEERS)) + sorted(set(algos) - set(ZOO))
    if unknown:
        raise SystemExit(f"unknown {unknown}; peers: {PEERS}, algos: td3, sac")
    names = importable_peers(names, THREADS)

    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    slow = seeds[:args.sb3_seeds] if args.sb3_seeds is not None else seeds
    print(f"{ENV_ID}: {args.steps} steps, final greedy eval over {args.episodes} episodes, "
          f"seeds {seeds}, {THREADS} thread(s)" + (f"; minirl overrides {hparams}"
                                                    if hparams else ""))
    summary = {(a, n): ([], [], []) for a in algos for n in names}
    for algo in algos:
        for seed in seeds:
            for name in names:
                if name != "minirl" and seed not in slow:
                    continue
                if name == "minirl":
                    policy, seconds, cpu, evals = run_minirl(algo, seed, args.steps, hparams,
                                                        args.eval_every)
                else:
                    policy, seconds, cpu, evals = run_sb3(algo, seed, args.steps, name)
                mean, std = minirl.evaluate(policy, ENV_ID, args.episodes,
                                            seed=EVAL_SEED + seed * 100)
                summary[algo, name][0].append(mean)
                summary[algo, name][1].append(seconds)
                summary[algo, name][2].append(cpu)
                extra = ""
                if evals:
                    best = max(m for _, m, _ in evals)
                    first = next((s for s, m, _ in evals if m >= BAR), None)
                    extra = f"   best eval {best:7.1f}   first >= {BAR:.0f} at {first}"
                print(f"  {algo} {name:8s} seed {seed}: final {mean:8.1f} +/- {std:6.1f}   "
                      f"{seconds:6.1f} s wall {cpu:6.1f} s cpu{extra}", flush=True)

    print()
    print(f"| algorithm | library | final return (mean +/- std over seeds) | seeds >= {BAR:.0f} "
          f"| wall-clock / CPU time per seed (mean) | per-seed final returns |")
    print("|---|---|---|---|---|---|")
    for (algo, name), (returns, times, cpus) in summary.items():
        if not returns:
            continue
        spread = statistics.pstdev(returns) if len(returns) > 1 else 0.0
        print(f"| {algo} | {name} | {statistics.mean(returns):.1f} +/- {spread:.1f} "
              f"| {sum(r >= BAR for r in returns)}/{len(returns)} "
              f"| {statistics.mean(times):.1f} s / {statistics.mean(cpus):.1f} s "
              f"| {', '.join(f'{r:.0f}' for r in returns)} |")


if __name__ == "__main__":
    main()
