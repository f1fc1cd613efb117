"""Figures with matplotlib.

GridWorld maps (chapters 4-6):

* ``plot_value_map(env, V, policy)``  V(s) per cell, greedy arrows of a policy
* ``plot_q_map(env, Q)``              Q(s, a) per cell, split into four triangles

Learning curves of run directories (``minirl plot DIR...``):

* ``plot_runs(run_dirs, path)``       episode return by step; seeds as mean and band

Colours diverge around 0: red for negative, white for 0, green for positive.

What the maps accept, following ``minirl.tabular``:

* ``V``: a dict keyed by ``(row, col)`` cells (from ``dp``), or an array indexed by
  observation, shape ``(rows * cols,)`` (from MC/TD agents), or shaped like the grid.
* ``policy`` / ``Q``: a dict ``cell -> {action: value}`` (a policy from ``dp``), the
  book's dict ``(cell, action) -> value``, or an array indexed by observation,
  shape ``(rows * cols, n_actions)`` (an agent's ``Q`` or ``pi``).

Figures are built on ``matplotlib.figure.Figure`` and rendered by Agg, so plotting
works without a display and leaves pyplot's global state alone; pyplot is imported
only when ``show=True`` asks for a window. Every function returns the Figure and
saves it to ``path`` when one is given.
"""
import csv
import json
import os
from collections.abc import Mapping

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

VALUE_CMAP = LinearSegmentedColormap.from_list("red_white_green", ["#d7301f", "#ffffff", "#1a9850"])
WALL_COLOUR = "#7f7f7f"
# Arrow direction (dx, dy) for actions 0 up, 1 down, 2 left, 3 right; y grows downward.
ARROW_DIRECTIONS = {0: (0.0, -1.0), 1: (0.0, 1.0), 2: (-1.0, 0.0), 3: (1.0, 0.0)}


# ----- figure helpers ---------------------------------------------------------------

def new_figure(figsize, show=False):
    """A Figure for Agg; through pyplot only if it is to be shown in a window."""
    if show:
        import matplotlib.pyplot as plt
        return plt.figure(figsize=figsize)
    return Figure(figsize=figsize)


def finish(fig, path=None, show=False):
    """Save ``fig`` to ``path`` (if given), show it (if asked), and return it."""
    if path is not None:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    if show:
        import matplotlib.pyplot as plt
        plt.show()
    return fig


# ----- reading tables ------------------------------------------------------------

def value_grid(env, V):
    """V as an array shaped like the grid, nan at the walls."""
    env = env.unwrapped
    grid = np.full(env.shape, np.nan)
    for cell in env.states():
        if isinstance(V, Mapping):
            grid[cell] = V.get(cell, np.nan)
        else:
            values = np.asarray(V, dtype=np.float64)
            grid[cell] = values[cell] if values.ndim == 2 else values[env.state_to_index(cell)]
    return grid


def action_grid(env, table):
    """Per-cell action values (or probabilities) as an array of shape
    ``(rows, cols, n_actions)``, nan at the walls and where the table has no entry."""
    env = env.unwrapped
    actions = env.actions()
    grid = np.full(env.shape + (len(actions),), np.nan)
    for cell in env.states():
        for action in actions:
            grid[cell + (action,)] = _action_value(env, table, cell, action)
    return grid


def _action_value(env, table, cell, action):
    if isinstance(table, Mapping):
        if (cell, action) in table:  # the book's Q[(state, action)]
            return table[cell, action]
        if cell in table:  # a policy pi[state] = {action: prob}
            return table[cell][action]
        return np.nan
    return np.asarray(table, dtype=np.float64)[env.state_to_index(cell), action]


def greedy_actions(values):
    """The actions whose value (or probability) is the largest; several on a tie."""
    return np.flatnonzero(np.isclose(values, np.max(values), rtol=1e-9, atol=1e-12))


def _diverging_norm(values):
    """Colour scale centred at 0, symmetric so that equal |v| look equally strong."""
    vmax = np.nanmax(np.abs(values)) if np.any(np.isfinite(values)) else 0.0
    vmax = vmax if vmax > 0 else 1.0
    return Normalize(-vmax, vmax)


# ----- GridWorld maps ------------------------------------------------------------

def _grid_axes(env, fig, title):
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlim(0, env.width)
    ax.set_ylim(env.height, 0)  # row 0 at the top, as the grid is printed
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return ax


def _label_rewards(env, ax):
    """Write "R +1.0" in the corner of each cell that pays a reward."""
    for cell in env.states():
        reward = env.reward_map[cell]
        if reward != 0 or cell == env.goal_state:
            label = f"R {reward:+.1f}" + (" GOAL" if cell == env.goal_state else "")
            ax.text(cell[1] + 0.04, cell[0] + 0.04, label, ha="left", va="top", fontsize=8)


def _draw_walls(env, ax):
    for row, col in env.wall_states:
        ax.add_patch(Rectangle((col, row), 1, 1, facecolor=WALL_COLOUR, edgecolor="black"))


def plot_value_map(env, V, policy=None, path=None, title="State values V(s)", show=False):
    """Draw V(s) in each cell, coloured red (negative) to green (positive), with the
    reward cells labelled, the walls grey and, if ``policy`` is given, an arrow for
    each greedy action (several arrows on a tie). Returns the Figure."""
    env = env.unwrapped
    values = value_grid(env, V)
    best = None if policy is None else action_grid(env, policy)
    norm = _diverging_norm(values)

    fig = new_figure((1.6 * env.width + 1.2, 1.6 * env.height), show)
    ax = _grid_axes(env, fig, title)
    for row, col in env.states():
        v = values[row, col]
        colour = VALUE_CMAP(norm(v)) if np.isfinite(v) else "white"
        ax.add_patch(Rectangle((col, row), 1, 1, facecolor=colour, edgecolor="black"))
        text_y = row + 0.5 if best is None else row + 0.78  # make room for arrows
        ax.text(col + 0.5, text_y, f"{v:.2f}", ha="center", va="center", fontsize=10)
        has_policy = best is not None and np.all(np.isfinite(best[row, col]))
        if has_policy and (row, col) != env.goal_state:  # no action at the terminal state
            for action in greedy_actions(best[row, col]):
                dx, dy = ARROW_DIRECTIONS[action]
                ax.arrow(col + 0.5, row + 0.42, 0.2 * dx, 0.2 * dy, width=0.02,
                         head_width=0.09, head_length=0.07, length_includes_head=True,
                         color="black")
    _draw_walls(env, ax)
    _label_rewards(env, ax)
    fig.colorbar(ScalarMappable(norm, VALUE_CMAP), ax=ax, fraction=0.04, pad=0.03)
    return finish(fig, path, show)


def _triangles(row, col):
    """The four triangles of a cell, each a side of the square plus its centre:
    up, down, left, right (the action order)."""
    centre = (col + 0.5, row + 0.5)
    top_left, top_right = (col, row), (col + 1, row)
    bottom_left, bottom_right = (col, row + 1), (col + 1, row + 1)
    return [(top_left, top_right, centre), (bottom_left, bottom_right, centre),
            (top_left, bottom_left, centre), (top_right, bottom_right, centre)]


# Where each action's value is written, relative to the cell's corner.
_Q_TEXT_OFFSETS = [(0.5, 0.2), (0.5, 0.82), (0.2, 0.5), (0.8, 0.5)]


def plot_q_map(env, Q, path=None, title="Action values Q(s, a)", show=False):
    """Draw Q(s, a): each cell split into four triangles (up, down, left, right),
    each coloured and labelled with its value; the largest in a cell is in bold.
    The goal is terminal and has no action values. Returns the Figure."""
    env = env.unwrapped
    qs = action_grid(env, Q)
    qs[env.goal_state] = np.nan  # terminal: never updated, nothing to show
    norm = _diverging_norm(qs)

    fig = new_figure((1.8 * env.width + 1.2, 1.8 * env.height), show)
    ax = _grid_axes(env, fig, title)
    for row, col in env.states():
        if (row, col) == env.goal_state:
            ax.add_patch(Rectangle((col, row), 1, 1, facecolor="white", edgecolor="black"))
            continue
        best = greedy_actions(qs[row, col]) if np.all(np.isfinite(qs[row, col])) else []
        for action, triangle in enumerate(_triangles(row, col)):
            q = qs[row, col, action]
            colour = VALUE_CMAP(norm(q)) if np.isfinite(q) else "white"
            ax.add_patch(Polygon(triangle, closed=True, facecolor=colour, edgecolor="black",
                                 linewidth=0.5))
            dx, dy = _Q_TEXT_OFFSETS[action]
            ax.text(col + dx, row + dy, f"{q:.2f}", ha="center", va="center", fontsize=8,
                    fontweight="bold" if action in best else "normal")
    _draw_walls(env, ax)
    _label_rewards(env, ax)
    fig.colorbar(ScalarMappable(norm, VALUE_CMAP), ax=ax, fraction=0.04, pad=0.03)
    return finish(fig, path, show)


# ----- learning curves ---------------------------------------------------------------

def read_metrics(run_dir):
    """(steps, returns) of a run directory's metrics.csv, as arrays."""
    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{run_dir} has no metrics.csv (not a minirl run directory?)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return (np.array([float(r["step"]) for r in rows]),
            np.array([float(r["return"]) for r in rows]))


def run_label(run_dir):
    """'algo env' from the run's config.json (the directory name if there is none)."""
    try:
        with open(os.path.join(run_dir, "config.json")) as f:
            config = json.load(f)
        return f"{config.get('algo')} {config.get('env') or ''}".strip()
    except (OSError, ValueError):
        return os.path.basename(os.path.normpath(run_dir))


def smooth(values, window):
    """Trailing moving average over up to ``window`` episodes."""
    values = np.asarray(values, float)
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    return (cumulative[end] - cumulative[start]) / (end - start)


def plot_runs(run_dirs, path=None, window=20, title="learning curve", show=False):
    """Episode return against environment step for one or more run directories.

    Runs of the same algorithm and env (several seeds) are drawn as their mean on a
    common step grid, with a band from the lowest to the highest seed; a single run is
    drawn raw (faint) and smoothed over ``window`` episodes. Returns the Figure.
    """
    groups = {}
    for run_dir in run_dirs:
        groups.setdefault(run_label(run_dir), []).append(read_metrics(run_dir))
    fig = new_figure((7, 4), show)
    ax = fig.add_subplot()
    for label, runs in groups.items():
        runs = [(steps, returns) for steps, returns in runs if len(steps)]
        if len(runs) == 1:
            steps, returns = runs[0]
            raw, = ax.plot(steps, returns, alpha=0.25, lw=0.8)
            ax.plot(steps, smooth(returns, window), lw=1.8, color=raw.get_color(), label=label)
        elif runs:
            grid = np.linspace(0, min(steps[-1] for steps, _ in runs), 200)
            curves = np.array([np.interp(grid, s, smooth(r, window)) for s, r in runs])
            line, = ax.plot(grid, curves.mean(axis=0), lw=1.8,
                            label=f"{label} (mean of {len(runs)} seeds)")
            ax.fill_between(grid, curves.min(axis=0), curves.max(axis=0),
                            color=line.get_color(), alpha=0.2)
    ax.set_xlabel("environment step")
    ax.set_ylabel(f"episode return (mean of last {window})")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return finish(fig, path, show)
