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
# # Chapter 5: Monte Carlo methods
#
# Without the model, values are learned from whole episodes. The return is accumulated
# backwards over an episode, $G_t = R_t + \gamma G_{t+1}$, and each visited state's
# value moves to the average of the returns seen from it:
#
# $$V(s) \leftarrow V(s) + \frac{1}{n(s)}\bigl(G - V(s)\bigr).$$
#
# Code: `minirl/tabular/mc.py`; page: *Chapters 1–6* of the docs.

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

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np

import minirl  # noqa: F401  (registers minirl/GridWorld-v0)
from minirl.plot import plot_q_map, plot_value_map
from minirl.tabular import dp, mc

env = gym.make("minirl/GridWorld-v0")  # the book's world, 100-step time limit
sizes = mc.table_sizes(env)
print(inspect.getsource(mc.McAgent.eval))

# %% [markdown]
# ## Evaluating the random policy
#
# 1000 episodes of the random policy, against the exact values from dynamic
# programming (chapter 4).

# %%
agent = mc.McAgent(*sizes, seed=0)
mc.run_mc_eval(env, agent, episodes=1000, seed=0)
world = env.unwrapped
V_exact = dp.policy_eval(dp.random_policy(world), dp.zero_values(world), world)
errors = [abs(agent.V[world.state_to_index(s)] - V_exact[s]) for s in world.states()
          if s != world.goal_state]
print(f"largest |V_MC - V| over the states: {max(errors):.3f}")
plot_value_map(env, agent.V, title="MC evaluation of the random policy, 1000 episodes")

# %% [markdown]
# ## Control: epsilon-greedy in Q
#
# To improve the policy without a model, MC learns $Q(s, a)$ and makes the policy
# $\varepsilon$-greedy in it, so that every action keeps being tried:
#
# $$\pi(a \mid s) = \begin{cases} 1 - \varepsilon + \varepsilon/\lvert\mathcal A\rvert & a = \arg\max_{a'} Q(s, a') \\ \varepsilon/\lvert\mathcal A\rvert & \text{otherwise.} \end{cases}$$

# %%
print(inspect.getsource(mc.greedy_probs))
control = mc.McControlAgent(*sizes, seed=0)
returns = mc.run_mc_control(env, control, episodes=2000, seed=0)
print(f"mean return of the last 200 episodes: {np.mean(returns[-200:]):.2f}")
plot_q_map(env, control.Q, title="On-policy MC control: Q(s, a) after 2000 episodes")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
window = 50
ax.plot(np.convolve(returns, np.ones(window) / window, mode="valid"))
ax.set(xlabel="episode", ylabel=f"return (mean of {window})", title="MC control on GridWorld")
plt.show()
