"""Chapter 9's agents on CartPole-v1: how many steps until the greedy policy solves it?

For each algorithm and seed, ``minirl.train`` runs until a greedy evaluation (20
episodes) averages >= 475 or the step budget is spent. Reported per algorithm: seeds
solved, env steps / episodes / wall-clock seconds to the solving evaluation (median
over the seeds that solved), and a final greedy evaluation on 20 fresh episodes.

Targets: reinforce-baseline and actor-critic solve at least 4 of 5 seeds within 200k
steps. simple-pg and reinforce are reported as they come, solved or not.

    python benchmarks/bench_policy_gradient.py [--seeds 5] [--steps 200000]
        [--algos simple-pg,reinforce,reinforce-baseline,actor-critic]
        [--eval-every 5000] [--set key=value ...]
"""
import argparse
import time

import numpy as np

import minirl

ALGOS = ["simple-pg", "reinforce", "reinforce-baseline", "actor-critic"]
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
                          eval_episodes=20, stop_return=SOLVED, plot=False, **hparams)
    wall = time.perf_counter() - started
    solved = [e for e in result.evaluations if e[1] >= SOLVED]
    row = {"solved": bool(solved), "steps": None, "episodes": None, "wall": None,
           "trained_steps": result.records[-1][0] if result.records else 0}
    if solved:
        step = solved[0][0]
        row.update(steps=step, wall=wall,
                   episodes=sum(1 for r in result.records if r[0] <= step))
    row["final"] = minirl.evaluate(result.agent, ENV, 20, seed=10_000 + seed)[0]
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--algos", default=",".join(ALGOS))
    parser.add_argument("--eval-every", type=int, default=5000)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="hyperparameter override for every algorithm that has it")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.set)
    overrides = {k: parse_value(v) for k, v in overrides.items()}

    print(f"{ENV}: greedy mean of 20 episodes >= {SOLVED:.0f}, evaluated every "
          f"{args.eval_every} steps, budget {args.steps} steps, seeds 0..{args.seeds - 1}"
          + (f", overrides {overrides}" if overrides else ""))
    header = (f"{'algorithm':<20}{'solved':>8}{'steps':>10}{'episodes':>10}{'wall s':>9}"
              f"{'final eval':>14}")
    table = [header, "-" * len(header)]
    for algo in args.algos.split(","):
        cls = minirl.agents.agent_class(algo)
        hparams = {k: v for k, v in overrides.items() if k in cls.defaults}
        rows = []
        for seed in range(args.seeds):
            row = run_one(algo, seed, args.steps, args.eval_every, hparams)
            rows.append(row)
            print(f"  {algo} seed {seed}: " + ("solved at step "
                  f"{row['steps']} (episode {row['episodes']}, {row['wall']:.0f} s)"
                  if row["solved"] else f"not solved in {row['trained_steps']} steps")
                  + f", final eval {row['final']:.1f}", flush=True)
        done = [r for r in rows if r["solved"]]

        def median(key):
            return f"{np.median([r[key] for r in done]):.0f}" if done else "-"
        finals = [r["final"] for r in rows]
        table.append(f"{algo:<20}{len(done):>5}/{len(rows):<2}{median('steps'):>10}"
                     f"{median('episodes'):>10}{median('wall'):>9}"
                     f"{np.mean(finals):>8.1f} ± {np.std(finals):<5.1f}")
    print("\n".join(table))


if __name__ == "__main__":
    main()
