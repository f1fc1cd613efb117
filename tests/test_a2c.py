"""A2C: n-step returns and GAE against brute force, the loss against finite
differences, sampling, bootstrapping on truncation, learning, determinism, saving."""
import gymnasium as gym
import numpy as np
import pytest

import minirl
import minirl.functions as F
from minirl.agents.a2c import ActorCriticNet, actor_critic_loss, rollout_loss
from minirl.agents.rollout import gae, n_step_returns
from minirl.agents.common import sample_categorical as sample_actions
from minirl.core import Variable
from minirl.gradcheck import gradient_check


# --- a rollout that crosses episode ends -------------------------------------------------
def random_rollout(seed, T=9, N=4):
    """Rewards, V(s_t), V(s'_t) and flags for a (T, N) rollout with terminations and
    truncations (one step both). Between episode ends, s'_t = s_{t+1}, so
    next_values[t] = values[t+1]; at an end it is the value of the final observation."""
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=(T, N))
    values = rng.normal(size=(T + 1, N))  # values[T]: V(s_T), the state after the rollout
    terminated = rng.random((T, N)) < 0.2
    truncated = rng.random((T, N)) < 0.2
    terminated[2, 0], truncated[2, 0] = True, False
    terminated[4, 0], truncated[4, 0] = False, True
    terminated[3, 1], truncated[3, 1] = True, True   # gymnasium allows both: no bootstrap
    terminated[T - 1, 2], truncated[T - 1, 2] = False, False  # runs past the rollout end
    next_values = values[1:].copy()
    done = terminated | truncated
    next_values[done] = rng.normal(size=done.sum())  # V(final obs): not the next reset obs
    return rewards, values[:-1], next_values, terminated, truncated


def brute_force_returns(rewards, next_values, terminated, truncated, gamma):
    """G_t by the definition, env by env, walking forward: sum the discounted rewards
    until the episode or the rollout ends, then add gamma^k V(s') unless terminated."""
    T, N = rewards.shape
    G = np.zeros((T, N))
    for n in range(N):
        for t in range(T):
            total, discount = 0.0, 1.0
            for k in range(t, T):
                total += discount * rewards[k, n]
                discount *= gamma
                if terminated[k, n]:
                    break
                if truncated[k, n] or k == T - 1:
                    total += discount * next_values[k, n]
                    break
            G[t, n] = total
    return G


def brute_force_gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    """A_t = sum_l (gamma lam)^l delta_{t+l}, summed forward up to the episode's or the
    rollout's end, with delta_k = r_k + gamma (1 - terminated_k) V(s'_k) - V(s_k)."""
    T, N = rewards.shape
    A = np.zeros((T, N))
    for n in range(N):
        for t in range(T):
            for k in range(t, T):
                delta = (rewards[k, n] + gamma * (0.0 if terminated[k, n] else
                                                  next_values[k, n]) - values[k, n])
                A[t, n] += (gamma * lam) ** (k - t) * delta
                if terminated[k, n] or truncated[k, n]:
                    break
    return A


@pytest.mark.parametrize("seed", range(12))
def test_n_step_returns_match_brute_force(seed):
    rewards, _, next_values, terminated, truncated = random_rollout(seed)
    got = n_step_returns(rewards, next_values, terminated, truncated, gamma=0.9)
    np.testing.assert_allclose(got, brute_force_returns(rewards, next_values, terminated,
                                                        truncated, 0.9), rtol=1e-12)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("lam", [0.0, 0.7, 1.0])
def test_gae_matches_brute_force(seed, lam):
    rewards, values, next_values, terminated, truncated = random_rollout(seed)
    got = gae(rewards, values, next_values, terminated, truncated, 0.95, lam)
    want = brute_force_gae(rewards, values, next_values, terminated, truncated, 0.95, lam)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_gae_at_lambda_one_is_n_step_return_minus_value(seed):
    rewards, values, next_values, terminated, truncated = random_rollout(seed)
    advantages = gae(rewards, values, next_values, terminated, truncated, 0.9, 1.0)
    returns = n_step_returns(rewards, next_values, terminated, truncated, 0.9)
    np.testing.assert_allclose(advantages, returns - values, atol=1e-12)


def test_n_step_returns_by_hand():
    """One env, gamma = 0.5: steps 0-1 end in a truncation, step 2 terminates, step 3
    runs off the rollout's end.
        G_3 = 8 + .5 V(s'_3) = 8 + .5*10 = 13          (rollout end: bootstrap)
        G_2 = 4                                         (terminated: nothing after)
        G_1 = 2 + .5 V(final obs) = 2 + .5*6 = 5        (truncated: bootstrap)
        G_0 = 1 + .5 G_1 = 3.5
    """
    rewards = np.array([[1.0], [2.0], [4.0], [8.0]])
    next_values = np.array([[99.0], [6.0], [99.0], [10.0]])  # 99: must not be read
    terminated = np.array([[False], [False], [True], [False]])
    truncated = np.array([[False], [True], [False], [False]])
    got = n_step_returns(rewards, next_values, terminated, truncated, 0.5)
    np.testing.assert_allclose(got[:, 0], [3.5, 5.0, 4.0, 13.0])


# --- the loss ----------------------------------------------------------------------------
def _loss_inputs(seed=0, B=6, A=3):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(B, A)), rng.normal(size=B), rng.integers(0, A, B),
            rng.normal(size=B), rng.normal(size=B))


def test_actor_critic_loss_value_by_direct_computation():
    logits, values, actions, advantages, returns = _loss_inputs()
    loss, stats = actor_critic_loss(Variable(logits), Variable(values), actions, advantages,
                                    returns, value_coef=0.5, entropy_coef=0.01)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    policy = -np.mean(np.log(p[np.arange(6), actions]) * advantages)
    value = np.mean((returns - values) ** 2)
    entropy = np.mean(-(p * np.log(p)).sum(axis=1))
    assert loss.item() == pytest.approx(policy + 0.5 * value - 0.01 * entropy, rel=1e-12)
    assert stats["entropy"] == pytest.approx(entropy, rel=1e-12)


def test_actor_critic_loss_gradient_matches_finite_differences():
    logits, values, actions, advantages, returns = _loss_inputs(1)
    gradient_check(lambda lg, v: actor_critic_loss(lg, v, actions, advantages, returns,
                                                   0.5, 0.1)[0], logits, values)


def test_policy_gradient_on_the_logits():
    """With c_v = c_e = 0, dL/dlogits = -(onehot(a) - pi) A / B (the score function)."""
    logits, values, actions, advantages, returns = _loss_inputs(2)
    lg = Variable(logits)
    loss, _ = actor_critic_loss(lg, Variable(values), actions, advantages, returns, 0.0, 0.0)
    loss.backward()
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    onehot = np.eye(logits.shape[1])[actions]
    np.testing.assert_allclose(lg.grad, -(onehot - p) * advantages[:, None] / len(actions),
                               rtol=1e-10)


@pytest.mark.parametrize("returns", ["n-step", "gae"])
def test_rollout_loss_assembles_the_pieces(returns):
    """rollout_loss == actor_critic_loss on brute-force targets built from the net's own
    values, held constant: same loss, same gradients (the bootstrap is not a path)."""
    T, N, size = 6, 3, 5
    rng = np.random.default_rng(7)
    net = ActorCriticNet(size, 2, hidden_size=8, rng=rng)
    obs = rng.normal(size=(T, N, size)).astype(np.float32)
    next_obs = np.concatenate([obs[1:], rng.normal(size=(1, N, size))]).astype(np.float32)
    rewards = rng.normal(size=(T, N)).astype(np.float32)
    actions = rng.integers(0, 2, (T, N))
    terminated, truncated = np.zeros((T, N), bool), np.zeros((T, N), bool)
    terminated[1, 0], truncated[3, 1] = True, True
    next_obs[3, 1] = rng.normal(size=size)  # the final observation of a cut episode
    h = {"gamma": 0.9, "returns": returns, "gae_lambda": 0.8, "value_coef": 0.5,
         "entropy_coef": 0.01}
    loss, _ = rollout_loss(net, obs, actions, rewards, next_obs, terminated, truncated, h)
    net.zero_grad()
    loss.backward()
    got = [p.grad.copy() for p in net.parameters()]

    v = net.value(obs.reshape(T * N, size)).data.reshape(T, N).astype(np.float64)
    nv = net.value(next_obs.reshape(T * N, size)).data.reshape(T, N).astype(np.float64)
    if returns == "gae":
        adv = brute_force_gae(rewards, v, nv, terminated, truncated, 0.9, 0.8)
        ret = adv + v
    else:
        ret = brute_force_returns(rewards, nv, terminated, truncated, 0.9)
        adv = ret - v
    logits, values = net(obs.reshape(T * N, size))
    want, _ = actor_critic_loss(logits, values, actions.reshape(-1),
                                adv.reshape(-1).astype(np.float32),
                                ret.reshape(-1).astype(np.float32), 0.5, 0.01)
    net.zero_grad()
    want.backward()
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    for g, p in zip(got, net.parameters()):
        np.testing.assert_allclose(g, p.grad, rtol=1e-4, atol=1e-6)


# --- acting --------------------------------------------------------------------------------
class FixedUniform:
    def __init__(self, u):
        self.u = np.asarray(u, float)

    def random(self, shape):
        return self.u.reshape(shape)


def test_sample_actions_inverts_the_cdf():
    probs = np.array([[0.2, 0.5, 0.3]] * 5)
    u = [0.0, 0.19, 0.2, 0.69, 0.999]  # bins [0, .2) [.2, .7) [.7, 1)
    np.testing.assert_array_equal(sample_actions(probs, FixedUniform(u)), [0, 0, 1, 1, 2])
    zero_last = np.array([[0.5, 0.5, 0.0]])
    assert sample_actions(zero_last, FixedUniform([0.9999999]))[0] == 1


@pytest.mark.parametrize("shared_layers", [0, 1, 2])
def test_the_critic_reaches_exactly_the_shared_layers(shared_layers):
    """The critic's loss flows into the shared layers and its own, never the actor's."""
    net = ActorCriticNet(3, 2, hidden_size=8, shared_layers=shared_layers,
                         rng=np.random.default_rng(0))
    assert len(net.shared) == shared_layers and len(net.actor) == 2 - shared_layers
    logits, values = net(np.ones((4, 3), np.float32))
    assert logits.shape == (4, 2) and values.shape == (4,)
    F.sum(values).backward()
    grads = {name: p.grad is not None for name, p in net.named_parameters()}
    for name, has_grad in grads.items():
        assert has_grad == (not name.startswith(("actor", "pi."))), name


# --- the agent -----------------------------------------------------------------------------
def test_bad_hyperparameters_are_named():
    env = "minirl/Bandit-v0"
    for bad, match in [({"num_envs": 1}, "num_envs must be an int >= 2"),
                       ({"n_steps": 0}, "n_steps must be an int >= 1"),
                       ({"returns": "td"}, "returns must be 'n-step' or 'gae'"),
                       ({"gae_lambda": 1.5}, "gae_lambda must be in"),
                       ({"entropy_coef": -1.0}, "entropy_coef must be >= 0"),
                       ({"max_grad_norm": 0.0}, "max_grad_norm must be > 0"),
                       ({"optimizer": "sgd"}, "optimizer must be 'adam' or 'rmsprop'"),
                       ({"shared_layers": 3}, "shared_layers must be 0, 1 or 2")]:
        with pytest.raises(ValueError, match=match):
            minirl.make_agent("a2c", env, **bad)
    with pytest.raises(ValueError, match="Discrete action space"):
        minirl.make_agent("a2c", "Pendulum-v1")


@pytest.mark.parametrize("returns", ["n-step", "gae"])
def test_bootstraps_on_truncation_through_the_vector_loop(returns):
    """InfiniteHorizon: reward 1 forever, cut by a 50-step time limit. The critic must
    learn V = 1 / (1 - gamma) = 10; treating the cut as terminal pulls it to about 7.8.
    No gradient clipping here: it would shrink the large errors at the cuts, which are
    what shows a wrong target."""
    agent = minirl.train("a2c", "minirl/InfiniteHorizon-v0", 6000, seed=0, gamma=0.9,
                         num_envs=4, returns=returns, lr=3e-3, max_grad_norm=1e3).agent
    assert agent.value(np.ones(1, np.float32)) == pytest.approx(10.0, abs=0.2)


def optimal_action_probability(agent, env):
    """Mean pi(a*|s) over the env's states, a* its optimal action there."""
    if hasattr(env, "length"):    # Chain: always step right, in states 0 .. length-2
        states, best = np.arange(env.length - 1), np.ones(env.length - 1, int)
    elif hasattr(env, "means"):   # Bandit: one state, the best arm
        states, best = np.zeros((1, 1), np.float32), np.array([env.optimal_action])
    else:                         # Identity: say back the observation
        states, best = np.arange(env.n), np.arange(env.n)
    with minirl.no_grad():
        probs = agent.net.policy(agent.encode.batch(states)).data
    return float(probs[np.arange(len(best)), best].mean())


@pytest.mark.parametrize("env_id, steps", [
    ("minirl/Bandit-v0", 2000), ("minirl/Chain-v0", 2000), ("minirl/Identity-v0", 12000)])
def test_learns_the_optimal_policy(env_id, steps):
    """From a uniform start (probability 1/A of the best action) to a near-certain one."""
    agent = minirl.train("a2c", env_id, steps, seed=0).agent
    assert optimal_action_probability(agent, gym.make(env_id).unwrapped) > 0.8


def test_same_seed_same_run_and_sync_equals_async():
    a = minirl.train("a2c", "minirl/Identity-v0", 800, seed=3, num_envs=4)
    b = minirl.train("a2c", "minirl/Identity-v0", 800, seed=3, num_envs=4)
    c = minirl.train("a2c", "minirl/Identity-v0", 800, seed=3, num_envs=4, async_envs=True)
    assert a.records == b.records == c.records
    for key, value in a.agent.state_dict().items():
        np.testing.assert_array_equal(value, b.agent.state_dict()[key])
        np.testing.assert_array_equal(value, c.agent.state_dict()[key])


def test_save_load_acts_identically_and_keeps_the_rollout(tmp_path):
    agent = minirl.train("a2c", "CartPole-v1", 8 * 43, seed=0).agent  # 43 = 8 * 5 + 3
    assert agent.rollout.t == 3  # stopped mid-rollout
    path = tmp_path / "a2c.npz"
    agent.save(path)
    loaded = minirl.load_agent(path)
    obs = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    assert [loaded.act(o, explore=False) for o in obs] == [agent.act(o, explore=False)
                                                           for o in obs]
    assert loaded.value(obs[0]) == agent.value(obs[0])
    t = agent.rollout.t
    np.testing.assert_array_equal(loaded.rollout.obs[:t], agent.rollout.obs[:t])
    # The loop replays the interrupted episodes on resume: the rollout is kept as it was.
    np.testing.assert_array_equal(loaded.rollout.truncated[:t], agent.rollout.truncated[:t])
    np.testing.assert_array_equal(loaded.rollout.terminated[:t], agent.rollout.terminated[:t])
