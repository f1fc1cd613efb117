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
