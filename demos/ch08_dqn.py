"""Chapter 8: DQN on CartPole, the book's settings beside the tuned defaults.

    python demos/ch08_dqn.py --out runs/ch08

Left: the chapter's loop, written as in the book (an episode loop of ``get_action``
and ``update``, the target network synced every 20 episodes), with the ``book``
preset on CartPole with a 200-step limit, 300 episodes. Right: ``minirl.train`` with
the tuned defaults on CartPole-v1 (500-step limit), with greedy evaluations.
Writes ``ch08_dqn.png``.

What to expect: the book preset learns slowly and unsteadily (one update per step, a
fixed epsilon of 0.1, 1-step targets); the defaults reach greedy returns near 500
within the 50k steps (docs/ch08.md).
"""
import argparse
import os

import matplotlib
matplotlib.use("Agg")
import gymnasium as gym  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minirl  # noqa: E402
from minirl.plot import observed_errors  # noqa: E402


def book_loop(episodes, seed):
    """The chapter's training loop, with terminated and truncated kept apart."""
    env = gym.make("CartPole-v1", max_episode_steps=200)
    agent = minirl.make_agent("dqn", env, seed=seed, preset="book")
    rewards = []
    for episode in range(episodes):
        state, _ = env.reset(seed=seed + episode)
        done, total_reward = False, 0.0
        while not done:
            action = agent.get_action(state)
            next_state, reward, terminated, truncated, _ = env.step(action)
            # The agent syncs its target network every 20 episodes by itself.
            agent.update(state, action, reward, next_state, terminated, truncated)
            state = next_state
            total_reward += reward
            done = terminated or truncated
        rewards.append(total_reward)
    return agent, rewards


def smooth(x, k=20):
    x = np.asarray(x, float)
    if len(x) < k:
        return x
    return np.convolve(x, np.ones(k) / k, mode="valid")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--episodes", type=int, default=300, help="book preset episodes")
    parser.add_argument("--steps", type=int, default=50_000, help="tuned default steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    book_agent, book_rewards = book_loop(args.episodes, args.seed)
    book_eval = minirl.evaluate(book_agent, gym.make("CartPole-v1", max_episode_steps=200),
                                20, seed=10_000)
    tuned = minirl.train("dqn", "CartPole-v1", args.steps, seed=args.seed,
                         eval_every=5000, eval_episodes=20)
    steps, _, returns, _ = np.array(tuned.records).T

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "ch08_dqn.png")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    left.plot(book_rewards, alpha=0.35, label="episode return (exploring)")
    left.plot(np.arange(len(smooth(book_rewards))) + 19, smooth(book_rewards),
              label="mean of the last 20 episodes")
    left.axhline(200, color="gray", ls=":", lw=1, label="time limit (200 steps)")
    left.set_title(f"book preset, the chapter's loop, CartPole with a 200-step limit\n"
                   f"(greedy after training: {book_eval[0]:.0f} ± {book_eval[1]:.0f} "
                   f"over 20 episodes)")
    left.set_xlabel("episode")
    left.set_ylabel("return")
    right.plot(steps, returns, alpha=0.35, label="episode return (exploring)")
    if tuned.evaluations:
        e_steps, e_mean, e_std = np.array(tuned.evaluations).T
        right.errorbar(e_steps, e_mean, observed_errors(e_mean, e_std, returns), fmt="o-",
                       capsize=3, label="greedy return, mean ± std of 20 episodes, "
                       "cut at the returns seen")
    right.axhline(475, color="k", ls="--", lw=1, label="solved: 475 (CartPole-v1's threshold)")
    right.set_title("tuned defaults, minirl.train, CartPole-v1 (500-step limit)\n"
                    + (f"(last greedy evaluation: {e_mean[-1]:.0f} ± {e_std[-1]:.0f})"
                       if tuned.evaluations else ""))
    right.set_xlabel("environment step")
    for ax in (left, right):  # below the axes: the curves can be anywhere
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1, fontsize=9,
                  frameon=False)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(path)
    return path


if __name__ == "__main__":
    main()
