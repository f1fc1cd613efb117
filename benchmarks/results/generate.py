"""Write the results pages, docs/results/*.md, and their figures from the data here.

    python benchmarks/results/generate.py          # rewrite the pages
    python benchmarks/results/generate.py --check  # exit 1 if a page is not what its data says

No number on those pages is typed by hand: each table is rendered from a data file in
this directory (written by ``benchmarks/sweep_final.py --name`` and ``tune_record.py``),
and tests/test_sweep.py checks every table against its file.

* ``NAME.csv``, ``NAME-evaluations.csv``, ``NAME.json``: one sweep (summary, every
  greedy evaluation, the command and the wall-clock); a page ``docs/results/NAME.md``
  with its table and figure ``docs/results/NAME.png``.
* ``sweep-workers.json``: the same sweep's wall-clock with 1 and 2 workers.
* ``NAME-tune.json``: a tuning run (its trials, the best settings as a command).
* ``minatar/runs.csv``: DQN from pixels on MinAtar, minirl beside a PyTorch DQN and a
  random policy (``benchmarks/bench_minatar.py``); the page ``docs/results/minatar.md``.

A chapter page (``docs/*.md``) or the README shows a sweep's small table where it says

    <!-- results: NAME [NAME ...] -->
    <!-- /results -->

(one row per configuration of each sweep named: the mean and the IQM of the final greedy
returns, the seconds per run, the command, a link to the full page); this script fills
the lines between the two markers. ``<!-- results-table: NAME ... -->`` gives the table
alone, each row linking to its page (the README's compact table).
"""
import csv
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PAGES = os.path.join(ROOT, "docs", "results")
sys.path.insert(0, ROOT)


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sweep_names():
    return sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(HERE, "*.json"))
                  if os.path.exists(p[:-5] + ".csv"))


def table(header, lines):
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(x) for x in line) + " |" for line in lines]
    return "\n".join(out)


def summary_table(rows):
    """Per configuration: seeds, each seed's final greedy return, mean, IQM and its 95%
    stratified bootstrap interval, and the median steps to the threshold."""
    from minirl.sweep import seed_ranges
    header = ["configuration", "seeds", "final greedy return per seed", "mean",
              "IQM [95% CI]"]
    threshold = rows[0].get("threshold")
    if threshold:
        header.append(f"median steps to first reach {threshold} (runs that did)")
    lines = []
    for row in rows:
        line = [f"`{row['configuration']}`",
                seed_ranges([int(s) for s in row["seeds"].split()]),
                " ".join(f"{float(f):g}" for f in row["finals"].split()), row["mean"],
                f"{row['iqm']} [{row['iqm_low']}, {row['iqm_high']}]"]
        if threshold:
            line.append(f"{row['median_steps'] or 'not reached'} "
                        f"({row['reached']}/{row['runs']})")
        lines.append(line)
    return table(header, lines)


def qstar_table(rows):
    """Chapter 7's own measure, per seed: the states whose greedy action is optimal
    (among those with one optimal action) and the error of Q against Q* from value
    iteration."""
    lines = [[r["seed"], f"{r['greedy_optimal']} of {r['unique_action_states']}",
              r["max_abs_error"], r["mean_abs_error"]] for r in rows]
    return table(["seed", "greedy action optimal (states with one optimal action)",
                  "max over states of max_a abs(Q - Q*)", "mean over states"], lines)


def groups_from_data(name):
    """The sweep as ``minirl.sweep.read_sweep`` gives it, rebuilt from the data files."""
    rows = {r["configuration"]: r for r in read_rows(os.path.join(HERE, f"{name}.csv"))}
    groups = {}
    for e in read_rows(os.path.join(HERE, f"{name}-evaluations.csv")):
        runs = groups.setdefault(e["configuration"], {})
        row = rows[e["configuration"]]
        run = runs.setdefault(int(e["seed"]), {
            "seed": int(e["seed"]), "steps": int(row["steps"]), "algo": row["algo"],
            "env": row["env"], "evaluations": []})
        run["evaluations"].append((int(e["step"]), float(e["mean_return"])))
    for runs in groups.values():
        for run in runs.values():
            run["final"] = dict(run["evaluations"])[run["steps"]]
    return {c: [runs[s] for s in sorted(runs)] for c, runs in groups.items()}


def workers_table(timing):
    """The same sweep with 1 and 2 worker processes, measured one after the other."""
    base = timing["runs"][0]["wall_clock_s"]
    lines = [[run["workers"], f"{run['wall_clock_s']:.0f}", f"{base / run['wall_clock_s']:.2f}"]
             for run in timing["runs"]]
    return table(["workers", "wall-clock (s)", "speed-up over 1 worker"], lines)


def tune_table(record):
    """Each trial: its settings and value (the mean greedy return of its seeds at the
    end, or at the evaluation where it was pruned)."""
    lines = [[t["number"], t["state"].lower() + (f" at step {t['last_step']}"
                                                 if t["state"] == "PRUNED" else ""),
              " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in t["params"].items()),
              "" if t["value"] is None else f"{t['value']:.2f}"]
             for t in record["trials"]]
    return table(["trial", "state", "settings", "mean greedy return of its seeds"], lines)


def sweep_page(name):
    """docs/results/NAME.md and NAME.png for one sweep."""
    from minirl.sweep import plot_summary
    rows = read_rows(os.path.join(HERE, f"{name}.csv"))
    with open(os.path.join(HERE, f"{name}.json")) as f:
        meta = json.load(f)
    first = rows[0]
    figure = f"{name}.png"
    plot_summary(groups_from_data(name), os.path.join(PAGES, figure))
    parts = [f"# {first['algo']} on {first['env']}: {', '.join(r['configuration'] for r in rows)}",
             "",
             f"{len(rows)} configuration{'s' * (len(rows) > 1)} x {first['runs']} seeds, "
             f"{first['steps']} "
             f"environment steps each; the final greedy return is the last evaluation's "
             f"mean over its episodes. The interquartile mean (IQM) and its 95% stratified "
             f"bootstrap interval follow Agarwal et al. 2021 (`minirl/stats.py`).",
             "", summary_table(rows), "",
             f"Command ({meta['workers']} worker{'s' * (meta['workers'] > 1)}, "
             f"{meta['machine']}): "
             + (f"wall-clock {meta['wall_clock_s']:.0f} s, " if meta["wall_clock_s"] else
                "made in more than one call, so no one wall-clock; ")
             + f"{meta['run_seconds_mean']:.0f} s per run on average (training and its "
             f"evaluations).",
             "", "```", meta["command"], "```", "",
             f"![{name}: learning curves and performance profile]({figure})", "",
             "Left: the greedy return over training, per configuration the IQM over "
             "seeds with its 95% bootstrap band. Right: the performance profile of the "
             "final returns (the fraction of runs above each return)."]
    qstar = os.path.join(HERE, f"{name}-qstar.csv")
    if os.path.exists(qstar):
        parts += ["", "## Q against Q*", "",
                  "Each run's final Q-network against Q* from value iteration "
                  "(`minirl.tabular`, chapter 4), on every state of the GridWorld:", "",
                  qstar_table(read_rows(qstar))]
    timing_path = os.path.join(HERE, "sweep-workers.json")
    if os.path.exists(timing_path):
        with open(timing_path) as f:
            timing = json.load(f)
        if timing["sweep"] == name:
            parts += ["", "## One worker or two", "", timing["note"], "",
                      workers_table(timing), "", "```", timing["command"], "```"]
    return "\n".join(parts) + "\n"


def tune_page(name):
    with open(os.path.join(HERE, f"{name}.json")) as f:
        record = json.load(f)
    return "\n".join([
        f"# Tuning {record['algo']} on {record['env']} with Optuna", "",
        f"{len(record['trials'])} trials, seeds {record['seeds']} each, {record['steps']} "
        f"steps per run; the value of a trial is the mean final greedy return over its "
        f"seeds; trials below the median of earlier ones at an evaluation are pruned. "
        f"Wall-clock {record['wall_clock_s']:.0f} s ({record['machine']}).", "",
        tune_table(record), "", "```", record["command"], "```", "",
        f"Best: trial {record['best']['number']}, value {record['best']['value']:.2f}; "
        f"as a command:", "", "```", record["best"]["train_command"], "```"]) + "\n"


MINATAR = os.path.join(HERE, "minatar", "runs.csv")
MINATAR_COMMANDS = [
    "python benchmarks/bench_minatar.py --impl minirl --game Breakout --seed 0 --frames 150000",
    "python benchmarks/bench_minatar.py --impl torch  --game Breakout --seed 0 --frames 150000",
    "python benchmarks/bench_minatar.py --impl random --game Breakout",
    "python benchmarks/bench_minatar.py --impl minirl --game SpaceInvaders --seed 0 --frames 150000",
    "python benchmarks/bench_minatar.py --impl torch  --game SpaceInvaders --seed 0 --frames 150000",
    "python benchmarks/bench_minatar.py --impl minirl --game Freeway --seed 0 --frames 150000",
    "python benchmarks/bench_minatar.py --impl torch  --game Freeway --seed 0 --frames 150000"]


def minatar_table(rows):
    """Per game, frames and implementation: each seed's final greedy return (30 episodes
    on reset seeds no run trained on), their mean, and the whole run's steps/s."""
    import numpy as np
    groups = {}
    for r in rows:
        groups.setdefault((r["game"], int(r["frames"]), r["impl"]), []).append(r)
    lines = []
    for (game, frames, impl), rs in sorted(groups.items(), key=lambda kv: (
            kv[0][0], kv[0][1] == 0, kv[0][2])):
        rs.sort(key=lambda r: int(r["seed"]))
        finals = [float(r["greedy_return"]) for r in rs]
        sps = "" if impl == "random" else f"{np.mean([float(r['steps_per_s']) for r in rs]):.0f}"
        lines.append([game, f"{frames:,}" if frames else "-", impl,
                      ", ".join(r["seed"] for r in rs),
                      " ".join(f"{x:.2f}" for x in finals), f"{np.mean(finals):.2f}", sps])
    return table(["game", "frames", "implementation", "seeds",
                  "final greedy return per seed", "mean", "steps/s (whole run)"], lines)


def minatar_page():
    rows = read_rows(MINATAR)
    return "\n".join([
        "# DQN from pixels on MinAtar", "",
        "minirl's DQN (`--preset minatar`: Young & Tian 2019's network and settings) beside "
        "a PyTorch DQN with the same network and settings, on the same environment seeds, "
        "and a random policy. Each run's final greedy return is the mean over 30 "
        "evaluation episodes on reset seeds 10,000 and up, which no run trained on. The "
        "budget is far below the paper's 5M frames: read it as \"does it start to learn\", "
        "not as MinAtar scores ([DQN from pixels](../pixels.md)).", "",
        minatar_table(rows), "",
        "Commands (one run each; `--summary` prints this table from the same file):", "",
        "```", *MINATAR_COMMANDS, "```", ""])


REGION = re.compile(r"(<!-- results(-table)?: ([^>]*?) -->\n)(.*?)(<!-- /results -->)",
                    re.S)


def read_meta(name):
    with open(os.path.join(HERE, f"{name}.json")) as f:
        return json.load(f)


def short_table(names, link=None):
    """One row per configuration of each sweep: algorithm, environment and steps, seeds,
    the mean and the IQM [95% CI] of the final greedy returns, seconds per run (each
    algorithm linking to its page under ``link``, if given)."""
    from minirl.sweep import seed_ranges
    lines = []
    for name in names:
        meta = read_meta(name)
        for row in read_rows(os.path.join(HERE, f"{name}.csv")):
            config = "" if row["configuration"] == "default" else f" `{row['configuration']}`"
            algo = row["algo"] if link is None else f"[{row['algo']}]({link}/{name}.md)"
            lines.append([f"{algo}{config}", f"{row['env']}, {int(row['steps']):,}",
                          seed_ranges([int(x) for x in row["seeds"].split()]), row["mean"],
                          f"{row['iqm']} [{row['iqm_low']}, {row['iqm_high']}]",
                          f"{meta['run_seconds_mean']:.0f}"])
    return table(["algorithm", "environment, steps", "seeds (never tuned on)",
                  "mean final greedy return", "IQM [95% CI]", "seconds per run"], lines)


def region_text(names, page_dir):
    """What goes between a page's results markers: the table, the commands, the links."""
    link = os.path.relpath(PAGES, page_dir).replace(os.sep, "/")
    commands = [read_meta(n)["command"] for n in names]
    pages = ", ".join(f"[{n}]({link}/{n}.md)" for n in names)
    return "\n".join(["", short_table(names), "", "```", *commands, "```", "",
                      f"Per-seed returns and learning curves: {pages}.", ""]) + "\n"


def fill_regions(text, page_dir):
    """``text`` with every results region filled from its data."""
    def fill(match):
        names = match.group(3).split()
        if match.group(2):  # the table alone, its rows linking to the pages
            link = os.path.relpath(PAGES, page_dir).replace(os.sep, "/")
            body = "\n" + short_table(names, link) + "\n\n"
        else:
            body = region_text(names, page_dir)
        return match.group(1) + body + match.group(5)
    return REGION.sub(fill, text)


def chapter_pages():
    """{path: text} of every page in docs/ (and the README) that has a results region."""
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))) + [
            os.path.join(ROOT, "README.md")]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if REGION.search(text):
            out[path] = fill_regions(text, os.path.dirname(path))
    return out


def index_page(titles):
    lines = ["# Results", "",
             "Every table here is generated from a data file in `benchmarks/results/` by "
             "`python benchmarks/results/generate.py`; `tests/test_sweep.py` checks each "
             "table against its file. How to run a sweep, on this machine or a Ray "
             "cluster: [Sweeps and tuning](sweeps.md).", ""]
    lines += [f"- [{title}]({name}.md)" for name, title in titles.items()]
    return "\n".join(lines) + "\n"


def pages():
    """{path: text} of every generated page (the figures are written on the way)."""
    os.makedirs(PAGES, exist_ok=True)
    names = sweep_names()
    sweeps = [n for n in names if not n.endswith("-tune") and n != "sweep-workers"]
    tunes = [n for n in names if n.endswith("-tune")] + sorted(
        os.path.basename(p)[:-5] for p in glob.glob(os.path.join(HERE, "*-tune.json")))
    tunes = sorted(set(tunes))
    texts = {n: sweep_page(n) for n in sweeps}
    texts.update({n: tune_page(n) for n in tunes})
    if os.path.exists(MINATAR):
        texts["minatar"] = minatar_page()
    out = {os.path.join(PAGES, f"{n}.md"): text for n, text in texts.items()}
    out[os.path.join(PAGES, "index.md")] = index_page(
        {n: text.splitlines()[0].lstrip("# ") for n, text in texts.items()})
    out.update(chapter_pages())
    return out


def main(argv=None):
    import matplotlib
    matplotlib.use("Agg")
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for path, text in pages().items():
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            stale.append(path)
            if not check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    for path in stale:
        print(f"{'stale' if check else 'wrote'} {os.path.relpath(path, ROOT)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
