"""Chapter 7: does the Q-network agent reach Q* on the book's GridWorld?

For each seed, ``minirl.train("qnet", "minirl/GridWorld-v0", 30000)`` with the agent's
defaults (the env as registered: the book's single start, a 100-step time limit), then
compare the learned Q(s, .) with Q* from value iteration (chapter 4):

* how many of the states whose optimal action is unique have it as the greedy action;
* max and mean over states of max_a |Q(s, a) - Q*(s, a)|.

Bar: the greedy action optimal on every unique-action state on at least 4 of 5 seeds.
Seeds: the evaluation seeds 200-209 (``common.EVAL_SEEDS``, never tuned on); the
defaults were chosen on 100-104.

    python benchmarks/bench_qnet.py                      # 10 evaluation seeds
    python benchmarks/bench_qnet.py --seeds 100 101 102 103 104 --set epsilon=0.1
"""
import argparse
import ast
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import minirl  # noqa: E402
from common import EVAL_SEEDS  # noqa: E402
from minirl.envs.gridworld import GridWorld  # noqa: E402
from minirl.tabular.dp import value_iter  # noqa: E402

ENV_ID = "minirl/GridWorld-v0"


def exact_q(env, gamma):
    """Q*(s, a) = r(s, a, s') + gamma V*(s') for every non-goal state, V* by value
    iteration."""
    _, V = value_iter(env, gamma=gamma, threshold=1e-10)
    return {s: np.array([env.reward(s, a, env.next_state(s, a))
                         + gamma * V[env.next_state(s, a)] for a in range(4)])
            for s in env.states() if s != env.goal_state}


def compare(agent, model, q_star):
    """(unique-action states greedy-optimal, their number, wrong states, max error,
    mean error)."""
    right, unique, wrong, errors = 0, 0, [], []
    for state, q in q_star.items():
        learned = agent.q_values(model.state_to_index(state))
        errors.append(np.abs(learned - q).max())
        best = np.flatnonzero(np.isclose(q, q.max(), atol=1e-9))
        if len(best) == 1:
            unique += 1
            if learned.argmax() == best[0]:
                right += 1
            else:
                wrong.append(state)
    return right, unique, wrong, max(errors), float(np.mean(errors))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(EVAL_SEEDS))
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    hparams = {}
    for item in args.set:
        key, _, text = item.partition("=")
        hparams[key] = ast.literal_eval(text)

    model = GridWorld()
    gamma = minirl.make_agent("qnet", ENV_ID, **hparams).hparams["gamma"]
    q_star = exact_q(model, gamma)
    print(f"{ENV_ID}: qnet, {args.steps} steps, seeds {args.seeds}"
          + (f", overrides {hparams}" if hparams else ""))
    held = 0
    for seed in args.seeds:
        agent = minirl.train("qnet", ENV_ID, args.steps, seed=seed, plot=False,
                             **hparams).agent
        right, unique, wrong, max_err, mean_err = compare(agent, model, q_star)
        held += right == unique
        print(f"  seed {seed}: greedy optimal on {right}/{unique} unique-action states"
              + (f" (wrong at {wrong})" if wrong else "")
              + f"; max |Q - Q*| {max_err:.3f}, mean {mean_err:.3f}", flush=True)
    print(f"all unique-action states optimal on {held}/{len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
