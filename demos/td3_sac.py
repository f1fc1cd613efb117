"""After the book: TD3 and SAC swing Pendulum-v1 up, and SAC's squashed Gaussian.

    python demos/td3_sac.py --out runs/td3_sac

Writes ``td3_sac_pendulum.png``: on the left both agents' greedy evaluations during
20k steps of training (same seed, defaults); on the right the tanh-squashed Gaussian
that SAC samples actions from, for three (mu, sigma) on Pendulum's torque bounds
[-2, 2]: the density from ``sac.squashed_gaussian_log_prob`` against a histogram of
actions drawn by ``sac.reparameterized_action``. A wide Gaussian piles up at the bounds.

What to expect: both agents' greedy returns pass -200 within the 20k steps, SAC
(learning from step 100) earlier than TD3 (from step 1000); the densities lie on the
histograms.
"""
import argparse
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minirl  # noqa: E402
from minirl.plot import observed_errors  # noqa: E402
from minirl.agents.sac import reparameterized_action, squashed_gaussian_log_prob  # noqa: E402

ENV_ID = "Pendulum-v1"
LOW, HIGH = np.array([-2.0]), np.array([2.0])


def squashed_density(mean, std, n=2001):
    """pi(a) on a grid of actions inside the bounds, by the change of variables."""
    a = np.linspace(-2, 2, n)[1:-1, None]
    u = np.arctanh(a / 2.0)
    log_p = squashed_gaussian_log_prob(u, np.full_like(u, mean), np.full_like(u, np.log(std)),
                                       (HIGH - LOW) / 2)
    return a[:, 0], np.exp(log_p.data)


def samples(mean, std, rng, n=100_000):
    xi = rng.standard_normal((n, 1))
    action, _ = reparameterized_action(np.full((n, 1), mean), np.full((n, 1), np.log(std)),
                                       xi, LOW, HIGH)
    return action.data[:, 0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    out = os.path.join(args.out, "td3_sac_pendulum.png")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for algo, color in (("td3", "C0"), ("sac", "C3")):
        result = minirl.train(algo, ENV_ID, args.steps, seed=args.seed, eval_every=1000,
                              eval_episodes=5)
        final, _ = minirl.evaluate(result.agent, ENV_ID, 20, seed=args.seed + 123)
        ev_steps, ev_mean, ev_std = np.array(result.evaluations).T
        returns = [record[2] for record in result.records]
        left.errorbar(ev_steps, ev_mean, observed_errors(ev_mean, ev_std, returns), fmt="o-",
                      ms=3, capsize=2, color=color,
                      label=f"{algo}: greedy return (5 episodes); final {final:.0f} (20)")
        print(f"{algo}: final greedy return {final:.1f}")
        left.axvline(result.agent.hparams["learning_starts"], color=color, ls=":", lw=1,
                     label=f"{algo}: learning starts (random actions before)")
    left.axhline(-200, color="gray", ls="--",
                 label="-200: the benchmarks' bar for a pendulum held upright")
    left.set_xlabel("environment step")
    left.set_ylabel("return (0 is the best possible)")
    left.set_title(f"TD3 and SAC on Pendulum-v1, seed {args.seed}, defaults")
    left.grid(alpha=0.3)

    rng = np.random.default_rng(0)
    for (mean, std), color in zip(((0.0, 0.3), (1.0, 0.5), (0.0, 2.0)), ("C2", "C1", "C4")):
        a, p = squashed_density(mean, std)
        right.hist(samples(mean, std, rng), bins=80, range=(-2, 2), density=True,
                   color=color, alpha=0.3)
        right.plot(a, p, color=color, lw=2, label=f"mu = {mean}, sigma = {std}")
    right.set_xlabel("action a = 2 tanh(u), u ~ N(mu, sigma^2)")
    right.set_ylabel("density")
    right.set_title("SAC's policy:\nlog-density formula (lines) vs. samples (bars)")
    right.set_ylim(0, 2.0)
    right.grid(alpha=0.3)
    for ax in (left, right):  # below the axes: the curves reach every corner
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8,
                  frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=120, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
