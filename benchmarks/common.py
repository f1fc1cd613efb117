"""What every learning benchmark reports: the agent a user gets, on seeds no one tuned on.

A run is summarised by three numbers, so that a policy which solved the task once and
then collapsed is not reported as solved:

* ``final``  -- the greedy return (mean of ``FINAL_EPISODES`` episodes on fresh seeds) of
  the agent that training *ends* with: what ``minirl train`` leaves in checkpoint.npz;
* ``best``   -- the best periodic greedy evaluation during training (best.npz);
* ``solved`` -- the step of the first periodic evaluation that reached the bar.

Seeds: ``EVAL_SEEDS`` were fixed before any setting was tuned and are never tuned on;
the defaults were chosen on ``TUNE_SEEDS``. Benchmarks run the evaluation seeds unless
told otherwise (``--seeds``).
"""
import csv
import json
import os
import shlex

import numpy as np

import minirl

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

TUNE_SEEDS = (100, 101, 102, 103, 104)
EVAL_SEEDS = (200, 201, 202, 203, 204, 205, 206, 207, 208, 209)
FINAL_EPISODES = 20
FINAL_SEED_OFFSET = 10_000  # the final evaluation's episodes: neither training's nor eval's


def summarize(result, env_id, seed, bar):
    """The final / best / first-solve figures of one ``minirl.train`` result."""
    final, final_std = minirl.evaluate(result.agent, env_id, FINAL_EPISODES,
                                       seed=FINAL_SEED_OFFSET + seed)
    evaluations = result.evaluations
    best = max(evaluations, key=lambda e: e[1]) if evaluations else (None, np.nan, np.nan)
    solved = next((step for step, mean, _ in evaluations if mean >= bar), None)
    return {"seed": seed, "final": final, "final_std": final_std, "best": best[1],
            "best_step": best[0], "solved_step": solved, "held": final >= bar,
            "curve": [(step, mean) for step, mean, _ in evaluations]}


def seed_line(name, row):
    solved = "never" if row["solved_step"] is None else f"{row['solved_step']}"
    return (f"{name} seed {row['seed']}: final {row['final']:.2f} ± {row['final_std']:.2f}"
            f" ({'holds' if row['held'] else 'below the bar'}); best {row['best']:.2f} at "
            f"{row['best_step']}; first solved at {solved}")


def summary_line(name, rows, bar):
    finals = [r["final"] for r in rows]
    held = sum(r["held"] for r in rows)
    return (f"{name:<20} final >= {bar:g} on {held}/{len(rows)} seeds; finals "
            + " ".join(f"{f:.1f}" for f in finals)
            + f" (mean {np.mean(finals):.1f})")


def plain_steps(agent, env, steps, seed):
    """The plain training loop: act, step, update, reset on terminated or truncated.

    A generator: yields each step's number (1, 2, ...) after the agent's update, so a
    caller can look at the agent between steps. The first reset takes ``seed``.
    """
    obs, _ = env.reset(seed=seed)
    for step in range(1, steps + 1):
        action = agent.act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.update(obs, action, reward, next_obs, terminated, truncated)
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset()
        yield step


def importable_peers(names, threads):
    """``names`` without the stable-baselines3 peers when SB3 or torch cannot be
    imported (benchmarks skip an absent peer); torch gets ``threads`` threads."""
    if any(n.startswith("sb3") for n in names):
        try:
            import stable_baselines3  # noqa: F401
            import torch
            torch.set_num_threads(threads)
        except ImportError:
            print("stable_baselines3 / torch not importable: sb3 peers skipped")
            return [n for n in names if not n.startswith("sb3")]
    return names


# --- the data the results pages are generated from (benchmarks/results/generate.py) ----
def run_seconds(run_dir):
    """A run's own wall-clock: the training time its checkpoint records."""
    with np.load(os.path.join(run_dir, "checkpoint.npz"), allow_pickle=False) as data:
        return float(data["loop.elapsed"])


def command_line(script, argv):
    """The command that produced a dataset: ``python benchmarks/SCRIPT ARGS``, without the
    arguments that say only where and how long (``--out``, ``--wall-clock``)."""
    given = list(argv)
    for local in ("--wall-clock", "--out"):
        if local in given:
            del given[given.index(local):given.index(local) + 2]
    return f"python benchmarks/{script} " + shlex.join(given)


def export_sweep(out, name, command, wall_clock, workers, threshold):
    """Write NAME.csv (the sweep's summary rows), NAME-evaluations.csv (every greedy
    evaluation of every run) and NAME.json (the command, the workers, the wall-clock)
    into benchmarks/results/, from the sweep's run directories under ``out``."""
    from minirl.sweep import read_sweep, summarize
    rows = summarize(out, threshold=threshold, quiet=True)
    groups, _ = read_sweep(out)
    os.makedirs(RESULTS, exist_ok=True)
    base = os.path.join(RESULTS, name)
    with open(f"{base}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with open(f"{base}-evaluations.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["configuration", "seed", "step", "mean_return"])
        for config, runs in groups.items():
            for run in runs:
                writer.writerows([config, run["seed"], step, f"{mean:.6g}"]
                                 for step, mean in run["evaluations"])
    seconds = [run_seconds(os.path.join(out, config, f"seed-{run['seed']}"))
               for config, runs in groups.items() for run in runs]
    meta = {"command": command, "workers": workers,
            "wall_clock_s": round(wall_clock, 1) if wall_clock else None,
            "run_seconds_mean": round(sum(seconds) / len(seconds), 1),
            "runs": len(seconds), "threshold": threshold,
            "minirl_version": minirl.__version__,
            "machine": f"{os.cpu_count()} cores, shared with other jobs"}
    with open(f"{base}.json", "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"wrote {base}.csv, -evaluations.csv, .json")
    return rows
