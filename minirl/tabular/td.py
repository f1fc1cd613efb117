"""Chapter 6: temporal-difference (TD) learning -- learning from every step.

TD updates an estimate toward a *TD target*: the reward just received plus the
discounted estimate of where it landed. It needs no model (unlike DP) and does not
wait for the episode to end (unlike MC).

* ``TdAgent``              TD(0) evaluation of the random policy
* ``SarsaAgent``           on-policy control:  target R + gamma Q(S', A')
* ``SarsaOffPolicyAgent``  off-policy SARSA with an importance-sampling ratio
* ``QLearningAgent``       off-policy control: target R + gamma max_a Q(S', a)

States are the env's integer observations; tables are NumPy arrays (see
``minirl.tabular``). Terminated and truncated differ: after a terminal state there
is no future, so the target is R alone; a time limit only stops our watching, so a
truncated step still bootstraps from the estimate of S'.
"""
import numpy as np

from minirl.tabular.mc import greedy_probs, random_probs


class TdAgent:
    """TD(0) evaluation of the random policy."""

    def __init__(self, n_states, n_actions, gamma=0.9, alpha=0.01, seed=None):
        self.gamma = gamma
        self.alpha = alpha
        self.n_actions = n_actions
        self.pi = random_probs(n_states, n_actions)
        self.V = np.zeros(n_states)
        self.rng = np.random.default_rng(seed)

    def get_action(self, state):
        return int(self.rng.choice(self.n_actions, p=self.pi[state]))

    def eval(self, state, reward, next_state, terminated):
        """V(S) <- V(S) + alpha { R + gamma V(S') - V(S) }

        MC's target G is replaced by R + gamma V(S'), one step of the Bellman
        equation with the expectation replaced by a sample."""
        next_V = 0.0 if terminated else self.V[next_state]
        target = reward + self.gamma * next_V
        self.V[state] += (target - self.V[state]) * self.alpha


class SarsaAgent:
    """SARSA: on-policy TD control with an epsilon-greedy policy."""

    def __init__(self, n_states, n_actions, gamma=0.9, alpha=0.8, epsilon=0.1, seed=None):
        self.gamma = gamma
        self.alpha = alpha
        self.epsilon = epsilon
        self.n_actions = n_actions
        self.pi = random_probs(n_states, n_actions)
        self.Q = np.zeros((n_states, n_actions))
        self.rng = np.random.default_rng(seed)

    def get_action(self, state):
        return int(self.rng.choice(self.n_actions, p=self.pi[state]))

    def update(self, state, action, reward, next_state, next_action, terminated):
        """Q(S, A) <- Q(S, A) + alpha { R + gamma Q(S', A') - Q(S, A) },
        then pi(.|S) <- epsilon-greedy(Q(S, .)).

        A' is the action the same policy takes next (hence S, A, R, S', A'), so Q
        tracks the value of the epsilon-greedy policy itself."""
        next_q = 0.0 if terminated else self.Q[next_state, next_action]
        target = reward + self.gamma * next_q
        self.Q[state, action] += (target - self.Q[state, action]) * self.alpha
        self.pi[state] = greedy_probs(self.Q[state], self.epsilon)


class SarsaOffPolicyAgent:
    """Off-policy SARSA: the behaviour policy b (epsilon-greedy) acts, the target
    policy pi (greedy) is learned, and the TD target is reweighted by
    rho = pi(A'|S') / b(A'|S')."""

    def __init__(self, n_states, n_actions, gamma=0.9, alpha=0.8, epsilon=0.1, seed=None):
        self.gamma = gamma
        self.alpha = alpha
        self.epsilon = epsilon
        self.n_actions = n_actions
        self.pi = random_probs(n_states, n_actions)  # target policy
        self.b = random_probs(n_states, n_actions)  # behaviour policy
        self.Q = np.zeros((n_states, n_actions))
        self.rng = np.random.default_rng(seed)

    def get_action(self, state):
        return int(self.rng.choice(self.n_actions, p=self.b[state]))  # b acts

    def update(self, state, action, reward, next_state, next_action, terminated):
        """Q(S, A) <- Q(S, A) + alpha { rho (R + gamma Q(S', A')) - Q(S, A) },
        rho = pi(A'|S') / b(A'|S'), as in the book.

        A' was drawn from b; the ratio turns the expectation over b's A' into one
        over pi's. After a terminal state there is no A', so rho = 1."""
        if terminated:
            next_q = 0.0
            rho = 1.0
        else:
            next_q = self.Q[next_state, next_action]
            rho = self.pi[next_state, next_action] / self.b[next_state, next_action]
        target = rho * (reward + self.gamma * next_q)
        self.Q[state, action] += (target - self.Q[state, action]) * self.alpha
        self.pi[state] = greedy_probs(self.Q[state], 0.0)
        self.b[state] = greedy_probs(self.Q[state], self.epsilon)


class QLearningAgent:
    """Q-learning: off-policy TD control without importance sampling."""

    def __init__(self, n_states, n_actions, gamma=0.9, alpha=0.8, epsilon=0.1, seed=None):
        self.gamma = gamma
        self.alpha = alpha
        self.epsilon = epsilon
        self.n_actions = n_actions
        self.pi = random_probs(n_states, n_actions)  # target policy (greedy)
        self.b = random_probs(n_states, n_actions)  # behaviour policy (epsilon-greedy)
        self.Q = np.zeros((n_states, n_actions))
        self.rng = np.random.default_rng(seed)

    def get_action(self, state):
        return int(self.rng.choice(self.n_actions, p=self.b[state]))

    def update(self, state, action, reward, next_state, terminated):
        """Q(S, A) <- Q(S, A) + alpha { R + gamma max_a Q(S', a) - Q(S, A) }

        The Bellman optimality equation, sampled. The max is the greedy target
        policy's choice at S', and it does not depend on which A' b takes next,
        so no importance sampling is needed."""
        next_q_max = 0.0 if terminated else self.Q[next_state].max()
        target = reward + self.gamma * next_q_max
        self.Q[state, action] += (target - self.Q[state, action]) * self.alpha
        self.pi[state] = greedy_probs(self.Q[state], 0.0)
        self.b[state] = greedy_probs(self.Q[state], self.epsilon)


def run_td_eval(env, agent, episodes=1000, seed=None):
    """Play ``episodes`` episodes, calling ``agent.eval`` after every step.
    ``seed`` seeds the env's first reset. Returns each episode's total reward."""
    returns = []
    for episode in range(episodes):
        state, _ = env.reset(seed=seed if episode == 0 else None)
        total_reward = 0.0
        while True:
            action = agent.get_action(state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            agent.eval(state, reward, next_state, terminated)
            total_reward += reward
            if terminated or truncated:
                break
            state = next_state
        returns.append(total_reward)
    return returns


def run_sarsa(env, agent, episodes=10000, seed=None):
    """SARSA's loop (on- or off-policy agent): choose A' before updating, because
    the update needs it. Returns each episode's total reward."""
    returns = []
    for episode in range(episodes):
        state, _ = env.reset(seed=seed if episode == 0 else None)
        action = agent.get_action(state)
        total_reward = 0.0
        while True:
            next_state, reward, terminated, truncated, _ = env.step(action)
            # no A' after a terminal state; after truncation we still need one to bootstrap
            next_action = None if terminated else agent.get_action(next_state)
            agent.update(state, action, reward, next_state, next_action, terminated)
            total_reward += reward
            if terminated or truncated:
                break
            state, action = next_state, next_action
        returns.append(total_reward)
    return returns


def run_q_learning(env, agent, episodes=10000, seed=None):
    """Q-learning's loop: act, update, move on. Returns each episode's total reward."""
    returns = []
    for episode in range(episodes):
        state, _ = env.reset(seed=seed if episode == 0 else None)
        total_reward = 0.0
        while True:
            action = agent.get_action(state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            agent.update(state, action, reward, next_state, terminated)
            total_reward += reward
            if terminated or truncated:
                break
            state = next_state
        returns.append(total_reward)
    return returns
