"""Chapter 7: a neural network learns GridWorld's Q function by Q-learning.

    python demos/ch07_qnet_gridworld.py --out runs/ch07

Runs the chapter's loop from the book's start cell: 1000 episodes, SGD with lr 0.01,
gamma 0.9 and minirl's default epsilon 0.5 (docs/ch07.md says why not the book's 0.1).
It writes:

    ch07_loss.png     average loss per episode
    ch07_q_map.png    the learned Q(s, a) beside the exact Q*(s, a) from value
                      iteration, on one colour scale, and their difference; cells
                      whose learned greedy action is not optimal are framed

What to expect: with the default epsilon 0.5 the greedy action is optimal in every cell
("greedy action not optimal in 0 cells"). With the book's epsilon 0.1 (``--preset book``)
the cells off the path to the goal are rarely visited and some keep a wrong greedy action
(two cells on seed 0).
"""
import argparse
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from minirl.agents.qnet import QLearningAgent  # noqa: E402
from minirl.envs.gridworld import GridWorld  # noqa: E402
from minirl.plot import greedy_differs, plot_q_comparison  # noqa: E402
from minirl.tabular.dp import value_iter  # noqa: E402


def exact_q(env, gamma):
    """Q*(s, a) = r(s, a, s') + gamma V*(s') from value iteration (chapter 4)."""
    _, V = value_iter(env, gamma=gamma, threshold=1e-8)
    return {(s, a): env.reward(s, a, env.next_state(s, a)) + gamma * V[env.next_state(s, a)]
            for s in env.states() if s != env.goal_state for a in env.actions()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", choices=["book"], default=None,
                        help="book: the chapter's epsilon 0.1 (default: minirl's 0.5)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    env = GridWorld()
    agent = QLearningAgent(env.observation_space, env.action_space, seed=args.seed,
                           preset=args.preset)
    losses = []
    for episode in range(args.episodes):           # the chapter's loop, as in the book
        state, _ = env.reset(seed=args.seed + episode)
        total, count, done = 0.0, 0, False
        while not done:
            action = agent.get_action(state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            total += agent.update(state, action, reward, next_state, terminated,
                                  truncated)["loss"]
            count += 1
            state, done = next_state, terminated or truncated
        losses.append(total / count)

    paths = [os.path.join(args.out, name) for name in
             ("ch07_loss.png", "ch07_q_map.png")]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(losses, lw=0.8)
    ax.set_xlabel("episode")
    ax.set_ylabel("average loss")
    ax.set_title(f"Q-network on GridWorld (epsilon {agent.hparams['epsilon']}):\nmean loss per episode")
    fig.tight_layout()
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)

    q_learned = np.array([agent.q_values(i) for i in range(env.observation_space.n)])
    q_star = exact_q(env, agent.hparams["gamma"])
    plot_q_comparison(env, q_learned, q_star, path=paths[1],
                      title=f"Q-network after {args.episodes} episodes from the start cell "
                            f"(epsilon {agent.hparams['epsilon']}), against the exact Q* "
                            f"(gamma {agent.hparams['gamma']})")
    wrong = greedy_differs(env, q_learned, q_star)
    print(f"greedy action not optimal in {len(wrong)} cells: {wrong}")
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
