"""PPO on CartPole-v1 (and Acrobot-v1, Pendulum-v1): final greedy return, and wall-clock.

For each seed, train for ``--steps`` environment steps, then evaluate the FINAL greedy
policy over ``--episodes`` episodes with ``minirl.evaluate`` (the same episode seeds for
every library). minirl also evaluates every ``--eval-every`` steps (5 episodes) during
training, for the best evaluation and the first step that reached the bar; the final
return is what a user gets. Wall-clock is the training time only (with those evaluations
for minirl, none for sb3), beside the process's CPU time, which a shared machine's other
jobs disturb less.

* ``minirl``      -- ``minirl.train("ppo", ENV, ...)`` with the agent's defaults (on
                     Pendulum its ``pendulum`` preset); override with ``--set key=value``.
* ``sb3``         -- stable-baselines3's PPO with ITS defaults (1 env, 2048 steps, 10
                     epochs of minibatches of 64, lr 3e-4; the same 64-64 tanh networks).
* ``sb3-zoo``     -- stable-baselines3's PPO with rl-baselines3-zoo's tuned settings for
                     the task (``hyperparams/ppo.yml``), which minirl's defaults follow
                     on CartPole: the same networks and the same arithmetic per update.

Bars (issue targets): CartPole-v1 >= 475 within 100k steps; Acrobot-v1 >= -100; Pendulum
has no bar here (report what is reached).

    python benchmarks/bench_ppo.py [--env CartPole-v1] [--seeds 5] [--first-seed 100]
        [--steps N] [--episodes 20] [--peers minirl,sb3,sb3-zoo] [--sb3-seeds K]
        [--set key=value ...]

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

import minirl  # noqa: E402
from common import importable_peers  # noqa: E402
from minirl.cli import parse_set  # noqa: E402

EVAL_SEED = 10_000  # final evaluation episodes start from reset(seed=EVAL_SEED + 100 seed + i)

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


def run_minirl(env, seed, steps, hparams, eval_every):
    preset = TASKS[env][2]
    started, cpu = time.perf_counter(), time.process_time()
    result = minirl.train("ppo", env, steps, seed=seed, preset=preset, eval_every=eval_every,
                          eval_episodes=5, **hparams)
    return (result.agent, time.perf_counter() - started, time.process_time() - cpu,
            result.evaluations)


def run_sb3(env, seed, steps, zoo):
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    settings = dict(TASKS[env][3]) if zoo else {"n_envs": 1}
    started, cpu = time.perf_counter(), time.process_time()
    envs = make_vec_env(env, n_envs=settings.pop("n_envs"), seed=seed)
    model = PPO("MlpPolicy", envs, seed=seed, device="cpu", **settings)
    model.learn(steps)
    return SB3Policy(model), time.perf_counter() - started, time.process_time() - cpu, []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="CartPole-v1", choices=sorted(TASKS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--peers", default="minirl,sb3,sb3-zoo")
    parser.add_argument("--sb3-seeds", type=int, default=None,
                        help="run the sb3 peers on the first K seeds only")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    hparams = parse_set(args.set or [])
    steps = args.steps or TASKS[args.env][0]
    bar = TASKS[args.env][1]

    names = args.peers.split(",")
    unknown = sorted(set(names) - {"minirl", "sb3", "sb3-zoo"})
    if unknown:
        raise SystemExit(f"unknown peer(s) {unknown}; choose from minirl, sb3, sb3-zoo")
    names = importable_peers(names, THREADS)

    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    slow = seeds[:args.sb3_seeds] if args.sb3_seeds is not None else seeds
    print(f"{args.env}: {steps} steps, final greedy eval over {args.episodes} episodes, "
          f"seeds {seeds}, {THREADS} thread(s)" + (f"; minirl overrides {hparams}"
                                                    if hparams else ""))
    summary = {n: ([], [], []) for n in names}
    for seed in seeds:
        for name in names:
            if name != "minirl" and seed not in slow:
                continue
            if name == "minirl":
                policy, seconds, cpu, evals = run_minirl(args.env, seed, steps, hparams,
                                                    args.eval_every)
            else:
                policy, seconds, cpu, evals = run_sb3(args.env, seed, steps, name == "sb3-zoo")
            mean, std = minirl.evaluate(policy, args.env, args.episodes,
                                        seed=EVAL_SEED + seed * 100)
            summary[name][0].append(mean)
            summary[name][1].append(seconds)
            summary[name][2].append(cpu)
            extra = ""
            if evals:
                best = max(m for _, m, _ in evals)
                first = next((s for s, m, _ in evals if bar is not None and m >= bar), None)
                extra = f"   best eval {best:7.1f}" + (f"   first >= bar at {first}"
                                                        if bar is not None else "")
            print(f"  {name:8s} seed {seed}: final {mean:8.1f} +/- {std:6.1f}   "
                  f"{seconds:6.1f} s wall {cpu:6.1f} s cpu{extra}", flush=True)

    print()
    print("| library | final return (mean +/- std over seeds) | seeds >= bar "
          "| wall-clock / CPU time per seed (mean) | per-seed final returns |")
    print("|---|---|---|---|---|")
    for name, (returns, times, cpus) in summary.items():
        if not returns:
            continue
        spread = statistics.pstdev(returns) if len(returns) > 1 else 0.0
        solved = "-" if bar is None else f"{sum(r >= bar for r in returns)}/{len(returns)}"
        print(f"| {name} | {statistics.mean(returns):.1f} +/- {spread:.1f} | {solved} "
              f"| {statistics.mean(times):.1f} s / {statistics.mean(cpus):.1f} s "
              f"| {', '.join(f'{r:.0f}' for r in returns)} |")


if __name__ == "__main__":
    main()
