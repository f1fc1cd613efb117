"""Statistics over seeds: the interquartile mean and its stratified bootstrap interval.

Agarwal, Schwarzer, Castro, Courville and Bellemare (2021), "Deep Reinforcement Learning
at the Edge of the Statistical Precipice" (NeurIPS), showed that a mean or median over
a handful of seeds misleads, and recommend instead

* the **interquartile mean** (IQM): the mean of the middle 50% of all runs' scores,
  robust to one lucky or broken seed yet using more of the data than the median;
* a **95% stratified bootstrap confidence interval** for it: resample the runs *of each
  task* with replacement (the strata), recompute the IQM, take percentiles;
* a **performance profile**: the fraction of runs whose score exceeds tau, for every tau.

Their library, ``rliable``, computes these with ``scipy.stats.trim_mean`` and the
``arch`` package's ``StratifiedBootstrap``. Here they are written out in NumPy, a few
lines each, so they can be read (and so the core needs neither scipy nor arch, which
pins old versions); ``tests/test_stats.py`` checks them by hand and against rliable
when it is installed. ``scores`` is an array ``(runs, tasks)``; one env is one task.
"""
import numpy as np

__all__ = ["iqm", "bootstrap_replicates", "stratified_bootstrap_ci", "performance_profile",
           "iqm_ci"]


def iqm(scores):
    """The interquartile mean: sort all scores, cut ``floor(n/4)`` from each end, average
    the rest (``scipy.stats.trim_mean(scores, 0.25, axis=None)``, rliable's ``aggregate_iqm``).

    For 10 scores the 2 lowest and 2 highest are cut and the middle 6 averaged.
    """
    values = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    n = values.size
    if n == 0:
        raise ValueError("iqm of no scores")
    cut = int(0.25 * n)
    return float(values[cut:n - cut].mean())


def _as_runs_by_tasks(scores):
    scores = np.asarray(scores, dtype=np.float64)
    return scores[:, None] if scores.ndim == 1 else scores


def bootstrap_replicates(scores, statistic=iqm, reps=2000, seed=0):
    """``statistic`` of ``reps`` stratified resamples of ``scores`` (runs, tasks): each
    draws, for every task (column) separately, as many runs as it has, with replacement
    (Agarwal et al. 2021, appendix A.2: the runs of one task are never mixed with
    another's). Seeded: the same scores give the same replicates."""
    scores = _as_runs_by_tasks(scores)
    rng = np.random.default_rng(seed)
    runs, tasks = scores.shape
    replicates = np.empty(reps)
    for r in range(reps):
        rows = rng.integers(runs, size=(runs, tasks))  # resampled runs, per task
        replicates[r] = statistic(np.take_along_axis(scores, rows, axis=0))
    return replicates


def stratified_bootstrap_ci(scores, statistic=iqm, reps=2000, confidence=0.95, seed=0):
    """The percentile bootstrap interval for ``statistic(scores)``: the (1-c)/2 and
    (1+c)/2 percentiles of the stratified replicates (Efron and Tibshirani 1993, ch. 13;
    rliable's default)."""
    replicates = bootstrap_replicates(scores, statistic, reps, seed)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(replicates, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def iqm_ci(scores, reps=2000, seed=0):
    """(IQM, low, high): the point estimate and its 95% stratified bootstrap interval."""
    return (iqm(scores), *stratified_bootstrap_ci(scores, iqm, reps=reps, seed=seed))


def performance_profile(scores, taus):
    """The fraction of runs with a score above each tau (Agarwal et al. 2021, eq. 1:
    F(tau) = 1/(N M) sum_m sum_n 1[x_{m,n} > tau])."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    return np.array([(scores > tau).mean() for tau in np.asarray(taus, dtype=np.float64)])
