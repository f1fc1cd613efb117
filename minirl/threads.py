"""One BLAS thread by default: small networks lose far more to thread hand-offs than
they gain.

A DQN layer is a (32 x 128) @ (128 x 128) product; OpenBLAS splits it over every core
it finds, and waking and joining those threads costs more than the product itself. On
a 2-core machine with other work running, 10k CartPole DQN steps took 30.5 s on
OpenBLAS's default threads and 4.4 s on one, with the same metrics.

So ``minirl.train``, ``minirl.evaluate`` and the ``minirl`` command run NumPy's BLAS on
one thread (``threadpoolctl``, made for exactly this), unless the user asks otherwise:

* ``MINIRL_NUM_THREADS=N`` sets the count (``0``: leave BLAS as it is);
* a thread count set the usual way (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``,
  ``MKL_NUM_THREADS``) is respected and left alone.
"""
import os

__all__ = ["blas_threads", "limit_blas_threads"]

_USUAL = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def blas_threads():
    """The BLAS thread count minirl asks for, or None to leave BLAS as it is."""
    value = os.environ.get("MINIRL_NUM_THREADS")
    if value is not None:
        try:
            n = int(value)
        except ValueError:
            raise ValueError(f"MINIRL_NUM_THREADS must be an int >= 0, got "
                             f"{value!r}") from None
        if n < 0:
            raise ValueError(f"MINIRL_NUM_THREADS must be an int >= 0, got {n}")
        return n or None
    if any(os.environ.get(name) for name in _USUAL):
        return None  # the user chose a count the usual way
    return 1


class _Unlimited:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def limit_blas_threads():
    """A context manager running NumPy's BLAS on ``blas_threads()`` threads."""
    n = blas_threads()
    if n is None:
        return _Unlimited()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=n, user_api="blas")


def blas_limited(function):
    """Decorate ``function`` to run under ``limit_blas_threads()``."""
    import functools

    @functools.wraps(function)
    def limited(*args, **kwargs):
        with limit_blas_threads():
            return function(*args, **kwargs)
    return limited
