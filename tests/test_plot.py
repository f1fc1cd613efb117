"""Learning-curve figures say only what was observed and fit their width.

`minirl plot` once wrote a 3455-pixel-wide PNG whose legend listed every setting of two
runs, drew a ± std band above 500 on CartPole, and let the first steps/s point (before
learning starts) squash the panel. Each test here fails on one of those.
"""
import json
import warnings

import numpy as np
from PIL import Image

from minirl.plot import (FIGURE_WIDTH, evaluation_band, group_labels, observed_band,
                         observed_errors,
                         plot_runs, seed_band, seed_range, steady_limits)


def fake_run(path, seed, hparams, returns, algo="dqn", env="CartPole-v1", evaluations=(),
             sps=()):
    """A run directory with the files plot reads, written by hand."""
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(
        {"algo": algo, "env": env, "seed": seed, "hparams": hparams,
         "loop": {"eval_episodes": 10}}))
    rows = ["step,episode,return,length"] + [
        f"{10 * (i + 1)},{i + 1},{r},10" for i, r in enumerate(returns)]
    (path / "metrics.csv").write_text("\n".join(rows) + "\n")
    if evaluations:
        (path / "evaluations.csv").write_text("step,mean_return,std_return\n" + "".join(
            f"{s},{m},{d}\n" for s, m, d in evaluations))
    if sps:
        (path / "stats.csv").write_text("step,time,sps\n" + "".join(
            f"{100 * (i + 1)},{i + 1},{v}\n" for i, v in enumerate(sps)))
    return path


DQN = {"lr": 0.001, "batch_size": 128, "gamma": 0.99, "tau": 1.0, "buffer_size": 20000,
       "hidden": [128, 128], "double": False, "n_step": 3}
QNET = {"lr": 0.01, "gamma": 0.9, "epsilon": 0.1, "hidden": [100]}


def test_legend_names_only_the_algorithm_and_env_when_those_differ():
    """dqn on CartPole beside qnet on GridWorld: their settings are not comparable,
    so the labels are the algorithm and the env, not every hyperparameter."""
    assert group_labels([{"algo": "dqn", "env": "CartPole-v1", **DQN},
                         {"algo": "qnet", "env": "minirl/GridWorld-v0", **QNET}]) == [
        "dqn CartPole-v1", "qnet minirl/GridWorld-v0"]
    assert group_labels([{"algo": "dqn", "env": "CartPole-v1", **DQN},
                         {"algo": "dqn", "env": "Acrobot-v1", **DQN}]) == [
        "CartPole-v1", "Acrobot-v1"]


def test_legend_lists_only_differing_settings_shortened_and_at_most_three():
    same = {"algo": "dqn", "env": "CartPole-v1"}
    a = {**same, **DQN}
    b = {**same, **DQN, "lr": 1e-4}
    assert group_labels([a, b]) == ["lr=0.001", "lr=0.0001"]
    long_list = {**same, **DQN, "hidden": list(range(40))}
    label = group_labels([a, long_list])[1]
    assert label.startswith("hidden=[0, 1, 2") and label.endswith("…") and len(label) < 30
    many = {**same, **DQN, "lr": 1, "gamma": 0.9, "tau": 0.5, "n_step": 1, "double": True}
    labels = group_labels([a, many])
    assert labels[1] == "lr=1 gamma=0.9 tau=0.5 +2 more"  # in config order


def test_figure_of_runs_with_different_algorithms_stays_as_wide_as_the_plot(tmp_path):
    """The 3455-pixel legend: two runs of different algorithms with many settings.
    The saved PNG is at most the figure's width (plus savefig's padding), no layout
    warning, and the legend has one entry per run."""
    a = fake_run(tmp_path / "cartpole", 0, DQN, np.linspace(10, 500, 60))
    b = fake_run(tmp_path / "g", 0, QNET, np.linspace(-1, 1, 60), algo="qnet",
                 env="minirl/GridWorld-v0")
    long = fake_run(tmp_path / "long", 0, {**DQN, "hidden": list(range(200))},
                    np.linspace(10, 500, 60))
    for runs in ([a, b], [a, long]):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig = plot_runs(runs, tmp_path / "c.png")
        width, _ = Image.open(tmp_path / "c.png").size
        assert width <= (FIGURE_WIDTH + 0.2) * 100, width
        assert len(fig.axes[0].get_legend().get_texts()) == 2


def test_seed_band_never_leaves_the_range_the_seeds_observed():
    """Two seeds at 500 and one at 300: mean 433, std 94, mean + std 528 -- a return
    CartPole cannot give. The band is cut at the highest seed, 500, and the lowest, 300."""
    steps = np.array([0.0, 10.0])
    curves = [(steps, np.array([500.0, 500.0])), (steps, np.array([500.0, 500.0])),
              (steps, np.array([300.0, 300.0]))]
    grid, mean, std, _ = seed_band(curves, points=5)
    assert np.all(mean + std > 500)  # what the unclipped band claimed
    lower, upper = observed_band(mean, std, *seed_range(curves, points=5))
    np.testing.assert_allclose(upper, 500.0)
    np.testing.assert_allclose(lower, mean - std)  # 339 is inside [300, 500]: kept
    low, high = seed_range([(steps, np.array([0.0, 10.0])),
                            (np.array([0.0, 20.0]), np.array([5.0, 25.0]))], points=21)
    np.testing.assert_allclose(low[:11], np.arange(11.0))  # run 1 below run 2 up to 10
    np.testing.assert_allclose(high[11:], np.arange(11.0, 21.0) + 5.0)  # run 2 alone


def test_drawn_bands_stay_inside_the_observed_returns(tmp_path):
    """On the figure itself: the seed band of several runs and the evaluation band of
    one run (mean 480 ± 60 over episodes of at most 500) never pass 500."""
    runs = [fake_run(tmp_path / f"s{i}", i, DQN, np.full(30, r)) for i, r in
            enumerate([500.0, 500.0, 300.0])]
    fig = plot_runs(runs, window=1)
    for band in fig.axes[0].collections:
        ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
        assert ys.max() <= 500 + 1e-9 and ys.min() >= 300 - 1e-9
    one = fake_run(tmp_path / "one", 0, DQN, [20.0, 200.0, 500.0],
                   evaluations=[(10, 480.0, 60.0), (20, 20.0, 40.0)])
    lower, upper = evaluation_band(one, np.array([480.0, 20.0]), np.array([60.0, 40.0]))
    np.testing.assert_allclose(upper, [500.0, 60.0])
    np.testing.assert_allclose(lower, [420.0, 20.0])  # 20 - 40 < 20, the lowest return
    fig = plot_runs([one])
    ys = np.concatenate([p.vertices[:, 1] for p in fig.axes[0].collections[0].get_paths()])
    assert ys.max() <= 500 and ys.min() >= 20


def test_evaluation_band_uses_the_episodes_range_when_the_run_wrote_it(tmp_path):
    one = fake_run(tmp_path / "one", 0, DQN, [20.0, 500.0])
    (one / "evaluations.csv").write_text(
        "step,mean_return,std_return,min_return,max_return\n10,480,60,430,495\n")
    lower, upper = evaluation_band(one, np.array([480.0]), np.array([60.0]))
    np.testing.assert_allclose([lower[0], upper[0]], [430.0, 495.0])


def test_stat_panel_is_scaled_to_the_steady_state(tmp_path):
    """steps/s of 13,000 before learning starts, then about 900: the panel shows
    700-1100 and says that the first point is off the scale."""
    sps = [13000.0, 900.0, 1100.0, 700.0, 950.0]
    assert steady_limits([(np.arange(5.0), np.array(sps))]) == (700 - 32.0, 1100 + 32.0)
    run = fake_run(tmp_path / "r", 0, DQN, [10.0, 20.0], sps=sps)
    fig = plot_runs([run], stats=("sps",))
    low, high = fig.axes[1].get_ylim()
    assert 650 < low < 700 and 1100 < high < 1200
    assert any("13000" in t.get_text() for t in fig.axes[1].texts)


def test_error_bars_stop_at_the_observed_returns():
    """mean 480 ± 60 with no return above 500 seen: the bar reaches 500, not 540;
    mean 30 ± 40 with 10 the lowest: the bar reaches down to 10, not -10."""
    yerr = observed_errors([480.0, 30.0], [60.0, 40.0], [10.0, 200.0, 500.0])
    np.testing.assert_allclose(yerr, [[60.0, 20.0], [20.0, 40.0]])
