"""How fast is the engine on the update that chapter 8 runs thousands of times?

The DQN update: MLP 4 -> 128 -> 128 -> 2 (ReLU), a batch of transitions, Q(s, a) by
indexing, the target network's max under no_grad, MSE, backward, an Adam step. And
action selection: one observation forward, argmax.

Three implementations of exactly the same computation, on identical weights:

* ``minirl``   -- the autograd engine, written as an agent would write it;
* ``numpy``    -- a handwritten, fused NumPy version with the backward pass and Adam
                  written out by hand: the limit that NumPy allows;
* ``torch``    -- PyTorch on the CPU, when it is importable (never required).

Before timing, the script checks that all three give the same loss and gradients.
It prints medians and ratios from one run:

    python benchmarks/bench_engine.py [--repeats 2000] [--threads 1]
"""
import argparse
import statistics
import time

import numpy as np

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl import no_grad

SIZES = (4, 128, 128, 2)
GAMMA = 0.98
LR = 5e-4


def make_batch(batch_size, rng):
    return dict(
        obs=rng.standard_normal((batch_size, SIZES[0])).astype(np.float32),
        action=rng.integers(0, SIZES[-1], batch_size),
        reward=rng.standard_normal(batch_size).astype(np.float32),
        next_obs=rng.standard_normal((batch_size, SIZES[0])).astype(np.float32),
        terminated=(rng.random(batch_size) < 0.1).astype(np.float32),
    )


# --- minirl ------------------------------------------------------------------------
class MinirlDQN:
    def __init__(self, weights):
        self.qnet = L.MLP(SIZES)
        self.target = L.MLP(SIZES)
        self.qnet.load_state_dict(weights)
        self.target.load_state_dict(weights)
        self.optimizer = optim.Adam(self.qnet.params(), lr=LR)

    def loss(self, b):
        q = self.qnet(b["obs"])
        q_a = q[np.arange(len(b["action"])), b["action"]]
        with no_grad():
            next_q = self.target(b["next_obs"]).data.max(axis=1)
        target = b["reward"] + GAMMA * (1 - b["terminated"]) * next_q
        return F.mean_squared_error(q_a, target)

    def update(self, b):
        loss = self.loss(b)
        self.qnet.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss

    def act(self, obs):
        with no_grad():
            return int(self.qnet(obs[None]).data.argmax())

    def grads(self):
        return [p.grad for p in self.qnet.params()]


# --- handwritten NumPy ---------------------------------------------------------------
def relu(x):
    # The same fastest form minirl's ReLU uses: max against a contiguous zeros array.
    return np.maximum(x, np.zeros(x.shape, x.dtype))


class NumpyDQN:
    """The same update with the chain rule and Adam written out by hand."""

    def __init__(self, weights):
        names = ["l0.W", "l0.b", "l1.W", "l1.b", "l2.W", "l2.b"]
        self.p = [weights[n].copy() for n in names]
        self.tp = [weights[n].copy() for n in names]
        self.m = [np.zeros_like(p) for p in self.p]
        self.v = [np.zeros_like(p) for p in self.p]
        self.t = 0

    def update(self, b):
        W1, b1, W2, b2, W3, b3 = self.p
        tW1, tb1, tW2, tb2, tW3, tb3 = self.tp
        obs, action, n = b["obs"], b["action"], len(b["action"])
        h1 = obs @ W1 + b1
        a1 = relu(h1)
        h2 = a1 @ W2 + b2
        a2 = relu(h2)
        q = a2 @ W3 + b3
        nq = relu(relu(b["next_obs"] @ tW1 + tb1) @ tW2 + tb2) @ tW3 + tb3
        target = b["reward"] + GAMMA * (1 - b["terminated"]) * nq.max(axis=1)
        rows = np.arange(n)
        diff = q[rows, action] - target
        loss = np.mean(diff * diff)
        gq = np.zeros_like(q)
        gq[rows, action] = diff * (2 / n)
        gW3, gb3 = a2.T @ gq, gq.sum(0)
        gh2 = (gq @ W3.T) * (h2 > 0)
        gW2, gb2 = a1.T @ gh2, gh2.sum(0)
        gh1 = (gh2 @ W2.T) * (h1 > 0)
        gW1, gb1 = obs.T @ gh1, gh1.sum(0)
        self.g = [gW1, gb1, gW2, gb2, gW3, gb3]
        self.t += 1
        c2 = np.sqrt(1 - 0.999 ** self.t)
        step, eps = LR * c2 / (1 - 0.9 ** self.t), 1e-8 * c2
        for p, g, m, v in zip(self.p, self.g, self.m, self.v):
            m += 0.1 * (g - m)
            v += 0.001 * (g * g - v)
            p -= step * m / (np.sqrt(v) + eps)
        return loss

    def act(self, obs):
        W1, b1, W2, b2, W3, b3 = self.p
        return int((relu(relu(obs @ W1 + b1) @ W2 + b2) @ W3 + b3).argmax())

    def grads(self):
        return self.g


# --- PyTorch (optional) -------------------------------------------------------------
def make_torch(weights):
    import torch
    from torch import nn

    class TorchDQN:
        def __init__(self):
            def net():
                return nn.Sequential(nn.Linear(4, 128), nn.ReLU(), nn.Linear(128, 128),
                                     nn.ReLU(), nn.Linear(128, 2))
            self.qnet, self.target = net(), net()
            with torch.no_grad():
                for module in (self.qnet, self.target):
                    for i, layer in enumerate([module[0], module[2], module[4]]):
                        layer.weight.copy_(torch.from_numpy(weights[f"l{i}.W"].T.copy()))
                        layer.bias.copy_(torch.from_numpy(weights[f"l{i}.b"]))
            self.optimizer = torch.optim.Adam(self.qnet.parameters(), lr=LR)

        def update(self, b):
            obs = torch.from_numpy(b["obs"])
            action = torch.from_numpy(b["action"])
            q_a = self.qnet(obs).gather(1, action[:, None]).squeeze(1)
            with torch.no_grad():
                next_q = self.target(torch.from_numpy(b["next_obs"])).max(dim=1).values
                target = torch.from_numpy(b["reward"]) + GAMMA * (
                    1 - torch.from_numpy(b["terminated"])) * next_q
            loss = torch.nn.functional.mse_loss(q_a, target)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            return loss.item()

        def act(self, obs):
            with torch.no_grad():
                return int(self.qnet(torch.from_numpy(obs[None])).argmax())

        def grads(self):
            layers = [self.qnet[0], self.qnet[2], self.qnet[4]]
            out = []
            for layer in layers:
                out += [layer.weight.grad.numpy().T, layer.bias.grad.numpy()]
            return out

    return TorchDQN()


def check_agreement(impls, batch):
    """All implementations: same loss and same gradients on the same weights."""
    reference = None
    for name, impl in impls.items():
        loss = float(impl.update(batch) if name != "minirl" else impl.update(batch).data)
        grads = impl.grads()
        if reference is None:
            reference = (loss, grads)
            continue
        assert np.isclose(loss, reference[0], rtol=1e-4), (name, loss, reference[0])
        for g, r in zip(grads, reference[1]):
            np.testing.assert_allclose(g, r, rtol=2e-3, atol=1e-5, err_msg=name)


def median_us(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    weights = L.MLP(SIZES, rng=rng).state_dict()
    factories = {"minirl": MinirlDQN, "numpy": NumpyDQN}
    try:
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        factories["torch"] = make_torch
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        print("torch not importable: comparing minirl with handwritten NumPy only")

    check_agreement({k: f(weights) for k, f in factories.items()}, make_batch(32, rng))
    print("loss and gradients agree across", ", ".join(factories))

    results = {}
    for batch_size in (32, 256):
        batch = make_batch(batch_size, rng)
        for name, factory in factories.items():
            impl = factory(weights)
            for _ in range(50):  # warm up caches and allocators
                impl.update(batch)
            results[(f"update, batch {batch_size}", name)] = median_us(
                lambda: impl.update(batch), args.repeats)
    obs = rng.standard_normal(SIZES[0]).astype(np.float32)
    for name, factory in factories.items():
        impl = factory(weights)
        results[("act, 1 observation", name)] = median_us(lambda: impl.act(obs),
                                                          args.repeats * 5)

    print(f"\nmedian microseconds over {args.repeats} repeats (act: x5)")
    header = f"{'':24}" + "".join(f"{n:>10}" for n in factories)
    print(header + f"{'minirl/numpy':>14}" + (f"{'torch/minirl':>14}" if "torch" in factories else ""))
    for task in dict.fromkeys(t for t, _ in results):
        row = f"{task:24}" + "".join(f"{results[(task, n)]:10.1f}" for n in factories)
        row += f"{results[(task, 'minirl')] / results[(task, 'numpy')]:14.2f}"
        if "torch" in factories:
            row += f"{results[(task, 'torch')] / results[(task, 'minirl')]:14.2f}"
        print(row)
    return results


if __name__ == "__main__":
    main()
