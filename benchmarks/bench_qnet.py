"""Chapter 7: does the Q-network agent reach Q* on the book's GridWorld?

One ``minirl.sweep`` of ``qnet`` on ``minirl/GridWorld-v0`` for 30,000 steps with the
agent's defaults (the env as registered: the book's single start, a 100-step time
limit), one run directory per seed under ``--out``; then each run's saved agent
(``minirl.load_agent``) is compared with Q* from value iteration (chapter 4):

* how many of the states whose optimal action is unique have it as the greedy action;
* max and mean over states of max_a |Q(s, a) - Q*(s, a)|.

The sweep's summary adds the final greedy return (the last evaluation: the undiscounted
return of the greedy walk from the start, 1.0 when it reaches the goal).
Bar: the greedy action optimal on every unique-action state on at least 4 of 5 seeds.
Seeds: the evaluation seeds 200-204 (``common.EVAL_SEEDS``, never tuned on); the
defaults were chosen on 100-104.

The results pages' data (``--name`` writes ``benchmarks/results/NAME.{csv,json}`` with
``common.export_sweep``, and NAME-qstar.csv: per seed the comparison with Q*), one
worker:

    python benchmarks/bench_qnet.py --name qnet-gridworld

Other uses:

    python benchmarks/bench_qnet.py --seeds 100-104 --set epsilon=0.1   # the book's epsilon
"""
import argparse
import csv
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import minirl  # noqa: E402
from common import RESULTS, command_line, export_sweep  # noqa: E402
from minirl.cli import parse_set  # noqa: E402
from minirl.sweep import parse_seeds, read_sweep  # noqa: E402
from minirl.envs.gridworld import GridWorld  # noqa: E402
from minirl.tabular.dp import value_iter  # noqa: E402

ENV_ID = "minirl/GridWorld-v0"


def exact_q(env, gamma):
    """Q*(s, a) = r(s, a, s') + gamma V*(s') for every non-goal state, V* by value
    iteration."""
    _, V = value_iter(env, gamma=gamma, threshold=1e-10)
    return {s: np.array([env.reward(s, a, env.next_state(s, a))
                         + gamma * V[env.next_state(s, a)] for a in range(4)])
            for s in env.states() if s != env.goal_state}


def compare(agent, model, q_star):
    """(unique-action states greedy-optimal, their number, wrong states, max error,
    mean error)."""
    right, unique, wrong, errors = 0, 0, [], []
    for state, q in q_star.items():
        learned = agent.q_values(model.state_to_index(state))
        errors.append(np.abs(learned - q).max())
        best = np.flatnonzero(np.isclose(q, q.max(), atol=1e-9))
        if len(best) == 1:
            unique += 1
            if learned.argmax() == best[0]:
                right += 1
            else:
                wrong.append(state)
    return right, unique, wrong, max(errors), float(np.mean(errors))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="200-204", help="e.g. 200-204 or 100,103")
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--eval-every", type=int, default=3000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--workers", type=int, default=1, help="sweep worker processes")
    parser.add_argument("--out", default=os.path.join("runs", "bench-qnet"))
    parser.add_argument("--name", help="write benchmarks/results/NAME.{csv,json}")
    parser.add_argument("--wall-clock", type=float,
                        help="with --name: seconds measured elsewhere (0: none)")
    args = parser.parse_args(argv)
    hparams = parse_set(args.set)

    model = GridWorld()
    gamma = minirl.make_agent("qnet", ENV_ID, **hparams).hparams["gamma"]
    q_star = exact_q(model, gamma)
    print(f"{ENV_ID}: qnet, {args.steps} steps, seeds {args.seeds}"
          + (f", overrides {hparams}" if hparams else ""))
    start = time.monotonic()
    minirl.sweep("qnet", ENV_ID, args.steps, args.seeds, out=args.out, workers=args.workers,
                 eval_every=args.eval_every, eval_episodes=args.eval_episodes, quiet=True,
                 **hparams)
    wall_clock = time.monotonic() - start
    groups, _ = read_sweep(args.out)
    seeds = set(parse_seeds(args.seeds))  # every run under --out: report the ones asked for
    runs = [run for run in groups["default"] if run["seed"] in seeds]
    held, rows = 0, []
    for run in runs:
        agent = minirl.load_agent(os.path.join(args.out, "default", f"seed-{run['seed']}"))
        right, unique, wrong, max_err, mean_err = compare(agent, model, q_star)
        held += right == unique
        rows.append([run["seed"], right, unique, f"{max_err:.4f}", f"{mean_err:.4f}"])
        print(f"  seed {run['seed']}: greedy optimal on {right}/{unique} unique-action "
              f"states" + (f" (wrong at {wrong})" if wrong else "")
              + f"; max |Q - Q*| {max_err:.3f}, mean {mean_err:.3f}; final greedy return "
              f"{run['final']:g}", flush=True)
    print(f"all unique-action states optimal on {held}/{len(runs)} seeds")
    if args.name:
        command = command_line("bench_qnet.py", argv if argv is not None else sys.argv[1:])
        export_sweep(args.out, args.name, command,
                     wall_clock if args.wall_clock is None else args.wall_clock,
                     args.workers, None)
        write_q_star(f"{args.name}-qstar.csv", rows)


def write_q_star(name, rows):
    """benchmarks/results/NAME: per seed, the unique-action states greedy-optimal and
    the errors against Q* (what the sweep's summary does not hold)."""
    path = os.path.join(RESULTS, name)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["seed", "greedy_optimal", "unique_action_states",
                         "max_abs_error", "mean_abs_error"])
        writer.writerows(rows)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
