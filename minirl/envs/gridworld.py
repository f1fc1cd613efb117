"""The book's GridWorld (chapters 4-7) as a gymnasium environment.

The default world is the book's 3 x 4 grid::

        col 0   col 1   col 2   col 3
    0     .       .       .     +1 GOAL
    1     .     wall      .     -1
    2   START     .       .       .

The agent moves up, down, left or right (actions 0, 1, 2, 3). A move off the grid or
into a wall leaves it where it is. The reward is the value of the cell it *enters*
(+1.0 for the goal, -1.0 for the cell below it, 0 elsewhere); entering the goal ends
the episode (``terminated``). The -1 cell does not end it.

Two views of one world:

* **the gymnasium view** -- ``reset``/``step`` with an integer observation, the cell
  index ``row * width + col`` (``Discrete(12)``), or a one-hot vector
  (``one_hot=True``, a ``Box(0, 1, (12,), float32)``) for a neural network.
  MC and TD agents (chapters 5-6) learn from this view.
* **the model view** -- what dynamic programming (chapter 4) needs: ``states()``,
  ``actions()``, ``next_state(state, action)``, ``reward(state, action, next_state)``,
  ``goal_state``. Here a state is a ``(row, col)`` tuple, as in the book.
  ``state_to_index`` and ``index_to_state`` convert between the two views.

``gymnasium.make("minirl/GridWorld-v0")`` adds a 100-step time limit (``truncated``);
reach the model through ``env.unwrapped``.
"""
import gymnasium as gym
import numpy as np
from gymnasium import spaces

# The book's layout: the reward for entering each cell.
BOOK_REWARD_MAP = ((0.0, 0.0, 0.0, 1.0),
                   (0.0, 0.0, 0.0, -1.0),
                   (0.0, 0.0, 0.0, 0.0))

# (row, col) change for actions 0 up, 1 down, 2 left, 3 right.
ACTION_MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))
ACTION_MEANING = {0: "UP", 1: "DOWN", 2: "LEFT", 3: "RIGHT"}


class GridWorld(gym.Env):
    """The book's grid world; see the module docstring for the rules.

    Args:
        reward_map: 2-D array, the reward for entering each cell; its shape is the
            grid's shape. Default: the book's map (or zeros with +1.0 at the goal
            when ``shape`` is given). Values at walls are ignored.
        shape: ``(rows, cols)``, used only when ``reward_map`` is not given.
        goal_state: the terminal cell, ``(row, col)``.
        wall_states: cells the agent can never enter.
        start_state: where every episode starts; ``None`` starts each episode in a
            random cell (not a wall, not the goal), drawn from ``self.np_random``,
            so that every state is visited often ("exploring starts").
        one_hot: observe a one-hot vector instead of the cell index.
        render_mode: ``None``, ``"ansi"`` (text) or ``"rgb_array"``.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(self, reward_map=None, shape=None, goal_state=(0, 3),
                 wall_states=((1, 1),), start_state=(2, 0), one_hot=False,
                 render_mode=None):
        self.reward_map = _make_reward_map(reward_map, shape)
        self.goal_state = self._check_cell(goal_state, "goal_state")
        if reward_map is None and shape is not None:
            self.reward_map[self.goal_state] = 1.0  # a bare shape: only the goal pays
        if start_state is not None:
            start_state = self._check_cell(start_state, "start_state")
        self.start_state = start_state
        self.wall_states = tuple(self._check_cell(w, "wall_states entry")
                                 for w in wall_states)
        if self.goal_state == self.start_state:
            raise ValueError(f"start_state and goal_state must differ, both are {self.goal_state}")
        for name, cell in (("goal_state", self.goal_state), ("start_state", self.start_state)):
            if cell in self.wall_states:
                raise ValueError(f"{name} {cell} is a wall")
        for wall in self.wall_states:
            self.reward_map[wall] = 0.0  # never entered, so never paid
        if not np.all(np.isfinite(self.reward_map)):
            raise ValueError("reward_map must be finite outside the walls")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of "
                             f"{self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode

        self.one_hot = bool(one_hot)
        n_cells = self.height * self.width  # walls keep their index; they are never observed
        if self.one_hot:
            self.observation_space = spaces.Box(0.0, 1.0, (n_cells,), np.float32)
        else:
            self.observation_space = spaces.Discrete(n_cells)
        self.action_space = spaces.Discrete(len(ACTION_MOVES))
        self.action_meaning = dict(ACTION_MEANING)
        self.agent_state = self.start_state  # reset() sets it again

    # ----- the model (chapter 4) -----------------------------------------------------

    @property
    def shape(self):
        return self.reward_map.shape

    @property
    def height(self):
        return self.reward_map.shape[0]

    @property
    def width(self):
        return self.reward_map.shape[1]

    @property
    def wall_state(self):
        """The book's single wall (the first one), or None if there is none."""
        return self.wall_states[0] if self.wall_states else None

    def actions(self):
        return list(self.action_meaning)

    def states(self):
        """Every (row, col) cell the agent can be in: all cells but the walls."""
        for row in range(self.height):
            for col in range(self.width):
                if (row, col) not in self.wall_states:
                    yield (row, col)

    def next_state(self, state, action):
        """The deterministic transition s' = f(s, a): bumping into an edge or a wall
        means staying put."""
        move = ACTION_MOVES[action]
        row, col = state[0] + move[0], state[1] + move[1]
        if not (0 <= row < self.height and 0 <= col < self.width):
            return state
        if (row, col) in self.wall_states:
            return state
        return (row, col)

    def reward(self, state, action, next_state):
        """r(s, a, s'): the reward depends only on the cell entered."""
        return float(self.reward_map[next_state])

    def state_to_index(self, state):
        return state[0] * self.width + state[1]

    def index_to_state(self, index):
        return tuple(int(i) for i in divmod(int(index), self.width))

    # ----- the gymnasium environment ---------------------------------------------------

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if self.start_state is not None:
            self.agent_state = self.start_state
        else:
            starts = [s for s in self.states() if s != self.goal_state]
            self.agent_state = starts[self.np_random.integers(len(starts))]
        return self._observation(), {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be one of {self.actions()}, got {action!r}")
        state = self.agent_state
        next_state = self.next_state(state, int(action))
        reward = self.reward(state, int(action), next_state)
        terminated = next_state == self.goal_state
        self.agent_state = next_state
        return self._observation(), reward, terminated, False, {}

    def render(self):
        if self.render_mode == "ansi":
            return self._render_text()
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        return None

    # ----- helpers --------------------------------------------------------------------

    def _observation(self):
        index = self.state_to_index(self.agent_state)
        if self.one_hot:
            obs = np.zeros(self.observation_space.shape, dtype=np.float32)
            obs[index] = 1.0
            return obs
        return index

    def _check_cell(self, cell, name):
        try:
            row, col = (int(c) for c in cell)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a (row, col) pair, got {cell!r}") from None
        if not (0 <= row < self.height and 0 <= col < self.width):
            raise ValueError(f"{name} {cell!r} is outside the {self.height}x{self.width} grid")
        return (row, col)

    def _render_text(self):
        rows = []
        for row in range(self.height):
            line = []
            for col in range(self.width):
                cell = (row, col)
                if cell == self.agent_state:
                    line.append("A")
                elif cell in self.wall_states:
                    line.append("#")
                elif cell == self.goal_state:
                    line.append("G")
                elif self.reward_map[cell] > 0:
                    line.append("+")
                elif self.reward_map[cell] < 0:
                    line.append("-")
                else:
                    line.append(".")
            rows.append(" ".join(line))
        return "\n".join(rows) + "\n"

    def _render_rgb(self, cell_px=32):
        colours = {"#": (128, 128, 128), "G": (60, 180, 75), "+": (170, 230, 170),
                   "-": (230, 120, 120), ".": (255, 255, 255), "A": (60, 90, 220)}
        text = self._render_text().split()
        image = np.zeros((self.height * cell_px, self.width * cell_px, 3), dtype=np.uint8)
        for i, symbol in enumerate(text):
            row, col = divmod(i, self.width)
            top, left = row * cell_px, col * cell_px
            image[top:top + cell_px, left:left + cell_px] = colours[symbol]
        image[::cell_px, :] = 0  # grid lines
        image[:, ::cell_px] = 0
        return image


def _make_reward_map(reward_map, shape):
    """The reward map as a float array: the book's, zeros of ``shape``, or the one given."""
    if reward_map is None:
        if shape is None:
            return np.array(BOOK_REWARD_MAP, dtype=np.float64)
        if len(shape) != 2 or min(shape) < 1 or shape[0] * shape[1] < 2:
            raise ValueError(f"shape must be (rows, cols) with at least two cells, got {shape!r}")
        return np.zeros(shape, dtype=np.float64)
    # dtype float turns the book's None (at the wall) into nan; walls are zeroed later
    reward_map = np.array(reward_map, dtype=np.float64)
    if reward_map.ndim != 2 or reward_map.size < 2:
        raise ValueError(f"reward_map must be a 2-D grid of at least two cells, "
                         f"got shape {reward_map.shape}")
    if shape is not None and tuple(shape) != reward_map.shape:
        raise ValueError(f"shape {tuple(shape)} does not match reward_map's shape "
                         f"{reward_map.shape}")
    return reward_map
