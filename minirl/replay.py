"""Experience replay: uniform, prioritized, and n-step (book chapter 8).

Three ideas live here, each in its own class:

``ReplayBuffer``
    Store transitions in a ring buffer and train on uniformly sampled minibatches.
    This breaks the correlation between consecutive samples and lets each
    transition be reused many times (Mnih et al. 2015, "Human-level control through
    deep reinforcement learning", Methods: "experience replay").

``PrioritizedReplayBuffer`` (with ``SumTree`` and ``MinTree``)
    Sample transition i with probability P(i) = p_i^alpha / sum_k p_k^alpha, where
    p_i = |delta_i| + eps is its last TD error, and correct the bias this introduces
    with importance-sampling weights w_i = (N * P(i))^-beta (Schaul et al. 2016,
    "Prioritized Experience Replay", proportional variant, Eq. 1 and Sec. 3.4).

``NStepBuffer``
    Turn a stream of 1-step transitions into n-step ones whose reward is the
    discounted sum G = sum_{k<n} gamma^k r_{t+k} (Sutton & Barto 2018, Sec. 7.1;
    used by Rainbow, Hessel et al. 2018, Eq. 2).

Every buffer stores ``terminated``, never ``done = terminated or truncated``: a
transition cut off by a time limit (truncated) did not reach a terminal state, so
its TD target must still bootstrap from ``next_obs``. Only a real terminal state
has value zero.

Randomness comes from a ``np.random.Generator`` that the agent passes in, so a
seeded run samples the same minibatches every time.
"""
import operator
from collections import deque
from typing import NamedTuple

import numpy as np


# ---------------------------------------------------------------------------
# Uniform replay (Mnih et al. 2015)
# ---------------------------------------------------------------------------

class Batch(NamedTuple):
    """A minibatch of transitions, one row per sample.

    The TD target built from it is
    ``reward + gamma**steps * (1 - terminated) * max_a Q_target(next_obs, a)``.
    """

    obs: np.ndarray         # (B, *obs_shape)
    action: np.ndarray      # (B, *action_shape)
    reward: np.ndarray      # (B,) float32; an n-step discounted return if steps > 1
    next_obs: np.ndarray    # (B, *obs_shape), the observation `steps` steps later
    terminated: np.ndarray  # (B,) float32, 1.0 where next_obs is a terminal state
    steps: np.ndarray       # (B,) int64, rewards summed into `reward` (1 for 1-step)
    indices: np.ndarray     # (B,) int64, buffer slots, for update_priorities
    weights: np.ndarray     # (B,) float32 importance weights; ones for uniform replay


def _as_shape(shape):
    """Accept ``4`` as well as ``(4,)``, like NumPy does."""
    return (int(shape),) if np.isscalar(shape) else tuple(int(d) for d in shape)


class ReplayBuffer:
    """A fixed-size ring buffer of transitions, sampled uniformly with replacement.

    Arrays are allocated once, in ``__init__``; ``add`` writes one row at
    ``position`` and moves it on, so when the buffer is full the oldest transition
    is overwritten first (Mnih et al. 2015: "the replay memory only stores the last
    N experience tuples").

    ``next_obs`` is stored beside ``obs`` rather than recovered from the next row:
    it costs memory but keeps every row self-contained, so episode ends, truncated
    episodes and n-step transitions need no special cases when sampling.
    """

    def __init__(self, capacity, obs_shape, action_shape=(), obs_dtype=np.float32,
                 action_dtype=np.int64, rng=None, batch_dtype=None):
        capacity = int(capacity)
        if capacity < 1:
            raise ValueError(f"ReplayBuffer capacity must be a positive integer, got {capacity}")
        self.capacity = capacity
        self.obs_shape = _as_shape(obs_shape)
        self.action_shape = _as_shape(action_shape)
        # default_rng passes a Generator through unchanged and seeds one from an int.
        self.rng = np.random.default_rng(rng)

        # Observations are stored as obs_dtype and sampled as batch_dtype (None: as
        # stored): boolean frames kept as bool take a quarter of float32's memory, and
        # only the minibatch is converted for the network.
        self.batch_dtype = batch_dtype
        self.obs = np.zeros((capacity, *self.obs_shape), dtype=obs_dtype)
        self.action = np.zeros((capacity, *self.action_shape), dtype=action_dtype)
        self.reward = np.zeros(capacity, dtype=np.float32)
        self.next_obs = np.zeros((capacity, *self.obs_shape), dtype=obs_dtype)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.steps = np.ones(capacity, dtype=np.int64)

        self.position = 0  # the slot the next add writes
        self.size = 0      # how many slots hold data

    def __len__(self):
        return self.size

    def add(self, obs, action, reward, next_obs, terminated, steps=1):
        """Store one transition and return the slot it went to.

        Pass ``terminated`` from ``env.step``, not ``terminated or truncated``:
        a truncated transition must still bootstrap from ``next_obs``.
        ``steps`` is the number of rewards summed into ``reward`` (see NStepBuffer).
        """
        obs = self._check_shape("obs", obs, self.obs_shape)
        next_obs = self._check_shape("next_obs", next_obs, self.obs_shape)
        action = self._check_shape("action", action, self.action_shape)

        index = self.position
        self.obs[index] = obs
        self.action[index] = action
        self.reward[index] = reward
        self.next_obs[index] = next_obs
        self.terminated[index] = float(bool(terminated))
        self.steps[index] = steps

        self.position = (self.position + 1) % self.capacity  # wrap: overwrite the oldest
        self.size = min(self.size + 1, self.capacity)
        return index

    def sample(self, batch_size):
        """Draw ``batch_size`` transitions uniformly, with replacement."""
        self._check_can_sample(batch_size)
        indices = self.rng.integers(0, self.size, size=batch_size)
        return self._gather(indices, np.ones(batch_size, dtype=np.float32))

    def _gather(self, indices, weights):
        obs, next_obs = self.obs[indices], self.next_obs[indices]
        if self.batch_dtype is not None:  # copy=False: indexing made new arrays already
            obs = obs.astype(self.batch_dtype, copy=False)
            next_obs = next_obs.astype(self.batch_dtype, copy=False)
        return Batch(
            obs=obs,
            action=self.action[indices],
            reward=self.reward[indices],
            next_obs=next_obs,
            terminated=self.terminated[indices],
            steps=self.steps[indices],
            indices=indices.astype(np.int64),
            weights=weights.astype(np.float32),
        )

    def _check_can_sample(self, batch_size):
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer: add transitions first")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")

    def _check_shape(self, name, value, expected_shape):
        value = np.asarray(value)
        if value.shape != expected_shape:
            raise ValueError(f"ReplayBuffer.add: {name} has shape {value.shape}, "
                             f"the buffer was built for shape {expected_shape}")
        return value

    # -- checkpointing: plain arrays only, so np.load(allow_pickle=False) works --

    _ARRAYS = ("obs", "action", "reward", "next_obs", "terminated", "steps")

    def state_dict(self):
        """Return the buffer as ``name -> ndarray`` (filled rows, position, size).

        Only the ``size`` rows that hold data are saved: until the buffer wraps they
        are rows ``0..size-1``, so a buffer of a million slots saves what it has seen,
        not its capacity. The random generator is not included: it belongs to the
        agent, which saves it with the rest of its state.
        """
        state = {name: getattr(self, name)[:self.size].copy() for name in self._ARRAYS}
        state["position"] = np.array(self.position, dtype=np.int64)
        state["size"] = np.array(self.size, dtype=np.int64)
        state["capacity"] = np.array(self.capacity, dtype=np.int64)
        return state

    def load_state_dict(self, state):
        """Restore from ``state_dict()``; the buffer must have the same capacity and shapes.

        The arrays hold ``size`` rows (or ``capacity`` rows, as files saved the whole
        ring before); the rows past ``size`` stay empty.
        """
        missing = [k for k in (*self._ARRAYS, "position", "size") if k not in state]
        if missing:
            raise ValueError(f"replay buffer state is missing {missing}")
        position, size = int(state["position"]), int(state["size"])
        capacity = int(state.get("capacity", self.capacity))  # older files: not saved
        if capacity != self.capacity:
            raise ValueError(f"replay buffer state was saved with capacity {capacity}, "
                             f"this buffer has capacity {self.capacity}")
        if not (0 <= size <= self.capacity and 0 <= position < self.capacity):
            raise ValueError(f"replay buffer state has position={position}, size={size}, "
                             f"outside a buffer of capacity {self.capacity}")
        for name in self._ARRAYS:
            ours, theirs = getattr(self, name), np.asarray(state[name])
            if theirs.shape[1:] != ours.shape[1:] or len(theirs) not in (size, self.capacity):
                raise ValueError(
                    f"replay buffer state '{name}' has shape {theirs.shape}, but this buffer "
                    f"holds {(size, *ours.shape[1:])} (size {size}, capacity "
                    f"{self.capacity}); build the buffer with the same capacity and shapes "
                    "as the one that was saved")
        for name in self._ARRAYS:
            getattr(self, name)[:size] = np.asarray(state[name])[:size]
        self.position, self.size = position, size


# ---------------------------------------------------------------------------
# Segment trees: O(log n) sums and minima over priorities (Schaul et al. 2016, App. B.2.1)
# ---------------------------------------------------------------------------

class SegmentTree:
    """A complete binary tree in an array, each node holding ``op`` of its two children.

    Node 1 is the root and node i has children 2i and 2i+1, so the leaves are
    ``tree[size:2 * size]``, where ``size`` is ``capacity`` rounded up to a power
    of two. Padding leaves hold ``neutral`` (0 for a sum, +inf for a min), so
    they never change the result. Changing a leaf only changes the nodes on its
    path to the root: one node per level, O(log n).
    """

    def __init__(self, capacity, op, scalar_op, neutral):
        capacity = int(capacity)
        if capacity < 1:
            raise ValueError(f"tree capacity must be a positive integer, got {capacity}")
        self.capacity = capacity
        self.size = 1 << (capacity - 1).bit_length()  # leaves: next power of two
        self.depth = self.size.bit_length() - 1        # levels below the root
        self.op = op                # elementwise on arrays: np.add or np.minimum
        self.scalar_op = scalar_op  # the same on two numbers, without ufunc overhead
        self.neutral = neutral
        self.tree = np.full(2 * self.size, neutral, dtype=np.float64)

    def update(self, indices, values):
        """Set leaves ``indices`` to ``values`` and recompute their ancestors.

        Vectorised over a batch of leaves: all start on the same level, so one
        pass per level fixes every parent. If an index repeats, its last value wins.
        """
        if np.ndim(indices) == 0:  # one leaf, as on every add: a scalar walk avoids
            # per-level array overhead and is several times faster
            self._update_one(int(indices), float(values))
            return
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        values = np.broadcast_to(np.asarray(values, dtype=np.float64), indices.shape)
        if indices.size and (indices.min() < 0 or indices.max() >= self.capacity):
            raise IndexError(f"tree index out of range [0, {self.capacity}): "
                             f"got {indices.min()}..{indices.max()}")
        node = indices + self.size
        self.tree[node] = values
        for _ in range(self.depth):
            node = node // 2
            self.tree[node] = self.op(self.tree[2 * node], self.tree[2 * node + 1])

    def _update_one(self, index, value):
        """``update`` for a single leaf, walking up to the root one node at a time."""
        if not 0 <= index < self.capacity:
            raise IndexError(f"tree index {index} out of range [0, {self.capacity})")
        node = index + self.size
        self.tree[node] = value
        while node > 1:
            node //= 2
            self.tree[node] = self.scalar_op(self.tree[2 * node], self.tree[2 * node + 1])

    def __getitem__(self, indices):
        """The leaf values at ``indices``."""
        return self.tree[np.asarray(indices) + self.size]

    def root(self):
        """``op`` over all leaves."""
        return float(self.tree[1])


class SumTree(SegmentTree):
    """Sum tree: the root is the sum of the priorities, and a descent from the root
    finds the leaf where a running total crosses a given mass, in O(log n)."""

    def __init__(self, capacity):
        super().__init__(capacity, op=np.add, scalar_op=operator.add, neutral=0.0)

    def total(self):
        """sum_i p_i over all leaves."""
        return self.root()

    def find_prefix_sum(self, masses):
        """For each mass, the smallest leaf i with p_0 + ... + p_i > mass.

        Equal to ``np.searchsorted(np.cumsum(p), masses, side="right")``, but O(log n)
        per mass. At each node: if the mass is at least the left subtree's sum, the
        leaf is on the right, so subtract that sum and go right; else go left.
        Leaves with zero priority are never returned for 0 <= mass < total().
        """
        mass = np.array(masses, dtype=np.float64, ndmin=1)  # a copy: we subtract from it
        node = np.ones(mass.shape, dtype=np.int64)
        for _ in range(self.depth):
            left = 2 * node
            left_sum = self.tree[left]
            go_right = mass >= left_sum
            mass = np.where(go_right, mass - left_sum, mass)
            node = left + go_right
        # Round-off can carry a mass of almost total() past the last real leaf.
        return np.minimum(node - self.size, self.capacity - 1)


class MinTree(SegmentTree):
    """Min tree: the root is the smallest priority, for the largest IS weight."""

    def __init__(self, capacity):
        super().__init__(capacity, op=np.minimum, scalar_op=min, neutral=np.inf)

    def min(self):
        """min_i p_i over the leaves that were set (+inf if none)."""
        return self.root()


# ---------------------------------------------------------------------------
# Prioritized replay (Schaul et al. 2016, proportional variant)
# ---------------------------------------------------------------------------

def linear_schedule(start, end, duration, t):
    """Move linearly from ``start`` to ``end`` over ``duration`` steps, then stay at ``end``.

    PER anneals beta from beta_0 to 1 over training (Schaul et al. 2016, Sec. 3.4),
    so the IS correction is complete by the end, where unbiased updates matter most.
    The same schedule serves for epsilon-greedy exploration.
    """
    if duration <= 0:
        return end
    fraction = min(max(t / duration, 0.0), 1.0)
    return start + fraction * (end - start)


class PrioritizedReplayBuffer(ReplayBuffer):
    """Replay that samples surprising transitions more often (Schaul et al. 2016).

    Each stored transition i has a priority p_i = |delta_i| + eps (Sec. 3.3,
    proportional variant: eps keeps a transition with zero error sampleable). It is
    sampled with probability (Eq. 1)

        P(i) = p_i^alpha / sum_k p_k^alpha,

    and its loss is scaled by the importance-sampling weight (Sec. 3.4)

        w_i = (N * P(i))^-beta / max_j w_j,

    where N = len(self). We normalise by the largest weight over the whole
    buffer, max_j w_j = (N * min_k P(k))^-beta, found with a min tree, as the
    paper does and OpenAI baselines does (not by the largest weight in the batch).
    So w_i <= 1 and the weights only ever scale updates down.

    The sum tree holds p_i^alpha; the min tree holds the same values.
    """

    def __init__(self, capacity, obs_shape, action_shape=(), obs_dtype=np.float32,
                 action_dtype=np.int64, alpha=0.6, beta=0.4, eps=1e-6, rng=None,
                 batch_dtype=None):
        super().__init__(capacity, obs_shape, action_shape, obs_dtype, action_dtype, rng,
                         batch_dtype)
        if alpha < 0:
            raise ValueError(f"alpha must be >= 0 (0 is uniform replay), got {alpha}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0 so every transition can be sampled, got {eps}")
        self.alpha = alpha
        self.beta = beta
        self.eps = eps
        self.sum_tree = SumTree(capacity)
        self.min_tree = MinTree(capacity)
        self.max_priority = 1.0  # max p_i seen so far, before the exponent alpha

    def add(self, obs, action, reward, next_obs, terminated, steps=1):
        """Store a transition with the largest priority so far (Algorithm 1, line 6):
        a new transition has no TD error yet, so make sure it is replayed at least once."""
        index = super().add(obs, action, reward, next_obs, terminated, steps)
        priority_alpha = self.max_priority ** self.alpha
        self.sum_tree.update(index, priority_alpha)
        self.min_tree.update(index, priority_alpha)
        return index

    def sample(self, batch_size, beta=None):
        """Stratified sampling: split [0, total) into ``batch_size`` equal segments and
        draw one mass uniformly from each (Schaul et al. 2016, App. B.2.1), then find
        its transition in the sum tree. Returns the batch with IS weights."""
        self._check_can_sample(batch_size)
        beta = self.beta if beta is None else beta

        total = self.sum_tree.total()
        segment = total / batch_size
        masses = (np.arange(batch_size) + self.rng.random(batch_size)) * segment
        indices = self.sum_tree.find_prefix_sum(masses)
        # Slots >= size have priority 0 and are never chosen, except by round-off at the end.
        indices = np.minimum(indices, self.size - 1)

        probs = self.sum_tree[indices] / total                 # P(i)
        min_prob = self.min_tree.min() / total                 # min_k P(k): the largest weight
        weights = (self.size * probs) ** -beta                 # w_i = (N P(i))^-beta
        max_weight = (self.size * min_prob) ** -beta           # max_j w_j
        return self._gather(indices, weights / max_weight)

    def update_priorities(self, indices, td_errors):
        """Set p_i = |delta_i| + eps for the sampled transitions (Algorithm 1, line 12);
        the trees store p_i^alpha."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        priorities = np.abs(np.asarray(td_errors, dtype=np.float64)).reshape(-1) + self.eps
        if indices.shape != priorities.shape:
            raise ValueError(f"update_priorities: {indices.size} indices but "
                             f"{priorities.size} TD errors")
        if indices.size and (indices.min() < 0 or indices.max() >= self.size):
            raise IndexError(f"update_priorities: indices must lie in [0, {self.size})")
        self.sum_tree.update(indices, priorities ** self.alpha)
        self.min_tree.update(indices, priorities ** self.alpha)
        self.max_priority = max(self.max_priority, float(priorities.max(initial=0.0)))

    def state_dict(self):
        """The filled rows plus each filled slot's p_i^alpha and the running max priority."""
        state = super().state_dict()
        state["priorities_alpha"] = self.sum_tree[np.arange(self.size)].copy()
        state["max_priority"] = np.array(self.max_priority)
        state["alpha"] = np.array(self.alpha)
        return state

    def load_state_dict(self, state):
        for key in ("priorities_alpha", "max_priority", "alpha"):
            if key not in state:
                raise ValueError(f"prioritized replay state is missing '{key}'")
        saved_alpha = float(state["alpha"])
        if saved_alpha != self.alpha:
            raise ValueError(f"prioritized replay state was saved with alpha={saved_alpha}, "
                             f"this buffer has alpha={self.alpha}")
        priorities_alpha = np.asarray(state["priorities_alpha"], dtype=np.float64)
        size = int(state.get("size", -1))
        if priorities_alpha.shape not in ((size,), (self.capacity,)):
            raise ValueError(f"prioritized replay state 'priorities_alpha' has shape "
                             f"{priorities_alpha.shape}, expected ({size},)")
        super().load_state_dict(state)
        # Rebuild both trees from the leaves; slots not yet filled stay neutral.
        self.sum_tree = SumTree(self.capacity)
        self.min_tree = MinTree(self.capacity)
        filled = np.arange(self.size)
        self.sum_tree.update(filled, priorities_alpha[filled])
        self.min_tree.update(filled, priorities_alpha[filled])
        self.max_priority = float(state["max_priority"])


# ---------------------------------------------------------------------------
# n-step returns (Sutton & Barto 2018, Sec. 7.1; Hessel et al. 2018, Eq. 2)
# ---------------------------------------------------------------------------

def n_step_return(rewards, gamma):
    """The discounted sum of a run of rewards: G = sum_{k=0}^{len-1} gamma^k r_{t+k}.

    With ``steps = len(rewards)``, the n-step TD target is
    G + gamma^steps * (1 - terminated) * max_a Q_target(s_{t+steps}, a).
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    discounts = gamma ** np.arange(len(rewards))
    return float(np.sum(discounts * rewards))


class NStepTransition(NamedTuple):
    """An n-step transition, in ``ReplayBuffer.add`` order: ``buffer.add(*transition)``."""

    obs: object
    action: object
    reward: float       # G, the discounted sum of `steps` rewards
    next_obs: object    # the observation `steps` steps after obs
    terminated: bool    # whether next_obs is terminal (then: no bootstrap)
    steps: int          # how many rewards G sums: n, or fewer at an episode's end


class NStepBuffer:
    """Turn 1-step transitions into n-step ones, one push per environment step.

    It keeps the last (up to n) transitions of the current episode. Once it holds n,
    each push completes the oldest: (s_t, a_t, G, s_{t+n}, terminated, n).
    An episode end completes all of them early, with fewer than n rewards:

    - terminated: next_obs is terminal, so each has terminated=True (no bootstrap);
    - truncated: the episode was cut, not finished, so each has terminated=False and
      bootstraps from the final observation with gamma^steps.

    Nothing crosses an episode boundary, so a return never mixes two episodes.
    """

    def __init__(self, n, gamma):
        if int(n) < 1:
            raise ValueError(f"n must be a positive integer, got {n}")
        self.n = int(n)
        self.gamma = gamma
        self.pending = deque()  # (obs, action, reward, next_obs) of this episode, oldest first

    def __len__(self):
        return len(self.pending)

    def push(self, obs, action, reward, next_obs, terminated, truncated):
        """Add one environment step; return the list of n-step transitions it completes."""
        self.pending.append((obs, action, reward, next_obs))
        if terminated or truncated:
            completed = [self._complete(start, bool(terminated))
                         for start in range(len(self.pending))]
            self.pending.clear()
            return completed
        if len(self.pending) == self.n:
            completed = [self._complete(0, False)]
            self.pending.popleft()
            return completed
        return []

    def reset(self):
        """Drop the pending steps, e.g. when an episode is abandoned without ending."""
        self.pending.clear()

    def state_dict(self, obs_shape):
        """The pending steps as arrays (obs and next_obs shaped (k, *obs_shape))."""
        pending = list(self.pending)
        obs_shape = tuple(obs_shape)
        return {"obs": np.array([p[0] for p in pending], np.float32).reshape(-1, *obs_shape),
                "action": np.array([p[1] for p in pending], np.int64),
                "reward": np.array([p[2] for p in pending], np.float64),
                "next_obs": np.array([p[3] for p in pending],
                                     np.float32).reshape(-1, *obs_shape)}

    def load_state_dict(self, state):
        """Restore the pending steps; a state without them (saved with n = 1, where no
        step ever waits) restores none."""
        self.reset()
        if not state and self.n == 1:
            return
        for obs, action, reward, next_obs in zip(state["obs"], state["action"],
                                                 state["reward"], state["next_obs"]):
            self.pending.append((obs.copy(), int(action), float(reward), next_obs.copy()))

    def _complete(self, start, terminated):
        """The transition from pending[start] to the newest step."""
        steps = list(self.pending)[start:]
        obs, action = steps[0][0], steps[0][1]
        rewards = [reward for _, _, reward, _ in steps]
        next_obs = steps[-1][3]
        return NStepTransition(obs, action, n_step_return(rewards, self.gamma),
                               next_obs, terminated, len(steps))
