"""Chapter 9's agents on CartPole-v1: does the policy training ends with solve it?

For each algorithm and seed, ``minirl.train`` runs the whole step budget with the
agent's defaults, evaluating the greedy policy every ``--eval-every`` steps (20
episodes). Reported per seed (``benchmarks/common.py``): the FINAL greedy return (20
fresh episodes) of the agent training ends with, the best evaluation and the first step
an evaluation averaged >= 475; per algorithm, the seeds whose final return holds 475.
Seeds: the evaluation seeds 200-204, never tuned on.

Target: the final return >= 475 on at least 4 of 5 seeds within each algorithm's
budget: 200k steps, simple-pg 400k (it anneals its step to 0 over them).

    python benchmarks/bench_policy_gradient.py [--seeds 200 201 ...] [--steps N]
        [--algos simple-pg,reinforce,reinforce-baseline,actor-critic]
        [--eval-every 5000] [--set key=value ...]
"""
import argparse
import time

import minirl
from minirl.agents import agent_class
from common import EVAL_SEEDS, seed_line, summarize, summary_line

ALGOS = ["simple-pg", "reinforce", "reinforce-baseline", "actor-critic"]
# Each algorithm's budget: simple-pg anneals its step to 0 over 400k steps (docs/ch09.md)
BUDGET = {"simple-pg": 400_000}
DEFAULT_BUDGET = 200_000
ENV = "CartPole-v1"
SOLVED = 475.0


def parse_value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def run_one(algo, seed, steps, eval_every, hparams):
    started = time.perf_counter()
    result = minirl.train(algo, ENV, steps, seed=seed, eval_every=eval_every,
                          eval_episodes=20, plot=False, **hparams)
    row = summarize(result, ENV, seed, SOLVED)
    row["wall"] = time.perf_counter() - started
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(EVAL_SEEDS[:5]),
                        help="seeds (default: the evaluation seeds 200-204, never tuned on)")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per run (default: simple-pg 400k, the others 200k)")
    parser.add_argument("--algos", default=",".join(ALGOS))
    parser.add_argument("--eval-every", type=int, default=5000)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="hyperparameter override for every algorithm that has it")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    overrides = {k: parse_value(v) for k, v in overrides.items()}

    print(f"{ENV}: final greedy return of 20 episodes >= {SOLVED:.0f}, evaluated every "
          f"{args.eval_every} steps, budget {args.steps or 'per algorithm'} steps, seeds "
          f"{args.seeds}"
          + (f", overrides {overrides}" if overrides else ""))
    table = []
    for algo in args.algos.split(","):
        cls = agent_class(algo)
        known = {spec.name for spec in getattr(cls, "hyperparameters", ())} or set(
            getattr(cls, "defaults", {}))
        hparams = {k: v for k, v in overrides.items() if k in known}
        rows = []
        for seed in args.seeds:
            steps = args.steps or BUDGET.get(algo, DEFAULT_BUDGET)
            row = run_one(algo, seed, steps, args.eval_every, hparams)
            rows.append(row)
            print("  " + seed_line(algo, row) + f" ({row['wall']:.0f} s)", flush=True)
        table.append(summary_line(algo, rows, SOLVED))
    print("\n".join(table))


if __name__ == "__main__":
    main()
