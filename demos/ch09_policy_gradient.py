"""Chapter 9: simple PG, REINFORCE, REINFORCE with baseline and Actor-Critic on CartPole.

    python demos/ch09_policy_gradient.py --out runs/ch09 [--steps 40000] [--seeds 3]

Trains each agent with its default (tuned) hyperparameters for ``--steps`` environment
steps and ``--seeds`` seeds, and writes ``ch09_policy_gradient.png``: episode return
against environment steps, the mean over seeds as a line and mean +- one standard
deviation as a band. ``--preset book --time-limit 200`` uses the chapter's settings and
time limit instead.

What to expect with the defaults: the curves rise from the random policy's return
(about 20) towards 500; simple PG, whose weight (the whole return) is the noisiest,
rises slowest. 40k steps is a short budget for CartPole-v1: the benchmark trains 200k
(simple PG 400k) before judging the final policy (docs/ch09.md, the results pages).
"""
import argparse
import os

import gymnasium as gym
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minirl  # noqa: E402
from minirl.plot import observed_band  # noqa: E402

ALGOS = ["simple-pg", "reinforce", "reinforce-baseline", "actor-critic"]


def returns_on_grid(records, grid, window=20):
    """Each step of ``grid`` -> the mean return of the last ``window`` episodes finished
    by then (NaN before the first one)."""
    steps = np.array([r[0] for r in records])
    returns = np.array([r[2] for r in records])
    smooth = np.convolve(returns, np.ones(window), "full")[:len(returns)]
    smooth /= np.minimum(np.arange(1, len(returns) + 1), window)
    index = np.searchsorted(steps, grid, side="right") - 1
    return np.where(index >= 0, smooth[np.maximum(index, 0)], np.nan)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--preset", default=None, choices=[None, "book"])
    parser.add_argument("--time-limit", type=int, default=None,
                        help="max episode steps (the book: 200)")
    args = parser.parse_args(argv)

    grid = np.linspace(0, args.steps, 200)
    fig, ax = plt.subplots(figsize=(8, 5))
    for algo in ALGOS:
        curves = []
        for seed in range(args.seeds):
            env = gym.make(args.env, **({"max_episode_steps": args.time_limit}
                                        if args.time_limit else {}))
            result = minirl.train(algo, env, args.steps, seed=seed, preset=args.preset,
                                  plot=False)
            curves.append(returns_on_grid(result.records, grid))
            print(f"{algo} seed {seed}: {len(result.records)} episodes, last 20 average "
                  f"{np.mean([r[2] for r in result.records[-20:]]):.1f}")
        curves = np.array(curves)
        seen = ~np.isnan(curves).any(axis=0)  # from when every seed has finished an episode
        mean, std = curves[:, seen].mean(axis=0), curves[:, seen].std(axis=0)
        lower, upper = observed_band(mean, std, curves[:, seen].min(axis=0),
                                     curves[:, seen].max(axis=0))
        line, = ax.plot(grid[seen], mean, label=algo)
        ax.fill_between(grid[seen], lower, upper, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return (mean of the last 20 episodes)")
    # the env's "solved" return holds for its own time limit only
    solved = None if args.time_limit else gym.spec(args.env).reward_threshold
    if solved is not None:
        ax.axhline(solved, color="gray", ls="--", lw=1,
                   label=f"solved: {solved:g} ({args.env}'s threshold)")
    ax.set_title(f"Policy gradient methods on {args.env}"
                 + (" (book preset)" if args.preset else "")
                 + f":\nmean over {args.seeds} seeds, band ± 1 std within the seeds' range")
    # below the axes: a legend inside would cover the curves or the "solved" line
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=9,
              frameon=False)
    ax.grid(alpha=0.3)

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "ch09_policy_gradient.png")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(path)


if __name__ == "__main__":
    main()
