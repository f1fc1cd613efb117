"""After the book: PPO balances CartPole-v1, and what its clipped objective looks like.

    python demos/ppo.py --out runs/ppo

Writes ``ppo_cartpole.png``: on the left the learning curve (episode returns while
sampling, greedy evaluations); on the right one sample's clipped surrogate
min(rho A, clip(rho, 1 - eps, 1 + eps) A) as a function of the ratio rho, for A > 0 and
A < 0 (Schulman et al. 2017, Figure 1), computed by ``ppo.clipped_surrogate`` itself,
with its gradient d/d rho from backprop: zero where the clip has taken over.

Settings: the defaults (rl-zoo's CartPole settings: 8 envs x 32 steps, 20 epochs), 100k
steps, seed 0. What to expect: greedy evaluations at 500 within the first few tens of
thousands of steps; with a constant learning rate a late rollout can still pull a
solved policy down a little (docs/ppo.md).
"""
import argparse
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minirl  # noqa: E402
from minirl.plot import observed_errors  # noqa: E402
from minirl import Variable  # noqa: E402
from minirl.agents.ppo import clipped_surrogate  # noqa: E402

ENV_ID = "CartPole-v1"


def surrogate_curve(advantage, clip_coef, rho):
    """L^CLIP and dL/d rho of one sample with advantage A, at each ratio in ``rho``."""
    values, grads = [], []
    for r in rho:
        log_prob = Variable(np.array([np.log(r)]))
        objective = clipped_surrogate(log_prob, np.zeros(1), np.array([advantage]), clip_coef)
        objective.backward()
        values.append(objective.item())
        grads.append(log_prob.grad[0] / r)  # d/d rho = d/d log rho / rho
    return np.array(values), np.array(grads)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    result = minirl.train("ppo", ENV_ID, args.steps, seed=args.seed, eval_every=5000,
                          eval_episodes=5)
    final, _ = minirl.evaluate(result.agent, ENV_ID, 20, seed=args.seed + 123)
    steps, _, returns, _ = np.array(result.records).T

    os.makedirs(args.out, exist_ok=True)
    out = os.path.join(args.out, "ppo_cartpole.png")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    left.plot(steps, returns, ".", ms=3, alpha=0.4, label="episode return (sampling)")
    ev_steps, ev_mean, ev_std = np.array(result.evaluations).T
    left.errorbar(ev_steps, ev_mean, observed_errors(ev_mean, ev_std, returns), fmt="o-",
                  color="C3", ms=3, capsize=2,
                  label="greedy return, mean ± std of 5 episodes,\ncut at the returns seen")
    left.axhline(475, color="gray", ls="--", label="solved (475)")
    left.set_xlabel("environment step")
    left.set_ylabel("return")
    left.set_title(f"PPO on CartPole-v1, seed {args.seed}:\nfinal greedy return "
                   f"{final:.0f} (20 episodes)")
    left.grid(alpha=0.3)

    eps = result.agent.hparams["clip_coef"]
    rho = np.linspace(0.4, 1.6, 241)
    for advantage, color in ((1.0, "C0"), (-1.0, "C1")):
        values, grads = surrogate_curve(advantage, eps, rho)
        right.plot(rho, values, color=color, lw=2, label=f"L^CLIP, A = {advantage:+.0f}")
        right.plot(rho, grads, color=color, ls=":", label=f"dL/d rho, A = {advantage:+.0f}")
    right.axvline(1 - eps, color="gray", lw=0.8, ls="--",
                  label=f"clip range 1 ± eps = [{1 - eps:g}, {1 + eps:g}]")
    right.axvline(1 + eps, color="gray", lw=0.8, ls="--")
    right.axvline(1.0, color="k", lw=0.8, label="rho = 1: the old policy")
    right.set_xlabel("probability ratio rho = pi(a|s) / pi_old(a|s)")
    right.set_ylabel("objective of one sample")
    right.set_title(f"the clipped surrogate (eps = {eps}): flat where clipping helps")
    right.grid(alpha=0.3)
    for ax in (left, right):  # below the axes: the curves reach every corner
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8,
                  frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=120, bbox_inches="tight")
    print(f"final greedy return {final:.1f}; wrote {out}")


if __name__ == "__main__":
    main()
