"""Chapter 10: every DQN improvement alone, and Rainbow, on one plot.

    python demos/ch10_rainbow.py --out runs/ch10 [--steps 30000] [--env CartPole-v1]

Trains dqn, double-dqn, per-dqn, dueling-dqn, noisy-dqn, c51 and rainbow with the same
seed and the same defaults (each name switches one flag on; rainbow all of them) and
plots each one's greedy evaluations. Writes ``ch10_rainbow.png``.
"""
import argparse
import os
import time

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minirl  # noqa: E402

VARIANTS = ["dqn", "double-dqn", "per-dqn", "dueling-dqn", "noisy-dqn", "c51", "rainbow"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--eval-every", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--algos", nargs="+", default=VARIANTS, choices=VARIANTS)
    args = parser.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "ch10_rainbow.png")
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, name in enumerate(args.algos):
        start = time.perf_counter()
        result = minirl.train(name, args.env, args.steps, seed=args.seed,
                              eval_every=args.eval_every, eval_episodes=10)
        steps, means, _ = np.array(result.evaluations).T
        ax.plot(steps, means, "o-", ms=3, color=f"C{i}",
                lw=2.5 if name == "rainbow" else 1.2, label=name)
        print(f"{name}: last greedy mean {means[-1]:.1f} "
              f"({time.perf_counter() - start:.0f} s)")
    ax.set_xlabel("environment step")
    ax.set_ylabel("greedy return (mean of 10 episodes)")
    ax.set_title(f"DQN improvements on {args.env}, seed {args.seed}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(path)
    return path


if __name__ == "__main__":
    main()
