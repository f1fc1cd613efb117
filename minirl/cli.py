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
algorithm, a bad --set, a busy or foreign --out) exit with status 2, failures while
running (a broken env, a NaN, a full disk) with 1; each is one line, never a traceback.
"""
import argparse
import ast
import os
import signal
import sys
import threading

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
    from minirl.train import train
    hparams = parse_set(args.set)
    if args.resume and not args.out:
        raise ValueError("--resume needs --out DIR (the run to continue)")
    if args.env is None and not args.resume:
        raise ValueError("--env ID is required (e.g. --env CartPole-v1)")
    train(args.algo, args.env, args.steps, seed=args.seed, out=args.out,
          preset=args.preset, eval_every=args.eval_every,
          eval_episodes=args.eval_episodes, checkpoint_every=args.checkpoint_every,
          stop_return=args.stop_return, log_every=args.log_every,
          allow_nonfinite=args.allow_nonfinite or None, resume=args.resume,
          force=args.force, quiet=args.quiet, **hparams)
    return 0


class RenderError(RuntimeError):
    """Rendering is not possible here (a missing package, no display)."""


def _render_env(env_id, mode):
    """``gymnasium.make(env_id, render_mode=mode)``, or a RenderError saying which
    extra to install when the renderer's package (pygame) is missing."""
    import gymnasium as gym
    from minirl.envs import make_env
    try:
        env = make_env(env_id, render_mode=mode)
        env.reset(seed=0)
        env.render()
        return env
    except gym.error.DependencyNotInstalled as error:
        raise RenderError(f"rendering {env_id} needs a package that is not installed "
                          f"({str(error).splitlines()[0]}); install it with: "
                          f"pip install 'minirl[render]'") from None
    except Exception as error:  # noqa: BLE001  (pygame's own: no display, no driver)
        if not type(error).__module__.startswith("pygame"):
            raise
        raise RenderError(f"cannot render {env_id} ({mode}): {error}") from None


def _cmd_eval(args):
    from minirl.checkpoint import load_agent, read_checkpoint
    from minirl.train import evaluate, greedy_episode
    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    config = read_checkpoint(args.dir)[0]
    env = args.env or config.get("env")
    if env is None:
        raise ValueError("the run has no env id; pass --env ID")
    agent = load_agent(args.dir)
    if args.gif:
        from minirl.plot import save_gif
        render_env = _render_env(env, "rgb_array")
        frames = []
        total = greedy_episode(agent, render_env, args.seed, on_frame=frames.append)
        fps = render_env.metadata.get("render_fps") or 30
        save_gif(frames, args.gif, fps=fps)
        print(f"wrote {args.gif}: episode 1 (seed {args.seed}), return {total:.2f}, "
              f"{len(frames)} frames")
    shown = _render_env(env, "human") if args.render else env
    mean, std = evaluate(agent, shown, args.episodes, seed=args.seed)
    print(f"{config['algo']} on {env}: greedy return {mean:.2f} +/- {std:.2f} "
          f"over {args.episodes} episodes")
    return 0


def _cmd_plot(args):
    from minirl.plot import plot_runs
    out = args.out or (os.path.join(args.dirs[0], "curve.png") if len(args.dirs) == 1
                       else "curves.png")
    plot_runs(args.dirs, out, stats=args.stat or (), window=args.window)
    print(f"wrote {out}")
    return 0


def _version():
    from minirl import __version__
    return f"minirl {__version__}"


def build_parser():
    parser = argparse.ArgumentParser(prog="minirl", description="Deep RL from scratch in NumPy.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    algos = sub.add_parser("algos", help="list the algorithms, or one algorithm's settings")
    algos.add_argument("algo", nargs="?", help="show every hyperparameter and preset of ALGO")

    train = sub.add_parser("train", help="train an agent", epilog=_train_epilog(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("algo")
    train.add_argument("--env", help="gymnasium env id, e.g. CartPole-v1")
    train.add_argument("--steps", type=int, required=True, help="environment steps in total")
    train.add_argument("--seed", type=int, help="random seed (default 0; --resume: the "
                                                "saved one)")
    train.add_argument("--out", help="run directory (config, metrics, checkpoint, curve)")
    train.add_argument("--preset", help="named hyperparameters, e.g. book")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="a hyperparameter (repeatable)")
    train.add_argument("--eval-every", type=int, metavar="N",
                       help="greedy evaluation every N steps (the best agent: best.npz)")
    train.add_argument("--eval-episodes", type=int, metavar="K",
                       help="episodes per greedy evaluation (default 10)")
    train.add_argument("--stop-return", type=float, metavar="R",
                       help="stop once a greedy evaluation reaches R")
    train.add_argument("--checkpoint-every", type=float, metavar="SECONDS",
                       help="save a checkpoint every SECONDS of wall-clock time "
                            "(default 60; 0: only when the run stops)")
    train.add_argument("--log-every", type=int, metavar="N",
                       help="a row of stats.csv (loss, steps/s) every N steps "
                            "(default 1000)")
    train.add_argument("--allow-nonfinite", action="store_true",
                       help="accept NaN or infinite rewards and observations from the env")
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
    return parser


def _terminate(signum, frame):
    """SIGTERM before training starts: stop as Ctrl-C does."""
    from minirl.signals import Interrupted
    raise Interrupted(signum)


def main(argv=None):
    args = build_parser().parse_args(argv)
    command = {"algos": _cmd_algos, "train": _cmd_train, "eval": _cmd_eval,
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
        else:
            print(f"\ninterrupted ({signal.Signals(signum).name}) before training "
                  f"started: nothing was saved", file=sys.stderr)
        return exit_status(signum)
    except RenderError as error:
        print(f"{fail} {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001  (sorted below; a bug still shows its traceback)
        from minirl.envcheck import EnvCheckError
        from minirl.train import NonFiniteError
        if isinstance(error, (EnvCheckError, NonFiniteError, OSError)) and not \
                isinstance(error, FileNotFoundError):
            # Training failed on the way: a broken env, a NaN, a full disk.
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
