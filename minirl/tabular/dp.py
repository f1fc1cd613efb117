"""Chapter 4: dynamic programming -- planning with a known model.

The environment must expose its model (``GridWorld`` does): ``states()``,
``actions()``, ``next_state(s, a)``, ``reward(s, a, s')`` and ``goal_state``. The model
is deterministic, so the sum over next states p(s'|s, a) in the Bellman equations
(chapter 3) has a single term, s' = next_state(s, a).

``V`` is a dict ``state -> value``; a policy ``pi`` is a dict
``state -> {action: probability}``, as in the book.

* ``policy_eval``   Bellman expectation equation as an update, swept until stable
* ``greedy_policy`` policy improvement: act greedily on V
* ``policy_iter``   evaluate, improve, repeat until the policy stops changing
* ``value_iter``    Bellman optimality equation as an update, swept until stable
"""


def random_policy(env):
    """pi(a|s) = 1 / |A| in every state: the book's starting policy."""
    actions = env.unwrapped.actions()
    return {state: {a: 1.0 / len(actions) for a in actions} for state in env.unwrapped.states()}


def zero_values(env):
    """V(s) = 0 for every state: where the iterative methods start."""
    return {state: 0.0 for state in env.unwrapped.states()}


def eval_onestep(pi, V, env, gamma=0.9):
    """One sweep of iterative policy evaluation, in place:

        V(s) <- sum_a pi(a|s) { r(s, a, s') + gamma V(s') },   s' = next_state(s, a)

    In place (Gauss-Seidel): a state updated earlier in the sweep is already used by
    the states after it, which converges faster than keeping two copies of V.
    Returns the largest change, so the caller knows when to stop.
    """
    delta = 0.0
    for state in env.states():
        if state == env.goal_state:
            new_v = 0.0  # terminal: no future reward
        else:
            new_v = 0.0
            for action, action_prob in pi[state].items():
                next_state = env.next_state(state, action)
                r = env.reward(state, action, next_state)
                new_v += action_prob * (r + gamma * V[next_state])
        delta = max(delta, abs(new_v - V[state]))
        V[state] = new_v
    return delta


def policy_eval(pi, V, env, gamma=0.9, threshold=1e-3):
    """Iterative policy evaluation: sweep ``eval_onestep`` until no value changes by
    ``threshold`` or more. Returns the new V (the V passed in is not changed)."""
    env = env.unwrapped
    V = dict(V)
    while True:
        delta = eval_onestep(pi, V, env, gamma)
        if delta < threshold:
            return V


def argmax(d):
    """The key of the largest value in dict ``d``; ties go to the first key."""
    return max(d, key=d.get)


def action_values(V, env, state, gamma=0.9):
    """q(s, a) = r(s, a, s') + gamma V(s') for each action: a one-step look-ahead
    on V (the action-value Bellman equation with a deterministic model)."""
    env = env.unwrapped
    values = {}
    for action in env.actions():
        next_state = env.next_state(state, action)
        values[action] = env.reward(state, action, next_state) + gamma * V[next_state]
    return values


def greedy_policy(V, env, gamma=0.9):
    """Policy improvement: mu(s) = argmax_a q(s, a), as a deterministic policy
    {action: 1.0 for the argmax, 0.0 for the others}.

    Acting greedily on V^pi is never worse than pi (policy improvement theorem)."""
    env = env.unwrapped
    pi = {}
    for state in env.states():
        best = argmax(action_values(V, env, state, gamma))
        pi[state] = {action: float(action == best) for action in env.actions()}
    return pi


def policy_iter(env, gamma=0.9, threshold=1e-3):
    """Policy iteration: evaluate pi, make it greedy, repeat until it stops changing.

    Returns ``(pi, V)``: the optimal policy and its values."""
    pi = random_policy(env)
    V = zero_values(env)
    while True:
        V = policy_eval(pi, V, env, gamma, threshold)  # start from the last V: fewer sweeps
        new_pi = greedy_policy(V, env, gamma)
        if new_pi == pi:
            return pi, V
        pi = new_pi


def value_iter_onestep(V, env, gamma=0.9):
    """One in-place sweep of value iteration:

        V(s) <- max_a { r(s, a, s') + gamma V(s') }

    the Bellman optimality equation used as an update (evaluation and greedy
    improvement fused into one step). Returns the largest change."""
    delta = 0.0
    for state in env.states():
        if state == env.goal_state:
            new_v = 0.0
        else:
            new_v = max(action_values(V, env, state, gamma).values())
        delta = max(delta, abs(new_v - V[state]))
        V[state] = new_v
    return delta


def value_iter(env, gamma=0.9, threshold=1e-3):
    """Value iteration: sweep until no value changes by ``threshold`` or more, then
    read the policy off V* greedily. Returns ``(pi, V)``."""
    env = env.unwrapped
    V = zero_values(env)
    while True:
        delta = value_iter_onestep(V, env, gamma)
        if delta < threshold:
            return greedy_policy(V, env, gamma), V
