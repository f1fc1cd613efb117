"""The interquartile mean, the stratified bootstrap and the performance profile, each
against a computation by hand (Agarwal et al. 2021)."""
import itertools

import numpy as np
import pytest

from minirl.stats import (bootstrap_replicates, iqm, iqm_ci, performance_profile,
                          stratified_bootstrap_ci)


def test_iqm_cuts_a_quarter_from_each_end():
    # sorted: 1 1 2 3 4 5 6 9; floor(8/4) = 2 cut from each end -> (2+3+4+5)/4
    assert iqm([3, 1, 4, 1, 5, 9, 2, 6]) == 3.5
    # 10 scores (0-10 without 5): 0, 1 and 9, 10 go -> (2+3+4+6+7+8)/6
    assert iqm([10, 0, 9, 1, 8, 2, 7, 3, 6, 4]) == 5.0
    assert iqm([0, 0, 0, 0, 1000]) == 0.0  # one lucky seed does not move it
    # fewer than 4 runs: nothing to cut, the mean
    assert iqm([1, 2, 6]) == 3.0
    # a (runs, tasks) array is pooled over tasks, as rliable's aggregate_iqm does
    assert iqm([[1, 100], [2, 200], [3, 300], [4, 400]]) == (3 + 4 + 100 + 200) / 4


def test_iqm_of_ten_is_the_middle_six():
    scores = [500, 12, 480, 500, 230, 500, 499, 9, 350, 500]
    middle = sorted(scores)[2:8]
    assert iqm(scores) == sum(middle) / 6


def test_bootstrap_replicates_follow_the_exact_resampling_distribution():
    """Three runs: all 27 resamples are equally likely; the replicates' frequencies
    must match that enumeration (a wrong resampler, e.g. without replacement, fails)."""
    scores = np.array([0.0, 1.0, 5.0])
    exact = {}
    for pick in itertools.product(range(3), repeat=3):
        value = round(float(np.mean(scores[list(pick)])), 9)
        exact[value] = exact.get(value, 0) + 1 / 27
    replicates = bootstrap_replicates(scores, iqm, reps=20000, seed=1)
    values, counts = np.unique(np.round(replicates, 9), return_counts=True)
    assert set(values) == set(exact)
    for value, count in zip(values, counts):
        assert count / 20000 == pytest.approx(exact[value], abs=0.01)


def test_interval_is_the_percentiles_of_the_replicates():
    scores = [3.0, 7.0, 1.0, 9.0, 4.0, 4.0, 8.0]
    replicates = bootstrap_replicates(scores, iqm, reps=500, seed=3)
    low, high = stratified_bootstrap_ci(scores, iqm, reps=500, seed=3)
    assert (low, high) == (np.percentile(replicates, 2.5), np.percentile(replicates, 97.5))
    point, low2, high2 = iqm_ci(scores, reps=500, seed=3)
    assert (point, low2, high2) == (iqm(scores), low, high)
    assert min(scores) <= low <= point <= high <= max(scores)


def test_bootstrap_is_stratified_by_task():
    """Task A's runs all score 0, task B's all 100: a resample that keeps each task's
    run count always holds four of each, whose IQM is 50, so the interval is [50, 50].
    Pooling the runs before resampling would give other values."""
    scores = np.array([[0.0, 100.0]] * 4)
    replicates = bootstrap_replicates(scores, iqm, reps=300, seed=0)
    assert np.all(replicates == 50.0)
    assert stratified_bootstrap_ci(scores, iqm, reps=300) == (50.0, 50.0)


def test_bootstrap_is_seeded():
    scores = np.arange(10.0)
    assert stratified_bootstrap_ci(scores, seed=4) == stratified_bootstrap_ci(scores, seed=4)


def test_performance_profile_by_hand():
    # fraction of runs with a score strictly above tau
    assert list(performance_profile([1, 2, 3, 4], [0, 2, 4])) == [1.0, 0.5, 0.0]
    assert list(performance_profile([[1, 5], [3, 7]], [4])) == [0.5]


def test_iqm_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="no scores"):
        iqm([])
