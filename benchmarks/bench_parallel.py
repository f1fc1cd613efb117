"""Chapter 10 in numbers: how fast A3C's workers and A2C's vector envs run, and how
long A2C and A3C take to solve CartPole-v1.

1. Throughput (environment steps per second, CartPole-v1, no evaluation):
   * A3C with 1, 2, ... workers (``--workers``), with the lock and lock-free
     (``lock=False``, Hogwild): the steady rate, measured from the first to the last
     reported episode, so process start-up is left out; the median of ``--repeats``
     runs, interleaved;
   * A2C with synchronous vs asynchronous vector envs (``async_envs``).
2. Whether A2C and A3C end with a policy that solves CartPole-v1, per seed: the FINAL
   greedy return of the agent the whole budget ends with, the best periodic evaluation,
   the first one to reach 475 and the wall-clock to it (the run's seconds prorated by
   steps). Seeds: the evaluation seeds 200-204 (``common.EVAL_SEEDS``), never tuned on.
   * A2C and A3C are each a ``minirl.sweep`` over the seeds
     (``benchmarks/sweep_report.py``; each seed an ordinary run directory, a rerun
     continues), evaluated greedily every budget/10 steps over 10 episodes; the final
     return is the last evaluation (A3C's at its last step too: its run ends there
     after its workers' last reported episode).
   If stable-baselines3 is importable, its A2C with the rl-zoo CartPole settings
   (8 envs, ent_coef 0, 500k steps) runs seed after seed in this process: the time to
   its first solving evaluation, and the time its 500k steps of training take
   (evaluations left out), plus whether its final policy solves.

Run it on an otherwise idle machine: every number here is a wall-clock time.

    python benchmarks/bench_parallel.py --parts speed --workers 1 2 4 --speed-steps 40000

The results data (``--name``; the pages are generated from it):

    python benchmarks/bench_parallel.py --parts a2c --name a2c-cartpole
    python benchmarks/bench_parallel.py --parts a3c --seeds 200-202 --name a3c-cartpole
"""
import argparse
import json
import os
import statistics
import sys
import time

import minirl
import sweep_report
from minirl.sweep import parse_seeds

ENV = "CartPole-v1"
SOLVED = 475.0
EVAL_EPISODES = 20  # sb3's evaluations


# --- throughput ------------------------------------------------------------------------
def a3c_rate(workers, steps, seed=0, lock=True):
    """(steady steps/s, seconds from start to the first episode) for A3C."""
    agent = minirl.make_agent("a3c", ENV, seed=seed, workers=workers, lock=lock)
    seen = []  # (time, global step) of each reported episode

    def on_episode(step, episode_return, episode_length):
        seen.append((time.perf_counter(), step))
        return False
    started = time.perf_counter()
    agent.train_parallel(ENV, steps, 0, seed, on_episode)
    (t0, s0), (t1, s1) = seen[0], seen[-1]
    return (s1 - s0) / (t1 - t0), t0 - started


def a2c_rate(async_envs, steps, seed=0):
    """Steps/s of A2C through minirl.train (8 envs), vector-env creation included."""
    started = time.perf_counter()
    minirl.train("a2c", ENV, steps, seed=seed, async_envs=async_envs)
    return steps / (time.perf_counter() - started)


# --- time to solve ---------------------------------------------------------------------
def a2c_solve(budget, args, argv):
    """A sweep of A2C over the seeds; per seed the figures ``summary`` reads, the time to
    the first solve prorated from the run's seconds (the loop's speed is steady)."""
    runs = sweep_report.run("a2c", ENV, budget, args, SOLVED, "bench_parallel.py", argv)
    return [{"solved": r["solved_step"] is not None, "steps": r["solved_step"] or budget,
             "seconds": r["seconds"] * (r["solved_step"] or budget) / budget,
             "final_eval": r["final"], "best": r["best"]} for r in runs]


def a3c_solve(budget, args, argv):
    """A sweep of A3C over the seeds, as ``a2c_solve`` (its workers' run ends at its last
    step with its closing evaluation, which the sweep's summary reads)."""
    runs = sweep_report.run("a3c", ENV, budget, args, SOLVED, "bench_parallel.py", argv)
    return [{"solved": r["solved_step"] is not None, "steps": r["solved_step"] or budget,
             "seconds": r["seconds"] * (r["solved_step"] or budget) / budget,
             "final_eval": r["final"], "best": r["best"]} for r in runs]


def sb3_solve(seed, budget, eval_every, torch_threads):
    """SB3's A2C, rl-zoo CartPole-v1 settings: 8 envs, ent_coef 0 (the rest default)."""
    import torch
    from stable_baselines3 import A2C
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    torch.set_num_threads(torch_threads)
    eval_env = make_vec_env(ENV, n_envs=1, seed=seed + 1_000_000)

    class FirstSolve(BaseCallback):
        """Greedy evaluation every eval_every steps until the first solve; its own time
        is recorded so that the training time can be told apart."""
        def __init__(self):
            super().__init__()
            self.next_eval, self.solved_at, self.eval_seconds = eval_every, None, 0.0

        def _on_step(self):
            if self.solved_at is None and self.num_timesteps >= self.next_eval:
                self.next_eval += eval_every
                t = time.perf_counter()
                mean, _ = evaluate_policy(self.model, eval_env, EVAL_EPISODES,
                                          deterministic=True)
                self.eval_seconds += time.perf_counter() - t
                if mean >= SOLVED:
                    self.solved_at = (self.num_timesteps, time.perf_counter() - started)
            return True

    started = time.perf_counter()
    model = A2C("MlpPolicy", make_vec_env(ENV, n_envs=8, seed=seed), ent_coef=0.0,
                seed=seed, device="cpu", verbose=0)
    callback = FirstSolve()
    model.learn(budget, callback=callback)
    total = time.perf_counter() - started
    final, _ = evaluate_policy(model, eval_env, EVAL_EPISODES, deterministic=True)
    solved_at = callback.solved_at
    return {"solved": solved_at is not None, "seconds": solved_at[1] if solved_at else total,
            "steps": solved_at[0] if solved_at else budget,
            "train_seconds": total - callback.eval_seconds, "final_eval": float(final)}


# --- report ----------------------------------------------------------------------------
def summary(name, runs):
    solved = [r for r in runs if r["solved"]]
    times = [r["seconds"] for r in solved]
    steps = [r["steps"] for r in solved]
    finals = " ".join(f"{r['final_eval']:.0f}" for r in runs)
    held = sum(r["final_eval"] >= SOLVED for r in runs)
    line = (f"| {name} | {held}/{len(runs)} ({finals}) | {len(solved)}/{len(runs)} | "
            f"{statistics.median(times):.1f} | {min(times):.1f}-{max(times):.1f} | "
            f"{statistics.median(steps):,.0f} |" if solved else
            f"| {name} | {held}/{len(runs)} ({finals}) | 0/{len(runs)} | - | - | - |")
    return line


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", default=["speed", "a2c", "a3c", "sb3"],
                        choices=["speed", "a2c", "a3c", "sb3"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2],
                        help="A3C workers in the throughput runs")
    parser.add_argument("--speed-steps", type=int, default=40_000)
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs of each")
    parser.add_argument("--a2c-steps", type=int, default=200_000, help="A2C budget")
    parser.add_argument("--a3c-steps", type=int, default=200_000, help="A3C budget")
    parser.add_argument("--sb3-steps", type=int, default=500_000)
    parser.add_argument("--eval-every", type=int, default=10_000,
                        help="A3C's and sb3's evaluations")
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--json", help="also write every measurement to this file")
    sweep_report.add_arguments(parser, workers_flag="--sweep-workers")
    args = parser.parse_args(argv)
    argv = sys.argv[1:] if argv is None else argv
    if args.name and args.parts not in (["a2c"], ["a3c"]):
        raise SystemExit("--name writes one algorithm's data: give --parts a2c or --parts a3c")
    results = {"args": vars(args), "cpus": os.cpu_count(), "load": os.getloadavg()}
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")

    if "speed" in args.parts:
        print(f"\nThroughput on {ENV}, {args.speed_steps:,} steps a run, median of "
              f"{args.repeats} (steps/s)\n")
        print("| run | steps/s | range |\n|---|---|---|")
        rates = {}  # (workers, lock) -> [steps/s per repeat]; repeats interleaved,
        for _ in range(args.repeats):  # so a slow spell of the machine hits every run
            for lock in (True, False):
                for k in args.workers if lock else [k for k in args.workers if k > 1]:
                    rates.setdefault((k, lock), []).append(
                        a3c_rate(k, args.speed_steps, lock=lock)[0])
        base = statistics.median(rates[(min(args.workers), True)])
        for (k, lock), values in rates.items():
            rate = statistics.median(values)
            name = f"a3c_{k}_workers" + ("" if lock else "_lock_free")
            results[name] = {"steps_per_s": values}
            print(f"| A3C, {k} worker{'s' if k > 1 else ''}"
                  f"{'' if lock else ', lock-free (Hogwild)'} | {rate:,.0f} "
                  f"({rate / base:.2f}x) | {min(values):,.0f}-{max(values):,.0f} |",
                  flush=True)
        for async_envs in (False, True):
            rate = a2c_rate(async_envs, args.speed_steps)
            results[f"a2c_{'async' if async_envs else 'sync'}"] = {"steps_per_s": rate}
            print(f"| A2C, 8 envs, {'async' if async_envs else 'sync'} | {rate:,.0f} | |",
                  flush=True)

    rows = []
    settings = f" {' '.join(args.set)}" if args.set else " (defaults)"
    if "a2c" in args.parts:
        results["a2c"] = runs = a2c_solve(args.a2c_steps, args, argv)
        rows.append(summary(f"minirl A2C{settings}", runs))
    if "a3c" in args.parts:
        results["a3c"] = runs = a3c_solve(args.a3c_steps, args, argv)
        rows.append(summary(f"minirl A3C{settings}", runs))
    if "sb3" in args.parts:
        try:
            import stable_baselines3  # noqa: F401
        except ImportError:
            print("\nstable-baselines3 is not importable: skipping its A2C")
        else:
            runs = []
            for seed in parse_seeds(args.seeds):
                runs.append(sb3_solve(seed, args.sb3_steps, args.eval_every,
                                      args.torch_threads))
                print(f"sb3 seed {seed}: {runs[-1]}", flush=True)
            results["sb3"] = runs
            rows.append(summary("SB3 A2C (rl-zoo)", runs))
            train = [r["train_seconds"] for r in runs]
            rows.append(f"| SB3 A2C, {args.sb3_steps:,} steps, training only | "
                        f"{sum(r['final_eval'] >= SOLVED for r in runs)}/{len(runs)} "
                        f"at the end | {statistics.median(train):.1f} | "
                        f"{min(train):.1f}-{max(train):.1f} | {args.sb3_steps:,} |")
    if rows:
        print(f"\nTime to solve {ENV} (greedy mean >= {SOLVED:.0f}: A2C and A3C over "
              f"{sweep_report.EVAL_EPISODES} episodes every budget/10 steps, sb3 "
              f"over {EVAL_EPISODES} every {args.eval_every:,} steps)\n")
        print("| run | final >= 475 (finals) | solved once | median s | range s | "
              "median steps |\n|---|---|---|---|---|---|")
        print("\n".join(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)


if __name__ == "__main__":
    sys.exit(main())
