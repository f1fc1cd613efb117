"""The command line, through real subprocesses: safe run directories, the closing
summary, --stop-return, --version, GIFs, and plots that group runs by configuration."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minirl
from minirl.cli import RenderError, _cmd_eval, build_parser
from minirl.plot import group_labels, group_runs, plot_runs, seed_band, seeds_note


def cli_main(argv):
    """The eval command in this process, raising instead of printing."""
    return _cmd_eval(build_parser().parse_args(argv))

GRID = "minirl/GridWorld-v0"


def _cli(*args, env=None, timeout=120):
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
                   **(env or {})}
    return subprocess.run([sys.executable, "-m", "minirl", *args], capture_output=True,
                          text=True, timeout=timeout, env=environment)


def _snapshot(run):
    """Every file of the run (the lock file holds the pid of its last user, not data)."""
    return {p.name: p.read_bytes() for p in sorted(run.iterdir()) if p.name != ".lock"}


def test_version():
    r = _cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"minirl {minirl.__version__}"


def test_summary_tells_the_final_and_best_agent_and_where_they_are(tmp_path):
    """--stop-return stops at the first evaluation that reaches it (here the first of
    all); the summary gives the final greedy return, the best one with its step, and
    both files; stats.csv has a row every 1000 steps."""
    run = tmp_path / "g"
    r = _cli("train", "qnet", "--env", GRID, "--steps", "20000", "--seed", "0",
             "--eval-every", "1000", "--eval-episodes", "3", "--stop-return", "-1000",
             "--out", str(run))
    assert r.returncode == 0, r.stderr
    evals = np.loadtxt(run / "evaluations.csv", delimiter=",", skiprows=1, ndmin=2)
    assert evals.shape == (1, 3) and evals[0, 0] == 1000
    _, mean, std = evals[0]
    assert r.stdout.splitlines()[0].startswith(f"qnet on {GRID}: 1000 steps")
    assert f"final greedy return: {mean:.2f} +/- {std:.2f} over 3 episodes" in r.stdout
    assert f"best greedy return:  {mean:.2f} +/- {std:.2f} at step 1000" in r.stdout
    assert f"final agent: {run / 'checkpoint.npz'}" in r.stdout
    assert f"best agent:  {run / 'best.npz'}" in r.stdout
    stats = (run / "stats.csv").read_text().splitlines()
    assert stats[0] == "step,time,sps,loss" and stats[1].startswith("1000,")
    r = _cli("plot", str(run), "--stat", "loss", "--out", str(tmp_path / "loss.png"))
    assert r.returncode == 0 and (tmp_path / "loss.png").stat().st_size > 0, r.stderr


def test_an_existing_run_is_refused_unless_force_which_clears_it(tmp_path):
    run = tmp_path / "run"
    minirl.train("qnet", GRID, 600, seed=0, out=run, eval_every=300, eval_episodes=1)
    assert (run / "best.npz").exists()
    before = _snapshot(run)
    r = _cli("train", "qnet", "--env", GRID, "--steps", "100", "--out", str(run))
    assert r.returncode == 2 and "already holds a run" in r.stderr
    assert "--resume" in r.stderr and "--force" in r.stderr
    assert _snapshot(run) == before
    r = _cli("train", "qnet", "--env", GRID, "--steps", "100", "--out", str(run), "--force",
             "--quiet")
    assert r.returncode == 0, r.stderr
    assert not (run / "best.npz").exists()  # the old run's best agent is gone with it
    assert json.loads((run / "config.json").read_text())["steps"] == 100
    (run / "notes.txt").write_text("mine")
    r = _cli("train", "qnet", "--env", GRID, "--steps", "100", "--out", str(run), "--force")
    assert r.returncode == 2 and "not a minirl run's (notes.txt)" in r.stderr
    assert (run / "notes.txt").read_text() == "mine"


def test_a_mismatched_resume_is_refused_and_changes_nothing(tmp_path):
    run = tmp_path / "run"
    minirl.train("dqn", "CartPole-v1", 300, seed=0, out=run, buffer_size=500,
                 batch_size=16, learning_starts=50)
    before = _snapshot(run)
    for args, message in [
            (["a2c", "--resume"], f"{run} holds a dqn run; cannot resume it as a2c"),
            (["dqn", "--resume", "--env", "Acrobot-v1"],
             f"{run} was trained on CartPole-v1; cannot resume it on Acrobot-v1")]:
        r = _cli("train", *args, "--steps", "600", "--out", str(run))
        assert r.returncode == 2 and message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert _snapshot(run) == before, args
    for kwargs, message in [({"seed": 3}, "trained with seed 0; cannot resume it with "
                                          "seed 3"),
                            ({"lr": 0.1}, "resume continues the saved configuration"),
                            ({"force": True}, "resume and force exclude each other"),
                            ({"eval_episodes": 0}, "eval_episodes must be a positive int, "
                                                   "got 0")]:
        with pytest.raises(ValueError, match=message):
            minirl.train("dqn", None, 600, out=run, resume=True, **kwargs)
        assert _snapshot(run) == before, kwargs
    with pytest.raises(ValueError, match="cannot resume it on"):
        minirl.train("dqn", "MountainCar-v0", 600, out=run, resume=True)
    assert _snapshot(run) == before


def test_gif_of_a_greedy_episode(tmp_path):
    pytest.importorskip("pygame", reason="the render extra (pygame) is not installed")
    from PIL import Image
    run = tmp_path / "cart"
    minirl.train("dqn", "CartPole-v1", 300, seed=0, out=run, buffer_size=500,
                 batch_size=16, learning_starts=50)
    r = _cli("eval", str(run), "--episodes", "1", "--gif", str(tmp_path / "cart.gif"))
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "cart.gif") as gif:
        assert gif.format == "GIF" and gif.width == 320
        frames = gif.n_frames
    episode_length = int(r.stdout.split(" frames")[0].rsplit(" ", 1)[1]) - 1
    assert frames > 1 and f"return {episode_length:.2f}" in r.stdout  # 1 per step


def test_without_pygame_rendering_says_which_extra_to_install(tmp_path, monkeypatch):
    fake = tmp_path / "nopygame"
    fake.mkdir()
    (fake / "pygame.py").write_text("raise ImportError('No module named pygame')\n")
    run = tmp_path / "cart"
    minirl.train("dqn", "CartPole-v1", 100, seed=0, out=run, buffer_size=500,
                 batch_size=16, learning_starts=50)
    pythonpath = os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")])
    r = _cli("eval", str(run), "--render", env={"PYTHONPATH": pythonpath})
    assert r.returncode == 1, r.stderr
    assert "pip install 'minirl[render]'" in r.stderr and "Traceback" not in r.stderr
    monkeypatch.setitem(sys.modules, "pygame", None)  # as if not installed, in-process
    with pytest.raises(RenderError, match=r"pip install 'minirl\[render\]'"):
        cli_main(["eval", str(run), "--gif", str(tmp_path / "x.gif")])
    assert not (tmp_path / "x.gif").exists()


# --- plots -------------------------------------------------------------------------------
def _fake_run(path, seed, hparams, returns, algo="dqn", env="CartPole-v1"):
    """A run directory with the files plot reads, written by hand."""
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(
        {"algo": algo, "env": env, "seed": seed, "hparams": hparams,
         "loop": {"eval_episodes": 5}}))
    rows = ["step,episode,return,length"] + [
        f"{10 * (i + 1)},{i + 1},{r},10" for i, r in enumerate(returns)]
    (path / "metrics.csv").write_text("\n".join(rows) + "\n")
    return path


def test_plot_groups_runs_by_whole_configuration(tmp_path):
    """Three runs with one seed and different settings are three lines, never a mean;
    seeds of one configuration are one line labelled with how many."""
    a0 = _fake_run(tmp_path / "a0", 0, {"lr": 0.001, "double": False}, [1, 2, 3, 4])
    a1 = _fake_run(tmp_path / "a1", 1, {"lr": 0.001, "double": False}, [3, 4, 5, 6, 7, 8])
    b0 = _fake_run(tmp_path / "b0", 0, {"lr": 0.01, "double": False}, [9, 9])
    c0 = _fake_run(tmp_path / "c0", 0, {"lr": 0.001, "double": True}, [5, 5])
    groups = group_runs([a0, b0, a1, c0])
    assert [members for _, members in groups] == [[a0, a1], [b0], [c0]]
    assert group_labels([config for config, _ in groups]) == [
        "double=False lr=0.001", "double=False lr=0.01", "double=True lr=0.001"]
    assert seeds_note([a0, a1]) == "2 seeds"
    twin = _fake_run(tmp_path / "twin", 0, {"lr": 0.001, "double": False}, [0])
    assert seeds_note([a0, twin]) == "2 runs, seeds 0, 0"
    fig = plot_runs([a0, b0, a1, c0], tmp_path / "c.png", window=1)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["double=False lr=0.001 (2 seeds)", "double=False lr=0.01 (1 seed)",
                      "double=True lr=0.001 (1 seed)"]
    r = _cli("plot", str(a0), str(a1), str(b0), "--out", str(tmp_path / "cli.png"))
    assert r.returncode == 0 and (tmp_path / "cli.png").stat().st_size > 0, r.stderr


def test_seed_band_keeps_each_run_its_own_length():
    """Mean and std at each step over the runs that reach it: run 1 covers steps 0-10,
    run 2 steps 0-20, so beyond 10 the line is run 2's alone, std 0."""
    grid, mean, std, count = seed_band([(np.array([0.0, 10.0]), np.array([0.0, 10.0])),
                                        (np.array([0.0, 20.0]), np.array([2.0, 22.0]))],
                                       points=21)
    np.testing.assert_allclose(grid, np.arange(21.0))
    np.testing.assert_allclose(mean[:11], np.arange(11.0) + 1.0)  # (x + x + 2) / 2
    np.testing.assert_allclose(std[:11], 1.0)
    np.testing.assert_allclose(mean[11:], np.arange(11.0, 21.0) + 2.0)
    np.testing.assert_allclose(std[11:], 0.0)
    assert list(count) == [2] * 11 + [1] * 10


def test_train_flags_are_the_settings():
    """Each loop setting is written once (minirl/settings.py): ``minirl train`` has one
    flag per setting, with its meaning as help, and hands it to train by name."""
    from dataclasses import fields

    from minirl.cli import build_parser
    from minirl.settings import Settings
    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = {a.dest: a for a in train._actions}
    for f in fields(Settings):
        if f.metadata["cli"]:
            assert f.name in flags and flags[f.name].help.startswith(f.metadata["help"])
    args = parser.parse_args(["train", "qnet", "--env", "X", "--steps", "5",
                              "--eval-every", "7", "--allow-nonfinite"])
    from minirl.settings import from_arguments
    assert from_arguments(args) == {"eval_every": 7, "allow_nonfinite": True}
