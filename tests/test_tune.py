"""minirl tune: two processes share one SQLite study; every trial runs once; the best
trial printed is the study's; a trial's runs, trained one evaluation period at a time,
are the runs minirl.train makes in one go."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import minirl
from minirl.tune import parse_space, train_command

optuna = pytest.importorskip("optuna")  # .ci/run installs minirl[sweep]: this runs in CI

ENV, ALGO, STEPS, EVERY = "minirl/Chain-v0", "qnet", 400, 200


def tune_command(out, trials):
    return [sys.executable, "-m", "minirl", "tune", ALGO, "--env", ENV, "--steps",
            str(STEPS), "--seeds", "0-1", "--eval-every", str(EVERY), "--trials",
            str(trials), "--space", "lr=log:1e-3:1e-1", "--space", "hidden_size=int:8:32",
            "--out", str(out), "--study", "shared"]


def final_returns(trial_dir):
    finals = []
    for seed in (0, 1):
        with open(os.path.join(trial_dir, f"seed-{seed}", "evaluations.csv")) as f:
            last = f.read().split()[-1].split(",")
        assert int(last[0]) == STEPS
        finals.append(float(last[1]))
    return finals


def test_two_processes_share_one_study(tmp_path):
    procs = [subprocess.Popen(tune_command(tmp_path, 2), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    study = optuna.load_study(study_name="shared",
                              storage=f"sqlite:///{tmp_path / 'study.db'}")
    trials = study.trials
    assert len(trials) == 4  # 2 + 2: the count adds up
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    assert all(t.state in finished for t in trials)
    # each trial ran once, in a directory of its own, with its own settings
    assert sorted(os.listdir(tmp_path / "trials")) == [f"trial-{n}" for n in range(4)]
    for trial in trials:
        for seed in (0, 1):
            config = minirl_config(tmp_path / "trials" / f"trial-{trial.number}" /
                                   f"seed-{seed}")
            assert config["hparams"]["lr"] == trial.params["lr"]
            assert config["hparams"]["hidden_size"] == trial.params["hidden_size"]
        if trial.state == optuna.trial.TrialState.COMPLETE:
            finals = final_returns(tmp_path / "trials" / f"trial-{trial.number}")
            assert trial.value == np.mean(finals)  # the objective: mean final return
            assert sorted(trial.intermediate_values) == [EVERY, STEPS]
    # the report names the study's best trial and its settings as a train command
    report = subprocess.run(tune_command(tmp_path, 0), capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
    best = study.best_trial
    match = re.search(r"4 trials .* best: trial (\d+), value (\S+)", report.stdout)
    assert match and int(match[1]) == best.number
    assert float(match[2]) == pytest.approx(best.value, abs=0.005)
    assert report.stdout.strip().splitlines()[-1] == train_command(ALGO, ENV, STEPS,
                                                                   best.params)


def minirl_config(run_dir):
    import json
    with open(os.path.join(run_dir, "config.json")) as f:
        return json.load(f)


def test_trial_trained_in_periods_is_one_run(tmp_path):
    """A trial trains its seeds one evaluation period at a time (resume up to the next
    evaluation): the metrics are those of one uninterrupted minirl.train run."""
    from minirl.tune import tune
    study = tune(ALGO, ENV, STEPS, "5", ["lr=log:1e-2:2e-2"], trials=1, out=str(tmp_path),
                 eval_every=EVERY, sampler_seed=0, quiet=True)
    trial = study.trials[0]
    alone = tmp_path / "alone"
    minirl.train(ALGO, ENV, STEPS, seed=5, out=str(alone), eval_every=EVERY,
                 **trial.params)
    run = tmp_path / "trials" / "trial-0" / "seed-5"
    for name in ("metrics.csv", "evaluations.csv"):
        assert (run / name).read_bytes() == (alone / name).read_bytes()


def test_space_and_command():
    assert parse_space(["lr=log:1e-4:1e-2", "n_step=int:1:5", "double=cat:true,false",
                        "gamma=float:0.9:0.99"]) == {
        "lr": ("log", 1e-4, 1e-2), "n_step": ("int", 1, 5),
        "double": ("cat", [True, False]), "gamma": ("float", 0.9, 0.99)}
    for bad, says in [("lr=1e-4:1e-2", "--space expects"), ("lr=log:1:x", "numbers"),
                      ("lr=log:0:1", "LOW > 0"), ("n=int:5:1", "LOW < HIGH")]:
        with pytest.raises(ValueError, match=says):
            parse_space([bad])
    assert train_command("dqn", "CartPole-v1", 50000, {"lr": 0.000312345, "n_step": 3}) \
        == "minirl train dqn --env CartPole-v1 --steps 50000 --set lr=0.0003123 --set n_step=3"


def test_a_trials_value_is_the_mean_or_the_iqm_of_its_seeds():
    """The objective by hand: the mean of [1, 2, 9] is 4 (its median, 2, is not it);
    the IQM of [0, 1, 2, 3, 4, 100, 6, 7] is the mean of its middle half, (2+3+4+6)/4."""
    from minirl.tune import aggregate
    assert aggregate([1.0, 2.0, 9.0], "mean") == 4.0
    assert aggregate([0, 1, 2, 3, 4, 100, 6, 7], "iqm") == pytest.approx(15 / 4)
