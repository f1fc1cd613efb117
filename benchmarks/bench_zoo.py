"""The learning zoo over five seeds: every registered algorithm, with its defaults, on
the small tasks of ``minirl.envs.testing``, reporting every run.

The tasks, budgets and bars are those of ``tests/test_zoo.py`` (imported from it),
which runs one seed in the suite; no algorithm gets a preset for the task. Each
(algorithm, task) is one ``minirl.sweep`` over the seeds, its runs ordinary run
directories under ``--out``/ALGO-TASK (running the command again trains nothing new),
each evaluated once, at its end, over ``test_zoo.EVAL_EPISODES`` greedy episodes: that
FINAL greedy return is what each line reports, and the summary counts the runs that
reached the bar. Seeds: the evaluation seeds 200-204 (``common.EVAL_SEEDS``), never
tuned on.

    python benchmarks/bench_zoo.py                                 # everything
    python benchmarks/bench_zoo.py --algos dqn c51 --tasks minirl/SparseChain-v0
    python benchmarks/bench_zoo.py --algos c51 rainbow --set v_min=-100 v_max=100  # a fixed support
"""
import argparse
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import minirl  # noqa: E402
from minirl.cli import parse_set  # noqa: E402
from minirl.sweep import parse_seeds, read_sweep  # noqa: E402
from test_zoo import EVAL_EPISODES, LONGER, TASKS, unsupported  # noqa: E402


def run(algo, task, args, hparams):
    """One sweep of ``algo`` on ``task``: (steps, bar, [(seed, final greedy return)])."""
    steps, bar, _ = TASKS[task]
    steps = LONGER.get((algo, task), steps)
    out = os.path.join(args.out, f"{algo}-{task.split('/')[-1]}")
    minirl.sweep(algo, task, steps, args.seeds, out=out, workers=args.workers,
                 eval_every=steps, eval_episodes=EVAL_EPISODES, quiet=True, **hparams)
    groups, _ = read_sweep(out)
    seeds = set(parse_seeds(args.seeds))  # every run under out: report the ones asked for
    return steps, bar, [(r["seed"], r["final"]) for r in groups["default"] if r["seed"] in seeds]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", nargs="+", default=minirl.algorithms())
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", default="200-204", help="e.g. 200-204 or 200,203")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override hyperparameters of every algorithm run")
    parser.add_argument("--workers", type=int, default=1, help="sweep worker processes")
    parser.add_argument("--out", default=os.path.join("runs", "bench-zoo"))
    args = parser.parse_args(argv)
    hparams = parse_set(args.set)

    summary = []
    for task in args.tasks:
        for algo in args.algos:
            reason = unsupported(algo, task)
            if reason:
                print(f"{task} {algo}: skipped ({reason})")
                continue
            steps, bar, finals = run(algo, task, args, hparams)
            for seed, final in finals:
                print(f"{task} {algo} seed {seed}: final {final:.3f} "
                      f"({'>=' if final >= bar else '<'} {bar}) after {steps} steps",
                      flush=True)
            summary.append((task, algo, bar, finals))
    if hparams:
        print(f"\nwith {hparams}", end="")
    print(f"\n{'task':<28} {'algo':<20} {'at the bar':>10}  finals per seed {args.seeds}")
    for task, algo, bar, finals in summary:
        held = sum(final >= bar for _, final in finals)
        print(f"{task:<28} {algo:<20} {held:>6}/{len(finals):<3}  "
              + " ".join(f"{final:.2f}" for _, final in finals))


if __name__ == "__main__":
    main()
