"""Checkpoints: one .npz of plain arrays, written atomically, read without pickle.

Layout of the file (every value an ndarray; text as a 0-d str array):

    format            "minirl-checkpoint-1"
    config            JSON: algorithm, seed, preset, hyperparameters, spaces (+ run info)
    agent.<key>       the agent's ``state_dict()``: parameters, optimizer state, counters,
                      replay contents, its random generator
    loop.<key>        the training loop's own state, when saved by ``minirl.train``

Writing goes to a temporary file in the same directory and is then renamed over the
target: a crash or Ctrl-C mid-write leaves the previous checkpoint whole. Reading uses
``allow_pickle=False``, so loading a file never runs code.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["FORMAT", "CheckpointError", "atomic_write", "write_checkpoint",
           "read_checkpoint", "save_agent", "load_agent"]

FORMAT = "minirl-checkpoint-1"


class CheckpointError(ValueError):
    """A file that is not a readable minirl checkpoint."""


def atomic_write(path, write):
    """Call ``write(file_object)`` on a temporary file, then rename it to ``path``."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:  # KeyboardInterrupt too: never leave a half-written file
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_checkpoint(path, config, agent_state, loop_state=None):
    arrays = {"format": np.array(FORMAT), "config": np.array(json.dumps(config))}
    arrays.update({f"agent.{k}": v for k, v in agent_state.items()})
    arrays.update({f"loop.{k}": v for k, v in (loop_state or {}).items()})
    atomic_write(path, lambda f: np.savez(f, **arrays))


def read_checkpoint(path):
    """-> (config dict, agent state dict, loop state dict); CheckpointError if unreadable."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.npz")
    if not os.path.exists(path):
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as error:
        raise CheckpointError(f"{path} is not a readable minirl checkpoint "
                              f"(truncated or foreign file): {error}") from None
    if "format" not in arrays or str(arrays["format"]) != FORMAT:
        raise CheckpointError(f"{path} is not a minirl checkpoint "
                              f"(no '{FORMAT}' format marker)")
    config = json.loads(str(arrays["config"]))

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
    agent = agent_from_config(config)
    try:
        agent.load_state_dict(state)
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{path}: checkpoint does not fit a {config.get('algo')} "
                              f"agent: {error}") from None
    return agent
