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
Reading trusts nothing in the file until it has been measured, and runs no code:

* only a regular file is opened (a FIFO named checkpoint.npz is refused, never waited on);
* the configuration is read first, its JSON bounded in length and depth, and the memory
  it asks for (hidden sizes, buffer, spaces) checked against this machine's before any
  agent is built;
* every member's size in the zip directory and its .npy header (shape, dtype) are checked
  against the state of an agent built from that configuration -- a replay buffer holds no
  more rows than the run had steps, nor than its capacity -- before anything is expanded,
  so a zip bomb is refused at a few kilobytes read; ``allow_pickle=False`` throughout;
* an env id in the configuration is only a name: ``saved_env_id`` accepts it when it is
  registered and names no module (``"mod:Env-v0"`` would import ``mod``).

Anything else is a ``CheckpointError`` naming the file and what was wrong.
"""
import json
import math
import os
import re
import secrets
import stat
import zipfile
import zlib

import numpy as np

from minirl.signals import deferred

__all__ = ["FORMAT", "CheckpointError", "atomic_write", "atomic_write_all",
           "write_checkpoint", "checkpoint_arrays", "checkpoint_file", "read_checkpoint",
           "read_config", "read_json", "config_bytes", "memory_limit", "saved_env_id", "build_agent",
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


# --- reading: nothing is trusted until it has been measured ---------------------------
MAX_TEXT_CHARS = 1 << 20     # config.json or the config member: far beyond any real one
MAX_JSON_DEPTH = 32          # minirl's configs nest 3 deep
MAX_MEMBERS = 10_000         # arrays in one checkpoint (a DQN has about 50)
MAX_UNKNOWN_BYTES = 1 << 20  # an agent array this version does not know
MAX_CHARS = 1 << 16          # a text array: a generator's state, column names
LOOP_BYTES_PER_STEP = 1024   # the loop's records grow with steps, never faster than this
ROWS_WITHOUT_STEPS = 100_000  # rows of a growing array when the file says no step count
_KINDS = {"b": "bool", "i": "int", "u": "uint", "f": "float", "U": "text"}
_NPY_MAGIC, _ZIP_MAGICS = b"\x93NUMPY", (b"PK\x03\x04", b"PK\x05\x06")


def _open_regular(path, what):
    """Open ``path`` for reading, only if it is a regular file: (file, size).

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a
    writer, so a FIFO (or a device) is refused, never read from.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise CheckpointError(f"no {what} at {path}") from None
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else
                "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "a device or socket")
        raise CheckpointError(f"{path} is {kind}, not a {what} file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb"), info.st_size


def _json_depth(text):
    """How deeply ``[`` and ``{`` nest in JSON text (brackets inside strings skipped),
    counted without recursion so that no file can exhaust the stack."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", bare):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _bounded_json(text, where):
    """``json.loads(text)``, refused first if it is longer or deeper than any config."""
    if len(text) > MAX_TEXT_CHARS:
        raise CheckpointError(f"{where} is {len(text):,} characters long, more than any "
                              f"minirl configuration (at most {MAX_TEXT_CHARS:,})")
    depth = _json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise CheckpointError(f"{where} nests JSON {depth} levels deep; a minirl "
                              f"configuration nests at most {MAX_JSON_DEPTH}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{where} is not JSON: {error}") from None


def _checked_config(config, where):
    """``config`` if it is a JSON object with what minirl writes; CheckpointError if not."""
    if not isinstance(config, dict):
        raise CheckpointError(f"{where} holds a JSON {type(config).__name__}, not the "
                              f"object minirl writes (with 'algo', 'hparams', spaces)")
    missing = [k for k in ("algo", "seed", "hparams", "observation_space", "action_space")
               if k not in config]
    if missing:
        raise CheckpointError(f"{where} is not a minirl configuration: no "
                              f"{', '.join(map(repr, missing))}")
    if not all(isinstance(config[k], dict) for k in ("hparams", "observation_space",
                                                        "action_space")):
        raise CheckpointError(f"{where}: 'hparams' and the spaces must be JSON objects")
    return config


def _config_from_json(text, where):
    return _checked_config(_bounded_json(text, where), where)


def read_json(path):
    """A JSON file minirl wrote (config.json), read within bounds: a regular file, no
    longer and no deeper than a configuration can be. CheckpointError if not."""
    f, size = _open_regular(path, os.path.basename(path))
    with f:
        if size > 4 * MAX_TEXT_CHARS:
            raise CheckpointError(f"{path} is {size:,} bytes, more than any minirl "
                                  f"configuration")
        try:
            text = f.read(4 * MAX_TEXT_CHARS + 1).decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CheckpointError(f"cannot read {path}: {error}") from None
    return _bounded_json(text, path)


def read_config(run_dir):
    """A run directory's config.json as a dict; CheckpointError if it is not minirl's."""
    path = os.path.join(os.fspath(run_dir), "config.json")
    if not os.path.lexists(path):
        raise CheckpointError(f"no config.json in {run_dir}")
    return _checked_config(read_json(path), path)


# --- how much memory a configuration asks for, before anything is built ----------------
def _count(value):
    """A size from a file as an int (0 for what is not a finite number >= 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value) if 0 <= value < float("inf") else 0


def _space_size(space):
    """(elements, bytes per element) of an observation or action space's JSON."""
    if space.get("type") == "Discrete":
        return _count(space.get("n")), 8
    shape = space.get("shape")
    elements = math.prod(_count(d) for d in shape) if isinstance(shape, list) else 0
    try:
        itemsize = np.dtype(space.get("dtype", "float64")).itemsize
    except TypeError:
        itemsize = 8
    return elements, max(itemsize, 1)


def config_bytes(config):
    """An upper bound on the bytes an agent built from ``config`` allocates.

    The widest network any agent builds is an MLP through ``[obs] + hidden + [actions
    x atoms]``; with targets, twin critics, Adam's two moments and the gradients, no
    agent holds more than 24 such networks. The replay buffer (or rollout) holds
    ``buffer_size`` (``n_steps x num_envs``) rows of two observations and an action.
    """
    h = config["hparams"]
    obs, obs_bytes = _space_size(config["observation_space"])
    act, _ = _space_size(config["action_space"])
    hidden = h.get("hidden_sizes")
    if not isinstance(hidden, list):
        hidden = [h.get("hidden_size", 0)] * max(1, _count(h.get("hidden_layers", 2)))
    widths = [obs + act, *map(_count, hidden), act * max(1, _count(h.get("n_atoms", 1)))]
    params = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    rows = _count(h.get("buffer_size", 0)) + \
        _count(h.get("n_steps", 0)) * max(1, _count(h.get("num_envs", 1)))
    return 24 * 8 * params + rows * (2 * obs * obs_bytes + 8 * act + 32)


def memory_limit():
    """This machine's physical memory in bytes (64 GiB where it cannot be asked)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 64 << 30


def _gigabytes(n):
    return f"{n / 2**30:,.1f} GiB"


def _check_memory(config, where):
    needed, limit = config_bytes(config), memory_limit()
    if needed > limit:
        raise CheckpointError(f"{where} asks for about "
                              f"{_gigabytes(needed)} (hidden sizes, buffer, spaces), more "
                              f"than this machine's {_gigabytes(limit)}; refusing to build it")


def _expected_agent_arrays(config, where):
    """``{key: (shape, dtype)}`` of the state of a fresh agent built from ``config``."""
    from minirl.agents import agent_from_config
    _check_memory(config, where)
    try:
        state = agent_from_config(config).state_dict()
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise CheckpointError(f"{where}: its configuration does not build an agent: "
                              f"{error}") from None
    return {k: (np.shape(v), np.asarray(v).dtype) for k, v in state.items()}


# --- the archive: zip directory and .npy headers first, data last -----------------------
def _member_header(archive, info, path):
    """(shape, dtype) of one .npy member, read from its header alone; the member's size
    in the zip directory must be exactly what the header declares."""
    with archive.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version not in ((1, 0), (2, 0)):
            raise CheckpointError(f"{path}: member {info.filename} has .npy version "
                                  f"{version}, which minirl never writes")
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(fp)
        header_bytes = fp.tell()
    if dtype.hasobject or dtype.kind not in _KINDS:
        raise CheckpointError(f"{path}: member {info.filename} holds {dtype} data "
                              f"(pickled Python objects or records), which minirl never "
                              f"writes; it is not loaded")
    declared = header_bytes + math.prod(shape) * dtype.itemsize
    if info.file_size != declared:
        raise CheckpointError(f"{path}: member {info.filename} declares a {shape} {dtype} "
                              f"array ({declared:,} bytes) but the zip directory says it "
                              f"expands to {info.file_size:,} bytes")
    return tuple(shape), dtype


def _rows_bound(config):
    """The most rows a growing array (replay, an episode's memory) can hold: no more
    than the steps the run was given, nor than the buffer or one long episode."""
    ceiling = max(_count(config["hparams"].get("buffer_size", 0)), ROWS_WITHOUT_STEPS)
    steps = config.get("steps")
    return ceiling if steps is None else min(_count(steps) + 1, ceiling)


def _member_error(name, shape, dtype, expected, config):
    """What is wrong with member ``name`` of ``shape`` and ``dtype``, or None."""
    if dtype.kind == "U" and dtype.itemsize > 4 * MAX_CHARS * max(1, math.prod(shape)):
        return f"a text of {dtype.itemsize // 4:,} characters"
    nbytes = math.prod(shape) * dtype.itemsize
    if name.startswith("loop."):
        limit = 4096 + LOOP_BYTES_PER_STEP * (_count(config.get("steps", 0)) + 1)
        return None if nbytes <= limit else f"{nbytes:,} bytes for a run of " \
                                            f"{config.get('steps', 0)} steps"
    if not name.startswith("agent."):
        return "not part of a minirl checkpoint"
    if name[len("agent."):] not in expected:
        return None if nbytes <= MAX_UNKNOWN_BYTES else \
            f"{nbytes:,} bytes in an array this agent does not have"
    want_shape, want_dtype = expected[name[len("agent."):]]
    if dtype.kind != want_dtype.kind:
        return f"{_KINDS[dtype.kind]} data where the agent holds {_KINDS.get(want_dtype.kind)}"
    if dtype.kind == "U":
        return None if shape == want_shape else f"shape {shape}, expected {want_shape}"
    rows = max(want_shape[0], _rows_bound(config)) if want_shape else 0
    if len(shape) != len(want_shape) or shape[1:] != want_shape[1:] or \
            (shape and shape[0] > rows):
        return f"shape {shape}; the configuration implies at most {rows:,} rows of " \
               f"{want_shape[1:]}" if want_shape else f"shape {shape}, expected ()"
    return None


def _read_text_member(archive, info, path):
    """The 0-d text array ``info`` (format, config), its size checked first."""
    shape, dtype = _member_header(archive, info, path)
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * MAX_TEXT_CHARS:
        raise CheckpointError(f"{path}: member {info.filename} is a {shape} {dtype} array, "
                              f"not the text minirl writes")
    with archive.open(info) as fp:
        return str(np.lib.format.read_array(fp, allow_pickle=False))


def _read_archive(archive, path):
    """Every array of a checkpoint archive, each measured before it is expanded."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise CheckpointError(f"{path} holds {len(infos):,} members; a minirl checkpoint "
                              f"holds at most {MAX_MEMBERS:,}")
    total, limit = sum(info.file_size for info in infos), memory_limit() // 2
    if total > limit:
        raise CheckpointError(f"{path} would expand to {_gigabytes(total)}, more than "
                              f"half this machine's memory; it is not loaded")
    members = {info.filename[:-len(".npy")]: info for info in infos}
    if any(not info.filename.endswith(".npy") for info in infos) or \
            "format" not in members or "config" not in members or \
            _read_text_member(archive, members["format"], path) != FORMAT:
        raise CheckpointError(f"{path} is not a minirl checkpoint "
                              f"(no '{FORMAT}' format marker)")
    where = f"the config inside {path}"
    config = _config_from_json(_read_text_member(archive, members["config"], path), where)
    expected = _expected_agent_arrays(config, where)
    for name, info in members.items():
        if name not in ("format", "config"):
            shape, dtype = _member_header(archive, info, path)
            error = _member_error(name, shape, dtype, expected, config)
            if error:
                raise CheckpointError(f"{path}: checkpoint does not fit a {config['algo']} "
                                      f"agent: member {info.filename}: {error}")
    arrays = {}
    for name, info in members.items():
        with archive.open(info) as fp:
            arrays[name] = np.lib.format.read_array(fp, allow_pickle=False)
    return config, arrays


def _not_an_archive(path, start):
    """Words for a file that does not begin as an .npz (zip) archive does."""
    if start.startswith(_NPY_MAGIC):
        return (f"{path} is a single NumPy array (.npy), not a minirl checkpoint (.npz "
                f"written by minirl)")
    foreign = f"{path} is not a readable minirl checkpoint (truncated or foreign file)"
    if not start:
        return f"{foreign}: it is empty"
    text = start.decode("utf-8", errors="replace")
    if text.isprintable() or text.strip().isprintable():
        return f"{foreign}: a text file, not an .npz archive; it begins {text[:20]!r}"
    return f"{foreign}: not an .npz (zip) archive"


def checkpoint_file(path):
    """A checkpoint's path: ``path`` itself, or ``path/checkpoint.npz`` for a directory."""
    path = os.fspath(path)
    return os.path.join(path, "checkpoint.npz") if os.path.isdir(path) else path


def read_checkpoint(path):
    """-> (config dict, agent state dict, loop state dict); CheckpointError if unreadable.

    Nothing is expanded before it is measured: the file must be a regular file; the
    zip directory's sizes, every member's .npy header and the configuration's own
    memory needs are checked against what the configuration implies (and this
    machine's memory) before any array is read, and no array may hold Python objects.
    """
    path = checkpoint_file(path)
    f, _ = _open_regular(path, "checkpoint")
    with f:
        start = f.read(64)
        if not start.startswith(_ZIP_MAGICS):
            raise CheckpointError(_not_an_archive(path, start))
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as archive:
                config, arrays = _read_archive(archive, path)
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                KeyError, NotImplementedError, zlib.error) as error:
            raise CheckpointError(f"{path} is not a readable minirl checkpoint "
                                  f"(truncated or foreign file): {error}") from None

    def part(prefix):
        return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    return config, part("agent."), part("loop.")


def saved_env_id(config, where):
    """The env id a configuration names, if making it runs no code from the file.

    ``gymnasium.make("mod:Env-v0")`` imports ``mod`` first, so an id read from a file
    is used only when it is already registered and names no module; anything else is
    a CheckpointError saying how to name the env yourself.
    """
    from gymnasium.envs.registration import registry
    env_id = config.get("env")
    if env_id is None:
        raise CheckpointError(f"{where} names no env id; pass --env ID (env= in Python)")
    if not isinstance(env_id, str) or not env_id or len(env_id) > 200:
        raise CheckpointError(f"{where} names the env {str(env_id)[:60]!r}, which is not "
                              f"an env id; pass --env ID (env= in Python)")
    module, colon, _ = env_id.partition(":")
    if colon:
        raise CheckpointError(
            f"{where} names the env {env_id!r}, which would import the module {module!r}; "
            f"a checkpoint never imports code: if you trust that module, name the env "
            f"yourself with --env {env_id} (env= in Python)")
    if env_id not in registry:
        raise CheckpointError(
            f"{where} names the env {env_id!r}, which is not registered with gymnasium "
            f"(its package not imported?); name it yourself with --env ID (env= in Python)")
    return env_id


def build_agent(config, state, where):
    """The agent ``config`` describes, with ``state`` loaded; CheckpointError if not."""
    from minirl.agents import agent_from_config
    try:
        agent = agent_from_config(config)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise CheckpointError(f"{where}: its configuration does not build an agent: "
                              f"{error}") from None
    try:
        agent.load_state_dict(state)
    except (KeyError, ValueError, TypeError) as error:
        raise CheckpointError(f"{where}: checkpoint does not fit a {config.get('algo')} "
                              f"agent: {error}") from None
    return agent


def save_agent(agent, path):
    write_checkpoint(path, agent.config(), agent.state_dict())


def load_agent(path):
    """Rebuild an agent from a checkpoint file or a run directory.

    The restored agent acts exactly as the saved one: ``act(obs, explore=False)`` gives
    identical actions.
    """
    config, state, _ = read_checkpoint(path)
    return build_agent(config, state, checkpoint_file(path))
