"""GridWorld maps say what they show: untried actions, shared scales, wrong arrows."""
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.patches import Polygon, Rectangle

from minirl.envs.gridworld import GridWorld
from minirl.plot import (OVER_COLOUR, VALUE_CMAP, greedy_among_tried, greedy_differs,
                         plot_q_comparison, plot_q_map, plot_value_map)
from minirl.tabular import dp

GAMMA = 0.9


def exact_q(env):
    """Q*(s, a) as an array indexed by observation, the goal's row left at 0."""
    _, V = dp.value_iter(env, GAMMA, threshold=1e-10)
    q = np.zeros((env.observation_space.n, 4))
    for s in env.states():
        if s != env.goal_state:
            for a, value in dp.action_values(V, env, s, GAMMA).items():
                q[env.state_to_index(s), a] = value
    return q


def cell_texts(ax):
    """The texts written in data coordinates (the values), not the caption."""
    return [t for t in ax.texts if t.get_transform() is ax.transData]


def texts_in(ax, cell):
    row, col = cell
    return [t for t in cell_texts(ax)
            if col < t.get_position()[0] < col + 1 and row < t.get_position()[1] < row + 1]


def triangle_colours(ax, cell):
    """Face colours of the four triangles of ``cell``, in action order."""
    row, col = cell
    centre = np.array([col + 0.5, row + 0.5])
    triangles = [p for p in ax.patches if isinstance(p, Polygon)
                 and np.any(np.all(np.isclose(p.get_xy(), centre), axis=1))]
    assert len(triangles) == 4
    # the triangle's vertex other than the centre and the corners: its side's midpoint
    def side(p):
        xy = p.get_xy()[:3]
        return tuple(np.round(xy[:2].mean(axis=0) - centre, 3))
    order = {(0.0, -0.5): 0, (0.0, 0.5): 1, (-0.5, 0.0): 2, (0.5, 0.0): 3}
    return [to_rgba(p.get_facecolor()) for p in sorted(triangles, key=lambda p: order[side(p)])]


def caption(ax):
    return " ".join(t.get_text() for t in ax.texts if t.get_transform() is not ax.transData)


def test_greedy_among_tried_ignores_the_initial_values_of_untried_actions():
    values = np.array([0.0, -0.5, 0.0, -0.7])
    assert list(greedy_among_tried(values, None)) == [0, 2]
    assert list(greedy_among_tried(values, np.array([False, True, False, True]))) == [1]
    assert list(greedy_among_tried(values, np.zeros(4, bool))) == []


def test_untried_actions_are_hatched_without_a_value_and_an_unvisited_cell_says_so():
    env = GridWorld()
    Q = exact_q(env)
    visits = np.ones_like(Q)
    unvisited, partly = (2, 3), (1, 3)
    visits[env.state_to_index(unvisited)] = 0
    visits[env.state_to_index(partly), 1:] = 0  # only "up" tried
    ax = plot_q_map(env, Q, visits=visits).axes[0]

    assert [t.get_text() for t in texts_in(ax, unvisited)] == ["not\nvisited"]
    assert [t.get_text() for t in texts_in(ax, partly)] == [f"{Q[7, 0]:.2f}"]
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1 + 3  # the unvisited cell, and three triangles
    # every tried action of every other cell still shows its value
    others = [s for s in env.states() if s not in (unvisited, partly, env.goal_state)]
    assert all(len(texts_in(ax, s)) == 4 for s in others)
    assert "never tried" in caption(ax) and "bold" in caption(ax)
    # without visits nothing is hatched and the caption does not speak of it
    ax = plot_q_map(env, Q).axes[0]
    assert not [p for p in ax.patches if p.get_hatch()]
    assert "never tried" not in caption(ax)


def test_bold_marks_the_greedy_action_of_each_cell():
    env = GridWorld()
    Q = exact_q(env)
    ax = plot_q_map(env, Q).axes[0]
    bold = [t for t in cell_texts(ax) if t.get_fontweight() == "bold"]
    # one greedy action per cell, two at the tie in the start cell (2, 0)
    assert len(bold) == 10 + 1
    assert {t.get_text() for t in texts_in(ax, (0, 2)) if t.get_fontweight() == "bold"} \
        == {f"{Q[2, 3]:.2f}"}


def test_q_map_labels_do_not_overlap_and_reward_cells_are_framed():
    env = GridWorld()
    fig = plot_q_map(env, exact_q(env))
    ax = fig.axes[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = [t.get_window_extent(renderer) for t in cell_texts(ax)]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    assert not any(t.get_text().startswith("R -1") for t in ax.texts)
    frames = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_linestyle() == "--"]
    assert len(frames) == 1 and frames[0].get_x() < 3.5 < frames[0].get_x() + 1
    assert "-1.0" in caption(ax)


def test_fixed_scale_shows_values_beyond_it_in_the_over_colour():
    env = GridWorld()
    Q = exact_q(env)
    Q[env.state_to_index((1, 3)), 0] = 1.5
    ax = plot_q_map(env, Q, vmax=1.0).axes[0]
    colours = triangle_colours(ax, (1, 3))
    assert colours[0] == to_rgba(OVER_COLOUR)
    assert to_rgba(OVER_COLOUR) not in colours[1:]


def test_greedy_differs_allows_any_of_tied_optimal_actions():
    env = GridWorld()
    Q_star = exact_q(env)
    assert greedy_differs(env, Q_star, Q_star) == []
    Q = Q_star.copy()
    Q[env.state_to_index((2, 0)), 0] += 0.01  # still optimal: up ties with right at the start
    Q[env.state_to_index((2, 2)), 3] = 2.0    # right from (2, 2) is not optimal
    assert greedy_differs(env, Q, Q_star) == [(2, 2)]


def test_comparison_shares_one_scale_and_frames_wrong_greedy_actions():
    env = GridWorld()
    Q_star = exact_q(env)
    Q = Q_star.copy()
    Q[env.state_to_index((1, 3)), 0] = 1.49  # above the largest possible return, 1
    Q[env.state_to_index((2, 2)), 3] = 0.95  # a wrong greedy action
    fig = plot_q_comparison(env, Q, Q_star)
    learned, exact, error = fig.axes[:3]
    # equal values, equal colours: one scale for both maps
    assert triangle_colours(learned, (0, 0)) == triangle_colours(exact, (0, 0))
    assert triangle_colours(learned, (1, 3))[0] == to_rgba(OVER_COLOUR)
    assert to_rgba(OVER_COLOUR) not in triangle_colours(exact, (1, 3))
    for ax in (learned, exact, error):
        framed = [(p.get_y(), p.get_x()) for p in ax.patches
                  if isinstance(p, Rectangle) and p.get_linewidth() == 4]
        assert framed == [(2, 2)]
    # the error panel writes Q - Q*, signed
    texts = {t.get_text() for t in texts_in(error, (1, 3))}
    assert f"{1.49 - Q_star[7, 0]:+.2f}" in texts and "+0.00" in texts
    assert "1 learned value" in caption(exact) and "1 of 10 cells" in caption(exact)


def test_value_maps_share_a_fixed_scale_and_say_what_arrows_mean():
    env = GridWorld()
    pi, V = dp.value_iter(env, GAMMA, threshold=1e-10)
    low = {s: v / 2 for s, v in V.items()}
    colour = [
        [p.get_facecolor() for p in plot_value_map(env, values, vmax=1.0).axes[0].patches
         if isinstance(p, Rectangle) and p.get_xy() == (0, 0)][0] for values in (V, low)]
    assert colour[0] != colour[1]  # half the value, a paler green on the same scale
    # without vmax each map spans its own range: the largest value is the darkest green
    free = plot_value_map(env, low).axes[0]
    top = [p.get_facecolor() for p in free.patches
           if isinstance(p, Rectangle) and p.get_xy() == (2, 0)][0]
    assert np.allclose(top, to_rgba(VALUE_CMAP(1.0)))
    assert "arrows" in caption(plot_value_map(env, V, pi).axes[0])
    assert caption(plot_value_map(env, V).axes[0]) == ""
