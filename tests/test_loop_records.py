"""The loop's bookkeeping, checked by value.

``fault_envs.Scripted`` plays episodes known in advance: episode k lasts 2 + k % 3
steps, pays 0.5 + k + 0.25 t at step t, ends truncated when k is odd and terminated
when k is even, and shows ``[k, t]``. The records (step, episode, return, length) that
the one-env loop, the vector loop and A3C's workers write are computed here from that
script alone, and so are the observations ``update`` must receive at each episode's
end: the episode's last one, ``[k, length]``, never the next episode's first.
"""
import numpy as np
import pytest

import minirl
from minirl.agents import agent_class
import fault_envs  # noqa: F401  (registers fault_envs:Scripted-v0; workers import it too)
from fault_envs import Scripted

ENV = "fault_envs:Scripted-v0"


def script(k):
    """Episode k: (return, length, truncated, last observation)."""
    length = Scripted.length(k)
    total = 0.0
    for t in range(1, length + 1):
        total += Scripted.reward(k, t)  # summed in order, as floats, like the loop
    return total, length, Scripted.truncated(k), [k, length]


def expected_records(steps, num_envs=1):
    """Every sub-env plays the same script in lock-step: episode k of each ends at the
    same step, sub-env 0's record first."""
    records, step, k = [], 0, 0
    while True:
        total, length, _, _ = script(k)
        step += length * num_envs
        if step > steps:
            return records
        for _ in range(num_envs):
            records.append((step, len(records) + 1, total, length))
        k += 1


def spy_updates(monkeypatch, cls):
    """Record every (next_obs, terminated, truncated) the loop hands ``cls.update``."""
    seen = []
    original = cls.update

    def update(self, obs, action, reward, next_obs, terminated, truncated):
        seen.append((np.array(next_obs), np.array(terminated), np.array(truncated)))
        return original(self, obs, action, reward, next_obs, terminated, truncated)
    monkeypatch.setattr(cls, "update", update)
    return seen


def test_the_one_env_loop_records_each_episode_as_scripted(monkeypatch):
    seen = spy_updates(monkeypatch, agent_class("qnet"))
    result = minirl.train("qnet", ENV, 40, seed=0, plot=False)
    assert result.records == expected_records(40)
    ends = [(obs.tolist(), bool(term), bool(trunc)) for obs, term, trunc in seen
            if term or trunc]
    want = [(script(k)[3], not script(k)[2], script(k)[2]) for k in range(len(ends))]
    assert ends == want  # the last observation of the episode, with its own flags
    assert len(ends) == len(result.records)  # a truncation ends the episode too


def test_the_vector_loop_records_each_sub_env_as_scripted(monkeypatch):
    seen = spy_updates(monkeypatch, agent_class("a2c"))
    result = minirl.train("a2c", ENV, 3 * 20, seed=0, num_envs=3, n_steps=4, plot=False)
    assert result.records == expected_records(60, num_envs=3)
    k = 0
    for next_obs, terminated, truncated in seen:
        if not (terminated | truncated).any():
            continue
        assert (terminated | truncated).all()  # the sub-envs run in lock-step
        _, _, cut, last = script(k)
        assert next_obs.tolist() == [last] * 3  # final_obs, not the next reset's
        assert truncated.tolist() == [cut] * 3 and terminated.tolist() == [not cut] * 3
        k += 1
    assert 3 * k == len(result.records)


def test_one_a3c_worker_records_each_episode_as_scripted():
    result = minirl.train("a3c", ENV, 60, seed=0, workers=1, plot=False)
    assert result.records == expected_records(60)[:len(result.records)]
    assert len(result.records) >= len(expected_records(60)) - 1  # the last may be cut


def test_two_a3c_workers_each_record_their_own_episodes():
    """Each worker plays the script from its own episode 0: the episodes recorded are
    two prefixes of the script, in whatever order the workers finish them."""
    result = minirl.train("a3c", ENV, 80, seed=0, workers=2, plot=False)
    played = sorted((r[3], r[2]) for r in result.records)
    counts = {}
    for length, total in played:
        k = next(k for k in range(100) if script(k)[:2] == (total, length))
        counts[k] = counts.get(k, 0) + 1
    ks = sorted(counts)
    assert ks == list(range(len(ks))) and len(ks) >= 3
    assert all(2 >= counts[k] >= counts[k + 1] for k in ks[:-1])


@pytest.mark.parametrize("name", ["dqn", "ppo"])
def test_evaluate_never_explores(monkeypatch, name):
    agent = minirl.make_agent(name, "CartPole-v1", seed=0)
    cls, act = type(agent), type(agent).act

    def greedy_only(self, obs, explore=True):
        assert explore is False, "evaluation called the exploring path"
        return act(self, obs, explore=False)
    monkeypatch.setattr(cls, "act", greedy_only)
    minirl.evaluate(agent, "CartPole-v1", episodes=2, seed=0)
