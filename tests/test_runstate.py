"""The loop's state (minirl/runstate.py) and the env id the Trainer saves
(minirl/trainer.py), checked directly: what a checkpoint saves of a run in flight comes
back exactly, and a corrupt state is refused naming what is wrong."""
import numpy as np
import pytest

from minirl.runstate import RunState, check_loop_state
from minirl.trainer import env_id


def vector_state():
    """Two envs in flight, one finished episode, a greedy evaluation: by hand."""
    state = RunState(seed=5)
    state.running = [None, None]
    seeds = [state.new_episode_seed(0), state.new_episode_seed(1)]
    for action, reward in ((1, 1.0), (0, 0.5)):
        state.running[0].record(action, reward)
    state.running[1].record(1, 2.0)
    state.step = 6
    state.finish_episode(1)          # env 1's episode: return 2.0, length 1, at step 6
    state.new_episode_seed(1)
    state.evaluations.append((6, 3.0, 0.5))
    return state, seeds


def test_a_saved_state_comes_back_exactly_and_its_seed_stream_continues():
    state, seeds = vector_state()
    assert seeds[0] != seeds[1]
    assert state.records == [(6, 1, 2.0, 1)]
    saved = state.state_dict()
    back = RunState(seed=0)          # another seed: everything must come from the file
    back.load_state_dict(saved)
    assert (back.step, back.episode, back.records) == (6, 1, [(6, 1, 2.0, 1)])
    assert back.evaluations == [(6, 3.0, 0.5)]
    assert [(e.seed, e.actions, e.total, e.length) for e in back.running] == [
        (e.seed, e.actions, e.total, e.length) for e in state.running]
    assert back.running[0].actions == [1, 0] and back.running[0].total == 1.5
    # the loop's own stream of episode seeds goes on where it stopped
    assert back.new_episode_seed(0) == state.new_episode_seed(0)


@pytest.mark.parametrize("key, value, words", [
    ("step", np.array(-3), "loop.step must be a whole number >= 0"),
    ("episode", np.array(2), "loop.records holds 1 episodes, loop.episode says 2"),
    ("records", np.zeros((1, 3)), "loop.records must be a table of 4 columns"),
    ("episode_actions", np.array([1]), "loop.episode_actions holds 1 actions"),
])
def test_a_corrupt_state_is_refused_naming_what_is_wrong(key, value, words):
    saved = vector_state()[0].state_dict()
    check_loop_state(saved)          # the whole state passes
    with pytest.raises(ValueError, match=words):
        check_loop_state({**saved, key: value})
    with pytest.raises(ValueError, match="loop state lacks loop.rng"):
        check_loop_state({k: v for k, v in saved.items() if k != "rng"})


def test_the_config_names_the_env_it_can_be_rebuilt_from():
    """config.json's env: the id given, a made env's own id, or None for an env made
    without one (such a run needs env= to resume)."""
    import gymnasium as gym
    assert env_id("CartPole-v1") == "CartPole-v1"
    assert env_id(gym.make("CartPole-v1")) == "CartPole-v1"
    from minirl.envs.testing import IdentityEnv
    assert env_id(IdentityEnv()) is None
