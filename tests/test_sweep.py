"""minirl sweep: each run is minirl.train's run, byte for byte; reruns continue; Ctrl-C
saves every run in flight and leaves no process; the Ray backend gives the same runs."""
import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

import minirl
from minirl.sweep import (checkpoint_step, configuration_name, parse_grid, parse_seeds,
                          plan, read_sweep, run_status, summarize)

ENV = "minirl/Chain-v0"
ALGO = "qnet"
STEPS = 600
GRID = {"lr": [0.01, 0.03], "gamma": [0.9]}
SEEDS = "0-1"
EVAL_EVERY = 200


def compared_files(run_dir):
    """What must be equal between two runs of the same seed: the metrics, the greedy
    evaluations, the configuration, and the checkpoint's agent and loop state (all but
    what the clock decides: the elapsed time, the time spent evaluating, and the stats
    log's time and steps/s)."""
    files = {}
    for name in ("metrics.csv", "evaluations.csv", "config.json"):
        with open(os.path.join(run_dir, name), "rb") as f:
            files[name] = f.read()
    with np.load(os.path.join(run_dir, "checkpoint.npz")) as data:
        for key in data.files:
            if key not in ("loop.elapsed", "loop.eval_seconds", "loop.stats",
                           "loop.stats_mark"):
                files[key] = data[key].tobytes()
    return files


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    rows = minirl.sweep(ALGO, ENV, STEPS, SEEDS, grid=GRID, out=str(out), workers=2,
                        eval_every=EVAL_EVERY, quiet=True)
    return out, rows


def test_seeds_and_grid_parse():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,3,5") == [0, 3, 5]
    assert parse_seeds("200-202,7") == [200, 201, 202, 7]
    assert parse_grid(["lr=1e-3,3e-4", "hidden_sizes=[64, 64],[32]", "double=true,false"]) \
        == {"lr": [1e-3, 3e-4], "hidden_sizes": [[64, 64], [32]], "double": [True, False]}
    assert configuration_name({"lr": 0.001, "n_step": 3}) == "lr=0.001,n_step=3"
    assert configuration_name({}) == "default"
    for bad in ("a-b", "3,3", ""):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)
    with pytest.raises(ValueError, match="--grid expects key=value"):
        parse_grid(["lr"])


def test_each_run_is_minirl_train_byte_for_byte(local_sweep, tmp_path):
    out, rows = local_sweep
    runs = plan(ALGO, ENV, STEPS, SEEDS, GRID, str(out))
    assert len(runs) == 4 and len({r["out"] for r in runs}) == 4
    for run in runs:
        alone = tmp_path / f"{configuration_name(run['hparams'])}-{run['seed']}"
        minirl.train(ALGO, ENV, STEPS, seed=run["seed"], out=str(alone),
                     eval_every=EVAL_EVERY, **run["hparams"])
        for name in ("metrics.csv", "evaluations.csv"):
            assert (alone / name).read_bytes() == open(os.path.join(run["out"], name),
                                                       "rb").read(), (run["out"], name)
    # the summary read from the run directories: one row per configuration, the finals
    # being each run's last greedy evaluation
    assert [r["configuration"] for r in rows] == ["lr=0.01,gamma=0.9", "lr=0.03,gamma=0.9"]
    for row in rows:
        finals = [float(f) for f in row["finals"].split()]
        for seed, final in zip(row["seeds"].split(), finals):
            with open(os.path.join(out, row["configuration"], f"seed-{seed}",
                                   "evaluations.csv")) as f:
                assert float(f.read().split()[-1].split(",")[1]) == final
        assert float(row["mean"]) == pytest.approx(np.mean(finals), abs=0.005)
    assert (out / "summary.csv").exists() and (out / "summary.png").exists()


def test_rerunning_trains_nothing(local_sweep):
    out, rows = local_sweep
    runs = plan(ALGO, ENV, STEPS, SEEDS, GRID, str(out))
    before = {r["out"]: os.stat(os.path.join(r["out"], "checkpoint.npz")).st_mtime_ns
              for r in runs}
    assert all(run_status(r) == "done" for r in runs)
    again = minirl.sweep(ALGO, ENV, STEPS, SEEDS, grid=GRID, out=str(out), workers=2,
                         eval_every=EVAL_EVERY, quiet=True)
    after = {r["out"]: os.stat(os.path.join(r["out"], "checkpoint.npz")).st_mtime_ns
             for r in runs}
    assert after == before
    assert again == rows


def test_summary_redrawn_from_run_directories_alone(local_sweep, capsys):
    out, rows = local_sweep
    os.remove(out / "summary.csv")
    assert minirl_cli(["sweep", "--summary", str(out), "--threshold", "0.5"]) == 0
    printed = capsys.readouterr().out
    assert "IQM [95% CI]" in printed and "lr=0.03,gamma=0.9" in printed
    header = (out / "summary.csv").read_text().splitlines()[0]
    assert header.endswith("threshold,reached,median_steps")


def minirl_cli(argv):
    from minirl.cli import main
    return main(argv)


def test_sweep_mistakes_are_one_line(tmp_path, capsys):
    assert minirl_cli(["sweep", "dqn", "--env", ENV, "--steps", "100", "--seeds", "x",
                       "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "minirl sweep: error: --seeds expects e.g. 0-9 or 0,3,5; got 'x'")
    assert minirl_cli(["sweep", "dqn", "--env", ENV, "--steps", "100",
                       "--eval-every", "30", "--out", str(tmp_path)]) == 2
    assert "must divide steps" in capsys.readouterr().err
    assert minirl_cli(["sweep", "--summary", str(tmp_path / "none")]) == 2


def test_ray_missing_names_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "optuna", None)
    assert minirl_cli(["sweep", ALGO, "--env", ENV, "--steps", "100", "--backend", "ray",
                       "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "minirl sweep: error: --backend ray needs Ray, which is not installed: "
        "pip install 'minirl[sweep]'")
    assert minirl_cli(["tune", ALGO, "--env", ENV, "--steps", "100", "--space",
                       "lr=log:1e-3:1e-1", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        "minirl tune: error: minirl tune needs Optuna, which is not installed: "
        "pip install 'minirl[sweep]'")


# --- Ctrl-C ---------------------------------------------------------------------------
def children(pid):
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                           text=True).stdout.split()
    return [int(p) for p in found]


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def sweep_command(out, steps):
    return [sys.executable, "-m", "minirl", "sweep", ALGO, "--env", ENV, "--steps",
            str(steps), "--seeds", "3-4", "--grid", "lr=0.01", "--eval-every", "1000",
            "--workers", "2", "--checkpoint-every", "0.3", "--out", str(out), "--quiet"]


def test_sigint_then_rerun_ends_as_never_interrupted(tmp_path):
    steps = 8000
    stopped, whole = tmp_path / "stopped", tmp_path / "whole"
    proc = subprocess.Popen(sweep_command(stopped, steps), stderr=subprocess.PIPE, text=True)
    runs = plan(ALGO, ENV, steps, "3-4", {"lr": [0.01]}, str(stopped))
    deadline = time.monotonic() + 120
    while not all(0 < (checkpoint_step(r["out"]) or 0) < steps for r in runs):
        assert time.monotonic() < deadline and proc.poll() is None, "runs did not start"
        time.sleep(0.1)
    started = children(proc.pid)  # the two workers (and multiprocessing's tracker)
    assert len([p for p in started if "spawn_main" in cmdline(p)]) == 2
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "every run in flight saved its checkpoint" in err
    deadline = time.monotonic() + 10
    while [p for p in started if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in started if alive(p)], "a process was left behind"
    held = [checkpoint_step(r["out"]) for r in runs]
    assert all(0 < step < steps for step in held), held  # each saved, none finished
    assert all(run_status(r) == "resume" for r in runs)
    for out in (stopped, whole):
        done = subprocess.run(sweep_command(out, steps), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    for run in runs:
        other = run["out"].replace(str(stopped), str(whole))
        assert compared_files(run["out"]) == compared_files(other)


# --- Ray: a real head on 127.0.0.1, talking to no one else --------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_environment(home):
    """Keep a Ray head and its driver on this machine: the loopback address (not eth0),
    no usage report (its URL a closed loopback port), and a bootstrap config saying
    the provider is local, so no cloud metadata service is asked where it runs."""
    with open(os.path.join(home, "ray_bootstrap_config.yaml"), "w") as f:
        f.write("cluster_name: minirl-test\nprovider:\n  type: local\n"
                "  head_ip: 127.0.0.1\n  worker_ips: []\n")
    return {"HOME": home, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_USAGE_STATS_REPORT_URL": f"http://127.0.0.1:{free_port()}/usage"}


@contextlib.contextmanager
def local_ray_head(num_cpus=2):
    """Start a Ray head on 127.0.0.1 in a session of its own; stop that session's
    processes (and no other Ray) at the end. Yields its address."""
    home = tempfile.mkdtemp(prefix="minirl-ray-home-")
    env = ray_environment(home)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for _ in range(3):  # a loaded machine can miss Ray's 30 s raylet start-up
            head, port, said = start_ray_head(env, num_cpus)
            if head is not None:
                break
        else:
            raise RuntimeError("the Ray head did not start:\n" + "".join(said[-20:]))
        try:
            yield f"127.0.0.1:{port}"
        finally:
            import ray
            ray.shutdown()
            stop_session(head)
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


def stop_session(head):
    """SIGTERM to the head's session (the processes it started, and no other Ray)."""
    try:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(60)
    except ProcessLookupError:  # the session has ended already
        pass
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
    head.wait()


def start_ray_head(env, num_cpus):
    """(process, port, its output); process None if it did not start."""
    port = free_port()
    head = subprocess.Popen(
        ["ray", "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port",
         str(port), "--num-cpus", str(num_cpus), "--include-dashboard", "false",
         "--disable-usage-stats", "--temp-dir", tempfile.mkdtemp(prefix="ray", dir="/tmp")],
        env={**os.environ, **env}, start_new_session=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    said = []
    for line in head.stdout:
        said.append(line)
        if "Ray runtime started" in line:
            return head, port, said
    stop_session(head)
    return None, port, said


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="needs pip install 'minirl[sweep]' (.ci/run installs it)")
def test_ray_backend_gives_the_local_runs(local_sweep, tmp_path):
    # Ray reads its settings when first imported: local_ray_head sets them before.
    out, _ = local_sweep
    grid = {"lr": [0.03], "gamma": [0.9]}
    with local_ray_head() as address:
        minirl.sweep(ALGO, ENV, STEPS, SEEDS, grid=grid, out=str(tmp_path), backend="ray",
                     address=address, eval_every=EVAL_EVERY, quiet=True)
    for run in plan(ALGO, ENV, STEPS, SEEDS, grid, str(tmp_path)):
        local = run["out"].replace(str(tmp_path), str(out))
        assert compared_files(run["out"]) == compared_files(local)
    groups, unfinished = read_sweep(str(tmp_path))
    assert list(groups) == ["lr=0.03,gamma=0.9"] and unfinished == 0


# --- the results pages: every table is its data file ----------------------------------
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_generator():
    import importlib.util as util
    spec = util.spec_from_file_location(
        "results_generate", os.path.join(ROOT, "benchmarks", "results", "generate.py"))
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tables_in(text):
    """Each Markdown table of a page, as its block of lines."""
    blocks, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    return blocks


def test_results_pages_match_their_data():
    from minirl.stats import iqm_ci
    generate = load_generator()
    pages = os.path.join(ROOT, "docs", "results")
    sweeps = [n for n in generate.sweep_names() if n != "sweep-workers"]
    assert sweeps, "no sweep data in benchmarks/results"
    for name in sweeps:
        rows = generate.read_rows(os.path.join(generate.HERE, f"{name}.csv"))
        with open(os.path.join(pages, f"{name}.md")) as f:
            text = f.read()
        expected = [generate.summary_table(rows)]
        qstar = os.path.join(generate.HERE, f"{name}-qstar.csv")
        if os.path.exists(qstar):
            expected.append(generate.qstar_table(generate.read_rows(qstar)))
        timing = os.path.join(generate.HERE, "sweep-workers.json")
        if os.path.exists(timing):
            with open(timing) as f:
                record = json.load(f)
            if record["sweep"] == name:
                expected.append(generate.workers_table(record))
        assert tables_in(text) == expected, name  # every table, and nothing else
        with open(os.path.join(generate.HERE, f"{name}.json")) as f:
            assert json.load(f)["command"] in text
        # and the numbers in the data are what the finals say (recomputed here)
        groups = generate.groups_from_data(name)
        for row in rows:
            finals = [float(f) for f in row["finals"].split()]
            assert finals == [r["final"] for r in groups[row["configuration"]]]
            point, low, high = iqm_ci(finals)
            assert (row["iqm"], row["iqm_low"], row["iqm_high"]) == (
                f"{point:.2f}", f"{low:.2f}", f"{high:.2f}")
            assert row["mean"] == f"{np.mean(finals):.2f}"
    if os.path.exists(generate.MINATAR):  # DQN from pixels: one table, its runs.csv
        with open(os.path.join(pages, "minatar.md")) as f:
            assert tables_in(f.read()) == [generate.minatar_table(
                generate.read_rows(generate.MINATAR))]
    for path in [p for p in os.listdir(generate.HERE) if p.endswith("-tune.json")]:
        name = path[:-5]
        with open(os.path.join(generate.HERE, path)) as f:
            record = json.load(f)
        with open(os.path.join(pages, f"{name}.md")) as f:
            assert tables_in(f.read()) == [generate.tune_table(record)]
        values = [t["value"] for t in record["trials"] if t["state"] == "COMPLETE"]
        assert record["best"]["value"] == max(values)


def test_chapter_pages_show_the_tables_their_sweeps_give():
    """A chapter page's results region is what generate.py renders from the data now
    (a stale region, or a number typed into one, fails here)."""
    generate = load_generator()
    for path, text in generate.chapter_pages().items():
        with open(path, encoding="utf-8") as f:
            assert f.read() == text, f"{path}: run python benchmarks/results/generate.py"


def test_a_results_region_renders_each_configuration_of_its_sweep():
    generate = load_generator()
    page = "intro\n<!-- results: dqn-cartpole-lr -->\nstale line\n<!-- /results -->\nend\n"
    text = generate.fill_regions(page, os.path.join(ROOT, "docs"))
    rows = generate.read_rows(os.path.join(generate.HERE, "dqn-cartpole-lr.csv"))
    (block,) = tables_in(text)
    assert len(block.splitlines()) == 2 + len(rows) and "stale line" not in text
    for row in rows:
        assert f"| {row['mean']} | {row['iqm']} [{row['iqm_low']}, {row['iqm_high']}] |" in text
    assert "(results/dqn-cartpole-lr.md)" in text and text.endswith("<!-- /results -->\nend\n")


def test_a_table_region_links_each_row_to_its_page():
    generate = load_generator()
    page = "<!-- results-table: dqn-cartpole-lr -->\n<!-- /results -->\n"
    text = generate.fill_regions(page, ROOT)
    rows = generate.read_rows(os.path.join(generate.HERE, "dqn-cartpole-lr.csv"))
    (block,) = tables_in(text)
    assert block.count("(docs/results/dqn-cartpole-lr.md)") == len(rows)
    assert "```" not in text  # the table alone: the commands are on the pages


def test_a_learning_curve_takes_each_runs_kth_evaluation_together():
    """A3C's evaluations fall a little apart in every run: the k-th of each are one point
    of the curve, at the median of their steps; runs on one schedule keep their steps."""
    from minirl.sweep import evaluation_table
    runs = [{"evaluations": [(10, 1.0), (20, 2.0)]}, {"evaluations": [(12, 3.0), (21, 4.0)]},
            {"evaluations": [(11, 5.0), (25, 6.0)]}]
    assert evaluation_table(runs) == ([11, 21], {11: [1.0, 3.0, 5.0], 21: [2.0, 4.0, 6.0]})
    uneven = [{"evaluations": [(10, 1.0)]}, {"evaluations": [(10, 2.0), (20, 3.0)]}]
    assert evaluation_table(uneven) == ([10, 20], {10: [1.0, 2.0], 20: [3.0]})
