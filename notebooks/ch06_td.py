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
# # Chapter 6: TD learning
#
# TD(0) does not wait for the end of the episode: after every step it moves $V(S)$
# towards the one-step target $R + \gamma V(S')$,
#
# $$V(S) \leftarrow V(S) + \alpha\bigl\{R + \gamma V(S') - V(S)\bigr\}.$$
#
# SARSA does the same for $Q$ with the next action the policy takes; Q-learning
# bootstraps from the best next action instead. Code: `minirl/tabular/td.py`.

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
from minirl.tabular import dp, mc, td

env = gym.make("minirl/GridWorld-v0")  # the book's world, 100-step time limit
world = env.unwrapped
sizes = mc.table_sizes(env)
print(inspect.getsource(td.TdAgent.eval))

# %%
agent = td.TdAgent(*sizes, seed=0)
td.run_td_eval(env, agent, episodes=1000, seed=0)
plot_value_map(env, agent.V, title="TD(0) evaluation of the random policy, 1000 episodes")

# %% [markdown]
# ## SARSA and Q-learning
#
# $$\text{SARSA:}\quad Q(S,A) \leftarrow Q(S,A) + \alpha\bigl\{R + \gamma Q(S',A') - Q(S,A)\bigr\}$$
#
# $$\text{Q-learning:}\quad Q(S,A) \leftarrow Q(S,A) + \alpha\bigl\{R + \gamma \max_a Q(S',a) - Q(S,A)\bigr\}$$

# %%
print(inspect.getsource(td.QLearningAgent.update))
sarsa = td.SarsaAgent(*sizes, seed=0)
sarsa_returns = td.run_sarsa(env, sarsa, episodes=1000, seed=0)
qlearn = td.QLearningAgent(*sizes, seed=0)
q_returns = td.run_q_learning(env, qlearn, episodes=1000, seed=0)

fig, ax = plt.subplots(figsize=(6, 3))
window = 50
for label, returns in (("SARSA", sarsa_returns), ("Q-learning", q_returns)):
    ax.plot(np.convolve(returns, np.ones(window) / window, mode="valid"), label=label)
ax.set(xlabel="episode", ylabel=f"return (mean of {window})",
       title="TD control, $\\varepsilon$ = 0.1")
ax.legend()
plt.show()

# %% [markdown]
# ## Q-learning finds the optimal greedy policy
#
# Q-learning is off-policy: it learns $Q^*$ whatever the behaviour, so a behaviour that
# explores more ($\varepsilon = 0.5$) reaches every state often. Its greedy actions after
# 500 episodes, compared with value iteration's optimal ones (chapter 4):

# %%
explorer = td.QLearningAgent(*sizes, epsilon=0.5, seed=0)
td.run_q_learning(env, explorer, episodes=500, seed=0)
_, V_star = dp.value_iter(world, gamma=0.9)
agree = []
for state in world.states():
    if state == world.goal_state:
        continue
    q_star = dp.action_values(V_star, world, state, gamma=0.9)
    best = max(q_star.values())
    greedy = int(np.argmax(explorer.Q[world.state_to_index(state)]))
    agree.append(abs(q_star[greedy] - best) < 1e-9)  # any optimal action counts
print(f"greedy action optimal in {sum(agree)} of {len(agree)} states")
assert all(agree)
plot_q_map(env, explorer.Q,
           title="Q-learning with $\\varepsilon$ = 0.5: Q(s, a) after 500 episodes")
