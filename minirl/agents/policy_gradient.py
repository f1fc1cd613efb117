"""Chapter 9: policy gradient methods -- simple PG, REINFORCE, baseline, Actor-Critic.

Instead of learning Q and acting greedily, learn the policy pi_theta(a|s) itself by
gradient ascent on the expected return J(theta) = E_tau[G(tau)]. The policy gradient
theorem (the log-derivative trick) turns the gradient into an expectation over the
trajectories the policy itself produces:

    grad J(theta) = E_tau[ sum_t  Phi_t  grad log pi_theta(a_t | s_t) ]      (9.1)

Every estimator of this chapter is this one sum with a different weight Phi_t:

    SimplePG            Phi_t = G(tau)                 the whole-episode return
    Reinforce           Phi_t = G_t                    the reward-to-go from t on
    ReinforceBaseline   Phi_t = G_t - V(s_t)           minus a learned baseline
    ActorCritic         Phi_t = r_t + gamma V(s_{t+1}) - V(s_t)    the TD error

In code each is a surrogate loss  L = -sum_t Phi_t log pi(a_t|s_t)  whose gradient is
minus the estimate, with Phi_t a constant (``policy_loss``). Whatever goes into Phi_t
carries no gradient: the policy must not learn by moving the critic, nor the critic by
moving its own target.

What is exact and what is not (tests/test_policy_gradient.py enumerates every
trajectory of a small MDP and checks each claim against finite differences of J):

* With gamma = 1 all four are unbiased: their expectation is grad J exactly (Actor-
  Critic only when V is the true V^pi; a learned critic's error becomes the actor's bias).
* With gamma < 1, SimplePG is still exactly grad J_gamma of the discounted return. The
  reward-to-go forms are exact only with an extra factor gamma^t on step t
  (Sutton & Barto eq. 13.8); the book, like nearly every implementation, leaves it out
  and so follows a slightly different direction. The agents here keep the book's form.
"""
import gymnasium as gym
import numpy as np

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl.agents.base import Agent, HParam
from minirl.agents.common import (bootstrapped_target, categorical_entropy,
                                  categorical_log_prob, sample_categorical)
from minirl.core import no_grad
from minirl.replay import linear_schedule

__all__ = ["discounted_return", "reward_to_go", "advantage", "policy_loss", "value_loss", "policy_net", "value_net",
           "SimplePG", "Reinforce", "ReinforceBaseline", "ActorCritic"]


# --- the formulas, one function each ---------------------------------------------------
def discounted_return(rewards, gamma):
    """G(tau) = r_0 + gamma r_1 + ... + gamma^(T-1) r_(T-1): the return of a whole episode."""
    rewards = np.asarray(rewards, np.float64)
    return float(np.sum(gamma ** np.arange(len(rewards)) * rewards))


def reward_to_go(rewards, gamma, bootstrap=0.0):
    """G_t = r_t + gamma G_(t+1), G_T = bootstrap: the return from step t on.

    ``bootstrap`` is the value of the state after the last step: 0 when the episode
    terminated, an estimate V(s_T) when a time limit cut it (only an agent with a value
    network has one). Computed backwards in one pass, as in the book's listing.
    """
    rewards = np.asarray(rewards, np.float64)
    returns = np.empty(len(rewards))
    g = float(bootstrap)
    for t in range(len(rewards) - 1, -1, -1):
        g = rewards[t] + gamma * g
        returns[t] = g
    return returns


def advantage(returns, values):
    """A_t = G_t - b(s_t): the return measured against a baseline (plain arrays).

    Any b(s) that does not depend on the action leaves E[A_t grad log pi] unchanged,
    because E_a[grad log pi(a|s)] = sum_a grad pi(a|s) = grad 1 = 0.
    """
    return np.asarray(returns) - np.asarray(values)


def policy_loss(log_probs, weights):
    """L = -sum_t Phi_t log pi(a_t|s_t): minus the estimate (9.1), Phi_t held constant.

    ``weights`` (Phi_t) must be a plain array: the estimator multiplies the score
    grad log pi by a number, so no gradient may flow through it.
    """
    weights = np.asarray(weights, log_probs.dtype)
    if weights.shape != log_probs.shape:
        raise ValueError(f"policy_loss: weights have shape {weights.shape}, log-probabilities "
                         f"{log_probs.shape}; give one weight per step")
    return -F.sum(log_probs * weights)


def value_loss(values, targets):
    """L_V = mean_t (V(s_t) - y_t)^2 with the targets y_t held constant."""
    return F.mean_squared_error(values, np.asarray(targets, values.dtype))


# --- the networks ------------------------------------------------------------------------
def _sizes(in_size, hidden_size, hidden_layers, out_size):
    return (in_size,) + (hidden_size,) * hidden_layers + (out_size,)


def policy_net(in_size, n_actions, hidden_size=128, hidden_layers=1, rng=None):
    """s -> logits of pi(.|s); the book's 4 -> 128 -> ReLU -> 2 (softmax applied outside,
    where log_softmax keeps it stable). ``hidden_layers=0`` is a linear (for one-hot
    states: tabular) softmax policy."""
    return L.MLP(_sizes(in_size, hidden_size, hidden_layers, n_actions), rng=rng)


def value_net(in_size, hidden_size=128, hidden_layers=1, rng=None):
    """s -> V(s), shape (batch, 1); the book's ValueNet 4 -> 128 -> ReLU -> 1."""
    return L.MLP(_sizes(in_size, hidden_size, hidden_layers, 1), rng=rng)


# --- the agents --------------------------------------------------------------------------
# A finished episode as ``losses`` takes it: (x, actions, rewards, next_x, terminated).
EPISODE_FIELDS = (("x", np.float32), ("actions", np.int64), ("rewards", np.float32),
                  ("next_x", np.float32), ("terminated", bool))

class SimplePG(Agent):
    """Section 9.1: every log pi(a_t|s_t) of an episode weighted by its return G(tau).

    The agent collects one episode (its ``memory``) and, when it ends, takes one Adam
    step on  L = -G(tau) sum_t log pi(a_t|s_t)  (``simple_pg.py`` in the book). An
    episode cut by a time limit is learned from as it was observed: its return lacks
    what would have come after the cut, and nothing here can estimate that.

    Its defaults differ from the other agents' in two ways (docs/ch09.md measures both):

    * gamma = 1: the weight is the episode's return itself. Discounted, G(tau) saturates
      at 1/(1 - gamma) and long episodes look alike (gamma 0.99: 95.1 after 300 steps,
      99.3 after 500), which leaves almost nothing for the gradient to follow.
    * the step size decays linearly to 0 over ``anneal_steps`` environment steps. At
      the optimum every episode has the same G(tau), and G(tau) sum_t grad log pi has
      expectation 0 (E_a[grad log pi(a|s)] = 0): the gradient is pure noise, and a
      constant step walks the policy off the optimum. A step that shrinks lets it
      settle (Robbins & Monro 1951): over 400k steps, the budget it is benchmarked
      with. ``anneal_steps=None`` keeps lr constant.

    ``episodes_per_update = E > 1`` averages the loss over E episodes before the step,
    L = (1/E) sum_e L_e: the Monte Carlo estimate of (9.1) over E trajectories, as
    Spinning Up's simplest policy gradient takes it (a batch of episodes per epoch). Its
    variance is 1/E of one episode's, which is what the weight G(tau) needs.
    """
    name = "simple-pg"
    action_spaces = (gym.spaces.Discrete,)
    observation_spaces = (gym.spaces.Box, gym.spaces.Discrete)
    # Defaults: tuned on CartPole-v1 (benchmarks/bench_policy_gradient.py). "book": the
    # chapter's 4 -> 128 -> 2 policy, Adam 2e-4, gamma 0.98 (it trains 3000 episodes of
    # CartPole with a 200-step limit), one episode per step.
    hyperparameters = (
        HParam("gamma", 1.0, float, "[0, 1]", "discount factor"),
        HParam("lr", 1e-3, float, "(0, inf)", "Adam step size of the policy"),
        HParam("anneal_steps", 400_000, int, "[1, inf)",
               "decay lr linearly to 0 over this many environment steps",
               none="a constant lr"),
        HParam("hidden_size", 128, int, "[1, inf)", "width of each hidden layer"),
        HParam("hidden_layers", 1, int, "[0, inf)", "number of hidden layers"),
        HParam("episodes_per_update", 1, int, "[1, inf)",
               "episodes whose losses are averaged into one gradient step"),
    )
    presets = {"book": {"gamma": 0.98, "lr": 2e-4, "anneal_steps": None, "hidden_size": 128,
                        "hidden_layers": 1, "episodes_per_update": 1}}

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        h = self.hparams
        self.n_actions = int(action_space.n)
        self.pi = policy_net(self.encode.size, self.n_actions, h["hidden_size"],
                             h["hidden_layers"], rng=self.rng)
        self.optimizer = optim.Adam(self.pi.parameters(), lr=h["lr"])
        self.memory_x, self.memory_actions, self.memory_rewards = [], [], []
        self.episodes = []  # finished episodes not yet learned from (episodes_per_update)
        self.steps = 0      # environment steps seen: the clock of the lr schedule

    # -- acting -----------------------------------------------------------------------
    def action_probs(self, obs):
        """pi(.|s) for one observation, as a float64 array."""
        with no_grad():
            logits = self.pi(self.encode(obs)[None]).data[0].astype(np.float64)
        p = np.exp(logits - logits.max())
        return p / p.sum()

    def act(self, obs, explore=True):
        """Sample a ~ pi(.|s); with explore=False the most probable action."""
        p = self.action_probs(obs)
        if not explore:
            return int(np.argmax(p))
        # inverse-CDF sampling: one uniform draw from the agent's own generator
        return int(sample_categorical(p[None], self.rng)[0])

    # -- learning ---------------------------------------------------------------------
    def weights(self, rewards):
        """Phi_t for every step of one episode: here G(tau), the same for all t."""
        return np.full(len(rewards), discounted_return(rewards, self.hparams["gamma"]))

    def losses(self, x, actions, rewards, next_x, terminated):
        """The per-episode loss(es): name -> scalar Variable.

        x, next_x: encoded s_t and s_(t+1), (T, size) as ``self.encode.batch`` gives;
        actions, rewards, terminated: (T,). The update of one episode is one step on these.
        """
        log_probs = categorical_log_prob(self.pi(x), actions)
        return {"policy": policy_loss(log_probs, self.weights(rewards))}

    def modules_optimizers(self):
        """(module, optimizer) for each loss name."""
        return {"policy": (self.pi, self.optimizer)}

    def batch_losses(self, episodes):
        """L = (1/E) sum_e L_e for each loss name: the mean over E episodes, each a tuple
        (x, actions, rewards, next_x, terminated) as ``losses`` takes it."""
        per_episode = [self.losses(*episode) for episode in episodes]
        return {name: sum(losses[name] for losses in per_episode) / len(per_episode)
                for name in per_episode[0]}

    def learning_rate(self):
        """lr_t = lr (1 - t / anneal_steps), floored at 0, at environment step t."""
        h = self.hparams
        if h.get("anneal_steps") is None:
            return h["lr"]
        return linear_schedule(h["lr"], 0.0, h["anneal_steps"], self.steps)

    def learn(self, episodes):
        """One gradient step on each loss, averaged over ``episodes`` (each network has
        its own loss and optimizer: the graphs are disjoint, so neither loss moves the
        other network)."""
        self.optimizer.lr = self.learning_rate()  # the policy's step (a critic keeps its own)
        losses = self.batch_losses(episodes)
        pairs = self.modules_optimizers()
        for module, _ in pairs.values():
            module.zero_grad()
        for loss in losses.values():
            loss.backward()
        for _, optimizer in pairs.values():
            optimizer.step()
        return {f"{name}_loss": loss.item() for name, loss in losses.items()}

    def update(self, obs, action, reward, next_obs, terminated, truncated):
        """Remember the step; when ``episodes_per_update`` episodes have ended, learn
        from all of them."""
        self.steps += 1
        self.memory_x.append(self.encode(obs))
        self.memory_actions.append(int(action))
        self.memory_rewards.append(float(reward))
        if not (terminated or truncated):
            return None
        x = np.stack(self.memory_x)
        next_x = np.concatenate([x[1:], self.encode(next_obs)[None]])
        done = np.zeros(len(x), bool)
        done[-1] = terminated  # a truncated episode's last state is not terminal
        actions = np.array(self.memory_actions, np.int64)
        rewards = np.array(self.memory_rewards, np.float32)
        self.memory_x, self.memory_actions, self.memory_rewards = [], [], []
        self.episodes.append((x, actions, rewards, next_x, done))
        if len(self.episodes) < self.hparams["episodes_per_update"]:
            return None
        episodes, self.episodes = self.episodes, []
        return self.learn(episodes)

    # -- state ------------------------------------------------------------------------
    def modules(self):
        return {"pi": self.pi}

    def optimizers(self):
        return {"pi": self.optimizer}

    def extra_state(self):
        """The unfinished episode and the finished ones not yet learned from, so a
        resumed run learns from all of them."""
        size = self.encode.size
        x = np.stack(self.memory_x) if self.memory_x else np.zeros((0, size), np.float32)
        state = {"memory_x": x, "memory_actions": np.array(self.memory_actions, np.int64),
                 "memory_rewards": np.array(self.memory_rewards, np.float64),
                 "episodes_lengths": np.array([len(e[0]) for e in self.episodes], np.int64),
                 "steps": np.array(self.steps, np.int64)}
        for i, (name, dtype) in enumerate(EPISODE_FIELDS):
            empty = np.zeros((0, size) if name.endswith("x") else (0,), dtype)
            state[f"episodes_{name}"] = np.concatenate(
                [episode[i] for episode in self.episodes] or [empty])
        return state

    def load_extra_state(self, state):
        self.memory_x = [np.array(row, np.float32) for row in state["memory_x"]]
        self.memory_actions = [int(a) for a in state["memory_actions"]]
        self.memory_rewards = [float(r) for r in state["memory_rewards"]]
        self.steps = int(state.get("steps", 0))
        self.episodes = []
        starts = np.cumsum(np.concatenate([[0], state.get("episodes_lengths", [])]))
        for start, end in zip(starts[:-1], starts[1:]):
            self.episodes.append(tuple(np.array(state[f"episodes_{name}"][start:end])
                                       for name, _ in EPISODE_FIELDS))


class Reinforce(SimplePG):
    """Section 9.2: weight log pi(a_t|s_t) by the reward-to-go G_t only.

    An action cannot change the rewards that came before it, so their terms in (9.1)
    have expectation zero; dropping them removes their noise (``reinforce.py``).
    """
    name = "reinforce"
    # G_t does not saturate the way G(tau) does, and a constant step held (docs/ch09.md)
    hyperparameters = SimplePG.hyperparameters + (
        HParam("gamma", 0.99, float, "[0, 1]", "discount factor"),
        HParam("anneal_steps", None, int, "[1, inf)",
               "decay lr linearly to 0 over this many environment steps",
               none="a constant lr"),
    )

    def weights(self, rewards):
        """Phi_t = G_t = sum_(k>=t) gamma^(k-t) r_k. A time limit that cut the episode
        leaves G_t as what was observed: there is no V to fill in the rest."""
        return reward_to_go(rewards, self.hparams["gamma"])


class ReinforceBaseline(Reinforce):
    """Section 9.3: REINFORCE with a learned baseline b(s) = V(s).

    Phi_t = G_t - V(s_t); the policy sees V only as numbers, and V is fitted to G_t by
    its own loss. When a time limit cut the episode, G_t is completed with V(s_T) of
    the last state (bootstrap on truncation, never on termination).
    """
    name = "reinforce-baseline"
    hyperparameters = Reinforce.hyperparameters + (
        HParam("value_lr", 1e-3, float, "(0, inf)", "Adam step size of the value network"),
    )
    presets = {"book": {**SimplePG.presets["book"], "value_lr": 5e-4}}

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        h = self.hparams
        self.v = value_net(self.encode.size, h["hidden_size"], h["hidden_layers"], rng=self.rng)
        self.value_optimizer = optim.Adam(self.v.parameters(), lr=h["value_lr"])

    def value(self, obs):
        """V(s) for one observation, as a float."""
        with no_grad():
            return float(self.v(self.encode(obs)[None]).data[0, 0])

    def returns(self, rewards, next_x, terminated):
        """G_t, bootstrapped with V(s_T) when the episode was truncated."""
        bootstrap = 0.0
        if not terminated[-1]:
            with no_grad():
                bootstrap = float(self.v(next_x[-1:]).data[0, 0])
        return reward_to_go(rewards, self.hparams["gamma"], bootstrap)

    def losses(self, x, actions, rewards, next_x, terminated):
        returns = self.returns(rewards, next_x, terminated)
        values = self.v(x).reshape(len(x))           # V(s_t), with a graph: the critic learns
        weights = advantage(returns, values.data)    # .data: no gradient into V from here
        log_probs = categorical_log_prob(self.pi(x), actions)
        return {"policy": policy_loss(log_probs, weights),
                "value": value_loss(values, returns)}

    def modules_optimizers(self):
        return {"policy": (self.pi, self.optimizer), "value": (self.v, self.value_optimizer)}

    def modules(self):
        return {"pi": self.pi, "v": self.v}

    def optimizers(self):
        return {"pi": self.optimizer, "v": self.value_optimizer}


class ActorCritic(ReinforceBaseline):
    """Section 9.4: one-step Actor-Critic, learning after every step.

    The baseline agent with the rest of the episode replaced by one step and V: the
    critic V is pulled towards the TD target y = r + gamma V(s') (held constant); the
    actor weights log pi(a|s) by the TD error delta = y - V(s) (held constant), an
    estimate of the advantage Q(s, a) - V(s). An optional entropy bonus
    ``entropy_coef * H(pi(.|s))`` keeps the policy from collapsing early.
    """
    name = "actor-critic"
    # a smaller policy step than the episodic agents: it steps after every transition,
    # and at 1e-3 its CartPole policy collapses again after solving
    # (it learns from each step: no episodes_per_update, and no anneal_steps)
    hyperparameters = tuple(h for h in ReinforceBaseline.hyperparameters
                            if h.name not in ("episodes_per_update", "anneal_steps")) + (
        HParam("lr", 5e-4, float, "(0, inf)", "Adam step size of the policy"),
        HParam("entropy_coef", 0.0, float, "[0, inf)", "weight of the entropy bonus"),
    )
    presets = {"book": {**{k: v for k, v in ReinforceBaseline.presets["book"].items()
                           if k not in ("episodes_per_update", "anneal_steps")},
                        "entropy_coef": 0.0}}

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)

    def losses(self, x, actions, rewards, next_x, terminated):
        """Critic and actor losses of a batch of transitions (the agent uses one)."""
        values = self.v(x).reshape(len(x))              # V(s): the critic's prediction
        with no_grad():                                 # V(s') only inside the target
            next_values = self.v(next_x).data.reshape(len(x))
        target = bootstrapped_target(np.asarray(rewards, values.dtype), next_values,
                                     terminated, self.hparams["gamma"])
        delta = advantage(target, values.data)          # TD error, a constant for the actor
        logits = self.pi(x)
        loss_pi = policy_loss(categorical_log_prob(logits, actions), delta)
        if self.hparams["entropy_coef"]:
            loss_pi = loss_pi - (self.hparams["entropy_coef"]
                                 * F.sum(categorical_entropy(logits)))
        return {"policy": loss_pi, "value": value_loss(values, target)}

    def update(self, obs, action, reward, next_obs, terminated, truncated):
        """Learn from this one transition at once: the episode memory stays empty.
        ``truncated`` needs nothing here: the TD target bootstraps unless ``terminated``."""
        x = self.encode(obs)[None]
        next_x = self.encode(next_obs)[None]
        return self.learn([(x, np.array([action], np.int64), np.array([reward], np.float32),
                            next_x, np.array([terminated], bool))])
