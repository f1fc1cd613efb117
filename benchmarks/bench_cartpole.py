"""Do the DQN variants end with a policy that solves CartPole-v1 (and Acrobot-v1)?

For each algorithm, environment and seed, train with ``minirl.train`` for the whole
budget (CartPole-v1: 50k steps, Acrobot-v1: 100k) with the agent's defaults, evaluating
the greedy policy every ``--eval-every`` steps over ``--eval-episodes`` episodes. Report
per seed (see ``benchmarks/common.py``):

* the FINAL greedy return (20 fresh episodes) of the agent training ends with,
* the best periodic evaluation and its step,
* the step of the first evaluation that reached the bar (CartPole-v1: 475,
  Acrobot-v1: -100), and the training seconds to it.

The bar: the final return >= 475 on at least 4 of 5 seeds (8 of 10). Seeds: the ten
evaluation seeds 200-209 of ``common.EVAL_SEEDS`` (never tuned on; a run takes under a
minute); the defaults were chosen on 100-104 (and 105-109).
``--stop-at-solve`` ends each run at its first solve, for the speed comparison only.

Wall-clock counts training only: the time spent in evaluations is measured and taken
out, for minirl and for the peer alike, since the two evaluate at different speeds.

If stable-baselines3 is importable, its DQN runs in the same process with the rl-zoo
CartPole-v1 settings (lr 2.3e-3, batch 64, buffer 100k, learning_starts 1000, gamma
0.99, target_update_interval 10, train_freq 256, gradient_steps 128, exploration 0.16
of the run down to 0.04, net [256, 256]) on CartPole, and the script prints the ratio
of median wall-clock to solve. Both use ``--threads`` BLAS / torch threads (default 1:
these networks are too small for threads to help, and on a busy machine they hurt).

    python benchmarks/bench_cartpole.py --envs CartPole-v1 --no-sb3   # the table in docs/ch08.md
    python benchmarks/bench_cartpole.py --algos dqn rainbow --seeds 200 201
    python benchmarks/bench_cartpole.py --stop-at-solve --out runs/bench
    python benchmarks/bench_cartpole.py --algos dqn --set n_step=1    # 1-step targets

Writes ``bench_cartpole.csv`` (one row per run) and ``bench_cartpole.png`` (steps and
seconds to solve, per algorithm and environment) in ``--out``.
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
import importlib  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import minirl  # noqa: E402
from common import EVAL_SEEDS, summarize as summarize_final  # noqa: E402
from minirl.cli import parse_set  # noqa: E402

ALGOS = ["dqn", "double-dqn", "per-dqn", "dueling-dqn", "noisy-dqn", "c51", "rainbow"]
THRESHOLD = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0}
STEPS = {"CartPole-v1": 50_000, "Acrobot-v1": 100_000}
SB3_ENVS = ("CartPole-v1",)  # the rl-zoo settings below are CartPole's


class EvalClock:
    """Wraps the training loop's ``evaluate`` to add up the seconds it takes."""

    def __init__(self):
        minirl.train  # resolve the function before its module is imported by name
        self.module = importlib.import_module("minirl.train")
        self.seconds = 0.0

    def __enter__(self):
        self.original = self.module.evaluate

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
        self.module.evaluate = timed
        return self

    def __exit__(self, *exc):
        self.module.evaluate = self.original


def run_minirl(algo, env_id, seed, steps, args):
    with EvalClock() as clock:
        start = time.perf_counter()
        result = minirl.train(algo, env_id, steps, seed=seed, eval_every=args.eval_every,
                              eval_episodes=args.eval_episodes, plot=False,
                              stop_return=THRESHOLD[env_id] if args.stop_at_solve else None,
                              **parse_set(args.set))
        total = time.perf_counter() - start
    row = summarize(algo, env_id, seed, result.evaluations, total - clock.seconds,
                    clock.seconds, env_id)
    final = summarize_final(result, env_id, seed, THRESHOLD[env_id])
    row.update(final=final["final"], best=final["best"], best_step=final["best_step"])
    return row


def summarize(algo, env_id, seed, evaluations, train_seconds, eval_seconds, _env):
    """Steps and training seconds to the first solving evaluation (None if never)."""
    solved = next((step for step, mean, _ in evaluations if mean >= THRESHOLD[env_id]), None)
    last_step = evaluations[-1][0] if evaluations else 0
    # Training time to the solve: with --stop-at-solve the run ends there; otherwise the
    # time is prorated by steps (the loop's speed is steady).
    seconds = None
    if solved is not None:
        seconds = train_seconds * solved / max(last_step, 1)
    return {"algo": algo, "env": env_id, "seed": seed, "solved_step": solved,
            "solved_seconds": seconds, "final_step": last_step,
            "last_evaluation": evaluations[-1][1] if evaluations else float("nan"),
            "train_seconds": train_seconds, "eval_seconds": eval_seconds,
            "curve": [(s, m) for s, m, _ in evaluations]}


def run_sb3(env_id, seed, steps, args):
    """stable-baselines3 DQN with the rl-zoo CartPole-v1 hyperparameters."""
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
            mean, std = minirl.evaluate(Greedy(self.model), env_id, args.eval_episodes,
                                        seed=seed + 1_000_000)
            self.eval_seconds += time.perf_counter() - start
            self.evaluations.append((self.num_timesteps, mean, std))
            return not args.stop_at_solve or mean < THRESHOLD[env_id]

    model = DQN("MlpPolicy", gym.make(env_id), learning_rate=2.3e-3, batch_size=64,
                buffer_size=100_000, learning_starts=1000, gamma=0.99,
                target_update_interval=10, train_freq=256, gradient_steps=128,
                exploration_fraction=0.16, exploration_final_eps=0.04,
                policy_kwargs=dict(net_arch=[256, 256]), seed=seed, verbose=0)
    callback = Evaluate()
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    total = time.perf_counter() - start
    row = summarize("sb3-dqn", env_id, seed, callback.evaluations,
                    total - callback.eval_seconds, callback.eval_seconds, env_id)

    class Result:  # what summarize_final reads from a minirl TrainResult
        agent, evaluations = Greedy(model), callback.evaluations
    final = summarize_final(Result, env_id, seed, THRESHOLD[env_id])
    row.update(final=final["final"], best=final["best"], best_step=final["best_step"])
    return row


def sb3_available():
    try:
        import stable_baselines3  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
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
                                            ("final", "final greedy return (20 episodes)"))):
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
    parser.add_argument("--seeds", type=int, nargs="+", default=list(EVAL_SEEDS),
                        help="seeds (default: the ten evaluation seeds 200-209, never tuned "
                             "on; a CartPole run takes under a minute)")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per run (default: CartPole 50k, Acrobot 100k)")
    parser.add_argument("--eval-every", type=int, default=5000)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--stop-at-solve", action="store_true",
                        help="end each run at its first solve (speed comparison only: the "
                             "final return is then the solving agent's)")
    parser.add_argument("--no-sb3", action="store_true", help="skip stable-baselines3")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="hyperparameter overrides for every minirl agent (n_step=1)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
    parser.add_argument("--out", default=".")
    args = parser.parse_args(argv)

    use_sb3 = not args.no_sb3 and sb3_available()
    if not args.no_sb3 and not use_sb3:
        print("stable-baselines3 not importable: minirl only")
    rows = []
    for env_id in args.envs:
        steps = args.steps or STEPS[env_id]
        runners = [(algo, run_minirl) for algo in args.algos]
        if use_sb3 and env_id in SB3_ENVS:
            runners.append(("sb3-dqn", None))
        for algo, runner in runners:
            for seed in args.seeds:
                if runner is None:
                    row = run_sb3(env_id, seed, steps, args)
                else:
                    row = runner(algo, env_id, seed, steps, args)
                rows.append(row)
                print(f"{env_id} {algo} seed {seed}: final {row['final']:.1f}; best "
                      f"{row['best']:.1f} at {row['best_step']}; first solved at "
                      f"{_fmt(row['solved_step'], 'd')} steps, "
                      f"{_fmt(row['solved_seconds'], '.1f')} s", flush=True)

    print(f"\nthreshold: greedy mean over {args.eval_episodes} episodes, evaluated every "
          f"{args.eval_every} steps; seconds exclude evaluation; {_THREADS} thread(s)")
    print(table(rows))
    for env_id in args.envs:
        ours = _median([r["solved_seconds"] for r in rows
                        if r["env"] == env_id and r["algo"] == "dqn"])
        theirs = _median([r["solved_seconds"] for r in rows
                          if r["env"] == env_id and r["algo"] == "sb3-dqn"])
        if ours and theirs:
            print(f"{env_id}: median seconds to solve, minirl dqn / sb3 dqn = "
                  f"{ours:.1f} / {theirs:.1f} = {ours / theirs:.2f}")

    os.makedirs(args.out, exist_ok=True)
    csv_path = os.path.join(args.out, "bench_cartpole.csv")
    with open(csv_path, "w", newline="") as f:
        fields = ["env", "algo", "seed", "final", "best", "best_step", "solved_step",
                  "solved_seconds", "final_step", "last_evaluation", "train_seconds",
                  "eval_seconds"]
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    png_path = os.path.join(args.out, "bench_cartpole.png")
    plot(rows, png_path)
    print(f"wrote {csv_path} and {png_path}")
    return rows


if __name__ == "__main__":
    main()
