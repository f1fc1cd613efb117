"""Chapter 10: every DQN improvement alone, and Rainbow, over several seeds.

    python demos/ch10_rainbow.py --out runs/ch10 [--steps 20000] [--seeds 3] [--jobs 2]

Trains dqn, double-dqn, per-dqn, dueling-dqn, noisy-dqn, c51 and rainbow with the same
defaults (each name switches one flag on; rainbow all of them) for ``--seeds`` seeds
each, evaluating the greedy policy every ``--eval-every`` steps. Writes
``ch10_rainbow.png``: one panel per variant on shared axes, its greedy return as the
mean over seeds with a band of +- one standard deviation, cut to the range the seeds
reached (each seed a faint line) and
plain DQN's mean in every panel for comparison; the last panel compares the final
greedy returns. ``--jobs`` runs that many trainings at once, in separate processes.

What to expect: 20k steps is short for CartPole (the benchmark trains 50k, and DQN's
greedy return first passes 475 after a few tens of thousands of steps), so the curves are
still rising at the end; noisy-dqn and rainbow start slower (their first 8000 steps are
a burst of random actions).
"""
import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

import gymnasium as gym
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

import minirl  # noqa: E402
from minirl.plot import observed_band  # noqa: E402

VARIANTS = ["dqn", "double-dqn", "per-dqn", "dueling-dqn", "noisy-dqn", "c51", "rainbow"]


def greedy_curve(name, env, steps, seed, eval_every, eval_episodes):
    """Train one variant on one seed -> (evaluation steps, greedy mean returns, seconds)."""
    start = time.perf_counter()
    result = minirl.train(name, env, steps, seed=seed, eval_every=eval_every,
                          eval_episodes=eval_episodes, plot=False)
    eval_steps, means, _ = np.array(result.evaluations).T
    return eval_steps, means, time.perf_counter() - start


def draw_variant(ax, name, eval_steps, curves, baseline, colour, solved):
    """One variant's seeds (faint), their mean and mean +- std (band, cut to the range
    the seeds reached: no CartPole band above 500), DQN's mean and the env's "solved"
    return (if it has one)."""
    mean, std = curves.mean(axis=0), curves.std(axis=0)
    lower, upper = observed_band(mean, std, curves.min(axis=0), curves.max(axis=0))
    if solved is not None:
        ax.axhline(solved, color="gray", ls=":", lw=1)
    for curve in curves:
        ax.plot(eval_steps, curve, color=colour, lw=0.7, alpha=0.35)
    ax.fill_between(eval_steps, lower, upper, color=colour, alpha=0.2)
    ax.plot(eval_steps, mean, color=colour, lw=2)
    if name != "dqn":
        ax.plot(eval_steps, baseline, color="black", ls="--", lw=1)
    ax.set_title(f"{name}: final {mean[-1]:.0f} ± {std[-1]:.0f}")
    ax.grid(alpha=0.3)


def draw_finals(ax, finals, solved):
    """Each variant's final greedy return: one dot per seed, a bar for the mean."""
    if solved is not None:
        ax.axhline(solved, color="gray", ls=":", lw=1)
    for i, (name, values) in enumerate(finals.items()):
        ax.bar(i, np.mean(values), color=f"C{i}", alpha=0.5)
        ax.plot(np.full(len(values), i), values, "k.", ms=5)
    ax.set_xticks(range(len(finals)))
    ax.set_xticklabels(list(finals), rotation=45, ha="right")
    ax.set_title("final greedy return (dots: seeds)")
    ax.grid(alpha=0.3, axis="y")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--eval-every", type=int, default=2000)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="trainings at once (processes)")
    parser.add_argument("--algos", nargs="+", default=VARIANTS, choices=VARIANTS)
    args = parser.parse_args(argv)
    algos = ["dqn"] + [name for name in args.algos if name != "dqn"]  # dqn: the reference

    runs = [(name, seed) for name in algos for seed in range(args.seeds)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(greedy_curve, name, args.env, args.steps, seed,
                               args.eval_every, args.eval_episodes) for name, seed in runs]
        results = {run: future.result() for run, future in zip(runs, futures)}

    eval_steps = results["dqn", 0][0]
    curves = {name: np.array([results[name, seed][1] for seed in range(args.seeds)])
              for name in algos}
    for name in algos:
        seconds = sum(results[name, seed][2] for seed in range(args.seeds))
        print(f"{name:12s} final greedy returns {np.round(curves[name][:, -1]).tolist()} "
              f"({seconds:.0f} s of training in all)")

    columns = 4
    rows = -(-(len(algos) + 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.2 * rows),
                             sharex=True, sharey=True, squeeze=False)
    axes = axes.ravel()
    baseline = curves["dqn"].mean(axis=0)
    solved = gym.spec(args.env).reward_threshold
    for i, name in enumerate(algos):
        draw_variant(axes[i], name, eval_steps, curves[name], baseline, f"C{i}", solved)
        if i + columns >= len(algos):  # nothing of the same x axis below it
            axes[i].set_xlabel("environment step")
            axes[i].xaxis.set_tick_params(labelbottom=True)
    for ax in axes[len(algos):]:
        ax.set_visible(False)
    finals = fig.add_subplot(rows, columns, rows * columns, sharey=axes[0])
    draw_finals(finals, {name: curves[name][:, -1] for name in algos}, solved)
    finals.tick_params(labelleft=False)
    for ax in axes[::columns]:
        ax.set_ylabel(f"greedy return\n(mean of {args.eval_episodes} episodes)")
    marks = [Line2D([], [], color="C0", lw=2, label=f"the panel's variant: mean of "
                    f"{args.seeds} seeds"),
             Patch(color="C0", alpha=0.2, label="± 1 std over seeds, within their range"),
             Line2D([], [], color="C0", lw=0.7, alpha=0.35, label="one seed"),
             Line2D([], [], color="black", ls="--", lw=1, label="plain dqn: mean of seeds")]
    if solved is not None:
        marks.append(Line2D([], [], color="gray", ls=":", lw=1,
                            label=f"solved: {solved:g} ({args.env}'s threshold)"))
    fig.legend(handles=marks, loc="lower center", ncol=len(marks), fontsize=9,
               frameon=False)
    fig.suptitle(f"DQN improvements on {args.env}: greedy return during training "
                 f"({args.seeds} seeds each, {args.steps} steps)")
    fig.tight_layout(rect=(0, 0.05, 1, 1))  # room for the legend below the panels

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "ch10_rainbow.png")
    fig.savefig(path, dpi=100)
    print(path)
    return path


if __name__ == "__main__":
    main()
