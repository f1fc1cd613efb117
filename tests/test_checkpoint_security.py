"""Loading never runs code, never allocates blindly, never blocks; --force deletes only
what minirl wrote; memory is bounded by what was used. Real processes and real files:
a module that leaves a marker when imported, zip bombs read under a memory ceiling, a
FIFO, a config nested 100,000 deep, an env whose frames are 1.8 MiB each and whose episode
never ends in time, SIGKILL in the middle of a save.
"""
import json
import os
import resource
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import minirl
from minirl import checkpoint
from minirl.checkpoint import CheckpointError, read_checkpoint, read_config, saved_env_id
from minirl.rundir import MARKER, RunDirectoryError

ROOT = Path(__file__).resolve().parents[1]
CEILING = 1536 * 2**20  # address space of a process that must not expand a bomb


def _run(args, cwd=None, path=(), ceiling=None, timeout=60, module=True):
    """``python -m minirl ARGS`` (or ``python ARGS``) in a fresh process; with
    ``ceiling``, its address space is capped (RLIMIT_AS) before it starts."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(ROOT), *map(str, path)])}

    def limit():
        if ceiling is not None:
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    return subprocess.run([sys.executable, *(["-m", "minirl"] if module else []), *args],
                          cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit)


def _one_line_error(result, code=2):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code and len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def saved(tmp_path):
    """A fresh DQN agent on CartPole saved as a checkpoint (no training needed)."""
    path = tmp_path / "agent.npz"
    minirl.make_agent("dqn", "CartPole-v1", seed=0).save(path)
    return path


def _rewrite(source, target, config=None, members=None):
    """A copy of checkpoint ``source`` with config keys and members replaced."""
    with np.load(source, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    saved_config = json.loads(str(arrays["config"]))
    arrays["config"] = np.array(json.dumps({**saved_config, **(config or {})}))
    arrays.update(members or {})
    np.savez(target, **arrays)
    return target


# --- an env id read from a file never imports ---------------------------------------
EVIL = "import pathlib\npathlib.Path('IMPORTED').write_text('evil.py ran')\n"


@pytest.mark.parametrize("env_id", ["evil:CartPole-v1", "this:CartPole-v1"])
def test_eval_never_imports_the_module_a_checkpoint_names(tmp_path, saved, env_id):
    (tmp_path / "evil.py").write_text(EVIL)
    _rewrite(saved, tmp_path / "run.npz", config={"env": env_id})
    r = _run(["eval", "run.npz", "--episodes", "1"], cwd=tmp_path)
    line = _one_line_error(r)
    assert not (tmp_path / "IMPORTED").exists()
    assert "Beautiful is better than ugly" not in r.stdout  # `this` prints the Zen
    assert f"--env {env_id}" in line and "never imports" in line


def test_env_ids_from_files_must_be_registered_and_plain():
    assert saved_env_id({"env": "CartPole-v1"}, "f") == "CartPole-v1"
    assert saved_env_id({"env": "minirl/GridWorld-v0"}, "f") == "minirl/GridWorld-v0"
    for env_id, words in [("mod:CartPole-v1", "would import the module 'mod'"),
                          ("Unheard-v0", "not registered"), (None, "names no env id"),
                          (["CartPole-v1"], "not an env id")]:
        with pytest.raises(CheckpointError, match=words):
            saved_env_id({"env": env_id}, "f")


def _main(args, capsys):
    """``minirl ARGS`` in this process: (exit status, stderr's one line)."""
    from minirl.cli import main
    status = main(args)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return status, err


def test_an_env_named_on_the_command_line_may_import_and_a_missing_module_is_one_line(
        saved, capsys):
    status, line = _main(["eval", str(saved), "--env", "nosuchmodule:CartPole-v1"], capsys)
    assert status == 2 and "No module named 'nosuchmodule'" in line


def test_eval_on_an_env_with_other_spaces_names_both(saved, capsys):
    status, line = _main(["eval", str(saved), "--env", "Acrobot-v1"], capsys)
    assert status == 2
    assert "Box(float32, (4,)) and actions Discrete(2)" in line
    assert "Acrobot-v1 has Box(float32, (6,)) and Discrete(3)" in line


# --- nothing is expanded before it is measured --------------------------------------
def _npy_header(shape, dtype="<f4"):
    buffer = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _zip_bomb(path, normal, name, header, zeros, stated_size=None):
    """A zip of the ``normal`` arrays plus member ``name``: ``header`` then ``zeros``
    zero bytes, deflated 1 MiB block by block (each block the same 1 KiB after a full
    flush), so a few MB of file expand to gigabytes. Its CRC is left 0: it would only
    be checked after everything was expanded."""
    entries = []
    for key, array in normal.items():
        buffer = __import__("io").BytesIO()
        np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
        raw = buffer.getvalue()
        deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        entries.append((f"{key}.npy", deflate.compress(raw) + deflate.flush(),
                        zlib.crc32(raw), len(raw)))
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflate.compress(header) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(bytes(2**20)) + deflate.flush(zlib.Z_FULL_FLUSH)
    blocks, rest = divmod(zeros, 2**20)
    tail = deflate.compress(bytes(rest)) + deflate.flush()
    entries.append((f"{name}.npy", [head, *[block] * blocks, tail], 0,
                    stated_size if stated_size is not None else len(header) + zeros))
    with open(path, "wb") as f:
        central = []
        for filename, data, crc, size in entries:
            chunks = data if isinstance(data, list) else [data]
            compressed = sum(map(len, chunks))
            central.append(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 8,
                                       0, 0x21, crc, compressed, size, len(filename), 0, 0,
                                       0, 0, 0, f.tell()) + filename.encode())
            f.write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 8, 0, 0x21, crc,
                                compressed, size, len(filename), 0) + filename.encode())
            for chunk in chunks:
                f.write(chunk)
        start = f.tell()
        f.write(b"".join(central))
        f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central),
                            f.tell() - start, start, 0))


def _normal_members(saved, **config):
    with np.load(saved, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "agent.extra.replay.obs"}
    arrays["config"] = np.array(json.dumps({**json.loads(str(arrays["config"])), **config}))
    return arrays


BOMB = 3_200_000_000  # bytes of zeros: 3.2 GB from about 3.3 MB of file
EVAL_EACH = """
import sys
from minirl.cli import main
for path in sys.argv[1:]:
    print(main(["eval", path]), file=sys.stderr, flush=True)
"""


def test_bombs_and_absurd_configs_are_refused_under_a_memory_ceiling(tmp_path, saved):
    """One process whose address space is capped at 1.5 GiB evaluates each file: it
    must refuse every one in a line, expanding and allocating nothing."""
    cases = []
    for name, shape, stated, words in [
            ("honest", (BOMB // 16, 4), None, r"at most 100,000 rows of \(4,\)"),
            ("lying", (10, 4), None, "expands to 3,200,000,"),  # header, directory disagree
            ("terabytes", (2**40, 4), 10**5, "declares a")]:    # 16 TiB declared, 100 kB said
        bomb = tmp_path / f"{name}.npz"
        _zip_bomb(bomb, _normal_members(saved), "agent.extra.replay.obs",
                  _npy_header(shape), BOMB, stated)
        assert bomb.stat().st_size < 5_000_000
        cases.append((bomb, "agent.extra.replay.obs.npy.*" + words))
    hparams = json.loads(str(np.load(saved)["config"]))["hparams"]
    for name, change in [("wide", {"hidden_sizes": [1_000_000, 1_000_000]}),
                         ("long", {"buffer_size": 10**12})]:
        path = _rewrite(saved, tmp_path / f"{name}.npz", config={"hparams": {**hparams,
                                                                             **change}})
        cases.append((path, "asks for about .* more than this machine's"))
    r = _run(["-c", EVAL_EACH, *[str(p) for p, _ in cases]], ceiling=CEILING, module=False)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 0 and len(lines) == 2 * len(cases), r.stderr
    for (path, words), line, status in zip(cases, lines[::2], lines[1::2]):
        assert status == "2" and line.startswith("minirl eval: error: ") and str(path) in line
        assert __import__("re").search(words, line), line


def test_an_archive_larger_than_half_the_memory_is_refused_by_its_directory(
        tmp_path, saved, monkeypatch):
    bomb = tmp_path / "bomb.npz"
    _zip_bomb(bomb, _normal_members(saved), "agent.extra.replay.obs",
              _npy_header((BOMB // 16, 4)), BOMB)
    monkeypatch.setattr(checkpoint, "memory_limit", lambda: 4 * 2**30)
    with pytest.raises(CheckpointError, match="would expand to 3.0 GiB, more than half"):
        read_checkpoint(bomb)


def test_a_fifo_named_checkpoint_npz_is_refused_at_once(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(run / "checkpoint.npz")
    started = time.monotonic()
    line = _one_line_error(_run(["eval", str(run)], timeout=30))
    assert "is a FIFO (named pipe), not a checkpoint file" in line
    assert time.monotonic() - started < 30
    os.mkfifo(tmp_path / "config.json")
    with pytest.raises(CheckpointError, match="FIFO"):
        read_config(tmp_path)


def test_deeply_nested_json_is_refused_without_recursion(tmp_path, saved):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match="nests JSON 100000 levels deep"):
        read_config(run)
    (run / "metrics.csv").write_text("step,episode,return,length\n1,1,1.0,1\n")
    assert "nests JSON" in _one_line_error(_run(["plot", str(run)]))
    nested = {"deep": json.loads("[" * 50 + "]" * 50)}
    path = _rewrite(saved, tmp_path / "nested.npz", config=nested)
    with pytest.raises(CheckpointError, match="nests JSON 51 levels deep"):
        read_checkpoint(path)


def test_foreign_files_are_named_for_what_they_are(tmp_path, saved):
    text = tmp_path / "notes.npz"
    text.write_text("hello, this is not an archive\n")
    line = _one_line_error(_run(["eval", str(text)]))
    assert "a text file, not an .npz archive" in line and "pickle" not in line
    objects = _rewrite(saved, tmp_path / "objects.npz",
                       members={"agent.extra.steps": np.array([object()], dtype=object)})
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        read_checkpoint(objects)
    stranger = _rewrite(saved, tmp_path / "stranger.npz",
                        members={"agent.extra.huge": np.zeros(2**18)})
    with pytest.raises(CheckpointError, match="array this agent does not have"):
        read_checkpoint(stranger)


def test_the_loops_records_are_bounded_by_the_steps_of_the_run(tmp_path):
    run = tmp_path / "run"
    minirl.train("qnet", "minirl/GridWorld-v0", 50, out=run, plot=False, eval_episodes=1)
    grown = _rewrite(run / "checkpoint.npz", tmp_path / "grown.npz",
                     members={"loop.records": np.zeros((10**5, 4))})
    with pytest.raises(CheckpointError, match=r"loop.records.npy: 3,200,000 bytes for a run "
                                              r"of 50 steps"):
        read_checkpoint(grown)
    strange = _rewrite(run / "checkpoint.npz", tmp_path / "strange.npz",
                       members={"extra": np.zeros(3)})
    with pytest.raises(CheckpointError, match="extra.npy: not part of a minirl checkpoint"):
        read_checkpoint(strange)


def test_a_gif_of_cartpole_prints_nothing_but_what_it_wrote(tmp_path, saved):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SDL_"))}
    r = subprocess.run([sys.executable, "-m", "minirl", "eval", str(saved), "--episodes", "1",
                        "--env", "CartPole-v1",
                        "--gif", str(tmp_path / "cartpole.gif")], capture_output=True,
                       text=True, timeout=300,
                       env={**env, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"})
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.startswith(f"wrote {tmp_path / 'cartpole.gif'}: episode 1 (seed 0)")


def test_every_algorithm_reads_back_through_the_checks(tmp_path):
    """The checks refuse nothing minirl writes: a trained run of a replay agent, an
    on-policy one and a continuous one load and act as saved."""
    for algo, env in [("rainbow", "CartPole-v1"), ("reinforce", "CartPole-v1"),
                      ("sac", "minirl/ContinuousIdentity-v0")]:
        run = tmp_path / algo
        result = minirl.train(algo, env, 300, out=run, plot=False, eval_episodes=1)
        loaded = minirl.load_agent(run)
        obs = np.zeros(loaded.encode.size, np.float32) + 0.1
        np.testing.assert_array_equal(loaded.act(obs, explore=False),
                                      result.agent.act(obs, explore=False))


# --- --force removes only what minirl wrote ------------------------------------------
def test_force_refuses_a_directory_minirl_did_not_mark_and_deletes_nothing(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.json").write_text('{"my": "settings"}')
    (project / "metrics.csv").write_text("my,own,data\n")
    with pytest.raises(RunDirectoryError, match=r"holds files minirl did not write there "
                                                r"\(config.json, metrics.csv\).*force=True"):
        minirl.train("qnet", "minirl/GridWorld-v0", 50, out=project, force=True)
    with pytest.raises(RunDirectoryError, match="pass resume=True to continue it or "
                                                "force=True"):
        minirl.train("qnet", "minirl/GridWorld-v0", 50, out=project)
    line = _one_line_error(_run(["train", "qnet", "--env", "minirl/GridWorld-v0", "--steps",
                                 "50", "--out", str(project), "--force"]))
    assert "--force deletes only a run minirl started" in line
    assert (project / "config.json").read_text() == '{"my": "settings"}'
    assert (project / "metrics.csv").read_text() == "my,own,data\n"


def test_force_clears_a_marked_run_but_never_a_file_beside_it(tmp_path):
    run = tmp_path / "run"
    minirl.train("qnet", "minirl/GridWorld-v0", 50, out=run, plot=False, eval_episodes=1)
    assert (run / MARKER).exists()
    (run / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match=r"not a minirl run's \(notes.txt\)"):
        minirl.train("qnet", "minirl/GridWorld-v0", 50, out=run, force=True)
    (run / "notes.txt").unlink()
    minirl.train("qnet", "minirl/GridWorld-v0", 60, out=run, force=True, plot=False,
                 eval_episodes=1)
    assert (run / MARKER).exists() and read_config(run)["steps"] == 60


# --- bounded by what was used -------------------------------------------------------------
def test_a_huge_replay_buffer_saves_what_it_holds(tmp_path):
    run = tmp_path / "run"
    minirl.train("dqn", "CartPole-v1", 500, out=run, buffer_size=10_000_000,
                 learning_starts=100, plot=False, eval_episodes=1)
    assert (run / "checkpoint.npz").stat().st_size < 500_000  # not 560 MB
    _, agent_state, _ = read_checkpoint(run)
    filled = int(agent_state["extra.replay.size"])
    assert 400 < filled <= 500 and agent_state["extra.replay.obs"].shape == (filled, 4)
    minirl.load_agent(run)


def test_a_killed_save_leaves_temporary_files_that_the_next_start_removes(tmp_path):
    """SIGKILL while a 6 MB checkpoint is being written (it saves at every step); the
    .tmp-* files stay behind, and the next run on the directory removes them."""
    run = tmp_path / "run"
    for _ in range(5):
        train = subprocess.Popen(
            [sys.executable, "-m", "minirl", "train", "dqn", "--env", "CartPole-v1",
             "--steps", "100000", "--out", str(run), "--quiet", "--force",
             "--checkpoint-every", "1e-9", "--set", "hidden_sizes=[512, 512]"],
            env={**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and train.poll() is None:
            if (run / "checkpoint.npz").exists() and any(
                    p.name.startswith(".tmp-") and p.name.endswith("checkpoint.npz")
                    for p in run.iterdir()):
                train.send_signal(signal.SIGKILL)
                break
            time.sleep(0.001)
        train.kill()
        train.wait()
        left = [p.name for p in run.iterdir() if p.name.startswith(".tmp-")]
        if left and (run / "checkpoint.npz").exists():
            break
    assert left, "no save was caught in the act in 5 tries"
    step = int(read_checkpoint(run)[2]["step"])
    r = _run(["train", "dqn", "--out", str(run), "--resume", "--steps", str(step + 20), "--quiet"])
    assert r.returncode == 0, r.stderr
    assert not [p.name for p in run.iterdir() if p.name.startswith(".tmp-")]


BIG_FRAMES = '''
import os
import numpy as np
import gymnasium as gym


class BigFrames(gym.Env):
    """Frames of 1.8 MiB, each a new array; an episode that lasts 3000 steps."""
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}
    observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode, self.t = render_mode, 0
        self.frame = np.zeros((1600, 400, 3), np.uint8)
        self.frame[::7] = 200

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        if os.environ.get("STARTED"):
            open(os.environ["STARTED"], "w").close()
        return np.zeros(4, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(4, np.float32), 0.0, False, self.t >= 3000, {}

    def render(self):
        frame = self.frame.copy()
        frame[self.t % 1600] = 255  # a line that moves: no two frames alike
        return frame


gym.register("BigFrames-v0", entry_point=BigFrames)
'''


@pytest.fixture
def big_frames(tmp_path):
    """(directory holding bigframes.py, a DQN checkpoint for its spaces)."""
    (tmp_path / "bigframes.py").write_text(BIG_FRAMES)
    namespace = {}
    exec(compile(BIG_FRAMES, "bigframes.py", "exec"), namespace)
    path = tmp_path / "agent.npz"
    minirl.make_agent("dqn", namespace["BigFrames"](), seed=0).save(path)
    return tmp_path, path


def test_gif_of_an_endless_episode_with_huge_frames_is_cut_within_memory(big_frames):
    where, agent = big_frames
    gif = where / "out.gif"
    r = _run(["eval", str(agent), "--env", "bigframes:BigFrames-v0", "--episodes", "1",
              "--gif", str(gif)], path=[where], ceiling=CEILING, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "XDG_RUNTIME_DIR" not in r.stderr
    frames = int(__import__("re").search(r"(\d+) frames \(cut at (\d+) steps: the frames "
                                         r"would pass 128 MiB\)", r.stdout).group(1))
    assert 100 < frames < 3001
    from PIL import Image
    with Image.open(gif) as image:
        assert image.size == (320, 1280) and image.n_frames > 50


def test_sigint_during_eval_says_nothing_of_training(big_frames):
    where, agent = big_frames
    started = where / "started"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(where)]),
           "OPENBLAS_NUM_THREADS": "1", "STARTED": str(started)}
    proc = subprocess.Popen([sys.executable, "-m", "minirl", "eval", str(agent), "--env",
                             "bigframes:BigFrames-v0", "--episodes", "1000"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.strip() == "minirl eval stopped by SIGINT: nothing written"


def test_sigint_during_plot_says_nothing_of_training(tmp_path, monkeypatch, capsys):
    from minirl import cli, plot
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("step,episode,return,length\n1,1,1.0,1\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(plot, "plot_runs", interrupted)
    assert cli.main(["plot", str(run)]) == 130
    assert capsys.readouterr().err.strip() == "minirl plot stopped by SIGINT: nothing written"


@pytest.mark.parametrize("args, words", [
    (["plot", "{missing}"], "is not a directory"),
    (["plot", "{run}", "--window", "-5"], "--window must be >= 1"),
    (["plot", "{run}", "--out", "{missing}/x.png"], "does not exist"),
    (["plot", "{run}", "--out", "{tmp}"], "is a directory; name a file in it"),
    (["plot", "{run}", "--out", "{tmp}/curve"], "needs a file extension: .png"),
    (["eval", "{agent}", "--seed", "-1"], "--seed must be an int"),
    (["eval", "{agent}", "--gif", "{missing}/x.gif"], "does not exist"),
    (["eval", "{agent}", "--gif", "{tmp}/x"], "needs a file extension: .gif"),
])
def test_every_plot_and_eval_argument_is_checked_before_work(tmp_path, saved, args, words):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("step,episode,return,length\n1,1,1.0,1\n")
    names = {"missing": tmp_path / "missing", "run": run, "tmp": tmp_path, "agent": saved}
    from minirl import cli
    with pytest.raises(ValueError, match=__import__("re").escape(words)):
        parsed = cli.build_parser().parse_args([a.format(**names) for a in args])
        {"plot": cli._check_plot_args, "eval": cli._check_eval_args}[args[0]](parsed)
    assert not (tmp_path / "missing").exists() and not (tmp_path / "curve.png").exists()


def test_a_renderer_that_fails_is_one_line_before_the_episode(tmp_path, saved):
    module = tmp_path / "badrender.py"
    module.write_text(BIG_FRAMES.replace("BigFrames-v0", "BadRender-v0").replace(
        "frame = self.frame.copy()", "raise RuntimeError('no renderer here')"))
    namespace = {}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    agent = tmp_path / "agent.npz"
    minirl.make_agent("dqn", namespace["BigFrames"](), seed=0).save(agent)
    r = _run(["eval", str(agent), "--env", "badrender:BadRender-v0", "--episodes", "1", "--gif",
              str(tmp_path / "x.gif")], path=[tmp_path])
    line = _one_line_error(r, code=1)
    assert "cannot render badrender:BadRender-v0 (rgb_array): RuntimeError: no renderer" \
        in line
    assert not (tmp_path / "x.gif").exists()
