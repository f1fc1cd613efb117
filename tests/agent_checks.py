"""Checks that several agents' tests share: written once, imported by each test module."""
import numpy as np

import minirl


def check_save_load_resumes_exactly(agent, rng, path, warmup):
    """Train ``warmup`` steps on random observations of a 3-D box, save, load: the
    loaded agent acts the same (greedy and exploring), learns the same, and ends with
    the same state. Rewards are -1, next_obs = obs, nothing terminates."""
    for _ in range(warmup):
        o = rng.uniform(-1, 1, 3).astype(np.float32)
        agent.update(o, agent.act(o), -1.0, o, False, False)
    agent.save(path)
    loaded = minirl.load_agent(path)
    for _ in range(10):
        o = rng.uniform(-1, 1, 3).astype(np.float32)
        assert np.array_equal(loaded.act(o, explore=False), agent.act(o, explore=False))
        x, y = agent.act(o), loaded.act(o)
        assert np.array_equal(x, y)
        assert agent.update(o, x, -1.0, o, False, False) == loaded.update(o, y, -1.0, o,
                                                                         False, False)
    sa, sl = agent.state_dict(), loaded.state_dict()
    assert sa.keys() == sl.keys() and all(np.array_equal(sa[k], sl[k]) for k in sa)


def check_resume_ends_where_an_uninterrupted_run_does(tmp_path, name, env, steps, stop_at,
                                                      seed=1, **hparams):
    """Train ``steps`` straight through; train ``stop_at`` steps into a run directory and
    continue it with ``minirl.resume`` to ``steps``: the records, ``metrics.csv`` and
    every array of the agent's state (parameters, optimizer moments, replay, counters,
    random generators) are those of the run that never stopped. Pick ``stop_at``
    inside an episode, so that resuming has an episode to bring back.
    Returns (whole, resumed) for checks of an agent's own."""
    whole = minirl.train(name, env, steps, seed=seed, out=tmp_path / "whole", plot=False,
                         **hparams)
    part = minirl.train(name, env, stop_at, seed=seed, out=tmp_path / "part", plot=False,
                        **hparams)
    assert part.records != whole.records  # the stop left something to do
    resumed = minirl.resume(tmp_path / "part", steps, plot=False)
    assert resumed.records == whole.records
    assert ((tmp_path / "part" / "metrics.csv").read_bytes()
            == (tmp_path / "whole" / "metrics.csv").read_bytes())
    sw, sr = whole.agent.state_dict(), resumed.agent.state_dict()
    assert sw.keys() == sr.keys()
    differ = [key for key in sw if not np.array_equal(sw[key], sr[key])]
    assert not differ, f"{name}: resumed state differs from the whole run's in {differ}"
    return whole, resumed
