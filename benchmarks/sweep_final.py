"""Final greedy returns over many seeds, with ``minirl.sweep``; the results pages' data.

Each seed is an ordinary ``minirl.train`` run directory under ``--out`` (so a rerun
continues, and ``minirl eval`` works on each run). By default a run is evaluated once,
at its end, over 20 greedy episodes: telling a hold rate of 75% from one of 90% needs
about a hundred seeds per setting (docs/ch10-dqn-variants.md), and periodic evaluations
cost more than the training. A held run is a final return >= ``--threshold`` (475).

    python benchmarks/sweep_final.py --algo dqn --seeds 1000 40
    python benchmarks/sweep_final.py --algo dqn --seeds 1000 40 --set max_grad_norm=1.0
    python benchmarks/sweep_final.py --algo dqn --seeds 200 10 --grid lr=1e-3,3e-4 \\
        --eval-every 5000 --eval-episodes 10 --name dqn-cartpole-lr

``--name NAME`` also writes the data the results pages are generated from
(``benchmarks/results/generate.py``): ``benchmarks/results/NAME.csv`` (the sweep's
summary.csv), ``NAME-evaluations.csv`` (every greedy evaluation of every run) and
``NAME.json`` (the command, the workers, the wall-clock). ``--wall-clock S`` records a
time measured outside (a sweep run from the command line) instead of this call's;
``--wall-clock 0``: none (a sweep stopped and continued has no one figure).
"""
import argparse
import os
import sys
import time

import minirl
from minirl.cli import parse_set

from common import command_line, export_sweep

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algo", default="dqn")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seeds", type=int, nargs=2, default=(1000, 40),
                        metavar=("FIRST", "COUNT"))
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--grid", action="append", metavar="KEY=V1,V2")
    parser.add_argument("--eval-every", type=int, help="default: --steps (only the end)")
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--threshold", type=float, default=475.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="default runs/sweep-final/ALGO-FIRST-COUNT")
    parser.add_argument("--name", help="write benchmarks/results/NAME.{csv,json}")
    parser.add_argument("--wall-clock", type=float, help="seconds measured elsewhere")
    args = parser.parse_args(argv)
    first, count = args.seeds
    out = args.out or os.path.join("runs", "sweep-final", f"{args.algo}-{first}-{count}")
    start = time.monotonic()
    rows = minirl.sweep(args.algo, args.env, args.steps, f"{first}-{first + count - 1}",
                        grid=args.grid, out=out, workers=args.workers,
                        eval_every=args.eval_every or args.steps,
                        eval_episodes=args.eval_episodes, threshold=args.threshold,
                        quiet=True, **parse_set(args.set))
    wall_clock = time.monotonic() - start if args.wall_clock is None else args.wall_clock
    for row in rows:
        finals = [float(f) for f in row["finals"].split()]
        held = sum(f >= args.threshold for f in finals)
        print(f"{args.algo} {row['configuration']} {args.set or ''}, seeds {first}-"
              f"{first + count - 1}, {args.steps} steps: final >= {args.threshold:g} on "
              f"{held}/{len(finals)}; IQM {row['iqm']} [{row['iqm_low']}, "
              f"{row['iqm_high']}]; finals " + " ".join(f"{f:.0f}" for f in finals))
    if args.name:
        command = command_line("sweep_final.py", argv if argv is not None else sys.argv[1:])
        export_sweep(out, args.name, command, wall_clock, args.workers, args.threshold)


if __name__ == "__main__":
    main()
