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
  stale ``best.npz`` survives). Files that are not a run's are never deleted.
"""
import errno
import os

try:
    import fcntl
except ImportError:  # not POSIX: no lock, the rest works
    fcntl = None

__all__ = ["RUN_FILES", "RunDirectoryError", "RunDirectory"]

LOCK = ".lock"
RUN_FILES = ("config.json", "metrics.csv", "evaluations.csv", "stats.csv",
             "checkpoint.npz", "best.npz", "curve.png")


class RunDirectoryError(ValueError):
    """The run directory cannot be used: what is wrong, and with which path."""


class RunDirectory:
    def __init__(self, path):
        self.path = os.fspath(path)
        self.lock_fd = None

    def open(self):
        """Check the path is (or can be) a writable directory and take its lock."""
        path = self.path
        if os.path.exists(path) and not os.path.isdir(path):
            raise RunDirectoryError(f"--out {path} is a file, not a directory")
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
                    f"wait for it or choose another --out") from None
        os.ftruncate(self.lock_fd, 0)
        os.pwrite(self.lock_fd, f"{os.getpid()}\n".encode(), 0)

    def files(self):
        """Every name in the directory except the lock."""
        return sorted(name for name in os.listdir(self.path) if name != LOCK)

    def prepare(self, force):
        """Before a fresh run: refuse a directory in use by another run unless
        ``force``; with it, delete that run's files."""
        files = self.files()
        if not files:
            return
        if not force:
            raise RunDirectoryError(
                f"{self.path} already holds {'a run' if 'config.json' in files else 'files'}"
                f" ({', '.join(files[:5])}{', ...' if len(files) > 5 else ''}); pass "
                f"--resume to continue it or --force to start over")
        foreign = [n for n in files if n not in RUN_FILES and not n.startswith(".tmp-")]
        if foreign:
            raise RunDirectoryError(
                f"{self.path} holds files that are not a minirl run's "
                f"({', '.join(foreign[:5])}); --force deletes only a run's files: choose "
                f"another --out")
        for name in files:
            os.remove(os.path.join(self.path, name))

    def close(self):
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # releases the lock
            self.lock_fd = None
