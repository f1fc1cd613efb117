"""Image environments: a tiny one with a known optimum, and MinAtar on demand.

``QuadrantEnv`` (id ``minirl/Quadrant-v0``): one pixel of an 8 x 8 boolean frame is lit,
in one of its four quadrants; the action names the quadrant. Reward 1 for the right one,
then the episode ends. The optimal return is 1, a random policy's 0.25: a learning test
for the convolutional torso that finishes in a few thousand frames.

MinAtar (Young & Tian 2019; ``pip install 'minirl[minatar]'``): 10 x 10 x n boolean
frames of five Atari games. With gymnasium 1.x its ids ``MinAtar/Breakout-v1``, ... exist
only after ``minatar.gym.register_envs()``; ``make_minatar`` calls it when such an id is
first made, and draws frames in colour (one colour per channel, as MinAtar's own display)
for ``minirl eval --gif``.
"""
import gymnasium as gym
import numpy as np

__all__ = ["QuadrantEnv", "make_minatar", "MinAtarColours", "channel_colours"]


class QuadrantEnv(gym.Env):
    """Which quadrant is lit? One step per episode; reward 1 for naming it.

    Quadrants: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right. Observations are
    ``(size, size, 1)`` bool, or ``(1, size, size)`` with ``channels_first``.
    """
    metadata = {"render_modes": []}

    def __init__(self, size=8, channels_first=False):
        if size < 2 or size % 2:
            raise ValueError(f"QuadrantEnv: size must be an even int >= 2, got {size!r}")
        self.size, self.channels_first = int(size), bool(channels_first)
        shape = (1, size, size) if channels_first else (size, size, 1)
        self.observation_space = gym.spaces.Box(0, 1, shape, dtype=bool)
        self.action_space = gym.spaces.Discrete(4)
        self.quadrant = 0

    def _frame(self):
        half = self.size // 2
        row, col = self.np_random.integers(0, half, size=2)
        row += half * (self.quadrant // 2)
        col += half * (self.quadrant % 2)
        frame = np.zeros((self.size, self.size), bool)
        frame[row, col] = True
        return frame[None] if self.channels_first else frame[:, :, None]

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.quadrant = int(self.np_random.integers(4))
        return self._frame(), {}

    def step(self, action):
        reward = float(int(action) == self.quadrant)
        return np.zeros(self.observation_space.shape, bool), reward, True, False, {}


def channel_colours(n):
    """n distinct RGB colours (uint8), one per channel, evenly spaced in hue."""
    import matplotlib.colors as mcolors
    hues = np.arange(n) / n
    hsv = np.stack([hues, np.full(n, 0.75), np.full(n, 0.95)], axis=1)
    return (mcolors.hsv_to_rgb(hsv) * 255).astype(np.uint8)


class MinAtarColours(gym.Wrapper):
    """``render()`` gives an RGB uint8 frame: each lit cell in its channel's colour (the
    last lit channel wins a tie), black where none is, each cell ``scale`` pixels wide."""
    render_mode = "rgb_array"

    def __init__(self, env, scale=16):
        super().__init__(env)
        self.scale = int(scale)
        self.colours = channel_colours(env.observation_space.shape[-1])

    def render(self):
        state = np.asarray(self.env.unwrapped.game.state())  # (10, 10, n) bool
        lit = state.any(axis=-1)
        channel = state.shape[-1] - 1 - np.argmax(state[:, :, ::-1], axis=-1)
        frame = np.where(lit[:, :, None], self.colours[channel], 0).astype(np.uint8)
        return frame.repeat(self.scale, axis=0).repeat(self.scale, axis=1)


def make_minatar(env_id, **kwargs):
    """``gymnasium.make`` for a ``MinAtar/...`` id, registering MinAtar's ids first; a
    ValueError naming the extra if the package is missing."""
    try:
        import minatar.gym
    except ImportError:
        raise ValueError(f"{env_id} needs the minatar package: pip install "
                         f"'minirl[minatar]'") from None
    if env_id not in gym.registry:
        minatar.gym.register_envs()
    render_mode = kwargs.pop("render_mode", None)
    if render_mode == "human":
        raise ValueError(f"{env_id}: no live window; write a GIF with minirl eval --gif")
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.Error as error:
        raise ValueError(f"cannot make environment {env_id!r}: {error}") from None
    if render_mode == "rgb_array":
        env = MinAtarColours(env)
    return env
