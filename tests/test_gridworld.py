"""GridWorld: the gymnasium contract, the book's dynamics, the model view, validation."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

import minirl  # noqa: F401  (registers minirl/GridWorld-v0)
from minirl.envs.gridworld import GridWorld

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3


def play(env, actions):
    """Step through ``actions`` from a fresh reset; return the list of step results."""
    env.reset(seed=0)
    return [env.step(a) for a in actions]


@pytest.mark.parametrize("kwargs", [{}, {"one_hot": True}, {"render_mode": "ansi"},
                                    {"render_mode": "rgb_array"}, {"start_state": None}])
def test_check_env_passes(kwargs):
    # made by id, so that check_env can also remake it in each render mode
    check_env(gym.make("minirl/GridWorld-v0", **kwargs).unwrapped, skip_render_check=False)


def test_gym_make_after_import_minirl():
    env = gym.make("minirl/GridWorld-v0")
    obs, info = env.reset(seed=0)
    assert env.observation_space == gym.spaces.Discrete(12)
    assert env.action_space == gym.spaces.Discrete(4)
    assert obs == 2 * 4 + 0  # the start (2, 0) as row * width + col
    assert info == {}


def test_gym_make_truncates_after_100_steps_without_terminating():
    env = gym.make("minirl/GridWorld-v0")
    env.reset(seed=0)
    for t in range(100):
        _, _, terminated, truncated, _ = env.step(UP)  # pushes into the top edge forever
        assert not terminated
        assert truncated == (t == 99)


def test_book_layout():
    env = GridWorld()
    assert env.shape == (3, 4)
    assert (env.height, env.width) == (3, 4)
    assert env.goal_state == (0, 3)
    assert env.wall_state == (1, 1) and env.wall_states == ((1, 1),)
    assert env.start_state == (2, 0)
    assert env.actions() == [0, 1, 2, 3]
    assert env.action_meaning == {0: "UP", 1: "DOWN", 2: "LEFT", 3: "RIGHT"}
    cells = list(env.states())
    assert len(cells) == 11 and (1, 1) not in cells
    assert env.reward(None, None, (0, 3)) == 1.0
    assert env.reward(None, None, (1, 3)) == -1.0
    assert all(env.reward(None, None, c) == 0.0 for c in cells if c not in [(0, 3), (1, 3)])


def test_edges_and_wall_leave_the_agent_in_place():
    env = GridWorld()
    assert env.next_state((0, 0), UP) == (0, 0)
    assert env.next_state((0, 0), LEFT) == (0, 0)
    assert env.next_state((2, 3), DOWN) == (2, 3)
    assert env.next_state((2, 3), RIGHT) == (2, 3)
    # the wall (1, 1) from all four sides
    assert env.next_state((0, 1), DOWN) == (0, 1)
    assert env.next_state((2, 1), UP) == (2, 1)
    assert env.next_state((1, 0), RIGHT) == (1, 0)
    assert env.next_state((1, 2), LEFT) == (1, 2)
    # and ordinary moves
    assert env.next_state((2, 0), UP) == (1, 0)
    assert env.next_state((2, 0), RIGHT) == (2, 1)


def test_minus_one_cell_is_not_terminal_and_goal_is():
    env = GridWorld()
    results = play(env, [RIGHT, RIGHT, RIGHT, UP, RIGHT, UP])
    rewards = [r[1] for r in results]
    terminated = [r[2] for r in results]
    assert rewards == [0.0, 0.0, 0.0, -1.0, -1.0, 1.0]  # bumping the edge re-enters (1, 3)
    assert terminated == [False] * 5 + [True]
    assert not any(r[3] for r in results)  # GridWorld itself never truncates
    assert results[-1][0] == 0 * 4 + 3


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=30))
def test_step_agrees_with_the_model(actions):
    """What step() does is what the model (used by dynamic programming) says."""
    env = GridWorld()
    env.reset(seed=0)
    state = env.start_state
    for action in actions:
        obs, reward, terminated, _, _ = env.step(action)
        expected = env.next_state(state, action)
        assert env.index_to_state(obs) == expected
        assert expected not in env.wall_states
        assert reward == env.reward(state, action, expected)
        assert terminated == (expected == env.goal_state)
        if terminated:
            break
        state = expected


def test_index_and_state_convert_both_ways():
    env = GridWorld()
    indices = [env.state_to_index(s) for s in env.states()]
    assert indices == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert [env.index_to_state(i) for i in indices] == list(env.states())


def test_one_hot_observation():
    env = GridWorld(one_hot=True)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (12,) and obs.dtype == np.float32
    assert obs.sum() == 1.0 and obs[8] == 1.0
    obs, *_ = env.step(RIGHT)
    assert obs[9] == 1.0 and obs.sum() == 1.0


def test_invalid_action_raises():
    env = GridWorld()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(4)


def test_random_start_is_seeded_and_never_a_wall_or_the_goal():
    env = GridWorld(start_state=None)
    first = [env.reset(seed=s)[0] for s in range(40)]
    again = [env.reset(seed=s)[0] for s in range(40)]
    assert first == again
    starts = {env.index_to_state(i) for i in first}
    assert starts <= set(env.states()) - {env.goal_state}
    assert len(starts) > 5


def test_custom_layout():
    env = gym.make("minirl/GridWorld-v0", reward_map=[[0, 0, 2.0], [0, 0, 0]],
                   goal_state=(0, 2), wall_states=[(0, 1), (1, 1)], start_state=(1, 0)).unwrapped
    assert env.shape == (2, 3)
    assert env.observation_space.n == 6
    assert list(env.states()) == [(0, 0), (0, 2), (1, 0), (1, 2)]
    assert env.next_state((0, 0), RIGHT) == (0, 0)  # walled off
    check_env(env)


def test_shape_without_reward_map_pays_one_at_the_goal():
    env = GridWorld(shape=(2, 2), goal_state=(0, 1), wall_states=[], start_state=(1, 0))
    assert env.reward_map.tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_books_none_at_the_wall_is_accepted():
    env = GridWorld(reward_map=[[0, 0, 0, 1.0], [0, None, 0, -1.0], [0, 0, 0, 0]])
    assert np.all(np.isfinite(env.reward_map))


@pytest.mark.parametrize("kwargs, message", [
    ({"goal_state": (3, 0)}, "outside"),
    ({"start_state": (0, 9)}, "outside"),
    ({"wall_states": [(5, 5)]}, "outside"),
    ({"start_state": (1, 1)}, "wall"),
    ({"goal_state": (1, 1)}, "wall"),
    ({"start_state": (0, 3)}, "differ"),
    ({"goal_state": "a"}, "pair"),
    ({"reward_map": [1.0, 2.0]}, "2-D"),
    ({"reward_map": [[0.0, np.nan]], "goal_state": (0, 0), "start_state": (0, 1),
      "wall_states": []}, "finite"),
    ({"reward_map": np.zeros((3, 4)), "shape": (2, 2)}, "shape"),
    ({"shape": (3,)}, "shape"),
    ({"render_mode": "human"}, "render_mode"),
])
def test_bad_constructor_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GridWorld(**kwargs)


def test_render_ansi_and_rgb():
    env = GridWorld(render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == ". . . G\n. # . -\nA . . .\n"
    image = GridWorld(render_mode="rgb_array")
    image.reset(seed=0)
    frame = image.render()
    assert frame.shape == (3 * 32, 4 * 32, 3) and frame.dtype == np.uint8
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) >= 5  # wall, goal, -1, agent, floor
