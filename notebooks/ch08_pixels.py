# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # DQN from pixels: a convolution, and a Q network that sees
#
# A convolution slides one small filter over an image: each output pixel is the same dot
# product of the filter with the patch under it,
#
# $$y_{o,i,j} = b_o + \sum_{c,u,v} W_{o,c,u,v}\, x_{c,\, i s + u,\, j s + v}.$$
#
# im2col copies every patch into a row of a matrix, so the whole convolution is one matrix
# product. Code: `minirl/functions.py` (`conv2d`, `im2col`, `col2im`),
# `minirl/agents/torso.py`; page: *DQN from pixels* of the docs.

# %%
# Colab starts without minirl: install it there (elsewhere: `pip install -e .` in the repo).
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("minirl") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "minirl @ git+https://github.com/minirl/minirl"], check=True)

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import minirl
import minirl.functions as F
from minirl.gradcheck import gradient_check

# %% [markdown]
# ## What a convolution computes
#
# An image with a vertical edge, and a 3x3 filter that answers "darker on the left,
# brighter on the right". The same nine weights are used at every position (weight
# sharing), and each output sees only its 3x3 patch (locality): the output lights up
# along the edge, wherever it is.

# %%
image = np.zeros((1, 1, 8, 8))
image[..., 3:] = 1.0                                      # bright from column 3 on
edge = np.array([[-1, 0, 1]] * 3, float)[None, None]     # W: (out 1, in 1, 3, 3)
y = F.conv2d(image, edge).data                           # (1, 1, 6, 6)
print(y[0, 0])

fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, (a, title) in zip(axes, [(image[0, 0], "x (8 x 8)"), (edge[0, 0], "W (3 x 3)"),
                                 (y[0, 0], "conv2d(x, W) (6 x 6)")]):
    ax.imshow(a, cmap="gray")
    ax.set_title(title)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## im2col: every patch a row
#
# With 8 - 3 + 1 = 6 positions a side there are 36 patches of 9 pixels: `im2col` gives a
# (36, 9) matrix, and the convolution is that matrix times the filter as a column. Its
# backward pass is `col2im`, which adds each row's gradient back onto the pixels of its
# patch. The gradient check compares both with central differences.

# %%
col = F.im2col(image, (3, 3), (1, 1), (0, 0))
print(col.shape)
np.testing.assert_allclose((col @ edge.reshape(1, 9).T).reshape(6, 6), y[0, 0])
rng = np.random.default_rng(0)
gradient_check(lambda x, W, b: F.conv2d(x, W, b, stride=2, pad=1),
               rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)),
               rng.standard_normal(4))
print("conv2d's gradients agree with central differences")

# %% [markdown]
# ## A Q network that sees: which quadrant is lit?
#
# `minirl/Quadrant-v0` shows an 8 x 8 boolean frame with one lit pixel; the action names
# its quadrant (reward 1, then the episode ends). Its observation is a 3-D `Box`, so
# `make_agent` puts a convolutional torso in front of DQN's layers, as stable-baselines3
# picks a CNN policy for images: 3x3 conv, 16 filters, ReLU, then the usual layers.
# A random policy scores 0.25; the best, 1.

# %%
result = minirl.train(
    "dqn", "minirl/Quadrant-v0", 600, seed=0, hidden_sizes=(32,), lr=3e-3,
    buffer_size=1000, batch_size=32, learning_starts=100, train_freq=1, gradient_steps=1,
    target_update_interval=100, epsilon_end=0.05, exploration_steps=300, n_step=1,
    eval_every=600, eval_episodes=1, plot=False)
agent = result.agent
print([(name, p.shape) for name, p in agent.qnet.named_parameters()])
print("greedy return over 200 new frames:",
      minirl.evaluate(agent, "minirl/Quadrant-v0", 200, seed=1000))

# %% [markdown]
# The 16 learned filters (each 3 x 3, one input channel): they have only had 500 updates,
# so they are mostly their random start, but the head has learned to read their
# responses by position.

# %%
filters = agent.qnet.torso.c0.W.data[:, 0]
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for ax, w in zip(axes.ravel(), filters):
    ax.imshow(w, cmap="RdBu", vmin=-abs(filters).max(), vmax=abs(filters).max())
    ax.axis("off")
fig.suptitle("conv filters after 600 frames")
plt.show()

# %% [markdown]
# ## MinAtar Breakout (if `minatar` is installed)
#
# `pip install 'minirl[minatar]'`, then `minirl train dqn --env MinAtar/Breakout-v1
# --preset minatar` trains the paper's DQN (Young & Tian 2019) on 10 x 10 x 4 boolean
# frames: the same torso, 16 filters over 4 channels (paddle, ball, trail, bricks), a
# 128-unit layer. That takes hours in NumPy, not minutes; the docs page has the runs.
# Here: one frame in colour (one colour per channel), and what a random policy scores.

# %%
if importlib.util.find_spec("minatar") is None:
    print("minatar is not installed: pip install 'minirl[minatar]'")
else:
    from minirl.envs import make_env
    env = make_env("MinAtar/Breakout-v1", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    print("observation:", obs.shape, obs.dtype, "actions:", env.action_space)
    env.action_space.seed(0)  # the random actions repeat too
    returns = []
    for episode in range(100):
        env.reset(seed=episode)
        done, total = False, 0.0
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total, done = total + reward, terminated or truncated
        returns.append(total)
    print(f"random policy: {np.mean(returns):.2f} over 100 episodes")
    env.reset(seed=0)
    plt.imshow(env.render())
    plt.title("MinAtar Breakout: paddle, ball, trail, bricks")
    plt.axis("off")
    plt.show()
