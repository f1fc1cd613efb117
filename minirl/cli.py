"""The command line: ``minirl`` (or ``python -m minirl``).

    minirl algos
    minirl train ALGO --env ID --steps N [--seed S] [--out DIR] [--preset NAME]
                 [--set key=value ...] [--eval-every N] [--resume] [--quiet]
    minirl eval DIR [--episodes K] [--seed S] [--render]
    minirl plot DIR [DIR ...] [--out FILE]

Ctrl-C during ``train`` saves a checkpoint and the metrics so far, says where, and
exits with status 130.
"""
import argparse
import ast
import json
import os
import sys

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
        lines.append(f"  {name:20} ch. {ALGORITHMS[name][3]:3} presets: {presets}")
    return "\n".join(lines)


def _cmd_train(args):
    import minirl
    hparams = parse_set(args.set)
    if args.resume and not args.out:
        raise ValueError("--resume needs --out DIR (the run to continue)")
    env = args.env
    if args.resume and env is None:
        from minirl.checkpoint import read_checkpoint
        env = read_checkpoint(args.out)[0].get("env")
    if env is None:
        raise ValueError("--env ID is required (e.g. --env CartPole-v1)")
    try:
        result = minirl.train(args.algo, env, args.steps, seed=args.seed, out=args.out,
                              preset=args.preset, eval_every=args.eval_every,
                              eval_episodes=args.eval_episodes, resume=args.resume,
                              checkpoint_every=args.checkpoint_every, quiet=args.quiet,
                              **hparams)
    except KeyboardInterrupt:
        where = f"; checkpoint and metrics saved in {args.out}" if args.out else ""
        print(f"\ninterrupted{where}", file=sys.stderr)
        return 130
    if result.records and not args.quiet:
        recent = [r[2] for r in result.records[-20:]]
        print(f"last {len(recent)} episodes: mean return {sum(recent) / len(recent):.2f}")
    return 0


def _cmd_eval(args):
    import minirl
    from minirl.checkpoint import read_checkpoint
    config = read_checkpoint(args.dir)[0]
    env = args.env or config.get("env")
    if env is None:
        raise ValueError("the run has no env id; pass --env ID")
    agent = minirl.load_agent(args.dir)
    mean, std = minirl.evaluate(agent, env, args.episodes, seed=args.seed,
                                render=args.render)
    print(f"{config['algo']} on {env}: greedy return {mean:.2f} +/- {std:.2f} "
          f"over {args.episodes} episodes")
    return 0


def _cmd_plot(args):
    from minirl.plot import plot_runs
    out = args.out or (os.path.join(args.dirs[0], "curve.png") if len(args.dirs) == 1
                       else "curves.png")
    plot_runs(args.dirs, out)
    print(f"wrote {out}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="minirl", description="Deep RL from scratch in NumPy.")
    sub = parser.add_subparsers(dest="command", required=True)

    algos = sub.add_parser("algos", help="list the algorithms, or one algorithm's settings")
    algos.add_argument("algo", nargs="?", help="show every hyperparameter and preset of ALGO")

    train = sub.add_parser("train", help="train an agent", epilog=_train_epilog(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("algo")
    train.add_argument("--env", help="gymnasium env id, e.g. CartPole-v1")
    train.add_argument("--steps", type=int, required=True, help="environment steps in total")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="run directory (config, metrics, checkpoint, curve)")
    train.add_argument("--preset", help="named hyperparameters, e.g. book")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="a hyperparameter (repeatable)")
    train.add_argument("--eval-every", type=int, help="greedy evaluation every N steps")
    train.add_argument("--eval-episodes", type=int, default=10)
    train.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    ev = sub.add_parser("eval", help="greedy evaluation of a saved run")
    ev.add_argument("dir")
    ev.add_argument("--episodes", type=int, default=10)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--env", help="override the run's env id")
    ev.add_argument("--render", action="store_true", help="show the env (human render)")

    plot = sub.add_parser("plot", help="learning curves of one or more runs")
    plot.add_argument("dirs", nargs="+")
    plot.add_argument("--out", help="PNG path (default: DIR/curve.png or curves.png)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    command = {"algos": _cmd_algos, "train": _cmd_train, "eval": _cmd_eval,
               "plot": _cmd_plot}[args.command]
    try:
        return command(args)
    except (ValueError, TypeError, KeyError, FileNotFoundError) as error:
        # A user's mistake (unknown algorithm, bad --set, missing run): one clear line.
        print(f"minirl {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
