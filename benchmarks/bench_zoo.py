"""The learning zoo over five seeds: every registered algorithm, with its defaults, on
the small tasks of ``minirl.envs.testing``, reporting every run.

The tasks, budgets and bars are those of ``tests/test_zoo.py`` (imported from it),
which runs one seed in the suite; no algorithm gets a preset for the task. Seeds: the evaluation seeds 200-204 (``common.EVAL_SEEDS``),
never tuned on. Each line is one run's FINAL greedy return (20 episodes); the summary
counts the runs that reached the bar.

    python benchmarks/bench_zoo.py                                 # everything
    python benchmarks/bench_zoo.py --algos dqn c51 --tasks minirl/SparseChain-v0
    python benchmarks/bench_zoo.py --algos c51 rainbow --set v_min=-100 v_max=100  # a fixed support
"""
import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import minirl  # noqa: E402
from minirl.cli import parse_set  # noqa: E402
from common import EVAL_SEEDS  # noqa: E402
from test_zoo import TASKS, train_and_evaluate, unsupported  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algos", nargs="+", default=minirl.algorithms())
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(EVAL_SEEDS[:5]))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override hyperparameters of every algorithm run")
    args = parser.parse_args(argv)
    hparams = parse_set(args.set)

    summary = []
    for task in args.tasks:
        for algo in args.algos:
            reason = unsupported(algo, task)
            if reason:
                print(f"{task} {algo}: skipped ({reason})")
                continue
            finals = []
            for seed in args.seeds:
                started = time.perf_counter()
                final, bar, steps = train_and_evaluate(algo, task, seed, **hparams)
                finals.append(final)
                print(f"{task} {algo} seed {seed}: final {final:.3f} "
                      f"({'>=' if final >= bar else '<'} {bar}) after {steps} steps, "
                      f"{time.perf_counter() - started:.1f} s", flush=True)
            summary.append((task, algo, sum(f >= bar for f in finals), finals))
    if hparams:
        print(f"\nwith {hparams}", end="")
    print(f"\n{'task':<28} {'algo':<20} {'at the bar':>10}  finals per seed {args.seeds}")
    for task, algo, held, finals in summary:
        print(f"{task:<28} {algo:<20} {held:>6}/{len(finals):<3}  "
              + " ".join(f"{f:.2f}" for f in finals))


if __name__ == "__main__":
    main()
