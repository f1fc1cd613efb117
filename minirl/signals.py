"""Ctrl-C and SIGTERM: how a run stops without losing or mixing its state.

A training step changes the agent and the loop's counters together; a checkpoint
taken half-way through one would not resume exactly. So while training:

* the first SIGINT (Ctrl-C) or SIGTERM (a closed terminal, a job scheduler) only asks
  the loop to stop: the step in flight finishes, the checkpoint is saved, and the
  process exits with 128 + the signal number (130, 143);
* a second one stops at once *without* saving, so whatever checkpoint is on disk
  stays as it was (the loop says which step it holds);
* code that must run to its end -- renaming a saved checkpoint into place, stopping
  worker processes and copying their shared memory out -- runs inside ``deferred()``:
  a signal arriving there is handled as soon as the block ends.

Only the main thread may install signal handlers; elsewhere these helpers do nothing.
"""
import signal
import threading
from contextlib import contextmanager

__all__ = ["STOP_SIGNALS", "Interrupted", "TrainingInterrupted", "StopSignals", "deferred", "blocked_in_children",
           "exit_status"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """Raised by a stop signal; ``signum`` says which (SIGINT or SIGTERM)."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class TrainingInterrupted(Interrupted):
    """Training stopped by SIGINT or SIGTERM. ``saved``: whether this stop saved a
    checkpoint; ``checkpoint_step``: the step the checkpoint on disk holds (None: no
    checkpoint); ``result``: the TrainResult so far. ``str()`` says all of it."""

    def __init__(self, signum, message, saved, checkpoint_step, result):
        super().__init__(signum)
        self.args = (message,)
        self.saved, self.checkpoint_step, self.result = saved, checkpoint_step, result


def exit_status(signum):
    """The shell's convention: killed by signal N -> status 128 + N."""
    return 128 + int(signum)


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()


class StopSignals:
    """Installed around a training loop: records SIGINT/SIGTERM in ``received``.

    The loop polls ``requested`` at each step boundary. The first signal raises
    ``Interrupted`` only while ``interruptible`` is set (the loop waits on worker
    processes and holds no half-made state); a second one raises at once.
    """

    def __init__(self):
        self.received = []
        self.interruptible = False
        self.armed = True  # raise at most once until re-armed: cleanup after it runs
        self._previous = {}

    @property
    def requested(self):
        """The first signal received (a number), or None."""
        return self.received[0] if self.received else None

    def handle(self, signum, frame):
        self.received.append(signum)
        if self.armed and (len(self.received) > 1 or self.interruptible):
            self.armed = False
            raise Interrupted(signum)

    def __enter__(self):
        self._depth = getattr(self, "_depth", 0) + 1  # entered again: already installed
        if self._depth == 1 and _in_main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self.handle)
        return self

    def __exit__(self, *exc_info):
        self._depth -= 1
        if self._depth == 0:
            for signum, previous in self._previous.items():
                signal.signal(signum, previous)
            self._previous = {}


class deferred:
    """``with deferred():`` holds SIGINT and SIGTERM until the block ends, then
    delivers them to the handlers installed before (which may raise there, after the
    block's work is done). Inside, ``with block.released():`` puts those handlers
    back for a stretch that may be interrupted (waiting on workers)."""

    def __init__(self):
        self.held, self.previous = [], {}

    def _hold(self, signum, frame):
        self.held.append(signum)

    def _install(self, handlers):
        for signum, handler in handlers.items():
            signal.signal(signum, handler)

    def __enter__(self):
        if _in_main_thread():
            self.previous = {signum: signal.signal(signum, self._hold)
                             for signum in STOP_SIGNALS}
        return self

    def __exit__(self, *exc_info):
        self._install(self.previous)
        held, self.held = self.held, []
        for signum in held:
            signal.raise_signal(signum)

    @contextmanager
    def released(self):
        self._install(self.previous)
        try:
            yield
        finally:
            self._install({signum: self._hold for signum in self.previous})


@contextmanager
def blocked_in_children(signums=(signal.SIGINT,)):
    """Processes started inside this block begin life with ``signums`` blocked.

    A child inherits its parent's signal mask through fork and exec, so it cannot be
    killed by a Ctrl-C that reaches it during its imports, before it could install
    a handler. The parent misses nothing: a signal that arrives meanwhile stays
    pending and is delivered when the block ends (or to another thread at once).
    """
    if not _in_main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
