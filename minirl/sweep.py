"""Many runs: seeds x settings, on local worker processes or a Ray cluster.

    minirl sweep dqn --env CartPole-v1 --steps 50000 --seeds 0-9 \\
        --grid lr=1e-3,3e-4 --grid n_step=1,3 --out runs/sweep

Each (configuration, seed) is an ordinary run directory, ``OUT/<configuration>/seed-<S>``
(the configuration named by its settings, ``lr=0.001,n_step=3``, or ``default``), made by
``minirl.train``; so ``minirl eval``, ``minirl plot`` and ``--resume`` work on each.
Running the same command again continues the sweep: a run whose checkpoint holds all its
steps is skipped, an interrupted one is resumed (``minirl.train(..., resume=True)``, which
ends exactly where an uninterrupted run ends), one stopped before its first checkpoint is
started over.

Backends:

* ``local`` (the default): one worker process per core (``workers``), each with one BLAS
  thread. Each worker runs in a process group of its own, so a Ctrl-C reaches the sweep
  alone, and the sweep passes exactly one SIGINT to each worker: each saves its
  checkpoint and exits, and the sweep waits for all of them. A worker whose sweep dies
  stops itself the same way, so no process is left behind.
* ``ray``: each run is a Ray task with one CPU on an existing cluster (``address``
  ``HOST:PORT`` or ``auto``), see docs/results/sweeps.md for the set-up (minirl installed on
  every node, ``out`` on a filesystem all nodes share). A task whose node dies is retried
  by Ray on another node and resumes from the run's last checkpoint.

The same seed gives the same run on either backend: every run is ``minirl.train`` with
the same arguments. At the end the summary (``summary.csv``, ``summary.png``, a table) is
drawn from the run directories alone; ``minirl sweep --summary OUT`` draws it again.
"""
import itertools
import os
import signal
import sys
import threading
import time

__all__ = ["sweep", "parse_seeds", "parse_grid", "configurations", "configuration_name",
           "plan", "run_status", "run_one", "summarize", "SweepInterrupted", "RAY_MISSING"]

EXTRA = "pip install 'minirl[sweep]'"
RAY_MISSING = f"--backend ray needs Ray, which is not installed: {EXTRA}"
WORKER_ENV = {"MINIRL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the sweep after every worker saved its checkpoint."""

    saved, signum = True, signal.SIGINT


# --- what to run ---------------------------------------------------------------------
def parse_seeds(text):
    """'0-9' -> [0..9]; '0,3,5' -> [0, 3, 5]; '200-204,7' mixes both; an int n -> [n]."""
    if isinstance(text, int):
        return [text]
    if not isinstance(text, str):
        return [int(s) for s in text]
    seeds = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            seeds.extend(range(int(first), int(last) + 1) if dash else [int(first)])
        except ValueError:
            raise ValueError(f"--seeds expects e.g. 0-9 or 0,3,5; got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {text!r} gives no seeds or a seed twice")
    return seeds


def parse_grid(items):
    """['lr=1e-3,3e-4', 'n_step=1,3'] -> {'lr': [0.001, 0.0003], 'n_step': [1, 3]}.

    Each value is read as ``--set`` reads it (numbers, true/false, lists in brackets).
    """
    from minirl.cli import parse_set
    grid = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise ValueError(f"--grid expects key=value,value,...; got {item!r}")
        values = [parse_set([f"{key}={v}"]).popitem()[1] for v in _split_values(text)]
        grid[key.strip().replace("-", "_")] = values
    return grid


def _split_values(text):
    """Split on commas outside brackets: 'a,[64, 64],b' -> ['a', '[64, 64]', 'b']."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char in "[(") - (char in "])")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in parts + [current]]


def configurations(grid):
    """Every combination of the grid's values, in the order given (a Cartesian product)."""
    grid = grid or {}
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*grid.values())]


def configuration_name(hparams):
    """A directory name for one configuration: 'lr=0.001,n_step=3', or 'default'."""
    if not hparams:
        return "default"
    text = ",".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}"
                    for k, v in hparams.items())
    return text.replace("/", "_").replace(" ", "").replace("'", "")


def plan(name, env, steps, seeds, grid=None, out="runs/sweep", **train_kwargs):
    """The runs of a sweep: one dict of ``minirl.train`` arguments per (config, seed)."""
    if not isinstance(env, str):
        raise TypeError("a sweep needs an env id (a string): its runs start in other "
                        "processes")
    if isinstance(grid, (list, tuple)):
        grid = parse_grid(grid)
    return [{"name": name, "env": env, "steps": int(steps), "seed": int(seed),
             "out": os.path.join(os.fspath(out), configuration_name(hparams), f"seed-{seed}"),
             "hparams": dict(hparams), "train": dict(train_kwargs)}
            for hparams in configurations(grid) for seed in parse_seeds(seeds)]


# --- one run -------------------------------------------------------------------------
def checkpoint_step(run_dir):
    """The step a run's checkpoint.npz holds (its loop state), or None without one."""
    import numpy as np
    path = os.path.join(run_dir, "checkpoint.npz")
    try:
        with np.load(path, allow_pickle=False) as data:
            return int(data["loop.step"])
    except (OSError, KeyError, ValueError):
        return None


def run_status(run):
    """'done' (all steps saved, curve drawn), 'resume' (a checkpoint short of the end,
    or one whose closing evaluation and curve were not written), 'restart' (files but
    no checkpoint: stopped before its first save), or 'new'."""
    out = run["out"]
    step = checkpoint_step(out)
    if step is None:
        has_files = os.path.isdir(out) and any(n != ".lock" for n in os.listdir(out))
        return "restart" if has_files else "new"
    plotted = os.path.exists(os.path.join(out, "curve.png"))
    if step >= run["steps"] and (plotted or run["train"].get("plot") is False):
        return "done"
    return "resume"


def run_one(run):
    """Train, resume or skip one run, as ``run_status`` says; returns the status found.

    Every run goes through the public ``minirl.train``: the same arguments as a run
    started alone, so the same metrics, byte for byte.
    """
    import minirl
    status = run_status(run)
    if status == "done":
        return status
    common = {"seed": run["seed"], "out": run["out"], "quiet": True}
    if status == "resume":
        minirl.train(run["name"], run["env"], run["steps"], resume=True, **common)
    else:
        minirl.train(run["name"], run["env"], run["steps"], force=status == "restart",
                     **common, **run["train"], **run["hparams"])
    return status


def label(run):
    """'lr=0.001/seed-3': a run's place in the sweep, for messages."""
    parent, seed = os.path.split(run["out"])
    return f"{os.path.basename(parent)}/{seed}"


# --- the local backend ---------------------------------------------------------------
def _watch_parent(parent):
    """Stop this worker as Ctrl-C would (it saves) if the sweep that started it dies."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=watch, daemon=True).start()


def _local_worker(run, parent):
    """One run in a worker process: exit 0 when done, 130 when stopped (saved), 1 on an
    error (its one line printed, naming the run)."""
    os.setpgrp()  # a terminal's Ctrl-C reaches the sweep, which passes one on to us
    _watch_parent(parent)
    try:
        run_one(run)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # noqa: BLE001  (reported by the sweep, run by run)
        print(f"minirl sweep: {label(run)} failed: {type(error).__name__}: {error}",
              file=sys.stderr)
        sys.exit(1)


class _WorkerEnvironment:
    """Workers start with one BLAS thread: the variables are set while they start."""

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in WORKER_ENV}
        os.environ.update(WORKER_ENV)

    def __exit__(self, *exc_info):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _stop_workers(active):
    """One SIGINT to each worker (each saves its checkpoint), then wait for all; a further
    Ctrl-C here is passed on too (the workers then stop without saving)."""
    def forward(signum, frame):
        for process in active.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGINT)
    forward(signal.SIGINT, None)
    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in active.values():
            process.join()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run_local(runs, workers, progress):
    """Start up to ``workers`` processes at a time (spawned: a fresh interpreter each)."""
    import multiprocessing
    from minirl.signals import StopSignals
    context = multiprocessing.get_context("spawn")
    pending, active, failed = list(runs), {}, []
    try:
        with StopSignals() as signals:  # Ctrl-C or SIGTERM, even where SIGINT was ignored
            signals.interruptible = True
            _schedule(context, pending, active, failed, workers, progress)
    except KeyboardInterrupt:
        _stop_workers({key: process for key, (_, process) in active.items()})
        raise SweepInterrupted("the sweep was stopped; every run in flight saved its "
                               "checkpoint: run the same command again to continue") \
            from None
    return failed


def _schedule(context, pending, active, failed, workers, progress):
    """Keep ``workers`` runs going until none is left; ``active``: sentinel -> (run,
    process), so that a stop can reach every process still running."""
    from multiprocessing.connection import wait
    while pending or active:
        while pending and len(active) < workers:
            run = pending.pop(0)
            process = context.Process(target=_local_worker, args=(run, os.getpid()),
                                      name=f"minirl-sweep {label(run)}")
            with _WorkerEnvironment():
                process.start()
            active[process.sentinel] = (run, process)
            progress.started(run)
        for sentinel in wait(list(active), timeout=1.0):
            run, process = active.pop(sentinel)
            process.join()
            if process.exitcode != 0:
                failed.append(label(run))
            progress.finished(run, ok=process.exitcode == 0)
        progress.refresh()


class Progress:
    """One bar over the runs: how many are done, and each run in flight with the step of
    its last checkpoint (written every ``checkpoint_every`` seconds)."""

    def __init__(self, total, done, quiet):
        from tqdm import tqdm
        self.bar = tqdm(total=total, initial=done, unit="run", disable=quiet,
                        desc="sweep", dynamic_ncols=True)
        self.flying = {}

    def started(self, run):
        self.flying[run["out"]] = run

    def finished(self, run, ok=True):
        self.flying.pop(run["out"], None)
        if ok:
            self.bar.update(1)

    def refresh(self):
        steps = [f"{label(run)}@{checkpoint_step(out) or 0}"
                 for out, run in self.flying.items()]
        self.bar.set_postfix_str(" ".join(steps), refresh=True)

    def close(self):
        self.bar.close()


# --- the Ray backend -----------------------------------------------------------------
def _check_ray():
    import importlib.util
    if importlib.util.find_spec("ray") is None:
        raise ValueError(RAY_MISSING)


def _import_ray(address):
    """Import Ray for a cluster at ``address``. For a cluster on this machine alone
    (127.0.0.1), Ray is told so before it loads: otherwise it takes the network
    interface's address for its own and connects there."""
    _check_ray()
    if address.rsplit(":", 1)[0] in ("127.0.0.1", "localhost"):
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray
    return ray


def _run_ray(runs, address, progress, retries=3):
    """Each run a Ray task with one CPU; a task lost with its node is retried (and
    resumes from the run's checkpoint). Ctrl-C cancels the tasks (Ray raises
    KeyboardInterrupt in each); a rerun continues from each run's last checkpoint."""
    ray = _import_ray(address)
    if not ray.is_initialized():
        local = address.rsplit(":", 1)[0] in ("127.0.0.1", "localhost")
        ray.init(address=address, runtime_env={"env_vars": dict(WORKER_ENV)},
                 log_to_driver=False, **({"_node_ip_address": "127.0.0.1"} if local else {}))
    task = ray.remote(num_cpus=1, max_retries=retries)(run_one)
    refs = {}
    for run in runs:
        refs[task.remote(run)] = run
        progress.started(run)
    failed = []
    try:
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1, timeout=1.0)
            for ref in done:
                run = refs.pop(ref)
                try:
                    ray.get(ref)
                    progress.finished(run)
                except ray.exceptions.RayError as error:
                    print(f"minirl sweep: {label(run)} failed: "
                          f"{str(error).strip().splitlines()[-1]}", file=sys.stderr)
                    failed.append(label(run))
                    progress.finished(run, ok=False)
            progress.refresh()
    except KeyboardInterrupt:
        for ref in refs:
            ray.cancel(ref)
        ray.wait(list(refs), num_returns=len(refs), timeout=120)
        raise SweepInterrupted("the sweep was stopped; the runs in flight saved their "
                               "checkpoints: run the same command again to continue") \
            from None
    return failed


# --- the entry point -----------------------------------------------------------------
def sweep(name, env, steps, seeds, grid=None, out="runs/sweep", workers=None,
          backend="local", address=None, threshold=None, eval_every=None,
          eval_episodes=None, checkpoint_every=10, quiet=False, **hparams):
    """Run ``name`` on ``env`` for ``steps`` steps, once per seed and grid configuration.

    ``seeds``: '0-9', '0,3,5' or a list; ``grid``: {key: [values]} (or the command
    line's ['lr=1e-3,3e-4', ...]); ``hparams``: settings every run shares. Each run is
    ``minirl.train(name, env, steps, seed=s, out=OUT/<config>/seed-<s>, **settings)``
    with a greedy evaluation every ``eval_every`` steps (default steps/10; it must divide
    ``steps``, so that the last evaluation is the final agent's). Finished runs are
    skipped and interrupted ones resumed. ``workers`` local processes (default: one per
    core) or, with ``backend='ray'``, Ray tasks on the cluster at ``address``.
    Returns the summary (see ``summarize``); raises SweepInterrupted on Ctrl-C.
    """
    if isinstance(grid, (list, tuple)):
        grid = parse_grid(grid)
    eval_every = eval_every or max(int(steps) // 10, 1)
    if int(steps) % eval_every:
        raise ValueError(f"eval_every={eval_every} must divide steps={steps}: the last "
                         f"greedy evaluation is the final agent's return")
    train_kwargs = {"eval_every": eval_every, "checkpoint_every": checkpoint_every,
                    **({"eval_episodes": eval_episodes} if eval_episodes else {})}
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    if backend == "ray":
        _check_ray()
    runs = [{**run, "hparams": {**hparams, **run["hparams"]}}
            for run in plan(name, env, steps, seeds, grid, out, **train_kwargs)]
    todo = [run for run in runs if run_status(run) != "done"]
    progress = Progress(len(runs), len(runs) - len(todo), quiet)
    try:
        if backend == "ray":
            failed = _run_ray(todo, address or "auto", progress)
        else:
            failed = _run_local(todo, workers or os.cpu_count() or 1, progress)
    finally:
        progress.close()
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(runs)} runs failed ({', '.join(failed[:4])}"
                           f"{', ...' if len(failed) > 4 else ''}); the rest are saved: "
                           f"fix the cause and run the same command again")
    return summarize(out, threshold=threshold, quiet=quiet)


# --- the summary ---------------------------------------------------------------------
def _read_csv(path):
    import csv
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_run(run_dir):
    """A finished run from its files: {seed, steps, evaluations [(step, mean)], final},
    or None if its closing evaluation (the row at its last step) is not there yet."""
    import json
    try:
        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        rows = _read_csv(os.path.join(run_dir, "evaluations.csv"))
    except (OSError, ValueError):
        return None
    evaluations = [(int(r["step"]), float(r["mean_return"])) for r in rows]
    finals = [mean for step, mean in evaluations if step == config["steps"]]
    if not finals:
        return None
    return {"seed": int(config["seed"]), "steps": int(config["steps"]),
            "algo": config["algo"], "env": config.get("env"),
            "evaluations": evaluations, "final": finals[-1]}


def read_sweep(out):
    """{configuration: [finished runs, by seed]} from ``OUT/<configuration>/seed-<S>``,
    and the number of runs not finished."""
    groups, unfinished = {}, 0
    if not os.path.isdir(out):
        raise ValueError(f"--summary {out}: no such directory")
    for config in sorted(os.listdir(out)):
        path = os.path.join(out, config)
        seeds = [d for d in os.listdir(path) if d.startswith("seed-")] \
            if os.path.isdir(path) else []
        runs = [read_run(os.path.join(path, d)) for d in seeds]
        unfinished += sum(run is None for run in runs)
        runs = sorted((r for r in runs if r is not None), key=lambda r: r["seed"])
        if runs:
            groups[config] = runs
    if not groups:
        raise ValueError(f"{out} holds no finished runs (OUT/<configuration>/seed-<S> with "
                         f"an evaluation at the last step)")
    return groups, unfinished


def steps_to(evaluations, threshold):
    """The first evaluation step whose greedy return reaches ``threshold`` (or None)."""
    return next((step for step, mean in evaluations if mean >= threshold), None)


def median_steps(runs, threshold):
    """The median over seeds of the steps to ``threshold``, a run that never reached it
    counting as infinitely many (None when more than half never did)."""
    import numpy as np
    reached = [steps_to(r["evaluations"], threshold) for r in runs]
    median = float(np.median([np.inf if s is None else s for s in reached]))
    return (None if np.isinf(median) else median), sum(s is not None for s in reached)


def seed_ranges(seeds):
    """[200, 201, 202, 7] -> '200-202,7'."""
    parts, start = [], None
    for i, seed in enumerate(seeds):
        start = seed if start is None else start
        if i + 1 == len(seeds) or seeds[i + 1] != seed + 1:
            parts.append(str(seed) if start == seed else f"{start}-{seed}")
            start = None
    return ",".join(parts)


def summary_rows(groups, threshold=None, reps=2000):
    """One row per configuration: seeds, finals, mean, IQM and its 95% interval."""
    import numpy as np
    from minirl.stats import iqm_ci
    rows = []
    for config, runs in groups.items():
        finals = np.array([r["final"] for r in runs])
        point, low, high = iqm_ci(finals, reps=reps)
        row = {"configuration": config, "algo": runs[0]["algo"], "env": runs[0]["env"],
               "steps": runs[0]["steps"], "runs": len(runs),
               "seeds": " ".join(str(r["seed"]) for r in runs),
               "finals": " ".join(f"{f:.6g}" for f in finals),
               "mean": f"{finals.mean():.2f}", "iqm": f"{point:.2f}",
               "iqm_low": f"{low:.2f}", "iqm_high": f"{high:.2f}"}
        if threshold is not None:
            median, reached = median_steps(runs, threshold)
            row.update(threshold=f"{threshold:g}", reached=reached,
                       median_steps=("" if median is None else f"{median:.0f}"))
        rows.append(row)
    return rows


def write_csv(rows, path):
    import csv
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def format_table(rows):
    """The printed table: per configuration the seeds, each seed's final greedy return,
    the mean, and the IQM with its 95% stratified bootstrap interval."""
    header = ["configuration", "seeds", "final greedy return per seed", "mean",
              "IQM [95% CI]"]
    if "threshold" in rows[0]:
        header.append(f"median steps to {rows[0]['threshold']}")
    lines = []
    for row in rows:
        finals = " ".join(f"{float(f):.0f}" for f in row["finals"].split())
        line = [row["configuration"], seed_ranges([int(s) for s in row["seeds"].split()]),
                finals, row["mean"], f"{row['iqm']} [{row['iqm_low']}, {row['iqm_high']}]"]
        if "threshold" in row:
            line.append(f"{row['median_steps'] or 'not reached'} ({row['reached']}/"
                        f"{row['runs']} reached)")
        lines.append(line)
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip()
                     for line in [header, *lines])


def evaluation_table(runs):
    """(steps, {step: [each run's greedy return there]}) for a learning curve over seeds.

    Runs evaluate on one schedule, but A3C's fall at the first episode end after each
    due step, a little apart in every run: when all runs have as many evaluations, the
    k-th of each are taken together, at the median of their steps."""
    import numpy as np
    if len({len(r["evaluations"]) for r in runs}) == 1:
        columns = list(zip(*[r["evaluations"] for r in runs]))  # k-th evaluation of each
        steps = [int(np.median([s for s, _ in column])) for column in columns]
        return steps, {s: [m for _, m in column] for s, column in zip(steps, columns)}
    steps = sorted({s for r in runs for s, _ in r["evaluations"]})
    return steps, {s: [m for r in runs for t, m in r["evaluations"] if t == s] for s in steps}


def plot_summary(groups, path, reps=500):
    """Left: the greedy return over training, per configuration the IQM over seeds with
    its 95% bootstrap band (every band within the returns observed). Right: the
    performance profile of the final returns, the fraction of runs above each score."""
    import matplotlib
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    from minirl.stats import iqm, performance_profile, stratified_bootstrap_ci
    matplotlib.rcParams.setdefault("figure.dpi", 100)
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    curves, profile = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    # One return axis for both panels: the curves' y and the profile's x span every
    # return observed (evaluations and finals), so a step at 500 reads as 500 in both.
    returns = np.array([m for runs in groups.values() for r in runs
                        for _, m in r["evaluations"]] +
                       [r["final"] for runs in groups.values() for r in runs])
    pad = 0.05 * max(returns.max() - returns.min(), 1.0)
    low, high = returns.min() - pad, returns.max() + pad
    taus = np.linspace(low, high, 400)
    for i, (config, runs) in enumerate(groups.items()):
        color = f"C{i % 10}"
        steps, table = evaluation_table(runs)
        centre = [iqm(table[s]) for s in steps]
        bands = np.array([stratified_bootstrap_ci(table[s], iqm, reps=reps) for s in steps])
        text = f"{config} ({len(runs)} seeds)"
        curves.plot(steps, centre, color=color, label=text)
        curves.fill_between(steps, bands[:, 0], bands[:, 1], color=color, alpha=0.2,
                            linewidth=0)
        profile.step(taus, performance_profile([r["final"] for r in runs], taus),
                     where="post", color=color, label=text)
    env, algo = runs[0]["env"], runs[0]["algo"]
    curves.set(xlabel="environment steps", ylabel="greedy return (IQM over seeds)",
               title=f"{algo} on {env}: IQM, 95% bootstrap band")
    curves.set_ylim(low, high)
    profile.set(xlabel="final greedy return tau", ylabel="fraction of runs > tau",
                xlim=(low, high), ylim=(-0.02, 1.02), title="performance profile (final agents)")
    for axes in (curves, profile):
        axes.grid(alpha=0.3)
        axes.ticklabel_format(useOffset=False)  # 500, not 0.05 + 4.999e2
    profile.xaxis.set_major_locator(MaxNLocator(6))  # -1600 ... 0 without crowding
    fig.legend(*curves.get_legend_handles_labels(), loc="outside lower center",
               ncols=min(len(groups), 3), frameon=False)
    fig.savefig(path)
    return path


def summarize(out, threshold=None, quiet=False, reps=2000):
    """Read the run directories under ``out``; write ``summary.csv`` and ``summary.png``;
    print the table (unless ``quiet``); return the rows."""
    groups, unfinished = read_sweep(out)
    rows = summary_rows(groups, threshold, reps=reps)
    write_csv(rows, os.path.join(out, "summary.csv"))
    plot_summary(groups, os.path.join(out, "summary.png"))
    if not quiet:
        print(format_table(rows))
        note = f"; {unfinished} runs not finished are left out" if unfinished else ""
        print(f"wrote {os.path.join(out, 'summary.csv')} and summary.png{note}")
    return rows


# --- the command line (registered by minirl/cli.py) ----------------------------------
def add_parsers(sub):
    """``minirl sweep`` and ``minirl tune``: their arguments, and the function each runs."""
    sweep_ = sub.add_parser("sweep", help="seeds x settings, on local processes or Ray")
    sweep_.add_argument("algo", nargs="?")
    sweep_.add_argument("--summary", metavar="DIR",
                        help="only redraw summary.csv/summary.png from DIR's run dirs")
    tune_ = sub.add_parser("tune", help="search hyperparameters with Optuna")
    tune_.add_argument("algo")
    for parser in (sweep_, tune_):
        parser.add_argument("--env", help="gymnasium env id, e.g. CartPole-v1")
        parser.add_argument("--steps", type=int, help="environment steps per run")
        parser.add_argument("--seeds", default="0-4", help="e.g. 0-9 or 0,3,5 (default 0-4)")
        parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                            help="a hyperparameter every run shares (repeatable)")
        parser.add_argument("--eval-every", type=int, metavar="N",
                            help="greedy evaluation every N steps (default steps/10)")
        parser.add_argument("--eval-episodes", type=int, metavar="K")
        parser.add_argument("--quiet", action="store_true")
    sweep_.add_argument("--grid", action="append", metavar="KEY=V1,V2,...",
                        help="values to try (repeatable: every combination is run)")
    sweep_.add_argument("--out", default="runs/sweep", help="the sweep's directory")
    sweep_.add_argument("--workers", type=int, help="local processes (default: one per core)")
    sweep_.add_argument("--backend", choices=("local", "ray"), default="local")
    sweep_.add_argument("--address", help="Ray cluster HOST:PORT or auto (--backend ray)")
    sweep_.add_argument("--checkpoint-every", type=float, default=10, metavar="SECONDS",
                        help="each run saves this often (default 10): the step shown "
                             "in flight, and what a lost node costs")
    sweep_.add_argument("--threshold", type=float, metavar="R",
                        help="also report the median steps to a greedy return of R")
    tune_.add_argument("--space", action="append", metavar="KEY=KIND:...",
                       help="lr=log:1e-4:1e-2, n_step=int:1:5, gamma=float:0.9:0.99, "
                            "double=cat:true,false (repeatable)")
    tune_.add_argument("--trials", type=int, default=20, help="trials for this process")
    tune_.add_argument("--objective", choices=("mean", "iqm"), default="mean")
    tune_.add_argument("--out", default="runs/tune")
    tune_.add_argument("--storage", help="RDB URL or journal file (default OUT/study.db)")
    tune_.add_argument("--study", help="study name (default minirl-ALGO-ENV)")
    tune_.add_argument("--sampler-seed", type=int)
    sweep_.set_defaults(handler=_cmd_sweep)
    tune_.set_defaults(handler=_cmd_tune)


def _shared(args):
    from minirl.cli import parse_set
    if args.env is None or args.steps is None:
        raise ValueError(f"minirl {'tune' if hasattr(args, 'space') else 'sweep'} needs "
                         f"an algorithm, --env ID and --steps N")
    return {"eval_every": args.eval_every, "eval_episodes": args.eval_episodes,
            "quiet": args.quiet, **parse_set(args.set)}


def _cmd_sweep(args):
    if args.summary:
        summarize(args.summary, threshold=args.threshold, quiet=args.quiet)
        return 0
    if args.algo is None:
        raise ValueError("minirl sweep needs ALGO (or --summary DIR)")
    try:
        sweep(args.algo, args.env, args.steps, args.seeds, grid=args.grid or None,
              out=args.out, workers=args.workers, backend=args.backend,
              address=args.address, threshold=args.threshold,
              checkpoint_every=args.checkpoint_every, **_shared(args))
    except RuntimeError as error:  # some runs failed; each said why above
        print(f"minirl sweep: error: {error}", file=sys.stderr)
        return 1
    return 0


def _cmd_tune(args):
    from minirl.tune import tune
    tune(args.algo, args.env, args.steps, args.seeds, args.space, trials=args.trials,
         out=args.out, storage=args.storage, study_name=args.study,
         objective=args.objective, sampler_seed=args.sampler_seed, **_shared(args))
    return 0
