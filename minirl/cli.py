"""The command line: ``minirl`` (or ``python -m minirl``).

    minirl algos [ALGO]
    minirl train ALGO --env ID --steps N [--seed S] [--out DIR] [--preset NAME]
                 [--set key=value ...] [--eval-every N] [--stop-return R]
                 [--checkpoint-every SECONDS] [--resume | --force] [--quiet]
    minirl eval RUN [--episodes K] [--seed S] [--render] [--gif OUT.gif]
    minirl plot RUN [RUN ...] [--out FILE] [--stat NAME ...]
    minirl --version

Ctrl-C or SIGTERM during ``train`` saves a checkpoint and the metrics so far, says
where, and exits with status 130 (SIGINT) or 143 (SIGTERM); a second one stops at once
without saving and says which checkpoint is on disk. Mistakes in the command (an unknown
algorithm, a bad --set, a busy or foreign --out, --resume to fewer steps) exit with
status 2, failures while running (a broken env, a NaN, a full disk, a worker's crash)
with 1; each is one line, never a traceback. ``minirl train``'s loop flags are made
from ``minirl.settings.Settings``.
"""
import argparse
import ast
import os
import signal
import sys
import threading

import numpy as np

__all__ = ["main", "parse_set"]


def parse_set(items):
    """['lr=1e-3', 'double=true', 'hidden=[64, 64]'] -> {'lr': 0.001, ...}.

    Values are read as Python literals (numbers, True/False, lists); true/false/none
    in any case work too; anything else stays a string.
    """
    hparams = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        words = {"true": True, "false": False, "none": None, "null": None}
        if text.strip().lower() in words:
            value = words[text.strip().lower()]
        else:
            try:
                value = ast.literal_eval(text.strip())
            except (ValueError, SyntaxError):
                value = text
        hparams[key] = value
    return hparams


def _cmd_algos(args):
    from minirl.agents import algorithm_table, describe_algorithm
    print(describe_algorithm(args.algo) if args.algo else algorithm_table())
    return 0


def _train_epilog():
    """The algorithms and their presets, for ``minirl train --help``."""
    from minirl.agents import ALGORITHMS, agent_class, algorithms
    lines = ["algorithms (minirl algos ALGO lists every --set key):"]
    for name in algorithms():
        presets = ", ".join(agent_class(name).presets) or "none"
        lines.append(f"  {name:20} ch. {ALGORITHMS[name].chapter:3} presets: {presets}")
    return "\n".join(lines)


def _cmd_train(args):
    from minirl.rundir import use_command_line_spelling
    from minirl.settings import from_arguments
    from minirl.train import resume, train
    use_command_line_spelling()  # run-directory messages name --resume, not resume=True
    hparams = parse_set(args.set)
    settings = {**from_arguments(args), "quiet": args.quiet}
    if args.resume:
        if not args.out:
            raise ValueError("--resume needs --out DIR (the run to continue)")
        if hparams or args.preset:
            raise ValueError(f"--resume continues the saved configuration; got new "
                             f"hyperparameters {sorted(hparams) or [args.preset]}")
        resume(args.out, args.steps, env=args.env, name=args.algo, seed=args.seed,
               **settings)
        return 0
    if args.env is None:
        raise ValueError("--env ID is required (e.g. --env CartPole-v1)")
    if args.steps is None:
        raise ValueError("--steps N is required (environment steps in total)")
    train(args.algo, args.env, args.steps, seed=args.seed, out=args.out,
          preset=args.preset, force=args.force, **settings, **hparams)
    return 0


class RenderError(RuntimeError):
    """Rendering is not possible here (a missing package, no display, a broken env)."""


class CommandInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during ``eval`` or ``plot``: it says what was written (and,
    like a stopped training run, carries ``saved`` so the message is printed as is)."""
    saved = False

    def __init__(self, signum, message):
        super().__init__(message)
        self.signum = signum


def _interruptible(what):
    """``command(args, written)`` made ``command(args)``, a stop signal reported in the
    words of ``what`` and the files in ``written``: no training ran, none is spoken of."""
    def decorate(command):
        def run(args):
            written = []
            try:
                return command(args, written)
            except KeyboardInterrupt as stop:
                signum = getattr(stop, "signum", signal.SIGINT)
                done = "wrote " + ", ".join(written) if written else "nothing written"
                raise CommandInterrupted(signum, f"minirl {what} stopped by "
                                                 f"{signal.Signals(signum).name}: {done}") \
                    from None
        return run
    return decorate


GIF_WIDTH = 320             # pixels across, as plot.save_gif draws them
GIF_MEMORY = 128 * 2**20    # bytes of scaled frames one GIF may hold before it is written


def _render_env(env_id, mode):
    """``(make_env(env_id, render_mode=mode), first frame)``, or a RenderError in one
    line: the extra to install when pygame is missing, or what the renderer raised."""
    import gymnasium as gym
    from minirl.envs import make_env
    if mode == "rgb_array":  # no window, so no video driver (SDL's XDG_RUNTIME_DIR noise)
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    try:
        env = make_env(env_id, render_mode=mode)
        env.reset(seed=0)
        frame = env.render()
    except gym.error.DependencyNotInstalled as error:
        raise RenderError(f"rendering {env_id} needs a package that is not installed "
                          f"({str(error).splitlines()[0]}); install it with: "
                          f"pip install 'minirl[render]'") from None
    except (KeyboardInterrupt, ValueError):  # ValueError: make_env's unknown id
        raise
    except Exception as error:  # noqa: BLE001  (pygame's, or the env's own renderer)
        first_line = (str(error).splitlines() or [""])[0]
        raise RenderError(f"cannot render {env_id} ({mode}): {type(error).__name__}: "
                          f"{first_line}") from None
    if mode == "rgb_array":
        shape = np.shape(frame) if isinstance(frame, np.ndarray) else None
        if shape is None or len(shape) != 3 or shape[2] not in (3, 4) or min(shape) < 1:
            raise RenderError(f"cannot record {env_id}: render() in rgb_array mode gave "
                              f"{type(frame).__name__} {shape or ''}, not an RGB image")
    return env, frame


def _scaled(frame):
    """A frame scaled to ``GIF_WIDTH`` pixels across as it arrives, so a long episode
    keeps small frames, never the renderer's full-size ones."""
    from PIL import Image
    image = Image.fromarray(np.asarray(frame, np.uint8)[..., :3])
    height = max(1, round(image.height * GIF_WIDTH / image.width))
    return np.asarray(image.resize((GIF_WIDTH, height), Image.Resampling.LANCZOS))


def _record_gif(agent, env_id, path, seed):
    """Record the greedy episode from ``seed`` as a GIF, frames held scaled down and at
    most ``GIF_MEMORY`` of them: a longer episode is cut there, and the line says so."""
    from minirl.plot import save_gif
    from minirl.train import greedy_episode
    render_env, first = _render_env(env_id, "rgb_array")
    limit = max(2, GIF_MEMORY // _scaled(first).nbytes)  # frames: steps + 1
    frames, outcome = [], {}

    def on_frame(frame):
        frames.append(_scaled(frame))
    total = greedy_episode(agent, _EndWatcher(render_env, outcome), seed,
                           max_steps=limit - 1, on_frame=on_frame)
    save_gif(frames, path, fps=render_env.metadata.get("render_fps") or 30, width=GIF_WIDTH)
    render_env.close()
    cut = "" if outcome.get("ended") else \
        f" (cut at {len(frames) - 1} steps: the frames would pass {GIF_MEMORY >> 20} MiB)"
    return (f"wrote {path}: episode 1 (seed {seed}), return {total:.2f}, "
            f"{len(frames)} frames{cut}")


class _EndWatcher:
    """An env seen through: notes in ``outcome["ended"]`` whether an episode ended."""

    def __init__(self, env, outcome):
        self.env, self.outcome = env, outcome

    def reset(self, **kwargs):
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.outcome["ended"] = bool(terminated or truncated)
        return obs, reward, terminated, truncated, info

    def render(self):
        try:
            return self.env.render()
        except Exception as error:  # noqa: BLE001  (the env's renderer, mid-episode)
            first_line = (str(error).splitlines() or [""])[0]
            raise RenderError(f"rendering failed during the episode: "
                              f"{type(error).__name__}: {first_line}") from None


def _new_file(path, option, suffixes):
    """Check ``path`` can be written as a new ``suffixes[0]`` file; ValueError if not."""
    if os.path.isdir(path):
        raise ValueError(f"{option} {path} is a directory; name a file in it, e.g. "
                         f"{os.path.join(path, 'out' + suffixes[0])}")
    if os.path.splitext(path)[1].lower() not in suffixes:
        raise ValueError(f"{option} {path} needs a file extension: "
                         f"{', '.join(suffixes[:6])}{', ...' if len(suffixes) > 6 else ''}")
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise ValueError(f"{option} {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise ValueError(f"{option} {path}: the directory {directory} is not writable")


def _check_eval_args(args):
    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    if not 0 <= args.seed <= 2**32 - 1 - args.episodes:
        raise ValueError(f"--seed must be an int in [0, 2**32 - 1 - episodes], got "
                         f"{args.seed}")
    if args.gif:
        _new_file(args.gif, "--gif", (".gif",))


def _check_spaces(config, env, env_id, where):
    """The env must have the spaces the agent was trained with; else name both."""
    from minirl.agents.base import space_to_json
    try:
        here = [space_to_json(env.observation_space), space_to_json(env.action_space)]
    except ValueError as error:
        raise ValueError(f"{env_id}: {error}") from None
    saved = [config["observation_space"], config["action_space"]]
    if here != saved:
        raise ValueError(f"{where} was trained with observations {_space_words(saved[0])} "
                         f"and actions {_space_words(saved[1])}; {env_id} has "
                         f"{_space_words(here[0])} and {_space_words(here[1])}")


def _space_words(space):
    """A space's JSON in a few words: Discrete(2), Box(float32, (4,))."""
    if space.get("type") == "Discrete":
        return f"Discrete({space.get('n')})"
    return f"Box({space.get('dtype')}, {tuple(space.get('shape', ()))})"


@_interruptible("eval")
def _cmd_eval(args, written):
    from minirl.checkpoint import build_agent, checkpoint_file, read_checkpoint, saved_env_id
    from minirl.envs import make_env
    from minirl.train import evaluate
    _check_eval_args(args)
    where = checkpoint_file(args.dir)
    config, state, _ = read_checkpoint(where)
    env_id = args.env or saved_env_id(config, where)
    env = make_env(env_id)
    _check_spaces(config, env, env_id, where)
    agent = build_agent(config, state, where)
    if args.gif:
        print(_record_gif(agent, env_id, args.gif, args.seed))
        written.append(args.gif)
    shown = _render_env(env_id, "human")[0] if args.render else env
    mean, std = evaluate(agent, shown, args.episodes, seed=args.seed)
    print(f"{config['algo']} on {env_id}: greedy return {mean:.2f} +/- {std:.2f} "
          f"over {args.episodes} episodes")
    return 0


def _check_plot_args(args):
    """Every RUN a directory with a readable metrics.csv, a sane --window, a PNG path
    that can be written: before anything is read or drawn. Returns the output path."""
    from minirl.checkpoint import CheckpointError, read_json
    if args.window < 1:
        raise ValueError(f"--window must be >= 1 episodes, got {args.window}")
    for run in args.dirs:
        if not os.path.isdir(run):
            raise ValueError(f"{run} is not a directory (a run directory made by "
                             f"minirl train --out)")
        for name in ("metrics.csv", "evaluations.csv", "stats.csv"):
            path = os.path.join(run, name)
            if os.path.lexists(path) and not os.path.isfile(path):
                raise ValueError(f"{path} is not a regular file")
        if not os.path.isfile(os.path.join(run, "metrics.csv")):
            raise ValueError(f"{run} has no metrics.csv (not a minirl run directory?)")
        if os.path.lexists(os.path.join(run, "config.json")):
            try:
                read_json(os.path.join(run, "config.json"))
            except CheckpointError as error:
                raise ValueError(str(error)) from None
    out = args.out or (os.path.join(args.dirs[0], "curve.png") if len(args.dirs) == 1
                       else "curves.png")
    from matplotlib.figure import Figure
    formats = Figure().canvas.get_supported_filetypes()
    _new_file(out, "--out", (".png", *(f".{k}" for k in sorted(formats) if k != "png")))
    return out


@_interruptible("plot")
def _cmd_plot(args, written):
    from minirl.plot import plot_runs
    out = _check_plot_args(args)
    plot_runs(args.dirs, out, stats=args.stat or (), window=args.window)
    written.append(out)
    print(f"wrote {out}")
    return 0


def _version():
    from minirl import __version__
    return f"minirl {__version__}"


def build_parser():
    from minirl.settings import add_arguments
    parser = argparse.ArgumentParser(prog="minirl", description="Deep RL from scratch in NumPy.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    algos = sub.add_parser("algos", help="list the algorithms, or one algorithm's settings")
    algos.add_argument("algo", nargs="?", help="show every hyperparameter and preset of ALGO")

    train = sub.add_parser("train", help="train an agent", epilog=_train_epilog(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("algo")
    train.add_argument("--env", help="gymnasium env id, e.g. CartPole-v1")
    train.add_argument("--steps", type=int, help="environment steps in total (--resume: "
                                                 "default the saved total)")
    train.add_argument("--seed", type=int, help="random seed (default 0; --resume: the "
                                                "saved one)")
    train.add_argument("--out", help="run directory (config, metrics, checkpoint, curve)")
    train.add_argument("--preset", help="named hyperparameters, e.g. book")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="a hyperparameter (repeatable)")
    add_arguments(train)  # one flag per loop setting: minirl/settings.py
    mode = train.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the run in --out")
    mode.add_argument("--force", action="store_true",
                      help="start over: delete the run already in --out first")
    train.add_argument("--quiet", action="store_true", help="no progress bar, no summary")

    ev = sub.add_parser("eval", help="greedy evaluation of a saved run")
    ev.add_argument("dir", metavar="RUN", help="a run directory or a .npz checkpoint")
    ev.add_argument("--episodes", type=int, default=10)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--env", help="override the run's env id")
    ev.add_argument("--render", action="store_true",
                    help="show the episodes (needs pip install 'minirl[render]')")
    ev.add_argument("--gif", metavar="OUT.gif",
                    help="record the first episode as an animated GIF (needs "
                         "pip install 'minirl[render]')")

    plot = sub.add_parser("plot", help="learning curves of one or more runs")
    plot.add_argument("dirs", nargs="+", metavar="RUN")
    plot.add_argument("--out", help="PNG path (default: RUN/curve.png or curves.png)")
    plot.add_argument("--stat", action="append", metavar="NAME",
                      help="also draw a column of stats.csv (loss, sps, ...; repeatable)")
    plot.add_argument("--window", type=int, default=20,
                      help="episodes in the moving average (default 20)")
    from minirl.sweep import add_parsers
    add_parsers(sub)  # minirl sweep, minirl tune
    return parser


def _terminate(signum, frame):
    """SIGTERM before training starts: stop as Ctrl-C does."""
    from minirl.signals import Interrupted
    raise Interrupted(signum)


def _run_failures():
    """What stops a run that was asked for correctly: exit status 1 (a mistake in the
    command is 2)."""
    from minirl.envcheck import EnvCheckError, EnvError
    from minirl.resume import ReplayError
    from minirl.saving import NonFiniteError
    failures = (EnvCheckError, EnvError, NonFiniteError, ReplayError, OSError)
    if "minirl.agents.a3c" in sys.modules:
        failures += (sys.modules["minirl.agents.a3c"].WorkerError,)
    return failures


def main(argv=None):
    args = build_parser().parse_args(argv)
    command = getattr(args, "handler", None) or {
        "algos": _cmd_algos, "train": _cmd_train, "eval": _cmd_eval,
        "plot": _cmd_plot}[args.command]
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    fail = f"minirl {args.command}: error:"
    stopping = False
    try:
        from minirl.threads import limit_blas_threads
        with limit_blas_threads():
            return command(args)
    except KeyboardInterrupt as stop:
        from minirl.signals import STOP_SIGNALS, exit_status
        # The run is stopping and what is on disk is settled: a further Ctrl-C while
        # the message is printed and the process exits must not turn status 130 into
        # death by signal (the handlers stay ignored until the process has exited).
        if threading.current_thread() is threading.main_thread():
            stopping = True
            for stop_signal in STOP_SIGNALS:
                signal.signal(stop_signal, signal.SIG_IGN)
        signum = getattr(stop, "signum", signal.SIGINT)
        if hasattr(stop, "saved"):  # TrainingInterrupted: it says what is on disk
            print(f"\n{stop}", file=sys.stderr)
        elif args.command == "train":
            print(f"\ninterrupted ({signal.Signals(signum).name}) before training "
                  f"started: nothing was saved", file=sys.stderr)
        else:
            print(f"\nminirl {args.command}: interrupted ({signal.Signals(signum).name})",
                  file=sys.stderr)
        return exit_status(signum)
    except RenderError as error:
        print(f"{fail} {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001  (sorted below; a bug still shows its traceback)
        if isinstance(error, _run_failures()) and not isinstance(error, FileNotFoundError):
            # Training failed on the way: a broken env, a NaN, a full disk, a worker.
            print(f"{fail} {error}", file=sys.stderr)
            return 1
        if isinstance(error, (ValueError, TypeError, KeyError)):
            # A user's mistake (unknown algorithm, bad --set, missing run): one clear line.
            print(f"{fail} {error}", file=sys.stderr)
            return 2
        raise
    finally:
        if previous is not None and not stopping:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
