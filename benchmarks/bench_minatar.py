"""DQN from pixels on MinAtar: minirl beside a PyTorch DQN with the same network, the
same settings, the same environment seeds (docs/pixels.md).

    python benchmarks/bench_minatar.py --impl minirl --game Breakout --seed 0 --frames 200000
    python benchmarks/bench_minatar.py --impl torch  --game Breakout --seed 0 --frames 200000
    python benchmarks/bench_minatar.py --impl random --game Breakout   # the floor
    python benchmarks/bench_minatar.py --summary     # the table of docs/pixels.md

Both run MinAtar's DQN (Young & Tian 2019) as minirl's ``minatar`` preset sets it: a 3x3
conv of 16 filters, ReLU, a 128-unit layer, ReLU, one output per action; RMSprop 2.5e-4
(alpha 0.95, eps 0.01, not centred -- minirl's RMSprop), Huber loss, gamma 0.99, replay
100k of boolean frames from 5k frames on, batch 32, one update per frame, target every
1000 frames, epsilon 1 -> 0.1 linearly over the first 100k frames. Each run appends one
row to ``benchmarks/results/minatar/runs.csv``: the final greedy return over 30 episodes
on evaluation seeds no run trained on (reset seeds 10000...), and the steps per second
of the whole run (acting, stepping, learning; wall clock, and the CPU seconds the
process used, which a shared machine distorts less). The training episodes go to
``benchmarks/results/minatar/<impl>-<game>-s<seed>.csv``. PyTorch is needed only for
``--impl torch`` (``pip install torch==2.13.0``), on one thread as minirl.
"""
import argparse
import csv
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "minatar")
EVAL_SEED, EVAL_EPISODES, EVAL_MAX_STEPS = 10_000, 30, 10_000
PAPER = dict(buffer_size=100_000, batch_size=32, learning_starts=5000,
             target_update_interval=1000, lr=2.5e-4, gamma=0.99, epsilon_start=1.0,
             epsilon_end=0.1, exploration_steps=100_000, hidden=128, filters=16)


def env_id(game):
    return f"MinAtar/{game}-v1"


def write_episodes(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "episode", "return", "length"])
        w.writerows(rows)


FIELDS = ["impl", "game", "seed", "frames", "greedy_return", "greedy_std", "eval_episodes",
          "seconds", "steps_per_s", "cpu_seconds"]


def append_result(row):
    """One row more in runs.csv (the header rewritten if an older file lacks a field)."""
    path = os.path.join(OUT, "runs.csv")
    rows = list(csv.DictReader(open(path))) if os.path.exists(path) else []
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, restval="", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows + [row])


# --- minirl ---------------------------------------------------------------------------
def run_minirl(game, seed, frames):
    import minirl
    start = time.perf_counter()
    result = minirl.train("dqn", env_id(game), frames, seed=seed, preset="minatar",
                          eval_every=frames, checkpoint_every=0, plot=False)
    seconds = time.perf_counter() - start
    mean, std = minirl.evaluate(result.agent, env_id(game), EVAL_EPISODES, EVAL_SEED,
                                max_steps=EVAL_MAX_STEPS)
    v = result.agent.optimizer.v  # RMSprop's moments: how many ended subnormal
    subnormal = int(((v != 0) & (np.abs(v) < np.finfo(v.dtype).tiny)).sum())
    print(f"RMSprop moments: {subnormal} of {v.size} subnormal, {int((v == 0).sum())} zero")
    if os.environ.get("MINIRL_SAVE_AGENTS"):  # for a GIF: minirl eval FILE --gif OUT
        os.makedirs(os.environ["MINIRL_SAVE_AGENTS"], exist_ok=True)
        result.agent.save(os.path.join(os.environ["MINIRL_SAVE_AGENTS"],
                                       f"{game}-s{seed}.npz"))
    return mean, std, seconds, result.records  # (step, episode, return, length)


# --- PyTorch: the same DQN, written plainly -------------------------------------------
def run_torch(game, seed, frames):
    import torch
    from torch import nn
    from minirl.envs import make_env
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    p = PAPER
    env = make_env(env_id(game))
    h, w, c = env.observation_space.shape
    n_actions = int(env.action_space.n)

    def qnet():
        return nn.Sequential(nn.Conv2d(c, p["filters"], 3), nn.ReLU(), nn.Flatten(),
                             nn.Linear(p["filters"] * (h - 2) * (w - 2), p["hidden"]),
                             nn.ReLU(), nn.Linear(p["hidden"], n_actions))
    online, target = qnet(), qnet()
    target.load_state_dict(online.state_dict())
    opt = torch.optim.RMSprop(online.parameters(), lr=p["lr"], alpha=0.95, eps=0.01)
    size = p["buffer_size"]
    obs_buf = np.zeros((size, h, w, c), bool)
    next_buf = np.zeros((size, h, w, c), bool)
    act_buf = np.zeros(size, np.int64)
    rew_buf = np.zeros(size, np.float32)
    term_buf = np.zeros(size, np.float32)
    pos = filled = 0

    def frames_to_tensor(x):  # (B, H, W, C) bool -> (B, C, H, W) float32
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), np.float32))

    def greedy(o):
        with torch.no_grad():
            return int(online(frames_to_tensor(o[None])).argmax())

    episodes, ret, length, episode = [], 0.0, 0, 0
    start = time.perf_counter()
    obs, _ = env.reset(seed=seed)
    for step in range(1, frames + 1):
        eps = p["epsilon_start"] + (p["epsilon_end"] - p["epsilon_start"]) * min(
            1.0, (step - 1) / p["exploration_steps"])
        action = int(rng.integers(n_actions)) if rng.random() < eps else greedy(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        obs_buf[pos], next_buf[pos], act_buf[pos] = obs, next_obs, action
        rew_buf[pos], term_buf[pos] = reward, float(terminated)
        pos, filled = (pos + 1) % size, min(filled + 1, size)
        ret, length = ret + reward, length + 1
        if step >= p["learning_starts"] and filled >= p["batch_size"]:
            i = rng.integers(0, filled, p["batch_size"])
            with torch.no_grad():
                next_q = target(frames_to_tensor(next_buf[i])).max(1).values
                y = torch.from_numpy(rew_buf[i]) + p["gamma"] * (
                    1 - torch.from_numpy(term_buf[i])) * next_q
            q = online(frames_to_tensor(obs_buf[i])).gather(
                1, torch.from_numpy(act_buf[i])[:, None])[:, 0]
            loss = nn.functional.smooth_l1_loss(q, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if step % p["target_update_interval"] == 0:
            target.load_state_dict(online.state_dict())
        obs = next_obs
        if terminated or truncated:
            episode += 1
            episodes.append((step, episode, ret, length))
            ret, length = 0.0, 0
            obs, _ = env.reset()
    seconds = time.perf_counter() - start
    returns = []
    for k in range(EVAL_EPISODES):
        o, _ = env.reset(seed=EVAL_SEED + k)
        total = 0.0
        for _ in range(EVAL_MAX_STEPS):
            o, r, te, tr, _ = env.step(greedy(o))
            total += r
            if te or tr:
                break
        returns.append(total)
    return float(np.mean(returns)), float(np.std(returns)), seconds, episodes


def run_random(game, seed, frames):
    """A uniformly random policy on the evaluation episodes: the floor to beat."""
    from minirl.envs import make_env
    env = make_env(env_id(game))
    env.action_space.seed(seed)
    start, returns = time.perf_counter(), []
    for k in range(EVAL_EPISODES):
        env.reset(seed=EVAL_SEED + k)
        total = 0.0
        for _ in range(EVAL_MAX_STEPS):
            _, r, te, tr, _ = env.step(env.action_space.sample())
            total += r
            if te or tr:
                break
        returns.append(total)
    return float(np.mean(returns)), float(np.std(returns)), time.perf_counter() - start, []


def summary():
    """The runs so far, one line per (impl, game, frames): greedy returns per seed."""
    path = os.path.join(OUT, "runs.csv")
    rows = list(csv.DictReader(open(path)))
    groups = {}
    for r in rows:
        groups.setdefault((r["game"], r["frames"], r["impl"]), []).append(r)
    print("| game | frames | impl | seeds | final greedy return per seed | mean | steps/s |")
    print("|---|---|---|---|---|---|---|")
    for (game, frames, impl), rs in sorted(groups.items()):
        rs.sort(key=lambda r: int(r["seed"]))
        returns = [float(r["greedy_return"]) for r in rs]
        sps = np.mean([float(r["steps_per_s"]) for r in rs])
        per_seed = ", ".join(f"{float(r['greedy_return']):.2f}" for r in rs)
        print(f"| {game} | {int(frames):,} | {impl} | {len(rs)} | {per_seed} | "
              f"{np.mean(returns):.2f} | {sps:.0f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", choices=("minirl", "torch", "random"))
    ap.add_argument("--game", default="Breakout")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--frames", type=int, default=200_000)
    ap.add_argument("--summary", action="store_true")
    args = ap.parse_args(argv)
    if args.summary:
        return summary()
    if args.impl is None:
        ap.error("--impl is required unless --summary")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.makedirs(OUT, exist_ok=True)
    run = {"minirl": run_minirl, "torch": run_torch, "random": run_random}[args.impl]
    cpu = time.process_time()
    mean, std, seconds, episodes = run(args.game, args.seed, args.frames)
    cpu = time.process_time() - cpu  # training and the final evaluation
    if episodes:
        write_episodes(os.path.join(OUT, f"{args.impl}-{args.game}-s{args.seed}.csv"),
                       episodes)
    append_result({"impl": args.impl, "game": args.game, "seed": args.seed,
                   "frames": args.frames, "greedy_return": f"{mean:.3f}",
                   "greedy_std": f"{std:.3f}", "eval_episodes": EVAL_EPISODES,
                   "seconds": f"{seconds:.1f}", "steps_per_s": f"{args.frames / seconds:.1f}",
                   "cpu_seconds": f"{cpu:.1f}"})
    print(f"{args.impl} {args.game} seed {args.seed}: {args.frames} frames in {seconds:.0f} s "
          f"({args.frames / seconds:.0f} steps/s); final greedy return {mean:.2f} +/- "
          f"{std:.2f} over {EVAL_EPISODES} episodes")


if __name__ == "__main__":
    sys.exit(main())
