"""The engine on its own: an MLP learns y = sin(x) by backprop and Adam.

    python demos/engine_fit_sin.py --out runs/engine

Writes ``fit_sin.png``: the learned curve over the true one, and the loss by step.

What to expect: the learned curve on top of sin(x) over the sampled range, and a loss
that falls by orders of magnitude to the noise level of the samples.
"""
import argparse
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minirl.functions as F  # noqa: E402
import minirl.layers as L  # noqa: E402
import minirl.optimizers as optim  # noqa: E402
from minirl import no_grad  # noqa: E402

NOISE = 0.05  # standard deviation of the noise added to the training targets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-np.pi, np.pi, (256, 1)).astype(np.float32)
    y = np.sin(x) + NOISE * rng.standard_normal(x.shape).astype(np.float32)

    net = L.MLP((1, 64, 64, 1), activation=F.tanh, rng=rng)
    optimizer = optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for step in range(args.steps):
        loss = F.mean_squared_error(net(x), y)  # L = mean (f(x) - y)^2
        net.zero_grad()
        loss.backward()                          # dL/dtheta by reverse-mode autodiff
        optimizer.step()                         # theta <- Adam(theta, dL/dtheta)
        losses.append(loss.item())

    grid = np.linspace(-np.pi, np.pi, 200, dtype=np.float32)[:, None]
    with no_grad():
        fit = net(grid).data
    test_mse = float(np.mean((fit - np.sin(grid)) ** 2))

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "fit_sin.png")
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.scatter(x, y, s=6, alpha=0.4, label="training data")
    left.plot(grid, np.sin(grid), "k--", label="sin(x)")
    left.plot(grid, fit, "r", label="MLP 1-64-64-1")
    left.set_title(f"an MLP fitted to noisy samples of sin(x)\n"
                   f"(test MSE against sin: {test_mse:.4f})")
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.legend(loc="upper left")  # sin(x) is near 0 there, below the box
    right.semilogy(losses, label="training MSE")
    right.axhline(NOISE ** 2, color="gray", ls="--", lw=1,
                  label=f"noise variance {NOISE}²: a perfect fit's MSE")
    right.legend(loc="center right")  # the loss is flat and low there
    right.set_xlabel("Adam step")
    right.set_ylabel("training MSE")
    right.set_title("training loss by step\n(log scale)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"final training MSE {losses[-1]:.4f}, test MSE against sin {test_mse:.4f}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
