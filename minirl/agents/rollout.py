"""Rollouts, and the returns and advantages computed over them: what A2C, A3C and PPO
share.

An on-policy agent collects a rollout of T steps in each of N environments stepped
together, then computes, for every step, a return (the critic's target) and an advantage
(the actor's weight) from it:

    n-step return  G_t = r_t + gamma r_{t+1} + ... + gamma^k V(s_{t+k})   (S&B eq. 7.1)
    GAE            A_t = sum_l (gamma lambda)^l delta_{t+l}      (Schulman 2016 eq. 16)
                   delta_t = r_t + gamma V(s_{t+1}) - V(s_t)

Returns stop at episode ends: after a *terminated* step nothing follows (no bootstrap);
after a *truncated* one the episode was only cut by a time limit, so the return
bootstraps from the value of its true final observation, which the training loop hands
over in ``next_obs``. Everything is written over (T, N) arrays.
"""
import numpy as np

__all__ = ["n_step_returns", "gae", "Rollout"]


# --- returns and advantages ------------------------------------------------------------
def n_step_returns(rewards, next_values, terminated, truncated, gamma):
    """n-step bootstrapped returns over a (T, N) rollout (Sutton & Barto eq. 7.1):

        G_t = r_t + gamma * (1 - terminated_t) * (V(s'_t)   if t ends an episode or the rollout
                                                  G_{t+1}   otherwise)

    so G_t sums the rewards up to the end of its episode or of the rollout, whichever
    comes first, then adds the discounted value there: V of the true final observation
    after a truncation or at the rollout's end, nothing after a termination.

    ``next_values[t]`` is V(s'_t), the value of the observation that followed step t
    (the final observation when the episode ended there); only the entries at episode
    ends and at t = T-1 are read. All arrays are (T, N); returns (T, N).
    """
    rewards, next_values = np.asarray(rewards), np.asarray(next_values)
    terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
    done = terminated | truncated
    returns = np.empty(np.broadcast_shapes(rewards.shape, next_values.shape),
                       np.result_type(rewards, next_values))
    following = next_values[-1]  # the rollout's end: bootstrap from V(s_T)
    for t in reversed(range(len(rewards))):
        # An episode that ends at t does not continue into G_{t+1}: that is the next one.
        following = np.where(done[t], next_values[t], following)
        returns[t] = rewards[t] + gamma * np.where(terminated[t], 0.0, following)
        following = returns[t]
    return returns


def gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    """Generalized advantage estimation (Schulman et al. 2016, eq. 16) over a (T, N) rollout:

        delta_t = r_t + gamma * (1 - terminated_t) * V(s'_t) - V(s_t)
        A_t     = delta_t + gamma * lam * (1 - done_t) * A_{t+1},      A_T = 0

    ``values[t]`` is V(s_t); ``next_values[t]`` is V(s'_t), the value of the observation
    after step t (the true final observation when the episode ended there). An episode
    end (terminated or truncated) stops the sum; a truncated step still bootstraps in
    its delta. lam = 1 gives A_t = G_t - V(s_t) with G_t the n-step return; lam = 0
    gives the one-step TD error. All arrays (T, N); returns the advantages (T, N).
    """
    rewards, values = np.asarray(rewards), np.asarray(values)
    next_values = np.asarray(next_values)
    terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
    deltas = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    carry = np.where(terminated | truncated, 0.0, gamma * lam)  # what flows back from t+1
    advantages = np.empty_like(deltas)
    following = np.zeros_like(deltas[-1])
    for t in reversed(range(len(deltas))):
        following = advantages[t] = deltas[t] + carry[t] * following
    return advantages


# --- the rollout ---------------------------------------------------------------------
class Rollout:
    """``n_steps`` x N transitions in preallocated arrays: filled step by step, then read.

    ``obs`` and ``next_obs`` hold encoded observations (float32 vectors); ``next_obs[t]``
    is the true next observation of step t (the final one when the episode ended).
    """
    fields = ("obs", "actions", "rewards", "next_obs", "terminated", "truncated")

    def __init__(self, n_steps, num_envs, obs_size, action_shape=(), action_dtype=np.int64):
        T, N = n_steps, num_envs
        self.obs = np.zeros((T, N, obs_size), np.float32)
        # (T, N) ints for Discrete actions; (T, N, A) floats for Box ones
        self.actions = np.zeros((T, N, *action_shape), action_dtype)
        self.rewards = np.zeros((T, N), np.float32)
        self.next_obs = np.zeros((T, N, obs_size), np.float32)
        self.terminated = np.zeros((T, N), bool)
        self.truncated = np.zeros((T, N), bool)
        self.t = 0

    def add(self, obs, actions, rewards, next_obs, terminated, truncated):
        t = self.t
        self.obs[t], self.actions[t], self.rewards[t] = obs, actions, rewards
        self.next_obs[t], self.terminated[t], self.truncated[t] = next_obs, terminated, truncated
        self.t += 1

    @property
    def full(self):
        return self.t == len(self.obs)

    def arrays(self):
        """The steps filled so far, as (t, N, ...) views."""
        return tuple(getattr(self, name)[:self.t] for name in self.fields)

    def state_dict(self):
        return {**{f"rollout.{n}": getattr(self, n).copy() for n in self.fields},
                "rollout.t": np.array(self.t)}

    def load_state_dict(self, state):
        for n in self.fields:
            getattr(self, n)[...] = state[f"rollout.{n}"]
        self.t = int(state["rollout.t"])
