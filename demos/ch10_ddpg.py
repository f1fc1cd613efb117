"""Chapter 10: DDPG swings the pendulum up and holds it (Pendulum-v1).

    python demos/ch10_ddpg.py --out runs/ch10

Writes ``ddpg_pendulum.png``: the learning curve (episode returns while exploring, and
greedy evaluations), and the learned policy mu(s) over the pendulum's angle and
angular velocity, with one greedy episode drawn on it as a path in that plane.

Settings: the defaults (64-64 networks, random actions for the first 1000 steps), 20k
steps. What to expect: greedy returns above -200 (the pendulum swung up and held) from
well before the end; the policy pushes with the swing and brakes near the top.
"""
import argparse
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minirl  # noqa: E402
from minirl.plot import observed_errors  # noqa: E402

ENV_ID = "Pendulum-v1"


def policy_grid(agent, n=101):
    """mu(s) on a grid of angle theta (0 = upright) and angular velocity theta_dot.

    Pendulum's observation is (cos theta, sin theta, theta_dot).
    """
    theta = np.linspace(-np.pi, np.pi, n)
    theta_dot = np.linspace(-8.0, 8.0, n)
    th, thd = np.meshgrid(theta, theta_dot)
    obs = np.stack([np.cos(th), np.sin(th), thd], axis=-1).reshape(-1, 3)
    return theta, theta_dot, agent.policy(obs).reshape(n, n)


def greedy_path(agent, seed):
    """(theta, theta_dot) along one greedy episode, and its return."""
    import gymnasium as gym
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=seed)
    path, total, done = [], 0.0, False
    while not done:
        path.append((np.arctan2(obs[1], obs[0]), obs[2]))
        obs, reward, terminated, truncated, _ = env.step(agent.act(obs, explore=False))
        total += reward
        done = terminated or truncated
    return np.array(path), total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    result = minirl.train("ddpg", ENV_ID, args.steps, seed=args.seed, eval_every=1000,
                          eval_episodes=5)
    agent = result.agent
    steps, _, returns, _ = np.array(result.records).T
    theta, theta_dot, torque = policy_grid(agent)
    path, path_return = greedy_path(agent, seed=args.seed + 123)

    os.makedirs(args.out, exist_ok=True)
    out = os.path.join(args.out, "ddpg_pendulum.png")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    left.plot(steps, returns, ".", alpha=0.5, label="episode return (exploring)")
    if result.evaluations:
        ev_steps, ev_mean, ev_std = np.array(result.evaluations).T
        left.errorbar(ev_steps, ev_mean, observed_errors(ev_mean, ev_std, returns),
                      fmt="o-", color="C3", capsize=3,
                      label="greedy return, mean ± std of 5 episodes,\ncut at the returns seen")
    left.axvline(agent.learning_starts, color="gray", ls="--",
                 label="learning starts (random actions before)")
    left.set_xlabel("environment step")
    left.set_ylabel("return")
    left.set_title("DDPG on Pendulum-v1: return per episode\n(0 is the best possible)")
    left.grid(alpha=0.3)

    image = right.pcolormesh(theta, theta_dot, torque, cmap="coolwarm",
                             vmin=agent.low[0], vmax=agent.high[0], shading="auto")
    fig.colorbar(image, ax=right, label="torque mu(s)")
    right.plot(path[:, 0], path[:, 1], "k.", ms=3,
               label=f"one greedy episode, a dot per step (return {path_return:.0f})")
    right.plot(*path[0], "go", label="its start")
    right.set_xlabel("angle theta (0 = upright)")
    right.set_ylabel("angular velocity theta_dot")
    right.set_title("learned policy: the torque mu(s) in each state")
    for ax in (left, right):  # below the axes: the data fills them
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=9,
                  frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=100, bbox_inches="tight")

    final = result.evaluations[-1][1] if result.evaluations else float("nan")
    print(f"{args.steps} steps: last greedy evaluation {final:.1f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
