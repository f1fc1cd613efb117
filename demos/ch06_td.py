"""Chapter 6: TD learning on the book's GridWorld.

TD(0) evaluation of the random policy (a value map), then SARSA, off-policy SARSA
and Q-learning (Q maps). The Q maps hatch the actions an agent never took: their
values are still the initial 0, not estimates.

    python demos/ch06_td.py --out figures --episodes 10000

Settings: gamma 0.9, seed 0, 1000 episodes of evaluation, 3000 of control (``--episodes``),
the book's single start cell. What to expect: TD(0)'s map close to chapter 4's exact
values of the random policy; Q-learning's Q equal to Q* along the path to the goal
(0.81, 0.90, 1.00 on the top row) and SARSA's lower off that path, since it values
the epsilon-greedy policy it follows; both take the top row to the goal, and cells
they never reached are hatched.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # run from a checkout

import gymnasium as gym

import minirl  # noqa: F401  (registers minirl/GridWorld-v0)
from minirl.envs import CountVisits
from minirl.plot import plot_q_map, plot_value_map
from minirl.tabular import mc, td


SCALE = 1.0  # colours from -1 to +1, as in every GridWorld map of the demos


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
    plot_value_map(env, agent.V, path=path, vmax=SCALE,
                   title="TD(0) evaluation of the random policy: V(s) after 1000 episodes")
    print(path)

    runs = [("sarsa", "SARSA (on-policy TD control, epsilon-greedy)",
             td.SarsaAgent(*sizes, seed=args.seed), td.run_sarsa),
            ("sarsa_off_policy", "Off-policy SARSA (importance sampling)",
             td.SarsaOffPolicyAgent(*sizes, seed=args.seed), td.run_sarsa),
            ("q_learning", "Q-learning (off-policy TD control)",
             td.QLearningAgent(*sizes, seed=args.seed), td.run_q_learning)]
    for name, method, agent, run in runs:
        counted = CountVisits(env)
        run(counted, agent, episodes=args.episodes, seed=args.seed)
        path = os.path.join(args.out, f"ch06_{name}.png")
        plot_q_map(env, agent.Q, path=path, visits=counted.visits, vmax=SCALE,
                   title=f"{method}:\nQ(s, a) after {args.episodes} episodes")
        print(path)


if __name__ == "__main__":
    main()
