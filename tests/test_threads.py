"""Fast by default: minirl runs NumPy's BLAS on one thread unless the user asks."""
import importlib

import pytest
from threadpoolctl import threadpool_info

import minirl
from minirl.threads import blas_threads, limit_blas_threads

USUAL = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MINIRL_NUM_THREADS")


@pytest.fixture
def clean_env(monkeypatch):
    for name in USUAL:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def blas_counts():
    return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]


def test_one_thread_unless_asked(clean_env):
    assert blas_threads() == 1
    clean_env.setenv("MINIRL_NUM_THREADS", "3")
    assert blas_threads() == 3
    clean_env.setenv("MINIRL_NUM_THREADS", "0")
    assert blas_threads() is None       # 0: leave BLAS alone
    clean_env.delenv("MINIRL_NUM_THREADS")
    clean_env.setenv("OPENBLAS_NUM_THREADS", "2")
    assert blas_threads() is None       # the usual variable is respected


@pytest.mark.parametrize("value", ["two", "-1"])
def test_a_bad_setting_names_the_variable(clean_env, value):
    clean_env.setenv("MINIRL_NUM_THREADS", value)
    with pytest.raises(ValueError, match="MINIRL_NUM_THREADS"):
        blas_threads()


def test_limit_applies_inside_and_is_undone(clean_env):
    if not blas_counts():
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl")
    with limit_blas_threads():
        assert set(blas_counts()) == {1}


def test_train_and_evaluate_run_on_one_thread(clean_env):
    if not blas_counts():
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl")
    train_module = importlib.import_module("minirl.train")
    seen = []
    original = train_module.greedy_episode

    def spy(*args, **kwargs):
        seen.append(set(blas_counts()))
        return original(*args, **kwargs)

    clean_env.setattr(train_module, "greedy_episode", spy)
    result = minirl.train("dqn", "CartPole-v1", 300, seed=0, learning_starts=100,
                          eval_every=300, eval_episodes=1)
    minirl.evaluate(result.agent, "CartPole-v1", episodes=1, seed=0)
    assert seen and all(counts == {1} for counts in seen)
