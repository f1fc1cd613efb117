"""How fast is the engine on the update that chapter 8 runs thousands of times?

The DQN update: MLP 4 -> 128 -> 128 -> 2 (ReLU), a batch of transitions, Q(s, a) by
indexing, the target network's max under no_grad, MSE, backward, an Adam step. And
action selection: one observation forward, argmax.

Implementations of exactly the same computation, on identical weights:

* ``book``     -- minirl written the way the book writes chapter 8's update:
                  ``q = qnet(s)[np.arange(B), a]``, the target under ``no_grad`` from
                  the target network's ``max(axis=1)``, ``F.mean_squared_error``,
                  ``zero_grad``, ``backward``, a plain ``Adam(qnet.parameters())`` step;
* ``pick``     -- the same with ``F.pick(q, a)`` for Q(s, a) and the target formed on
                  ``.data``, as ``DQNAgent.learn`` writes it;
* ``limit``    -- the fastest handwritten NumPy we know: parameters, gradients and
                  Adam's moments in flat float32 buffers with a view per layer, the
                  forward pass in place (ReLU against a cached zeros array), the
                  backward pass written out by hand straight into the gradient views
                  (``out=``), and Adam fused into one pass of in-place operations over
                  the whole buffer: the limit that NumPy allows for the same arithmetic
                  as minirl (Adam's step formed in float64, rounded once);
* ``limit32``  -- the same with Adam's step formed in float32, as PyTorch does: faster
                  (the float64 passes cost about 30 us at this size) but rounded
                  differently, so a seeded run would not repeat minirl's bit for bit;
* ``torch``    -- PyTorch on the CPU, when it is importable (never required).

Before timing, the script checks that all of them agree on the loss and the gradients
of one update and on the parameters after 50 Adam steps. Then it times them
interleaved -- rounds of ten calls of each implementation, in a rotating order -- so
that a busy machine slows all of them alike, and prints medians and ratios; with
``--runs 3`` it does that three times and adds the median of each ratio.

The allocator matters at batch 256. A 256 x 128 float32 array is 128 KiB, and glibc's
malloc hands memory of that size back to the kernel when it is freed (its trim and
mmap thresholds start at 128 KiB), so the next update's temporaries are fresh pages,
each one a page fault: measured here, 314 faults per minirl update and 158 per
handwritten one, about half of the time of each, and how many depends on the order of
allocations, not on the arithmetic. Importing torch changes it too (its libraries'
start-up raises glibc's thresholds, and the faults vanish), so a run with torch and one
without would not compare. The script therefore first asks glibc to keep freed memory
(``mallopt(M_TOP_PAD, 64 MiB)``, the same as the environment variable
``MALLOC_TOP_PAD_=67108864``) and prints the page faults per update, which should be 0:
the tables compare arithmetic and bookkeeping. ``--default-allocator`` leaves malloc
as it is. The setting speeds up any NumPy program with large temporaries; minirl does
not set it for you.

It prints the number of BLAS threads NumPy uses (threadpoolctl; one unless
``OPENBLAS_NUM_THREADS`` or ``MINIRL_NUM_THREADS`` says otherwise) and PyTorch's.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_engine.py [--repeats 2000] [--runs 3]
"""
import argparse
import ctypes
import itertools
import ctypes.util
import resource
import statistics
import time

import numpy as np

import minirl.functions as F
import minirl.layers as L
import minirl.optimizers as optim
from minirl import no_grad

SIZES = (4, 128, 128, 2)
NAMES = ["l0.W", "l0.b", "l1.W", "l1.b", "l2.W", "l2.b"]
GAMMA = 0.98
LR = 5e-4
BETAS = (0.9, 0.999)
EPS = 1e-8
BATCHES = 100  # minibatches each update draws from in turn


def make_batch(batch_size, rng):
    return dict(
        obs=rng.standard_normal((batch_size, SIZES[0])).astype(np.float32),
        action=rng.integers(0, SIZES[-1], batch_size),
        reward=rng.standard_normal(batch_size).astype(np.float32),
        next_obs=rng.standard_normal((batch_size, SIZES[0])).astype(np.float32),
        terminated=(rng.random(batch_size) < 0.1).astype(np.float32),
    )


# --- minirl ------------------------------------------------------------------------
class PickDQN:
    """Q(s, a) with ``F.pick``, the target on ``.data``: as DQNAgent.learn writes it."""

    def __init__(self, weights):
        self.qnet = L.MLP(SIZES)
        self.target = L.MLP(SIZES)
        self.qnet.load_state_dict(weights)
        self.target.load_state_dict(weights)
        self.optimizer = optim.Adam(self.qnet.parameters(), lr=LR, betas=BETAS, eps=EPS)

    def loss(self, b):
        q = self.qnet(b["obs"])
        q_a = F.pick(q, b["action"])  # Q(s, a), as DQNAgent.learn takes it
        with no_grad():
            next_q = self.target(b["next_obs"]).data.max(axis=1)
        target = b["reward"] + GAMMA * (1 - b["terminated"]) * next_q
        return F.mean_squared_error(q_a, target)  # as learn() does with uniform replay

    def update(self, b):
        loss = self.loss(b)
        self.optimizer.zero_grad()  # as DQNAgent.learn does
        loss.backward()
        self.optimizer.step()
        return float(loss.data)

    def act(self, obs):
        with no_grad():  # one observation as a vector, as DQNAgent.q_values passes it
            return int(self.qnet(obs).data.argmax())

    def grads(self):
        return [p.grad for p in self.qnet.parameters()]

    def weights(self):
        return [p.data for p in self.qnet.parameters()]


class BookDQN(PickDQN):
    """The update as the book writes it (DQNAgent.update of chapter 8), with no_grad for
    the target and PyTorch's names (zero_grad, step) for the optimizer."""

    def update(self, b):
        s, a, r, next_s, done = (b["obs"], b["action"], b["reward"], b["next_obs"],
                                 b["terminated"])
        q = self.qnet(s)[np.arange(len(a)), a]
        with no_grad():
            next_q = self.target(next_s).max(axis=1)
            target = r + (1 - done) * GAMMA * next_q
        loss = F.mean_squared_error(q, target)
        self.qnet.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.data)


# --- the handwritten limit -----------------------------------------------------------
_ZEROS = {}


def relu(x):
    """max(x, 0) in place, against a cached contiguous zeros array: NumPy's fastest loop
    for it (a broadcast scalar 0 runs about 3x slower), and no new array."""
    zeros = _ZEROS.get(x.shape)
    if zeros is None:
        zeros = _ZEROS[x.shape] = np.zeros(x.shape, x.dtype)
    return np.maximum(x, zeros, out=x)


def flat_views(flat, shapes):
    out, offset = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        out.append(flat[offset:offset + n].reshape(shape))
        offset += n
    return out


class LimitDQN:
    """The same update with the chain rule and Adam written out by hand, on flat
    buffers: theta, its gradient, Adam's m and v, and two work arrays are each ONE
    float32 array, and every layer's W, b (and dW, db) are views into them."""

    float32_step = False

    def __init__(self, weights):
        shapes = [weights[n].shape for n in NAMES]
        self.theta = np.concatenate([weights[n].ravel() for n in NAMES])
        self.target_theta = self.theta.copy()
        self.grad, self.m, self.v, self.work = (np.zeros_like(self.theta) for _ in range(4))
        self.ratio = np.zeros(self.theta.shape, np.float32 if self.float32_step else np.float64)
        self.p = flat_views(self.theta, shapes)
        self.tp = flat_views(self.target_theta, shapes)
        self.g = flat_views(self.grad, shapes)
        self.t = 0

    def update(self, b):
        W1, b1, W2, b2, W3, b3 = self.p
        tW1, tb1, tW2, tb2, tW3, tb3 = self.tp
        gW1, gb1, gW2, gb2, gW3, gb3 = self.g
        obs, action, n = b["obs"], b["action"], len(b["action"])
        a1 = obs @ W1
        a1 += b1
        relu(a1)  # in place: a1 > 0 exactly where h1 > 0, so backward masks with it
        a2 = a1 @ W2
        a2 += b2
        relu(a2)
        q = a2 @ W3
        q += b3
        nh = b["next_obs"] @ tW1
        nh += tb1
        nh2 = relu(nh) @ tW2
        nh2 += tb2
        nq = relu(nh2) @ tW3
        nq += tb3
        target = b["reward"] + GAMMA * (1 - b["terminated"]) * nq.max(axis=1)
        rows = np.arange(n)
        diff = q[rows, action] - target
        loss = np.vdot(diff, diff) / n  # a dot product: faster than np.mean(diff * diff)
        gq = np.zeros_like(q)
        gq[rows, action] = diff * (2 / n)
        np.matmul(a2.T, gq, out=gW3)
        np.sum(gq, axis=0, out=gb3)
        gh2 = gq @ W3.T
        gh2 *= a2 > 0
        np.matmul(a1.T, gh2, out=gW2)
        np.sum(gh2, axis=0, out=gb2)
        gh1 = gh2 @ W2.T
        gh1 *= a1 > 0
        np.matmul(obs.T, gh1, out=gW1)
        np.sum(gh1, axis=0, out=gb1)
        self.adam()
        return float(loss)

    def adam(self):
        """Algorithm 1 of Kingma & Ba, bias corrections folded into two scalars, as twelve
        in-place passes over the flat buffers: the same arithmetic as minirl's Adam,
        whose step is formed in float64 (``float32_step`` forms it in float32, which
        is faster and rounds differently)."""
        self.t += 1
        b1, b2 = BETAS
        c2 = np.sqrt(1 - b2 ** self.t)
        if self.float32_step:
            c2 = float(c2)  # a Python float: every pass stays in float32
        step_size, eps_hat = LR * c2 / (1 - b1 ** self.t), EPS * c2
        g, m, v, work, ratio = self.grad, self.m, self.v, self.work, self.ratio
        np.subtract(g, m, out=work)
        work *= 1 - b1
        m += work
        np.multiply(g, g, out=work)
        work -= v
        work *= 1 - b2
        v += work
        np.sqrt(v, out=work)
        work += eps_hat
        np.multiply(m, step_size, out=ratio)
        ratio /= work
        self.theta -= ratio

    def act(self, obs):
        W1, b1, W2, b2, W3, b3 = self.p
        h = obs @ W1
        h += b1
        h = relu(h) @ W2
        h += b2
        q = relu(h) @ W3
        q += b3
        return int(q.argmax())

    def grads(self):
        return self.g

    def weights(self):
        return self.p


class Limit32DQN(LimitDQN):
    """The limit with Adam's step formed in float32 (as PyTorch forms it)."""
    float32_step = True


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
            self.optimizer = torch.optim.Adam(self.qnet.parameters(), lr=LR, betas=BETAS,
                                              eps=EPS)

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
                return int(self.qnet(torch.from_numpy(obs)).argmax())

        def grads(self):
            return self.per_layer("grad")

        def weights(self):
            return self.per_layer("data")

        def per_layer(self, what):
            out = []
            for layer in [self.qnet[0], self.qnet[2], self.qnet[4]]:
                out += [getattr(layer.weight, what).numpy().T,
                        getattr(layer.bias, what).numpy()]
            return out

    return TorchDQN()


def check_agreement(factories, weights, batch, steps=50):
    """Same loss and gradients on one update, and the same parameters after ``steps``
    Adam steps, for every implementation (each compared with the book form)."""
    impls = {name: factory(weights) for name, factory in factories.items()}
    first = {name: (impl.update(batch), [np.array(g) for g in impl.grads()])
             for name, impl in impls.items()}
    for _ in range(steps - 1):
        for impl in impls.values():
            impl.update(batch)
    loss, grads = first["book"]
    for name, impl in impls.items():
        assert np.isclose(first[name][0], loss, rtol=1e-5), (name, first[name][0], loss)
        for k, (g, r) in enumerate(zip(first[name][1], grads)):
            np.testing.assert_allclose(g, r, rtol=1e-3, atol=1e-6,
                                       err_msg=f"{name}: gradient of {NAMES[k]}")
        for k, (w, r) in enumerate(zip(impl.weights(), impls["book"].weights())):
            np.testing.assert_allclose(w, r, rtol=1e-3, atol=1e-5,
                                       err_msg=f"{name}: {NAMES[k]} after {steps} steps")


def interleaved_medians(tasks, repeats, block=10):
    """``tasks``: name -> function. Each round calls every function ``block`` times in
    a row (as a training loop does: DQN runs its gradient steps back to back), the
    order of the functions rotating from round to round, so that a load on the
    machine falls on all of them alike. Returns the median microseconds per call."""
    names = list(tasks)
    times = {name: [] for name in names}
    for r in range(-(-repeats // block)):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn = tasks[name]
            for _ in range(block):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) * 1e6 for name, t in times.items()}


def page_faults_per_call(fn, calls=200):
    """Minor page faults (fresh pages the kernel had to map) per call of ``fn``."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def keep_freed_memory(pad=64 << 20):
    """Ask glibc's malloc to keep up to ``pad`` bytes of freed memory instead of
    returning it to the kernel (``mallopt(M_TOP_PAD)``), and to serve arrays below 32
    MiB from that memory rather than from fresh pages of their own (``M_MMAP_THRESHOLD``,
    ``M_TRIM_THRESHOLD``; the MinAtar network's 0.5 MB temporaries are above glibc's
    128 KiB default). False where there is no glibc."""
    name = ctypes.util.find_library("c")
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # from <malloc.h>
    try:
        libc = ctypes.CDLL(name)
        return all(libc.mallopt(option, value) for option, value in (
            (M_TOP_PAD, pad), (M_TRIM_THRESHOLD, 2 * pad), (M_MMAP_THRESHOLD, 32 << 20)))
    except (OSError, AttributeError, TypeError):
        return False


def measure(factories, weights, rng, repeats):
    """One run: task -> implementation -> median microseconds; and page faults per
    update: task -> implementation -> faults."""
    results, faults = {}, {}
    for batch_size in (32, 256):
        # Minibatches drawn in turn from a pool, as from a replay buffer: timed on one
        # batch over and over, some runs slowed single implementations 25-100 fold.
        pool = [make_batch(batch_size, rng) for _ in range(BATCHES)]
        impls = {name: factory(weights) for name, factory in factories.items()}
        updates = {name: (lambda impl=impl, draw=itertools.cycle(pool): impl.update(next(draw)))
                   for name, impl in impls.items()}
        for update in updates.values():
            for _ in range(50):  # warm up caches and allocators
                update()
        task = f"update, batch {batch_size}"
        faults[task] = {name: page_faults_per_call(update) for name, update in updates.items()}
        results[task] = interleaved_medians(updates, repeats)
    obs = rng.standard_normal(SIZES[0]).astype(np.float32)
    impls = {name: factory(weights) for name, factory in factories.items()}
    results["act, 1 observation"] = interleaved_medians(
        {name: (lambda impl=impl: impl.act(obs)) for name, impl in impls.items()},
        repeats * 5)
    return results, faults


RATIOS = [("book", "limit"), ("pick", "limit"), ("book", "limit32"), ("torch", "book"),
          ("torch", "limit")]


def print_table(results, names, faults=None):
    ratios = [(a, b) for a, b in RATIOS if a in names and b in names]
    print(f"{'':24}" + "".join(f"{n:>9}" for n in names)
          + "".join(f"{a + '/' + b:>14}" for a, b in ratios))
    for task, row in results.items():
        print(f"{task:24}" + "".join(f"{row[n]:9.1f}" for n in names)
              + "".join(f"{row[a] / row[b]:14.2f}" for a, b in ratios))
    if faults:
        print("page faults per update: " + "; ".join(
            f"{task}: " + ", ".join(f"{n} {f:.0f}" for n, f in row.items())
            for task, row in faults.items()))


def blas_threads():
    """NumPy's BLAS libraries and their thread counts, as threadpoolctl sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed: unknown"
    return ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in threadpool_info()
                     if i["user_api"] == "blas") or "none found"


def subnormal_cost(weights, rng, repeats=300):
    """Adam late in a run: one step of the DQN's Adam with normal moments, and with the
    moments of every parameter fallen to 1e-39, a subnormal float32 (what the dead ReLU
    units of a long run leave, if nothing flushes them; ``optim.flush_to_zero``)."""
    net = L.MLP(SIZES)
    net.load_state_dict(weights)
    opt = optim.Adam(net.parameters(), lr=LR, betas=BETAS, eps=EPS)
    for p in net.parameters():
        p.grad = np.zeros_like(p.data)  # dead units: the moments only decay
    fills = {"moments 1e-3, 1e-6": (1e-3, 1e-6), "m subnormal": (1e-39, 1e-6),
             "m and v subnormal": (1e-39, 1e-41)}
    times = {name: [] for name in fills}
    for _ in range(repeats):
        for name, (m, v) in fills.items():
            opt.m.fill(m)
            opt.v.fill(v)
            opt.t = 1  # never a 100th step here: nothing is flushed
            t0 = time.perf_counter()
            opt.step()
            times[name].append(time.perf_counter() - t0)
    flush = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        optim.flush_to_zero(opt.m, opt.v)
        flush.append(time.perf_counter() - t0)
    print("\nAdam late in a run (median microseconds per step, 4-128-128-2): " + ", ".join(
        f"{name} {statistics.median(t) * 1e6:.1f}" for name, t in times.items())
          + f"; flush_to_zero of m and v {statistics.median(flush) * 1e6:.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=1, help="whole measurements to repeat")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch.set_num_threads (default 1, as OPENBLAS_NUM_THREADS=1)")
    parser.add_argument("--no-torch", action="store_true",
                        help="leave PyTorch out even if it is installed")
    parser.add_argument("--default-allocator", action="store_true",
                        help="leave glibc's malloc as it is (temporaries page-fault)")
    args = parser.parse_args(argv)

    if args.default_allocator:
        print("allocator: glibc's defaults (large temporaries page-fault)")
    elif keep_freed_memory():
        print("allocator: glibc keeps up to 64 MiB of freed memory (M_TOP_PAD)")
    else:
        print("allocator: no glibc mallopt here; left as it is")
    rng = np.random.default_rng(0)
    weights = L.MLP(SIZES, rng=rng).state_dict()
    factories = {"book": BookDQN, "pick": PickDQN, "limit": LimitDQN,
                 "limit32": Limit32DQN}
    try:
        if args.no_torch:
            raise ImportError("--no-torch")
        import torch
        torch.set_num_threads(args.threads)
        factories["torch"] = make_torch
        print(f"torch {torch.__version__}: {torch.get_num_threads()} threads")
    except ImportError:
        print("torch not importable: comparing minirl with the handwritten limit only")
    print(f"NumPy {np.__version__}, BLAS threads: {blas_threads()}")

    check_agreement(factories, weights, make_batch(32, rng))
    print("loss, gradients and 50 Adam steps agree across", ", ".join(factories))

    if hasattr(optim, "flush_to_zero"):
        subnormal_cost(weights, rng)
    runs = []
    for run in range(args.runs):
        results, faults = measure(factories, weights, rng, args.repeats)
        print(f"\nrun {run + 1}: median microseconds over {args.repeats} interleaved repeats "
              f"(act: x5)")
        print_table(results, list(factories), faults)
        runs.append(results)
    if args.runs > 1:
        print(f"\nmedian over the {args.runs} runs of each run's median")
        print_table({task: {n: statistics.median(r[task][n] for r in runs) for n in factories}
                     for task in runs[0]}, list(factories))
        for task in runs[0]:
            for a, b in RATIOS[:3]:
                ratios = [r[task][a] / r[task][b] for r in runs]
                print(f"  {task}: {a}/{b} per run " + ", ".join(f"{x:.2f}" for x in ratios))
    return runs


if __name__ == "__main__":
    main()
