"""Speed of DQN from pixels: minirl's update and acting on MinAtar's network beside a
handwritten NumPy limit and PyTorch, all on one thread, measured side by side in one run.

    python benchmarks/bench_conv.py            # add --no-torch to skip PyTorch

The network is MinAtar Breakout's (Young & Tian 2019): frames 10 x 10 x 4 bool, a 3x3 conv
of 16 filters, ReLU, 1024 -> 128, ReLU, 128 -> 3. One update is what ``DQNAgent.learn``
does with the ``minatar`` preset: sample 32 transitions from a bool replay, the target
network's max over Q(s', .), the online network's Q(s, a), the Huber loss, backward, and an
RMSprop step. The NumPy limit does the same work by hand (im2col with ``as_strided``, one
matrix product per layer, the gradients written out, RMSprop on one flat array); PyTorch
runs the same network with ``torch.optim.RMSprop``. Acting is the greedy action for one
frame. Each figure is the best of several repeats (the machine is shared, and the best
repeat is the one least disturbed), in microseconds of CPU time.

The last table asks whether subnormal optimizer moments slow minirl late in a run: units
of the 128-unit layer that no input turns on get exactly zero gradient, so RMSprop's
v <- 0.95 v decays into the subnormal floats and, below about 3e-44, stays there (0.05 v
rounds to zero), and every later step computes sqrt(v) on subnormals. Half the units are
killed (bias -100) and their moments set as a late run leaves them.

As ``bench_engine.py``, the script first asks glibc's malloc to keep freed memory and
serve the 0.5 MB temporaries from it (``--default-allocator`` leaves malloc as it is), so
that the tables compare arithmetic and bookkeeping, not the allocator's page faults, and
prints the page faults per update.
"""
import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import minirl  # noqa: E402
from bench_engine import keep_freed_memory, page_faults_per_call  # noqa: E402

SHAPE, N_ACTIONS, BATCH, FILTERS, HIDDEN = (10, 10, 4), 3, 32, 16, 128
GAMMA, LR, ALPHA, EPS = 0.99, 2.5e-4, 0.95, 0.01


def best_time(fn, number, repeats=7):
    """CPU seconds per call: the best of ``repeats`` runs of ``number`` calls. CPU time
    (of this process), not the wall clock: on a shared machine the wall clock counts
    the time other processes ran, the CPU time hardly changes."""
    best = np.inf
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - start) / number)
    return best


def minirl_agent(seed=0, fill=5000):
    space = gym.spaces.Box(0, 1, SHAPE, dtype=bool)
    agent = minirl.make_agent("dqn", _Spaces(space), seed=seed, preset="minatar")
    rng = np.random.default_rng(seed)
    for _ in range(fill):  # random frames, 10% lit, as MinAtar's sparse screens
        obs, next_obs = rng.random((2, *SHAPE)) < 0.1
        agent.replay.add(agent.encode(obs), int(rng.integers(N_ACTIONS)), float(rng.random()),
                         agent.encode(next_obs), bool(rng.random() < 0.05))
    return agent


class _Spaces(gym.Env):
    """Only the spaces: make_agent reads nothing else."""

    def __init__(self, space):
        self.observation_space, self.action_space = space, gym.spaces.Discrete(N_ACTIONS)


# --- the handwritten NumPy limit ------------------------------------------------------
class NumpyDQN:
    """The same update, by hand: no graph, no ops, each gradient written out, and every
    layout chosen for speed (channels last throughout, so neither im2col nor the flatten
    reorders memory; the first dense layer's rows permuted to match), RMSprop in place."""

    def __init__(self, agent):
        src = [p.data for p in agent.qnet.parameters()]
        Wc = src[0].transpose(0, 2, 3, 1).reshape(FILTERS, -1)  # (out, kh*kw*C), C fastest
        # l0.W's rows are in (filter, i, j) order; channels-last features are (i, j, filter)
        W1 = src[2].reshape(FILTERS, 64, HIDDEN).transpose(1, 0, 2).reshape(1024, HIDDEN)
        params = [Wc, src[1], W1, src[3], src[4], src[5]]
        self.shapes = [a.shape for a in params]
        self.offsets = np.cumsum([0] + [a.size for a in params])
        self.theta = np.concatenate([a.ravel() for a in params]).astype(np.float32)
        self.v = np.zeros_like(self.theta)
        self.work, self.ratio = np.zeros_like(self.theta), np.zeros_like(self.theta)
        self.params = self.views(self.theta)
        self.target = [p.copy() for p in self.params]
        self.grad = np.zeros_like(self.theta)
        self.grads = self.views(self.grad)
        self.obs, self.next_obs = agent.replay.obs, agent.replay.next_obs
        self.action, self.reward = agent.replay.action, agent.replay.reward
        self.terminated, self.size = agent.replay.terminated, len(agent.replay)
        self.rng, self.rows = np.random.default_rng(0), np.arange(BATCH)

    def views(self, flat):
        return [flat[a:b].reshape(s) for a, b, s in zip(self.offsets, self.offsets[1:],
                                                          self.shapes)]

    @staticmethod
    def im2col(x):  # (N, 10, 10, C) -> (N * 64, 9 * C): each patch's rows of channels
        n, h, w, c = x.shape
        s0, s1, s2, s3 = x.strides
        win = np.lib.stride_tricks.as_strided(x, (n, h - 2, w - 2, 3, 3, c),
                                              (s0, s1, s2, s1, s2, s3))
        return win.reshape(n * (h - 2) * (w - 2), 9 * c)

    def forward(self, params, x):
        Wc, bc, W1, b1, W2, b2 = params
        col = self.im2col(x)
        h0 = col @ Wc.T
        h0 += bc
        np.maximum(h0, 0, out=h0)  # (N * 64, 16): (N, i, j, filter), flattened for free
        f = h0.reshape(len(x), 1024)
        h1 = f @ W1
        h1 += b1
        np.maximum(h1, 0, out=h1)
        q = h1 @ W2
        q += b2
        return col, h0, f, h1, q

    def update(self):
        i = self.rng.integers(0, self.size, BATCH)
        x = self.obs[i].reshape(BATCH, *SHAPE).astype(np.float32)
        nx = self.next_obs[i].reshape(BATCH, *SHAPE).astype(np.float32)
        q_next = self.forward(self.target, nx)[-1].max(axis=1)
        y = self.reward[i] + GAMMA * (1 - self.terminated[i]) * q_next
        col, h0, f, h1, q = self.forward(self.params, x)
        a = self.action[i]
        gq = np.zeros_like(q)  # Huber: d / B inside |d| <= 1, sign(d) / B outside
        gq[self.rows, a] = np.clip(q[self.rows, a] - y, -1, 1) / BATCH
        gWc, gbc, gW1, gb1, gW2, gb2 = self.grads
        np.matmul(h1.T, gq, out=gW2)
        gq.sum(axis=0, out=gb2)
        gh1 = gq @ self.params[4].T
        gh1 *= h1 > 0
        np.matmul(f.T, gh1, out=gW1)
        gh1.sum(axis=0, out=gb1)
        gh0 = (gh1 @ self.params[2].T).reshape(-1, FILTERS)
        gh0 *= h0 > 0
        np.matmul(gh0.T, col, out=gWc)
        gh0.sum(axis=0, out=gbc)
        g, v, work, ratio = self.grad, self.v, self.work, self.ratio  # RMSprop, in place
        np.multiply(g, g, out=work)
        work -= v
        work *= 1 - ALPHA
        v += work
        np.sqrt(v, out=work)
        work += EPS
        np.multiply(g, LR, out=ratio)
        ratio /= work
        self.theta -= ratio

    def act(self, obs):
        return int(self.forward(self.params, obs.astype(np.float32)[None])[-1].argmax())


def check_limit(agent, limit):
    """The limit computes the same Q values as minirl's network (so it does the same
    work): compared on a batch of replay frames."""
    x = agent.replay.obs[:BATCH]
    ours = agent.qnet(x.astype(np.float32)).data
    theirs = limit.forward(limit.params, x.reshape(BATCH, *SHAPE).astype(np.float32))[-1]
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


# --- PyTorch ------------------------------------------------------------------------
def torch_dqn(agent):
    import torch
    from torch import nn
    torch.set_num_threads(1)
    c = SHAPE[-1]

    def net():
        return nn.Sequential(nn.Conv2d(c, FILTERS, 3), nn.ReLU(), nn.Flatten(),
                             nn.Linear(1024, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, N_ACTIONS))
    online, target = net(), net()
    target.load_state_dict(online.state_dict())
    opt = torch.optim.RMSprop(online.parameters(), lr=LR, alpha=ALPHA, eps=EPS)
    replay, rng = agent.replay, np.random.default_rng(0)

    def frames(x):
        return torch.from_numpy(x.reshape(BATCH, *SHAPE).astype(np.float32)).permute(0, 3, 1, 2)

    def update():
        i = rng.integers(0, len(replay), BATCH)
        with torch.no_grad():
            q_next = target(frames(replay.next_obs[i])).max(1).values
            y = torch.from_numpy(replay.reward[i]) + GAMMA * (
                1 - torch.from_numpy(replay.terminated[i])) * q_next
        q = online(frames(replay.obs[i])).gather(1, torch.from_numpy(replay.action[i])[:, None])
        loss = nn.functional.smooth_l1_loss(q[:, 0], y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def act(obs):
        with torch.no_grad():
            x = torch.from_numpy(obs.astype(np.float32)).permute(2, 0, 1)[None]
            return int(online(x).argmax())
    return update, act, online, opt


def kill_half_the_units(agent, moment):
    """Half the 128 units dead (bias -100: no input turns them on), their RMSprop moments
    ``moment``: the smallest subnormal (a late run) or 0 (flushed)."""
    l0 = agent.qnet.l0
    dead = np.arange(0, HIDDEN, 2)
    l0.b.data[dead] = -100.0
    v = agent.optimizer.v  # flat, laid out like the parameters: l0.W is the third
    sizes = [p.data.size for p in agent.qnet.parameters()]
    start = sizes[0] + sizes[1]
    vW = v[start:start + sizes[2]].reshape(1024, HIDDEN)
    vW[:, dead] = moment
    v[start + sizes[2]:start + sizes[2] + HIDDEN][dead] = moment
    return agent


def subnormal_count(agent):
    v = agent.optimizer.v
    return int(((v != 0) & (np.abs(v) < np.finfo(v.dtype).tiny)).sum())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--number", type=int, default=200, help="updates per repeat")
    ap.add_argument("--default-allocator", action="store_true",
                    help="leave glibc's malloc as it is (large temporaries page-fault)")
    args = ap.parse_args(argv)
    if not args.default_allocator and keep_freed_memory():
        print("allocator: glibc keeps freed memory (M_TOP_PAD, M_MMAP_THRESHOLD 32 MiB)")
    else:
        print("allocator: as it is")
    agent = minirl_agent()
    for _ in range(20):
        agent.learn()  # warm up, and give the optimizer moments
    limit = NumpyDQN(agent)
    check_limit(agent, limit)
    print(f"page faults per update: minirl {page_faults_per_call(agent.learn, 50):.1f}, "
          f"limit {page_faults_per_call(limit.update, 50):.1f}")
    obs = np.random.default_rng(1).random(SHAPE) < 0.1
    rows = [("update (batch 32)", best_time(agent.learn, args.number),
             best_time(limit.update, args.number)),
            ("act (one frame)", best_time(lambda: agent.act(obs, explore=False), 2000),
             best_time(lambda: limit.act(obs), 2000))]
    torch_times = [None, None]
    if not args.no_torch:
        try:
            update, act, _, _ = torch_dqn(agent)
            torch_times = [best_time(update, args.number), best_time(lambda: act(obs), 2000)]
        except ImportError:
            print("(PyTorch not installed: pip install torch==2.13.0)")
    print("| step | minirl (us) | NumPy limit (us) | minirl / limit | PyTorch (us) | "
          "minirl / PyTorch |")
    print("|---|---|---|---|---|---|")
    for (what, ours, lim), theirs in zip(rows, torch_times):
        t = "-" if theirs is None else f"{theirs * 1e6:.0f}"
        r = "-" if theirs is None else f"{ours / theirs:.2f}"
        print(f"| {what} | {ours * 1e6:.0f} | {lim * 1e6:.0f} | {ours / lim:.2f} | {t} | {r} |")

    print("\n| RMSprop moments of half the 128 units | subnormal entries | update (us) |")
    print("|---|---|---|")
    for label, moment in (("dead, moments at the smallest subnormal (a late run)",
                           np.float32(1.4e-45)), ("dead, moments flushed to 0", 0.0)):
        a = kill_half_the_units(minirl_agent(), moment)
        for _ in range(5):
            a.learn()
        t = best_time(a.learn, args.number)
        print(f"| {label} | {subnormal_count(a)} | {t * 1e6:.0f} |")


if __name__ == "__main__":
    main()
