"""Chapter 4: dynamic programming on the book's GridWorld (gamma 0.9).

Evaluates the random policy, then finds the optimal policy by policy iteration and
by value iteration, and draws each value map. Every map of chapters 4-6 shares one
colour scale, -1 to +1 (the rewards' range), so that they can be compared.

    python demos/ch04_dynamic_programming.py --out figures

What to expect: the book's numbers. The random policy's V is -0.10 in the start cell
(2, 0) and -0.78 in the bottom-right corner; policy iteration and value iteration both
find V* = 0.66 in the start cell and 1.00 beside the goal, with the same greedy arrows.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # run from a checkout

from minirl.envs.gridworld import GridWorld
from minirl.plot import plot_value_map
from minirl.tabular import dp

SCALE = 1.0  # colours from -1 to +1 in every GridWorld map of the demos


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for the PNGs")
    parser.add_argument("--gamma", type=float, default=0.9)
    parser.add_argument("--threshold", type=float, default=1e-3)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    env = GridWorld()

    pi = dp.random_policy(env)
    V = dp.policy_eval(pi, dp.zero_values(env), env, args.gamma, args.threshold)
    path = os.path.join(args.out, "ch04_policy_eval.png")
    plot_value_map(env, V, pi, path=path, vmax=SCALE,
                   title="Random policy: exact V(s) by policy evaluation")
    print(path)

    pi, V = dp.policy_iter(env, args.gamma, args.threshold)
    path = os.path.join(args.out, "ch04_policy_iter.png")
    plot_value_map(env, V, pi, path=path, vmax=SCALE,
                   title="Policy iteration: the optimal V* and a greedy policy")
    print(path)

    pi, V = dp.value_iter(env, args.gamma, args.threshold)
    # Q*(s, a) shows every optimal action, ties included
    q_star = {(s, a): q for s in env.states()
              for a, q in dp.action_values(V, env, s, args.gamma).items()}
    path = os.path.join(args.out, "ch04_value_iter.png")
    plot_value_map(env, V, q_star, path=path, vmax=SCALE,
                   title="Value iteration: V* and all optimal actions")
    print(path)


if __name__ == "__main__":
    main()
