"""Hyperparameter search with Optuna: several seeds per trial, pruning on evaluations.

    minirl tune dqn --env CartPole-v1 --steps 20000 --seeds 0-2 --trials 20 \\
        --space lr=log:1e-4:1e-2 --space n_step=int:1:5 --out runs/tune

One run is too noisy to rank settings by (rl-zoo3 and CleanRL's tuner train several
seeds per trial for that reason), so each trial trains every seed and its value is the
mean (or the interquartile mean, ``--objective iqm``) of their greedy returns. The seeds
of a trial advance together, one evaluation period at a time (``minirl.train`` with
``resume=True`` continues a run up to a larger step count, ending exactly where one
long run ends); after each period the trial reports the value so far, and Optuna's
median pruner stops a trial that is worse than the median of earlier trials at that step.

The study lives in a storage: by default an SQLite file ``OUT/study.db``; ``--storage``
takes an RDB URL (``postgresql://...``, ``mysql://...``) or a journal file path on a
filesystem several machines share, so that ``minirl tune`` processes on many machines
join one study (each trial's runs are ``OUT/trials/trial-<N>/seed-<S>``). At the end the
best settings are printed as a ready ``minirl train`` command.
"""
import os

__all__ = ["tune", "parse_space", "OPTUNA_MISSING"]

OPTUNA_MISSING = ("minirl tune needs Optuna, which is not installed: "
                  "pip install 'minirl[sweep]'")
KINDS = ("log", "float", "int", "cat")


def _import_optuna():
    try:
        import optuna
    except ModuleNotFoundError:
        raise ValueError(OPTUNA_MISSING) from None
    return optuna


def parse_space(items):
    """['lr=log:1e-4:1e-2', 'n_step=int:1:5', 'double=cat:true,false'] ->
    {'lr': ('log', 1e-4, 1e-2), 'n_step': ('int', 1, 5), 'double': ('cat', [True, False])}."""
    from minirl.cli import parse_set
    space = {}
    for item in items or []:
        key, _, text = item.partition("=")
        kind, _, rest = text.partition(":")
        if not key or kind not in KINDS or not rest:
            raise ValueError(f"--space expects key=log:LOW:HIGH, key=float:LOW:HIGH, "
                             f"key=int:LOW:HIGH or key=cat:A,B,...; got {item!r}")
        key = key.strip().replace("-", "_")
        if kind == "cat":
            space[key] = (kind, [parse_set([f"x={v}"])["x"] for v in rest.split(",")])
            continue
        try:
            low, high = (float(v) for v in rest.split(":"))
        except ValueError:
            raise ValueError(f"--space {item!r}: LOW and HIGH must be numbers") from None
        if not low < high or (kind == "log" and low <= 0):
            raise ValueError(f"--space {item!r}: needs LOW < HIGH (and LOW > 0 for log)")
        space[key] = (kind, int(low), int(high)) if kind == "int" else (kind, low, high)
    if not space:
        raise ValueError("minirl tune needs at least one --space key=KIND:...")
    return space


def suggest(trial, space):
    """One trial's settings, drawn by Optuna's sampler from ``space``."""
    params = {}
    for key, (kind, *bounds) in space.items():
        if kind == "cat":
            params[key] = trial.suggest_categorical(key, bounds[0])
        elif kind == "int":
            params[key] = trial.suggest_int(key, *bounds)
        else:
            params[key] = trial.suggest_float(key, *bounds, log=kind == "log")
    return params


def make_storage(storage, out):
    """None -> SQLite in OUT/study.db; 'x://...' -> an RDB URL; a path -> a journal file."""
    optuna = _import_optuna()
    if storage is None:
        storage = f"sqlite:///{os.path.abspath(os.path.join(out, 'study.db'))}"
    if "://" in storage:
        # SQLite serialises writers: wait for the lock rather than fail at once.
        connect = {"connect_args": {"timeout": 60}} if storage.startswith("sqlite") else {}
        return _create_rdb(optuna, storage, connect)
    from optuna.storages.journal import JournalFileBackend
    return optuna.storages.JournalStorage(JournalFileBackend(storage))


def _create_rdb(optuna, url, engine_kwargs, attempts=5):
    """Open an RDB storage. Processes that start together race to create its tables;
    the loser's error is the tables being there already, so it waits and opens again."""
    import time
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except Exception as error:  # noqa: BLE001  (SQLAlchemy's, whichever database)
            if not type(error).__module__.startswith("sqlalchemy") or \
                    attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def aggregate(values, objective):
    """The value of a trial: the mean of its seeds' greedy returns, or their IQM."""
    import numpy as np
    from minirl.stats import iqm
    return iqm(values) if objective == "iqm" else float(np.mean(values))


def train_trial(trial, config):
    """Train every seed of one trial, one evaluation period at a time, reporting the
    aggregate greedy return after each; raise TrialPruned when the pruner says so."""
    import minirl
    from minirl.sweep import read_run
    optuna = _import_optuna()
    params = suggest(trial, config["space"])
    every, value = config["eval_every"], None
    folder = os.path.join(config["out"], "trials", f"trial-{trial.number}")
    dirs = {seed: os.path.join(folder, f"seed-{seed}") for seed in config["seeds"]}
    for step in range(every, config["steps"] + 1, every):
        for seed, out in dirs.items():
            if step == every:
                minirl.train(config["name"], config["env"], step, seed=seed, out=out,
                             eval_every=every, plot=False, checkpoint_every=0,
                             **config["train"], **config["hparams"], **params)
            else:
                minirl.train(config["name"], config["env"], step, out=out, resume=True,
                             plot=False)
        finals = [read_run(out)["final"] for out in dirs.values()]
        value = aggregate(finals, config["objective"])
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"value {value:.2f} at step {step}")
    trial.set_user_attr("finals", finals)
    return value


def train_command(name, env, steps, params):
    """The best settings as a ready ``minirl train`` command."""
    sets = " ".join(f"--set {k}={v:.4g}" if isinstance(v, float) else f"--set {k}={v}"
                    for k, v in params.items())
    return f"minirl train {name} --env {env} --steps {steps} {sets}".rstrip()


def tune(name, env, steps, seeds, space, trials=20, out="runs/tune", storage=None,
         study_name=None, objective="mean", eval_every=None, eval_episodes=None,
         sampler_seed=None, quiet=False, **hparams):
    """Search ``space`` (see ``parse_space``) with Optuna for ``trials`` trials, each
    training ``seeds`` for ``steps`` steps; returns the study. Processes given the same
    ``storage`` and ``study_name`` share one study (trials are numbered by it)."""
    from minirl.sweep import parse_seeds
    optuna = _import_optuna()
    if objective not in ("mean", "iqm"):
        raise ValueError(f"objective must be 'mean' or 'iqm', got {objective!r}")
    eval_every = eval_every or max(int(steps) // 10, 1)
    if int(steps) % eval_every:
        raise ValueError(f"eval_every={eval_every} must divide steps={steps}")
    space = parse_space(space) if isinstance(space, (list, tuple)) else space
    os.makedirs(out, exist_ok=True)
    config = {"name": name, "env": env, "steps": int(steps), "seeds": parse_seeds(seeds),
              "space": space, "out": out, "eval_every": eval_every, "hparams": hparams,
              "objective": objective,
              "train": {"eval_episodes": eval_episodes} if eval_episodes else {}}
    if quiet:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name or f"minirl-{name}-{env}", storage=make_storage(storage, out),
        direction="maximize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=sampler_seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=eval_every))
    study.optimize(lambda trial: train_trial(trial, config), n_trials=trials)
    if not quiet:
        report(study, name, env, steps, hparams)
    return study


def report(study, name, env, steps, hparams):
    import optuna
    states = [t.state for t in study.trials]
    done = states.count(optuna.trial.TrialState.COMPLETE)
    pruned = states.count(optuna.trial.TrialState.PRUNED)
    if not done:
        print(f"study {study.study_name}: no trial completed ({pruned} pruned)")
        return
    best = study.best_trial
    print(f"study {study.study_name}: {len(states)} trials ({done} complete, {pruned} "
          f"pruned); best: trial {best.number}, value {best.value:.2f} "
          f"(finals {best.user_attrs.get('finals')})")
    print(train_command(name, env, steps, {**hparams, **best.params}))
