"""Chapter 5: Monte Carlo methods -- learning values from whole episodes.

No model is needed: the agent plays an episode to the end, then walks it backwards
computing the return

    G_t = R_t + gamma G_{t+1}

(R_t is the reward received after the action at time t) and moves each estimate
toward it. States are the env's integer observations, tables are NumPy arrays:
``V[state]``, ``Q[state, action]``, ``pi[state] = action probabilities``.

* ``McAgent``           evaluation of the random policy, sample averages
* ``McControlAgent``    on-policy control: epsilon-greedy in Q, constant alpha
* ``McOffPolicyAgent``  off-policy control: behaviour b epsilon-greedy, target pi
                        greedy, returns reweighted by importance sampling

An episode cut off by a time limit (``truncated``) did not reach a terminal state:
its return would have continued, so G starts from the current estimate of the
state where it stopped. After a real ending (``terminated``) G starts from 0.
"""
import numpy as np
from gymnasium import spaces


def table_sizes(env):
    """(number of states, number of actions) for a tabular agent on ``env``."""
    if not isinstance(env.observation_space, spaces.Discrete):
        raise ValueError(f"tabular agents need a Discrete observation space, "
                         f"got {env.observation_space}")
    if not isinstance(env.action_space, spaces.Discrete):
        raise ValueError(f"tabular agents need a Discrete action space, got {env.action_space}")
    return int(env.observation_space.n), int(env.action_space.n)


def random_probs(n_states, n_actions):
    """pi(a|s) = 1 / |A| for every state: the book's starting policy."""
    return np.full((n_states, n_actions), 1.0 / n_actions)


def greedy_probs(qs, epsilon=0.0):
    """Epsilon-greedy action probabilities from one state's action values ``qs``:

        pi(a|s) = 1 - epsilon + epsilon / |A|   if a = argmax_a Q(s, a)
                  epsilon / |A|                 otherwise

    ``epsilon=0`` gives the greedy policy. Ties go to the first action, as in the book.
    """
    action_size = len(qs)
    probs = np.full(action_size, epsilon / action_size)
    probs[np.argmax(qs)] += 1.0 - epsilon
    return probs


class McAgent:
    """Monte Carlo evaluation of the random policy (every visit, sample average)."""

    def __init__(self, n_states, n_actions, gamma=0.9, seed=None):
        self.gamma = gamma
        self.n_actions = n_actions
        self.pi = random_probs(n_states, n_actions)
        self.V = np.zeros(n_states)
        self.cnts = np.zeros(n_states)  # visits per state, for the sample average
        self.memory = []
        self.rng = np.random.default_rng(seed)

    def get_action(self, state):
        return int(self.rng.choice(self.n_actions, p=self.pi[state]))

    def add(self, state, action, reward):
        self.memory.append((state, action, reward))

    def reset(self):
        self.memory.clear()

    def eval(self, final_state=None, terminated=True):
        """V(s) <- V(s) + (G - V(s)) / n(s) at every visit: the incremental mean of
        the returns that followed s (chapter 1's sample average, chapter 5's use)."""
        G = 0.0 if terminated else self.V[final_state]  # bootstrap only on truncation
        for state, action, reward in reversed(self.memory):
            G = reward + self.gamma * G  # G_t = R_t + gamma G_{t+1}, built backwards
            self.cnts[state] += 1
            self.V[state] += (G - self.V[state]) / self.cnts[state]


class McControlAgent:
    """On-policy Monte Carlo control: epsilon-greedy policy, constant step alpha."""

    def __init__(self, n_states, n_actions, gamma=0.9, epsilon=0.1, alpha=0.1, seed=None):
        self.gamma = gamma
        self.epsilon = epsilon
        self.alpha = alpha
        self.n_actions = n_actions
        self.pi = random_probs(n_states, n_actions)
        self.Q = np.zeros((n_states, n_actions))
        self.memory = []
        self.rng = np.random.default_rng(seed)

    def get_action(self, state):
        return int(self.rng.choice(self.n_actions, p=self.pi[state]))

    def add(self, state, action, reward):
        self.memory.append((state, action, reward))

    def reset(self):
        self.memory.clear()

    def update(self, final_state=None, terminated=True):
        """Q(s, a) <- Q(s, a) + alpha (G - Q(s, a)), then pi(.|s) <- epsilon-greedy(Q(s, .)).

        A constant alpha, not 1/n: the policy improves as we go, so old returns
        were earned by an older policy and should count less. Epsilon keeps every
        action tried, so the estimates of the others do not go stale."""
        # truncated: bootstrap from V_pi(s_T) = sum_a pi(a|s_T) Q(s_T, a)
        G = 0.0 if terminated else self.pi[final_state] @ self.Q[final_state]
        for state, action, reward in reversed(self.memory):
            G = reward + self.gamma * G
            self.Q[state, action] += (G - self.Q[state, action]) * self.alpha
            self.pi[state] = greedy_probs(self.Q[state], self.epsilon)


class McOffPolicyAgent:
    """Off-policy Monte Carlo control with importance sampling.

    The behaviour policy b (epsilon-greedy) plays; the target policy pi (greedy) is
    learned. A return earned by b is reweighted by how much likelier pi was to take
    the same later actions: rho = pi(a|s) / b(a|s) per step.
    """

    def __init__(self, n_states, n_actions, gamma=0.9, epsilon=0.1, alpha=0.2, seed=None):
        self.gamma = gamma
        self.epsilon = epsilon
        self.alpha = alpha
        self.n_actions = n_actions
        self.pi = random_probs(n_states, n_actions)  # target policy
        self.b = random_probs(n_states, n_actions)  # behaviour policy
        self.Q = np.zeros((n_states, n_actions))
        self.memory = []
        self.rng = np.random.default_rng(seed)

    def get_action(self, state):
        return int(self.rng.choice(self.n_actions, p=self.b[state]))  # b acts

    def add(self, state, action, reward):
        self.memory.append((state, action, reward))

    def reset(self):
        self.memory.clear()

    def update(self, final_state=None, terminated=True):
        """Per-decision importance sampling, built backwards:

            G_t = R_t + gamma rho_{t+1} G_{t+1}
            rho_{t+1} = pi(A_{t+1}|S_{t+1}) / b(A_{t+1}|S_{t+1})
            Q(S_t, A_t) <- Q(S_t, A_t) + alpha (G_t - Q(S_t, A_t))

        so reward R_k is weighted by the product of the ratios of the steps t+1..k,
        whose expectation under b is the return under pi. A_t itself needs no
        ratio: Q(S_t, A_t) is the value *given* that action.

        The book's listing accumulates ``rho *= ...`` and multiplies G by it, which
        applies each ratio again at every earlier step; here each ratio is applied
        once. The ratios use the b and pi that chose the actions, so the policies
        are refreshed only after the backward pass.
        """
        # truncated: bootstrap from V_pi(s_T) = sum_a pi(a|s_T) Q(s_T, a) = max_a Q(s_T, a)
        G = 0.0 if terminated else self.pi[final_state] @ self.Q[final_state]
        rho = 1.0  # the bootstrap value is already an expectation under pi
        for state, action, reward in reversed(self.memory):
            G = reward + self.gamma * rho * G
            self.Q[state, action] += (G - self.Q[state, action]) * self.alpha
            rho = self.pi[state, action] / self.b[state, action]  # weighs the step before
        for state, _, _ in self.memory:
            self.pi[state] = greedy_probs(self.Q[state], 0.0)
            self.b[state] = greedy_probs(self.Q[state], self.epsilon)


def play_episode(env, agent, seed=None):
    """Play one episode with ``agent.get_action``, storing each (S_t, A_t, R_t) in
    the agent's memory. Returns ``(final_state, terminated, total_reward)``."""
    agent.reset()
    state, _ = env.reset(seed=seed)
    total_reward = 0.0
    while True:
        action = agent.get_action(state)
        next_state, reward, terminated, truncated, _ = env.step(action)
        agent.add(state, action, reward)
        total_reward += reward
        if terminated or truncated:
            return next_state, terminated, total_reward
        state = next_state


def run_mc_eval(env, agent, episodes=1000, seed=None):
    """Evaluate with ``agent.eval`` after each of ``episodes`` episodes.
    ``seed`` seeds the env's first reset. Returns the total reward of each episode."""
    returns = []
    for episode in range(episodes):
        final_state, terminated, total = play_episode(env, agent, seed if episode == 0 else None)
        agent.eval(final_state, terminated)
        returns.append(total)
    return returns


def run_mc_control(env, agent, episodes=10000, seed=None):
    """Learn with ``agent.update`` after each of ``episodes`` episodes (on- or
    off-policy agent). Returns the total reward of each episode."""
    returns = []
    for episode in range(episodes):
        final_state, terminated, total = play_episode(env, agent, seed if episode == 0 else None)
        agent.update(final_state, terminated)
        returns.append(total)
    return returns
