"""The small formulas that several agents share, each written once.

=====================  ==============================================  ==================
function               formula                                         used by
=====================  ==============================================  ==================
bootstrapped_target    y = r + gamma (1 - terminated) v(s')            every TD target
sample_categorical     a ~ pi(.|s) by inverting the CDF                PG family, A2C, A3C
categorical_log_prob   log pi(a|s) = log_softmax(logits)[a]            PG family, A2C, A3C
categorical_entropy    H(pi(.|s)) = -sum_a pi(a|s) log pi(a|s)         actor-critic, A2C
strip_prefix           {"replay.obs": x} -> {"obs": x}                 saved state
gaussian_log_prob      log N(x; mu, diag sigma^2), summed over dims    PPO (Box), SAC
gaussian_entropy       H = sum_i (log sigma_i + log(2 pi e) / 2)       PPO (Box)
=====================  ==============================================  ==================

``v(s')`` in ``bootstrapped_target`` is whatever the algorithm bootstraps from:
max_a' Q(s', a') for Q-learning and DQN, Q'(s', mu'(s')) for DDPG, V(s') for an
actor-critic. Only termination zeroes it: a step cut by a time limit still has a
future, so it keeps its bootstrap.
"""
import numpy as np

import minirl.functions as F

__all__ = ["bootstrapped_target", "sample_categorical", "categorical_log_prob",
           "categorical_entropy", "strip_prefix", "gaussian_log_prob",
           "gaussian_entropy", "finite_action_bounds"]


def bootstrapped_target(reward, next_value, terminated, gamma):
    """y = r + gamma (1 - terminated) v(s')   (Sutton & Barto Eq. 6.2 and every TD target
    after it).

    All arguments are plain arrays (or numbers): the target is held constant, so no
    gradient may flow through it. ``gamma`` may be an array too (gamma ** n per sample
    for n-step transitions).
    """
    not_terminal = 1.0 - np.asarray(terminated, np.result_type(reward))
    return reward + gamma * not_terminal * next_value


def sample_categorical(probs, rng):
    """One action per row of ``probs`` (B, A) by inverting the CDF: a = #{k: cdf_k <= u}.

    u is one uniform draw per row, scaled by the last CDF entry, so float rounding can
    never send it past the last action.
    """
    cdf = np.cumsum(probs, axis=1)
    u = rng.random((len(probs), 1)) * cdf[:, -1:]
    return (cdf <= u).sum(axis=1)


def categorical_log_prob(logits, actions):
    """log pi(a_t|s_t) for each row: log_softmax (log-sum-exp, never log(softmax))."""
    actions = np.asarray(actions, np.int64)
    return F.pick(F.log_softmax(logits, axis=-1), actions)


def categorical_entropy(logits):
    """H(pi(.|s)) = -sum_a pi(a|s) log pi(a|s), one value per row."""
    log_p = F.log_softmax(logits, axis=-1)
    return -F.sum(F.exp(log_p) * log_p, axis=-1)


def strip_prefix(state, prefix):
    """The entries of ``state`` whose key starts with ``prefix``, without it."""
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def gaussian_log_prob(x, mean, log_std):
    """log N(x; mu, diag(sigma^2)) = sum_i [-(x_i - mu_i)^2 / (2 sigma_i^2) - log sigma_i
    - log sqrt(2 pi)], one value per row of ``x`` (B, A).

    ``mean`` (B, A) and ``log_std`` ((A,) or (B, A)) may be Variables; the density is
    written with ``log_std`` so that sigma = exp(log_std) is never divided by as a
    possibly tiny number and its gradient stays finite.
    """
    z = (x - mean) * F.exp(-log_std)
    return F.sum(-0.5 * z * z - log_std, axis=-1) - x.shape[-1] * LOG_SQRT_2PI


def gaussian_entropy(log_std):
    """H(N(mu, diag sigma^2)) = sum_i (log sigma_i + log(2 pi e) / 2): the differential
    entropy, which does not depend on the mean. ``log_std`` (A,) -> a scalar."""
    return F.sum(log_std + (0.5 + LOG_SQRT_2PI), axis=-1)


def finite_action_bounds(algo, action_space):
    """(low, high) of a Box action space as flat float32 arrays. A tanh output is mapped
    onto them, so an infinite bound is an error that names the algorithm and the space."""
    low = np.asarray(action_space.low, np.float32).reshape(-1)
    high = np.asarray(action_space.high, np.float32).reshape(-1)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ValueError(f"{algo} maps a tanh output onto the action bounds, so they must "
                         f"be finite; this environment's action space is {action_space}")
    return low, high
