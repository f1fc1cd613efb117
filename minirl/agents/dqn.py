"""Chapters 8 and 10: DQN and its improvements, each one small piece you can switch on.

Chapter 8 (Mnih et al. 2015, "Human-level control through deep reinforcement
learning") adds two things to chapter 7's Q-learning network:

* experience replay: learn from minibatches drawn from a buffer of past transitions
  (``minirl.replay.ReplayBuffer``), not from the last step alone;
* a target network theta^-: a copy of the Q network, synchronised every C steps (or
  every 20 episodes, as in the book), that computes the TD target

      y = r + gamma * max_a' Q(s', a'; theta^-)       (y = r if s' is terminal)

  and the loss is (y - Q(s, a; theta))^2 (or the Huber loss), with y held constant.

Chapter 10 lists the improvements that Rainbow (Hessel et al. 2018) combines. Each is
one function or one flag here:

=============  =======================  ======================================
flag           paper                    piece
=============  =======================  ======================================
double         van Hasselt et al. 2016  ``double_dqn_target`` (who picks a*)
prioritized    Schaul et al. 2016       ``PrioritizedReplayBuffer`` + IS weights
dueling        Wang et al. 2016         ``dueling_aggregate``
noisy          Fortunato et al. 2018    ``minirl.layers.NoisyLinear``
categorical    Bellemare et al. 2017    ``project_distribution``,
                                        ``categorical_cross_entropy``,
                                        ``start_at_atom``, ``fit_support``
n_step         Sutton & Barto 7.1       ``minirl.replay.NStepBuffer``,
                                        ``n_step_discount``
=============  =======================  ======================================

Rainbow is ``DQNAgent`` with every flag on (the ``rainbow`` preset): the same
functions, composed in ``DQNAgent.learn``, not a second copy of the algorithm. Each
target is one call from ``learn``: ``td_target``, ``double_dqn_target`` or
``project_distribution``, discounted by ``n_step_discount``.

Terminated vs truncated: the replay stores ``terminated`` only. A transition cut off
by a time limit still bootstraps from ``next_obs``. The book's listing unpacks
``step`` as ``next_state, reward, done, info, _``: its ``done`` is ``terminated``, the
time limit lands in ``info`` unread, and the usual repair ``done = terminated or
truncated`` would stop the bootstrap at the time limit (see docs/ch08.md).
"""
import gymnasium as gym
import numpy as np

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl.agents.base import Agent, HParam
from minirl.agents.common import strip_prefix
from minirl.agents.hparams import SIZES
from minirl.agents.torso import encoder_for, storage_dtype
from minirl.core import no_grad
from minirl.replay import NStepBuffer, PrioritizedReplayBuffer, ReplayBuffer, linear_schedule

__all__ = ["QNet", "DQNAgent", "n_step_discount", "td_target", "double_dqn_target",
           "greedy_next_action", "dueling_aggregate", "project_distribution",
           "categorical_cross_entropy", "td_loss", "start_at_atom", "ReturnScale",
           "fit_support"]


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------

def dueling_aggregate(value, advantage, axis=1):
    """Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')   (Wang et al. 2016, Eq. 9).

    ``value`` is (B, 1, ...) and ``advantage`` (B, n_actions, ...): the mean is over
    the action ``axis`` of each sample on its own (axis 0 for one observation).
    Subtracting it makes V and A identifiable (adding a constant to A and removing it
    from V would change nothing).
    """
    return value + advantage - F.mean(advantage, axis=axis, keepdims=True)


class QNet(L.Module):
    """Observation -> [Linear -> ReLU] per hidden size -> head.

    The head gives Q(s, .) of shape (B, n_actions), or with ``n_atoms > 1`` (C51) the
    logits of a distribution over ``n_atoms`` returns per action, (B, n_actions, n_atoms).
    One observation (in_size,) gives one sample's output, without the batch axis.
    ``dueling`` splits the head into V(s) and A(s, .) joined by ``dueling_aggregate``.
    ``noisy`` makes every layer a ``NoisyLinear``. ``layer_norm`` normalises each hidden
    layer's pre-activations (``F.layer_norm``) before its ReLU: Linear -> LayerNorm ->
    ReLU. The book's QNet is ``QNet(4, 2, (128, 128))``.
    """

    def __init__(self, in_size, n_actions, hidden_sizes=(128, 128), dueling=False,
                 noisy=False, n_atoms=1, sigma0=0.5, rng=None, layer_norm=False, torso=None):
        super().__init__()
        self.torso = torso  # image observations: a ConvTorso whose features in_size counts
        self.layer_norm = bool(layer_norm)
        rng = np.random.default_rng() if rng is None else rng

        def layer(n_in, n_out):
            if noisy:
                return L.NoisyLinear(n_in, n_out, sigma0=sigma0, rng=rng)
            return L.Linear(n_in, n_out, rng=rng)

        self.n_actions, self.n_atoms, self.dueling = int(n_actions), int(n_atoms), dueling
        sizes = (int(in_size), *(int(h) for h in hidden_sizes))
        self.hidden = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            setattr(self, f"l{i}", layer(n_in, n_out))  # registers 'l0.W', 'l0.b', ...
            self.hidden.append(getattr(self, f"l{i}"))
        if dueling:
            self.value = layer(sizes[-1], self.n_atoms)
            self.advantage = layer(sizes[-1], self.n_actions * self.n_atoms)
            self.layers = self.hidden + [self.value, self.advantage]
        else:
            self.head = layer(sizes[-1], self.n_actions * self.n_atoms)
            self.layers = self.hidden + [self.head]
        self.noisy_layers = [m for m in self.layers if isinstance(m, L.NoisyLinear)]

    def forward(self, x):
        x = x if self.torso is None else self.torso(x)
        for layer in self.hidden:
            x = layer(x)
            x = F.relu(F.layer_norm(x) if self.layer_norm else x)
        batch = x.shape[:-1]  # (B,), or () for one observation
        atoms = () if self.n_atoms == 1 else (self.n_atoms,)
        if not self.dueling:
            y = self.head(x)
            return y.reshape(*batch, self.n_actions, *atoms) if atoms else y
        value = self.value(x).reshape((*batch, 1, *atoms))
        advantage = self.advantage(x).reshape((*batch, self.n_actions, *atoms))
        return dueling_aggregate(value, advantage, axis=len(batch))

    def reset_noise(self):
        """A new noise sample in every NoisyLinear (nothing without ``noisy``)."""
        for layer in self.noisy_layers:
            layer.reset_noise()

    def remove_noise(self):
        """The mean path of every NoisyLinear: a deterministic network, for evaluation."""
        for layer in self.noisy_layers:
            layer.remove_noise()


# ---------------------------------------------------------------------------
# TD targets (held constant: computed from arrays, under no_grad)
# ---------------------------------------------------------------------------

def n_step_discount(gamma, steps):
    """gamma^n for each sample: an n-step transition carries the discounted sum of n
    rewards, r_t + gamma r_{t+1} + ... + gamma^(n-1) r_{t+n-1} (``NStepBuffer``), and
    bootstraps n steps later (Sutton & Barto Eq. 7.1; Hessel et al. 2018, Eq. 2).
    ``steps`` is each sample's n (fewer at an episode's end); n = 1 gives gamma."""
    return (gamma ** steps).astype(np.float32)


def td_target(reward, next_q_target, terminated, gamma_n):
    """y = r + gamma^n (1 - terminated) max_a' Q(s', a'; theta^-)   (Mnih et al. 2015,
    Algorithm 1; n-step: Hessel et al. 2018, Eq. 2).

    ``next_q_target`` is Q(s', .; theta^-), (B, n_actions). A truncated transition has
    terminated = 0: the time limit cut the episode, s' still has a value, so it
    bootstraps. Arrays in, an array out: y is held constant.
    """
    not_terminal = 1.0 - np.asarray(terminated, np.result_type(reward))
    return reward + gamma_n * not_terminal * next_q_target.max(axis=1)


def double_dqn_target(reward, next_q_online, next_q_target, terminated, gamma_n):
    """y = r + gamma^n (1 - terminated) Q(s', argmax_a' Q(s', a'; theta); theta^-)
    (van Hasselt et al. 2016, Eq. 4).

    The online network picks a*, the target network values it, so one network's
    overestimation is not both chosen and believed.
    """
    best = next_q_online.argmax(axis=1)
    not_terminal = 1.0 - np.asarray(terminated, np.result_type(reward))
    return reward + gamma_n * not_terminal * next_q_target[np.arange(len(best)), best]


def greedy_next_action(next_q_target, next_q_online=None):
    """a* = argmax_a' Q(s', a'; theta^-), or with Double DQN argmax_a' Q(s', a'; theta):
    the action whose return distribution C51 bootstraps from (Bellemare et al. 2017,
    Algorithm 1, line 2)."""
    return (next_q_target if next_q_online is None else next_q_online).argmax(axis=1)


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------

def td_loss(q, target, weights=None, kind="mse"):
    """L = mean_i w_i l(y_i - Q(s_i, a_i)), l the squared error or the Huber loss.

    Without ``weights`` (uniform replay) this is ``F.mean_squared_error`` or
    ``F.huber_loss``. With importance weights w_i (prioritized replay, Schaul et al.
    2016, Algorithm 1 line 11) each sample's loss is scaled before the mean.
    """
    if weights is None:
        return F.mean_squared_error(q, target) if kind == "mse" else F.huber_loss(q, target)
    d = q - target
    per_sample = d * d if kind == "mse" else F.huber(d)
    return F.mean(per_sample * weights)


def project_distribution(next_probs, reward, terminated, gamma_n, support):
    """Project the Bellman-updated distribution onto the fixed support
    (Bellemare et al. 2017, Algorithm 1; Eq. 7).

    Atom j of the next state's distribution, probability p_j at return z_j, moves to
    T z_j = r + gamma^n (1 - terminated) z_j, clamped to [v_min, v_max]. It lands
    between two support points, at fractional index b_j = (T z_j - v_min) / dz, and is
    split between its neighbours l = floor(b_j) and u = ceil(b_j) in proportion to
    closeness: (u - b_j) p_j to z_l and (b_j - l) p_j to z_u. An atom landing exactly
    on a support point has l = u, where both shares would be 0: it gives all of p_j
    to z_l. Equivalent to Eq. 7, m_i = sum_j [1 - |T z_j - z_i| / dz]_0^1 p_j.

    next_probs (B, N), reward/terminated (B,), gamma_n a scalar or (B,), support (N,)
    evenly spaced. Returns the target probabilities m, (B, N); each row sums to 1.
    """
    next_probs = np.asarray(next_probs)
    batch, n_atoms = next_probs.shape
    v_min, v_max = float(support[0]), float(support[-1])
    dz = (v_max - v_min) / (n_atoms - 1)
    discount = np.asarray(gamma_n * (1.0 - np.asarray(terminated, np.float64)))
    tz = np.asarray(reward, np.float64)[:, None] + discount.reshape(-1, 1) * support[None, :]
    tz = np.clip(tz, v_min, v_max)
    b = np.clip((tz - v_min) / dz, 0, n_atoms - 1)  # clip: round-off must not pass N-1
    lower, upper = np.floor(b), np.ceil(b)
    to_lower = next_probs * (upper - b + (lower == upper))
    to_upper = next_probs * (b - lower)
    offset = (np.arange(batch) * n_atoms)[:, None]  # row i's atoms live at i*N .. i*N+N-1
    m = np.bincount((offset + lower.astype(np.int64)).ravel(), to_lower.ravel(),
                    minlength=batch * n_atoms)
    m += np.bincount((offset + upper.astype(np.int64)).ravel(), to_upper.ravel(),
                     minlength=batch * n_atoms)
    return m.reshape(batch, n_atoms).astype(next_probs.dtype, copy=False)


def categorical_cross_entropy(logits, target_probs):
    """Per sample: -sum_i m_i log p_i(s, a), p = softmax(logits) over the atoms
    (Bellemare et al. 2017, Algorithm 1, last line). Shape (B,).

    The target m is a constant; the gradient w.r.t. the logits is p - m.
    """
    return -F.sum(F.log_softmax(logits, axis=-1) * target_probs, axis=-1)


def start_at_atom(qnet, atom, logit=10.0):
    """Make C51's first return distribution (almost) a point mass on one atom.

    The head's bias gives ``atom`` a logit ``logit`` above the others, for every action
    (with a dueling head, in V's stream): with 51 atoms, e^10 / (e^10 + 50) = 99.8% of
    the mass sits there, so Z(s, a) starts at delta_0 (``atom`` is the one nearest 0),
    as DQN's Q(s, a) starts near 0. Untouched, the small random logits give about a
    uniform distribution over [v_min, v_max] instead: its mass at the far atoms, which
    every bootstrapped target carries back shrunk by only gamma^n, moves
    Q(s, a) = sum_i z_i p_i by more than a small task's action gap for thousands of
    updates (docs/ch10-dqn-variants.md, "Where C51's distribution starts").
    """
    layer = qnet.value if qnet.dueling else qnet.head
    bias = layer.b_mu if isinstance(layer, L.NoisyLinear) else layer.b
    offset = np.zeros((bias.data.size // qnet.n_atoms, qnet.n_atoms), bias.data.dtype)
    offset[:, atom] = logit  # one row per action (one, V's, with a dueling head)
    bias.data = bias.data + offset.ravel()


class ReturnScale:
    """What the warm-up tells about the size of returns, kept in O(1) memory: the mean
    reward of the steps after which the episode went on, the largest and smallest
    reward, and the largest positive and negative reward sums of an episode (the running
    one included). Every discounted return G_t = sum_k gamma^k r_{t+k} of an episode
    lies between its two sums."""
    fields = ("steps", "reward_sum", "r_max", "r_min", "episode_pos", "episode_neg",
              "pos_max", "neg_min")

    def __init__(self):
        self.values = dict.fromkeys(self.fields, 0.0)

    def add(self, reward, terminated, truncated):
        v, r = self.values, float(reward)
        if not terminated:  # a reward the episode went on from: part of a stream
            v["steps"] += 1
            v["reward_sum"] += r
        v["r_max"], v["r_min"] = max(v["r_max"], r), min(v["r_min"], r)
        v["episode_pos"] += max(r, 0.0)
        v["episode_neg"] += min(r, 0.0)
        v["pos_max"] = max(v["pos_max"], v["episode_pos"])
        v["neg_min"] = min(v["neg_min"], v["episode_neg"])
        if terminated or truncated:
            v["episode_pos"] = v["episode_neg"] = 0.0

    def state(self):
        return np.array([self.values[f] for f in self.fields])

    def load(self, array):
        self.values = dict(zip(self.fields, map(float, array)))


def fit_support(scale, gamma):
    """C51's support [-V, V] from the warm-up's rewards, when v_min = v_max = None:

        high = max(0, min(P, r_max / (1 - gamma)), r_mean / (1 - gamma))
        low  = min(0, max(N, r_min / (1 - gamma)), r_mean / (1 - gamma))
        V    = max(high, -low)

    P and N are the largest positive and negative reward sums of an episode, so
    [max(N, r_min / (1 - gamma)), min(P, r_max / (1 - gamma))] holds every discounted
    return seen. r_mean, the mean reward of the steps that did not end the episode by
    termination, over 1 - gamma is the return of keeping that stream up for ever: it
    stretches the support where returns grow as the agent learns (CartPole: random
    episodes of about 20 steps, returns up to 100 at gamma 0.99 once it balances).
    A reward that ends its episode (a goal) is no stream: a task rewarded 1 only there
    gets [-1, 1]; CartPole gets [-100, 100]. The support is symmetric, as Bellemare et
    al.'s [-10, 10]: its middle atom is the return 0, where Z starts (``start_at_atom``)
    whatever V turns out to be. With gamma = 1 the bounds are the reward sums seen.
    ``scale``: a ``ReturnScale``.
    """
    v = scale.values
    if gamma < 1:
        horizon = 1.0 / (1.0 - gamma)
        rate = v["reward_sum"] / max(v["steps"], 1) * horizon
        high = min(v["pos_max"], v["r_max"] * horizon)
        low = max(v["neg_min"], v["r_min"] * horizon)
    else:
        rate, high, low = 0.0, v["pos_max"], v["neg_min"]
    bound = max(high, -low, abs(rate))
    return -bound, bound


# ---------------------------------------------------------------------------
# The agent
# ---------------------------------------------------------------------------

class DQNAgent(Agent):
    """DQN (chapter 8) with the chapter 10 improvements as flags.

    ``act`` is epsilon-greedy on Q(s, .; theta) (noisy networks explore through their
    weights: the ``noisy`` preset, which ``noisy-dqn`` uses, sets epsilon to 0);
    ``update`` stores the transition and,
    every ``train_freq`` steps after ``learning_starts``, runs ``gradient_steps``
    minibatch updates (``learn``); the target network is copied from the online one
    every ``target_update_interval`` steps, or every ``target_update_episodes``
    episodes (the book: 20).
    """
    name = "dqn"
    action_spaces = (gym.spaces.Discrete,)
    observation_spaces = (gym.spaces.Box, gym.spaces.Discrete)
    hyperparameters = (
        # network and optimiser
        HParam("hidden_sizes", (64, 64), SIZES, None, "hidden layer widths of the Q network"),
        # 1e-3 and a 20k replay, not the rl-zoo's 2.3e-3 and 100k: final policies held more
        HParam("lr", 1e-3, float, "(0, inf)", "Adam step size"),
        HParam("optimizer", "adam", str, ("adam", "rmsprop"),
               "Adam, or RMSprop as MinAtar's DQN (alpha 0.95, eps 0.01)"),
        HParam("gamma", 0.99, float, "[0, 1]", "discount factor"),
        # the book's squared error: Huber caps the pull of the rare failures that pin Q
        HParam("loss", "mse", str, ("huber", "mse"), "TD loss (C51 uses cross-entropy)"),
        HParam("max_grad_norm", 10.0, float, "(0, inf)", "global gradient-norm clip",
               none="no clipping"),
        # replay and schedule of updates
        HParam("buffer_size", 20_000, int, "[1, inf)", "replay capacity"),
        # 128, not the rl-zoo's 64: a batch twice as likely to hold a rare failure
        HParam("batch_size", 128, int, "[1, inf)", "minibatch size"),
        HParam("learning_starts", 1000, int, "[0, inf)", "steps before the first update"),
        HParam("train_freq", 256, int, "[1, inf)", "environment steps between update rounds"),
        HParam("gradient_steps", 128, int, "[1, inf)", "gradient steps per update round"),
        HParam("target_update_interval", 256, int, "[0, inf)",
               "steps between target syncs (0: sync by episodes)"),
        HParam("target_update_episodes", 0, int, "[0, inf)",
               "episodes between target syncs, as in the book (0: sync by steps)"),
        # epsilon-greedy
        HParam("epsilon_start", 1.0, float, "[0, 1]", "epsilon at step 0"),
        HParam("epsilon_end", 0.04, float, "[0, 1]", "epsilon after exploration_steps"),
        HParam("exploration_steps", 8000, int, "[0, inf)", "steps of linear epsilon decay"),
        # chapter 10 (all off: plain DQN)
        HParam("double", False, bool, None, "Double DQN target"),
        HParam("prioritized", False, bool, None, "prioritized replay"),
        HParam("dueling", False, bool, None, "dueling head"),
        HParam("noisy", False, bool, None, "noisy layers"),
        HParam("categorical", False, bool, None, "C51 distributional head"),
        # 3, not 1: with 1-step targets Q overshot 1/(1 - gamma) once CartPole balanced
        HParam("n_step", 3, int, "[1, inf)", "steps of reward before bootstrapping"),
        HParam("per_alpha", 0.6, float, "[0, inf)", "priority exponent alpha"),
        HParam("per_beta", 0.4, float, "[0, 1]", "importance-weight exponent beta at step 0"),
        HParam("per_beta_steps", 100_000, int, "[1, inf)", "steps over which beta anneals to 1"),
        HParam("per_eps", 1e-6, float, "(0, inf)", "added to |delta| so no priority is 0"),
        HParam("noisy_sigma", 0.5, float, "(0, inf)", "sigma_0 of the noisy layers"),
        HParam("layer_norm", False, bool, None,
               "normalise each hidden layer's pre-activations (Ba et al. 2016)"),
        HParam("n_atoms", 51, int, "[2, inf)", "atoms of the C51 support"),
        HParam("v_min", None, float, None, "lowest return of the C51 support",
               none="fitted to the warm-up's returns (fit_support)"),
        HParam("v_max", None, float, None, "highest return of the C51 support",
               none="fitted to the warm-up's returns (fit_support)"),
    )
    presets = {
        # The chapter's settings: 4-128-128-2, Adam 5e-4, gamma 0.98, fixed epsilon 0.1,
        # buffer 10000, batch 32, MSE, target synced every 20 episodes, no clipping.
        "book": {"hidden_sizes": (128, 128), "lr": 5e-4, "gamma": 0.98, "loss": "mse",
                 "max_grad_norm": None, "buffer_size": 10_000, "batch_size": 32,
                 "learning_starts": 32, "train_freq": 1, "gradient_steps": 1,
                 "target_update_interval": 0, "target_update_episodes": 20,
                 "epsilon_start": 0.1, "epsilon_end": 0.1, "exploration_steps": 0,
                 "n_step": 1},
        # every flag on; a burst of random actions finds a goal sooner than noise alone
        "rainbow": {"double": True, "prioritized": True, "dueling": True, "noisy": True,
                    "categorical": True, "n_step": 3, "lr": 2.3e-3,
                    "epsilon_start": 1.0, "epsilon_end": 0.0, "exploration_steps": 8000,
                    "batch_size": 64},
        # epsilon floor 0.1: random actions keep the near-failure states that hold C51's
        # vanishing action gap on CartPole
        "c51": {"categorical": True, "epsilon_end": 0.1, "batch_size": 64},
        # MinAtar's DQN (Young & Tian 2019; docs/pixels.md): a 3x3 conv of 16 filters
        # (the torso every image observation gets), a 128-unit layer, RMSprop 2.5e-4,
        # Huber loss, 1-step targets, replay 100k from 5k frames on, batch 32, one update
        # per frame, target every 1000, epsilon 1 -> 0.1 over 100k frames.
        "minatar": {"hidden_sizes": (128,), "optimizer": "rmsprop", "lr": 2.5e-4,
                    "gamma": 0.99, "loss": "huber", "max_grad_norm": None,
                    "buffer_size": 100_000, "batch_size": 32, "learning_starts": 5000,
                    "train_freq": 1, "gradient_steps": 1, "target_update_interval": 1000,
                    "epsilon_start": 1.0, "epsilon_end": 0.1,
                    "exploration_steps": 100_000, "n_step": 1},
        # epsilon decays to 0 as noise takes over; Huber held more seeds than MSE here
        "noisy": {"noisy": True, "epsilon_start": 1.0, "epsilon_end": 0.0,
                  "exploration_steps": 8000, "loss": "huber"},
    }

    def check_relations(self, h):
        super().check_relations(h)
        if (h["target_update_interval"] > 0) == (h["target_update_episodes"] > 0):
            raise ValueError(
                f"{self.name}: set exactly one of target_update_interval (steps) and "
                "target_update_episodes (episodes) > 0, the other 0; got "
                f"{h['target_update_interval']} and {h['target_update_episodes']}")
        if (h["v_min"] is None) != (h["v_max"] is None):
            raise ValueError(f"{self.name}: set both v_min and v_max, or neither (a support "
                             f"fitted to the warm-up); got {h['v_min']} and {h['v_max']}")
        if h["v_min"] is not None and not h["v_min"] < h["v_max"]:
            raise ValueError(f"{self.name}: v_min must be < v_max, got {h['v_min']} "
                             f"and {h['v_max']}")

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        h = self.hparams
        self.n_actions, self.action_start = int(action_space.n), int(action_space.start)
        self.qnet = self.make_qnet()
        # C51's support: N evenly spaced returns z_i on [v_min, v_max], given, or fitted
        # to the warm-up's returns when learning starts (``fit_support``). Until then Q
        # is read on +-1 / (1 - gamma): a symmetric support of any scale has the same
        # middle atom, where Z starts, and the same greedy actions.
        self.support, self.return_scale = None, ReturnScale()
        self.support_pending = h["categorical"] and h["v_min"] is None
        if h["categorical"]:
            scale = 1.0 / (1.0 - h["gamma"]) if h["gamma"] < 1 else 1.0
            self.set_support(*((-scale, scale) if self.support_pending
                               else (h["v_min"], h["v_max"])))
            start_at_atom(self.qnet, int(np.argmin(np.abs(self.support))))
        self.target_qnet = self.make_qnet()
        optim.hard_update(self.target_qnet, self.qnet)
        self.optimizer = (optim.Adam(self.qnet.parameters(), lr=h["lr"])
                          if h["optimizer"] == "adam" else  # Young & Tian 2019's below
                          optim.RMSprop(self.qnet.parameters(), h["lr"], alpha=0.95, eps=0.01))

        if h["prioritized"]:
            self.replay = PrioritizedReplayBuffer(h["buffer_size"], self.encode.shape,
                                                  obs_dtype=storage_dtype(observation_space),
                                                  batch_dtype=np.float32,
                                                  alpha=h["per_alpha"], beta=h["per_beta"],
                                                  eps=h["per_eps"], rng=self.rng)
        else:
            self.replay = ReplayBuffer(h["buffer_size"], self.encode.shape, rng=self.rng,
                                       obs_dtype=storage_dtype(observation_space),
                                       batch_dtype=np.float32)  # bool frames stay bool
        # n-step returns; with n = 1 each step passes straight through as itself.
        self.n_step = NStepBuffer(h["n_step"], h["gamma"])

        self.steps = 0        # environment steps seen by update()
        self.episodes = 0     # episodes finished
        self.learn_steps = 0  # gradient steps taken
        self.rows = np.arange(h["batch_size"])

    def make_qnet(self):
        """The Q network (online and target alike): QNet with this agent's flags."""
        h = self.hparams
        torso, size = encoder_for(self.observation_space, self.rng)  # a conv for images
        return QNet(size, self.n_actions, h["hidden_sizes"], h["dueling"],
                    h["noisy"], h["n_atoms"] if h["categorical"] else 1, h["noisy_sigma"],
                    rng=self.rng, layer_norm=h["layer_norm"], torso=torso)

    def set_support(self, v_min, v_max):
        """C51's atoms: z_i = v_min + i (v_max - v_min) / (N - 1), i = 0 .. N-1."""
        self.support = np.linspace(v_min, v_max, self.hparams["n_atoms"]).astype(np.float32)

    def ready_to_learn(self):
        """C51 with a fitted support: fit it (``fit_support``) when learning first starts,
        or wait while every reward seen has been 0 (no scale to fit yet)."""
        if not self.support_pending:
            return True
        v_min, v_max = fit_support(self.return_scale, self.hparams["gamma"])
        if v_min == v_max:
            return False
        self.support_pending = False
        self.set_support(v_min, v_max)
        return True

    # -- acting ------------------------------------------------------------------------
    @property
    def epsilon(self):
        """epsilon of epsilon-greedy: start -> end linearly over exploration_steps, then
        end (Mnih et al. 2015: 1 -> 0.1; start == end is the book's fixed epsilon)."""
        h = self.hparams
        return linear_schedule(h["epsilon_start"], h["epsilon_end"], h["exploration_steps"],
                               self.steps)

    @property
    def beta(self):
        """Prioritized replay's beta, annealed to 1 over per_beta_steps (Schaul et al. 2016,
        Sec. 3.4): the bias correction is full by the end of training."""
        h = self.hparams
        return linear_schedule(h["per_beta"], 1.0, h["per_beta_steps"], self.steps)

    def q_of(self, out):
        """The network's output as Q(s, .): itself, or for C51 Q(s, a) = sum_i z_i p_i(s, a)."""
        if self.hparams["categorical"]:
            return F.softmax(out, axis=-1).data @ self.support
        return out

    def _q(self, net, x):
        """Q(s, .) as an array for a batch of encoded observations (no graph)."""
        with no_grad():
            return self.q_of(net(x).data)

    def q_values(self, obs):
        """Q(s, .) for one observation, as an ndarray (noisy layers: the mean path).

        The observation goes in as a vector, not a batch of one: NumPy's
        vector-matrix product is the faster one, and acting is on every step.
        """
        self.qnet.remove_noise()
        return self._q(self.qnet, self.encode(obs))

    def act(self, obs, explore=True):
        """Epsilon-greedy on Q(s, .): random with probability epsilon, else argmax.

        With noisy layers, ``explore=True`` acts on a fresh noise sample (Fortunato et
        al. 2018, Algorithm 1) and ``explore=False`` on the mean weights.
        """
        if explore:
            epsilon = self.epsilon
            if epsilon > 0 and self.rng.random() < epsilon:
                return int(self.rng.integers(self.n_actions)) + self.action_start
            if self.hparams["noisy"]:
                self.qnet.reset_noise()
                return int(self._q(self.qnet, self.encode(obs)).argmax()) + self.action_start
        return int(self.q_values(obs).argmax()) + self.action_start

    # -- learning ----------------------------------------------------------------------
    def update(self, obs, action, reward, next_obs, terminated, truncated):
        """Store the transition; learn and sync the target network on schedule."""
        h = self.hparams
        x, next_x = self.encode(obs), self.encode(next_obs)
        a = int(action) - self.action_start
        # an n-step transition completes n steps later (or at the episode's end)
        for transition in self.n_step.push(x.copy(), a, reward, next_x.copy(), terminated,
                                           truncated):
            self.replay.add(*transition)
        if self.support_pending:  # C51: the warm-up tells the returns' scale
            self.return_scale.add(reward, terminated, truncated)
        self.steps += 1
        info = None
        if (self.steps >= h["learning_starts"] and self.steps % h["train_freq"] == 0
                and len(self.replay) >= h["batch_size"] and self.ready_to_learn()):
            for _ in range(h["gradient_steps"]):
                info = self.learn()
        if h["target_update_interval"] and self.steps % h["target_update_interval"] == 0:
            self.sync_target()
        if terminated or truncated:
            self.episodes += 1
            if h["target_update_episodes"] and self.episodes % h["target_update_episodes"] == 0:
                self.sync_target()
        return info

    def sync_target(self):
        """theta^- <- theta (the book's ``sync_qnet``)."""
        optim.hard_update(self.target_qnet, self.qnet)

    def learn(self):
        """One gradient step on a minibatch (Mnih et al. 2015, Algorithm 1), with the
        target of the flags set: ``td_target``, ``double_dqn_target``, or C51's
        ``project_distribution``; n-step transitions discount by ``n_step_discount``."""
        h = self.hparams
        # prioritized replay gives its IS weights w_i; uniform replay's are all one, so
        # its loss is the plain mean (one fused op; the same gradients, bit for bit)
        batch = (self.replay.sample(h["batch_size"], beta=self.beta) if h["prioritized"]
                 else self.replay.sample(h["batch_size"]))
        weights = batch.weights if h["prioritized"] else None
        # noisy nets: independent noise for the online and the target network (no-ops
        # without noisy layers)
        self.qnet.reset_noise()
        self.target_qnet.reset_noise()

        out_a = F.pick(self.qnet(batch.obs), batch.action)  # Q(s, a), or Z(s, a)'s logits
        with no_grad():  # the target is a constant: no gradient reaches theta^-
            gamma_n = n_step_discount(h["gamma"], batch.steps)
            next_out = self.target_qnet(batch.next_obs).data  # theta^-'s output at s'
            next_online = self._q(self.qnet, batch.next_obs) if h["double"] else None
            if h["categorical"]:  # p_i(s', a*) moved by r + gamma^n z_i onto the support
                best = greedy_next_action(self.q_of(next_out), next_online)
                next_probs = F.softmax(next_out, axis=-1).data[self.rows, best]
                target = project_distribution(next_probs, batch.reward, batch.terminated,
                                              gamma_n, self.support)
            elif h["double"]:
                target = double_dqn_target(batch.reward, next_online, next_out,
                                           batch.terminated, gamma_n)
            else:
                target = td_target(batch.reward, next_out, batch.terminated, gamma_n)
        if h["categorical"]:  # C51: cross-entropy to the projected distribution
            per_sample = categorical_cross_entropy(out_a, target)
            loss = F.mean(per_sample if weights is None else per_sample * weights)
            td_error = per_sample.data  # Rainbow: the loss is the priority
        else:
            loss = td_loss(out_a, target, weights, h["loss"])
            td_error = out_a.data - target  # delta
        self.optimizer.zero_grad()
        loss.backward()
        # the norm before clipping is reported: how often the clip binds (docs/ch08.md)
        if h["max_grad_norm"] is not None:
            norm = optim.clip_grad_norm(self.optimizer.params, h["max_grad_norm"])
        else:
            norm = optim.grad_norm(self.optimizer.params)
        self.optimizer.step()
        if h["prioritized"]:  # p_i = |delta_i| + eps
            self.replay.update_priorities(batch.indices, td_error)
        self.learn_steps += 1
        return {"loss": float(loss.data), "grad_norm": norm}

    # -- state -------------------------------------------------------------------------
    def modules(self):
        return {"qnet": self.qnet, "target_qnet": self.target_qnet}

    def optimizers(self):
        return {"optimizer": self.optimizer}

    def extra_state(self):
        state = {"steps": np.array(self.steps), "episodes": np.array(self.episodes),
                 "learn_steps": np.array(self.learn_steps),
                 "support_pending": np.array(self.support_pending),
                 "return_scale": self.return_scale.state()}
        if self.hparams["categorical"]:
            state["support"] = self.support
        for key, value in self.replay.state_dict().items():
            state[f"replay.{key}"] = value
        for key, value in self.n_step.state_dict(self.encode.shape).items():
            state[f"nstep.{key}"] = value  # this episode's unfinished n-step transitions
        return state

    def load_extra_state(self, state):
        self.steps = int(state["steps"])
        self.episodes = int(state["episodes"])
        self.learn_steps = int(state["learn_steps"])
        if "support" in state:  # C51 (the network's offset comes with its parameters)
            self.support = np.asarray(state["support"], np.float32)
            self.support_pending = bool(state["support_pending"])
            self.return_scale.load(state["return_scale"])
        self.replay.load_state_dict(strip_prefix(state, "replay."))
        self.n_step.load_state_dict(strip_prefix(state, "nstep."))
