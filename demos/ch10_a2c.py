"""Chapter 10: A2C on CartPole -- n-step returns against GAE(lambda).

    python demos/ch10_a2c.py --out runs/ch10 [--steps 100000] [--seeds 2]

Trains A2C (8 CartPole-v1 environments in lock-step, ``minirl/agents/a2c.py``) with its
default hyperparameters, once with n-step bootstrapped returns (``returns="n-step"``)
and once with GAE (``returns="gae"``, lambda 0.95), for ``--seeds`` seeds each, with a
greedy evaluation every 10,000 steps. Writes ``ch10_a2c.png``: the episode return
(mean of the last 20 episodes) against environment steps on the left, the greedy
evaluations on the right.

What to expect: both reach greedy returns of 500 within the 100k steps on most seeds
(the benchmark's A2C first solves in a few tens of thousands of steps).
"""
import argparse
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minirl  # noqa: E402


def smoothed(records, window=20):
    steps = np.array([r[0] for r in records])
    returns = np.array([r[2] for r in records])
    kernel = np.ones(window)
    mean = np.convolve(returns, kernel, "full")[:len(returns)]
    mean /= np.convolve(np.ones_like(returns), kernel, "full")[:len(returns)]
    return steps, mean


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args(argv)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8), sharey=True)
    for returns, color in (("n-step", "tab:blue"), ("gae", "tab:orange")):
        for seed in range(args.seeds):
            result = minirl.train("a2c", "CartPole-v1", args.steps, seed=seed,
                                  returns=returns, eval_every=10_000, eval_episodes=10,
                                  plot=False)
            label = (f"{returns} returns ({args.seeds} seed{'s' if args.seeds > 1 else ''}, "
                     f"one line each)") if seed == 0 else None
            left.plot(*smoothed(result.records), color=color, alpha=0.8, label=label)
            steps, means, _ = zip(*result.evaluations)
            right.plot(steps, means, "o-", color=color, alpha=0.8, label=label)
            print(f"{returns:6s} seed {seed}: greedy evaluations {[round(m) for m in means]}")
    left.set_title("A2C on CartPole-v1: training episodes\n(mean return of the last 20)")
    right.set_title("greedy evaluation every 10,000 steps\n(mean return of 10 episodes)")
    left.set_ylabel("return")
    for ax in (left, right):
        ax.set_xlabel(f"environment steps ({result.agent.num_envs} envs together)")
        ax.axhline(475, color="gray", ls="--", lw=1, label="solved: 475 (CartPole-v1's threshold)")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=9, frameon=False)
    fig.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "ch10_a2c.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(path)


if __name__ == "__main__":
    main()
