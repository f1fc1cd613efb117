"""The run directory (``--out``): checked before training, one run at a time, never
mixed with another run's files.

* The path must be a directory we can write (or one we can create); otherwise a
  one-line error says what it is.
* A lock (``fcntl.flock`` on ``DIR/.lock``) is held for the whole run: a second run on
  the same directory fails at once, naming it and the process that holds it. The
  kernel drops the lock when its process dies, however it dies, so a lock file left
  by a killed run blocks nothing.
* A directory that holds a run is refused unless the run is resumed (``--resume``) or
  started over (``--force``, which first deletes every file of the old run, so no
  stale ``best.npz`` survives). ``--force`` deletes only what minirl wrote: a run
  minirl starts carries a marker file (``.minirl-run``); a directory without it, or
  with files that are not a run's, is refused, naming them, and nothing is deleted.
* Temporary files (``.tmp-*``) left by a save that was killed are removed when the
  next run takes the lock: holding it proves no other run is writing them.
"""
import contextvars
import errno
import os
import re

try:
    import fcntl
except ImportError:  # not POSIX: no lock, the rest works
    fcntl = None

__all__ = ["RUN_FILES", "MARKER", "RunDirectoryError", "RunDirectory",
           "use_command_line_spelling"]

LOCK = ".lock"
MARKER = ".minirl-run"
RUN_FILES = ("config.json", "metrics.csv", "evaluations.csv", "stats.csv",
             "checkpoint.npz", "best.npz", "curve.png")
# checkpoint._temporary's names: ".tmp-" 8 hex digits "-" the file it will replace
TEMPORARY = re.compile(r"\.tmp-[0-9a-f]{8}-(%s)" % "|".join(map(re.escape, RUN_FILES)))

# The options named in messages: minirl.train's arguments, or the command line's.
PYTHON_SPELLING = {"out": "out=", "resume": "resume=True", "force": "force=True"}
COMMAND_LINE_SPELLING = {"out": "--out ", "resume": "--resume", "force": "--force"}
_spelling = contextvars.ContextVar("spelling", default=PYTHON_SPELLING)


def use_command_line_spelling():
    """Name options as the command line does (``--force``) in this context's messages."""
    _spelling.set(COMMAND_LINE_SPELLING)


def _listed(names):
    return ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")


class RunDirectoryError(ValueError):
    """The run directory cannot be used: what is wrong, and with which path."""


class RunDirectory:
    def __init__(self, path):
        self.path = os.fspath(path)
        self.lock_fd = None

    def open(self):
        """Check the path is (or can be) a writable directory and take its lock."""
        path, word = self.path, _spelling.get()
        if os.path.exists(path) and not os.path.isdir(path):
            raise RunDirectoryError(f"{word['out']}{path} is a file, not a directory")
        try:
            os.makedirs(path, exist_ok=True)
            self.lock_fd = os.open(os.path.join(path, LOCK), os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise RunDirectoryError(f"cannot use {path} as a run directory: "
                                    f"{error.strerror}") from None
        if not os.access(path, os.W_OK):
            self.close()
            raise RunDirectoryError(f"cannot use {path} as a run directory: it is not "
                                    f"writable")
        if fcntl is not None:
            try:
                fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                holder = os.pread(self.lock_fd, 32, 0).decode(errors="replace").strip()
                self.close()
                raise RunDirectoryError(
                    f"{path} is in use by another minirl run (pid {holder or '?'}); "
                    f"wait for it or choose another {word['out'].strip(' =')}") from None
            self.remove_temporary_files()
        os.ftruncate(self.lock_fd, 0)
        os.pwrite(self.lock_fd, f"{os.getpid()}\n".encode(), 0)

    def remove_temporary_files(self):
        """Delete the ``.tmp-*`` files of a save that was killed (call with the lock)."""
        for name in os.listdir(self.path):
            if TEMPORARY.fullmatch(name):
                try:
                    os.remove(os.path.join(self.path, name))
                except FileNotFoundError:
                    pass

    def files(self):
        """Every name in the directory except the lock."""
        return sorted(name for name in os.listdir(self.path) if name != LOCK)

    def prepare(self, force):
        """Before a fresh run: refuse a directory that holds files unless ``force``;
        with it, delete the old run's files, only if minirl marked the directory as a
        run and every file in it is a run's. Then mark it."""
        files, word = self.files(), _spelling.get()
        if files and not force:
            raise RunDirectoryError(
                f"{self.path} already holds {'a run' if 'config.json' in files else 'files'}"
                f" ({_listed(files)}); pass {word['resume']} to continue it or "
                f"{word['force']} to start over")
        if files and MARKER not in files:
            raise RunDirectoryError(
                f"{self.path} holds files minirl did not write there ({_listed(files)}): "
                f"no {MARKER} marker; {word['force']} deletes only a run minirl started: "
                f"choose another {word['out'].strip(' =')} or remove them yourself")
        foreign = [n for n in files if n not in RUN_FILES and n != MARKER]
        if foreign:
            raise RunDirectoryError(
                f"{self.path} holds files that are not a minirl run's "
                f"({_listed(foreign)}); {word['force']} deletes only a run's files: choose "
                f"another {word['out'].strip(' =')}")
        for name in files:
            if name != MARKER:
                os.remove(os.path.join(self.path, name))
        self.mark()

    def mark(self):
        """Write the marker that says minirl runs here (what ``force`` may delete)."""
        with open(os.path.join(self.path, MARKER), "w", encoding="utf-8") as f:
            f.write("A minirl run directory: minirl train --force may delete its run files "
                    f"({', '.join(RUN_FILES)}).\n")

    def close(self):
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # releases the lock
            self.lock_fd = None
