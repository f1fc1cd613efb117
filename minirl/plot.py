"""Figures with matplotlib.

GridWorld maps (chapters 4-7):

* ``plot_value_map(env, V, policy)``  V(s) per cell, greedy arrows of a policy
* ``plot_q_map(env, Q, visits)``      Q(s, a) per cell, split into four triangles;
                                      actions never tried are hatched
* ``plot_q_comparison(env, Q, Q*)``   Q beside Q* on one scale, and Q - Q*; cells
                                      whose greedy action is wrong are framed

A caption under each map says what its marks mean. ``vmax`` fixes a map's colour
scale, so that maps can share one; values beyond it take the colour bar's end colours.

Learning curves of run directories (``minirl plot DIR...``):

* ``plot_runs(run_dirs, path)``       episode return by step with greedy evaluations;
                                      runs grouped by configuration, mean ± std over seeds
* ``save_gif(frames, path)``          an animated GIF of rendered frames

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
from matplotlib.colors import LinearSegmentedColormap, Normalize, to_rgba
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

# Past the ends of a fixed scale (``vmax``): purple above, brown below, so that a value
# no table should hold (say, above the largest possible return) cannot pass for one.
OVER_COLOUR, UNDER_COLOUR = "#7b3294", "#8c510a"
# Q - Q*: blue where the estimate is too low, orange where it is too high; other
# colours than the values' own, so an error map is not read as a value map.
ERROR_CMAP = LinearSegmentedColormap.from_list("blue_white_orange",
                                               ["#2166ac", "#ffffff", "#e66101"])
UNTRIED_COLOUR, UNTRIED_HATCH = "#f0f0f0", "#a6a6a6"  # light fill, grey hatch lines
DIFFERS_COLOUR = "black"


def _grid_axes(env, fig, title, index=1, columns=1):
    ax = fig.add_subplot(1, columns, index)
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


def _frame_rewards(env, ax):
    """Frame each non-goal cell that pays a reward (red: negative, green: positive),
    and name the goal in its empty cell. A Q map has no free corner for a label: each
    corner is a triangle's."""
    for cell in env.states():
        reward = env.reward_map[cell]
        row, col = cell
        if cell == env.goal_state:
            ax.text(col + 0.5, row + 0.5, f"GOAL\nR {reward:+.1f}", ha="center",
                    va="center", fontsize=9)
        elif reward != 0:
            ax.add_patch(Rectangle((col + 0.03, row + 0.03), 0.94, 0.94, fill=False,
                                   edgecolor=VALUE_CMAP(0.0 if reward < 0 else 1.0),
                                   linestyle="--", linewidth=2.5, zorder=3))


def _reward_caption(env):
    """Words for what _frame_rewards draws."""
    frames = sorted({float(env.reward_map[c]) for c in env.states()
                     if c != env.goal_state and env.reward_map[c] != 0})
    parts = [f"{'red' if r < 0 else 'green'} dashed frame: entering the cell pays {r:+.1f}"
             for r in frames]
    return "; ".join(parts + ["entering the goal ends the episode"])


def _draw_walls(env, ax):
    for row, col in env.wall_states:
        ax.add_patch(Rectangle((col, row), 1, 1, facecolor=WALL_COLOUR, edgecolor="black"))


def _text_colour(colour):
    """White text on a dark fill, black on a light one."""
    red, green, blue, _ = to_rgba(colour)
    return "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.45 else "black"


def _caption(ax, lines, gap=0.03):
    """Say below the map in ``ax`` what its marks mean (``gap``: in axes heights)."""
    ax.text(0.5, -gap, "\n".join(lines), transform=ax.transAxes, ha="center", va="top",
            fontsize=9)


def _colourbar(fig, axes, norm, cmap, label, fixed):
    """One colour bar for ``axes``; with a fixed scale its ends show the colours of
    values beyond it."""
    mappable = ScalarMappable(norm, cmap.with_extremes(over=OVER_COLOUR, under=UNDER_COLOUR))
    return fig.colorbar(mappable, ax=axes, fraction=0.04, pad=0.03, label=label,
                        extend="both" if fixed else "neither")


def plot_value_map(env, V, policy=None, path=None, title="State values V(s)", show=False,
                   vmax=None):
    """Draw V(s) in each cell, coloured red (negative) to green (positive), with the
    reward cells labelled, the walls grey and, if ``policy`` is given, an arrow for
    each greedy action (several arrows on a tie). ``vmax`` fixes the colour scale at
    ``[-vmax, vmax]``, to share it between maps. Returns the Figure."""
    env = env.unwrapped
    values = value_grid(env, V)
    best = None if policy is None else action_grid(env, policy)
    norm = _diverging_norm(values) if vmax is None else Normalize(-vmax, vmax)
    cmap = VALUE_CMAP.with_extremes(over=OVER_COLOUR, under=UNDER_COLOUR)

    fig = new_figure((1.6 * env.width + 1.2, 1.6 * env.height), show)
    ax = _grid_axes(env, fig, title)
    for row, col in env.states():
        v = values[row, col]
        colour = cmap(norm(v)) if np.isfinite(v) else "white"
        ax.add_patch(Rectangle((col, row), 1, 1, facecolor=colour, edgecolor="black"))
        text_y = row + 0.5 if best is None else row + 0.78  # make room for arrows
        ax.text(col + 0.5, text_y, f"{v:.2f}", ha="center", va="center", fontsize=10,
                color=_text_colour(colour))
        has_policy = best is not None and np.all(np.isfinite(best[row, col]))
        if has_policy and (row, col) != env.goal_state:  # no action at the terminal state
            for action in greedy_actions(best[row, col]):
                dx, dy = ARROW_DIRECTIONS[action]
                ax.arrow(col + 0.5, row + 0.42, 0.2 * dx, 0.2 * dy, width=0.02,
                         head_width=0.09, head_length=0.07, length_includes_head=True,
                         color="black")
    _draw_walls(env, ax)
    _label_rewards(env, ax)
    _colourbar(fig, ax, norm, VALUE_CMAP, "V(s)", vmax is not None)
    if best is not None:
        _caption(ax, ["arrows: the policy's greedy action in each cell, several where tied"])
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


def greedy_among_tried(values, tried):
    """The greedy actions of one cell, among the actions that were tried (all of them
    when ``tried`` is None); none if no action was tried."""
    if tried is not None:
        if not np.any(tried):
            return np.array([], dtype=int)
        values = np.where(tried, values, -np.inf)
    return greedy_actions(values)


def _draw_q_cells(env, ax, qs, norm, cmap, tried=None, bold=None, signed=False):
    """Fill each cell's four triangles with ``cmap(norm(q))`` and write q in them,
    in bold for the actions in ``bold[row, col]``. Actions never tried (``tried`` is
    False) are hatched grey without a number; a cell with none tried says so."""
    for row, col in env.states():
        if (row, col) == env.goal_state:  # terminal: no action values
            ax.add_patch(Rectangle((col, row), 1, 1, facecolor="white", edgecolor="black"))
            continue
        cell_tried = np.ones(4, bool) if tried is None else tried[row, col]
        if not cell_tried.any():
            ax.add_patch(Rectangle((col, row), 1, 1, facecolor=UNTRIED_COLOUR,
                                   edgecolor=UNTRIED_HATCH, hatch="//"))
            ax.add_patch(Rectangle((col, row), 1, 1, fill=False, edgecolor="black"))
            ax.text(col + 0.5, row + 0.5, "not\nvisited", ha="center", va="center",
                    fontsize=9, bbox=dict(facecolor="white", edgecolor="none", pad=1))
            continue
        for action, triangle in enumerate(_triangles(row, col)):
            q = qs[row, col, action]
            if not cell_tried[action]:
                ax.add_patch(Polygon(triangle, closed=True, facecolor=UNTRIED_COLOUR,
                                     edgecolor=UNTRIED_HATCH, linewidth=0.5, hatch="//"))
                continue
            colour = cmap(norm(q)) if np.isfinite(q) else "white"
            ax.add_patch(Polygon(triangle, closed=True, facecolor=colour, edgecolor="black",
                                 linewidth=0.5))
            dx, dy = _Q_TEXT_OFFSETS[action]
            is_bold = bold is not None and action in bold[row][col]
            ax.text(col + dx, row + dy, f"{q:+.2f}" if signed else f"{q:.2f}", ha="center",
                    va="center", fontsize=8, color=_text_colour(colour),
                    fontweight="bold" if is_bold else "normal")


def plot_q_map(env, Q, path=None, title="Action values Q(s, a)", show=False, visits=None,
               vmax=None):
    """Draw Q(s, a): each cell split into four triangles (up, down, left, right),
    each coloured and labelled with its value; the greedy action of a cell is in bold.

    ``visits`` (shaped like ``Q``: how often each action was taken in each state)
    marks the actions never tried: hatched, without the initial value they still
    hold, and not counted as greedy. ``vmax`` fixes the colour scale at
    ``[-vmax, vmax]`` (to share it between maps); values beyond it take the colours
    at the colour bar's pointed ends. The goal is terminal and has no action values.
    Returns the Figure."""
    env = env.unwrapped
    qs = action_grid(env, Q)
    qs[env.goal_state] = np.nan  # terminal: never updated, nothing to show
    tried = None if visits is None else action_grid(env, visits) > 0
    norm = _diverging_norm(qs) if vmax is None else Normalize(-vmax, vmax)
    cmap = VALUE_CMAP.with_extremes(over=OVER_COLOUR, under=UNDER_COLOUR)
    bold = [[greedy_among_tried(qs[r, c], None if tried is None else tried[r, c])
             for c in range(env.width)] for r in range(env.height)]

    fig = new_figure((1.8 * env.width + 1.2, 1.8 * env.height), show)
    ax = _grid_axes(env, fig, title)
    _draw_q_cells(env, ax, qs, norm, cmap, tried, bold)
    _draw_walls(env, ax)
    _frame_rewards(env, ax)
    _colourbar(fig, ax, norm, VALUE_CMAP, "Q(s, a)", vmax is not None)
    lines = ["bold: the greedy action, the largest Q(s, a) in its cell"]
    if tried is not None and not np.all(tried[np.isfinite(qs)]):
        lines = ["bold: the greedy action, the largest Q(s, a) of the actions tried",
                 "hatched: an action never tried there (its Q is still the initial 0)"]
    _caption(ax, lines + [_reward_caption(env)])
    return finish(fig, path, show)


def greedy_differs(env, Q, Q_ref):
    """The cells whose greedy action under ``Q`` is not one of ``Q_ref``'s greedy
    actions (ties in ``Q_ref`` allow any of them)."""
    env = env.unwrapped
    qs, refs = action_grid(env, Q), action_grid(env, Q_ref)
    return [cell for cell in env.states() if cell != env.goal_state
            and not set(greedy_actions(qs[cell])) <= set(greedy_actions(refs[cell]))]


def _frame_cells(ax, cells):
    for row, col in cells:
        ax.add_patch(Rectangle((col, row), 1, 1, fill=False, edgecolor=DIFFERS_COLOUR,
                               linewidth=4, zorder=4))


def plot_q_comparison(env, Q, Q_ref, path=None, title=None, show=False,
                      names=("learned Q(s, a)", "exact Q*(s, a)", "error Q - Q*")):
    """Three Q maps in a row: ``Q``, the reference ``Q_ref`` (say Q* from value
    iteration) and their difference ``Q - Q_ref``, titled by ``names``.

    The first two share one colour scale, fixed by the reference: a value of ``Q``
    beyond the reference's largest |Q*| (above the largest possible return) takes the
    colour at the colour bar's pointed end. Cells where ``Q``'s greedy action is not
    optimal are framed in black in every panel. Returns the Figure."""
    env = env.unwrapped
    qs, refs = action_grid(env, Q), action_grid(env, Q_ref)
    qs[env.goal_state] = refs[env.goal_state] = np.nan
    errors = qs - refs
    top = float(np.nanmax(refs))
    norm = _diverging_norm(refs)  # the reference fixes the scale
    error_norm = _diverging_norm(errors)
    differs = greedy_differs(env, Q, Q_ref)

    def greedy_grid(values):
        return [[greedy_actions(values[r, c]) if np.all(np.isfinite(values[r, c])) else []
                 for c in range(env.width)] for r in range(env.height)]

    fig = new_figure((3 * (1.8 * env.width + 0.6), 1.8 * env.height), show)
    panels = [(names[0], qs, norm, VALUE_CMAP, greedy_grid(qs), False),
              (names[1], refs, norm, VALUE_CMAP, greedy_grid(refs), False),
              (f"{names[2]} (largest |error| {np.nanmax(np.abs(errors)):.2f})",
               errors, error_norm, ERROR_CMAP, None, True)]
    axes = []
    for index, (name, values, panel_norm, cmap, bold, signed) in enumerate(panels, 1):
        ax = _grid_axes(env, fig, name, index, 3)
        _draw_q_cells(env, ax, values, panel_norm,
                      cmap.with_extremes(over=OVER_COLOUR, under=UNDER_COLOUR),
                      bold=bold, signed=signed)
        _draw_walls(env, ax)
        _frame_rewards(env, ax)
        _frame_cells(ax, differs)
        axes.append(ax)
    _colourbar(fig, axes[:2], norm, VALUE_CMAP, "Q(s, a), one scale for both maps", True)
    _colourbar(fig, axes[2], error_norm, ERROR_CMAP, "error (orange: too high)", False)
    if title:
        fig.suptitle(title)
    over, under = np.sum(qs > norm.vmax + 1e-9), np.sum(qs < norm.vmin - 1e-9)
    lines = ["bold: the greedy action of each map; black frame: a cell whose learned greedy "
             f"action is not optimal ({len(differs)} of {len(list(env.states())) - 1} cells)",
             f"purple (beyond the scale): above {norm.vmax:.2f}"
             + (", the largest possible return" if np.isclose(norm.vmax, top) else "")
             + f" ({over} learned value{'s' if over != 1 else ''})"]
    if under:
        lines.append(f"brown (beyond the scale): below {norm.vmin:.2f} ({under} learned)")
    _caption(axes[1], lines + [_reward_caption(env)], gap=0.1)  # below the bar's end
    return finish(fig, path, show)


# ----- learning curves ---------------------------------------------------------------

def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_metrics(run_dir):
    """(steps, returns) of a run directory's metrics.csv, as arrays."""
    path = os.path.join(run_dir, "metrics.csv")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{run_dir} has no metrics.csv (not a minirl run directory?)")
    rows = _read_csv(path)
    return (np.array([float(r["step"]) for r in rows]),
            np.array([float(r["return"]) for r in rows]))


def read_evaluations(run_dir):
    """(steps, means, stds) of the greedy evaluations in evaluations.csv (empty arrays
    when the run made none)."""
    path = os.path.join(run_dir, "evaluations.csv")
    rows = _read_csv(path) if os.path.exists(path) else []
    return tuple(np.array([float(r[k]) for r in rows])
                 for k in ("step", "mean_return", "std_return"))


def read_stats(run_dir):
    """stats.csv as ``{column: array}`` (steps, time, sps, the agent's update figures);
    an empty dict when there is none. Missing values are NaN."""
    path = os.path.join(run_dir, "stats.csv")
    if not os.path.exists(path):
        return {}
    rows = _read_csv(path)
    columns = rows[0].keys() if rows else []
    return {c: np.array([float(r[c]) if r[c] not in ("", None) else np.nan for r in rows])
            for c in columns}


def read_run_config(run_dir):
    """The run's config.json as a dict ({} if it has none or it is unreadable)."""
    try:
        with open(os.path.join(run_dir, "config.json")) as f:
            config = json.load(f)
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def configuration(run_dir):
    """What makes runs comparable as seeds of one experiment: the algorithm, the env
    and every hyperparameter -- everything in config.json but the seed."""
    config = read_run_config(run_dir)
    if not config:
        return {"run": os.path.basename(os.path.normpath(run_dir))}
    return {"algo": config.get("algo"), "env": config.get("env"),
            **{k: v for k, v in sorted(config.get("hparams", {}).items())}}


def run_label(run_dir):
    """'algo env' from the run's config.json (the directory name if there is none)."""
    config = read_run_config(run_dir)
    if not config:
        return os.path.basename(os.path.normpath(run_dir))
    return f"{config.get('algo')} {config.get('env') or ''}".strip()


def group_runs(run_dirs):
    """Runs grouped by whole configuration, in order: [(configuration, [dirs])].
    Runs that differ in anything but the seed are never in one group."""
    groups = []
    for run_dir in run_dirs:
        config = configuration(run_dir)
        for key, members in groups:
            if key == config:
                members.append(run_dir)
                break
        else:
            groups.append((config, [run_dir]))
    return groups


# A legend label never runs wider than the figure: at most this many settings, each
# value shortened, the rest counted ("+3 more").
LABEL_SETTINGS, VALUE_CHARS = 3, 16


def short_value(value):
    """A setting's value in a few characters: 0.001 as 0.001, 1e-05 as 1e-05, long lists
    and dicts cut with an ellipsis."""
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 1] + "…"


def group_labels(configs):
    """One label per configuration, naming only what differs between them.

    Runs of different algorithms or envs are named by those alone: their other settings
    are not comparable (one has ``lr``, the other ``tau``). Runs of one algorithm on one
    env are named by the settings whose values differ, at most ``LABEL_SETTINGS`` of
    them. One configuration is named by its algorithm and env."""
    def text(key, value):
        return str(value) if key in ("algo", "env", "run") else f"{key}={short_value(value)}"
    keys = list(dict.fromkeys(k for config in configs for k in config))
    differing = [k for k in keys if len({json.dumps(c.get(k), sort_keys=True, default=str)
                                         for c in configs}) > 1]
    named = [k for k in ("algo", "env", "run") if k in differing]
    shown = named or differing or [k for k in ("algo", "env", "run") if k in keys]
    labels = []
    for config in configs:
        parts = [text(k, config.get(k)) for k in shown if k in config]
        more = len(parts) - LABEL_SETTINGS
        labels.append(" ".join(parts[:LABEL_SETTINGS]) + (f" +{more} more" if more > 0 else ""))
    return labels


def seeds_note(run_dirs):
    """'3 seeds', or, when seeds repeat, how many runs and which seeds."""
    seeds = [read_run_config(d).get("seed") for d in run_dirs]
    if len(set(seeds)) == len(seeds) and None not in seeds:
        return f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
    return f"{len(seeds)} runs, seeds {', '.join(map(str, seeds))}"


def smooth(values, window):
    """Trailing moving average over up to ``window`` episodes."""
    values = np.asarray(values, float)
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    return (cumulative[end] - cumulative[start]) / (end - start)


def seed_band(curves, points=300):
    """Mean and std over runs of ``[(steps, values)]``, each run over its own length.

    On a common step grid, each run is interpolated between its first and last step
    and counts nowhere else: where only some runs reach, the mean is theirs. Returns
    (grid, mean, std, count).
    """
    end = max(steps[-1] for steps, _ in curves)
    grid = np.linspace(min(steps[0] for steps, _ in curves), end, points)
    values = np.full((len(curves), points), np.nan)
    for i, (steps, y) in enumerate(curves):
        inside = (grid >= steps[0]) & (grid <= steps[-1])
        values[i, inside] = np.interp(grid[inside], steps, y)
    count = np.sum(np.isfinite(values), axis=0)
    safe = np.where(np.isfinite(values), values, 0.0)
    mean = safe.sum(axis=0) / np.maximum(count, 1)
    std = np.sqrt(np.where(np.isfinite(values), (values - mean) ** 2, 0.0).sum(axis=0)
                  / np.maximum(count, 1))
    mean[count == 0] = np.nan
    return grid, mean, std, count


def seed_range(curves, points=300):
    """The lowest and the highest value over runs at each step of ``seed_band``'s grid
    (NaN where no run reaches): the range that was observed."""
    end = max(steps[-1] for steps, _ in curves)
    grid = np.linspace(min(steps[0] for steps, _ in curves), end, points)
    values = np.full((len(curves), points), np.nan)
    for i, (steps, y) in enumerate(curves):
        inside = (grid >= steps[0]) & (grid <= steps[-1])
        values[i, inside] = np.interp(grid[inside], steps, y)
    reached = np.isfinite(values).any(axis=0)
    low, high = np.full(points, np.nan), np.full(points, np.nan)
    low[reached] = np.nanmin(values[:, reached], axis=0)
    high[reached] = np.nanmax(values[:, reached], axis=0)
    return low, high


def observed_band(mean, std, low, high):
    """mean ± std, clipped to what was observed: a band that claims no value above the
    highest run or below the lowest (a CartPole band never rises above 500)."""
    return np.clip(mean - std, low, high), np.clip(mean + std, low, high)


def observed_errors(means, stds, observed):
    """Error bars of mean ± std, cut to the range of ``observed`` returns: the
    ``yerr`` (2, n) for matplotlib's ``errorbar``, below and above each mean."""
    means = np.asarray(means, float)
    observed = np.concatenate([np.ravel(observed), means])
    lower, upper = observed_band(means, np.asarray(stds, float), observed.min(),
                                 observed.max())
    return np.array([means - lower, upper - means])


def evaluation_band(run_dir, means, stds):
    """The band of one run's greedy evaluations: mean ± std over their episodes, clipped
    to the returns the run observed. evaluations.csv keeps each evaluation's mean and
    std only, so the bounds are its ``min_return``/``max_return`` columns when it has
    them and otherwise the range of every return the run recorded (training episodes
    and evaluation means)."""
    path = os.path.join(run_dir, "evaluations.csv")
    rows = _read_csv(path) if os.path.exists(path) else []
    if rows and {"min_return", "max_return"} <= rows[0].keys():
        low = np.array([float(r["min_return"]) for r in rows])
        high = np.array([float(r["max_return"]) for r in rows])
    else:
        returns = np.concatenate([read_metrics(run_dir)[1], means])
        low, high = np.min(returns), np.max(returns)
    return observed_band(means, stds, low, high)


def _plot_single(ax, run_dir, window):
    """One run: every episode's return (faint), its moving average, and the greedy
    evaluations as mean +/- std over their episodes."""
    steps, returns = read_metrics(run_dir)
    if len(steps):
        ax.plot(steps, returns, color="C0", alpha=0.25, lw=0.8, label="episode return "
                "(training, exploring)")
        ax.plot(steps, smooth(returns, window), color="C0", lw=1.8,
                label=f"mean of the last {window} episodes")
    eval_steps, means, stds = read_evaluations(run_dir)
    if len(eval_steps):
        episodes = read_run_config(run_dir).get("loop", {}).get("eval_episodes")
        over = f" over {episodes} episodes" if episodes else ""
        lower, upper = evaluation_band(run_dir, means, stds)
        ax.fill_between(eval_steps, lower, upper, color="C3", alpha=0.15, lw=0)
        ax.plot(eval_steps, means, "o-", color="C3", lw=1.4, ms=4,
                label=f"greedy evaluation: mean ± std{over}, within the observed returns")
    stop_return = read_run_config(run_dir).get("loop", {}).get("stop_return")
    if stop_return is not None:
        ax.axhline(stop_return, color="grey", ls="--", lw=1,
                   label=f"stop once an evaluation reaches {stop_return:g}")


def _plot_groups(ax, groups, window):
    """Several runs: one line per configuration, mean ± std over its seeds."""
    labels = group_labels([config for config, _ in groups])
    for i, ((_, dirs), label) in enumerate(zip(groups, labels)):
        colour = f"C{i % 10}"
        curves = [(s, smooth(r, window)) for s, r in map(read_metrics, dirs) if len(s)]
        if curves:
            grid, mean, std, count = seed_band(curves)
            lower, upper = observed_band(mean, std, *seed_range(curves))
            ax.plot(grid, mean, color=colour, lw=1.8, label=f"{label} ({seeds_note(dirs)})")
            ax.fill_between(grid, lower, upper, where=count > 1, color=colour,
                            alpha=0.2, lw=0)
        evaluations = {}
        for run_dir in dirs:
            for step, mean_return, _ in zip(*read_evaluations(run_dir)):
                evaluations.setdefault(step, []).append(mean_return)
        if evaluations:
            steps = sorted(evaluations)
            ax.plot(steps, [np.mean(evaluations[s]) for s in steps], "o", color=colour,
                    ms=4, mfc="white")
    if any(read_evaluations(d)[0].size for _, dirs in groups for d in dirs):
        ax.plot([], [], "o", color="grey", mfc="white", ms=4,
                label="greedy evaluation (mean over seeds)")


def steady_limits(curves, margin=0.08):
    """y-limits that show the steady state: the range of every run's values after its
    first logged point, with a margin. The first row of stats.csv covers the steps
    before learning starts (steps/s there is several times the rate under training,
    a loss there is the first batch's), and would squash the rest of the panel."""
    later = [y[1:] for _, y in curves if len(y) > 1]
    values = np.concatenate(later) if later else np.concatenate([y for _, y in curves])
    low, high = float(np.min(values)), float(np.max(values))
    pad = margin * (high - low) if high > low else max(abs(high), 1.0) * margin
    return low - pad, high + pad


def _plot_stat(ax, groups, name):
    labels = group_labels([config for config, _ in groups])
    every_curve = []
    for i, ((_, dirs), label) in enumerate(zip(groups, labels)):
        curves = []
        for run_dir in dirs:
            stats = read_stats(run_dir)
            if name in stats and np.isfinite(stats[name]).any():
                keep = np.isfinite(stats[name])
                curves.append((stats["step"][keep], stats[name][keep]))
        if not curves:
            continue
        every_curve += curves
        grid, mean, std, count = seed_band(curves)
        lower, upper = observed_band(mean, std, *seed_range(curves))
        ax.plot(grid, mean, color=f"C{i % 10}", lw=1.4, label=label)
        ax.fill_between(grid, lower, upper, where=count > 1, color=f"C{i % 10}",
                        alpha=0.2, lw=0)
    if every_curve:
        low, high = steady_limits(every_curve)
        ax.set_ylim(low, high)
        first = [y[0] for _, y in every_curve if len(y) > 1 and not low <= y[0] <= high]
        if first:
            ax.text(0.01, 0.97, f"first point off the scale: {max(first, key=abs):.6g}",
                    transform=ax.transAxes, ha="left", va="top", fontsize=8, color="grey")
    ax.set_ylabel(name)
    ax.grid(alpha=0.3)


FIGURE_WIDTH = 7.5  # inches: a learning-curve figure is never wider than this
CHAR_WIDTH = 0.6 / 72  # inches per point of font size: an upper bound for DejaVu Sans


def fit_text(text, width, fontsize):
    """``text`` wrapped onto lines that fit ``width`` inches at ``fontsize`` points."""
    import textwrap
    chars = max(int(width / (fontsize * CHAR_WIDTH)), 10)
    return "\n".join(textwrap.wrap(text, chars)) if len(text) > chars else text


def plot_runs(run_dirs, path=None, window=20, title=None, show=False, stats=()):
    """Learning curves of one or more run directories. Returns the Figure.

    One run: its episode returns (raw and a moving average over ``window`` episodes)
    with its greedy evaluations (mean ± std over the evaluation episodes) on top.
    Several runs: grouped by whole configuration (``group_runs``); each group is one
    line, the mean over its seeds with a ± std band, labelled by what differs between
    the groups and how many seeds it holds. ``stats`` names columns of stats.csv
    (``loss``, ``sps``, ...) to draw in panels below, the same way.
    """
    if not run_dirs:
        raise ValueError("plot_runs needs at least one run directory")
    groups = group_runs(run_dirs)
    for name in stats:
        if not any(name in read_stats(d) for d in run_dirs):
            have = sorted({c for d in run_dirs for c in read_stats(d)} - {"step"})
            raise ValueError(f"no run has a stats.csv column {name!r}; columns: "
                             f"{', '.join(have) or 'none (no stats.csv)'}")
    fig = new_figure((FIGURE_WIDTH, 4.2 + 2.0 * len(stats)), show)
    # Constrained layout makes room for the legend below the axes; tight_layout cannot.
    fig.set_layout_engine("constrained")
    axes = fig.subplots(1 + len(stats), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": [2] + [1] * len(stats)})[:, 0]
    ax = axes[0]
    if len(run_dirs) == 1:
        _plot_single(ax, run_dirs[0], window)
        title = title or f"{run_label(run_dirs[0])} (seed "\
                         f"{read_run_config(run_dirs[0]).get('seed')})"
    else:
        _plot_groups(ax, groups, window)
        title = title or (f"mean over the seeds that reach each step, band ± std within "
                          f"the seeds' range; returns averaged over the last {window} "
                          f"episodes")
    ax.set_ylabel("return")
    ax.set_title(fit_text(title, FIGURE_WIDTH, 10), fontsize=10)
    ax.grid(alpha=0.3)
    if ax.lines:
        # Below the axes: a legend must never cover the curves it explains. One column
        # when a label would not fit in half the width, so it never widens the figure.
        handles, labels = ax.get_legend_handles_labels()
        labels = [fit_text(label, FIGURE_WIDTH - 0.6, 8) for label in labels]
        half = max(len(line) for label in labels for line in label.split("\n"))
        ncol = 2 if half * 8 * CHAR_WIDTH < (FIGURE_WIDTH - 0.6) / 2 else 1
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.12 if not
                  stats else -0.06), ncol=ncol, fontsize=8, frameon=False)
    for panel, name in zip(axes[1:], stats):
        _plot_stat(panel, groups, name)
    axes[-1].set_xlabel("environment step")
    return finish(fig, path, show)


def save_gif(frames, path, fps=30, width=320):
    """Write RGB frames (``env.render()`` in "rgb_array" mode) as a looping GIF,
    scaled to ``width`` pixels across. Uses Pillow (which matplotlib needs anyway)."""
    from PIL import Image
    if not frames:
        raise ValueError("save_gif needs at least one frame")
    images = []
    for frame in frames:
        image = Image.fromarray(np.asarray(frame, np.uint8))
        height = round(image.height * width / image.width)
        image = image.resize((width, height), Image.Resampling.LANCZOS)
        images.append(image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
    images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                   duration=max(round(1000 / fps), 20), optimize=True)
