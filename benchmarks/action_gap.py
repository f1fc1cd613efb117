"""Why does a DQN-family policy fall off a solved CartPole? Watch its values as it trains.

Trains one agent with its defaults for ``--steps`` environment steps in a plain step
loop and, every ``--every`` steps, prints what the last 5000 replayed states say:

* the greedy return (5 episodes on fixed seeds),
* the mean of max_a Q(s, a) (on CartPole no return exceeds 1/(1 - gamma) = 100),
* the mean action gap |Q(s, 0) - Q(s, 1)| (two actions),
* the share of terminal transitions, and in the whole replay,
* for prioritized replay, the chance that a sampled transition is terminal
  (the terminal transitions' share of sum_i p_i^alpha),
* for C51, the mean probability on the top atom z = v_max,
* for noisy layers, the mean |sigma| of each layer's weights (values on the mean path),
* the median gradient norm of the updates since the last line (``learn``'s
  ``grad_norm``, before clipping) and the share of them that the clip cut.

    python benchmarks/action_gap.py c51 --seed 107          # the table in docs/ch10-dqn-variants.md
    python benchmarks/action_gap.py dqn --seed 107
    python benchmarks/action_gap.py dqn --seed 200 --set n_step=1
    python benchmarks/action_gap.py per-dqn --seed 1007 --every 2500
    python benchmarks/action_gap.py dqn --seed 1007 --every 5000     # the norms in docs/ch08.md
"""
import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import minirl  # noqa: E402
from common import plain_steps  # noqa: E402
from minirl.cli import parse_set  # noqa: E402
from minirl.core import no_grad  # noqa: E402

RECENT = 5000  # replayed states looked at


def recent_states(replay, n=RECENT):
    """The indices of the newest ``n`` transitions of a ring buffer, newest first."""
    n = min(n, len(replay))
    return (replay.position - 1 - np.arange(n)) % replay.capacity


def snapshot(agent, env_id):
    """The figures above, for the agent as it is now."""
    index = recent_states(agent.replay)
    agent.qnet.remove_noise()  # noisy layers: the mean path, as the greedy policy acts
    with no_grad():
        out = agent.qnet(agent.replay.obs[index]).data
    q = agent.q_of(out)
    row = {"greedy": minirl.evaluate(agent, env_id, 5, seed=999)[0],
           "max_q": float(q.max(axis=1).mean()),
           "gap": float(np.abs(q[:, 0] - q[:, 1]).mean()),
           "terminal": float(agent.replay.terminated[index].mean())}
    n = len(agent.replay)
    terminal = agent.replay.terminated[:n] > 0
    row["replay_terminal"] = float(terminal.mean())
    if agent.hparams["prioritized"]:  # P(i) = p_i^alpha / sum_k p_k^alpha, read off the sum tree's leaves
        tree = agent.replay.sum_tree
        mass = tree.tree[tree.size:tree.size + n]
        row["sampled_terminal"] = float(mass[terminal].sum() / mass.sum())
    if out.ndim == 3:  # C51 logits (B, A, atoms)
        p = np.exp(out - out.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        row["top_atom"] = float(p[..., -1].mean())
    if agent.qnet.noisy_layers:  # the learned noise scale, layer by layer
        row["sigma"] = [float(np.abs(layer.W_sigma.data).mean())
                        for layer in agent.qnet.noisy_layers]
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("algo", help="a DQN-family algorithm with two actions' Q")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seed", type=int, default=107)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--every", type=int, default=5000)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)

    env = gym.make(args.env)
    agent = minirl.make_agent(args.algo, env, seed=args.seed, **parse_set(args.set))
    norms = []  # learn()'s grad_norm of every update since the last line
    learn = agent.learn

    def learn_and_keep_norm():
        info = learn()
        norms.append(info["grad_norm"])
        return info
    agent.learn = learn_and_keep_norm
    max_norm = agent.hparams["max_grad_norm"]
    for step in plain_steps(agent, env, args.steps, args.seed):
        if step % args.every == 0:
            row = snapshot(agent, args.env)
            if norms:
                clipped = "" if max_norm is None else \
                    f", clipped {np.mean(np.array(norms) > max_norm):.0%}"
                row["norm"] = f", |g| median {np.median(norms):.1f}{clipped}"
            norms.clear()
            print(f"{step}: greedy {row['greedy']:.0f}, mean max Q {row['max_q']:.1f}, "
                  f"action gap {row['gap']:.3f}, terminal {row['terminal']:.4f}"
                  f" (whole replay {row['replay_terminal']:.4f})"
                  + (f", sampled terminal {row['sampled_terminal']:.4f}"
                     if "sampled_terminal" in row else "")
                  + (f", top atom {row['top_atom']:.3f}" if "top_atom" in row else "")
                  + (", mean |sigma_W| " + " ".join(f"{v:.4f}" for v in row["sigma"])
                     if "sigma" in row else "")
                  + row.get("norm", ""),
                  flush=True)


if __name__ == "__main__":
    main()
