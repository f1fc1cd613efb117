"""The algorithm registry: readable entries, names that fix what they say, a table whose
columns line up."""
import gymnasium as gym
import pytest

import minirl
from minirl.agents import ALGORITHMS, Algorithm, agent_class, algorithm_table


def test_every_entry_is_an_algorithm_whose_fixed_settings_and_preset_exist():
    for name, algo in ALGORITHMS.items():
        assert isinstance(algo, Algorithm) and algo.name == name
        cls = agent_class(name)
        assert set(algo.fixed) <= set(cls.spec), name  # no preset hidden among them
        assert algo.preset is None or algo.preset in cls.presets, name
        assert algo.spaces == (cls.observation_spaces, cls.action_spaces)


@pytest.mark.parametrize("name, expected", [
    ("double-dqn", {"double": True}),
    ("c51", {"categorical": True, "epsilon_end": 0.1, "batch_size": 64}),  # fixed + preset
    ("rainbow", {"noisy": True, "categorical": True, "lr": 2.3e-3}),        # preset alone
    ("noisy-dqn", {"noisy": True, "loss": "huber"}),
])
def test_make_agent_applies_the_fixed_settings_and_the_preset(name, expected):
    agent = minirl.make_agent(name, "CartPole-v1")
    assert {k: agent.hparams[k] for k in expected} == expected
    assert agent.preset == ALGORITHMS[name].preset
    with pytest.raises(ValueError, match="fixes"):
        if ALGORITHMS[name].fixed:
            key, value = next(iter(ALGORITHMS[name].fixed.items()))
            minirl.make_agent(name, "CartPole-v1", **{key: not value})
        else:
            raise ValueError("fixes nothing")


def test_the_table_columns_line_up_for_every_row():
    """Each column starts at the same character in every row, 'after the book' too."""
    rows = algorithm_table().splitlines()
    assert len(rows) == len(minirl.algorithms()) + 1
    starts = [rows[0].index(word) for word in ("chapter", "actions", "observations",
                                                 "what it is")]
    for row, name in zip(rows[1:], minirl.algorithms()):
        algo = ALGORITHMS[name]
        assert row.startswith(name + " ")
        assert row[starts[0]:].startswith(algo.chapter + " ")
        assert row[starts[3]:] == algo.summary
        for start in starts:
            assert row[start - 1] == " " and row[start] != " "


def test_spaces_come_from_the_class():
    observations, actions = ALGORITHMS["ppo"].spaces
    assert gym.spaces.Box in actions and gym.spaces.Discrete in actions
