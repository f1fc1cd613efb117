"""Seeing images: the convolutional torso an agent puts in front of its layers.

An agent's networks read the encoded observation, a flat float32 vector (``ObsEncoder``).
For a vector of joint angles that is all there is; for a picture, flattening throws away
which pixels are neighbours. So an observation that is an image -- a 3-D ``Box``,
(H, W, C) or (C, H, W) -- gets a torso of convolutions first, as stable-baselines3 picks
its CNN policy for image spaces, and the agent's usual layers sit on the torso's features.

``encoder_for(observation_space, rng)`` makes the choice: ``(None, size)`` for anything
that is not an image (the layers read the encoded vector itself), ``(ConvTorso, features)``
for an image. Which convolutions:

==================  ===============================================  ====================
frames              layers                                           from
==================  ===============================================  ====================
smaller than 36     3x3 conv, 16 filters, stride 1, ReLU             Young & Tian 2019
                                                                     (MinAtar's DQN)
36 pixels or more   8x8/4 32, 4x4/2 64, 3x3/1 64 filters, ReLUs      Mnih et al. 2015
                                                                     (Atari's DQN)
==================  ===============================================  ====================

Channel order: (C, H, W) when the first axis is the strictly shortest, else (H, W, C) --
gymnasium's and MinAtar's order, which also wins a tie (Seaquest's 10 x 10 x 10).

``storage_dtype`` keeps boolean and uint8 frames as they are in replay (100k MinAtar
frames take 40 MB as bool, 160 MB as float32); the minibatch is converted to float32.
"""
import gymnasium as gym
import numpy as np

import minirl.functions as F
import minirl.layers as L

__all__ = ["is_image_space", "image_layout", "ConvTorso", "encoder_for", "storage_dtype"]

# (filters, kernel, stride) per layer
MINATAR_CONVS = ((16, 3, 1),)
NATURE_CONVS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
LARGE_FRAME = 36  # the Nature stack needs frames of at least 36 pixels a side


def is_image_space(space):
    """A 3-D Box: an image with a channel axis."""
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 3


def image_layout(shape):
    """(channels_first, (C, H, W)) for an image observation of ``shape``."""
    a, b, c = (int(n) for n in shape)
    if a < c and a < b:      # (C, H, W): the channel axis is the shortest
        return True, (a, b, c)
    return False, (c, a, b)  # (H, W, C)


class ConvTorso(L.Module):
    """Encoded frame (B, H*W*C) or (H*W*C,) -> features (B, F) or (F,): the frame put back
    into its (N, C, H, W) shape, then [Conv2d -> ReLU] per layer, then flattened.

    ``scale`` multiplies the pixels first: 1/255 for uint8 frames, so that the first
    layer sees values in [0, 1] as it does for bool frames (Mnih et al. 2015 scale the
    screen so; stable-baselines3 and CleanRL divide by 255)."""

    def __init__(self, shape, convs=MINATAR_CONVS, rng=None, scale=None):
        super().__init__()
        self.channels_first, (c, h, w) = image_layout(shape)
        self.image_shape = tuple(int(n) for n in shape)
        self.scale = scale
        self.convs = []
        for i, (filters, kernel, stride) in enumerate(convs):
            conv = L.Conv2d(c, filters, kernel, stride, rng=rng)
            setattr(self, f"c{i}", conv)  # registers 'c0.W', 'c0.b', ...
            self.convs.append(conv)
            c = filters
            h, w = F.conv_output_size(h, kernel, stride, 0), F.conv_output_size(
                w, kernel, stride, 0)
            if h < 1 or w < 1:
                raise ValueError(f"ConvTorso: frames of shape {shape} are too small for a "
                                 f"{kernel}x{kernel} convolution of stride {stride}")
        self.size = c * h * w  # features out

    def forward(self, x):
        one = x.ndim == 1  # one observation: no batch axis in, none out
        x = x.reshape(-1, *self.image_shape)
        if self.scale is not None:
            x = x * np.float32(self.scale)
        if not self.channels_first:
            x = x.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
        for conv in self.convs:
            x = F.relu(conv(x))
        return F.reshape(x, (self.size,)) if one else F.flatten(x)


def encoder_for(observation_space, rng=None):
    """(torso, feature size): a ``ConvTorso`` for an image observation space, else
    ``(None, size of the encoded vector)``."""
    if not is_image_space(observation_space):
        if isinstance(observation_space, gym.spaces.Discrete):
            return None, int(observation_space.n)
        return None, int(np.prod(observation_space.shape))
    _, (_, h, w) = image_layout(observation_space.shape)
    convs = NATURE_CONVS if min(h, w) >= LARGE_FRAME else MINATAR_CONVS
    scale = 1 / 255 if observation_space.dtype == np.uint8 else None  # pixels to [0, 1]
    torso = ConvTorso(observation_space.shape, convs, rng=rng, scale=scale)
    return torso, torso.size


def storage_dtype(observation_space):
    """The dtype replay stores observations in: a bool or uint8 image as itself (exact,
    and 4x or 32x smaller), anything else as float32."""
    if is_image_space(observation_space) and observation_space.dtype in (np.bool_,
                                                                        np.uint8):
        return observation_space.dtype
    return np.float32
