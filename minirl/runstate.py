"""The loop's state: counters, the finished episodes, the episodes in flight, stats.

Everything here is saved in the checkpoint (``loop.<key>``), so that a resumed run
continues from the very step it stopped at: each episode in flight keeps the seed it
started from and the actions taken since, which is all it takes to bring a
deterministic environment back to where it was (``minirl/resume.py``).
"""
import csv
import io
import json

import numpy as np

from minirl.agents.base import rng_state, set_rng_state

__all__ = ["Episode", "RunState", "StatsLog", "csv_text"]


class Episode:
    """The episode running in one env: the seed it started from and what happened since."""

    def __init__(self, seed=None):
        self.seed, self.actions, self.total, self.length = seed, [], 0.0, 0

    def record(self, action, reward):
        self.actions.append(action)
        self.total += float(reward)
        self.length += 1


class RunState:
    """The loop's state: counters, records, evaluations and the episodes in flight."""

    def __init__(self, seed):
        self.step = 0
        self.episode = 0
        self.records = []      # (step, episode, return, length) per finished episode
        self.evaluations = []  # (step, mean, std) per greedy evaluation
        self.elapsed = 0.0     # wall-clock seconds of training, over every resume
        self.rng = np.random.default_rng((seed, 7919))  # episode seeds, apart from the agent's
        self.running = [Episode()]  # one per env (a vector env: one per sub-env)
        self.stats = StatsLog()

    def new_episode_seed(self, i=0):
        """Start a new episode in env ``i`` from a seed of the loop's own stream."""
        self.running[i] = Episode(int(self.rng.integers(2**31 - 1)))
        return self.running[i].seed

    def finish_episode(self, i=0):
        """Env ``i``'s episode is over: one record."""
        self.episode += 1
        done = self.running[i]
        self.records.append((self.step, self.episode, done.total, done.length))

    def best_evaluation(self):
        """(step, mean, std) of the first evaluation with the highest mean, or None."""
        if not self.evaluations:
            return None
        return max(self.evaluations, key=lambda e: (e[1], -e[0]))

    def state_dict(self):
        episode = self.running[0]
        return {
            "step": np.array(self.step), "episode": np.array(self.episode),
            "records": np.array(self.records, np.float64).reshape(-1, 4),
            "evaluations": np.array(self.evaluations, np.float64).reshape(-1, 3),
            "elapsed": np.array(self.elapsed),
            "rng": np.array(rng_state(self.rng)),
            "episode_seed": np.array(-1 if episode.seed is None else episode.seed),
            "episode_actions": np.array(episode.actions),
            "episode_return": np.array(episode.total),
            "episode_length": np.array(episode.length),
            **self.stats.state_dict(),
        }

    def load_state_dict(self, s):
        self.step, self.episode = int(s["step"]), int(s["episode"])
        self.records = [(int(a), int(b), float(c), int(d)) for a, b, c, d in s["records"]]
        self.evaluations = [(int(a), float(b), float(c)) for a, b, c in s["evaluations"]]
        self.elapsed = float(s.get("elapsed", 0.0))
        set_rng_state(self.rng, s["rng"])
        seed = int(s["episode_seed"])
        episode = self.running[0] = Episode(None if seed < 0 else seed)
        episode.actions = list(s["episode_actions"])
        episode.total = float(s["episode_return"])
        episode.length = int(s["episode_length"])
        self.stats.load_state_dict(s)


class StatsLog:
    """Means of the figures ``update()`` returns, one row every ``log_every`` steps."""

    def __init__(self):
        self.columns, self.rows = [], []   # rows: [step, time, sps, stat...]
        self.sums, self.counts = {}, {}

    def add(self, stats):
        for key, value in stats.items():
            if key not in self.sums:
                self.sums[key], self.counts[key] = 0.0, 0
                if key not in self.columns:
                    self.columns.append(key)
            self.sums[key] += value
            self.counts[key] += 1

    def row(self, step, elapsed):
        last_step, last_time = (self.rows[-1][:2] if self.rows else (0, 0.0))
        sps = (step - last_step) / max(elapsed - last_time, 1e-9)
        means = [self.sums[k] / self.counts[k] if self.counts.get(k) else np.nan
                 for k in self.columns]
        self.rows.append([step, elapsed, sps, *means])
        self.sums, self.counts = {}, {}

    def csv(self):
        width = 3 + len(self.columns)
        rows = [[int(r[0]), f"{r[1]:.3f}", f"{r[2]:.1f}",
                 *(f"{v:.6g}" for v in r[3:])] + [""] * (width - len(r)) for r in self.rows]
        return csv_text(["step", "time", "sps", *self.columns], rows)

    def state_dict(self):
        width = 3 + len(self.columns)
        rows = np.full((len(self.rows), width), np.nan)
        for i, r in enumerate(self.rows):
            rows[i, :len(r)] = r
        return {"stats_columns": np.array(json.dumps(self.columns)), "stats": rows}

    def load_state_dict(self, s):
        if "stats_columns" in s:
            self.columns = json.loads(str(s["stats_columns"]))
            self.rows = [list(r) for r in np.asarray(s["stats"]).reshape(
                -1, 3 + len(self.columns))]


def csv_text(header, rows):
    """A CSV file's bytes: the header, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()
