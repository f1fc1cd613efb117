"""Chapter 10: A3C on CartPole with 1 and 2 worker processes.

    python demos/ch10_a3c.py --out runs/ch10 [--steps 60000] [--workers 1 2]

Trains A3C (``minirl/agents/a3c.py``) with each number of workers for ``--steps``
environment steps and records when every episode ended, by the clock. Writes
``ch10_a3c.png``: the episode return (mean of the last 20 episodes) against
environment steps on the left -- the workers share one network, so the curves should
look alike -- and against wall-clock seconds on the right, where more workers get
there sooner when the machine has a free core for each.

What to expect: the two curves by step look alike; by the clock, two workers finish
in about half the time only when two cores are free (on a busy machine, no sooner).
"""
import argparse
import os
import time

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minirl  # noqa: E402


def run(workers, steps, seed):
    """-> arrays (seconds, global step, return) of every episode A3C finished."""
    agent = minirl.make_agent("a3c", "CartPole-v1", seed=seed, workers=workers)
    episodes = []
    started = time.perf_counter()

    def on_episode(step, episode_return, episode_length):
        episodes.append((time.perf_counter() - started, step, episode_return))
        return False
    agent.train_parallel("CartPole-v1", steps, 0, seed, on_episode)
    return [np.array(column) for column in zip(*episodes)]


def smooth(x, window=20):
    kernel = np.ones(window)
    return (np.convolve(x, kernel, "full")[:len(x)]
            / np.convolve(np.ones_like(x), kernel, "full")[:len(x)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for workers in args.workers:
        seconds, steps, returns = run(workers, args.steps, args.seed)
        label = f"{workers} worker{'s' if workers > 1 else ''}"
        left.plot(steps, smooth(returns), label=label)
        right.plot(seconds, smooth(returns), label=label)
        rate = (steps[-1] - steps[0]) / (seconds[-1] - seconds[0])
        print(f"{label}: {steps[-1]} steps in {seconds[-1]:.1f} s ({rate:,.0f} steps/s), "
              f"last 20 episodes' mean return {returns[-20:].mean():.0f}")
    left.set_xlabel("environment steps (all workers)")
    right.set_xlabel("wall-clock seconds (process start-up included)")
    left.set_ylabel("episode return (mean of the last 20)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")  # returns start low: the corner stays free
    left.set_title(f"A3C on CartPole-v1 (seed {args.seed}): return by environment step")
    right.set_title(f"the same runs by wall-clock time, on {os.cpu_count()} CPUs")
    fig.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "ch10_a3c.png")
    fig.savefig(path, dpi=100)
    print(path)


if __name__ == "__main__":
    main()
