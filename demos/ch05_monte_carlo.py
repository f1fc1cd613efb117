"""Chapter 5: Monte Carlo methods on the book's GridWorld.

MC evaluation of the random policy (a value map), then on-policy MC control and
off-policy MC control with importance sampling (Q maps). The Q maps hatch the
actions an agent never took: their values are still the initial 0, not estimates.

    python demos/ch05_monte_carlo.py --out figures --episodes 10000

Settings: gamma 0.9, seed 0, 1000 episodes of evaluation, 5000 of control (``--episodes``),
epsilon 0.1, the book's single start cell. What to expect: the evaluation map close to
chapter 4's exact values of the random policy; the control maps' greedy actions lead to
the goal along the top row, with values below Q* (on-policy MC values the
epsilon-greedy policy it follows); cells the behaviour rarely reaches keep rough values.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # run from a checkout

import gymnasium as gym

import minirl  # noqa: F401  (registers minirl/GridWorld-v0)
from minirl.envs import CountVisits
from minirl.plot import plot_q_map, plot_value_map
from minirl.tabular import mc


SCALE = 1.0  # colours from -1 to +1, as in every GridWorld map of the demos


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for the PNGs")
    parser.add_argument("--episodes", type=int, default=5000, help="for MC control")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    env = gym.make("minirl/GridWorld-v0")  # the book's world, 100-step time limit
    sizes = mc.table_sizes(env)

    agent = mc.McAgent(*sizes, seed=args.seed)
    mc.run_mc_eval(env, agent, episodes=1000, seed=args.seed)
    path = os.path.join(args.out, "ch05_mc_eval.png")
    plot_value_map(env, agent.V, path=path, vmax=SCALE,
                   title="MC evaluation of the random policy: V(s) after 1000 episodes")
    print(path)

    # importance-sampled returns are noisy: a smaller step than the book's 0.2
    runs = [("mc_control", "On-policy MC control (epsilon-greedy, epsilon 0.1)",
             mc.McControlAgent(*sizes, seed=args.seed)),
            ("mc_off_policy", "Off-policy MC control (importance sampling)",
             mc.McOffPolicyAgent(*sizes, alpha=0.05, seed=args.seed))]
    for name, method, agent in runs:
        counted = CountVisits(env)
        mc.run_mc_control(counted, agent, episodes=args.episodes, seed=args.seed)
        path = os.path.join(args.out, f"ch05_{name}.png")
        plot_q_map(env, agent.Q, path=path, visits=counted.visits, vmax=SCALE,
                   title=f"{method}:\nQ(s, a) after {args.episodes} episodes")
        print(path)


if __name__ == "__main__":
    main()
