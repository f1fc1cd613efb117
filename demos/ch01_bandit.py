"""Chapter 1: the 10-armed bandit.

Figure 1: epsilon-greedy with sample averages on a stationary bandit, for several
epsilons -- the average reward per step, averaged over runs.
Figure 2: a non-stationary bandit (arm values drift): sample averages vs a constant
step size alpha, which keeps up with the drift.

    python demos/ch01_bandit.py --out figures --runs 200

Settings: 10 arms, 1000 steps, 50 runs (``--runs``), epsilon 0.01, 0.1 and 0.3; on the
drifting bandit epsilon 0.1, sample averages against a constant step size 0.8.
What to expect: epsilon 0.1 ends highest (about 0.8 average reward at step 1000), 0.3
levels off lower because it keeps exploring, 0.01 is still climbing; on the drifting
bandit the constant step size ends above the sample average.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # run from a checkout

import numpy as np

from minirl.plot import finish, new_figure
from minirl.tabular.bandit import AlphaAgent, Agent, Bandit, NonStatBandit, run_bandit


def average_rates(make_agent, make_bandit, runs, steps):
    """The book's "rates" curve (average reward so far), averaged over ``runs``."""
    all_rates = np.zeros((runs, steps))
    for run in range(runs):
        _, all_rates[run] = run_bandit(make_agent(run), make_bandit(run), steps)
    return all_rates.mean(axis=0)


def plot_curves(curves, title, path):
    fig = new_figure((6, 4))
    ax = fig.add_subplot(1, 1, 1)
    for label, rates in curves.items():
        ax.plot(rates, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("average reward so far")
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend(loc="lower right")  # the curves start low at the left and rise
    return finish(fig, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for the PNGs")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    curves = {}
    for epsilon in (0.01, 0.1, 0.3):
        curves[f"epsilon = {epsilon}"] = average_rates(
            lambda run: Agent(epsilon, seed=run),
            lambda run: Bandit(seed=10_000 + run), args.runs, args.steps)
    path = os.path.join(args.out, "ch01_bandit.png")
    plot_curves(curves, f"Stationary 10-armed bandit: epsilon-greedy with sample averages\n"
                        f"(mean over {args.runs} runs)", path)
    print(path)

    curves = {
        "sample average (step size 1/n)": average_rates(lambda run: Agent(0.1, seed=run),
                                        lambda run: NonStatBandit(seed=10_000 + run),
                                        args.runs, args.steps),
        "constant step size alpha = 0.8": average_rates(lambda run: AlphaAgent(0.1, 0.8, seed=run),
                                     lambda run: NonStatBandit(seed=10_000 + run),
                                     args.runs, args.steps),
    }
    path = os.path.join(args.out, "ch01_nonstationary.png")
    plot_curves(curves, f"Non-stationary 10-armed bandit (arm values drift), epsilon 0.1\n"
                        f"(mean over {args.runs} runs)", path)
    print(path)


if __name__ == "__main__":
    main()
