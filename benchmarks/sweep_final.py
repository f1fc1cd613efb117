"""How often does the final CartPole-v1 policy hold, over many seeds? One setting per call.

``bench_cartpole.py`` evaluates every 5000 steps, which costs more than the training
itself; telling a hold rate of 75% from one of 90% needs about a hundred seeds per
setting (docs/ch10-dqn-variants.md), so this script trains without any evaluation and
measures only the agent a run ends with: the greedy return over 20 episodes (seeds
77000 + 100 * seed + episode). The training loop is the plain one of ``minirl.train``
(act, step, update, reset on terminated or truncated; ``common.plain_steps``); its env
seeding differs from ``minirl.train``'s, so a seed here is not the same run as that
seed in ``bench_cartpole.py``. ``--workers`` processes run the seeds (one BLAS thread
each). A held run is a final return >= 475. About 8 s per DQN run on one core.

    python benchmarks/sweep_final.py --algo dqn --seeds 1000 40
    python benchmarks/sweep_final.py --algo dqn --seeds 1000 40 --set max_grad_norm=1.0
    python benchmarks/sweep_final.py --algo dqn --seeds 1000 40 --lr-end 1e-4

``--lr-end`` anneals the Adam step linearly from the agent's ``lr`` to that value over
the run (a schedule the agents do not have; measured in docs/ch08.md).
"""
import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from multiprocessing import Pool  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

from common import plain_steps  # noqa: E402
from minirl.agents import make_agent  # noqa: E402
from minirl.cli import parse_set  # noqa: E402

BAR = 475.0
FINAL_EPISODES = 20


def final_return(algo, seed, steps, hparams, lr_end=None):
    """Train ``algo`` on CartPole-v1 for ``steps`` steps; the final greedy mean return."""
    env, eval_env = gym.make("CartPole-v1"), gym.make("CartPole-v1")
    agent = make_agent(algo, env, seed=seed, **hparams)
    lr0 = agent.optimizer.lr
    for step in plain_steps(agent, env, steps, seed):
        if lr_end is not None:  # the step size for the next step
            agent.optimizer.lr = lr0 + (lr_end - lr0) * step / steps
    returns = []
    for episode in range(FINAL_EPISODES):
        obs, _ = eval_env.reset(seed=77_000 + seed * 100 + episode)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = eval_env.step(agent.act(obs, explore=False))
            total += reward
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def _run(job):
    return job[1], final_return(*job)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algo", default="dqn")
    parser.add_argument("--seeds", type=int, nargs=2, default=(1000, 40),
                        metavar=("FIRST", "COUNT"))
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--lr-end", type=float, default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    hparams = parse_set(args.set)
    first, count = args.seeds
    jobs = [(args.algo, seed, args.steps, hparams, args.lr_end)
            for seed in range(first, first + count)]
    with Pool(args.workers) as pool:
        finals = [final for _, final in sorted(pool.map(_run, jobs))]
    held = sum(f >= BAR for f in finals)
    extra = f" lr -> {args.lr_end:g}" if args.lr_end is not None else ""
    print(f"{args.algo} {hparams or 'defaults'}{extra}, seeds {first}-{first + count - 1}, "
          f"{args.steps} steps: final >= {BAR:g} on {held}/{count}; finals "
          + " ".join(f"{f:.0f}" for f in finals))


if __name__ == "__main__":
    main()
