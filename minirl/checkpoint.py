"""Checkpoints: one .npz of plain arrays, written atomically, read without pickle.

Layout of the file (every value an ndarray; text as a 0-d str array):

    format            "minirl-checkpoint-1"
    config            JSON: algorithm, seed, preset, hyperparameters, spaces (+ run info)
    agent.<key>       the agent's ``state_dict()``: parameters, optimizer state, counters,
                      replay contents, its random generator
    loop.<key>        the training loop's own state, when saved by ``minirl.train``

Writing goes to a temporary file in the same directory and is then renamed over the
target: a crash, a full disk or Ctrl-C mid-write leaves the previous checkpoint whole.
Several files saved together (checkpoint and metrics) are all written first and then
renamed one after the other with stop signals held, so they always describe the same
step. Files are created with the permissions the umask gives (0644 by default).
Reading uses ``allow_pickle=False``, so loading a file never runs code, and anything
that is not a file minirl wrote is a ``CheckpointError`` saying what was found.
"""
import json
import os
import secrets
import zipfile

import numpy as np

from minirl.signals import deferred

__all__ = ["FORMAT", "CheckpointError", "atomic_write", "atomic_write_all",
           "write_checkpoint", "checkpoint_arrays", "read_checkpoint", "read_config",
           "save_agent", "load_agent"]

FORMAT = "minirl-checkpoint-1"


class CheckpointError(ValueError):
    """A file that is not a readable minirl checkpoint (or run configuration)."""


def _temporary(path):
    """Create an empty file beside ``path`` with the umask's permissions."""
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".tmp-{secrets.token_hex(4)}-{name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    return fd, tmp


def _write_temporary(path, write):
    """``write(file)`` into a synced temporary file beside ``path``; its name."""
    fd, tmp = _temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:  # KeyboardInterrupt and a full disk too: leave nothing behind
        os.remove(tmp)
        raise
    return tmp


def atomic_write_all(files, then=None):
    """Write ``{path: write(file_object)}`` atomically and together.

    Every file goes to a temporary file first; only when all are written are they
    renamed into place, with SIGINT/SIGTERM held until the renames -- and ``then()``,
    the caller's note that they happened -- are done. An error or a signal before
    that leaves every old file as it was.
    """
    written = {}
    try:
        for path, write in files.items():
            written[os.fspath(path)] = _write_temporary(path, write)
    except BaseException:
        for tmp in written.values():
            os.remove(tmp)
        raise
    with deferred():
        for path, tmp in written.items():
            os.replace(tmp, path)  # atomic on POSIX and Windows
        if then is not None:
            then()


def atomic_write(path, write):
    """Call ``write(file_object)`` on a temporary file, then rename it to ``path``."""
    atomic_write_all({path: write})


def checkpoint_arrays(config, agent_state, loop_state=None):
    """The arrays of one checkpoint file (see the layout above)."""
    arrays = {"format": np.array(FORMAT), "config": np.array(json.dumps(config))}
    arrays.update({f"agent.{k}": v for k, v in agent_state.items()})
    arrays.update({f"loop.{k}": v for k, v in (loop_state or {}).items()})
    return arrays


def write_checkpoint(path, config, agent_state, loop_state=None):
    arrays = checkpoint_arrays(config, agent_state, loop_state)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _config_from_json(text, where):
    try:
        config = json.loads(text)
    except ValueError as error:
        raise CheckpointError(f"{where} is not JSON: {error}") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{where} holds a JSON {type(config).__name__}, not the "
                              f"object minirl writes (with 'algo', 'hparams', spaces)")
    missing = [k for k in ("algo", "seed", "hparams", "observation_space", "action_space")
               if k not in config]
    if missing:
        raise CheckpointError(f"{where} is not a minirl configuration: no "
                              f"{', '.join(map(repr, missing))}")
    return config


def read_config(run_dir):
    """A run directory's config.json as a dict; CheckpointError if it is not minirl's."""
    path = os.path.join(os.fspath(run_dir), "config.json")
    if os.path.isdir(path):
        raise CheckpointError(f"{path} is a directory, not a run's config file")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise CheckpointError(f"no config.json in {run_dir}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CheckpointError(f"cannot read {path}: {error}") from None
    return _config_from_json(text, path)


def read_checkpoint(path):
    """-> (config dict, agent state dict, loop state dict); CheckpointError if unreadable."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.npz")
        if os.path.isdir(path):
            raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error}") from None
    if magic == b"\x93NUMPY":
        raise CheckpointError(f"{path} is a single NumPy array (.npy), not a minirl "
                              f"checkpoint (.npz written by minirl)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError,
            AttributeError) as error:
        raise CheckpointError(f"{path} is not a readable minirl checkpoint "
                              f"(truncated or foreign file): {error}") from None
    if "format" not in arrays or str(arrays["format"]) != FORMAT:
        raise CheckpointError(f"{path} is not a minirl checkpoint "
                              f"(no '{FORMAT}' format marker)")
    config = _config_from_json(str(arrays["config"]), f"the config inside {path}")

    def part(prefix):
        return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    return config, part("agent."), part("loop.")


def save_agent(agent, path):
    write_checkpoint(path, agent.config(), agent.state_dict())


def load_agent(path):
    """Rebuild an agent from a checkpoint file or a run directory.

    The restored agent acts exactly as the saved one: ``act(obs, explore=False)`` gives
    identical actions.
    """
    from minirl.agents import agent_from_config
    config, state, _ = read_checkpoint(path)
    try:
        agent = agent_from_config(config)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: its configuration does not build an agent: "
                              f"{error}") from None
    try:
        agent.load_state_dict(state)
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{path}: checkpoint does not fit a {config.get('algo')} "
                              f"agent: {error}") from None
    return agent
