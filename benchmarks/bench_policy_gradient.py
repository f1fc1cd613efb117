"""Chapter 9's agents on CartPole-v1: does the policy training ends with solve it?

Each algorithm is one ``minirl.sweep`` over the seeds (``benchmarks/sweep_report.py``):
each seed an ordinary run directory under ``--out`` (a rerun continues), the whole step
budget with the agent's defaults, the greedy policy evaluated every budget/10 steps over
10 episodes. Reported per seed: the FINAL greedy return (the last evaluation: the agent
training ends with), the best evaluation and the first step an evaluation averaged
>= 475, and the run's seconds; per algorithm the sweep's table (mean, IQM [95% CI]).
Seeds: the evaluation seeds 200-204, never tuned on.

Target: the final return >= 475 on at least 4 of 5 seeds within each algorithm's
budget: 200k steps, simple-pg 400k (it anneals its step to 0 over them).

The results data (``--name``, one algorithm at a time; the pages are generated from it;
reinforce, actor-critic and simple-pg on 3 seeds, for the time of a shared machine):

    python benchmarks/bench_policy_gradient.py --algos reinforce-baseline \\
        --name reinforce-baseline-cartpole
    python benchmarks/bench_policy_gradient.py --algos reinforce --seeds 200-202 \\
        --name reinforce-cartpole
    python benchmarks/bench_policy_gradient.py --algos actor-critic --seeds 200-202 \\
        --name actor-critic-cartpole
    python benchmarks/bench_policy_gradient.py --algos simple-pg --seeds 200-202 \\
        --name simple-pg-cartpole
"""
import argparse
import sys

import sweep_report
from minirl.agents import agent_class
from minirl.cli import parse_set

ALGOS = ["simple-pg", "reinforce", "reinforce-baseline", "actor-critic"]
# Each algorithm's budget: simple-pg anneals its step to 0 over 400k steps (docs/ch09.md)
BUDGET = {"simple-pg": 400_000}
DEFAULT_BUDGET = 200_000
ENV = "CartPole-v1"
SOLVED = 475.0


def known_settings(algo, settings):
    """The ``--set`` settings ``algo`` has (one --set serves all four agents)."""
    cls = agent_class(algo)
    known = {spec.name for spec in getattr(cls, "hyperparameters", ())} or set(
        getattr(cls, "defaults", {}))
    return {k: v for k, v in settings.items() if k in known}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per run (default: simple-pg 400k, the others 200k)")
    parser.add_argument("--algos", default=",".join(ALGOS))
    sweep_report.add_arguments(parser)
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    algos = args.algos.split(",")
    if args.name and len(algos) > 1:
        raise SystemExit("--name writes one algorithm's data: give --algos ALGO")
    settings, args.set = parse_set(args.set), []  # each algorithm takes the ones it has
    print(f"{ENV}: final greedy return >= {SOLVED:.0f}, budget "
          f"{args.steps or 'per algorithm'} steps, seeds {args.seeds}"
          + (f", settings {settings}" if settings else ""))
    table = []
    for algo in algos:
        steps = args.steps or BUDGET.get(algo, DEFAULT_BUDGET)
        finals = sweep_report.run(algo, ENV, steps, args, SOLVED,
                                  "bench_policy_gradient.py", argv,
                                  **known_settings(algo, settings))
        held = sum(r["final"] >= SOLVED for r in finals)
        table.append(f"{algo:<20} final >= {SOLVED:g} on {held}/{len(finals)} seeds; "
                     "finals " + " ".join(f"{r['final']:.1f}" for r in finals))
    print("\n".join(table))


if __name__ == "__main__":
    main()
