"""Fixtures for every test module."""
import signal
import threading

import pytest

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@pytest.fixture(autouse=True)
def signal_handlers_restored():
    """A test that runs ``minirl.cli.main`` in this process and interrupts it leaves
    SIGINT and SIGTERM ignored, as the command does while its process exits; put the
    handlers back, so that later tests -- and the processes they start, which inherit
    an ignored signal -- see the defaults."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    yield
    for s, handler in saved.items():
        if signal.getsignal(s) is not handler and handler is not None:
            signal.signal(s, handler)
