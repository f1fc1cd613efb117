"""Chapter 6: TD learning on the book's GridWorld.

TD(0) evaluation of the random policy (a value map), then SARSA, off-policy SARSA
and Q-learning (Q maps).

    python demos/ch06_td.py --out figures --episodes 10000
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # run from a checkout

import gymnasium as gym

import minirl  # noqa: F401  (registers minirl/GridWorld-v0)
from minirl.plot import plot_q_map, plot_value_map
from minirl.tabular import mc, td


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for the PNGs")
    parser.add_argument("--episodes", type=int, default=3000, help="for the control methods")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    env = gym.make("minirl/GridWorld-v0")  # the book's world, 100-step time limit
    sizes = mc.table_sizes(env)

    agent = td.TdAgent(*sizes, seed=args.seed)
    td.run_td_eval(env, agent, episodes=1000, seed=args.seed)
    path = os.path.join(args.out, "ch06_td_eval.png")
    plot_value_map(env, agent.V, path=path, title="TD(0) evaluation of the random policy")
    print(path)

    runs = [("sarsa", td.SarsaAgent(*sizes, seed=args.seed), td.run_sarsa),
            ("sarsa_off_policy", td.SarsaOffPolicyAgent(*sizes, seed=args.seed), td.run_sarsa),
            ("q_learning", td.QLearningAgent(*sizes, seed=args.seed), td.run_q_learning)]
    for name, agent, run in runs:
        run(env, agent, episodes=args.episodes, seed=args.seed)
        path = os.path.join(args.out, f"ch06_{name}.png")
        title = f"{type(agent).__name__}, {args.episodes} episodes"
        plot_q_map(env, agent.Q, path=path, title=title)
        print(path)


if __name__ == "__main__":
    main()
