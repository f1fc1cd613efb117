"""Replay buffers: each formula checked against an independent computation.

- uniform replay: ring order, stored data, dtypes, terminated vs truncated, seeding;
- segment trees: against np.cumsum + np.searchsorted and np.min (hypothesis);
- prioritized replay: sampling frequencies against P(i) = p_i^a / sum_k p_k^a
  (a chi-square bound), IS weights against (N P(i))^-b / max_j w_j, priorities;
- n-step: against a brute-force sum over a random stream that crosses episode ends.
"""
import io
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minirl.replay import (Batch, MinTree, NStepBuffer, PrioritizedReplayBuffer,
                           ReplayBuffer, SumTree, linear_schedule, n_step_return)

FAST = settings(max_examples=100, deadline=None)


def fill(buffer, count, obs_dim=2, start=0):
    """Add transitions whose contents encode their number k, so rows can be traced."""
    for k in range(start, start + count):
        obs = np.full(obs_dim, k, dtype=np.float32)
        buffer.add(obs, k % 3, float(k), obs + 0.5, terminated=(k % 5 == 0))


# ---------------------------------------------------------------------------
# ReplayBuffer
# ---------------------------------------------------------------------------

def test_ring_buffer_overwrites_the_oldest_in_order():
    capacity, extra = 5, 3
    buffer = ReplayBuffer(capacity, obs_shape=(2,))
    fill(buffer, capacity + extra)
    assert len(buffer) == capacity
    # Slots 0..extra-1 hold the newest transitions capacity..capacity+extra-1, in order;
    # the rest still hold the oldest survivors.
    expected = [capacity + k if k < extra else k for k in range(capacity)]
    np.testing.assert_array_equal(buffer.reward, expected)
    np.testing.assert_array_equal(buffer.obs[:, 0], expected)
    assert buffer.position == extra


def test_len_grows_then_stays_at_capacity():
    buffer = ReplayBuffer(3, obs_shape=(2,))
    lengths = []
    for k in range(5):
        fill(buffer, 1, start=k)
        lengths.append(len(buffer))
    assert lengths == [1, 2, 3, 3, 3]


def test_sampled_batch_comes_from_stored_data_with_right_dtypes_and_shapes():
    buffer = ReplayBuffer(10, obs_shape=(2,), rng=np.random.default_rng(0))
    fill(buffer, 7)
    batch = buffer.sample(32)
    assert isinstance(batch, Batch)
    assert batch.obs.shape == (32, 2) and batch.obs.dtype == np.float32
    assert batch.next_obs.shape == (32, 2) and batch.next_obs.dtype == np.float32
    assert batch.action.shape == (32,) and batch.action.dtype == np.int64
    assert batch.reward.shape == (32,) and batch.reward.dtype == np.float32
    assert batch.terminated.dtype == np.float32 and batch.weights.dtype == np.float32
    assert batch.indices.dtype == np.int64 and batch.steps.dtype == np.int64
    # Only filled slots are drawn, and each row is one stored transition, intact.
    assert np.all((batch.indices >= 0) & (batch.indices < 7))
    k = batch.reward.astype(int)
    np.testing.assert_array_equal(k, batch.indices)
    np.testing.assert_array_equal(batch.obs[:, 0], k)
    np.testing.assert_array_equal(batch.next_obs[:, 0], k + 0.5)
    np.testing.assert_array_equal(batch.action, k % 3)
    np.testing.assert_array_equal(batch.terminated, (k % 5 == 0).astype(np.float32))
    np.testing.assert_array_equal(batch.steps, 1)
    np.testing.assert_array_equal(batch.weights, 1.0)


def test_multidimensional_actions_and_custom_dtypes():
    buffer = ReplayBuffer(4, obs_shape=(3, 2), action_shape=(2,), obs_dtype=np.uint8,
                          action_dtype=np.float32, rng=np.random.default_rng(0))
    buffer.add(np.ones((3, 2)), np.array([0.5, -0.5]), 1.0, np.zeros((3, 2)), False)
    batch = buffer.sample(3)
    assert batch.obs.dtype == np.uint8 and batch.obs.shape == (3, 3, 2)
    assert batch.action.dtype == np.float32 and batch.action.shape == (3, 2)
    np.testing.assert_array_equal(batch.action, [[0.5, -0.5]] * 3)


def test_terminated_is_stored_and_truncation_is_not():
    """The buffer stores `terminated` only: a truncated step is added with
    terminated=False and so keeps bootstrapping from next_obs."""
    buffer = ReplayBuffer(4, obs_shape=(1,))
    buffer.add([0.0], 0, 1.0, [1.0], terminated=True)   # real terminal state
    buffer.add([1.0], 0, 1.0, [2.0], terminated=False)  # time-limit cut: truncated
    np.testing.assert_array_equal(buffer.terminated[:2], [1.0, 0.0])
    np.testing.assert_array_equal(buffer.next_obs[1], [2.0])  # the final observation


def test_n_step_length_is_stored():
    buffer = ReplayBuffer(4, obs_shape=(1,), rng=np.random.default_rng(0))
    buffer.add([0.0], 1, 2.5, [3.0], False, steps=3)
    np.testing.assert_array_equal(buffer.sample(2).steps, [3, 3])


def test_seeded_sampling_is_reproducible():
    def draw(seed):
        buffer = ReplayBuffer(50, obs_shape=(2,), rng=np.random.default_rng(seed))
        fill(buffer, 40)
        return [buffer.sample(16).indices for _ in range(3)]

    for a, b in zip(draw(7), draw(7)):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(draw(7), draw(8)))


def test_sampling_is_uniform_over_stored_transitions():
    buffer = ReplayBuffer(8, obs_shape=(2,), rng=np.random.default_rng(1))
    fill(buffer, 8)
    counts = np.bincount(buffer.sample(40_000).indices, minlength=8)
    expected = 40_000 / 8
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_clear_errors():
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, obs_shape=(2,))
    buffer = ReplayBuffer(4, obs_shape=(2,))
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(1)
    with pytest.raises(ValueError, match=r"obs has shape \(3,\).*\(2,\)"):
        buffer.add(np.zeros(3), 0, 0.0, np.zeros(2), False)
    with pytest.raises(ValueError, match="next_obs"):
        buffer.add(np.zeros(2), 0, 0.0, np.zeros((2, 1)), False)
    with pytest.raises(ValueError, match="empty"):
        PrioritizedReplayBuffer(4, obs_shape=(2,)).sample(1)


def test_state_dict_round_trip_through_npz():
    buffer = ReplayBuffer(6, obs_shape=(2,), rng=np.random.default_rng(0))
    fill(buffer, 9)
    file = io.BytesIO()
    np.savez(file, **buffer.state_dict())
    file.seek(0)
    with np.load(file, allow_pickle=False) as saved:
        restored = ReplayBuffer(6, obs_shape=(2,), rng=np.random.default_rng(0))
        restored.load_state_dict(dict(saved))
    assert len(restored) == len(buffer) and restored.position == buffer.position
    for name in ("obs", "action", "reward", "next_obs", "terminated", "steps"):
        np.testing.assert_array_equal(getattr(restored, name), getattr(buffer, name))
    np.testing.assert_array_equal(restored.sample(8).indices, buffer.sample(8).indices)
    # ... and it carries on in ring order from where it stopped.
    fill(buffer, 1, start=100)
    fill(restored, 1, start=100)
    np.testing.assert_array_equal(restored.reward, buffer.reward)


def test_state_dict_saves_the_filled_rows_not_the_capacity():
    """A buffer of a million slots that has seen 5 transitions saves 5 rows; loading
    them restores it exactly: the same samples, the same ring order after."""
    buffer = ReplayBuffer(1_000_000, obs_shape=(2,), rng=np.random.default_rng(3))
    fill(buffer, 5)
    state = buffer.state_dict()
    assert all(len(state[name]) == 5 for name in ReplayBuffer._ARRAYS)
    assert sum(v.nbytes for v in state.values()) < 1000
    restored = ReplayBuffer(1_000_000, obs_shape=(2,), rng=np.random.default_rng(3))
    restored.load_state_dict(state)
    assert (len(restored), restored.position) == (5, 5)
    np.testing.assert_array_equal(restored.obs[:6], buffer.obs[:6])
    for _ in range(3):
        a, b = buffer.sample(7), restored.sample(7)
        for name in ("obs", "action", "reward", "next_obs", "terminated", "steps", "indices"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    fill(buffer, 2, start=50)
    fill(restored, 2, start=50)
    np.testing.assert_array_equal(restored.reward[:8], buffer.reward[:8])


def test_a_wrapped_buffer_saves_every_row_and_old_full_files_still_load():
    buffer = ReplayBuffer(6, obs_shape=(2,), rng=np.random.default_rng(0))
    fill(buffer, 9)  # wrapped: position 3, size 6
    state = buffer.state_dict()
    assert len(state["obs"]) == 6 and int(state["position"]) == 3
    partial = ReplayBuffer(6, obs_shape=(2,))
    fill(partial, 4)
    old = {name: getattr(partial, name).copy() for name in ReplayBuffer._ARRAYS}
    old.update(position=np.array(4), size=np.array(4))  # the whole ring, as files had
    restored = ReplayBuffer(6, obs_shape=(2,))
    restored.load_state_dict(old)
    np.testing.assert_array_equal(restored.obs, partial.obs)
    with pytest.raises(ValueError, match="'reward' has shape"):
        ReplayBuffer(6, obs_shape=(2,)).load_state_dict({**state, "reward": state["reward"][:5]})


def test_prioritized_state_dict_saves_the_filled_priorities():
    buffer = make_per(capacity=1000, seed=2)
    fill(buffer, 6)
    buffer.update_priorities([1, 4], [3.0, 0.2])
    state = buffer.state_dict()
    assert state["priorities_alpha"].shape == (6,)
    restored = make_per(capacity=1000, seed=2)
    restored.load_state_dict(state)
    np.testing.assert_array_equal(restored.sample(32).indices, buffer.sample(32).indices)
    np.testing.assert_array_equal(restored.sum_tree[np.arange(1000)],
                                  buffer.sum_tree[np.arange(1000)])


def test_load_state_dict_rejects_a_different_shape():
    state = ReplayBuffer(6, obs_shape=(2,)).state_dict()
    with pytest.raises(ValueError, match="'obs' has shape"):
        ReplayBuffer(6, obs_shape=(3,)).load_state_dict(state)
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(5, obs_shape=(2,)).load_state_dict(state)
    del state["terminated"]
    with pytest.raises(ValueError, match="missing"):
        ReplayBuffer(6, obs_shape=(2,)).load_state_dict(state)


# ---------------------------------------------------------------------------
# Segment trees
# ---------------------------------------------------------------------------

# Integer-valued priorities make every float64 sum exact, so the tree and
# np.cumsum agree bit for bit, even for masses that sit exactly on a boundary.
integer_priorities = st.lists(st.integers(0, 50), min_size=1, max_size=70).filter(any)


@FAST
@given(priorities=integer_priorities, data=st.data())
def test_find_prefix_sum_matches_cumsum_searchsorted(priorities, data):
    p = np.array(priorities, dtype=np.float64)
    tree = SumTree(len(p))
    tree.update(np.arange(len(p)), p)
    assert tree.total() == p.sum()
    total = float(p.sum())
    boundaries = [float(c) for c in np.cumsum(p) if c < total] or [0.0]
    masses = np.array(data.draw(st.lists(
        st.one_of(st.floats(0, total, exclude_max=True),  # anywhere in [0, total)
                  st.sampled_from(boundaries)),           # exactly on a boundary
        min_size=1, max_size=20)))
    found = tree.find_prefix_sum(masses)
    # Brute force: the first leaf whose running total exceeds the mass.
    expected = np.searchsorted(np.cumsum(p), masses, side="right")
    np.testing.assert_array_equal(found, expected)
    assert np.all(p[found] > 0)  # a zero-priority leaf is never chosen


@FAST
@given(capacity=st.integers(1, 70), seed=st.integers(0, 2**32 - 1))
def test_sum_and_min_trees_after_random_updates(capacity, seed):
    """Random updates, overwrites included, against np.sum / np.min. Half are batched,
    half go one leaf at a time (the scalar path that ``add`` takes)."""
    rng = np.random.default_rng(seed)
    sum_tree, min_tree = SumTree(capacity), MinTree(capacity)
    values = np.zeros(capacity)
    touched = np.zeros(capacity, dtype=bool)
    for _ in range(5):
        indices = np.unique(rng.integers(0, capacity, size=rng.integers(1, 10)))
        new = rng.random(indices.size) * 10
        if rng.random() < 0.5:
            sum_tree.update(indices, new)
            min_tree.update(indices, new)
        else:
            for index, value in zip(indices, new):
                sum_tree.update(int(index), float(value))
                min_tree.update(index, value)  # NumPy scalars take the same path
        values[indices] = new
        touched[indices] = True
        np.testing.assert_allclose(sum_tree.total(), values.sum(), rtol=1e-12)
        assert min_tree.min() == values[touched].min()
        np.testing.assert_array_equal(sum_tree[np.arange(capacity)], values)
    # Prefix sums: the mass halfway through each positive leaf finds that leaf.
    cumsum = np.cumsum(values)
    positive = np.flatnonzero(values > 1e-9)
    middles = cumsum[positive] - values[positive] / 2
    np.testing.assert_array_equal(sum_tree.find_prefix_sum(middles), positive)


def test_min_tree_of_an_empty_tree_is_infinite_and_padding_is_neutral():
    tree = MinTree(5)  # padded to 8 leaves
    assert tree.min() == np.inf
    tree.update([4], [3.0])
    assert tree.min() == 3.0
    with pytest.raises(IndexError):
        tree.update([5], [1.0])  # a padding leaf is not a real slot
    with pytest.raises(IndexError):
        tree.update(5, 1.0)


# ---------------------------------------------------------------------------
# PrioritizedReplayBuffer
# ---------------------------------------------------------------------------

def make_per(capacity=8, alpha=0.6, beta=0.4, eps=1e-6, seed=0):
    return PrioritizedReplayBuffer(capacity, obs_shape=(2,), alpha=alpha, beta=beta,
                                   eps=eps, rng=np.random.default_rng(seed))


def chi_square_bound(dof, tail=1e-4):
    """Upper `tail` quantile of chi-square(dof), by the Wilson-Hilferty approximation."""
    z = NormalDist().inv_cdf(1 - tail)
    return dof * (1 - 2 / (9 * dof) + z * np.sqrt(2 / (9 * dof))) ** 3


def test_prioritized_sampling_frequencies_follow_priorities():
    """Draws follow P(i) = p_i^alpha / sum_k p_k^alpha (Schaul et al. 2016, Eq. 1)."""
    alpha, eps = 0.6, 1e-6
    buffer = make_per(capacity=10, alpha=alpha, eps=eps, seed=123)
    fill(buffer, 10)
    td_errors = np.array([0.0, 0.1, 0.5, 1.0, 2.0, 3.0, 0.2, 5.0, 0.05, 1.5])
    buffer.update_priorities(np.arange(10), td_errors)

    draws = np.concatenate([buffer.sample(32).indices for _ in range(1600)])  # 51,200
    counts = np.bincount(draws, minlength=10)
    p = (np.abs(td_errors) + eps) ** alpha
    expected = len(draws) * p / p.sum()
    chi_square = np.sum((counts - expected) ** 2 / expected)
    # Stratified sampling has less variance than independent draws, so the
    # multinomial chi-square quantile is a safe upper bound.
    assert chi_square < chi_square_bound(dof=9), (counts, expected)


def test_sampling_is_stratified():
    """One draw per segment of [0, total) (Schaul et al. 2016, App. B.2.1): with equal
    priorities and batch_size == N, each transition is drawn exactly once, in order."""
    buffer = make_per(capacity=16, seed=4)
    fill(buffer, 16)
    for _ in range(5):
        np.testing.assert_array_equal(buffer.sample(16).indices, np.arange(16))


def test_importance_weights_match_the_closed_form():
    """w_i = (N P(i))^-beta / max_j w_j, max over the whole buffer (Sec. 3.4)."""
    alpha, beta, eps = 0.7, 0.5, 1e-6
    buffer = make_per(capacity=16, alpha=alpha, beta=beta, eps=eps, seed=3)
    fill(buffer, 12)  # not full: N = 12, and empty slots must not count
    td_errors = np.random.default_rng(0).normal(size=12) * 2
    td_errors[5] = 0.0  # P(5) ~ 1e-5: never drawn, yet it sets the largest weight
    buffer.update_priorities(np.arange(12), td_errors)

    batch = buffer.sample(64)
    priorities = (np.abs(td_errors) + eps) ** alpha
    probs = priorities / priorities.sum()
    all_weights = (12 * probs) ** -beta
    assert 5 not in batch.indices  # so normalising by the batch's max would fail here
    expected = all_weights[batch.indices] / all_weights.max()
    np.testing.assert_allclose(batch.weights, expected, rtol=1e-5)
    assert batch.weights.max() <= 1.0 + 1e-6

    # beta passed to sample overrides the default; beta = 0 means no correction.
    np.testing.assert_allclose(buffer.sample(8, beta=0.0).weights, 1.0)
    batch = buffer.sample(8, beta=1.0)
    expected = (12 * probs[batch.indices]) ** -1.0 / ((12 * probs) ** -1.0).max()
    np.testing.assert_allclose(batch.weights, expected, rtol=1e-5)


def test_new_transitions_get_the_max_priority():
    alpha = 0.5
    buffer = make_per(capacity=8, alpha=alpha)
    fill(buffer, 3)
    np.testing.assert_allclose(buffer.sum_tree[np.arange(3)], 1.0)  # initial max priority 1
    buffer.update_priorities([0, 1], [3.0, 0.5])
    fill(buffer, 1, start=3)
    # max p_i so far = |3.0| + eps, stored as (max p)^alpha
    np.testing.assert_allclose(buffer.sum_tree[3], (3.0 + buffer.eps) ** alpha)
    buffer.update_priorities([0], [0.1])  # lowering a priority does not lower the max
    fill(buffer, 1, start=4)
    np.testing.assert_allclose(buffer.sum_tree[4], (3.0 + buffer.eps) ** alpha)


def test_update_priorities_formula():
    alpha, eps = 0.6, 0.01
    buffer = make_per(capacity=8, alpha=alpha, eps=eps)
    fill(buffer, 8)
    indices = np.array([1, 4, 6])
    td_errors = np.array([-2.0, 0.0, 0.3])
    buffer.update_priorities(indices, td_errors)
    expected = (np.abs(td_errors) + eps) ** alpha
    np.testing.assert_allclose(buffer.sum_tree[indices], expected)
    np.testing.assert_allclose(buffer.min_tree[indices], expected)
    others = np.setdiff1d(np.arange(8), indices)
    np.testing.assert_allclose(buffer.sum_tree[others], 1.0)
    np.testing.assert_allclose(buffer.sum_tree.total(), expected.sum() + len(others))
    np.testing.assert_allclose(buffer.min_tree.min(), eps ** alpha)
    assert buffer.max_priority == 2.0 + eps


def test_prioritized_batch_rows_are_stored_transitions_and_seeding_repeats():
    a, b = make_per(capacity=20, seed=5), make_per(capacity=20, seed=5)
    for buffer in (a, b):
        fill(buffer, 25)  # wraps around
        buffer.update_priorities(np.arange(20), np.arange(20) / 4)
    batch_a, batch_b = a.sample(32), b.sample(32)
    np.testing.assert_array_equal(batch_a.indices, batch_b.indices)
    np.testing.assert_array_equal(batch_a.weights, batch_b.weights)
    np.testing.assert_array_equal(batch_a.reward, a.reward[batch_a.indices])
    np.testing.assert_array_equal(batch_a.obs, a.obs[batch_a.indices])
    assert np.all(batch_a.indices < 20)


def test_prioritized_only_samples_filled_slots():
    buffer = make_per(capacity=100, seed=0)
    fill(buffer, 3)
    assert set(np.unique(buffer.sample(256).indices)) <= {0, 1, 2}


def test_prioritized_state_dict_round_trip():
    buffer = make_per(capacity=8, seed=1)
    fill(buffer, 6)
    buffer.update_priorities([0, 2, 5], [0.5, 4.0, 0.01])
    file = io.BytesIO()
    np.savez(file, **buffer.state_dict())
    file.seek(0)
    with np.load(file, allow_pickle=False) as saved:
        restored = make_per(capacity=8, seed=1)
        restored.load_state_dict(dict(saved))
    assert restored.max_priority == buffer.max_priority
    assert restored.sum_tree.total() == buffer.sum_tree.total()
    assert restored.min_tree.min() == buffer.min_tree.min()
    np.testing.assert_array_equal(restored.sample(16).indices, buffer.sample(16).indices)
    with pytest.raises(ValueError, match="alpha"):
        make_per(capacity=8, alpha=0.9).load_state_dict(buffer.state_dict())


def test_linear_schedule_anneals_beta_to_one():
    assert linear_schedule(0.4, 1.0, 100, 0) == 0.4
    assert linear_schedule(0.4, 1.0, 100, 50) == pytest.approx(0.7)
    assert linear_schedule(0.4, 1.0, 100, 100) == 1.0
    assert linear_schedule(0.4, 1.0, 100, 10_000) == 1.0


# ---------------------------------------------------------------------------
# n-step returns
# ---------------------------------------------------------------------------

def test_n_step_return_formula():
    assert n_step_return([1.0, 2.0, 3.0], 0.5) == 1.0 + 0.5 * 2.0 + 0.25 * 3.0
    assert n_step_return([4.0], 0.9) == 4.0
    assert n_step_return([], 0.9) == 0.0


def random_stream(rng, n_episodes):
    """Episodes of random length, each ending by termination, truncation, or (the last
    one only) not at all. Observations are global step numbers, so they are unique."""
    episodes, t = [], 0
    for e in range(n_episodes):
        length = int(rng.integers(1, 9))
        end = rng.choice(["terminated", "truncated"]) if e < n_episodes - 1 else \
            rng.choice(["terminated", "truncated", "unfinished"])
        steps = []
        for k in range(length):
            last = k == length - 1
            steps.append(dict(obs=t, action=int(rng.integers(3)), reward=float(rng.normal()),
                              next_obs=t + 1, terminated=last and end == "terminated",
                              truncated=last and end == "truncated"))
            t += 1
        t += 1  # the reset observation of the next episode is a new number
        episodes.append((steps, end))
    return episodes


def brute_force_n_step(episodes, n, gamma):
    """Every transition the n-step buffer should emit, straight from the definition."""
    out = []
    for steps, end in episodes:
        length = len(steps)
        for t in range(length):
            k = min(n, length - t)
            if k < n and end == "unfinished":
                continue  # the episode has not gone far enough yet
            reward = sum(gamma ** i * steps[t + i]["reward"] for i in range(k))
            reaches_end = t + k == length
            out.append((steps[t]["obs"], steps[t]["action"], reward,
                        steps[t + k - 1]["next_obs"],
                        reaches_end and end == "terminated", k))
    return out


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 5), gamma=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_n_step_buffer_matches_brute_force_across_episode_ends(n, gamma, seed):
    episodes = random_stream(np.random.default_rng(seed), n_episodes=6)
    nstep = NStepBuffer(n, gamma)
    emitted = []
    for steps, _ in episodes:
        for s in steps:
            emitted += nstep.push(s["obs"], s["action"], s["reward"], s["next_obs"],
                                  s["terminated"], s["truncated"])
    expected = brute_force_n_step(episodes, n, gamma)
    # Emission order may differ from t order only at episode ends; sort by obs (unique).
    emitted.sort(key=lambda tr: tr.obs)
    assert len(emitted) == len(expected)
    for got, want in zip(emitted, expected):
        obs, action, reward, next_obs, terminated, k = want
        assert (got.obs, got.action, got.next_obs, got.terminated, got.steps) == \
            (obs, action, next_obs, terminated, k)
        assert got.reward == pytest.approx(reward, rel=1e-12, abs=1e-12)


def test_n_step_truncation_bootstraps_from_the_final_observation():
    nstep = NStepBuffer(3, gamma=0.5)
    assert nstep.push("s0", 0, 1.0, "s1", False, False) == []
    out = nstep.push("s1", 1, 2.0, "s_final", False, True)
    assert [tuple(t) for t in out] == [("s0", 0, 1.0 + 0.5 * 2.0, "s_final", False, 2),
                                       ("s1", 1, 2.0, "s_final", False, 1)]
    assert len(nstep) == 0
    out = nstep.push("s0", 0, 1.0, "s1", True, False)  # a new episode, ends at once
    assert [tuple(t) for t in out] == [("s0", 0, 1.0, "s1", True, 1)]


def test_n_step_transitions_go_straight_into_a_buffer():
    nstep = NStepBuffer(2, gamma=0.9)
    buffer = ReplayBuffer(4, obs_shape=(1,), rng=np.random.default_rng(0))
    nstep.push([0.0], 1, 1.0, [1.0], False, False)
    for transition in nstep.push([1.0], 0, 1.0, [2.0], False, False):
        buffer.add(*transition)
    assert buffer.steps[0] == 2 and buffer.reward[0] == pytest.approx(1.9)
    np.testing.assert_array_equal(buffer.next_obs[0], [2.0])
