"""DDPG (chapter 10): each formula against an independent computation, and learning.

* the deterministic policy gradient: backprop of -mean Q(s, mu(s)) against the chain
  rule written out in NumPy, and against the product dQ/da * dmu/dtheta with both
  factors taken by finite differences; ``update`` steps the actor along it with the
  online critic at the batch's s (not the target critic, not s');
* the actor step moves the actor only; the critic step moves the critic only;
* Polyak averaging against its closed form after k updates;
* tanh scaled to asymmetric bounds;
* the critic's TD target, as ``update`` computes it, against a NumPy forward pass, with
  termination and truncation; what the training loop stores for each;
* both targets after k updates against the Polyak recursion by hand;
* the greedy action is mu(s), also during the warm-up; the OU noise restarts with each
  episode, however it ended;
* seeded learning on the continuous identity task, exact save/load and resume.
"""
import gymnasium as gym
import numpy as np
import pytest

import minirl
from minirl import Variable, no_grad
from minirl.agents.ddpg import (Actor, Critic, DDPGAgent, GaussianNoise,
                                OrnsteinUhlenbeckNoise, actor_loss, ddpg_target, frozen,
                                scale_action)
from minirl.gradcheck import gradient_check, numerical_grad
from minirl.replay import Batch
from offpolicy_checks import (check_every_critic_steps_on_y, check_polyak_recursion,
                              check_stores_terminated_not_truncated,
                              check_targets_start_as_copies, learn_from, numpy_actor,
                              numpy_critic, numpy_dpg, params_of, perturb, random_batch)

ENV = "minirl/ContinuousIdentity-v0"
SMALL = dict(hidden_sizes=(16,), batch_size=8, learning_starts=20)


def box(low, high):
    return gym.spaces.Box(np.array(low, np.float32), np.array(high, np.float32))


def make(obs_dim=3, low=(-1.0, 0.0), high=(3.0, 0.5), seed=0, **hparams):
    obs = gym.spaces.Box(-1.0, 1.0, (obs_dim,), np.float32)
    return DDPGAgent(obs, box(low, high), seed=seed, **{**SMALL, **hparams})


def fill(agent, n, seed=1):
    rng = np.random.default_rng(seed)
    size = agent.encode.size
    for i in range(n):
        s, s2 = rng.uniform(-1, 1, size), rng.uniform(-1, 1, size)
        a = rng.uniform(agent.low, agent.high).astype(np.float32)
        agent.buffer.add(s.astype(np.float32), a, rng.standard_normal(),
                         s2.astype(np.float32), i % 5 == 4)


# --- the action's scale -------------------------------------------------------------
def test_scale_action_maps_minus_one_one_onto_asymmetric_bounds():
    low = np.array([-1.0, 0.0, 2.0, -5.0], np.float32)
    high = np.array([3.0, 1.0, 2.5, -4.0], np.float32)
    u = np.array([[-1, -1, -1, -1], [1, 1, 1, 1], [0, 0, 0, 0], [0.5, -0.5, 0.2, -0.8]],
                 np.float32)
    a = scale_action(u, low, high)
    np.testing.assert_allclose(a[0], low)
    np.testing.assert_allclose(a[1], high)
    np.testing.assert_allclose(a[2], [1.0, 0.5, 2.25, -4.5])
    # low + (u + 1) / 2 * (high - low), by hand for the last row
    np.testing.assert_allclose(a[3], [2.0, 0.25, 2.3, -4.9], rtol=1e-6)
    # Differentiable in u, with gradient (high - low) / 2 per dimension.
    gradient_check(lambda v: scale_action(v, low.astype(np.float64), high.astype(np.float64)),
                   u[3:])


def test_actor_stays_inside_asymmetric_bounds_even_when_tanh_saturates():
    low, high = np.array([-1.0, 0.0], np.float32), np.array([3.0, 0.5], np.float32)
    actor = Actor(3, 2, (8,), low, high, rng=np.random.default_rng(0))
    obs = np.random.default_rng(1).standard_normal((200, 3)).astype(np.float32) * 1e3
    with no_grad():
        a = actor(obs).data
    assert a.dtype == np.float32 and a.shape == (200, 2)
    assert np.all(a >= low) and np.all(a <= high)
    np.testing.assert_allclose(a, numpy_actor(actor, obs), rtol=1e-5, atol=1e-5)


# --- the deterministic policy gradient ----------------------------------------------
def test_deterministic_policy_gradient_matches_finite_differences():
    """grad_theta -mean Q(s, mu_theta(s)) = -mean_s dQ/da|_{a=mu(s)} dmu/dtheta (s)."""
    rng = np.random.default_rng(0)
    low, high = np.array([-1.0, 0.0]), np.array([3.0, 0.5])
    actor = Actor(3, 2, (8, 8), low, high, dtype=np.float64, rng=rng)
    critic = Critic(3, 2, (8, 8), dtype=np.float64, rng=rng)
    obs = rng.uniform(-1, 1, (5, 3))
    critic_before = params_of(critic)

    with frozen(critic):
        loss = actor_loss(actor, critic, obs)
        loss.backward()
    backprop = [p.grad.copy() for p in actor.parameters()]
    assert all(p.grad is None for p in critic.parameters())  # none left on the critic
    assert all(np.array_equal(a, p.data) for a, p in zip(critic_before, critic.parameters()))

    # The chain rule written out by hand in NumPy: an independent computation.
    value, by_hand = numpy_dpg(actor, critic, obs)
    assert np.isclose(loss.data, value, rtol=1e-12)

    # The same gradient as the DPG product, each factor by finite differences.
    with no_grad():
        a = actor(obs).data
    dq_da = numerical_grad(lambda act: critic(obs, Variable(act)).data, a.copy())[0]  # (5, 2)
    product = []
    for p in actor.parameters():
        grad = np.zeros_like(p.data)
        for i in np.ndindex(p.data.shape):  # d mu(s) / d theta_i, every sample and dim
            old = p.data[i]
            p.data[i] = old + 1e-6
            with no_grad():
                plus = actor(obs).data
            p.data[i] = old - 1e-6
            with no_grad():
                minus = actor(obs).data
            p.data[i] = old
            grad[i] = -np.mean(np.sum(dq_da * (plus - minus) / 2e-6, axis=1))
        product.append(grad)

    for b, n, d in zip(backprop, by_hand, product):
        np.testing.assert_allclose(b, n, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b, d, rtol=1e-5, atol=1e-8)


def test_update_steps_the_actor_along_the_dpg_of_the_online_critic_at_obs():
    """In ``update``, the actor's Adam step uses the gradient of -mean Q(s, mu(s)) with
    the online critic (just updated) at the batch's s -- not the target critic, not s'.
    Adam's first step is -lr g / (|g| + eps) per element (bias-corrected m and v)."""
    agent = make(actor_lr=1e-3, critic_lr=1e-3, gamma=0.9, tau=0.05)
    fill(agent, 40)
    rng = np.random.default_rng(7)
    for m in (agent.actor_target, agent.critic_target):  # targets far from the online nets
        for p in m.parameters():
            p.data = rng.standard_normal(p.shape).astype(np.float32)
    agent.steps = 40  # past learning_starts and batch_size: this update learns
    batches, sample = [], agent.buffer.sample
    agent.buffer.sample = lambda *a, **k: batches.append(sample(*a, **k)) or batches[-1]
    actor_before = params_of(agent.actor)
    obs = np.array([0.2, -0.4, 0.9], np.float32)
    stats = agent.update(obs, np.array([0.5, 0.1], np.float32), 1.0, -obs, False, False)
    b = batches[0]
    assert not np.allclose(b.obs, b.next_obs)
    # The critic has taken its step; the actor still has its old parameters for the
    # gradient, so rebuild the actor as it was.
    for p, old in zip(agent.actor.parameters(), actor_before):
        new, p.data = p.data.copy(), old.copy()
        old[...] = new  # actor_before now holds the updated values
    value, grads = numpy_dpg(agent.actor, agent.critic, b.obs)
    assert np.isclose(stats["actor_loss"], value, rtol=1e-6, atol=0)  # with the new critic
    for p, after, g in zip(agent.actor.parameters(), actor_before, grads):
        expected = p.data - 1e-3 * g / (np.abs(g) + 1e-8)
        clear = np.abs(g) > 1e-5  # elsewhere float32 rounding blurs g / |g|
        assert clear.mean() > 0.5
        np.testing.assert_allclose(after[clear], expected[clear], rtol=0, atol=2e-6)


def test_critic_is_differentiable_in_state_and_action():
    rng = np.random.default_rng(2)
    critic = Critic(3, 2, (6,), dtype=np.float64, rng=rng)
    gradient_check(lambda s, a: critic(s, a), rng.standard_normal((4, 3)),
                   rng.standard_normal((4, 2)))


def test_actor_step_moves_the_actor_only_and_critic_step_the_critic_only():
    agent = make()
    fill(agent, 50)
    batch = agent.buffer.sample(agent.batch_size)
    before = {name: params_of(m) for name, m in agent.modules().items()}

    agent.update_actor(batch.obs)
    after = {name: params_of(m) for name, m in agent.modules().items()}
    for name in ("critic", "critic_target", "actor_target"):
        assert all(np.array_equal(x, y) for x, y in zip(before[name], after[name])), name
    assert all(p.grad is None for p in agent.critic.parameters())
    assert all(p.requires_grad for p in agent.critic.parameters())  # unfrozen afterwards
    assert not all(np.array_equal(x, y) for x, y in zip(before["actor"], after["actor"]))

    agent.update_critics(batch, batch.reward)
    again = {name: params_of(m) for name, m in agent.modules().items()}
    for name in ("actor", "critic_target", "actor_target"):
        assert all(np.array_equal(x, y) for x, y in zip(after[name], again[name])), name
    assert not all(np.array_equal(x, y) for x, y in zip(after["critic"], again["critic"]))


# --- targets ------------------------------------------------------------------------
def test_soft_update_of_both_targets_matches_closed_form():
    """With theta fixed, k updates theta' <- tau theta + (1 - tau) theta' give
    theta'_k = (1 - tau)^k theta'_0 + (1 - (1 - tau)^k) theta."""
    agent = make(tau=0.1)
    rng = np.random.default_rng(3)
    for m in (agent.actor, agent.critic):
        for p in m.parameters():
            p.data = rng.standard_normal(p.shape).astype(np.float32)
    start = {n: params_of(agent.modules()[n]) for n in ("actor_target", "critic_target")}
    k = 7
    for _ in range(k):
        agent.update_targets()
    decay = 0.9 ** k
    for target, source in (("actor_target", agent.actor), ("critic_target", agent.critic)):
        for t0, t, s in zip(start[target], agent.modules()[target].parameters(), source.parameters()):
            np.testing.assert_allclose(t.data, decay * t0 + (1 - decay) * s.data,
                                       rtol=1e-5, atol=1e-6)


def test_ddpg_target_by_hand():
    reward = np.array([1.0, -2.0, 0.5], np.float32)
    next_q = np.array([10.0, 4.0, -3.0], np.float32)
    terminated = np.array([0.0, 1.0, 0.0], np.float32)
    y = ddpg_target(reward, next_q, terminated, 0.9)
    np.testing.assert_allclose(y, [1 + 9.0, -2.0, 0.5 - 2.7], rtol=1e-6)
    assert y.dtype == np.float32


def test_critic_target_in_update_uses_target_networks_and_stops_only_at_termination():
    """The y that ``update`` hands to the critic step is r + gamma (1 - terminated)
    Q'(s', mu'(s')) from the TARGET actor and critic at s', and the loss it reports is
    mean (Q(s, a) - y)^2, both recomputed here in NumPy."""
    agent = make(gamma=0.9)
    perturb(agent.actor_target, agent.critic_target, seed=4)  # targets != online nets
    rng = np.random.default_rng(4)
    obs, next_obs = (rng.uniform(-1, 1, (2, 3)).astype(np.float32) for _ in range(2))
    action = np.array([[0.5, 0.1], [-0.5, 0.4]], np.float32)
    reward = np.array([1.0, -1.0], np.float32)
    # The same two steps as an environment would report them: the first truncated by a
    # time limit (it bootstraps), the second terminated (it does not).
    agent.update(obs[0], action[0], reward[0], next_obs[0], terminated=False, truncated=True)
    agent.update(obs[1], action[1], reward[1], next_obs[1], terminated=True, truncated=False)
    np.testing.assert_array_equal(agent.buffer.terminated[:2], [0.0, 1.0])
    b = agent.buffer
    batch = Batch(b.obs[:2], b.action[:2], b.reward[:2], b.next_obs[:2],
                  b.terminated[:2], b.steps[:2], np.arange(2), np.ones(2, np.float32))
    seen = learn_from(agent, batch)
    next_q = numpy_critic(agent.critic_target, next_obs,
                          numpy_actor(agent.actor_target, next_obs))
    y = np.array([reward[0] + 0.9 * next_q[0], reward[1]])
    expected = np.mean((numpy_critic(agent.critic, obs, action) - y) ** 2)
    stats = agent.update(obs[0], action[0], 0.0, next_obs[0], False, False)
    np.testing.assert_allclose(seen["y"], y, rtol=1e-5)
    assert np.isclose(stats["critic_loss"], expected, rtol=1e-5)


def test_every_target_starts_as_a_copy_of_its_network():
    check_targets_start_as_copies(make(seed=1), [("actor_target", "actor"),
                                                 ("critic_target", "critic")])


def test_the_critic_steps_on_y_in_update():
    agent = make(critic_lr=1e-3)
    check_every_critic_steps_on_y(agent, ["critic"], 1e-3,
                                  random_batch(16, 8, agent.low, agent.high))


def test_the_loop_stores_terminated_never_truncated():
    check_stores_terminated_not_truncated("ddpg")


def test_both_targets_follow_the_polyak_recursion_through_update():
    agent = make(tau=0.3)
    check_polyak_recursion(agent, [("actor_target", "actor"), ("critic_target", "critic")], 4)


# --- acting -------------------------------------------------------------------------
def test_acting_random_then_noisy_then_greedy():
    agent = make(learning_starts=5, noise_std=0.3)
    obs = np.array([0.1, -0.2, 0.3], np.float32)
    first = [agent.act(obs) for _ in range(30)]  # before learning starts: uniform
    assert all(a.shape == (2,) and a.dtype == np.float32 for a in first)
    first = np.array(first)
    assert np.all(first >= agent.low) and np.all(first <= agent.high)
    assert len(np.unique(first[:, 0])) == 30
    again = make(learning_starts=5, noise_std=0.3)
    np.testing.assert_array_equal(first, [again.act(obs) for _ in range(30)])  # seeded

    agent.steps = 5
    greedy = agent.act(obs, explore=False)
    np.testing.assert_allclose(greedy, numpy_actor(agent.actor, obs[None])[0], rtol=1e-5)
    sigma = 0.3 * (agent.high - agent.low) / 2  # noise_std is relative to the half-range
    for _ in range(50):  # a = clip(mu(s) + sigma eps, low, high), eps from the agent's rng
        twin = np.random.default_rng()
        twin.bit_generator.state = agent.rng.bit_generator.state
        eps = twin.standard_normal(2, np.float32)
        np.testing.assert_allclose(agent.act(obs), np.clip(greedy + sigma * eps, agent.low,
                                                           agent.high), rtol=1e-6)
    assert np.array_equal(agent.act(obs, explore=False), greedy)  # explore=False: no noise


def test_the_greedy_action_is_mu_also_during_the_warm_up():
    """explore=False never acts at random: evaluation during the warm-up is mu(s)."""
    agent = make(learning_starts=50)
    for p in agent.actor.parameters():  # a saturated actor: mu(s) at the bounds
        p.data = p.data * 30
    obs = np.random.default_rng(3).uniform(-1, 1, (20, 3)).astype(np.float32)
    greedy = np.array([agent.act(o, explore=False) for o in obs])
    assert agent.steps < agent.learning_starts
    np.testing.assert_allclose(greedy, numpy_actor(agent.actor, obs), rtol=1e-5, atol=1e-6)
    assert np.all(greedy >= agent.low) and np.all(greedy <= agent.high)


@pytest.mark.parametrize("terminated, truncated", [(True, False), (False, True)])
def test_the_ou_noise_restarts_with_each_episode_however_it_ends(terminated, truncated):
    agent = make(noise="ou", noise_std=0.5, learning_starts=0)
    obs = np.array([0.1, -0.2, 0.3], np.float32)
    for _ in range(3):
        agent.update(obs, agent.act(obs), 0.0, obs, False, False)
    assert np.all(agent.noise.state != 0)
    agent.update(obs, agent.act(obs), 0.0, obs, terminated, truncated)
    np.testing.assert_array_equal(agent.noise.state, 0.0)


def test_exploring_actions_are_clipped_to_the_bounds():
    """Noise larger than the range: a = clip(mu(s) + sigma eps, low, high), many at a bound."""
    agent = make(learning_starts=0, noise_std=3.0)
    obs = np.array([0.1, -0.2, 0.3], np.float32)
    greedy = agent.act(obs, explore=False)
    sigma = 3.0 * (agent.high - agent.low) / 2
    actions = []
    for _ in range(40):
        twin = np.random.default_rng()
        twin.bit_generator.state = agent.rng.bit_generator.state
        eps = twin.standard_normal(2, np.float32)
        actions.append(agent.act(obs))
        np.testing.assert_allclose(actions[-1], np.clip(greedy + sigma * eps, agent.low,
                                                        agent.high), rtol=1e-6)
    actions = np.array(actions)
    assert np.all(actions >= agent.low) and np.all(actions <= agent.high)
    assert np.mean((actions == agent.low) | (actions == agent.high)) > 0.3


def test_gaussian_and_ornstein_uhlenbeck_noise_by_their_recursions():
    sigma = np.array([0.2, 1.0], np.float32)
    gaussian = GaussianNoise(sigma, np.random.default_rng(5))
    eps = np.random.default_rng(5).standard_normal((3, 2), np.float32)
    np.testing.assert_allclose([gaussian() for _ in range(3)], sigma * eps)

    ou = OrnsteinUhlenbeckNoise(sigma, np.random.default_rng(6), theta=0.15, dt=0.5)
    eps = np.random.default_rng(6).standard_normal((4, 2), np.float32)
    x = np.zeros(2)
    for t in range(4):  # x <- x + theta (0 - x) dt + sigma sqrt(dt) eps
        x = x - 0.15 * x * 0.5 + sigma * np.sqrt(0.5) * eps[t]
        np.testing.assert_allclose(ou(), x, rtol=1e-5)
    ou.reset()
    np.testing.assert_array_equal(ou.state, 0.0)


# --- spaces and hyperparameters -----------------------------------------------------
def test_refuses_discrete_and_unbounded_action_spaces_and_bad_hparams():
    with pytest.raises(ValueError, match=r"ddpg needs a Box action space; this "
                                         r"environment's is Discrete\(4\)"):
        minirl.make_agent("ddpg", "minirl/Identity-v0")
    unbounded = (gym.spaces.Box(-1, 1, (2,)), gym.spaces.Box(-np.inf, np.inf, (1,)))
    with pytest.raises(ValueError, match="must be finite"):
        minirl.make_agent("ddpg", unbounded)
    for bad, message in ((dict(tau=0.0), "tau"), (dict(noise="pink"), "noise"),
                         (dict(hidden_sizes=()), "hidden_sizes"),
                         (dict(hidden_sizes=(8, 0)), "hidden_sizes"),
                         (dict(learning_starts=-1), "learning_starts"),
                         (dict(noise_std=-0.1), "noise_std"), (dict(critic_lr=0), "critic_lr"),
                         (dict(epsilon=0.1), "no hyperparameter 'epsilon'")):
        with pytest.raises(ValueError, match=message):
            minirl.make_agent("ddpg", ENV, **bad)


def test_multidimensional_action_box():
    env = gym.make(ENV, dim=3)
    agent = minirl.make_agent("ddpg", env, **SMALL)
    obs, _ = env.reset(seed=0)
    for _ in range(30):
        action = agent.act(obs)
        assert action.shape == (3,)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.update(obs, action, reward, next_obs, terminated, truncated)
        obs = env.reset()[0] if terminated or truncated else next_obs
    assert agent.updates == 30 - SMALL["learning_starts"] + 1


# --- learning, determinism, checkpoints ----------------------------------------------
LEARN = dict(hidden_sizes=(32,), learning_starts=100, batch_size=32, gamma=0.5,
             actor_lr=3e-3, critic_lr=3e-3)


def test_learns_the_continuous_identity():
    """The optimal action copies the observation (return 0); a random policy's return is
    about -6.7 (10 steps of E(a - o)^2 = 2/3), and an untrained actor's is as poor."""
    untrained = minirl.make_agent("ddpg", ENV, seed=0, **LEARN)
    assert minirl.evaluate(untrained, ENV, 10, seed=123)[0] < -2.0
    result = minirl.train("ddpg", ENV, 800, seed=0, **LEARN)
    mean, _ = minirl.evaluate(result.agent, ENV, 10, seed=123)
    assert mean > -0.5, mean


def test_same_seed_same_run_and_exact_save_load(tmp_path):
    a = minirl.train("ddpg", ENV, 150, seed=3, noise="ou", **{**LEARN, "learning_starts": 40})
    b = minirl.train("ddpg", ENV, 150, seed=3, noise="ou", **{**LEARN, "learning_starts": 40})
    sa, sb = a.agent.state_dict(), b.agent.state_dict()
    assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)
    assert a.records == b.records

    path = tmp_path / "ddpg.npz"
    a.agent.save(path)
    loaded = minirl.load_agent(path)
    obs = np.random.default_rng(0).uniform(-1, 1, (20, 1)).astype(np.float32)
    for o in obs:
        assert np.array_equal(loaded.act(o, explore=False), a.agent.act(o, explore=False))
    # Resume is exact: the same noise, the same minibatches, the same parameters.
    for o in obs:
        x, y = a.agent.act(o), loaded.act(o)
        assert np.array_equal(x, y)
        a.agent.update(o, x, -1.0, o, False, False)
        loaded.update(o, y, -1.0, o, False, False)
    sa, sl = a.agent.state_dict(), loaded.state_dict()
    assert all(np.array_equal(sa[k], sl[k]) for k in sa)


def test_resumed_training_ends_where_an_uninterrupted_run_does(tmp_path):
    from agent_checks import check_resume_ends_where_an_uninterrupted_run_does as check
    check(tmp_path, "ddpg", ENV, 120, 55, **{**LEARN, "learning_starts": 30})


def test_value_is_the_critic_at_the_greedy_action():
    agent = make()
    obs = np.array([0.3, 0.0, -0.7], np.float32)
    expected = numpy_critic(agent.critic, obs[None], numpy_actor(agent.actor, obs[None]))[0]
    assert np.isclose(agent.value(obs), expected, rtol=1e-5)
    np.testing.assert_allclose(agent.policy(obs[None]), numpy_actor(agent.actor, obs[None]),
                               rtol=1e-5)
