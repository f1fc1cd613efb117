"""After the book: PPO, proximal policy optimization (Schulman et al. 2017).

A2C (``a2c.py``) takes ONE gradient step on each rollout and throws it away: a second
step on the same data would follow a policy gradient that is no longer the current
policy's. PPO reuses each rollout for several epochs of minibatch steps, and keeps the
new policy pi_theta close to the one that collected the data, pi_old, by clipping the
probability ratio rho_t = pi_theta(a_t|s_t) / pi_old(a_t|s_t) (Schulman et al. Eq. 7):

    L^CLIP(theta) = mean_t min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t)

Once rho_t has left [1 - eps, 1 + eps] on the side that helps (rho > 1 + eps with
A > 0, rho < 1 - eps with A < 0), the clipped term is the smaller one and is constant
in theta: that sample stops pulling. On the other side the min keeps the unclipped
term, so a step that made things worse can always be undone.

The whole loss of one minibatch (Eq. 9, as a loss to minimise):

    L = -L^CLIP  +  c_v L^V  -  c_e mean_t H(pi_theta(.|s_t))

with L^V the (optionally clipped) value regression. Algorithm 1, with the details of
CleanRL's ``ppo.py`` / ``ppo_continuous_action.py`` (Huang et al. 2022, "The 37
Implementation Details of PPO"; numbered as in docs/ppo.md):

    for each rollout of n_steps x num_envs transitions, collected by pi_old:
        A_t = GAE(lambda) with V_old; R_t = A_t + V_old(s_t)       (rollout.gae, Eq. 11)
        for epoch in 1..update_epochs:
            for each shuffled minibatch:
                A_t <- (A_t - mean) / (std + 1e-8)                  (norm_adv)
                L = -L^CLIP + c_v L^V - c_e H                      (ppo_loss)
                one Adam step on L, global gradient norm <= max_grad_norm
            stop early if approx KL(pi_old || pi_theta) > target_kl

Actions: ``Discrete`` -> a categorical policy (softmax of logits); ``Box`` -> a diagonal
Gaussian N(mu_theta(s), diag sigma^2) whose log sigma is a parameter of its own,
independent of the state. A Gaussian sample may fall outside the action bounds: a
``ClipAction`` wrapper around the environment (``wrap_env``, as CleanRL's
``gym.wrappers.ClipAction``) clips it for the environment step alone, and the agent
learns from the sample itself, whose log-probability is the Gaussian's (the clipped
action has no density).

Observations that are images (a 3-D ``Box``) pass through ONE convolutional torso
(``torso.py``) whose features both the policy and the value network read, as CleanRL's
``ppo_atari.py`` (``hidden = self.network(x)`` feeds ``self.actor`` and ``self.critic``)
and stable-baselines3's ``CnnPolicy`` (``share_features_extractor=True``) do: the torso
learns from the policy loss and the value loss together. Vector observations have no torso.
"""
import gymnasium as gym
import numpy as np

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl.agents.base import Agent, HParam
from minirl.agents.common import (categorical_entropy, categorical_log_prob,
                                  gaussian_entropy, gaussian_log_prob, sample_categorical)
from minirl.agents.hparams import SIZES
from minirl.agents.rollout import Rollout, gae
from minirl.agents.torso import encoder_for
from minirl.core import no_grad

__all__ = ["clipped_surrogate", "value_loss", "approx_kl", "clip_fraction",
           "explained_variance", "normalize_advantages", "ppo_loss", "orthogonal_init",
           "CategoricalPolicy", "GaussianPolicy", "ValueNet", "PPOAgent"]


# --- the objective -----------------------------------------------------------------
def clipped_surrogate(log_prob, old_log_prob, advantages, clip_coef):
    """L^CLIP = mean_t min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t)
    (Schulman et al. 2017, Eq. 7), to be MAXIMISED.

    rho_t = exp(log pi_theta(a_t|s_t) - log pi_old(a_t|s_t)): the ratio is formed from
    log-probabilities, so a tiny probability never divides. ``log_prob`` (B,) is a
    Variable; ``old_log_prob`` and ``advantages`` are constants. At rho = 1 its gradient
    is mean_t A_t grad log pi(a_t|s_t), the policy-gradient estimator (Eq. 2).
    """
    ratio = F.exp(log_prob - old_log_prob)
    unclipped = ratio * advantages
    clipped = F.clip(ratio, 1.0 - clip_coef, 1.0 + clip_coef) * advantages
    return F.mean(F.minimum(unclipped, clipped))


def value_loss(values, old_values, returns, clip_coef=None):
    """L^V = 1/2 mean_t (V(s_t) - R_t)^2, or, clipped (``clip_coef`` given; OpenAI
    baselines' PPO2, CleanRL detail 9),

        L^V = 1/2 mean_t max((V - R)^2, (V_old + clip(V - V_old, -eps, eps) - R)^2)

    which, like the policy's clip, takes away the gain of moving V further than eps
    from the value that collected the data. ``values`` is a Variable (B,).
    """
    unclipped = (values - returns) ** 2
    if clip_coef is None:
        return 0.5 * F.mean(unclipped)
    clipped_values = old_values + F.clip(values - old_values, -clip_coef, clip_coef)
    clipped = (clipped_values - returns) ** 2
    return 0.5 * F.mean(F.maximum(unclipped, clipped))


def approx_kl(log_prob, old_log_prob):
    """KL(pi_old || pi_theta) ~= mean_t [(rho_t - 1) - log rho_t] (Schulman's k3
    estimator, as CleanRL logs it): unbiased, and >= 0 for every sample. Arrays."""
    log_ratio = np.asarray(log_prob) - np.asarray(old_log_prob)
    return float(np.mean(np.expm1(log_ratio) - log_ratio))


def clip_fraction(log_prob, old_log_prob, clip_coef):
    """The share of samples whose ratio left [1 - eps, 1 + eps]: how much the clip bites."""
    ratio = np.exp(np.asarray(log_prob) - np.asarray(old_log_prob))
    return float(np.mean(np.abs(ratio - 1.0) > clip_coef))


def explained_variance(values, returns):
    """1 - Var(R - V) / Var(R): 1 is a perfect critic, 0 no better than a constant."""
    var = np.var(returns)
    return float("nan") if var == 0 else float(1.0 - np.var(returns - values) / var)


def normalize_advantages(advantages):
    """(A - mean A) / (std A + 1e-8) over one minibatch (CleanRL detail 7)."""
    return (advantages - advantages.mean()) / (advantages.std() + 1e-8)


def ppo_loss(policy, critic, batch, h):
    """The PPO loss of one minibatch (Schulman et al. 2017, Eq. 9, negated):

        L = -L^CLIP + c_v L^V - c_e mean H(pi(.|s))

    ``batch`` is a dict: obs, what both networks read (the encoded observations, or a
    torso's features of them: a Variable, through which the gradient of every term goes
    on into the torso), and the arrays actions, log_probs (pi_old's), advantages,
    returns, values (V_old's). Returns (loss Variable, dict of floats to log).
    """
    advantages = batch["advantages"]
    if h["norm_adv"] and len(advantages) > 1:
        advantages = normalize_advantages(advantages)
    log_prob, entropy = policy.log_prob_entropy(batch["obs"], batch["actions"])
    surrogate = clipped_surrogate(log_prob, batch["log_probs"], advantages, h["clip_coef"])
    v_loss = value_loss(critic(batch["obs"]), batch["values"], batch["returns"],
                        h["clip_coef"] if h["clip_vloss"] else None)
    entropy = F.mean(entropy)
    loss = -surrogate + h["value_coef"] * v_loss - h["entropy_coef"] * entropy
    return loss, {"policy_loss": -surrogate.item(), "value_loss": v_loss.item(),
                  "entropy": entropy.item(),
                  "approx_kl": approx_kl(log_prob.data, batch["log_probs"]),
                  "clip_fraction": clip_fraction(log_prob.data, batch["log_probs"],
                                                 h["clip_coef"])}


# --- the networks ------------------------------------------------------------------
def orthogonal_init(layer, gain, rng):
    """W <- gain * an orthogonal matrix, b <- 0 (Saxe et al. 2014; CleanRL detail 2).

    The orthogonal factor of a Gaussian matrix's QR decomposition, with the signs of
    R's diagonal moved into Q so that it is uniformly distributed.
    """
    n_in, n_out = layer.W.shape
    a = rng.standard_normal((max(n_in, n_out), min(n_in, n_out)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    q = q if n_in >= n_out else q.T
    layer.W.data = (gain * q).astype(layer.W.data.dtype)
    layer.b.data = np.zeros_like(layer.b.data)


def _mlp(sizes, last_gain, rng):
    """tanh MLP; hidden layers with gain sqrt 2, the last with ``last_gain``."""
    net = L.MLP(sizes, activation=F.tanh, rng=rng)
    for layer in net.layers[:-1]:
        orthogonal_init(layer, np.sqrt(2.0), rng)
    orthogonal_init(net.layers[-1], last_gain, rng)
    return net


class CategoricalPolicy(L.Module):
    """pi(a|s) = softmax(MLP(s))_a. The last layer starts at gain 0.01, so the first
    policy is nearly uniform (CleanRL detail 2)."""

    def __init__(self, obs_size, n_actions, hidden_sizes, rng):
        super().__init__()
        self.net = _mlp((obs_size, *hidden_sizes, n_actions), 0.01, rng)

    def log_prob_entropy(self, obs, actions):
        """(log pi(a|s), H(pi(.|s))), each (B,)."""
        logits = self.net(obs)
        return categorical_log_prob(logits, actions), categorical_entropy(logits)

    def sample(self, obs, rng):
        with no_grad():
            return sample_categorical(F.softmax(self.net(obs)).data, rng)

    def greedy(self, obs):
        with no_grad():
            return np.argmax(self.net(obs).data, axis=1)


class GaussianPolicy(L.Module):
    """pi(a|s) = N(mu(s), diag sigma^2) with mu an MLP and log sigma a free parameter
    vector, the same in every state (Schulman et al. 2017, Sec. 6.1; CleanRL
    ``ppo_continuous_action.py``). log sigma starts at 0: sigma = 1."""

    def __init__(self, obs_size, action_size, hidden_sizes, rng, log_std_init=0.0):
        super().__init__()
        self.mean = _mlp((obs_size, *hidden_sizes, action_size), 0.01, rng)
        self.log_std = L.Parameter(np.full(action_size, log_std_init, np.float32),
                                   name="log_std")

    def log_prob_entropy(self, obs, actions):
        """(log N(a; mu(s), sigma^2) (B,), H (a scalar: sigma is the same everywhere))."""
        return (gaussian_log_prob(actions, self.mean(obs), self.log_std),
                gaussian_entropy(self.log_std))

    def sample(self, obs, rng):
        """u = mu(s) + sigma * xi, xi ~ N(0, I): the raw, unclipped sample."""
        with no_grad():
            mu = self.mean(obs).data
        std = np.exp(self.log_std.data)
        return mu + std * rng.standard_normal(mu.shape).astype(np.float32)

    def greedy(self, obs):
        with no_grad():
            return self.mean(obs).data


class ValueNet(L.Module):
    """V(s) = MLP(s), its own network (CleanRL's separate actor and critic); the last
    layer starts at gain 1."""

    def __init__(self, obs_size, hidden_sizes, rng):
        super().__init__()
        self.net = _mlp((obs_size, *hidden_sizes, 1), 1.0, rng)

    def forward(self, obs):
        return F.reshape(self.net(obs), (len(obs),))


# --- the agent ---------------------------------------------------------------------
class PPOAgent(Agent):
    """PPO with the clipped surrogate, over ``num_envs`` environments in lock-step.

    With ``num_envs > 1`` the training loop steps a ``gymnasium.vector`` env and calls
    ``act_batch`` / ``update`` with (N,)-shaped arrays; with 1 it steps one env and
    calls ``act`` / ``update`` per step. Every ``n_steps`` steps the agent learns.

    Resuming (as A2C): the rollout being filled is saved, and the loop replays every
    env's interrupted episode, so nothing is cut.
    """
    name = "ppo"
    action_spaces = (gym.spaces.Discrete, gym.spaces.Box)
    hyperparameters = (
        HParam("num_envs", 8, int, "[1, inf)", "environments stepped together"),
        HParam("async_envs", False, bool, None, "one process per environment"),
        HParam("n_steps", 32, int, "[1, inf)", "steps per environment per rollout"),
        HParam("gamma", 0.98, float, "[0, 1]", "discount factor"),
        HParam("gae_lambda", 0.8, float, "[0, 1]", "lambda of GAE"),
        HParam("update_epochs", 20, int, "[1, inf)", "passes over each rollout"),
        HParam("num_minibatches", 1, int, "[1, inf)", "minibatches per pass"),
        HParam("lr", 1e-3, float, "(0, inf)", "Adam step size"),
        HParam("anneal_steps", None, int, "[1, inf)",
               "decay lr linearly to 0 over this many environment steps",
               none="a constant lr"),
        HParam("clip_coef", 0.2, float, "(0, 1)", "epsilon of the clipped ratio"),
        HParam("clip_vloss", True, bool, None, "clip the value loss around V_old"),
        HParam("norm_adv", True, bool, None, "normalise advantages per minibatch"),
        HParam("value_coef", 0.5, float, "[0, inf)", "weight c_v of the value loss"),
        HParam("entropy_coef", 0.0, float, "[0, inf)", "weight c_e of the entropy bonus"),
        HParam("max_grad_norm", 0.5, float, "(0, inf)", "global gradient-norm clip"),
        HParam("target_kl", None, float, "(0, inf)",
               "stop a rollout's epochs once approx KL exceeds this", none="no early stop"),
        HParam("hidden_sizes", (64, 64), SIZES, None, "hidden widths of actor and critic"),
        # Not CleanRL's 0: sigma = 1 on [-1, 1] bounds clips a third of the samples, and
        # the mean drifts to where clipping costs least (docs/ppo.md, detail 14).
        HParam("log_std_init", -1.0, float, None,
               "initial log sigma of the Gaussian policy (Box actions)"),
    )
    presets = {
        # CleanRL ppo.py's defaults (its default task is CartPole-v1).
        "cleanrl": {"num_envs": 4, "n_steps": 128, "gamma": 0.99, "gae_lambda": 0.95,
                    "update_epochs": 4, "num_minibatches": 4, "lr": 2.5e-4,
                    "entropy_coef": 0.01},
        # CleanRL ppo_continuous_action.py (MuJoCo): one env, 2048 steps, 32 minibatches.
        "mujoco": {"num_envs": 1, "n_steps": 2048, "gamma": 0.99, "gae_lambda": 0.95,
                   "update_epochs": 10, "num_minibatches": 32, "lr": 3e-4,
                   "entropy_coef": 0.0, "log_std_init": 0.0},
        # rl-baselines3-zoo's Pendulum-v1 PPO, without its state-dependent exploration.
        "pendulum": {"num_envs": 4, "n_steps": 1024, "gamma": 0.9, "gae_lambda": 0.95,
                     "update_epochs": 10, "num_minibatches": 64, "lr": 1e-3,
                     "entropy_coef": 0.0},
    }

    def __init__(self, observation_space, action_space, seed=0, preset=None, **hparams):
        super().__init__(observation_space, action_space, seed, preset, **hparams)
        h = self.hparams
        self.num_envs = int(h["num_envs"])
        self.continuous = isinstance(action_space, gym.spaces.Box)
        self.torso, self.policy, self.critic = self.make_networks()
        # One optimizer over every network, as CleanRL (eps 1e-5: detail 3).
        self.optimizer = optim.Adam(self.parameters(), lr=h["lr"], eps=1e-5)
        if self.continuous:  # (T, N, A) floats: the raw Gaussian samples
            self.action_shape = tuple(action_space.shape)
            stored = ((int(np.prod(self.action_shape)),), np.float32)
        else:
            stored = ((), np.int64)
        self.rollout = Rollout(h["n_steps"], self.num_envs, self.encode.size, *stored)
        self.steps = 0      # environment steps seen (for lr annealing)
        self.updates = 0    # rollouts learned from

    def make_networks(self):
        """(torso, policy, critic): a categorical or Gaussian actor and a separate V(s)
        network, both reading the encoded observation, or for an image the features of
        the one conv torso in front of them (None for vectors)."""
        hidden = tuple(int(n) for n in self.hparams["hidden_sizes"])
        torso, size = encoder_for(self.observation_space, self.rng)
        if self.continuous:
            policy = GaussianPolicy(size, int(np.prod(self.action_space.shape)), hidden,
                                    self.rng, self.hparams["log_std_init"])
        else:
            policy = CategoricalPolicy(size, int(self.action_space.n), hidden, self.rng)
        return torso, policy, ValueNet(size, hidden, self.rng)

    def parameters(self):
        """What the optimizer steps: the torso's (if any), the policy's, the critic's."""
        torso = [] if self.torso is None else self.torso.parameters()
        return torso + self.policy.parameters() + self.critic.parameters()

    def features(self, obs):
        """What the two heads read, without a graph (acting, pi_old, V_old): the encoded
        observations themselves, or the torso's features of them."""
        if self.torso is None:
            return obs
        with no_grad():
            return self.torso(obs).data

    def check_relations(self, h):
        super().check_relations(h)
        batch = h["num_envs"] * h["n_steps"]
        if h["num_minibatches"] > batch:
            raise ValueError(f"{self.name}: num_minibatches {h['num_minibatches']} is more "
                             f"than the rollout's num_envs * n_steps = {batch} samples")

    def wrap_env(self, env):
        """Box actions: the env clips the Gaussian sample to its bounds (CleanRL's
        ``ClipAction``); the agent never sees the clipped action."""
        return gym.wrappers.ClipAction(env) if self.continuous else env

    # -- acting -----------------------------------------------------------------------
    def act_batch(self, obs_batch):
        """One sampled action per environment, a_i ~ pi(.|s_i): for a Box space the raw
        Gaussian sample, which the env's ``ClipAction`` wrapper clips (``wrap_env``)."""
        actions = self.policy.sample(self.features(self.encode.batch(obs_batch)), self.rng)
        if self.continuous:
            return actions.reshape(len(actions), *self.action_shape)
        return actions

    def act(self, obs, explore=True):
        """A sample of pi(.|s), or the greedy action: argmax_a pi(a|s) / the mean mu(s)."""
        if explore:
            action = self.act_batch([obs])[0]
        else:
            action = self.policy.greedy(self.features(self.encode(obs)[None]))[0]
        if self.continuous:
            return np.asarray(action, np.float32).reshape(self.action_shape)
        return int(action)

    def value(self, obs):
        """The critic's V(s) for one observation."""
        with no_grad():
            return float(self.critic(self.features(self.encode(obs)[None])).data[0])

    # -- learning ---------------------------------------------------------------------
    def update(self, obs, actions, rewards, next_obs, terminated, truncated):
        """Store one (vector) step; every ``n_steps`` of them, learn from the rollout."""
        if self.num_envs == 1:  # one env: make every argument a batch of one
            obs, next_obs = [obs], [next_obs]
            actions = np.asarray(actions)[None]
            rewards, terminated, truncated = ([x] for x in (rewards, terminated, truncated))
        actions = np.asarray(actions).reshape(self.rollout.actions.shape[1:])
        self.rollout.add(self.encode.batch(obs), actions, rewards, self.encode.batch(next_obs),
                         terminated, truncated)
        self.steps += self.num_envs
        return self.learn() if self.rollout.full else None

    def prepare_batch(self):
        """The rollout flattened to T*N samples, with pi_old's log-probabilities, V_old,
        and GAE advantages and returns R_t = A_t + V_old(s_t) (rollout.gae)."""
        obs, actions, rewards, next_obs, terminated, truncated = self.rollout.arrays()
        T, N = rewards.shape
        flat_obs = obs.reshape(T * N, -1)
        flat_actions = actions.reshape(T * N, *actions.shape[2:])
        x, next_x = self.features(flat_obs), self.features(next_obs.reshape(T * N, -1))
        with no_grad():  # pi_old and V_old: constants for every epoch
            log_probs = self.policy.log_prob_entropy(x, flat_actions)[0].data
            values = self.critic(x).data
            next_values = self.critic(next_x).data.reshape(T, N)
        advantages = gae(rewards, values.reshape(T, N), next_values, terminated, truncated,
                         self.hparams["gamma"], self.hparams["gae_lambda"])
        advantages = advantages.reshape(-1).astype(np.float32)
        return {"obs": flat_obs, "actions": flat_actions, "log_probs": log_probs,
                "values": values, "advantages": advantages, "returns": advantages + values}

    def learning_rate(self):
        """lr * (1 - steps before this rollout / anneal_steps), floored at 0 (detail 4)."""
        h = self.hparams
        if h["anneal_steps"] is None:
            return h["lr"]
        before = self.steps - self.num_envs * h["n_steps"]
        return h["lr"] * max(0.0, 1.0 - before / h["anneal_steps"])

    def minibatch_loss(self, minibatch):
        """ppo_loss of one minibatch. An image goes through the torso ONCE, and both
        networks read the same features: the gradient of the policy terms and of the
        value term meet in the torso (CleanRL ppo_atari.py's ``hidden``)."""
        if self.torso is not None:
            minibatch = {**minibatch, "obs": self.torso(minibatch["obs"])}
        return ppo_loss(self.policy, self.critic, minibatch, self.hparams)

    def learn(self):
        """update_epochs passes of shuffled minibatch Adam steps on ppo_loss."""
        h = self.hparams
        batch = self.prepare_batch()
        self.optimizer.lr = self.learning_rate()
        params = self.optimizer.params
        logs = []
        for _ in range(h["update_epochs"]):
            order = self.rng.permutation(len(batch["obs"]))
            epoch_kl = []
            for index in np.array_split(order, h["num_minibatches"]):
                loss, stats = self.minibatch_loss({k: v[index] for k, v in batch.items()})
                self.optimizer.zero_grad()
                loss.backward()
                stats["grad_norm"] = optim.clip_grad_norm(params, h["max_grad_norm"])
                self.optimizer.step()
                logs.append(stats)
                epoch_kl.append(stats["approx_kl"])
            if h["target_kl"] is not None and np.mean(epoch_kl) > h["target_kl"]:
                break  # the policy moved far enough from pi_old (detail 12)
        self.rollout.t = 0
        self.updates += 1
        stats = {k: float(np.mean([s[k] for s in logs])) for k in logs[0]}
        stats["lr"] = float(self.optimizer.lr)
        stats["explained_variance"] = explained_variance(batch["values"], batch["returns"])
        return stats

    # -- state --------------------------------------------------------------------------
    def modules(self):
        torso = {} if self.torso is None else {"torso": self.torso}
        return {**torso, "policy": self.policy, "critic": self.critic}

    def optimizers(self):
        return {"optimizer": self.optimizer}

    def extra_state(self):
        return {**self.rollout.state_dict(), "steps": np.array(self.steps),
                "updates": np.array(self.updates)}

    def load_extra_state(self, state):
        self.rollout.load_state_dict(state)
        self.steps, self.updates = int(state["steps"]), int(state["updates"])
