"""Do the DQN variants end with a policy that solves CartPole-v1 (and Acrobot-v1)?

For each algorithm and environment, one ``minirl.sweep`` over the seeds (and ``--grid``):
each run trains with ``minirl.train`` for the whole budget (CartPole-v1: 50k steps,
Acrobot-v1: 100k) with the agent's defaults, evaluating the greedy policy every
``--eval-every`` steps over ``--eval-episodes`` episodes; each run is an ordinary run
directory under ``--out``/ALGO-ENV, so running the command again trains nothing new.
Reported per run, from its evaluations and checkpoint:

* the FINAL greedy return: the last evaluation, the agent training ends with,
* the best periodic evaluation and its step,
* the step of the first evaluation that reached the bar (CartPole-v1: 475,
  Acrobot-v1: -100), and the training seconds to it (prorated by steps).

The bar: the final return >= 475 on at least 4 of 5 seeds. Seeds: the evaluation seeds
200-204 of ``common.EVAL_SEEDS`` (never tuned on); the defaults were chosen on 100-104.
Seconds are training only: the evaluations' time (the checkpoint's ``loop.eval_seconds``)
is taken out, for minirl and for the peer alike.

If stable-baselines3 is importable, its DQN runs in this process with the rl-zoo
CartPole-v1 settings (lr 2.3e-3, batch 64, buffer 100k, learning_starts 1000, gamma
0.99, target_update_interval 10, train_freq 256, gradient_steps 128, exploration 0.16
of the run down to 0.04, net [256, 256]) on CartPole, and the script prints the ratio
of median training seconds to solve. Its torch uses ``--threads`` threads (default 1,
as every sweep worker's BLAS: these networks are too small for threads to help).

The results pages' data (``--name cartpole`` writes ``benchmarks/results/ALGO-cartpole.*``
for each algorithm, with ``common.export_sweep``), seeds 200-204 on one worker, one
command per algorithm so that each dataset records its own:

    for algo in dqn double-dqn per-dqn dueling-dqn noisy-dqn c51 rainbow; do
        python benchmarks/bench_cartpole.py --algos $algo --envs CartPole-v1 --no-sb3 \\
            --name cartpole
    done

Other uses:

    python benchmarks/bench_cartpole.py --algos dqn rainbow --seeds 200-201
    python benchmarks/bench_cartpole.py --algos dqn --set n_step=1          # 1-step targets
    python benchmarks/bench_cartpole.py --algos dqn --grid lr=1e-3,3e-4 --workers 2

Writes ``bench_cartpole.csv`` (one row per run) and ``bench_cartpole.png`` (steps and
seconds to solve, and the final return, per algorithm and environment) in ``--out``.
"""
import argparse
import os
import sys


def _threads_from_argv(argv):
    """--threads must act before NumPy loads its BLAS, so read it first."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "1"


_THREADS = _threads_from_argv(sys.argv)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, _THREADS)

import csv  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minirl  # noqa: E402
from common import command_line, export_sweep  # noqa: E402
from minirl.cli import parse_set  # noqa: E402
from minirl.sweep import (configuration_name, configurations, parse_grid,  # noqa: E402
                          parse_seeds, read_sweep, steps_to)

ALGOS = ["dqn", "double-dqn", "per-dqn", "dueling-dqn", "noisy-dqn", "c51", "rainbow"]
THRESHOLD = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0}
STEPS = {"CartPole-v1": 50_000, "Acrobot-v1": 100_000}
SB3_ENVS = ("CartPole-v1",)  # the rl-zoo settings below are CartPole's


def train_seconds(run_dir):
    """A run's training seconds: its checkpoint's wall-clock less its evaluations'."""
    with np.load(os.path.join(run_dir, "checkpoint.npz"), allow_pickle=False) as data:
        return float(data["loop.elapsed"]) - float(data["loop.eval_seconds"])


def run_minirl(algo, env_id, steps, args):
    """One ``minirl.sweep`` of ``algo`` on ``env_id``: (its directory, its wall-clock,
    one row per run)."""
    out = os.path.join(args.out, f"{algo}-{env_id}")
    start = time.monotonic()
    minirl.sweep(algo, env_id, steps, args.seeds, grid=args.grid, out=out,
                 workers=args.workers, eval_every=args.eval_every,
                 eval_episodes=args.eval_episodes, threshold=THRESHOLD[env_id],
                 quiet=True, **parse_set(args.set))
    wall_clock = time.monotonic() - start
    groups, _ = read_sweep(out)  # every run under out: report the ones asked for
    wanted = {configuration_name(h) for h in configurations(parse_grid(args.grid))}
    seeds = set(parse_seeds(args.seeds))
    rows = [summarize(algo if config == "default" else f"{algo} {config}", env_id,
                      run["seed"], run["evaluations"],
                      train_seconds(os.path.join(out, config, f"seed-{run['seed']}")))
            for config, runs in groups.items() if config in wanted
            for run in runs if run["seed"] in seeds]
    return out, wall_clock, rows


def summarize(algo, env_id, seed, evaluations, seconds):
    """A run's final (last) and best greedy evaluations, and its first solve: the step
    and the training seconds to it (prorated by steps: the loop's speed is steady)."""
    solved = steps_to(evaluations, THRESHOLD[env_id])
    last_step, final = evaluations[-1]
    best_step, best = max(evaluations, key=lambda e: e[1])
    return {"algo": algo, "env": env_id, "seed": seed, "final": final, "best": best,
            "best_step": best_step, "solved_step": solved,
            "solved_seconds": None if solved is None else seconds * solved / last_step,
            "final_step": last_step, "train_seconds": seconds,
            "curve": list(evaluations)}


def run_sb3(env_id, seed, steps, args):
    """stable-baselines3 DQN with the rl-zoo CartPole-v1 hyperparameters, evaluated as
    a minirl run is (``minirl.evaluate``, every ``--eval-every`` steps)."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(int(_THREADS))

    class Greedy:
        def __init__(self, model):
            self.model = model

        def act(self, obs, explore=False):
            return int(self.model.predict(obs, deterministic=True)[0])

    class Evaluate(BaseCallback):
        def __init__(self):
            super().__init__()
            self.evaluations, self.eval_seconds = [], 0.0

        def _on_step(self):
            if self.num_timesteps % args.eval_every:
                return True
            start = time.perf_counter()
            mean, _ = minirl.evaluate(Greedy(self.model), env_id, args.eval_episodes,
                                      seed=seed + 1_000_000)
            self.eval_seconds += time.perf_counter() - start
            self.evaluations.append((self.num_timesteps, mean))
            return True

    model = DQN("MlpPolicy", gym.make(env_id), learning_rate=2.3e-3, batch_size=64,
                buffer_size=100_000, learning_starts=1000, gamma=0.99,
                target_update_interval=10, train_freq=256, gradient_steps=128,
                exploration_fraction=0.16, exploration_final_eps=0.04,
                policy_kwargs=dict(net_arch=[256, 256]), seed=seed, verbose=0)
    callback = Evaluate()
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    total = time.perf_counter() - start
    return summarize("sb3-dqn", env_id, seed, callback.evaluations,
                     total - callback.eval_seconds)


def importable_sb3():
    """Whether stable-baselines3 and torch import (the peer is skipped when absent)."""
    try:
        import stable_baselines3  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        print("stable-baselines3 / torch not importable: minirl only")
        return False
    return True


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(x, spec):
    """format(x, spec), or a dash as wide as the spec asks for when x is None."""
    if x is not None:
        return format(x, spec)
    width = "".join(c for c in spec.split(".")[0] if c.isdigit())
    return "-".rjust(int(width) if width else 1)


def table(rows):
    """One line per (env, algo): seeds whose FINAL greedy return holds the bar, the finals,
    then the first-solve figures (medians over the seeds that solved)."""
    lines = [f"{'env':<12} {'algo':<12} {'final>=bar':>10} {'final mean':>11} "
             f"{'solved':>7} {'median steps':>13} {'median s':>9} {'steps/s':>8}  "
             f"final per seed"]
    keys = list(dict.fromkeys((r["env"], r["algo"]) for r in rows))
    for env_id, algo in keys:
        group = [r for r in rows if r["env"] == env_id and r["algo"] == algo]
        solved = [r for r in group if r["solved_step"] is not None]
        held = sum(r["final"] >= THRESHOLD[env_id] for r in group)
        rate = sum(r["final_step"] for r in group) / max(sum(r["train_seconds"]
                                                             for r in group), 1e-9)
        per_seed = " ".join(f"{r['final']:.1f}" for r in group)
        lines.append(f"{env_id:<12} {algo:<12} {held:>6}/{len(group):<3} "
                     f"{np.mean([r['final'] for r in group]):11.1f} "
                     f"{len(solved):>3}/{len(group):<3} "
                     f"{_fmt(_median([r['solved_step'] for r in solved]), '13.0f')} "
                     f"{_fmt(_median([r['solved_seconds'] for r in solved]), '9.1f')} "
                     f"{rate:8.0f}  {per_seed}")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(r["env"] for r in rows))
    fig, axes = plt.subplots(3, len(envs), figsize=(6 * len(envs), 10), squeeze=False)
    for col, env_id in enumerate(envs):
        algos = list(dict.fromkeys(r["algo"] for r in rows if r["env"] == env_id))
        for row, (key, label) in enumerate((("solved_step", "env steps to first solve"),
                                            ("solved_seconds", "training seconds to solve"),
                                            ("final", "final greedy return (last evaluation)"))):
            ax = axes[row, col]
            for i, algo in enumerate(algos):
                group = [r for r in rows if r["env"] == env_id and r["algo"] == algo]
                if not group:
                    continue
                jitter = np.linspace(-0.15, 0.15, len(group))
                solved = [(i + j, r[key]) for j, r in zip(jitter, group) if r[key] is not None]
                if solved:
                    ax.scatter(*zip(*solved), color=f"C{i}", s=25)
                    ax.hlines(_median([y for _, y in solved]), i - 0.3, i + 0.3, color=f"C{i}")
                failed = [i + j for j, r in zip(jitter, group) if r[key] is None]
                if failed and key == "solved_step":
                    ax.scatter(failed, [max(r["final_step"] for r in group)] * len(failed),
                               marker="x", color="k", s=30)
            ax.set_xticks(range(len(algos)))
            ax.set_xticklabels(algos, rotation=30, ha="right")
            ax.set_ylabel(label)
            if key == "final":
                ax.axhline(THRESHOLD[env_id], color="k", ls=":", label="bar")
                ax.legend(loc="lower right")
            ax.set_title(f"{env_id} (>= {THRESHOLD[env_id]:g}; x: not solved)" if row == 0
                         else f"{env_id}: the agent training ends with" if key == "final"
                         else env_id)
            ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", nargs="+", default=ALGOS, choices=ALGOS)
    parser.add_argument("--envs", nargs="+", default=list(THRESHOLD), choices=list(THRESHOLD))
    parser.add_argument("--seeds", default="200-204",
                        help="the sweep's seeds, e.g. 200-204 or 200,203 (default: the "
                             "evaluation seeds 200-204, never tuned on)")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per run (default: CartPole 50k, Acrobot 100k)")
    parser.add_argument("--eval-every", type=int, default=5000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--no-sb3", action="store_true", help="skip stable-baselines3")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="hyperparameter overrides for every minirl agent (n_step=1)")
    parser.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                        help="a sweep grid for every minirl agent (lr=1e-3,3e-4)")
    parser.add_argument("--workers", type=int, default=1, help="sweep worker processes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (sb3)")
    parser.add_argument("--out", default=os.path.join("runs", "bench-cartpole"))
    parser.add_argument("--name", help="write benchmarks/results/ALGO-NAME.{csv,json} "
                                       "for each algorithm (one env at a time)")
    parser.add_argument("--wall-clock", type=float,
                        help="with --name: seconds measured elsewhere (0: none)")
    args = parser.parse_args(argv)
    if args.name and len(args.envs) != 1:
        parser.error("--name writes one dataset per algorithm: give one env (--envs)")

    use_sb3 = not args.no_sb3 and importable_sb3()
    rows = []
    for env_id in args.envs:
        steps = args.steps or STEPS[env_id]
        for algo in args.algos:
            out, wall_clock, runs = run_minirl(algo, env_id, steps, args)
            rows += runs
            print_runs(runs)
            if args.name:
                command = command_line("bench_cartpole.py",
                                       argv if argv is not None else sys.argv[1:])
                export_sweep(out, f"{algo}-{args.name}", command,
                             wall_clock if args.wall_clock is None else args.wall_clock,
                             args.workers, THRESHOLD[env_id])
        if use_sb3 and env_id in SB3_ENVS:
            runs = [run_sb3(env_id, seed, steps, args) for seed in parse_seeds(args.seeds)]
            rows += runs
            print_runs(runs)

    print(f"\nthreshold: greedy mean over {args.eval_episodes} episodes, evaluated every "
          f"{args.eval_every} steps; seconds exclude evaluation")
    print(table(rows))
    for env_id in args.envs:
        ours = _median([r["solved_seconds"] for r in rows
                        if r["env"] == env_id and r["algo"] == "dqn"])
        theirs = _median([r["solved_seconds"] for r in rows
                          if r["env"] == env_id and r["algo"] == "sb3-dqn"])
        if ours and theirs:
            print(f"{env_id}: median seconds to solve, minirl dqn / sb3 dqn = "
                  f"{ours:.1f} / {theirs:.1f} = {ours / theirs:.2f}")

    csv_path = os.path.join(args.out, "bench_cartpole.csv")
    with open(csv_path, "w", newline="") as f:
        fields = ["env", "algo", "seed", "final", "best", "best_step", "solved_step",
                  "solved_seconds", "final_step", "train_seconds"]
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    png_path = os.path.join(args.out, "bench_cartpole.png")
    plot(rows, png_path)
    print(f"wrote {csv_path} and {png_path}")
    return rows


def print_runs(rows):
    for row in rows:
        print(f"{row['env']} {row['algo']} seed {row['seed']}: final {row['final']:.1f}; "
              f"best {row['best']:.1f} at {row['best_step']}; first solved at "
              f"{_fmt(row['solved_step'], 'd')} steps, "
              f"{_fmt(row['solved_seconds'], '.1f')} s", flush=True)


if __name__ == "__main__":
    main()
