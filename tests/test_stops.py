"""Stops and failures around the loop, in real processes with real signals.

* a signal during a greedy evaluation -- periodic or final -- is honoured at once, and
  the message says what was saved and what was not; an evaluation cut short by it is
  run first on --resume, so the resumed run still ends where an uninterrupted one does;
* steps per second count training, not evaluations; an endless greedy episode is cut;
* an env that raises, or changes its observation or reward after the first step, is
  one line naming the env, the step and what the checkpoint on disk holds (exit 1);
* corrupt loop state in a checkpoint is refused by name; so is --resume to fewer steps.
"""
import importlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minirl
from minirl.checkpoint import CheckpointError, checkpoint_arrays, read_checkpoint
from minirl.envcheck import EnvCheckError, EnvError

import fault_envs  # noqa: F401  (registers the fault_envs: ids, here and in workers)

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL_DQN = ["--set", "buffer_size=500", "--set", "batch_size=8", "--set",
             "learning_starts=20"]


def _env(**extra):
    return {**os.environ, "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]),
            "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg", **extra}


def _cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "minirl", *args], capture_output=True,
                          text=True, timeout=timeout, env=_env())


def _signal_when(marker, args, signum=signal.SIGINT):
    """Start ``minirl ARGS``, send ``signum`` once ``marker`` exists; (process, stderr,
    seconds from the signal to the exit)."""
    proc = subprocess.Popen([sys.executable, "-m", "minirl", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(EVAL_MARKER=str(marker)))
    deadline = time.monotonic() + 90
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the evaluation never started"
        time.sleep(0.02)
    sent = time.monotonic()
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    return proc, err, time.monotonic() - sent


# --- signals in evaluations --------------------------------------------------------------
def test_ctrl_c_in_the_final_evaluation_stops_at_once_and_says_what_was_saved(tmp_path):
    run = tmp_path / "run"
    proc, err, waited = _signal_when(tmp_path / "m", [
        "train", "qnet", "--env", "fault_envs:SlowEval-v0", "--steps", "60", "--out",
        str(run), "--eval-episodes", "50"])  # 50 episodes of 0.5 s: 25 s if not stopped
    assert proc.returncode == 130, err
    assert waited < 3, f"took {waited:.1f} s to stop"
    assert "stopped by SIGINT during the final evaluation" in err, err
    assert "checkpoint and metrics of step 60 saved" in err and "not finished" in err, err
    assert int(read_checkpoint(run)[2]["step"]) == 60


def test_ctrl_c_in_a_periodic_evaluation_stops_at_once_and_resume_runs_it(tmp_path):
    """Stopped inside the evaluation due at step 40; --resume runs that evaluation
    first, and the run ends with the evaluations of a run never stopped."""
    args = ["--env", "fault_envs:SlowEval-v0", "--eval-every", "40", "--eval-episodes",
            "2", "--quiet", *SMALL_DQN]
    proc, err, waited = _signal_when(tmp_path / "m", [
        "train", "dqn", "--steps", "80", "--out", str(tmp_path / "part"), *args])
    assert proc.returncode == 130 and waited < 3, (waited, err)
    assert "during the evaluation due at step 40" in err and "saved in" in err, err
    assert int(read_checkpoint(tmp_path / "part")[2]["eval_due"]) == 40
    # the env is named again: an id read from a checkpoint never imports its module
    resumed = _cli("train", "dqn", "--resume", "--out", str(tmp_path / "part"), "--quiet",
                   "--env", "fault_envs:SlowEval-v0")
    assert resumed.returncode == 0, resumed.stderr
    whole = _cli("train", "dqn", "--steps", "80", "--out", str(tmp_path / "whole"), *args)
    assert whole.returncode == 0, whole.stderr
    for name in ("metrics.csv", "evaluations.csv"):
        assert (tmp_path / "part" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


def test_steps_per_second_leave_evaluations_out(tmp_path):
    """Each evaluation sleeps 1 s (2 episodes x 10 steps x 0.05 s); 50 steps of qnet
    take a few milliseconds each. Counting the evaluations would put sps under 50."""
    result = minirl.train("qnet", "fault_envs:SlowEval-v0", 150, eval_every=50,
                          eval_episodes=2, log_every=50, plot=False, out=tmp_path)
    assert len(result.evaluations) == 3
    rows = np.loadtxt(tmp_path / "stats.csv", delimiter=",", skiprows=1, usecols=(0, 1, 2))
    step, wall, sps = rows[:, 0], rows[:, 1], rows[:, 2]
    with_evaluations = np.diff(step) / np.diff(wall)
    assert (with_evaluations < 50).all()  # each 50-step stretch held a 1 s evaluation
    assert (sps[1:] > 2 * with_evaluations).all(), (sps, with_evaluations)


def test_an_endless_greedy_episode_is_cut_and_said(monkeypatch):
    train_module = importlib.import_module("minirl.train")
    agent = minirl.make_agent("qnet", "fault_envs:Endless-v0", seed=0)
    with pytest.warns(train_module.EpisodeCut, match="cut at 30 steps"):
        assert minirl.evaluate(agent, "fault_envs:Endless-v0", max_steps=30,
                               episodes=1) == (30.0, 0.0)
    monkeypatch.setattr(train_module, "EVAL_MAX_STEPS", 40)  # the documented default
    with pytest.warns(train_module.EpisodeCut,
                      match=r"Endless-v0: the greedy episode from seed 0 was cut at 40 steps"):
        assert minirl.evaluate(agent, "fault_envs:Endless-v0", episodes=1) == (40.0, 0.0)


# --- failures: one line, where and what ---------------------------------------------------
@pytest.mark.parametrize("algo, sets, step", [
    ("dqn", SMALL_DQN, 51),                                          # one env
    ("ppo", ["--set", "num_envs=2", "--set", "n_steps=8"], 102),     # vector, in process
    ("ppo", ["--set", "num_envs=2", "--set", "n_steps=8", "--set", "async_envs=true"], 102),
])
def test_an_env_that_raises_is_one_line_naming_the_step_and_the_checkpoint(tmp_path, algo,
                                                                           sets, step):
    """RaisesAfter raises at its 51st step: step 51 of one env, 102 of two in lock-step."""
    r = _cli("train", algo, "--env", "fault_envs:RaisesAfter-v0", "--steps", "1000", "--out",
             str(tmp_path), "--checkpoint-every", "0", "--quiet", *sets)
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert (f"fault_envs:RaisesAfter-v0: step() raised RuntimeError: injected failure "
            f"after 50 steps at step {step}; no checkpoint in {tmp_path}") in r.stderr


def test_an_a3c_worker_whose_env_raises_is_one_line(tmp_path):
    r = _cli("train", "a3c", "--env", "fault_envs:RaisesAfter-v0", "--steps", "100000",
             "--out", str(tmp_path), "--checkpoint-every", "0", "--quiet")
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert "A3C worker" in r.stderr and "RaisesAfter-v0: step() raised RuntimeError: " \
        "injected failure after 50 steps at step" in r.stderr, r.stderr
    held = int(read_checkpoint(tmp_path)[2]["step"])
    assert f"{tmp_path}/checkpoint.npz holds step {held} (saved after the failure)" in r.stderr


@pytest.mark.parametrize("env_id, message", [
    ("GrowsObs-v0", r"GrowsObs-v0: step\(\) returned an observation of shape \(5,\) at step "
                    r"3; its observation space .* declares shape \(4,\)"),
    ("ArrayReward-v0", r"ArrayReward-v0: step\(\) returned reward ndarray of shape \(1,\).* at "
                       r"step 3; a reward is one number"),
    ("DiscreteOut-v0", r"DiscreteOut-v0: step\(\) returned observation 7 at step 3, outside "
                       r"its observation space Discrete\(3\)"),
])
def test_an_env_that_changes_after_its_first_step_is_named_at_the_step(env_id, message):
    with pytest.raises(EnvCheckError, match=message):
        minirl.train("qnet", env_id, 100, plot=False)


@pytest.mark.parametrize("env_id, message", [
    # a vector env stacks the rows itself and fails there: one line, env and step named
    ("GrowsObs-v0", r"GrowsObs-v0: step\(\) raised ValueError: .* at step 24;"),
    ("ArrayReward-v0", r"ArrayReward-v0: step\(\) raised ValueError: .* at step 24;"),
    ("DiscreteOut-v0", r"DiscreteOut-v0: step\(\) returned observation 7 at step 24 \(env 0 "
                       r"of 8\), outside its observation space Discrete\(3\)"),
])
def test_a_vector_env_that_changes_is_named_at_the_step(env_id, message):
    with pytest.raises((EnvCheckError, EnvError), match=message):
        minirl.train("a2c", env_id, 100, plot=False)


def test_a_broken_env_exits_1_and_a_bad_command_2(tmp_path):
    r = _cli("train", "qnet", "--env", "fault_envs:GrowsObs-v0", "--steps", "50", "--quiet")
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    r = _cli("train", "qnet", "--env", "CartPole-v1", "--steps", "50", "--set", "lr=-1")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr


def test_env_errors_in_python_keep_their_cause():
    with pytest.raises(EnvError, match="at step 51; nothing saved") as info:
        minirl.train("qnet", "fault_envs:RaisesAfter-v0", 200, plot=False)
    assert isinstance(info.value.__cause__, RuntimeError)


# --- loop state on load, and resume's bounds ----------------------------------------------
def _rewrite_loop_state(path, **changes):
    config, agent_state, loop_state = read_checkpoint(path)
    loop_state = {k: v for k, v in {**loop_state, **changes}.items() if v is not None}
    np.savez(path / "checkpoint.npz", **checkpoint_arrays(config, agent_state, loop_state))


@pytest.mark.parametrize("changes, message", [
    ({"step": np.array(-5)}, r"loop.step must be a whole number >= 0, got array\(-5\)"),
    ({"step": None}, r"loop state lacks loop.step"),
    ({"step": np.array(2.5)}, r"loop.step must be a whole number"),
    ({"records": np.zeros((2, 3))}, r"loop.records must be a table of 4 columns"),
    ({"episode": np.array(99)}, r"loop.records holds \d+ episodes, loop.episode says 99"),
    ({"rng": np.array("not a state")}, r"loop.rng is not a random generator's state"),
    ({"episode_length": np.array(7)}, r"loop.episode_actions holds \d+ actions; the "
                                      r"episodes in flight took 7"),
])
def test_corrupt_loop_state_is_refused_by_name(tmp_path, changes, message):
    minirl.train("qnet", "minirl/GridWorld-v0", 105, out=tmp_path, plot=False)
    _rewrite_loop_state(tmp_path, **changes)
    with pytest.raises(CheckpointError, match=f"{tmp_path}/checkpoint.npz: {message}"):
        minirl.resume(tmp_path, 200)


def test_resume_to_fewer_steps_is_refused_on_the_command_line(tmp_path):
    minirl.train("qnet", "minirl/GridWorld-v0", 300, out=tmp_path, plot=False)
    config = (tmp_path / "config.json").read_bytes()
    r = _cli("train", "qnet", "--resume", "--out", str(tmp_path), "--steps", "100")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "is already at step 300; cannot resume it to 100 steps" in r.stderr
    assert (tmp_path / "config.json").read_bytes() == config
