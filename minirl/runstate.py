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

__all__ = ["Episode", "RunState", "StatsLog", "check_loop_state", "csv_text"]


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
        self.eval_seconds = 0.0  # of those, spent in greedy evaluations
        self.eval_due = None   # the step of an evaluation a stop signal cut short
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
        """Plain arrays. The episodes in flight: one seed, return and length per env
        (0-d with one env, shape (N,) with N) and every env's actions end to end."""
        seeds = [-1 if e.seed is None else e.seed for e in self.running]
        actions = [a for e in self.running for a in e.actions]
        one = len(self.running) == 1
        return {
            "step": np.array(self.step), "episode": np.array(self.episode),
            "records": np.array(self.records, np.float64).reshape(-1, 4),
            "evaluations": np.array(self.evaluations, np.float64).reshape(-1, 3),
            "elapsed": np.array(self.elapsed),
            "eval_seconds": np.array(self.eval_seconds),
            "eval_due": np.array(-1 if self.eval_due is None else self.eval_due),
            "rng": np.array(rng_state(self.rng)),
            "episode_seed": np.array(seeds[0] if one else seeds),
            "episode_actions": np.array(actions),
            "episode_return": np.array([e.total for e in self.running][0] if one else
                                       [e.total for e in self.running]),
            "episode_length": np.array([e.length for e in self.running][0] if one else
                                       [e.length for e in self.running]),
            **self.stats.state_dict(),
        }

    def load_state_dict(self, s):
        """Restore a saved state; a ValueError says what in it is missing or wrong."""
        check_loop_state(s)
        self.step, self.episode = int(s["step"]), int(s["episode"])
        self.records = [(int(a), int(b), float(c), int(d)) for a, b, c, d in s["records"]]
        self.evaluations = [(int(a), float(b), float(c)) for a, b, c in s["evaluations"]]
        self.elapsed = float(s.get("elapsed", 0.0))
        self.eval_seconds = float(s.get("eval_seconds", 0.0))
        due = int(s.get("eval_due", -1))
        self.eval_due = None if due < 0 else due
        try:
            set_rng_state(self.rng, s["rng"])
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"loop.rng is not a random generator's state ({error})") from None
        seeds, lengths = np.atleast_1d(s["episode_seed"]), np.atleast_1d(s["episode_length"])
        totals, actions = np.atleast_1d(s["episode_return"]), list(s["episode_actions"])
        self.running, start = [], 0
        for seed, total, length in zip(seeds, totals, lengths):
            episode = Episode(None if seed < 0 else int(seed))
            episode.actions = actions[start:start + int(length)]
            episode.total, episode.length = float(total), int(length)
            self.running.append(episode)
            start += int(length)
        self.stats.load_state_dict(s)


def check_loop_state(s):
    """The loop state read from a checkpoint is whole and in range: every key there,
    counters whole numbers >= 0, records and evaluations tables of the right width,
    one record per episode, the episodes in flight consistent with their actions."""
    missing = [k for k in ("step", "episode", "records", "evaluations", "rng",
                           "episode_seed", "episode_actions", "episode_return",
                           "episode_length") if k not in s]
    if missing:
        raise ValueError(f"loop state lacks {', '.join('loop.' + k for k in missing)}")
    for key in ("step", "episode"):
        value = np.asarray(s[key])
        if value.shape != () or value.dtype.kind not in "iu" or value < 0:
            raise ValueError(f"loop.{key} must be a whole number >= 0, got {value!r}")
    for key, width in (("records", 4), ("evaluations", 3)):
        table = np.asarray(s[key])
        if table.ndim != 2 or table.shape[1] != width or table.dtype.kind != "f":
            raise ValueError(f"loop.{key} must be a table of {width} columns, got shape "
                             f"{table.shape} of {table.dtype}")
        if len(table) and (table[:, 0].min() < 0 or table[:, 0].max() > int(s["step"])):
            raise ValueError(f"loop.{key} holds steps outside 0..{int(s['step'])}")
    if len(s["records"]) != int(s["episode"]):
        raise ValueError(f"loop.records holds {len(s['records'])} episodes, loop.episode "
                         f"says {int(s['episode'])}")
    seeds, lengths = np.asarray(s["episode_seed"]), np.asarray(s["episode_length"])
    if (seeds.dtype.kind not in "iu" or lengths.dtype.kind not in "iu" or seeds.ndim > 1
            or lengths.shape != seeds.shape or np.shape(s["episode_return"]) != seeds.shape
            or (lengths < 0).any()):
        raise ValueError("loop.episode_seed, episode_length and episode_return must be "
                         "whole numbers (lengths >= 0) of one shape")
    if len(s["episode_actions"]) != lengths.sum() and (seeds >= 0).any():
        raise ValueError(f"loop.episode_actions holds {len(s['episode_actions'])} actions; "
                         f"the episodes in flight took {int(lengths.sum())}")


class StatsLog:
    """Means of the figures ``update()`` returns, one row every ``log_every`` steps."""

    def __init__(self):
        self.columns, self.rows = [], []   # rows: [step, time, sps, stat...]
        self.sums, self.counts = {}, {}
        self.mark = (0, 0.0)  # (step, training seconds) of the last row

    def add(self, stats):
        for key, value in stats.items():
            if key not in self.sums:
                self.sums[key], self.counts[key] = 0.0, 0
                if key not in self.columns:
                    self.columns.append(key)
            self.sums[key] += value
            self.counts[key] += 1

    def row(self, step, elapsed, training):
        """A row at ``step``: wall time ``elapsed``, and steps per second of
        ``training`` time (the wall time without greedy evaluations)."""
        last_step, last_training = self.mark
        sps = (step - last_step) / max(training - last_training, 1e-9)
        self.mark = (step, training)
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
        return {"stats_columns": np.array(json.dumps(self.columns)), "stats": rows,
                "stats_mark": np.array(self.mark, np.float64)}

    def load_state_dict(self, s):
        if "stats_columns" in s:
            self.columns = json.loads(str(s["stats_columns"]))
            self.rows = [list(r) for r in np.asarray(s["stats"]).reshape(
                -1, 3 + len(self.columns))]
            mark = s.get("stats_mark", self.rows[-1][:2] if self.rows else (0, 0.0))
            self.mark = (int(mark[0]), float(mark[1]))


def csv_text(header, rows):
    """A CSV file's bytes: the header, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()
