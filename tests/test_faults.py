"""Faults, injected for real: signals at awkward moments, SIGKILL, full and read-only
disks, two runs on one directory, environments that break the gymnasium contract,
NaN losses, and files that are not minirl's.

Signals are real (``os.kill`` on a real ``minirl`` process). Where a test must hit a
window -- the save in progress -- the process is made to wait there and to say so
(``fault_envs.SAVE_HOOK`` creates a marker file), and the test blocks on that marker
instead of guessing a delay.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import minirl
from minirl.checkpoint import CheckpointError, read_checkpoint, read_config
from minirl.envcheck import EnvCheckError
from minirl.rundir import RunDirectoryError
from minirl.signals import StopSignals, deferred
from minirl.train import NonFiniteError, SaveError, TrainingInterrupted

import fault_envs

HERE = os.path.dirname(os.path.abspath(__file__))
GRID = "minirl/GridWorld-v0"
SMALL_DQN = {"buffer_size": 2000, "batch_size": 16, "learning_starts": 100}


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]),
            "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _popen(args, script=None, **env):
    command = [sys.executable, "-c", script, *args] if script else \
        [sys.executable, "-m", "minirl", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**_env(), **env})


def _run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "minirl", *args], capture_output=True,
                          text=True, timeout=timeout, env=_env())


def _wait_for(condition, timeout=60, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _dqn_set():
    return [arg for key, value in SMALL_DQN.items() for arg in ("--set", f"{key}={value}")]


def _consistent(run):
    """The checkpoint's loop state and agent state describe the same step, and
    metrics.csv holds exactly the episodes the checkpoint recorded."""
    _, agent, loop = read_checkpoint(run)
    assert int(agent["extra.steps"]) == int(loop["step"])
    rows = (run / "metrics.csv").read_text().splitlines()[1:]
    assert len(rows) == len(loop["records"])
    return int(loop["step"])


# --- signals -----------------------------------------------------------------------------
@pytest.fixture
def saved_run(tmp_path):
    """A dqn run of 600 steps: the checkpoint a later, interrupted run starts from."""
    run = tmp_path / "run"
    minirl.train("dqn", "CartPole-v1", 600, seed=0, out=run, plot=False, **SMALL_DQN)
    return run


def _interrupt_during_save(run, phase, tmp_path):
    marker = tmp_path / "saving"
    before = (run / "checkpoint.npz").read_bytes()
    proc = _popen(["train", "dqn", "--steps", "1000000", "--out", str(run), "--resume",
                   "--checkpoint-every", "0", "--quiet"], script=fault_envs.SAVE_HOOK,
                  SAVE_PHASE=phase, SAVE_MARKER=str(marker))
    _wait_for(lambda: b'"steps": 1000000' in (run / "config.json").read_bytes(),
              what="the resumed run to start")
    proc.send_signal(signal.SIGINT)
    _wait_for(marker.exists, what="the save to begin")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not [p for p in run.iterdir() if p.name.startswith(".tmp-")]
    return before, err


def test_second_ctrl_c_while_writing_abandons_the_save_and_says_so(saved_run, tmp_path):
    before, err = _interrupt_during_save(saved_run, "write", tmp_path)
    assert "a second signal abandoned the save" in err
    assert "checkpoint.npz holds step 600" in err
    assert (saved_run / "checkpoint.npz").read_bytes() == before
    assert _consistent(saved_run) == 600


def test_second_ctrl_c_while_renaming_lets_the_save_finish(saved_run, tmp_path):
    before, err = _interrupt_during_save(saved_run, "rename", tmp_path)
    assert "checkpoint and metrics saved" in err
    assert (saved_run / "checkpoint.npz").read_bytes() != before
    step = _consistent(saved_run)
    assert f"at step {step}" in err and step > 600


def test_two_quick_signals_say_truthfully_what_is_on_disk(saved_run):
    """SIGTERM then SIGINT at once: the second lands in the step or in the save; either
    way what the message says is what the directory holds. (Python handles signals
    that are pending together in the order of their numbers, so either may count as
    the first: the status is 128 + that one.)"""
    proc = _popen(["train", "dqn", "--steps", "1000000", "--out", str(saved_run),
                   "--resume", "--checkpoint-every", "0", "--quiet"])
    _wait_for(lambda: b'"steps": 1000000' in (saved_run / "config.json").read_bytes())
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (130, 143), err
    step = _consistent(saved_run)
    if "saved in" in err:
        assert step > 600
    else:
        assert step == 600
        assert "holds step 600" in err or "no new checkpoint was written" in err, err


def test_sigterm_saves_and_exits_143_and_sigkill_resumes_exactly(tmp_path):
    """SIGTERM: the run is saved and the CLI exits 143. SIGKILL: nothing runs, but the
    periodic checkpoint is there, and resuming from it ends where a run never
    interrupted does, byte for byte."""
    run = tmp_path / "run"
    proc = _popen(["train", "qnet", "--env", GRID, "--steps", "1000000", "--seed", "4",
                   "--out", str(run), "--checkpoint-every", "0.2", "--quiet"])
    _wait_for((run / "checkpoint.npz").exists, what="a periodic checkpoint")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "stopped by SIGTERM" in err and "saved in" in err, err

    proc = _popen(["train", "qnet", "--steps", "1000000", "--out", str(run), "--resume",
                   "--checkpoint-every", "0.2", "--quiet"])
    first = int(read_checkpoint(run)[2]["step"])
    _wait_for(lambda: int(read_checkpoint(run)[2]["step"]) > first,
              what="a periodic checkpoint of the resumed run")
    proc.kill()
    proc.communicate()
    killed_at = int(read_checkpoint(run)[2]["step"])
    total = killed_at + 777  # mid-episode, most likely
    r = _run("train", "qnet", "--steps", str(total), "--out", str(run), "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    whole = minirl.train("qnet", GRID, total, seed=4, out=tmp_path / "whole", plot=False)
    assert (run / "metrics.csv").read_bytes() == (tmp_path / "whole" / "metrics.csv").read_bytes()
    resumed = minirl.load_agent(run)
    for key, value in whole.agent.qnet.state_dict().items():
        np.testing.assert_array_equal(value, resumed.qnet.state_dict()[key])


def test_a_ctrl_c_while_the_saved_run_exits_keeps_status_130(tmp_path):
    """Ctrl-C, the run is saved and the message printed; more Ctrl-Cs while the process
    exits must not turn status 130 into death by SIGINT (-2)."""
    run = tmp_path / "run"
    proc = _popen(["train", "qnet", "--env", GRID, "--steps", "1000000", "--out", str(run),
                   "--checkpoint-every", "0.2", "--quiet"])
    _wait_for((run / "checkpoint.npz").exists, what="a periodic checkpoint")
    proc.send_signal(signal.SIGINT)
    lines = []
    for line in proc.stderr:  # the message comes once the checkpoint is on disk
        lines.append(line)
        if "saved in" in line:
            break
    for _ in range(20):  # through the rest of the way out
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGINT)
        time.sleep(0.002)
    _, err = proc.communicate(timeout=60)
    err = "".join(lines) + err
    assert proc.returncode == 130, err
    assert "stopped by SIGINT" in err and "Traceback" not in err, err


def test_ctrl_c_before_training_starts_says_nothing_was_saved(tmp_path):
    """A Ctrl-C that lands before training (here: while the command line is read)
    saves nothing and says so: only a run that saved may claim a checkpoint."""
    script = ("import signal, sys, minirl.cli\n"
              "real = minirl.cli.parse_set\n"
              "def parse_set(items):\n"
              "    signal.raise_signal(signal.SIGINT)\n"
              "    return real(items)\n"
              "minirl.cli.parse_set = parse_set\n"
              "sys.exit(minirl.cli.main(sys.argv[1:]))\n")
    proc = _popen(["train", "qnet", "--env", GRID, "--steps", "100", "--out",
                   str(tmp_path / "r"), "--quiet"], script=script)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "before training started: nothing was saved" in err
    assert not (tmp_path / "r").exists()


def _children(pid):
    """The pids whose parent is ``pid`` (from /proc: no ps needed)."""
    children = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):  # it exited meanwhile
            continue
        if fields[1] == str(pid):
            children.append(int(entry))
    return children


def _alive(pid):  # a zombie (exited, not yet reaped) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("delay", [0.0, 0.045])
def test_a3c_survives_a_second_ctrl_c_at_any_moment(tmp_path, delay):
    """The reported crash: a second Ctrl-C 30-60 ms after the first, while A3C shuts
    down, segfaulted reading unmapped shared memory. Now: status 130, no segment in
    /dev/shm, no worker left, no leaked semaphore, and the message is true."""
    run = tmp_path / "run"
    proc = _popen(["train", "a3c", "--env", "minirl/Chain-v0", "--steps", "10000000",
                   "--out", str(run), "--checkpoint-every", "0", "--quiet"])
    prefix = f"minirl_a3c_{proc.pid}_"
    _wait_for(lambda: len(_children(proc.pid)) >= 2
              and any(n.startswith(prefix) for n in os.listdir("/dev/shm")),
              what="the workers")
    workers = _children(proc.pid)
    time.sleep(0.5)  # the workers import and start stepping
    proc.send_signal(signal.SIGINT)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "leaked" not in err, err
    assert not [n for n in os.listdir("/dev/shm") if n.startswith(prefix)]
    _wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=10,
              what="the workers to exit")
    if "saved in" in err:
        agent = minirl.load_agent(run)
        assert all(np.isfinite(v).all() for v in agent.net.state_dict().values())
    else:
        assert "no checkpoint" in err or "holds step" in err, err


def test_deferred_holds_signals_and_delivers_them_after():
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        with deferred():
            signal.raise_signal(signal.SIGINT)
            assert received == []  # held
        assert received == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_stop_signals_first_asks_second_raises():
    with StopSignals() as stop:
        signal.raise_signal(signal.SIGTERM)
        assert stop.requested == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# --- disks and directories ----------------------------------------------------------------
def _mount_tmpfs(path, options):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or 'not root'})")
    return path


@pytest.fixture
def small_disk(tmp_path):
    disk = _mount_tmpfs(tmp_path / "disk", "size=256k")
    yield disk
    subprocess.run(["umount", "-l", str(disk)])


def test_a_full_disk_keeps_the_previous_checkpoint_and_the_agent(small_disk):
    run = small_disk / "run"
    minirl.train("qnet", GRID, 300, seed=0, out=run, plot=False)
    before = (run / "checkpoint.npz").read_bytes()
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as f:  # fill the disk to the last block
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    os.truncate(filler, os.path.getsize(filler) - 8192)  # room for config.json alone
    r = _run("train", "qnet", "--steps", "600", "--out", str(run), "--resume", "--quiet")
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], r.stderr
    assert "checkpoint.npz holds step 300" in lines[0]
    assert (run / "checkpoint.npz").read_bytes() == before
    rescued = lines[0].split("saved to ")[1].split(" instead")[0]
    assert int(read_checkpoint(rescued)[2]["step"]) == 600  # the trained agent survives


def test_out_that_is_a_file_or_read_only_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    r = _run("train", "qnet", "--env", GRID, "--steps", "10", "--out", str(tmp_path / "file"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "is a file, not a directory" in r.stderr
    if os.geteuid() == 0:
        target = _mount_tmpfs(tmp_path / "ro", "size=64k,ro")
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o500)
    try:
        with pytest.raises(RunDirectoryError, match=f"cannot use {target}/run"):
            minirl.train("qnet", GRID, 10, out=target / "run")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(target)])


def test_one_run_per_directory_and_a_stale_lock_does_not_block(tmp_path):
    run = tmp_path / "run"
    first = _popen(["train", "qnet", "--env", GRID, "--steps", "1000000", "--out", str(run),
                    "--quiet"])
    _wait_for((run / "config.json").exists, what="the first run")
    config = (run / "config.json").read_bytes()
    second = _run("train", "qnet", "--env", GRID, "--steps", "10", "--out", str(run),
                  "--force", "--quiet")
    assert second.returncode == 2, second.stderr
    assert f"{run} is in use by another minirl run (pid {first.pid})" in second.stderr
    assert (run / "config.json").read_bytes() == config
    first.kill()  # no cleanup at all: the lock file stays, the lock goes with the process
    first.communicate()
    assert (run / ".lock").exists()
    result = minirl.train("qnet", GRID, 50, out=run, force=True, plot=False)
    assert result.records is not None


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        minirl.train("qnet", GRID, 50, out=tmp_path / "run")
    finally:
        os.umask(old)
    for name in ("config.json", "metrics.csv", "checkpoint.npz", "stats.csv", "curve.png"):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o644, name


# --- environments checked at the door ------------------------------------------------------
@pytest.mark.parametrize("env_id, message", [
    ("BareReset-v0", r"BareReset-v0: reset\(\) must return \(observation, info dict\)"),
    ("FourValueStep-v0", r"FourValueStep-v0: step\(\) must return \(observation, reward, "
                         r"terminated, truncated, info\)"),
    ("SquareObs-v0", r"SquareObs-v0: reset\(\) returned an observation of shape \(2, 2\); "
                     r"its observation space .* declares shape \(4,\)"),
    ("SixObs-v0", r"SixObs-v0: reset\(\) returned an observation of shape \(6,\)"),
    ("NaNReward-v0", r"NaNReward-v0: non-finite reward nan at step \d+"),
    ("InfObs-v0", r"InfObs-v0: non-finite observation .*inf.* at step \d+"),
])
@pytest.mark.parametrize("algo", ["dqn", "a2c"])
def test_a_broken_env_is_named_at_its_first_fault(env_id, message, algo):
    hparams = SMALL_DQN if algo == "dqn" else {}
    with pytest.raises(EnvCheckError, match=message):
        minirl.train(algo, env_id, 200, **hparams)


def test_the_a3c_door_check_names_the_env():
    with pytest.raises(EnvCheckError, match=r"SquareObs-v0: reset\(\) returned"):
        minirl.train("a3c", "SquareObs-v0", 200)


# The inf the env is let to pass makes NaN in the network's matmul: NumPy warns, as meant.
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_allow_nonfinite_lets_an_env_mean_it():
    """With the switch the env's inf passes the door; here the network then turns
    NaN, which stops training on its own check at the next stats row."""
    with pytest.raises(EnvCheckError, match="at step 3 "):
        minirl.train("qnet", "InfObs-v0", 30, plot=False)
    with pytest.raises(NonFiniteError, match="qnet: parameter .* is not finite at step 10"):
        minirl.train("qnet", "InfObs-v0", 30, allow_nonfinite=True, log_every=10,
                     plot=False)


def test_a_nan_parameter_stops_training_at_the_next_row(monkeypatch):
    """A NaN that reaches the parameters (here put there by hand at step 25) stops the
    run at the next stats row, naming the parameter."""
    from minirl.agents.qnet import QLearningAgent
    real = QLearningAgent.update

    def update(self, *transition):
        stats = real(self, *transition)
        self.steps_seen = getattr(self, "steps_seen", 0) + 1
        if self.steps_seen == 25:
            next(iter(self.modules().values())).parameters()[0].data[0] = np.nan
        return stats
    monkeypatch.setattr(QLearningAgent, "update", update)
    with pytest.raises(NonFiniteError, match=r"qnet: parameter .* is not finite at step 30"):
        minirl.train("qnet", GRID, 100, log_every=10, plot=False)


def test_a_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    """Rewards of 1e38 are finite, but their squared TD error is not: training stops
    there with an error, and the checkpoint on disk (taken at every step here) is the
    last one whose parameters were finite."""
    run = tmp_path / "run"
    with pytest.raises(NonFiniteError, match=r"qnet on HugeReward-v0: loss = inf at step "
                                             r"41; training stopped, .*holds step 40"):
        minirl.train("qnet", "HugeReward-v0", 1000, out=run, checkpoint_every=1e-9)
    _, agent, loop = read_checkpoint(run)
    assert int(loop["step"]) == 40
    assert all(np.isfinite(v).all() for k, v in agent.items() if k.startswith("module."))


# --- loading what minirl did not write --------------------------------------------------------
def test_loading_foreign_files_names_what_was_found(tmp_path):
    np.save(tmp_path / "weights.npy", np.ones(3))
    with pytest.raises(CheckpointError, match=r"weights.npy is a single NumPy array \(.npy\)"):
        minirl.load_agent(tmp_path / "weights.npy")
    (tmp_path / "listed").mkdir()
    (tmp_path / "listed" / "config.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="holds a JSON list, not the object minirl "
                                              "writes"):
        read_config(tmp_path / "listed")
    (tmp_path / "dir" / "config.json").mkdir(parents=True)
    (tmp_path / "dir" / "checkpoint.npz").mkdir()
    with pytest.raises(CheckpointError, match="config.json is a directory"):
        read_config(tmp_path / "dir")
    with pytest.raises(CheckpointError, match="checkpoint.npz is a directory"):
        minirl.load_agent(tmp_path / "dir")
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="truncated or foreign"):
        minirl.load_agent(text)


def test_a_checkpoint_of_another_algorithm_in_the_run_directory_is_refused(tmp_path):
    minirl.train("dqn", "CartPole-v1", 200, out=tmp_path / "d", plot=False, **SMALL_DQN)
    minirl.train("a2c", "CartPole-v1", 200, out=tmp_path / "a", plot=False)
    os.replace(tmp_path / "a" / "checkpoint.npz", tmp_path / "d" / "checkpoint.npz")
    with pytest.raises(CheckpointError, match="checkpoint.npz is a a2c run but config.json "
                                              "describes a dqn run"):
        minirl.train(None, None, 400, out=tmp_path / "d", resume=True)
    fake = dict(np.load(tmp_path / "d" / "checkpoint.npz"))  # the a2c agent's arrays ...
    fake["config"] = np.array(json.dumps(read_config(tmp_path / "d")))  # ... as a dqn
    np.savez(tmp_path / "mixed.npz", **fake)
    with pytest.raises(CheckpointError, match="does not fit a dqn agent"):
        minirl.load_agent(tmp_path / "mixed.npz")


def test_training_interrupted_is_a_keyboard_interrupt():
    assert issubclass(TrainingInterrupted, KeyboardInterrupt)
    assert issubclass(SaveError, OSError)
