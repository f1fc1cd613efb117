"""One algorithm on one env over seeds, as a ``minirl.sweep``: what the learning
benchmarks (bench_ppo.py, bench_td3_sac.py, ...) share.

Each seed is an ordinary run directory (``OUT/default/seed-S``), so running the same
command again continues: finished seeds are skipped, an interrupted one is resumed. Every
run evaluates its greedy policy every ``steps / 10`` steps over ``EVAL_EPISODES``
episodes; its FINAL return is the last of those evaluations, the agent training ends
with. Per seed the benchmark also reports what the sweep's summary does not: the best
evaluation and the first step one reached the bar, and the run's seconds (the
wall-clock its checkpoint records, periodic evaluations included).
"""
import os
import time

import minirl
from minirl.cli import parse_set
from minirl.sweep import configuration_name, format_table, read_sweep, steps_to

from common import EVAL_SEEDS, command_line, export_sweep, run_seconds

EVAL_EPISODES = 10
DEFAULT_SEEDS = f"{EVAL_SEEDS[0]}-{EVAL_SEEDS[4]}"  # 200-204: never tuned on


def add_arguments(parser, workers_flag="--workers"):
    """The flags every converted benchmark takes (``workers_flag``: its name, where a
    benchmark already uses --workers for something else)."""
    parser.add_argument("--seeds", default=DEFAULT_SEEDS,
                        help=f"e.g. 200-204 or 200,203 (default {DEFAULT_SEEDS}: the "
                             f"evaluation seeds, never tuned on)")
    parser.add_argument("--set", action="extend", nargs="+", default=[],
                        metavar="KEY=VALUE",
                        help="minirl hyperparameters every run shares")
    parser.add_argument(workers_flag, dest="sweep_workers", type=int, default=1,
                        help="runs at a time, one process each (default 1: no "
                             "two runs share the seconds per run)")
    parser.add_argument("--out", help="the sweep's directory (default runs/bench/ALGO-ENV-"
                                      "STEPS[-settings])")
    parser.add_argument("--name", help="also write the results data benchmarks/results/"
                                       "NAME.{csv,json} (one algorithm at a time)")
    parser.add_argument("--wall-clock", type=float,
                        help="record these seconds (measured elsewhere; 0: none, for a "
                             "sweep stopped and continued) instead of this call's")


def sweep_dir(args, algo, env, steps, hparams):
    """``--out``, or runs/bench/ALGO-ENV-STEPS[-settings]: another budget or other
    settings, another directory (a finished run is never taken for a different one)."""
    if args.out:
        return args.out
    suffix = "" if not hparams else "-" + configuration_name(hparams)
    return os.path.join("runs", "bench", f"{algo}-{env}-{steps}{suffix}")


def run(algo, env, steps, args, bar, script, argv, label=None, out=None, **hparams):
    """Sweep ``algo`` over ``args.seeds``; print each seed's final, best and first-solve
    figures (``bar``: the return that counts as solved, or None) and the sweep's table;
    with ``args.name`` write the results data. Returns each seed's ``seed_figures``."""
    hparams = {**parse_set(args.set), **hparams}
    out = out or sweep_dir(args, algo, env, steps, hparams)
    started = time.monotonic()
    rows = minirl.sweep(algo, env, steps, args.seeds, out=out, workers=args.sweep_workers,
                        eval_episodes=EVAL_EPISODES, threshold=bar, quiet=True, **hparams)
    wall_clock = time.monotonic() - started if args.wall_clock is None else args.wall_clock
    groups, _ = read_sweep(out)
    seeds = []
    for config, runs in groups.items():
        for r in runs:
            seeds.append(seed_figures(r, bar, run_seconds(
                os.path.join(out, config, f"seed-{r['seed']}"))))
            print("  " + seed_line(label or algo, seeds[-1], bar), flush=True)
    print(format_table(rows))
    if args.name:
        export_sweep(out, args.name, command_line(script, argv), wall_clock,
                     args.sweep_workers, bar)
    return seeds


def seed_figures(run, bar, seconds):
    """One seed's figures: final greedy return, best evaluation (and its step), the first
    step an evaluation reached ``bar`` (None: never, or no bar) and the run's seconds."""
    best_step, best = max(run["evaluations"], key=lambda e: e[1])
    solved = None if bar is None else steps_to(run["evaluations"], bar)
    return {"seed": run["seed"], "final": run["final"], "best": best,
            "best_step": best_step, "solved_step": solved, "seconds": seconds,
            "steps": run["steps"]}


def seed_line(name, row, bar):
    """One seed's figures as a line (a run that reached the bar once may not hold it at
    the end)."""
    line = f"{name} seed {row['seed']}: final {row['final']:.1f}"
    if bar is not None:
        line += f" ({'holds' if row['final'] >= bar else 'below'} {bar:g})"
    line += f"; best {row['best']:.1f} at {row['best_step']}"
    if bar is not None:
        solved = row["solved_step"]
        line += f"; first >= {bar:g} at {'never' if solved is None else solved}"
    return line + f"; {row['seconds']:.0f} s"
