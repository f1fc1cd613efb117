"""Image observations: the conv torso an image space gets, frames kept as bool in replay,
MinAtar on demand, the ``minatar`` preset, and a DQN that learns which quadrant is lit."""
import sys

import gymnasium as gym
import numpy as np
import pytest

import minirl
import minirl.optimizers as optim
from minirl.agents.torso import (ConvTorso, encoder_for, image_layout, is_image_space,
                                 storage_dtype)
from minirl.envcheck import EnvCheckError, check_observation
from minirl.envs.images import MinAtarColours, QuadrantEnv, channel_colours
from minirl.replay import ReplayBuffer
from tests.test_conv import direct_conv2d


def box(shape, dtype=np.float32):
    return gym.spaces.Box(0, 1, shape, dtype=dtype)


@pytest.mark.parametrize("shape, channels_first, chw", [
    ((10, 10, 4), False, (4, 10, 10)),   # MinAtar, gymnasium: (H, W, C)
    ((4, 10, 10), True, (4, 10, 10)),    # PyTorch: (C, H, W)
    ((10, 10, 10), False, (10, 10, 10)),  # a tie (Seaquest) is read as (H, W, C)
    ((3, 5, 3), False, (3, 3, 5)),        # so is a tie of the first and last axes
    ((84, 84, 3), False, (3, 84, 84)),
])
def test_image_layout(shape, channels_first, chw):
    assert image_layout(shape) == (channels_first, chw)


def test_only_three_dimensional_boxes_get_a_torso():
    assert encoder_for(box((8,))) == (None, 8)
    assert encoder_for(gym.spaces.Discrete(5)) == (None, 5)
    assert not is_image_space(box((4, 4)))
    torso, size = encoder_for(box((10, 10, 4)), np.random.default_rng(0))
    assert isinstance(torso, ConvTorso) and size == 16 * 8 * 8  # MinAtar's one 3x3 conv
    assert torso.c0.W.shape == (16, 4, 3, 3)
    torso, size = encoder_for(box((84, 84, 4)), np.random.default_rng(0))
    assert [c.W.shape for c in torso.convs] == [(32, 4, 8, 8), (64, 32, 4, 4),
                                                (64, 64, 3, 3)]
    assert size == 64 * 7 * 7  # the Nature DQN's 3136 features


@pytest.mark.parametrize("shape", [(6, 5, 3), (3, 6, 5)])
def test_torso_features_are_relu_of_the_convolution_of_the_frame(shape):
    """Features = flatten(relu(conv(frame as (C, H, W)))), for one frame and a batch, in
    either channel order: checked with the direct loop of test_conv."""
    rng = np.random.default_rng(1)
    torso = ConvTorso(shape, rng=rng)
    frames = rng.random((2, *shape)).astype(np.float32)
    chw = frames if shape[0] == 3 else frames.transpose(0, 3, 1, 2)
    W, b = torso.c0.W.data.astype(np.float64), torso.c0.b.data.astype(np.float64)
    expected = np.maximum(direct_conv2d(chw, W, b, (1, 1), (0, 0)), 0).reshape(2, -1)
    batch = torso(frames.reshape(2, -1)).data
    assert batch.shape == (2, torso.size)
    np.testing.assert_allclose(batch, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(torso(frames[1].reshape(-1)).data, expected[1], rtol=1e-5,
                               atol=1e-6)


def test_uint8_frames_are_scaled_to_the_unit_interval_before_the_first_convolution():
    """A uint8 image space's torso reads pixel / 255 (bool and float frames as they are):
    its features are those of a float torso with the same weights given frame / 255."""
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, (2, 6, 5, 3)).astype(np.float32)  # encoded uint8 pixels
    uint8_torso, _ = encoder_for(box((6, 5, 3), np.uint8), np.random.default_rng(0))
    float_torso, _ = encoder_for(box((6, 5, 3)), np.random.default_rng(0))
    bool_torso, _ = encoder_for(box((6, 5, 3), bool), np.random.default_rng(0))
    assert float_torso.scale is None and bool_torso.scale is None
    np.testing.assert_allclose(uint8_torso(frames.reshape(2, -1)).data,
                               float_torso((frames / 255).reshape(2, -1)).data,
                               rtol=1e-5, atol=1e-6)


def test_replay_keeps_bool_frames_and_samples_float32():
    space = box((3, 3, 2), bool)
    assert storage_dtype(space) == np.bool_
    assert storage_dtype(box((3, 3, 2), np.uint8)) == np.uint8
    assert storage_dtype(box((3, 3, 2))) == np.float32 and storage_dtype(box((4,), bool)) \
        == np.float32
    rng = np.random.default_rng(0)
    buffer = ReplayBuffer(5, (18,), obs_dtype=bool, batch_dtype=np.float32, rng=rng)
    frames = rng.random((5, 18)) < 0.5
    for i in range(5):
        buffer.add(frames[i].astype(np.float32), 0, 0.0, ~frames[i], False)
    assert buffer.obs.dtype == np.bool_ and buffer.obs.nbytes == 5 * 18
    batch = buffer.sample(7)
    assert batch.obs.dtype == np.float32 and batch.next_obs.dtype == np.float32
    np.testing.assert_array_equal(batch.obs, frames[batch.indices])
    np.testing.assert_array_equal(batch.next_obs, ~frames[batch.indices])


def test_dqn_on_images_has_a_torso_bool_replay_and_saves(tmp_path):
    env = QuadrantEnv()
    agent = minirl.make_agent("dqn", env, seed=0, hidden_sizes=(8,), buffer_size=50,
                              batch_size=8)
    assert agent.replay.obs.dtype == np.bool_
    names = [name for name, _ in agent.qnet.named_parameters()]
    assert names[:2] == ["torso.c0.W", "torso.c0.b"]
    assert agent.target_qnet.torso is not agent.qnet.torso
    obs, _ = env.reset(seed=0)
    assert agent.q_values(obs).shape == (4,)
    agent.save(tmp_path / "a.npz")
    loaded = minirl.load_agent(tmp_path / "a.npz")
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        np.testing.assert_array_equal(loaded.q_values(obs), agent.q_values(obs))


def test_minatar_preset_is_the_papers_dqn():
    space, actions = box((10, 10, 4), bool), gym.spaces.Discrete(3)
    agent = minirl.agents.agent_class("dqn")(space, actions, seed=0, preset="minatar")
    h = agent.hparams
    assert (h["buffer_size"], h["batch_size"], h["target_update_interval"], h["lr"],
            h["epsilon_end"], h["exploration_steps"], h["train_freq"]) == (
        100_000, 32, 1000, 2.5e-4, 0.1, 100_000, 1)
    shapes = [p.shape for p in agent.qnet.parameters()]
    assert shapes == [(16, 4, 3, 3), (16,), (1024, 128), (128,), (128, 3), (3,)]
    assert isinstance(agent.optimizer, optim.RMSprop)
    assert (agent.optimizer.alpha, agent.optimizer.eps) == (0.95, 0.01)


def test_quadrant_env_rewards_the_lit_quadrant():
    env = QuadrantEnv(size=4)
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        row, col = np.argwhere(obs[:, :, 0])[0]
        best = 2 * (row >= 2) + (col >= 2)
        assert env.step(best)[1] == 1.0
        env.reset(seed=seed)
        assert env.step((best + 1) % 4)[1:3] == (0.0, True)


def test_envcheck_accepts_bool_frames_in_a_bool_space():
    space = box((2, 2, 1), bool)
    check_observation("x", np.zeros((2, 2, 1), bool), space, "reset()")
    with pytest.raises(EnvCheckError, match="dtype float32"):
        check_observation("x", np.zeros((2, 2, 1), np.float32), space, "reset()")


def test_minatar_without_the_package_names_the_extra(monkeypatch):
    from minirl.envs import make_env
    monkeypatch.setitem(sys.modules, "minatar", None)
    monkeypatch.setitem(sys.modules, "minatar.gym", None)
    with pytest.raises(ValueError, match=r"minirl\[minatar\]"):
        make_env("MinAtar/Breakout-v1")


def test_minatar_frames_in_colour():
    pytest.importorskip("minatar")
    from minirl.envs import make_env
    env = make_env("MinAtar/Breakout-v1", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.bool_ and obs.shape == (10, 10, 4)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (160, 160, 3)
    colours = channel_colours(4)
    for (i, j) in zip(*np.nonzero(obs.any(axis=-1))):
        c = np.flatnonzero(obs[i, j])[-1]
        np.testing.assert_array_equal(frame[16 * i, 16 * j], colours[c])
    assert isinstance(env, MinAtarColours)
    assert (frame.reshape(-1, 3) == 0).all(axis=1).sum() > 0  # black background


def test_dqn_learns_which_quadrant_is_lit():
    """600 frames, one step per episode: greedy on 200 new frames, always right (the
    optimum is 1; a random policy gets 0.25)."""
    result = minirl.train(
        "dqn", "minirl/Quadrant-v0", 600, seed=0, hidden_sizes=(32,), lr=3e-3,
        buffer_size=1000, batch_size=32, learning_starts=100, train_freq=1,
        gradient_steps=1, target_update_interval=100, epsilon_end=0.05,
        exploration_steps=300, n_step=1, eval_every=600, eval_episodes=1, plot=False)
    mean, _ = minirl.evaluate(result.agent, "minirl/Quadrant-v0", 200, seed=1000)
    assert mean == 1.0
