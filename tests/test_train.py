"""The training harness: registry errors, truncation, checkpoints, resume, determinism, CLI."""
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest

import minirl
from minirl.checkpoint import CheckpointError, read_checkpoint
from minirl.cli import parse_set
from minirl.agents import agent_class, agent_from_config
from agent_checks import check_resume_ends_where_an_uninterrupted_run_does

GRID = "minirl/GridWorld-v0"


# --- registry -----------------------------------------------------------------------
def test_algorithms_lists_qnet_and_makes_it():
    assert "qnet" in minirl.algorithms()
    agent = minirl.make_agent("qnet", GRID, seed=0)
    assert agent.name == "qnet" and agent.q_values(0).shape == (4,)


def test_registry_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown algorithm 'nope'"):
        minirl.make_agent("nope", GRID)
    with pytest.raises(ValueError, match="Discrete action space.*Box"):
        minirl.make_agent("qnet", "Pendulum-v1")
    with pytest.raises(ValueError, match="no hyperparameter 'lerning_rate'.*valid names"):
        minirl.make_agent("qnet", GRID, lerning_rate=0.1)
    with pytest.raises(ValueError, match="gamma must be in"):
        minirl.make_agent("qnet", GRID, gamma=1.5)
    with pytest.raises(ValueError, match="lr must be > 0"):
        minirl.make_agent("qnet", GRID, lr=0.0)
    with pytest.raises(ValueError, match="qnet: lr must be a finite number > 0, got nan"):
        minirl.make_agent("qnet", GRID, lr=float("nan"))
    with pytest.raises(ValueError, match="qnet: lr must be a finite number > 0, got 'fast'"):
        minirl.make_agent("qnet", GRID, lr="fast")
    assert minirl.make_agent("qnet", GRID, gamma=1.0).hparams["gamma"] == 1.0  # [0, 1]
    with pytest.raises(ValueError, match="epsilon"):
        minirl.make_agent("qnet", GRID, epsilon=-0.1)
    with pytest.raises(ValueError, match="no preset 'fast'"):
        minirl.make_agent("qnet", GRID, preset="fast")
    with pytest.raises(ValueError, match="cannot make environment 'NoSuchEnv-v9'"):
        minirl.train("qnet", "NoSuchEnv-v9", 10)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        minirl.train("qnet", GRID, 0)


def test_errors_name_the_algorithm_asked_for_not_its_class():
    """c51, rainbow and double-dqn are one class, DQNAgent: an error names the one the
    user asked for, through make_agent (which the CLI calls) and a saved config."""
    with pytest.raises(ValueError, match="^c51 needs a Discrete action space"):
        minirl.make_agent("c51", "Pendulum-v1")
    with pytest.raises(ValueError, match="^rainbow has no hyperparameter 'foo'"):
        minirl.make_agent("rainbow", "CartPole-v1", foo=1)
    with pytest.raises(ValueError, match="^double-dqn has no preset 'fast'"):
        minirl.make_agent("double-dqn", "CartPole-v1", preset="fast")
    with pytest.raises(ValueError, match="^per-dqn: lr must be > 0"):
        minirl.make_agent("per-dqn", "CartPole-v1", lr=-1.0)
    agent = minirl.make_agent("dueling-dqn", "CartPole-v1")
    config = agent.config()
    assert agent_from_config(config).name == "dueling-dqn"
    config["hparams"]["lr"] = 0.0
    with pytest.raises(ValueError, match="^dueling-dqn: lr must be > 0"):
        agent_from_config(config)
    assert agent_class("noisy-dqn").name == "dqn"  # the class keeps its own


# --- terminated vs truncated ----------------------------------------------------------
class TruncationAsTermination(gym.Wrapper):
    """The classic mistake, on purpose: a time limit reported as a terminal state."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated or truncated, False, info


def _learned_value(env, steps=4000):
    result = minirl.train("qnet", env, steps, seed=0, gamma=0.9, lr=0.01, epsilon=0.0,
                          hidden_size=16)
    return float(result.agent.q_values(np.array([1.0], np.float32)).max())


def test_truncation_bootstraps_and_termination_does_not():
    """Reward 1 forever, cut at 50 steps by TimeLimit: V(s0) = 1 / (1 - gamma) = 10.

    Treated as termination, the same observation sometimes 'ends' (target 1 instead of
    1 + gamma Q), which drags the estimate well below 10 (the averaged fixed point is
    1 / (1 - gamma (1 - 1/50)) ~ 8.47, and each 'terminal' update pulls it lower still).
    """
    gamma = 0.9
    right = _learned_value(gym.make("minirl/InfiniteHorizon-v0"))
    wrong = _learned_value(TruncationAsTermination(gym.make("minirl/InfiniteHorizon-v0")))
    assert abs(right - 1 / (1 - gamma)) < 0.3, right
    assert wrong < 1 / (1 - gamma * (1 - 1 / 50)) + 0.3, wrong
    assert right - wrong > 1.0


# --- checkpoints ----------------------------------------------------------------------
def test_a_checkpoint_saved_before_a_hyperparameter_existed_loads_with_its_plain_default(
        tmp_path):
    """A checkpoint written before a hyperparameter was added has no key for it; it must
    load with the plain default, which is how it was trained, even where the agent's
    preset now sets another value (c51's preset sets epsilon_end 0.1, the default 0.04)."""
    from minirl.checkpoint import write_checkpoint
    agent = minirl.make_agent("c51", "CartPole-v1", seed=1)
    assert agent.hparams["epsilon_end"] == 0.1
    path = tmp_path / "agent.npz"
    agent.save(path)
    config, state, _ = read_checkpoint(path)
    del config["hparams"]["epsilon_end"]  # as if saved before epsilon_end existed
    write_checkpoint(path, config, state)
    old = minirl.load_agent(path)
    assert old.hparams["epsilon_end"] == 0.04
    assert all(old.hparams[k] == v for k, v in config["hparams"].items())  # the rest kept
    obs = np.array([0.01, -0.02, 0.03, 0.04], np.float32)
    np.testing.assert_array_equal(old.q_values(obs), agent.q_values(obs))


def test_save_and_load_agent_acts_identically(tmp_path):
    agent = minirl.train("qnet", GRID, 1500, seed=3).agent
    path = tmp_path / "agent.npz"
    agent.save(path)
    loaded = minirl.load_agent(path)
    assert type(loaded) is type(agent) and loaded.hparams == agent.hparams
    for s in range(12):
        assert loaded.act(s, explore=False) == agent.act(s, explore=False)
        np.testing.assert_array_equal(loaded.q_values(s), agent.q_values(s))


def test_corrupt_or_foreign_file_gives_clear_error_and_overwrites_nothing(tmp_path):
    agent = minirl.make_agent("qnet", GRID, seed=0)
    good = tmp_path / "good.npz"
    agent.save(good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or foreign"):
        minirl.load_agent(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(3))
    with pytest.raises(CheckpointError, match="not a minirl checkpoint"):
        minirl.load_agent(foreign)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        minirl.load_agent(tmp_path / "missing.npz")
    assert good.read_bytes() == data


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    agent = minirl.make_agent("qnet", GRID, seed=0)
    path = tmp_path / "agent.npz"
    agent.save(path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C in the middle of writing

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(KeyboardInterrupt):
        agent.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["agent.npz"]  # no temp file left


def test_loading_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, format=np.array("minirl-checkpoint-1"), config=np.array("{}"),
             payload=np.array([object()], dtype=object))
    with pytest.raises(CheckpointError):
        read_checkpoint(path)


# --- determinism and resume -------------------------------------------------------------
def test_same_seed_same_metrics_byte_for_byte(tmp_path):
    minirl.train("qnet", GRID, 2000, seed=5, out=tmp_path / "a", plot=False)
    minirl.train("qnet", GRID, 2000, seed=5, out=tmp_path / "b", plot=False)
    minirl.train("qnet", GRID, 2000, seed=6, out=tmp_path / "c", plot=False)
    a = (tmp_path / "a" / "metrics.csv").read_bytes()
    assert a == (tmp_path / "b" / "metrics.csv").read_bytes()
    assert a != (tmp_path / "c" / "metrics.csv").read_bytes()
    assert a.startswith(b"step,episode,return,length\n")


def test_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    # Stop at 1234 steps -- mid-episode -- then continue to 3000.
    check_resume_ends_where_an_uninterrupted_run_does(
        tmp_path, "qnet", GRID, 3000, 1234, eval_every=1000, eval_episodes=2)
    assert ((tmp_path / "whole" / "evaluations.csv").read_bytes()
            == (tmp_path / "part" / "evaluations.csv").read_bytes())
    # best.npz holds the agent of the first evaluation with the highest mean return.
    evals = np.loadtxt(tmp_path / "whole" / "evaluations.csv", delimiter=",", skiprows=1)
    best_step = int(evals[np.argmax(evals[:, 1]), 0])
    best = minirl.train("qnet", GRID, best_step, seed=1, plot=False).agent
    saved = minirl.load_agent(tmp_path / "whole" / "best.npz")
    for p, q in zip(best.qnet.parameters(), saved.qnet.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(ValueError, match="resume continues the saved configuration"):
        minirl.train("qnet", None, 4000, out=tmp_path / "part", resume=True, lr=0.5)
    with pytest.raises(ValueError, match="resume continues the saved configuration"):
        minirl.resume(tmp_path / "part", 4000, lr=0.5)


@pytest.mark.parametrize("name, env, hparams", [
    ("a2c", "CartPole-v1", {"num_envs": 3, "n_steps": 4}),  # where the actions move the env
    ("ppo", "minirl/Identity-v0", {"num_envs": 3, "n_steps": 8, "hidden_sizes": (8,)}),
    ("ppo", "minirl/Identity-v0", {"num_envs": 2, "n_steps": 8, "hidden_sizes": (8,),
                                   "async_envs": True}),
])
def test_a_resumed_vector_run_ends_where_an_uninterrupted_one_does(tmp_path, name, env,
                                                                   hparams):
    """Each env's episode in flight is saved with its seed and actions and replayed in
    that env (in its own process with async_envs): nothing is cut."""
    check_resume_ends_where_an_uninterrupted_run_does(tmp_path, name, env, 240, 111,
                                                      **hparams)


def test_resume_takes_the_saved_total_and_refuses_fewer_steps(tmp_path):
    minirl.train("qnet", GRID, 300, seed=2, out=tmp_path, plot=False)
    with pytest.raises(ValueError, match="already at step 300; cannot resume it to 200"):
        minirl.resume(tmp_path, 200)
    assert read_checkpoint(tmp_path)[2]["step"] == 300  # nothing was written
    assert minirl.resume(tmp_path).records == minirl.train("qnet", GRID, 300, seed=2).records
    result = minirl.resume(tmp_path, 500, eval_every=250, eval_episodes=1, plot=False)
    assert result.records[-1][0] <= 500 and [e[0] for e in result.evaluations] == [500]


class CtrlCAt(gym.Wrapper):
    """Delivers a real SIGINT to this process at a given environment step."""

    def __init__(self, env, at):
        super().__init__(env)
        self.at, self.count = at, 0

    def step(self, action):
        self.count += 1
        if self.count == self.at:
            signal.raise_signal(signal.SIGINT)
        return self.env.step(action)


def test_ctrl_c_saves_a_consistent_checkpoint_that_resumes_exactly(tmp_path):
    full = minirl.train("qnet", GRID, 2500, seed=2, out=tmp_path / "full", plot=False)
    env = CtrlCAt(gym.make(GRID), at=1111)
    with pytest.raises(KeyboardInterrupt):
        minirl.train("qnet", env, 2500, seed=2, out=tmp_path / "cut", plot=False)
    config, _, loop = read_checkpoint(tmp_path / "cut")
    assert int(loop["step"]) == 1111  # the step in flight was finished, then saved
    resumed = minirl.train("qnet", GRID, 2500, out=tmp_path / "cut", resume=True,
                           plot=False)
    assert ((tmp_path / "full" / "metrics.csv").read_bytes()
            == (tmp_path / "cut" / "metrics.csv").read_bytes())
    for p, q in zip(full.agent.qnet.parameters(), resumed.agent.qnet.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_evaluate_and_stop_return():
    result = minirl.train("qnet", GRID, 20000, seed=0, eval_every=500, eval_episodes=3,
                          stop_return=1.0)
    assert result.evaluations and result.evaluations[-1][1] >= 1.0
    assert result.evaluations[-1][0] < 20000  # stopped early
    mean, std = minirl.evaluate(result.agent, GRID, episodes=3, seed=0)
    assert mean == 1.0 and std == 0.0  # greedy path to the goal, as the book's optimum


# --- CLI -----------------------------------------------------------------------------
def test_parse_set():
    assert parse_set(["lr=1e-3", "double=true", "sizes=[64, 64]", "loss=huber",
                      "n-step=3"]) == {"lr": 1e-3, "double": True, "sizes": [64, 64],
                                       "loss": "huber", "n_step": 3}
    with pytest.raises(ValueError, match="key=value"):
        parse_set(["lr"])


def _cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "minirl", *args], capture_output=True,
                          text=True, timeout=120, **kwargs)


def test_cli_end_to_end(tmp_path):
    run = tmp_path / "g"
    r = _cli("train", "qnet", "--env", GRID, "--steps", "3000", "--seed", "0",
             "--out", str(run), "--set", "epsilon=0.2", "--quiet")
    assert r.returncode == 0, r.stderr
    for name in ("config.json", "metrics.csv", "evaluations.csv", "checkpoint.npz",
                 "curve.png"):
        assert (run / name).stat().st_size > 0, name
    r = _cli("eval", str(run), "--episodes", "3")
    assert r.returncode == 0 and "greedy return" in r.stdout, r.stderr
    r = _cli("plot", str(run), "--out", str(tmp_path / "c.png"))
    assert r.returncode == 0 and (tmp_path / "c.png").stat().st_size > 0, r.stderr
    r = _cli("algos")
    assert r.returncode == 0 and "qnet" in r.stdout
    r = _cli("train", "qnet", "--env", GRID, "--steps", "10", "--set", "gama=0.9")
    assert r.returncode == 2 and "no hyperparameter 'gama'" in r.stderr
    r = _cli("eval", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "no checkpoint" in r.stderr


def test_cli_ctrl_c_saves_and_exits_130(tmp_path):
    run = tmp_path / "long"
    proc = subprocess.Popen([sys.executable, "-m", "minirl", "train", "qnet", "--env", GRID,
                             "--steps", "10000000", "--out", str(run), "--quiet",
                             "--checkpoint-every", "0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (run / "checkpoint.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # until the first periodic checkpoint: it has taken steps
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopped by SIGINT at step" in err and "saved in" in err
    _, _, loop = read_checkpoint(run)
    assert int(loop["step"]) > 0
    lines = (run / "metrics.csv").read_text().splitlines()
    assert lines[0] == "step,episode,return,length" and len(lines) == len(loop["records"]) + 1


def test_stats_are_the_mean_of_what_update_returned_since_the_last_row(tmp_path,
                                                                        monkeypatch):
    """update() returns loss = its own call number here: the row at step 10 holds the
    mean of 1..10, the row at step 20 the mean of 11..20; a figure first returned
    later gets its column then, empty before."""
    from minirl.agents.qnet import QLearningAgent
    calls = []

    def update(self, *transition):
        calls.append(len(calls) + 1)
        n = calls[-1]
        return {"loss": float(n), **({"late": 2.0 * n} if n > 10 else {})}
    monkeypatch.setattr(QLearningAgent, "update", update)
    minirl.train("qnet", GRID, 25, out=tmp_path, log_every=10, plot=False)
    rows = [line.split(",") for line in (tmp_path / "stats.csv").read_text().splitlines()]
    assert rows[0] == ["step", "time", "sps", "loss", "late"]
    assert [r[0] for r in rows[1:]] == ["10", "20"]
    assert float(rows[1][3]) == np.mean(range(1, 11)) and rows[1][4] == ""
    assert float(rows[2][3]) == np.mean(range(11, 21))
    assert float(rows[2][4]) == 2 * np.mean(range(11, 21))
    assert float(rows[2][1]) >= float(rows[1][1]) >= 0 and float(rows[1][2]) > 0


def test_loop_settings_are_checked_and_named():
    for kwargs, message in [({"eval_episodes": 0}, "eval_episodes must be a positive int"),
                            ({"eval_every": 2.5}, "eval_every must be a positive int"),
                            ({"checkpoint_every": -1}, "checkpoint_every must be a number "
                                                       "of seconds >= 0"),
                            ({"stop_return": float("nan")}, "stop_return must be a finite"),
                            ({"log_every": 0}, "log_every must be a positive int")]:
        with pytest.raises(ValueError, match=message):
            minirl.train("qnet", GRID, 10, **kwargs)
    with pytest.raises(ValueError, match="episodes must be an int >= 1, got 0"):
        minirl.evaluate(minirl.make_agent("qnet", GRID), GRID, episodes=0)
