"""PPO on CartPole-v1 (and Acrobot-v1, Pendulum-v1): final greedy return, and wall-clock.

minirl's runs are one ``minirl.sweep`` (``benchmarks/sweep_report.py``): each seed an
ordinary run directory under ``--out`` (a rerun continues), evaluated greedily every
steps/10 steps over 10 episodes; the FINAL return is the last evaluation, the agent
training ends with (what a user gets). Per seed also the best evaluation and the first
step at the bar; the seconds are each run's wall-clock, evaluations included. Seeds: the
evaluation seeds 200-204, never tuned on.

* ``minirl``      -- ``minirl.train("ppo", ENV, ...)`` with the agent's defaults (on
                     Pendulum its ``pendulum`` preset); override with ``--set key=value``.
* ``sb3``         -- stable-baselines3's PPO with ITS defaults (1 env, 2048 steps, 10
                     epochs of minibatches of 64, lr 3e-4; the same 64-64 tanh networks).
* ``sb3-zoo``     -- stable-baselines3's PPO with rl-baselines3-zoo's tuned settings for
                     the task (``hyperparams/ppo.yml``), which minirl's defaults follow
                     on CartPole: the same networks and the same arithmetic per update.

The sb3 peers (skipped when stable-baselines3 is not importable) run seed after seed in
this process: their final greedy return over ``--episodes`` episodes of
``minirl.evaluate``, their training wall-clock and CPU time.

Bars: CartPole-v1 >= 475 within 100k steps; Acrobot-v1 >= -100; Pendulum-v1 has none
(report what is reached).

The results data (``--name``; the pages are generated from it):

    python benchmarks/bench_ppo.py --env CartPole-v1 --peers minirl --name ppo-cartpole

Beside stable-baselines3: ``--env CartPole-v1 --seeds 200 --peers minirl,sb3,sb3-zoo``.
Both libraries run on one BLAS / torch thread.
"""
import argparse
import os
import statistics
import sys
import time

THREADS = int(os.environ.setdefault("OPENBLAS_NUM_THREADS", "1"))
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
os.environ.setdefault("MKL_NUM_THREADS", str(THREADS))

import minirl  # noqa: E402
import sweep_report  # noqa: E402
from common import importable_peers  # noqa: E402
from minirl.sweep import parse_seeds  # noqa: E402

EVAL_SEED = 10_000  # sb3's evaluation episodes: reset(seed=EVAL_SEED + 100 seed + i)

# env: (steps, bar, minirl preset, rl-zoo's PPO settings for it)
TASKS = {
    "CartPole-v1": (100_000, 475.0, None,
                    dict(n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                         n_epochs=20, ent_coef=0.0, learning_rate=1e-3, clip_range=0.2)),
    "Acrobot-v1": (100_000, -100.0, None,
                   dict(n_envs=16, n_steps=256, gae_lambda=0.94, gamma=0.99, n_epochs=4,
                        ent_coef=0.0)),
    "Pendulum-v1": (200_000, None, "pendulum",
                    dict(n_envs=4, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10,
                         ent_coef=0.0, learning_rate=1e-3, clip_range=0.2)),
}


class SB3Policy:
    """Lets ``minirl.evaluate`` call an SB3 model: act(obs, explore=False)."""

    def __init__(self, model):
        self.model = model

    def act(self, obs, explore=False):
        return self.model.predict(obs, deterministic=True)[0]


def run_sb3(env, seed, steps, zoo):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    settings = dict(TASKS[env][3]) if zoo else {"n_envs": 1}
    started, cpu = time.perf_counter(), time.process_time()
    envs = make_vec_env(env, n_envs=settings.pop("n_envs"), seed=seed)
    model = PPO("MlpPolicy", envs, seed=seed, device="cpu", **settings)
    model.learn(steps)
    return SB3Policy(model), time.perf_counter() - started, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="CartPole-v1", choices=sorted(TASKS))
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--episodes", type=int, default=20,
                        help="the sb3 peers' final greedy evaluation")
    parser.add_argument("--peers", default="minirl,sb3,sb3-zoo")
    parser.add_argument("--sb3-seeds", type=int, default=None,
                        help="run the sb3 peers on the first K seeds only")
    sweep_report.add_arguments(parser)
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    steps = args.steps or TASKS[args.env][0]
    bar, preset = TASKS[args.env][1], TASKS[args.env][2]

    names = args.peers.split(",")
    unknown = sorted(set(names) - {"minirl", "sb3", "sb3-zoo"})
    if unknown:
        raise SystemExit(f"unknown peer(s) {unknown}; choose from minirl, sb3, sb3-zoo")
    names = importable_peers(names, THREADS)

    seeds = parse_seeds(args.seeds)
    slow = seeds[:args.sb3_seeds] if args.sb3_seeds is not None else seeds
    print(f"{args.env}: {steps} steps, seeds {args.seeds}, {THREADS} thread(s)")
    summary = {}  # library -> [{seed, final, seconds}] by seed
    if "minirl" in names:
        summary["minirl"] = sweep_report.run(
            "ppo", args.env, steps, args, bar, "bench_ppo.py",
            argv, **({"preset": preset} if preset else {}))
    for name in (n for n in names if n != "minirl"):
        for seed in slow:
            policy, seconds, cpu = run_sb3(args.env, seed, steps, name == "sb3-zoo")
            mean, std = minirl.evaluate(policy, args.env, args.episodes,
                                        seed=EVAL_SEED + seed * 100)
            summary.setdefault(name, []).append({"seed": seed, "final": mean,
                                                 "seconds": seconds})
            print(f"  {name:8s} seed {seed}: final {mean:8.1f} +/- {std:6.1f}   "
                  f"{seconds:6.1f} s wall {cpu:6.1f} s cpu", flush=True)
    print_table(summary, bar)


def print_table(summary, bar):
    print()
    print("| library | final return (mean +/- std over seeds) | seeds >= bar "
          "| seconds per seed (mean) | per-seed final returns |")
    print("|---|---|---|---|---|")
    for name, runs in summary.items():
        returns = [r["final"] for r in runs]
        spread = statistics.pstdev(returns) if len(returns) > 1 else 0.0
        solved = "-" if bar is None else f"{sum(r >= bar for r in returns)}/{len(returns)}"
        print(f"| {name} | {statistics.mean(returns):.1f} +/- {spread:.1f} | {solved} "
              f"| {statistics.mean(r['seconds'] for r in runs):.1f} s "
              f"| {', '.join(f'{r:.0f}' for r in returns)} |")


if __name__ == "__main__":
    main()
