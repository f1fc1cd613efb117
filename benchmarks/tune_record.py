"""A short tuning run with ``minirl tune``, recorded for the results pages.

    python benchmarks/tune_record.py --name dqn-cartpole-tune --processes 2 -- \\
        dqn --env CartPole-v1 --steps 10000 --seeds 0-2 --trials 3 --eval-every 2500 \\
        --space lr=log:1e-4:3e-3 --space n_step=int:1:5 --out runs/tune-dqn

Everything after ``--`` is a ``minirl tune`` command (``--wall-clock S`` records a study
already run, in S seconds, without running it again); ``--processes N`` starts N of them
at once on one study (its SQLite file in --out), as N machines sharing a storage would.
Writes ``benchmarks/results/NAME.json``: every trial (settings, state, value), the best
one as a ``minirl train`` command, the command and the wall-clock.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

import optuna

from minirl.tune import make_storage, train_command

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def option(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--wall-clock", type=float,
                        help="only record the study, which took this many seconds")
    parser.add_argument("tune", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = [a for a in args.tune if a != "--"]
    start = time.monotonic()
    if args.wall_clock is None:
        procs = [subprocess.Popen([sys.executable, "-m", "minirl", "tune", *command])
                 for _ in range(args.processes)]
        if any(proc.wait() != 0 for proc in procs):
            sys.exit("a minirl tune process failed")
    wall_clock = args.wall_clock or time.monotonic() - start
    algo, env, steps = command[0], option(command, "--env"), int(option(command, "--steps"))
    out = option(command, "--out", "runs/tune")
    study = optuna.load_study(study_name=option(command, "--study", f"minirl-{algo}-{env}"),
                              storage=make_storage(option(command, "--storage"), out))
    best = study.best_trial
    record = {
        "algo": algo, "env": env, "steps": steps, "seeds": option(command, "--seeds"),
        "command": " ".join([f"({args.processes} at once)" if args.processes > 1 else "",
                             "minirl tune", shlex.join(command)]).strip(),
        "processes": args.processes, "wall_clock_s": round(wall_clock, 1),
        "machine": f"{os.cpu_count()} cores, shared with other jobs",
        "trials": [{"number": t.number, "state": t.state.name, "params": t.params,
                    "value": t.value, "last_step": t.last_step,
                    "finals": t.user_attrs.get("finals")}
                   for t in study.trials],
        "best": {"number": best.number, "value": best.value, "params": best.params,
                 "train_command": train_command(algo, env, steps, best.params)}}
    path = os.path.join(RESULTS, f"{args.name}.json")
    with open(path, "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
