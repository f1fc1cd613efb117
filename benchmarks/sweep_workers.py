"""Wall-clock of one sweep with 1 and with 2 local workers, measured one after the other.

    python benchmarks/sweep_workers.py --page dqn-cartpole-lr --steps 5000 --seeds 200-209

Runs ``minirl.sweep`` into two fresh directories, with ``workers=1`` and then
``workers=2``, checks that both produced the same metrics.csv for every run (the worker
count must not change a run), and writes ``benchmarks/results/sweep-workers.json`` for
the results page named by ``--page``. On a shared machine the ratio is what to read,
not the seconds.
"""
import argparse
import json
import os
import shlex
import sys
import tempfile
import time

import minirl
from minirl.sweep import plan

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--page", required=True)
    parser.add_argument("--algo", default="dqn")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--seeds", default="200-209")
    parser.add_argument("--grid", action="append", default=["lr=1e-3"])
    parser.add_argument("--measured", nargs=4, metavar=("DIR1", "DIR2", "S1", "S2"),
                        help="record two sweeps already run (1 and 2 workers) in S1, S2 s")
    args = parser.parse_args(argv)
    timings, dirs = [], []
    if args.measured:
        dirs = args.measured[:2]
        timings = [{"workers": w, "wall_clock_s": float(t)}
                   for w, t in zip((1, 2), args.measured[2:])]
    for workers in () if args.measured else (1, 2):
        out = tempfile.mkdtemp(prefix=f"minirl-sweep-w{workers}-")
        start = time.monotonic()
        minirl.sweep(args.algo, args.env, args.steps, args.seeds, grid=args.grid, out=out,
                     workers=workers, eval_every=args.steps, quiet=True)
        timings.append({"workers": workers,
                        "wall_clock_s": round(time.monotonic() - start, 1)})
        dirs.append(out)
        print(f"{workers} worker(s): {timings[-1]['wall_clock_s']} s", flush=True)
    for run in plan(args.algo, args.env, args.steps, args.seeds, args.grid, dirs[0]):
        with open(os.path.join(run["out"], "metrics.csv"), "rb") as a, \
                open(os.path.join(run["out"].replace(dirs[0], dirs[1]), "metrics.csv"),
                     "rb") as b:
            assert a.read() == b.read(), f"{run['out']}: the worker count changed a run"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    record = {
        "sweep": args.page,
        "command": "python benchmarks/sweep_workers.py " + shlex.join(
            a for a in (argv if argv is not None else sys.argv[1:])
            if not (args.measured and (a == "--measured" or a in args.measured))),
        "note": (f"The same sweep ({args.algo} on {args.env}, seeds {args.seeds}, "
                 f"{' '.join(args.grid)}, {args.steps} steps per run, one final "
                 f"evaluation) with 1 and then 2 worker processes, on a {os.cpu_count()}-"
                 f"core machine shared with other jobs (load average {load:.0f} at the "
                 f"end): read the ratio, not the seconds. Every run's metrics.csv was "
                 f"the same with either worker count."
                 + (" A speed-up above 2 is the shared machine's doing: two processes "
                    "get a larger share of its time than one."
                    if timings[0]["wall_clock_s"] > 2 * timings[1]["wall_clock_s"] else "")),
        "runs": timings}
    with open(os.path.join(RESULTS, "sweep-workers.json"), "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
