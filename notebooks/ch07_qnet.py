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
# # Chapter 7: Q-learning with a neural network
#
# The table $Q(s, a)$ of chapter 6 becomes a network $Q(s, \cdot\,; \theta)$, and the TD
# target becomes a regression label held constant:
#
# $$y = r + \gamma\,(1 - \text{terminated}) \max_{a'} Q(s', a'; \theta), \qquad L(\theta) = \bigl(y - Q(s, a; \theta)\bigr)^2.$$
#
# Code: `minirl/agents/qnet.py`; page: *Chapter 7* of the docs.

# %%
# Colab starts without minirl: install it there (elsewhere: `pip install -e .` in the repo).
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("minirl") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "minirl @ git+https://github.com/minirl/minirl"], check=True)

# %%
# minirl.plot returns matplotlib Figures; the inline backend draws them below.
# %matplotlib inline
import inspect

import matplotlib.pyplot as plt
import numpy as np

from minirl.agents.qnet import QLearningAgent, q_learning_target
from minirl.envs.gridworld import GridWorld
from minirl.plot import greedy_differs, plot_q_comparison
from minirl.tabular.dp import value_iter

print(inspect.getsource(q_learning_target))
print(inspect.getsource(QLearningAgent.update))

# %% [markdown]
# ## The chapter's loop
#
# 300 episodes from the book's start cell (the book runs 1000), one semi-gradient SGD
# step per environment step.

# %%
env = GridWorld()
agent = QLearningAgent(env.observation_space, env.action_space, seed=0, preset="book")
losses = []
for episode in range(300):
    state, _ = env.reset(seed=episode)
    total, count, done = 0.0, 0, False
    while not done:
        action = agent.act(state)
        next_state, reward, terminated, truncated, _ = env.step(action)
        total += agent.update(state, action, reward, next_state, terminated, truncated)["loss"]
        count += 1
        state, done = next_state, terminated or truncated
    losses.append(total / count)

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(losses, lw=0.8)
ax.set(xlabel="episode", ylabel="average loss",
       title="Q-network on GridWorld: loss per episode")
plt.show()

# %% [markdown]
# ## Against the exact optimum
#
# $Q^*(s, a) = r(s, a, s') + \gamma V^*(s')$ with $V^*$ from value iteration. Framed
# cells are those whose learned greedy action is not optimal: from the single start
# cell, states off the optimal paths are rarely visited.

# %%
_, V_star = value_iter(env, gamma=agent.hparams["gamma"], threshold=1e-8)
q_star = {}  # Q*(s, a) = r(s, a, s') + gamma V*(s')
for s in env.states():
    if s != env.goal_state:
        for a in env.actions():
            s_next = env.next_state(s, a)
            q_star[(s, a)] = env.reward(s, a, s_next) + agent.hparams["gamma"] * V_star[s_next]
q_learned = np.array([agent.q_values(i) for i in range(env.observation_space.n)])
start = env.state_to_index(env.start_state)
print("Q(start, .) =", q_learned[start].round(3))
print("Q*(start, .) =", np.round([q_star[(env.start_state, a)] for a in env.actions()], 3))
print("greedy action not optimal in:", greedy_differs(env, q_learned, q_star))
plot_q_comparison(env, q_learned, q_star, title="Q-network after 300 episodes against Q*")
